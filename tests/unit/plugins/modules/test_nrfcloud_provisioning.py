# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_provisioning and nrfcloud_provisioning_info against the mock's Provisioning Service and device simulator."""

from __future__ import annotations

import json

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_device, nrfcloud_provisioning, nrfcloud_provisioning_info
from iotops_mock.factory_ca import factory_ca_pems


def make_ca(common_name='Mock Factory CA'):
    return factory_ca_pems(common_name)


@pytest.fixture(scope='module')
def factory_ca():
    return make_ca()


@pytest.fixture
def nrf(mock):
    """The mock with a fast device simulator."""
    mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05})
    return mock


def tokens(mock, count):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def base_args(mock, creds, **extra):
    args = dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_interval=0.05, wait_timeout=30)
    args.update(extra)
    return args


def info_args(mock, creds, **extra):
    args = base_args(mock, creds, **extra)
    del args['wait_interval'], args['wait_timeout']
    return args


def csr_flow_args(mock, creds, devices, ca, **extra):
    cert, key = ca
    return base_args(mock, creds, devices=[{'claim_token': d['claim_token']} for d in devices],
                     commands=[{'kind': 'certificateSigningRequest', 'description': 'Generate CSR', 'attributes': 'O=Mock Factory,C=no'}],
                     sign_csr={'ca_certificate': cert, 'ca_private_key': key, 'validity_days': 365}, wait_for='PROVISIONED', **extra)


def claimed_state(mock):
    return dict((d['id'], d) for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices'])


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def test_claim_csr_sign_finish_then_idempotent(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 3)
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert result['changed'] and result['summary'] == {'total': 3, 'changed': 3, 'ok': 0, 'failed': 0, 'waiting': 0}, result.get('msg')
    state = claimed_state(nrf)
    ca_cert = x509.load_pem_x509_certificate(factory_ca[0].encode())
    certificates = dict((o['device_id'], o['certificate']) for o in result['onboarding'])
    for device, entry in zip(devices, result['outcomes']):
        assert entry['item'] == device['device_id'] and entry['status'] == 'PROVISIONED'
        assert [c['kind'] for c in entry['commands']] == ['certificateSigningRequest', 'clientCertificate', 'finished']
        assert entry['csr']['pem'].startswith('-----BEGIN CERTIFICATE REQUEST-----')
        cert = x509.load_pem_x509_certificate(certificates[device['device_id']].encode())
        assert cert.issuer == ca_cert.subject
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == device['device_id']
        assert state[device['device_id']]['status'] == 'PROVISIONED'
        assert len(state[device['device_id']]['commands']) == 3
    assert [o['device_id'] for o in result['onboarding']] == [d['device_id'] for d in devices]
    assert factory_ca[1] not in json.dumps(result)

    nrf.admin.reset_counters()
    again = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert again['changed'] is False and again['summary']['ok'] == 3
    assert writes(nrf) == 0
    reads = nrf.admin.counters()['by_category']['read']
    assert reads <= 2 * 3, reads  # the claimed list (one page) + one history per device + one status round


def test_a_device_costs_five_requests_and_its_commands_are_the_cloud_s(nrf, creds, run, factory_ca):
    """Claim, CSR command, one history read for the CSR, certificate, finished: 5 requests per device, plus the status
    list. The history is not read again once the device is PROVISIONED: nRF Cloud sets that only after the device ran every
    command, so the commands this run appended are shown SUCCEEDED, with the ids nRF Cloud gave them."""
    devices = tokens(nrf, 6)
    nrf.admin.reset_counters()
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert result['summary']['changed'] == 6, result.get('msg')
    endpoints = nrf.admin.counters()['endpoints']
    per_device = sum(count for key, count in endpoints.items() if '{device_id}' in key or key.endswith('POST /v1/claimed-devices'))
    assert per_device == 5 * 6, endpoints
    assert endpoints['nrfcloud-provisioning GET /v1/claimed-devices/{device_id}/provisioning'] == 6, endpoints
    state = claimed_state(nrf)
    for entry in result['outcomes']:
        cloud = state[entry['item']]['commands']
        assert [(c['id'], c['status']) for c in entry['commands']] == [(c['id'], 'SUCCEEDED') for c in cloud], (entry, cloud)
        assert [c['status'] for c in cloud] == ['SUCCEEDED'] * 3


def test_more_than_bulk_threshold_devices_are_claimed_by_one_csv_request_then_cost_four_each(nrf, creds, run, factory_ca):
    """12 devices (bulk_threshold 10): one bulk claim and one read of the claimed list to confirm it, then the CSR command,
    the history read for the CSR, the certificate and finished: 4 requests per device. A device another team holds fails
    with nRF Cloud's reason; the others are provisioned."""
    devices = tokens(nrf, 13)
    other = devices.pop()
    response = requests.post(nrf.url + '/nrfcloud-provisioning/v1/claimed-devices', json={'claimToken': other['claim_token']},
                             headers={'Authorization': 'Bearer ' + creds.NRFCLOUD_TEAM_B_API_KEY}, timeout=10)
    assert response.status_code == 201
    nrf.admin.reset_counters()
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert result['summary']['changed'] == 12 and not result.get('failed'), result.get('msg')
    endpoints = nrf.admin.counters()['endpoints']
    assert endpoints['nrfcloud-provisioning POST /v1/claimed-devices'] == 1, endpoints
    per_device = sum(count for key, count in endpoints.items() if '{device_id}' in key)
    assert per_device == 4 * 12, endpoints
    assert all(o['claimed'] and o['phase'] == 'provisioned' for o in result['outcomes']), result['outcomes']

    refused = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, tokens(nrf, 11) + [other], factory_ca))
    assert refused['failed'] and refused['summary']['changed'] == 11 and refused['summary']['failed'] == 1, refused['summary']
    failure = next(o for o in refused['outcomes'] if o['failed'])
    assert failure['item'] == other['device_id'] and 'the bulk claim refused its row' in failure['msg'], failure


def test_skip_onboarded_reads_lists_not_histories_for_the_devices_already_onboarded(nrf, creds, run, factory_ca):
    """A re-run with skip_onboarded: the devices PROVISIONED and in device management are done from two list reads; a
    device PROVISIONED but not onboarded yet still has its history read, for its certificate."""
    devices = tokens(nrf, 4)
    first = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, skip_onboarded=True))
    assert first['summary']['changed'] == 4, first.get('msg')
    onboard = dict(api_url=nrf.url + '/nrfcloud/v1', api_key=creds.NRFCLOUD_TEAM_A_API_KEY, devices=first['onboarding'][:3])
    assert run(nrfcloud_device, onboard)['summary']['changed'] == 3

    nrf.admin.reset_counters()
    again = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, skip_onboarded=True))
    assert again['changed'] is False and again['summary']['ok'] == 4, again.get('msg')
    endpoints = nrf.admin.counters()['endpoints']
    assert writes(nrf) == 0
    assert endpoints['nrfcloud-provisioning GET /v1/claimed-devices/{device_id}/provisioning'] == 1, endpoints  # the 4th only
    assert endpoints['nrfcloud GET /v1/devices'] == 1 and endpoints['nrfcloud-provisioning GET /v1/claimed-devices'] == 1, endpoints
    onboarded = [d['device_id'] for d in devices[:3]]
    outcomes = dict((o['item'], o) for o in again['outcomes'])
    for device_id in onboarded:
        assert outcomes[device_id]['onboarded'] is True and outcomes[device_id]['phase'] == 'onboarded', outcomes[device_id]
        assert 'commands' not in outcomes[device_id]
    assert again['onboarding'][:3] == [dict(device_id=device_id) for device_id in onboarded]
    assert again['onboarding'][3]['device_id'] == devices[3]['device_id'] and 'BEGIN CERTIFICATE' in again['onboarding'][3]['certificate']
    # without the option every history is compared with the commands, as before
    nrf.admin.reset_counters()
    run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert nrf.admin.counters()['endpoints']['nrfcloud-provisioning GET /v1/claimed-devices/{device_id}/provisioning'] == 4


def test_skip_onboarded_and_rotate_are_refused_together_before_any_request(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 1)
    nrf.admin.reset_counters()
    args = csr_flow_args(nrf, creds, devices, factory_ca, skip_onboarded=True, rotate={'within_days': 30})
    del args['commands']
    result = run(nrfcloud_provisioning, args)
    assert result.get('failed') and 'skip_onboarded and rotate are mutually exclusive' in result['msg'], result
    assert nrf.admin.counters()['total'] == 0


def test_check_mode_predicts_and_sends_no_write(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 2)
    args = csr_flow_args(nrf, creds, devices, factory_ca)
    predicted = run(nrfcloud_provisioning, args, check_mode=True, diff=True)
    assert predicted['changed'] is True and writes(nrf) == 0
    # the CSRs are signed once the devices have run their CSR command: the prediction cannot count on that
    assert all(r['claimed'] and not r['certificate_signed'] and r['phase'] == 'waiting for the device' for r in predicted['outcomes'])
    assert predicted['diff']['after'][devices[0]['device_id']]['claimed'] is True
    real = run(nrfcloud_provisioning, args)
    assert real['changed'] == predicted['changed'] and [r['phase'] for r in real['outcomes']] == ['provisioned'] * 2
    nrf.admin.reset_counters()
    after = run(nrfcloud_provisioning, args, check_mode=True)
    assert after['changed'] is False and writes(nrf) == 0


def test_rerun_finishes_a_device_left_between_certificate_and_finished(nrf, creds, run, factory_ca):
    """A run that stopped after the client certificate and before finished: the next run appends finished, once."""
    device = tokens(nrf, 1)[0]
    nrf.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path=r'/provisioning$', kind='status', status=500,
                        skip=2, count=1)  # the CSR and the certificate go through, finished fails
    args = csr_flow_args(nrf, creds, [device], factory_ca, retries=0)
    first = run(nrfcloud_provisioning, args)
    assert first['failed'], first
    kinds = [c['request'] and list(c['request'])[0] for c in claimed_state(nrf)[device['device_id']]['commands']]
    assert kinds == ['certificateSigningRequest', 'clientCertificate']

    nrf.admin.reset_counters()
    predicted = run(nrfcloud_provisioning, args, check_mode=True)
    assert predicted['changed'] is True and writes(nrf) == 0
    assert [c['kind'] for c in predicted['outcomes'][0]['commands_added']] == ['finished']

    second = run(nrfcloud_provisioning, args)
    assert second['changed'] is True and not second.get('failed'), second.get('msg')
    assert second['outcomes'][0]['status'] == 'PROVISIONED'
    assert [c['kind'] for c in second['outcomes'][0]['commands']] == ['certificateSigningRequest', 'clientCertificate', 'finished']
    assert writes(nrf) == 1

    nrf.admin.reset_counters()
    assert run(nrfcloud_provisioning, args)['changed'] is False and writes(nrf) == 0


def test_the_last_devices_of_a_wait_are_read_one_by_one(nrf, creds, run):
    """A status round reads the team's list, or each pending device once they are fewer than the list's pages."""
    team = tokens(nrf, 350)
    run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': d['claim_token']} for d in team]))
    nrf.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.3, 'command_delay': 0.3})
    nrf.admin.reset_counters()
    waited = [{'device_id': d['device_id']} for d in team[:2]]
    result = run(nrfcloud_provisioning, base_args(nrf, creds, devices=waited, commands=[{'kind': 'finished'}], wait_for='PROVISIONED'))
    assert [r['status'] for r in result['outcomes']] == ['PROVISIONED', 'PROVISIONED'], result.get('msg')
    endpoints = nrf.admin.counters()['endpoints']
    # 4 pages to read the claimed state; the status rounds read the 2 devices one by one (fewer than the 4 pages)
    assert endpoints['nrfcloud-provisioning GET /v1/claimed-devices'] == 4, endpoints
    assert endpoints['nrfcloud-provisioning GET /v1/claimed-devices/{device_id}'] >= 2, endpoints


def test_a_slow_device_does_not_hold_up_the_others(nrf, creds, run, factory_ca):
    """The statuses are read again while a device is being worked: with nRF Cloud answering the history of one device
    after 6 s, the other device is seen PROVISIONED within a wait of 4 s (room for a loaded machine), and the slow one is
    still signed (the run waits for the device it is working on when the time is up)."""
    devices = tokens(nrf, 2)
    slow = devices[0]['device_id']
    nrf.admin.add_fault(vendor='nrfcloud-provisioning', method='GET', path='/claimed-devices/%s/provisioning$' % slow, kind='latency',
                        seconds=6, count=1)
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, wait_timeout=4))
    assert not result.get('failed'), result.get('msg')
    outcomes = by_item(result)
    assert outcomes[devices[1]['device_id']]['phase'] == 'provisioned', outcomes
    assert outcomes[slow]['certificate_signed'] is True, outcomes[slow]
    assert [list(c['request'])[0] for c in claimed_state(nrf)[slow]['commands']] == [
        'certificateSigningRequest', 'clientCertificate', 'finished']


def test_csr_returned_in_the_message_field(nrf, creds, run, factory_ca):
    nrf.admin.call('POST', '/nrfcloud/simulator', {'csr_field': 'message'})
    devices = tokens(nrf, 1)
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert result['outcomes'][0]['csr']['field'] == 'message'
    assert result['outcomes'][0]['status'] == 'PROVISIONED'


def test_a_failing_command_fails_its_device_only(nrf, creds, run):
    devices = tokens(nrf, 3)
    nrf.admin.seed('nrfcloud-provisioning', 'failures', {'device_id': devices[1]['device_id'], 'kind': 'config'})
    args = base_args(nrf, creds, devices=[{'claim_token': d['claim_token']} for d in devices],
                     commands=[{'kind': 'config', 'config': {'cloud.url': 'mqtt://mock'}}, {'kind': 'finished'}], wait_for='PROVISIONED')
    result = run(nrfcloud_provisioning, args)
    assert result['failed'] and '1 of 3 devices failed' in result['msg']
    by_id = dict((r['item'], r) for r in result['outcomes'])
    assert by_id[devices[1]['device_id']]['failed'] and 'ERROR' in by_id[devices[1]['device_id']]['msg']
    assert by_id[devices[0]['device_id']]['status'] == 'PROVISIONED' and not by_id[devices[0]['device_id']]['failed']


def test_commands_are_history_and_finished_stays_last(nrf, creds, run):
    device = tokens(nrf, 1)[0]
    first = [{'kind': 'clientPrivateKeyGeneration', 'sec_tag': 44}, {'kind': 'finished'}]
    run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': device['claim_token']}], commands=first, wait_for='PROVISIONED'))
    more = first[:1] + [{'kind': 'preSharedKey', 'sec_tag': 42, 'identity': 'dev-psk', 'secret': '0A1B2C3D4E5F'}, {'kind': 'finished'}]
    result = run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'device_id': device['device_id']}], commands=more,
                                                  wait_for='PROVISIONED'))
    assert [c['kind'] for c in result['outcomes'][0]['commands_added']] == ['preSharedKey', 'finished']
    kinds = [c['kind'] for c in result['outcomes'][0]['commands']]
    assert kinds == ['clientPrivateKeyGeneration', 'finished', 'preSharedKey', 'finished']
    assert '0A1B2C3D4E5F' not in json.dumps(result)
    assert run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'device_id': device['device_id']}], commands=more))['changed'] is False


def test_unclaim(nrf, creds, run):
    device = tokens(nrf, 1)[0]
    run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': device['claim_token']}]))
    assert device['device_id'] in claimed_state(nrf)
    result = run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'device_id': device['device_id']}], state='absent'))
    assert result['changed'] and result['outcomes'][0]['unclaimed']
    assert device['device_id'] not in claimed_state(nrf)
    assert run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'device_id': device['device_id']}], state='absent'))['changed'] is False


def _encrypted_key(password):
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(password.encode())).decode()


def malformed_cases(ca):
    cert, key = ca
    plain_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    other_ca = make_ca('other')[0]
    return [
        (dict(commands=[{'kind': 'clientPrivateKeyGeneration', 'sec_tag': -1}]), 'sec_tag -1 is out of range'),
        (dict(commands=[{'kind': 'clientPrivateKeyGeneration', 'sec_tag': 2147483648}]), 'integers from 0 to 2147483647'),
        (dict(commands=[{'kind': 'certificateSigningRequest', 'key_usage': '10101'}]), 'key_usage'),
        (dict(commands=[{'kind': 'certificateSigningRequest', 'attributes': 'O=X,CN=evil'}]), 'must not set CN'),
        (dict(commands=[{'kind': 'serverCertificate', 'content': '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----'}]),
         'does not parse'),
        (dict(commands=[{'kind': 'clientPrivateKey', 'content': plain_key, 'password': 'x'}]), 'encrypted PEM private key'),
        (dict(commands=[{'kind': 'clientPrivateKey', 'content': _encrypted_key('right'), 'password': 'wrong'}]), 'could not be decrypted'),
        (dict(commands=[{'kind': 'finished'}, {'kind': 'config', 'config': {'a': 'b'}}]), 'finished must be the last command'),
        (dict(commands=[{'kind': 'clientPrivateKeyGeneration', 'sec_tag': n} for n in range(21)]), 'at most 20'),
        (dict(commands=[{'kind': 'preSharedKey', 'identity': 'id', 'secret': 'not-hex'}]), 'hexadecimal'),
        (dict(commands=[{'kind': 'finished', 'sec_tag': 5}]), 'sec_tag does not apply to a finished command'),
        (dict(sign_csr={'ca_certificate': other_ca, 'ca_private_key': key}), 'does not belong to'),
        (dict(sign_csr={'ca_certificate': cert}), 'ca_private_key or ca_private_key_path is required'),
        (dict(devices=[{'claim_token': 'not-a-token'}]), 'not an nRF91 attestation token'),
    ]


def test_malformed_inputs_fail_before_any_write(nrf, creds, run, factory_ca):
    device = tokens(nrf, 1)[0]
    cases = malformed_cases(factory_ca)
    for extra, rule in cases:
        args = base_args(nrf, creds, devices=[{'claim_token': device['claim_token']}])
        args.update(extra)
        result = run(nrfcloud_provisioning, args)
        assert result.get('failed'), (extra, result)
        assert rule in result['msg'], (rule, result['msg'])
    assert nrf.admin.counters()['total'] == 0  # not even a read: validation comes first
    assert len(cases) >= 10


def test_limit_of_20_counts_existing_commands(nrf, creds, run):
    device = tokens(nrf, 1)[0]
    first = [{'kind': 'clientPrivateKeyGeneration', 'sec_tag': n} for n in range(15)]
    run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': device['claim_token']}], commands=first))
    nrf.admin.reset_counters()
    more = [{'kind': 'clientPrivateKeyGeneration', 'sec_tag': 100 + n} for n in range(6)]
    result = run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'device_id': device['device_id']}], commands=more))
    assert result['failed'] and '15 already in its history' in result['msg'] and 'at most 20' in result['msg']
    assert writes(nrf) == 0


def test_info_filters_and_commands(nrf, creds, run):
    devices = tokens(nrf, 3)
    run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': d['claim_token'], 'tags': ['line-7']} for d in devices[:2]]
                                         + [{'claim_token': devices[2]['claim_token']}],
                                         commands=[{'kind': 'finished'}], wait_for='PROVISIONED'))
    nrf.admin.reset_counters()
    info = run(nrfcloud_provisioning_info, info_args(nrf, creds, tags=['line-7']))
    assert sorted(d['id'] for d in info['devices']) == sorted(d['device_id'] for d in devices[:2])
    assert all(d['commands'][0]['kind'] == 'finished' for d in info['devices'])
    info = run(nrfcloud_provisioning_info, info_args(nrf, creds, status='PROVISIONED', include_commands=False,
                                                     device_ids=[devices[0]['device_id'], 'not-claimed']))
    assert [d['id'] for d in info['devices']] == [devices[0]['device_id']] and info['missing'] == ['not-claimed']
    assert writes(nrf) == 0


def test_a_batch_with_a_claim_token_per_device_shows_none_of_them(nrf, creds, run, factory_ca):
    """20 claim tokens (more than _no_log.MANY_SECRETS): the module looks for them itself; none is in the result, and the
    invocation shows each as Ansible masks a no_log parameter."""
    devices = tokens(nrf, 20)
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert result['summary']['changed'] == 20, result.get('msg')
    text = json.dumps(result)
    assert not [d for d in devices if d['claim_token'] in text]
    shown = result['invocation']['module_args']['devices']
    assert [d['claim_token'] for d in shown] == ['VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'] * 20


def test_private_key_content_never_in_the_result(nrf, creds, run):
    device = tokens(nrf, 1)[0]
    key = _encrypted_key('key-password-canary')
    args = base_args(nrf, creds, devices=[{'claim_token': device['claim_token']}],
                     commands=[{'kind': 'clientPrivateKey', 'sec_tag': 43, 'content': key, 'password': 'key-password-canary'}])
    text = json.dumps(run(nrfcloud_provisioning, args))
    assert key.splitlines()[1] not in text and 'key-password-canary' not in text


def by_item(result):
    return dict((r['item'], r) for r in result['outcomes'])


def test_devices_that_come_online_later_wait_and_a_later_run_moves_them_on(nrf, creds, run, factory_ca):
    """Factory-fresh devices: one online now, one in ten minutes, one never. Waiting is not a failure."""
    devices = tokens(nrf, 3)
    nrf.admin.online([{'nrfcloud': d['device_id']} for d in devices], waves=[{'count': 1, 'after': 0}, {'count': 1, 'after': 600}],
                     never=1)
    args = csr_flow_args(nrf, creds, devices, factory_ca, wait_timeout=2)
    first = run(nrfcloud_provisioning, args)
    assert not first.get('failed') and first['changed'], first.get('msg')
    phases = [by_item(first)[d['device_id']]['phase'] for d in devices]
    assert phases == ['provisioned', 'waiting for the device', 'waiting for the device']
    assert first['summary']['waiting'] == 2 and [o['device_id'] for o in first['onboarding']] == [devices[0]['device_id']]
    late = claimed_state(nrf)[devices[1]['device_id']]
    assert late['status'] == 'READY' and [c['status'] for c in late['commands']] == ['PENDING']

    nrf.admin.reset_counters()
    assert run(nrfcloud_provisioning, args)['changed'] is False and writes(nrf) == 0   # nobody came online: nothing to write

    nrf.admin.advance_clock(600)
    nrf.admin.reset_counters()
    second = run(nrfcloud_provisioning, args)
    assert [by_item(second)[d['device_id']]['phase'] for d in devices] == ['provisioned', 'provisioned', 'waiting for the device']
    # the late device got exactly its client certificate and finished; nothing else was written
    assert writes(nrf) == 2 and by_item(second)[devices[1]['device_id']]['changed'] is True
    assert by_item(second)[devices[0]['device_id']]['changed'] is False
    assert [c['kind'] for c in by_item(second)[devices[1]['device_id']]['commands']] == [
        'certificateSigningRequest', 'clientCertificate', 'finished']


def test_a_device_error_carries_the_device_s_own_words_and_a_remedy(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 2)
    nrf.admin.seed('nrfcloud-provisioning', 'failures', {'device_id': devices[1]['device_id'], 'kind': 'certificateSigningRequest',
                                                         'message': 'modem error -8 (key generation failed)'})
    args = csr_flow_args(nrf, creds, devices, factory_ca)
    result = run(nrfcloud_provisioning, args)
    assert result['failed'] and '1 of 2 devices failed' in result['msg'] and 'modem error -8 (key generation failed)' in result['msg']
    broken = by_item(result)[devices[1]['device_id']]
    assert broken['phase'] == 'needs attention' and 'certificateSigningRequest' in broken['msg']
    assert 'modem error -8 (key generation failed)' in broken['msg'] and 'reset or skip the failed command' in broken['remedy']
    assert by_item(result)[devices[0]['device_id']]['phase'] == 'provisioned'

    nrf.admin.reset_counters()
    again = run(nrfcloud_provisioning, args)
    # nothing is appended to a device in ERROR, and it still says why
    assert again['failed'] and writes(nrf) == 0 and 'modem error -8' in by_item(again)[devices[1]['device_id']]['msg']


def test_a_device_that_failed_after_a_write_is_changed(nrf, creds, run):
    devices = tokens(nrf, 1)
    nrf.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path='/provisioning$', kind='status', status=400,
                        message='Bad Request', count=1)
    result = run(nrfcloud_provisioning, base_args(nrf, creds, devices=[{'claim_token': devices[0]['claim_token']}],
                                                  commands=[{'kind': 'finished'}]))
    # claimed (a write), then the command was refused: the device failed, and the task did change something
    assert result['failed'] and result['changed'] is True and result['outcomes'][0]['changed'] is True
    assert devices[0]['device_id'] in claimed_state(nrf)


def test_a_refused_certificate_command_fails_its_device_not_the_run(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 2)
    # the two CSR commands go through; the first certificate command after them is refused (no retries)
    nrf.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path='/provisioning$', status=503, skip=2, count=1)
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, retries=0))
    assert result['failed'] and '1 of 2 devices failed' in result['msg'] and 'HTTP 503' in result['msg']
    phases = sorted(o['phase'] for o in result['outcomes'])
    assert phases == ['needs attention', 'provisioned'], result['outcomes']
    again = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert not again.get('failed') and [o['phase'] for o in again['outcomes']] == ['provisioned'] * 2, again.get('msg')


def managed_state(mock):
    return dict((d['id'], d) for d in mock.admin.state()['nrfcloud']['teams']['a']['devices'])


def test_onboard_puts_the_provisioned_devices_into_device_management_in_the_same_task(nrf, creds, run, factory_ca):
    """With onboard, the devices that got to PROVISIONED are onboarded by one bulk request of this task, with the certificate
    the run signed, its tags and firmware types; the certificates stay in the module (onboarding is empty). A re-run sends
    nothing."""
    devices = tokens(nrf, 12)
    nrf.admin.reset_counters()
    onboard = {'tags': ['line-7'], 'fw_types': ['APP', 'MODEM']}
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, skip_onboarded=True, onboard=onboard), diff=True)
    assert result['changed'] and result['summary']['changed'] == 12 and not result.get('failed'), result.get('msg')
    assert result['onboarding'] == []
    assert 'BEGIN CERTIFICATE-----' not in json.dumps(result['outcomes']) and factory_ca[1] not in json.dumps(result)
    endpoints = nrf.admin.counters()['endpoints']
    assert endpoints['nrfcloud POST /v1/devices'] == 1, endpoints
    managed = managed_state(nrf)
    claimed = claimed_state(nrf)
    ca_cert = x509.load_pem_x509_certificate(factory_ca[0].encode())
    for device, entry in zip(devices, result['outcomes']):
        assert entry['phase'] == 'onboarded' and entry['onboarded'] is True and entry['bulk_ops_request_id'], entry
        record = managed[device['device_id']]
        assert record['tags'] == ['line-7'], record
        # device management got the certificate the device installed, signed by the factory CA
        installed = [c for c in claimed[device['device_id']]['commands'] if 'clientCertificate' in c['request']][-1]
        pem = installed['request']['clientCertificate']['content']
        assert x509.load_pem_x509_certificate(pem.encode()).issuer == ca_cert.subject
        assert record['hasPublicKey'] is True and sorted(record['firmware']['supports']) == ['APP', 'MODEM'], record
        assert result['diff']['before'][device['device_id']]['onboarded'] is False
        assert result['diff']['after'][device['device_id']]['onboarded'] is True

    nrf.admin.reset_counters()
    again = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, skip_onboarded=True, onboard=onboard))
    assert again['changed'] is False and writes(nrf) == 0, again.get('msg')
    assert all(o['phase'] == 'onboarded' for o in again['outcomes'])


def test_onboard_takes_a_device_provisioned_by_an_earlier_run_check_mode_predicts_it(nrf, creds, run, factory_ca):
    """A device PROVISIONED by a run without onboard: check mode predicts its onboarding and sends nothing; the real run
    onboards it, and only it (the one in device management already keeps its record)."""
    devices = tokens(nrf, 3)
    first = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca))
    assert first['summary']['changed'] == 3, first.get('msg')
    onboard_first = dict(api_url=nrf.url + '/nrfcloud/v1', api_key=creds.NRFCLOUD_TEAM_A_API_KEY, devices=first['onboarding'][:1])
    assert run(nrfcloud_device, onboard_first)['summary']['changed'] == 1
    args = csr_flow_args(nrf, creds, devices, factory_ca, onboard={'tags': ['line-7']})

    nrf.admin.reset_counters()
    predicted = run(nrfcloud_provisioning, args, check_mode=True, diff=True)
    assert writes(nrf) == 0 and predicted['changed'] is True, predicted.get('msg')
    outcomes = dict((o['item'], o) for o in predicted['outcomes'])
    assert [outcomes[d['device_id']]['changed'] for d in devices] == [False, True, True]
    assert all(outcomes[d['device_id']]['phase'] == 'onboarded' for d in devices[1:]), outcomes
    assert outcomes[devices[0]['device_id']]['phase'] == 'provisioned'
    assert sorted(predicted['diff']['after']) == sorted(d['device_id'] for d in devices[1:])

    nrf.admin.reset_counters()
    real = run(nrfcloud_provisioning, args)
    assert [o['changed'] for o in real['outcomes']] == [False, True, True], real.get('msg')
    assert nrf.admin.counters()['endpoints'] == dict(nrf.admin.counters()['endpoints'], **{'nrfcloud POST /v1/devices': 1})
    assert writes(nrf) == 1
    managed = managed_state(nrf)
    assert all(managed[d['device_id']]['tags'] == ['line-7'] for d in devices[1:]) and managed[devices[0]['device_id']]['tags'] == []


def test_onboard_with_a_bad_tag_fails_before_any_request(nrf, creds, run, factory_ca):
    devices = tokens(nrf, 1)
    nrf.admin.reset_counters()
    result = run(nrfcloud_provisioning, csr_flow_args(nrf, creds, devices, factory_ca, onboard={'tags': ['line 7']}))
    assert result.get('failed') and "onboard.tag 'line 7' may only hold" in result['msg'], result
    assert nrf.admin.counters()['total'] == 0
