# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_certificate against the mock: renew within a window, transfer, revoke, update, delete, token expiry."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import ublox as ublox_utils
from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_certificate, ublox_rootca

CA = 'devices.example.com'
TEST_CA = 'test.example.com'


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


@pytest.fixture
def cas(mock, creds, run):
    result = run(ublox_rootca, ublox_args(mock, creds, cas=[
        dict(name=CA, ca_validity_days=3650, device_certificate_validity_days=365),
        dict(name=TEST_CA, ca_validity_days=1825, device_certificate_validity_days=90)]))
    assert result['changed']
    return CA, TEST_CA


def mix(count=250):
    """A fleet on CA: every 5th certificate expires in 10 days, every 5th+1 in 25, the rest in a year; some are revoked."""
    devices = []
    for index in range(count):
        expires = 10 if index % 5 == 0 else 25 if index % 5 == 1 else 360
        devices.append(dict(ROTPublicUID='0002%012x' % index, CAName=CA, ExpiresInDays=expires, IssuedDaysAgo=5,
                            Revoked=index % 50 == 7, TagNames=['fleet']))
    return devices


def seed_fleet(mock, devices=None):
    mock.admin.seed('ublox', 'tags', {'tags': ['fleet', 'spare']})
    mock.admin.seed('ublox', 'devices', {'devices': devices or mix()})
    # devices that the action does not apply to: no certificate, or one from another Root CA
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='00ff0000000000%02x' % n, TagNames=['fleet', 'spare'],
                                                          **({'CAName': TEST_CA, 'ExpiresInDays': 3} if n % 2 else {}))
                                                     for n in range(4)]})


def ztp(mock):
    return {device['ROTPublicUID']: device['ZTP'] for device in mock.admin.state()['ublox']['devices']}


def heartbeat(mock, **payload):
    return mock.admin.seed('ublox', 'heartbeat', payload)


def test_renew_within_window_converges_for_250_devices(mock, creds, run, cas):
    seed_fleet(mock)
    expected = sorted('0002%012x' % i for i in range(250) if i % 5 in (0, 1))
    args = ublox_args(mock, creds, action='renew', ca_name=CA, tags=['fleet'], renew_within_days=30, validity_days=365)
    mock.admin.reset_counters()
    check = run(ublox_device_certificate, args, check_mode=True)
    assert check['changed'] and check['acted_on'] == expected
    assert mock.admin.counters()['by_category']['write'] == 0
    by_status = {}
    for result in check['outcomes']:
        by_status.setdefault(result['status'], []).append(result)
    assert len(by_status['acted']) == 100 and len(by_status['done']) == 150
    assert len(by_status['skipped']) == 4
    assert {r['reason'] for r in by_status['skipped']} == {'holds no certificate', 'certificate is from Root CA %s' % TEST_CA}

    mock.admin.reset_counters()
    first = run(ublox_device_certificate, args, diff=True)
    assert first['changed'] and first['acted_on'] == expected and not first.get('failed')
    counters = mock.admin.counters()
    assert counters['by_category']['write'] == 1 and counters['endpoints']['ublox POST /v1/ztp/devicecertificate/renew'] == 1
    assert counters['endpoints']['ublox POST /v1/device/rotpublicuid/get'] == 3  # 254 tagged devices: 3 pages
    assert counters['endpoints']['ublox POST /v1/device/info/get'] == 3          # 100 devices per call
    assert first['diff']['after'][expected[0]]['pending_certificate_action']['action'] == 'RENEW'
    pending = ztp(mock)
    assert pending[expected[0]]['DesiredProperties']['Action'] == 'RENEW'
    assert pending['0002%012x' % 2]['DesiredProperties'] == {}

    mock.admin.reset_counters()
    second = run(ublox_device_certificate, args)
    assert second['changed'] is False and second['acted_on'] == []
    assert mock.admin.counters()['by_category']['write'] == 0
    assert sum(1 for r in second['outcomes'] if r['status'] == 'pending') == 100

    heartbeat(mock)
    renewed = ztp(mock)[expected[0]]['CurrentProperties']
    assert renewed['CertificateValidity'] == 365
    mock.admin.reset_counters()
    third = run(ublox_device_certificate, args)
    assert third['changed'] is False and mock.admin.counters()['by_category']['write'] == 0


def test_renew_every_holder_of_the_ca_without_selection(mock, creds, run, cas):
    seed_fleet(mock)
    mock.admin.reset_counters()
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=15), check_mode=True)
    assert len(result['acted_on']) == 50 and len(result['outcomes']) == 250
    assert mock.admin.counters()['endpoints']['ublox POST /v1/ztp/rootca/device/get'] == 3


def test_transfer_250_devices_converges(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'count': 250, 'CAName': TEST_CA})
    args = ublox_args(mock, creds, action='transfer', from_ca=TEST_CA, ca_name=CA)
    mock.admin.reset_counters()
    first = run(ublox_device_certificate, args)
    assert first['changed'] and len(first['acted_on']) == 250
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/ztp/devicecertificate/rootca/transfer'] == 1
    mock.admin.reset_counters()
    assert run(ublox_device_certificate, args)['changed'] is False
    assert mock.admin.counters()['by_category']['write'] == 0
    heartbeat(mock)
    assert {z['CurrentProperties']['CAName'] for z in ztp(mock).values()} == {CA}
    # every device left the source Root CA: a selection by ROTPublicUID now reports them as done
    rots = sorted(ztp(mock))
    mock.admin.reset_counters()
    again = run(ublox_device_certificate, ublox_args(mock, creds, action='transfer', ca_name=CA, rot_public_uids=rots[:5]))
    assert again['changed'] is False and {r['status'] for r in again['outcomes']} == {'done'}
    assert mock.admin.counters()['by_category']['write'] == 0


def test_transfer_groups_by_source_ca(mock, creds, run, cas):
    run(ublox_rootca, ublox_args(mock, creds, cas=[dict(name='third.example.com', ca_validity_days=1825, device_certificate_validity_days=30)]))
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='a1', CAName=CA), dict(ROTPublicUID='a2', CAName=TEST_CA),
                                                     dict(ROTPublicUID='a3', CAName='third.example.com')]})
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='transfer', ca_name='third.example.com',
                                                      rot_public_uids=['A1', 'a2', 'a3']))
    assert result['acted_on'] == ['a1', 'a2']
    assert mock.admin.counters()['endpoints']['ublox POST /v1/ztp/devicecertificate/rootca/transfer'] == 2


def test_revoke_only_what_is_not_revoked(mock, creds, run, cas):
    seed_fleet(mock, mix(20))
    devices = ztp(mock)
    old_serial = devices['0002%012x' % 3]['CurrentProperties']['CertificateSerialNumber']
    run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, rot_public_uids=['0002%012x' % 3],
                                             renew_within_days=364))
    heartbeat(mock)
    rots = ['0002%012x' % n for n in (1, 7, 9)]  # 7 is already revoked
    args = ublox_args(mock, creds, action='revoke', ca_name=CA, rot_public_uids=rots, serial_numbers=[old_serial])
    check = run(ublox_device_certificate, args, check_mode=True)
    assert check['acted_on'] == ['0002%012x' % 1, '0002%012x' % 9, old_serial]
    mock.admin.reset_counters()
    first = run(ublox_device_certificate, args)
    assert first['changed'] and mock.admin.counters()['endpoints']['ublox POST /v1/ztp/devicecertificate/revoke'] == 3
    # the cas fixture creates its two CAs concurrently, so pick the CA by name, not by position
    crl = next(ca for ca in mock.admin.state()['ublox']['rootCAs'] if ca['CAName'] == CA)['RevokedSerialNumbers']
    assert old_serial in crl and len(crl) == 4
    mock.admin.reset_counters()
    second = run(ublox_device_certificate, args)
    assert second['changed'] is False and mock.admin.counters()['by_category']['write'] == 0
    assert {r['status'] for r in second['outcomes']} == {'done'}


def test_revoke_without_ca_name_revokes_each_certificate_on_its_own_root_ca(mock, creds, run, cas):
    seed_fleet(mock, mix(3))  # 00ff..01 and 00ff..03 hold certificates from TEST_CA, 00ff..00 none
    rots = ['0002%012x' % 1, '00ff000000000001', '00ff000000000000']
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='revoke', rot_public_uids=rots))
    assert result['acted_on'] == ['0002%012x' % 1, '00ff000000000001']
    assert next(r for r in result['outcomes'] if r['item'] == '00ff000000000000')['reason'] == 'holds no certificate'
    state = dict((ca['CAName'], ca['RevokedSerialNumbers']) for ca in mock.admin.state()['ublox']['rootCAs'])
    devices = ztp(mock)
    assert state[CA] == [devices['0002%012x' % 1]['CurrentProperties']['CertificateSerialNumber']]
    assert state[TEST_CA] == [devices['00ff000000000001']['CurrentProperties']['CertificateSerialNumber']]
    loose = run(ublox_device_certificate, ublox_args(mock, creds, action='revoke', serial_numbers=['abc123']))
    assert loose['failed'] and 'give ca_name to revoke it by serial number' in loose['msg']


def test_update_with_issued_before_and_delete(mock, creds, run, cas):
    mock.admin.seed('ublox', 'tags', {'tags': ['old']})
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='b%d' % n, CAName=CA, IssuedDaysAgo=30, TagNames=['old'])
                                                     for n in range(3)]})
    cutoff = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')
    args = ublox_args(mock, creds, action='update', ca_name=CA, tags=['old'], issued_before=cutoff)
    assert run(ublox_device_certificate, args)['acted_on'] == ['b0', 'b1', 'b2']
    assert run(ublox_device_certificate, args)['changed'] is False
    heartbeat(mock, count=2)  # an update takes two heartbeats
    mock.admin.reset_counters()
    after = run(ublox_device_certificate, args)
    assert after['changed'] is False and mock.admin.counters()['by_category']['write'] == 0
    assert {r['reason'].split(',')[0] for r in after['outcomes']} >= {'issued %s' % ztp(mock)['b0']['CurrentProperties']['IssuedDate']}

    delete = ublox_args(mock, creds, action='delete', tags=['old'])
    assert run(ublox_device_certificate, delete)['acted_on'] == ['b0', 'b1', 'b2']
    assert {r['status'] for r in run(ublox_device_certificate, delete)['outcomes']} == {'pending'}
    heartbeat(mock)
    final = run(ublox_device_certificate, delete)
    assert final['changed'] is False and {r['reason'] for r in final['outcomes']} == {'holds no certificate'}


def test_unknown_device_is_reported_and_the_others_are_worked(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='c1', CAName=CA, ExpiresInDays=3)]})
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=30,
                                                      rot_public_uids=['c1', 'c2']))
    assert result['failed'] and result['acted_on'] == ['c1']
    failed = [r for r in result['outcomes'] if r['failed']]
    assert [r['item'] for r in failed] == ['c2'] and 'knows no device' in failed[0]['msg']
    assert ztp(mock)['c1']['DesiredProperties']['Action'] == 'RENEW'


def test_token_expiring_mid_task_is_refreshed(mock, creds, run, cas, monkeypatch):
    """The server revokes every AuthToken between the device listing and the device info reads: the task logs in again."""
    seed_fleet(mock)
    original = ublox_utils.UbloxClient.device_info

    def expire_then_read(self, *args, **kwargs):
        mock.admin.expire_tokens(refresh_tokens=False)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(ublox_utils.UbloxClient, 'device_info', expire_then_read)
    mock.admin.reset_counters()
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, tags=['fleet'], renew_within_days=30))
    assert not result.get('failed') and len(result['acted_on']) == 100
    counters = mock.admin.counters()
    assert counters['endpoints']['ublox POST /v1/refreshauthtoken'] == 1
    assert counters['endpoints']['ublox POST /v1/authenticate'] == 1
    assert '401' in counters['statuses']['ublox POST /v1/device/info/get']


def test_token_expiry_answered_401_mid_listing_is_refreshed(mock, creds, run, cas):
    """Page 2 of the tag's devices is answered 401 once (as for an expired token): refresh, repeat the page, go on."""
    seed_fleet(mock)
    mock.admin.add_fault(vendor='ublox', path='/device/rotpublicuid/get$', kind='status', status=401, skip=1, count=1)
    mock.admin.reset_counters()
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, tags=['fleet'], renew_within_days=30))
    assert not result.get('failed') and len(result['acted_on']) == 100
    counters = mock.admin.counters()
    assert counters['statuses']['ublox POST /v1/device/rotpublicuid/get'] == {'200': 3, '401': 1}
    assert counters['endpoints']['ublox POST /v1/refreshauthtoken'] == 1


def test_renew_window_must_be_shorter_than_the_new_validity(mock, creds, run, cas):
    mock.admin.reset_counters()
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=TEST_CA, renew_within_days=90))
    assert result['failed'] and 'renew_within_days (90) is not less than the validity of the renewed certificates (90 days)' in result['msg']
    assert mock.admin.counters()['by_category']['write'] == 0


def test_revoked_certificates_are_not_renewed(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='d1', CAName=CA, ExpiresInDays=3, Revoked=True),
                                                     dict(ROTPublicUID='d2', CAName=CA, ExpiresInDays=3),
                                                     dict(ROTPublicUID='d3', CAName=CA, ExpiresInDays=200, Revoked=True)]})
    args = ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=30, rot_public_uids=['d1', 'd2', 'd3'])
    result = run(ublox_device_certificate, args)
    assert result['acted_on'] == ['d2'] and not result.get('failed')
    skipped, renewed, outside = result['outcomes']
    serial = skipped['certificate']['serial_number']
    # a revoked certificate about to expire is not renewed, and is not shown as fine either: a warning with a remedy
    assert skipped['status'] == 'skipped' and 'is revoked' in skipped['reason'] and not skipped['failed'] and not skipped['changed']
    assert skipped['due'] is True and skipped['new_expiry_pending'] is False
    assert skipped['attention'] == ('certificate %s is revoked and expires on %s; it is not renewed because a new certificate would make '
                                    'the device trusted again' % (serial, skipped['old_expiry']))
    assert 'action=delete' in skipped['remedy'] and 'include_revoked=true' in skipped['remedy'] and 'd1' in skipped['remedy']
    assert 'attention' not in renewed and renewed['due'] is True and renewed['new_expiry_pending'] is True
    # revoked but outside the window: nothing to say yet
    assert outside['status'] == 'done' and outside['due'] is False and 'attention' not in outside
    # a revocation made by mistake: renew it explicitly
    again = run(ublox_device_certificate, dict(args, rot_public_uids=['d1'], include_revoked=True))
    assert again['acted_on'] == ['d1'] and ztp(mock)['d1']['DesiredProperties']['Action'] == 'RENEW'
    wrong = run(ublox_device_certificate, ublox_args(mock, creds, action='revoke', ca_name=CA, rot_public_uids=['d1'], include_revoked=True))
    assert wrong['failed'] and 'include_revoked only applies to action=renew and action=update' in wrong['msg']


def test_rotation_outcomes_carry_the_contract_fields(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='f1', CAName=CA, ExpiresInDays=3),
                                                     dict(ROTPublicUID='f2', CAName=CA, ExpiresInDays=300),
                                                     dict(ROTPublicUID='f3')]})
    args = ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=30, rot_public_uids=['f1', 'f2', 'f3'])
    due, outside, bare = run(ublox_device_certificate, args)['outcomes']
    stamp = ztp(mock)['f2']['CurrentProperties']['ExpirationDate']
    assert outside == dict(outside, status='done', changed=False, due=False, policy='renew', old_expiry=stamp, new_expiry=None,
                           new_expiry_pending=False, waiting=False)
    assert due['status'] == 'acted' and due['due'] and due['new_expiry_pending'] and due['new_expiry'] is None
    assert bare['old_expiry'] is None and bare['due'] is None and bare['status'] == 'skipped'  # no certificate: not outside the window either
    pending = run(ublox_device_certificate, args)['outcomes'][0]
    assert pending['status'] == 'pending' and pending['waiting'] and pending['due'] and pending['new_expiry_pending']


def test_transfer_waits_for_devices_mid_update(mock, creds, run, cas):
    """u-blox refuses a transfer during an update: such devices wait (not failed, nothing sent) and a later run moves them."""
    rots = ['0002%012x' % n for n in range(6)]
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID=rot, CAName=TEST_CA, ExpiresInDays=60) for rot in rots]})
    run(ublox_device_certificate, ublox_args(mock, creds, action='update', ca_name=TEST_CA, rot_public_uids=rots[:4],
                                             renew_within_days=89))
    heartbeat(mock, ROTPublicUIDs=rots[2:4])   # two of them are between the two heartbeats of the update: no certificate
    args = ublox_args(mock, creds, action='transfer', from_ca=TEST_CA, ca_name=CA, rot_public_uids=rots)
    mock.admin.reset_counters()
    result = run(ublox_device_certificate, args)
    assert not result.get('failed') and result['acted_on'] == rots[4:]
    assert mock.admin.counters()['statuses']['ublox POST /v1/ztp/devicecertificate/rootca/transfer'] == {'200': 1}
    by_rot = {r['item']: r for r in result['outcomes']}
    for rot in rots[:4]:
        outcome = by_rot[rot]
        assert outcome['status'] == 'waiting' and outcome['waiting'] and not outcome['failed'] and not outcome['changed']
        assert outcome['policy'] == 'transfer' and outcome['due'] and outcome['new_expiry_pending']
    assert by_rot[rots[0]]['reason'] == ('update to a new key pair pending: its certificate is removed at its next security heartbeat and '
                                         'the new one comes at the heartbeat after; transferred on the run after that')
    assert by_rot[rots[2]]['reason'] == 'update to a new key pair pending until its next security heartbeat; transferred on the run after that'
    assert by_rot[rots[2]]['old_expiry'] is None and by_rot[rots[0]]['old_expiry']
    heartbeat(mock, ROTPublicUIDs=rots[:4])   # the two in the middle get their new certificate; the first two lose theirs
    second = run(ublox_device_certificate, args)
    assert second['acted_on'] == rots[2:4]
    assert [by['status'] for by in second['outcomes']] == ['waiting', 'waiting', 'acted', 'acted', 'pending', 'pending']
    heartbeat(mock)
    third = run(ublox_device_certificate, args)
    assert third['acted_on'] == rots[:2]
    heartbeat(mock)
    final = run(ublox_device_certificate, args)
    assert final['changed'] is False and {r['status'] for r in final['outcomes']} == {'done'}
    assert {r['due'] for r in final['outcomes']} == {False}


def test_other_actions_wait_for_an_update(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='a61', CAName=CA, ExpiresInDays=3)]})
    run(ublox_device_certificate, ublox_args(mock, creds, action='update', ca_name=CA, rot_public_uids=['a61'], renew_within_days=30))
    mock.admin.reset_counters()
    renew = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=30, rot_public_uids=['a61']))
    outcome = renew['outcomes'][0]
    assert outcome['status'] == 'pending' and outcome['waiting'] and 'the update brings a new certificate' in outcome['reason']
    revoke = run(ublox_device_certificate, ublox_args(mock, creds, action='revoke', ca_name=CA, rot_public_uids=['a61']))
    assert revoke['outcomes'][0]['status'] == 'waiting' and 'u-blox refuses to revoke it until then' in revoke['outcomes'][0]['reason']
    assert mock.admin.counters()['by_category']['write'] == 0


def test_transfer_leaves_a_pending_deletion_alone(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='a51', CAName=TEST_CA)]})
    run(ublox_device_certificate, ublox_args(mock, creds, action='delete', rot_public_uids=['a51']))
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='transfer', from_ca=TEST_CA, ca_name=CA, rot_public_uids=['a51']))
    assert result['changed'] is False and result['outcomes'][0]['status'] == 'pending'
    assert ztp(mock)['a51']['DesiredProperties']['Action'] == 'DELETE'


def test_iso_utc_normalises_the_date_forms_of_u_blox():
    assert ublox_utils.iso_utc('2020-05-10T19:39Z') == '2020-05-10T19:39:00Z'
    assert ublox_utils.iso_utc('2020-04-25T06:22:12+00:00') == '2020-04-25T06:22:12Z'
    assert ublox_utils.iso_utc('2020-05-07T11:23:32') == '2020-05-07T11:23:32Z'
    assert ublox_utils.iso_utc('2020-05-07T13:23:32+02:00') == '2020-05-07T11:23:32Z'
    assert ublox_utils.iso_utc(None) is None and ublox_utils.iso_utc('soon') is None


def test_renew_does_not_replace_a_pending_transfer(mock, creds, run, cas):
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='e1', CAName=CA, ExpiresInDays=3)]})
    run(ublox_device_certificate, ublox_args(mock, creds, action='transfer', ca_name=TEST_CA, rot_public_uids=['e1']))
    result = run(ublox_device_certificate, ublox_args(mock, creds, action='renew', ca_name=CA, renew_within_days=30, rot_public_uids=['e1']))
    assert result['changed'] is False and 'TRANSFER to %s is pending' % TEST_CA in result['outcomes'][0]['reason']
    assert ztp(mock)['e1']['DesiredProperties']['Action'] == 'TRANSFER'
