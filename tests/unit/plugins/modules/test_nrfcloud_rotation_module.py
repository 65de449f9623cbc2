# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_provisioning with rotate, against the mock: what is rotated, at what cost, and one device never blocks the rest."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_provisioning
from iotops_mock.factory_ca import factory_ca_pems

DAY = 86400


@pytest.fixture(scope='module')
def factory_ca():
    return factory_ca_pems('Rotation Test CA')


@pytest.fixture
def nrf(mock):
    mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05})
    return mock


def connection(mock, creds):
    return dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_interval=0.05, wait_timeout=30, concurrency=8)


def onboard(mock, creds, run, ca, count, validity_days, padding=0):
    """Claim ``count`` factory-fresh devices and provision them (``padding`` config commands first) with certificates
    valid ``validity_days``; returns their ids."""
    devices = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']
    commands = [{'kind': 'config', 'description': 'setting %d' % n, 'config': {'k%d' % n: 'v'}} for n in range(padding)]
    commands.append({'kind': 'certificateSigningRequest', 'description': 'Generate CSR', 'attributes': 'O=Mock Factory,C=no'})
    result = run(nrfcloud_provisioning, dict(connection(mock, creds), devices=[{'claim_token': d['claim_token']} for d in devices],
                                             commands=commands, wait_for='PROVISIONED',
                                             sign_csr={'ca_certificate': ca[0], 'ca_private_key': ca[1], 'validity_days': validity_days}))
    assert not result.get('failed'), result.get('msg')
    return [d['device_id'] for d in devices]


def rotate(mock, creds, run, ca, ids, check=False, **rotate_options):
    options = dict(within_days=30)
    options.update(rotate_options)
    return run(nrfcloud_provisioning, dict(connection(mock, creds), devices=[{'device_id': i} for i in ids], rotate=options,
                                           sign_csr={'ca_certificate': ca[0], 'ca_private_key': ca[1], 'validity_days': 365},
                                           wait_for='PROVISIONED'), check_mode=check)


def histories(mock):
    return dict((d['id'], d.get('provisioning') or d.get('commands') or [])
                for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices'])


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def test_renew_due_devices_only_then_nothing(nrf, creds, run, factory_ca):
    due = onboard(nrf, creds, run, factory_ca, 3, validity_days=10)
    later = onboard(nrf, creds, run, factory_ca, 2, validity_days=200)
    nrf.admin.reset_counters()
    check = rotate(nrf, creds, run, factory_ca, due + later, check=True)
    assert writes(nrf) == 0 and check['changed'] and check['summary']['changed'] == 3
    result = rotate(nrf, creds, run, factory_ca, due + later)
    assert not result.get('failed'), result.get('msg')
    by_id = dict((o['item'], o) for o in result['outcomes'])
    assert writes(nrf) == 3 * 2  # renew: client certificate + finished, no new key
    for device_id in due:
        outcome = by_id[device_id]
        assert (outcome['action'], outcome['policy'], outcome['due'], outcome['changed']) == ('renew', 'renew', True, True)
        assert outcome['phase'] == 'provisioned' and outcome['commands_left'] == 15 and outcome['rotations_left'] == 7
        new = datetime.datetime.strptime(outcome['new_expiry'], '%Y-%m-%dT%H:%M:%SZ')
        assert 364 <= (new - datetime.datetime.utcnow()).days <= 365 and outcome['old_expiry'] < outcome['new_expiry']
        assert [c['kind'] for c in outcome['commands']][-2:] == ['clientCertificate', 'finished']
        # the new certificate is for the key of the device's CSR: the same public key as the old one
        assert check['outcomes'][due.index(device_id)]['new_expiry'][:10] == outcome['new_expiry'][:10]
    for device_id in later:
        assert (by_id[device_id]['action'], by_id[device_id]['due'], by_id[device_id]['changed']) == ('none', False, False)
        assert 'outside the 30-day window' in by_id[device_id]['reason'] and by_id[device_id]['old_expiry']
    nrf.admin.reset_counters()
    again = rotate(nrf, creds, run, factory_ca, due + later)
    assert not again['changed'] and writes(nrf) == 0


def test_rekey_appends_a_csr_and_signs_the_new_key(nrf, creds, run, factory_ca):
    ids = onboard(nrf, creds, run, factory_ca, 2, validity_days=5)
    check = rotate(nrf, creds, run, factory_ca, ids, check=True, policy='rekey')
    # 3 of onboarding + CSR, certificate and finished to come: 14 left, 4 more rekeys
    assert {(o['commands_left'], o['rotations_left'], o['new_expiry_pending']) for o in check['outcomes']} == {(14, 4, True)}
    result = rotate(nrf, creds, run, factory_ca, ids, policy='rekey', description='Certificate rotation r1')
    assert not result.get('failed'), result.get('msg')
    for outcome in result['outcomes']:
        kinds = [c['kind'] for c in outcome['commands']]
        assert kinds[-3:] == ['certificateSigningRequest', 'clientCertificate', 'finished'] and outcome['policy'] == 'rekey'
        assert outcome['commands'][-3]['description'] == 'Certificate rotation r1: CSR' and outcome['new_expiry']
        assert (outcome['commands_left'], outcome['rotations_left'], outcome['new_expiry_pending']) == (14, 4, False)


def test_window_not_shorter_than_validity_is_refused_before_any_request(nrf, creds, run, factory_ca):
    nrf.admin.reset_counters()
    result = run(nrfcloud_provisioning, dict(connection(nrf, creds), devices=[{'device_id': 'x'}], rotate={'within_days': 30},
                                             sign_csr={'ca_certificate': factory_ca[0], 'ca_private_key': factory_ca[1], 'validity_days': 20}))
    assert result['failed'] and 'rotate.within_days (30) is not less than sign_csr.validity_days (20)' in result['msg']
    assert nrf.admin.counters()['total'] == 0


def test_one_device_at_the_cap_never_blocks_its_chunk(nrf, creds, run, factory_ca):
    ids = onboard(nrf, creds, run, factory_ca, 49, validity_days=10)
    capped = onboard(nrf, creds, run, factory_ca, 1, validity_days=10, padding=16)[0]  # 19 commands: a renew needs 2 more
    chunk = ids[:20] + [capped] + ids[20:]
    nrf.admin.reset_counters()
    result = rotate(nrf, creds, run, factory_ca, chunk)
    assert result['failed'] and result['summary'] == {'total': 50, 'changed': 49, 'ok': 0, 'failed': 1, 'waiting': 0}
    assert result['msg'].startswith('1 of 50 devices failed') and capped in result['msg']
    failed = [o for o in result['outcomes'] if o.get('failed')]
    assert [o['item'] for o in failed] == [capped] and 'used 19 of the 20' in failed[0]['msg']
    assert 'recover_nrfcloud_devices.yml' in failed[0]['remedy'] and failed[0]['phase'] == 'needs attention'
    assert writes(nrf) == 49 * 2
    state = histories(nrf)
    assert len(state[capped]) == 19 and all(len(state[i]) == 5 for i in ids)


def test_due_is_judged_on_the_clouds_clock(nrf, creds, run, factory_ca):
    ids = onboard(nrf, creds, run, factory_ca, 1, validity_days=60)
    assert rotate(nrf, creds, run, factory_ca, ids, check=True)['outcomes'][0]['due'] is False
    nrf.admin.advance_clock(31 * DAY)   # the cloud's calendar moves on; the controller's does not
    outcome = rotate(nrf, creds, run, factory_ca, ids)['outcomes'][0]
    assert outcome['due'] and outcome['changed'] and 'in 28 days' in outcome['reason']
    cert_now = nrf.admin.clock()['now']
    new = datetime.datetime.strptime(outcome['new_expiry'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    assert abs(new.timestamp() - (cert_now + 365 * DAY)) < 600  # dated by the cloud's clock too


def test_a_device_still_off_since_an_earlier_run_does_not_hold_up_the_rotation(nrf, creds, run, factory_ca):
    due = onboard(nrf, creds, run, factory_ca, 2, validity_days=10)
    # a device claimed by an earlier run whose CSR it has never run: it stays off
    off = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
    nrf.admin.online([{'nrfcloud': off['device_id']}], after=86400)   # not before tomorrow
    run(nrfcloud_provisioning, dict(connection(nrf, creds), devices=[{'claim_token': off['claim_token']}], wait_timeout=0,
                                    commands=[{'kind': 'certificateSigningRequest', 'description': 'Generate CSR'}],
                                    sign_csr={'ca_certificate': factory_ca[0], 'ca_private_key': factory_ca[1]}))
    options = connection(nrf, creds)
    options.update(wait_timeout=20, wait_interval=0.2)
    started = datetime.datetime.now()
    result = run(nrfcloud_provisioning, dict(options, devices=[{'device_id': i} for i in due + [off['device_id']]],
                                             rotate={'within_days': 30}, wait_for='PROVISIONED',
                                             sign_csr={'ca_certificate': factory_ca[0], 'ca_private_key': factory_ca[1], 'validity_days': 365}))
    assert (datetime.datetime.now() - started).total_seconds() < 10   # not the 20 s of wait_timeout
    by_id = dict((o['item'], o) for o in result['outcomes'])
    assert all(by_id[i]['action'] == 'renew' and by_id[i]['phase'] == 'provisioned' for i in due)
    waiting = by_id[off['device_id']]
    assert (waiting['action'], waiting['waiting'], waiting['failed'], waiting['new_expiry_pending']) == ('continue', True, False, True)
