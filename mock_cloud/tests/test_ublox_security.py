"""u-blox security reads (clone, suspicious, activity, notifications, usage) and the E2E key rotation policy on the mock."""

import datetime

import pytest

from iotops_mock.client import MockServerError

PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
DAY = 86400


def iso(days_ago, mock, date_only=False):
    moment = datetime.datetime.fromtimestamp(mock.admin.clock()['now'] - days_ago * DAY, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%d') if date_only else moment.strftime('%Y-%m-%dT%H:%M:%S+00:00')


def test_clone_and_suspicious_come_from_the_admin_seeds(ublox, mock):
    rots = mock.admin.seed('ublox', 'devices', {'count': 3})['added']
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'line-1', 'ROTPublicUIDs': rots[:2]}]})
    assert mock.admin.seed('ublox', 'clone', {'ROTPublicUIDs': [rots[0]], 'DaysAgo': 2})['added'] == [rots[0]]
    mock.admin.seed('ublox', 'suspicious', {'ROTPublicUIDs': [rots[1]], 'Reason': 'DUPLICATED_SCL_SERIAL_NUM_PROD_LOG'})
    clones = ublox('/device/clone/get', {'FromDate': iso(10, mock), 'TagNames': ['LINE-1']}).json()
    assert clones['TotalRecords'] == 1 and clones['ClonedEvents'][0]['ROTPublicUID'] == rots[0]
    assert ublox('/device/clone/get', {'FromDate': iso(1, mock), 'ROTPublicUIDs': rots}).json()['TotalRecords'] == 0
    assert ublox('/device/clone/get', {'ROTPublicUIDs': rots}).status_code == 400          # FromDate is required
    assert ublox('/device/clone/get', {'FromDate': iso(10, mock)}).status_code == 400      # no devices named
    by_profile = ublox('/device/clone/get', {'FromDate': iso(10, mock), 'DeviceProfileUID': 'UNATTRIBUTED DEVICE PROFILE'}).json()
    assert by_profile['TotalRecords'] == 1
    suspicious = ublox('/device/suspicious/get', {'ROTPublicUIDs': rots}).json()
    assert suspicious['SuspiciousDevices'] == [dict(suspicious['SuspiciousDevices'][0], ROTPublicUID=rots[1], Reason='DUPLICATED_SCL_SERIAL_NUM_PROD_LOG')]
    with pytest.raises(MockServerError):
        mock.admin.seed('ublox', 'suspicious', {'ROTPublicUIDs': rots, 'Reason': 'BAD'})
    dump = mock.admin.state()['ublox']['security']
    assert [e['ROTPublicUID'] for e in dump['clonedEvents']] == [rots[0]] and dump['suspiciousDevices'][0]['ROTPublicUID'] == rots[1]


def test_activity_notifications_and_usage_follow_the_fleets_events(ublox, mock):
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    assert ublox('/deviceprofile/bootstrapprovisioning/set', {'DeviceProfileUID': PROFILE, 'Provisioning': {
        'Authorizations': [{'Name': 'LocalDPR', 'State': 'ENABLED'}]}}).status_code == 200
    rot = '0002000000000abc'
    ublox('/device/whitelist/add', {'ROTPublicUIDs': [rot]})
    mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': rot, 'DeviceProfileUID': PROFILE}]})
    mock.admin.advance_clock(1800)
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': [rot]})
    activity = ublox('/device/activity/get', {'FromDate': iso(1, mock), 'ROTPublicUID': rot.upper()}).json()
    assert activity['LastSeen'] == iso(0, mock).replace('+00:00', 'Z')
    assert [a['Activity'] for a in activity['Activities']] == ['BOOTSTRAP', 'PROPERTIES_APPLIED']
    assert ublox('/device/activity/get', {'FromDate': iso(1, mock), 'ROTPublicUID': 'abcdef'}).status_code == 400
    notes = ublox('/notification/get', {'FromDate': iso(1, mock), 'ROTPublicUIDs': [rot]}).json()
    assert sorted(n['NotificationType'] for n in notes['Notifications']) == ['DEVICE_INFO_CHANGE', 'DEVICE_PROPERTIES_CHANGE', 'DEVICE_STATE_CHANGE']
    typed = ublox('/notification/get', {'FromDate': iso(1, mock), 'ROTPublicUIDs': [rot], 'NotificationType': 'DEVICE_ERROR'}).json()
    assert typed['TotalRecords'] == 0
    too_old = ublox('/notification/get', {'FromDate': iso(181, mock), 'ROTPublicUIDs': [rot]})
    assert too_old.status_code == 400 and '180 days' in too_old.json()['message']
    usage = ublox('/device/usage/get', {'FromDate': iso(1, mock, date_only=True)}).json()
    assert usage == {rot: {'LocalDPR': 1}}
    assert ublox('/device/usage/get', {'FromDate': iso(61, mock, date_only=True)}).status_code == 400
    assert ublox('/device/usage/get', {'FromDate': iso(1, mock)}).status_code == 400   # a date, not a date-time
    assert ublox('/device/usage/get', {'FromDate': iso(1, mock, date_only=True), 'ROTPublicUIDs': [rot], 'TagNames': ['x']}).status_code == 400


def test_usage_has_a_five_minute_lead_time(ublox, mock):
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '0002000000000001'}]})
    ublox('/device/provisioning/set', {'ROTPublicUIDs': ['0002000000000001'], 'Provisioning': {
        'Authorizations': [{'Name': 'LocalC2C', 'State': 'ENABLED'}]}})
    mock.admin.seed('ublox', 'heartbeat', {})
    assert ublox('/device/usage/get', {'FromDate': iso(0, mock, date_only=True)}).json() == {}
    mock.admin.advance_clock(301)
    assert ublox('/device/usage/get', {'FromDate': iso(1, mock, date_only=True)}).json() == {'0002000000000001': {'LocalC2C': 1}}


def test_key_rotation_policy_is_shown_in_device_info_and_adjusts_the_heartbeat(ublox, mock):
    rots = mock.admin.seed('ublox', 'devices', {'count': 2})['added']
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'fleet', 'ROTPublicUIDs': rots}]})
    # a weekly heartbeat, applied: longer than the rotation period of 3 days
    ublox('/device/provisioning/set', {'ROTPublicUIDs': rots, 'Provisioning': {'NetworkParameters': {'SecurityHeartbeatInSec': 7 * DAY}}})
    mock.admin.seed('ublox', 'heartbeat', {})
    answer = ublox('/e2e/key/rotate', {'TagNames': ['fleet'], 'Type': 'AUTOMATIC', 'Days': 3})
    assert answer.json()['Message'] == ('The automatic rotation has been set. The key will be rotated every 3 days. '
                                        'The Security heartbeat has been adjusted to 3 days.')
    info = ublox('/device/info/get', {'ROTPublicUIDs': rots, 'Options': ['PROVISIONING']}).json()['DeviceInfo']
    assert [d['Provisioning']['E2EKeyRotation']['Days'] for d in info] == [3, 3]
    assert info[0]['Provisioning']['DesiredProperties']['NetworkParameters'] == {'SecurityHeartbeatInSec': 3 * DAY}
    again = ublox('/e2e/key/rotate', {'ROTPublicUIDs': rots[:1], 'Type': 'AUTOMATIC', 'Days': 5}).json()['Message']
    assert again == 'The automatic rotation has been set. The key will be rotated every 5 days.'
    assert ublox('/e2e/key/rotate', {'ROTPublicUIDs': rots[:1], 'Type': 'CONTINUOUS'}).status_code == 200
    assert ublox('/e2e/key/rotate', {'ROTPublicUIDs': rots[:1], 'Type': 'AUTOMATIC', 'Days': 31}).status_code == 400
    assert ublox('/e2e/key/rotate', {'ROTPublicUIDs': rots[:1], 'Type': 'WEEKLY'}).status_code == 400
    assert ublox('/e2e/key/rotate', {'Type': 'CONTINUOUS'}).status_code == 400
    devices = {d['ROTPublicUID']: d for d in mock.admin.state()['ublox']['devices']}
    assert devices[rots[0]]['Provisioning']['E2EKeyRotation']['Type'] == 'CONTINUOUS'
    assert devices[rots[1]]['Provisioning']['E2EKeyRotation'] == dict(devices[rots[1]]['Provisioning']['E2EKeyRotation'], Type='AUTOMATIC', Days=3)
    counters = mock.admin.counters()
    assert counters['endpoints']['ublox POST /v1/e2e/key/rotate'] == 6
    # the seed's sample answer, word for word
    assert ublox('/e2e/key/rotate', {'ROTPublicUIDs': rots[1:], 'Type': 'AUTOMATIC', 'Days': 1}).json()['Message'] == (
        'The automatic rotation has been set. The key will be rotated every 1 day. The Security heartbeat has been adjusted to 1 day.')
