# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_whitelist, ublox_device_provisioning and ublox_device_info against the mock."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_info, ublox_device_provisioning, ublox_device_whitelist

PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
IMEI = '862618583984360'


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def whitelist(mock):
    return sorted((entry['Type'], entry['Id']) for entry in mock.admin.state()['ublox']['whitelist'])


def test_whitelist_add_remove_exclusive(mock, creds, run):
    args = ublox_args(mock, creds, rot_public_uids=['0002000089280087', '135700008928C093'], imeis=[IMEI])
    check = run(ublox_device_whitelist, args, check_mode=True)
    assert check['changed'] and check['added'] == {'rot_public_uids': ['0002000089280087', '135700008928c093'], 'imeis': [IMEI]}
    assert writes(mock) == 0
    first = run(ublox_device_whitelist, args, diff=True)
    assert first['changed'] and first['summary']['changed'] == 3
    assert first['diff']['after'][IMEI] == {'whitelisted': True}
    assert whitelist(mock) == [('IMEI', IMEI), ('ROTPublicUID', '0002000089280087'), ('ROTPublicUID', '135700008928c093')]
    assert mock.admin.counters()['endpoints']['ublox POST /v1/device/whitelist/add'] == 1
    mock.admin.reset_counters()
    assert run(ublox_device_whitelist, args)['changed'] is False and writes(mock) == 0
    exclusive = run(ublox_device_whitelist, ublox_args(mock, creds, rot_public_uids=['0002000089280087'], exclusive=True))
    assert exclusive['removed'] == {'rot_public_uids': ['135700008928c093'], 'imeis': []}
    assert whitelist(mock) == [('IMEI', IMEI), ('ROTPublicUID', '0002000089280087')]
    gone = run(ublox_device_whitelist, ublox_args(mock, creds, imeis=[IMEI], state='absent'))
    assert gone['changed'] and whitelist(mock) == [('ROTPublicUID', '0002000089280087')]
    assert run(ublox_device_whitelist, ublox_args(mock, creds, imeis=[IMEI], state='absent'))['changed'] is False


def test_whitelist_checks_imeis_and_rots(mock, creds, run):
    result = run(ublox_device_whitelist, ublox_args(mock, creds, imeis=['862618583984361', '12345'], rot_public_uids=['xyz']))
    assert result['failed']
    assert "rot_public_uids[0]: 'xyz' is not a ROTPublicUID" in result['msg']
    assert 'imeis[0]' in result['msg'] and 'Luhn' in result['msg'] and 'imeis[1]' in result['msg'] and 'exactly 15 digits' in result['msg']
    assert mock.admin.counters()['total'] == 0


def seed(mock, count=3):
    mock.admin.seed('ublox', 'tags', {'tags': ['line-1']})
    return mock.admin.seed('ublox', 'devices', {'count': count, 'TagNames': ['line-1']})['added']


def test_provisioning_on_devices_pending_then_applied(mock, creds, run):
    rots = seed(mock)
    args = ublox_args(mock, creds, tags=['line-1'], authorizations=dict(local_dpr=True, local_c2c=False), security_heartbeat=3600)
    check = run(ublox_device_provisioning, args, check_mode=True, diff=True)
    assert check['changed'] and check['acted_on'] == rots and writes(mock) == 0
    assert check['diff']['after'][rots[0]]['authorizations'] == {'LocalDPR': 'ENABLED', 'LocalC2C': 'DISABLED'}
    first = run(ublox_device_provisioning, args)
    assert first['changed'] and mock.admin.counters()['endpoints']['ublox POST /v1/device/provisioning/set'] == 1
    mock.admin.reset_counters()
    pending = run(ublox_device_provisioning, args)
    assert pending['changed'] is False and {r['status'] for r in pending['outcomes']} == {'pending'} and writes(mock) == 0
    mock.admin.seed('ublox', 'heartbeat', {})
    done = run(ublox_device_provisioning, args)
    assert done['changed'] is False and {r['status'] for r in done['outcomes']} == {'done'}
    # one device drifts: only it is sent again
    more = run(ublox_device_provisioning, ublox_args(mock, creds, rot_public_uids=rots[:1], authorizations=dict(ztpv1=True)))
    assert more['acted_on'] == rots[:1]
    withdraw = run(ublox_device_provisioning, ublox_args(mock, creds, tags=['line-1'], state='absent'))
    assert withdraw['acted_on'] == rots[:1]
    assert run(ublox_device_provisioning, ublox_args(mock, creds, tags=['line-1'], state='absent'))['changed'] is False


def test_bootstrap_provisioning_of_a_profile(mock, creds, run):
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    args = ublox_args(mock, creds, device_profile_uid=PROFILE, authorizations=dict(ztpv1=True), security_heartbeat=86400)
    assert run(ublox_device_provisioning, args, check_mode=True)['changed'] and writes(mock) == 0
    assert run(ublox_device_provisioning, args)['acted_on'] == [PROFILE]
    profile = mock.admin.state()['ublox']['deviceProfiles'][0]['BootstrapProvisioning']
    assert profile['Authorizations'][0]['Name'] == 'ZTPV1' and profile['NetworkParameters'] == {'SecurityHeartbeatInSec': 86400}
    mock.admin.reset_counters()
    assert run(ublox_device_provisioning, args)['changed'] is False and writes(mock) == 0
    absent = ublox_args(mock, creds, device_profile_uid=PROFILE, state='absent')
    assert run(ublox_device_provisioning, absent)['changed'] and run(ublox_device_provisioning, absent)['changed'] is False
    unknown = run(ublox_device_provisioning, ublox_args(mock, creds, device_profile_uid='NoSuchProfile', authorizations=dict(ztpv1=True)))
    assert unknown['failed'] and 'no device profile NoSuchProfile' in unknown['msg']


def test_device_info_options_and_selection(mock, creds, run):
    rots = seed(mock, 130)
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': 'ffff', 'IsBlacklisted': True, 'DeviceSerialNumber': 'X-1'}]})
    mock.admin.reset_counters()
    everything = run(ublox_device_info, ublox_args(mock, creds))
    assert len(everything['devices']) == 131 and everything['changed'] is False
    device = everything['devices'][0]
    assert device['rot_public_uid'] == rots[0] and device['tags'] == ['line-1'] and len(device['imei']) == 15
    assert device['provisioning']['current']['security_heartbeat'] == 86400 and device['certificate'] is None
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/device/list/get'] == 2 and endpoints['ublox POST /v1/device/info/get'] == 2
    ztp_only = run(ublox_device_info, ublox_args(mock, creds, rot_public_uids=[rots[1].upper(), '0badc0de'], options=['ZTP']))
    assert ztp_only['missing'] == ['0badc0de'] and set(ztp_only['devices'][0]) == {'rot_public_uid', 'certificate', 'pending_certificate_action', 'root_ca'}
    black = run(ublox_device_info, ublox_args(mock, creds, filter='blacklisted', options=['CORE']))
    assert [d['rot_public_uid'] for d in black['devices']] == ['ffff']
    by_serial = run(ublox_device_info, ublox_args(mock, creds, device_serial_numbers=['X-1'], options=['CORE']))
    assert [d['device_serial_number'] for d in by_serial['devices']] == ['X-1']
    tagged = run(ublox_device_info, ublox_args(mock, creds, tags=['LINE-1'], options=['CORE']))
    assert len(tagged['devices']) == 130
    assert mock.admin.counters()['by_category']['write'] == 0


def test_a_lost_answer_to_a_provisioning_write_is_verified_by_reading_not_sent_again(mock, creds, run):
    """The connection drops after u-blox applied /device/provisioning/set (and later /delete): the module reads the
    desired provisioning back (/device/provisioning/get), finds the write applied and does not send it again."""
    rots = seed(mock, count=2)
    for path in ('/device/provisioning/set$', '/device/provisioning/delete$'):
        mock.admin.add_fault(vendor='ublox', path=path, kind='drop_after', count=1)
    args = ublox_args(mock, creds, tags=['line-1'], authorizations=dict(local_dpr=True), security_heartbeat=3600, retries=0)
    first = run(ublox_device_provisioning, args)
    assert not first.get('failed') and first['acted_on'] == rots, first
    withdraw = run(ublox_device_provisioning, ublox_args(mock, creds, tags=['line-1'], state='absent', retries=0))
    assert not withdraw.get('failed') and withdraw['acted_on'] == rots, withdraw
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/device/provisioning/set'] == 1 and endpoints['ublox POST /v1/device/provisioning/delete'] == 1
    assert endpoints['ublox POST /v1/device/provisioning/get'] == 2
    state = dict((device['ROTPublicUID'], device) for device in mock.admin.state()['ublox']['devices'])
    assert all(not state[rot]['Provisioning']['DesiredProperties'] for rot in rots)
