# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_security_info against the mock: clones and suspicious devices marked through the admin API, LastSeen and
activities from the simulated bootstraps and heartbeats, notifications and usage, the filters and the request counts."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_provisioning, ublox_device_security_info, ublox_device_whitelist

PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
DAY = 86400


def fleet(mock):
    """Three seeded devices (two tagged line-1), one that bootstraps now with LocalDPR from its profile, and findings."""
    rots = mock.admin.seed('ublox', 'devices', {'count': 3})['added']
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'line-1', 'ROTPublicUIDs': rots[:2]}]})
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    mock.admin.seed('ublox', 'clone', {'ROTPublicUIDs': [rots[0]], 'DaysAgo': 3})
    mock.admin.seed('ublox', 'suspicious', {'ROTPublicUIDs': [rots[1]], 'Reason': 'DUPLICATED_DEV_SERIAL_NUM_SEALING'})
    return rots


def test_default_checks_of_a_tag(mock, run, ublox_args):
    rots = fleet(mock)
    mock.admin.advance_clock(2 * DAY)
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': [rots[1]]})
    mock.admin.reset_counters()
    result = run(ublox_device_security_info, ublox_args(tags=['Line-1'], not_seen_days=1))
    assert result['changed'] is False and result['device_count'] == 2 and result['missing'] == []
    assert [c['rot_public_uid'] for c in result['clones']] == [rots[0]] and result['clones'][0]['cloned_date'].endswith('Z')
    assert result['suspicious'][0]['rot_public_uid'] == rots[1] and result['suspicious'][0]['reason'] == 'DUPLICATED_DEV_SERIAL_NUM_SEALING'
    assert [a['rot_public_uid'] for a in result['activity']] == rots[:2]
    seen = {a['rot_public_uid']: a['last_seen'] for a in result['activity']}
    state = {d['ROTPublicUID']: d['Core']['LastSeen'] for d in mock.admin.state()['ublox']['devices']}
    assert seen == {rot: state[rot] for rot in rots[:2]} and seen[rots[1]] > seen[rots[0]]
    assert result['not_seen'] == [rots[0]]
    assert 'notifications' not in result and 'usage' not in result and 'activities' not in result['activity'][0]
    counters = mock.admin.counters()
    assert counters['by_category']['write'] == 0
    endpoints = counters['endpoints']
    assert endpoints['ublox POST /v1/device/clone/get'] == 1 and endpoints['ublox POST /v1/device/suspicious/get'] == 1
    assert endpoints['ublox POST /v1/device/activity/get'] == 2     # one device a request (seed 002)


def test_notifications_usage_and_activities_of_a_bootstrapped_device(mock, run, ublox_args):
    rots = fleet(mock)
    rot = '0002000000000abc'
    # whitelisted, with LocalDPR as its profile's bootstrap provisioning, it bootstraps now: bootstrap, properties, usage
    assert run(ublox_device_whitelist, ublox_args(rot_public_uids=[rot]))['changed']
    assert run(ublox_device_provisioning, ublox_args(device_profile_uid=PROFILE, authorizations={'local_dpr': True}))['changed']
    mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': rot, 'DeviceProfileUID': PROFILE}]})
    mock.admin.advance_clock(600)  # past u-blox's 5 minutes of lead time for usage logs
    args = ublox_args(device_profile_uids=[PROFILE], rot_public_uids=[rots[2], '0002ffffffffffff'], since_days=1,
                      checks=['notifications', 'usage', 'activity'], activity_details=True)
    result = run(ublox_device_security_info, args)
    assert result['missing'] == ['0002ffffffffffff'] and result['device_count'] == 2
    assert sorted(n['type'] for n in result['notifications'] if n['rot_public_uid'] == rot) == [
        'DEVICE_INFO_CHANGE', 'DEVICE_PROPERTIES_CHANGE', 'DEVICE_STATE_CHANGE']
    assert result['usage'] == {rot: {'LocalDPR': 1}}
    activities = {a['rot_public_uid']: a for a in result['activity']}
    assert [x['activity'] for x in activities[rot]['activities']] == ['BOOTSTRAP', 'PROPERTIES_APPLIED']
    assert activities[rots[2]]['activities'] == [] and activities[rots[2]]['activity_count'] == 0
    errors = run(ublox_device_security_info, dict(args, checks=['notifications'], notification_type='DEVICE_ERROR', activity_details=False))
    assert errors['notifications'] == [] and 'activity' not in errors and 'clones' not in errors


def test_a_period_u_blox_refuses_is_refused_before_any_request(mock, run, ublox_args):
    mock.admin.reset_counters()
    cases = (
        (dict(checks=['notifications'], since_days=181), 'u-blox gives notifications (checks notifications) only from the last 180 days'),
        (dict(checks=['usage'], from_date='2001-01-01'), 'u-blox gives usage (checks usage) only from the last 60 days'),
        (dict(checks=['usage']), 'checks usage needs from_date or since_days'),
        (dict(from_date='yesterday'), "from_date is 'yesterday'; it must be an ISO 8601 date"),
        (dict(from_date='2999-01-01'), 'from_date is in the future'),
        (dict(since_days=5, to_date='2001-01-01'), 'to_date (2001-01-01T00:00:00Z) is before the start'),
        (dict(checks=[]), 'checks is empty'),
        (dict(notification_type='DEVICE_ERROR'), 'notification_type applies only with notifications in checks'),
        (dict(rot_public_uids=['xyz']), "'xyz' is not a ROTPublicUID"),
        (dict(tags=[]), 'tags is empty'),
    )
    for extra, words in cases:
        result = run(ublox_device_security_info, ublox_args(**extra))
        assert result['failed'] and words in result['msg'], (extra, result['msg'])
    assert mock.admin.counters()['total'] == 0


def test_whole_account_in_chunks_of_100(mock, run, ublox_args):
    rots = mock.admin.seed('ublox', 'devices', {'count': 230})['added']
    mock.admin.seed('ublox', 'clone', {'ROTPublicUIDs': rots[200:210]})
    mock.admin.reset_counters()
    result = run(ublox_device_security_info, ublox_args(checks=['clone', 'suspicious']))
    assert result['device_count'] == 230 and len(result['clones']) == 10 and result['suspicious'] == []
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/device/list/get'] == 3 and endpoints['ublox POST /v1/device/clone/get'] == 3
    assert mock.admin.counters()['by_category']['write'] == 0
