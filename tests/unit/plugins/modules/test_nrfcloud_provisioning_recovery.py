# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_provisioning_recovery against the mock: a device in ERROR recovered and provisioned on the next run, a device at
the 20-command limit given 20 new ones and rotated, a BLOCKED device unblocked; check mode sends no write, a re-run none."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_provisioning, nrfcloud_provisioning_recovery
from iotops_mock.factory_ca import factory_ca_pems


@pytest.fixture(scope='module')
def factory_ca():
    return factory_ca_pems('Recovery Test CA')


@pytest.fixture
def nrf(mock):
    mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05})
    return mock


def connection(mock, creds, **extra):
    return dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, **extra)


def provision(mock, creds, run, ca, devices, padding=0, validity_days=365):
    """The CSR flow (``padding`` config commands first) for these devices (dicts with claim_token)."""
    commands = [{'kind': 'config', 'description': 'setting %d' % n, 'config': {'k%d' % n: 'v'}} for n in range(padding)]
    commands.append({'kind': 'certificateSigningRequest', 'description': 'Generate CSR', 'attributes': 'O=Mock Factory,C=no'})
    return run(nrfcloud_provisioning, connection(mock, creds, devices=[{'claim_token': d['claim_token']} for d in devices],
                                                 commands=commands, wait_for='PROVISIONED', wait_interval=0.05, wait_timeout=30,
                                                 sign_csr={'ca_certificate': ca[0], 'ca_private_key': ca[1], 'validity_days': validity_days}))


def recover(mock, creds, run, devices, check=False, diff=False, **extra):
    return run(nrfcloud_provisioning_recovery, connection(mock, creds, devices=devices, **extra), check_mode=check, diff=diff)


def claimed(mock):
    return dict((d['id'], d) for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices'])


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def endpoint(mock, method, path):
    return mock.admin.counters()['endpoints'].get('nrfcloud-provisioning %s /v1%s' % (method, path), 0)


def test_a_device_in_error_is_recovered_then_provisioned_on_the_rerun(nrf, creds, run, factory_ca):
    bad, good = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 2})['devices']
    nrf.admin.seed('nrfcloud-provisioning', 'failures', {'device_id': bad['device_id'], 'kind': 'certificateSigningRequest',
                                                         'message': 'modem error -8 (key storage full)'})
    first = provision(nrf, creds, run, factory_ca, [bad, good])
    assert first['failed'] and claimed(nrf)[bad['device_id']]['status'] == 'ERROR'
    failed = first['outcomes'][0]
    assert 'nrfcloud_provisioning_recovery' in failed['remedy'] and 'no REST call' in failed['remedy']

    devices = [{'claim_token': d['claim_token']} for d in (bad, good)]
    nrf.admin.reset_counters()
    predicted = recover(nrf, creds, run, devices, check=True, diff=True)
    assert writes(nrf) == 0 and predicted['changed'] and predicted['summary']['changed'] == 1
    outcome = predicted['outcomes'][0]
    assert (outcome['action'], outcome['condition'], outcome['status_before'], outcome['commands_used']) == ('reclaim', 'error', 'ERROR', 1)
    assert 'certificateSigningRequest command failed: modem error -8 (key storage full)' in outcome['reason']
    assert predicted['diff']['after'][bad['device_id']] == {'claimed': True, 'status': 'READY', 'commands_used': 0}
    assert predicted['outcomes'][1]['action'] == 'none'

    result = recover(nrf, creds, run, devices)
    assert result['changed'] and result['outcomes'][0]['status'] == 'READY', result.get('msg')
    assert endpoint(nrf, 'DELETE', '/claimed-devices/{device_id}') == 1 and endpoint(nrf, 'POST', '/claimed-devices') == 1
    assert writes(nrf) == 2
    state = claimed(nrf)[bad['device_id']]
    assert state['status'] == 'READY' and state['commands'] == []

    nrf.admin.reset_counters()
    assert recover(nrf, creds, run, devices)['changed'] is False and writes(nrf) == 0

    again = provision(nrf, creds, run, factory_ca, [bad, good])
    assert not again.get('failed'), again.get('msg')
    assert [o['phase'] for o in again['outcomes']] == ['provisioned', 'provisioned']
    assert claimed(nrf)[bad['device_id']]['status'] == 'PROVISIONED'


def test_a_device_at_the_limit_gets_its_commands_back_and_rotates(nrf, creds, run, factory_ca):
    device = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
    # 16 settings + CSR + certificate + finished = 19 commands: a rotation (2 or 3 more) does not fit
    assert not provision(nrf, creds, run, factory_ca, [device], padding=16, validity_days=30).get('failed')
    assert len(claimed(nrf)[device['device_id']]['commands']) == 19
    rotate = dict(within_days=60, policy='renew')
    sign = {'ca_certificate': factory_ca[0], 'ca_private_key': factory_ca[1], 'validity_days': 365}
    rotation_args = connection(nrf, creds, devices=[{'device_id': device['device_id']}], rotate=rotate, sign_csr=sign,
                               wait_for='PROVISIONED', wait_interval=0.05, wait_timeout=30)
    refused = run(nrfcloud_provisioning, rotation_args)
    assert refused['failed'] and 'used 19 of the 20' in refused['outcomes'][0]['msg']

    nrf.admin.reset_counters()
    healthy = recover(nrf, creds, run, [{'claim_token': device['claim_token']}], recover=['error', 'blocked'])
    assert healthy['changed'] is False and writes(nrf) == 0  # not asked to look at the limit
    result = recover(nrf, creds, run, [{'claim_token': device['claim_token']}], recover=['full'])
    outcome = result['outcomes'][0]
    assert (outcome['action'], outcome['condition'], outcome['commands_used']) == ('reclaim', 'full', 19), result.get('msg')
    assert '1 left (fewer than 3)' in outcome['reason'] and 'nrfcloud_device' in outcome['next_step']
    assert claimed(nrf)[device['device_id']]['commands'] == [] and writes(nrf) == 2

    # provisioned again from scratch (a new key and certificate), then the next rotation fits
    assert not provision(nrf, creds, run, factory_ca, [device], validity_days=30).get('failed')
    rotated = run(nrfcloud_provisioning, rotation_args)
    assert not rotated.get('failed'), rotated.get('msg')
    outcome = rotated['outcomes'][0]
    assert (outcome['action'], outcome['phase'], outcome['commands_left']) == ('renew', 'provisioned', 15)
    assert len(claimed(nrf)[device['device_id']]['commands']) == 5


def test_pending_commands_are_not_thrown_away_and_a_missing_token_fails_alone(nrf, creds, run):
    seeded = [{'id': 'busy-device', 'tags': ['line-1']}, {'id': 'full-device', 'tags': ['line-1']}]
    nrf.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'devices': seeded})
    nrf.admin.online([{'nrfcloud': 'busy-device'}], after=86400)  # not before tomorrow
    for device_id, count in (('busy-device', 19), ('full-device', 18)):
        nrf.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.0, 'command_delay': 0.0})
        args = connection(nrf, creds, devices=[{'device_id': device_id}], wait_timeout=0,
                          commands=[{'kind': 'config', 'description': 'c%d' % n, 'config': {'k': 'v'}} for n in range(count)])
        assert not run(nrfcloud_provisioning, args).get('failed')
    nrf.admin.reset_counters()
    result = recover(nrf, creds, run, [{'device_id': 'busy-device', 'claim_token': 'unused'}, {'device_id': 'full-device'}])
    busy, full = result['outcomes']
    assert busy['action'] == 'none' and 'still has commands to run' in busy['reason']
    assert full['failed'] and 'needs claim_token' in full['msg'] and writes(nrf) == 0


def test_a_blocked_device_is_unblocked_and_a_half_done_recovery_is_finished(nrf, creds, run):
    device = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
    nrf.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'devices': [{'id': 'blocked-device', 'status': 'BLOCKED'}]})
    nrf.admin.reset_counters()
    result = recover(nrf, creds, run, [{'device_id': 'blocked-device'}, {'claim_token': device['claim_token'], 'tags': ['line-2']}])
    unblocked, fresh = result['outcomes']
    assert unblocked['action'] == 'unblock' and unblocked['condition'] == 'blocked'
    assert fresh['action'] == 'claim' and fresh['status'] == 'READY'
    state = claimed(nrf)
    assert state['blocked-device']['status'] == 'READY' and state[device['device_id']]['tags'] == ['line-2']
    assert endpoint(nrf, 'POST', '/claimed-devices/{device_id}/unblock') == 1 and writes(nrf) == 2
    nrf.admin.reset_counters()
    again = recover(nrf, creds, run, [{'device_id': 'blocked-device'}, {'claim_token': device['claim_token']}])
    assert again['changed'] is False and writes(nrf) == 0


def test_a_token_of_another_device_is_refused_before_any_request(nrf, creds, run):
    device = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
    nrf.admin.reset_counters()
    result = recover(nrf, creds, run, [{'device_id': '00000000-0000-0000-0000-000000000001', 'claim_token': device['claim_token']}])
    assert result['failed'] and 'is not the device of claim_token' in result['msg']
    assert sum(nrf.admin.counters()['by_category'].values()) == 0
