# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_tag against the mock: membership over pages, add/remove/exclusive, case-insensitive names, force delete."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import ublox_tag

PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


def tag_state(mock, name):
    for tag in mock.admin.state()['ublox']['tags']:
        if tag['TagName'].casefold() == name.casefold():
            return tag
    return None


def seed_devices(mock, count):
    return mock.admin.seed('ublox', 'devices', {'count': count})['added']


def test_exclusive_membership_of_250_devices_converges_in_one_task(mock, creds, run):
    rots = seed_devices(mock, 300)
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'Line-1', 'ROTPublicUIDs': rots[250:]}]})
    mock.admin.reset_counters()
    args = ublox_args(mock, creds, tags=[dict(name='line-1', assignment='exclusive', rot_public_uids=rots[:250])])
    check = run(ublox_tag, args, check_mode=True)
    result = check['outcomes'][0]
    assert check['changed'] and len(result['added_rot_public_uids']) == 250 and len(result['removed_rot_public_uids']) == 50
    assert mock.admin.counters()['by_category']['write'] == 0

    first = run(ublox_tag, args, diff=True)
    assert first['changed'] and first['outcomes'][0]['rot_public_uid_count'] == 250
    assert sorted(tag_state(mock, 'line-1')['ROTPublicUIDs']) == sorted(rots[:250])
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/tag/assign'] == 1 and endpoints['ublox POST /v1/tag/remove'] == 1
    assert len(first['diff']['before']['line-1']['rot_public_uids']) == 50
    assert len(first['diff']['after']['line-1']['rot_public_uids']) == 250

    mock.admin.reset_counters()
    second = run(ublox_tag, args)
    assert second['changed'] is False
    counters = mock.admin.counters()
    assert counters['by_category']['write'] == 0
    # 250 members are 3 pages of /device/rotpublicuid/get, read once
    assert counters['endpoints']['ublox POST /v1/device/rotpublicuid/get'] == 3
    assert 'ublox POST /v1/device/list/get' not in counters['endpoints']


def test_add_remove_and_case_insensitive_names(mock, creds, run):
    rots = seed_devices(mock, 5)
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    pilot = dict(name='Pilot', rot_public_uids=[rot.upper() for rot in rots[:2]], device_profile_uids=[PROFILE])
    created = run(ublox_tag, ublox_args(mock, creds, tags=[pilot]))
    assert created['changed'] and created['outcomes'][0]['created']
    assert tag_state(mock, 'pilot')['DeviceProfileUIDs'] == [PROFILE]
    more = run(ublox_tag, ublox_args(mock, creds, tags=[dict(name='PILOT', rot_public_uids=rots[1:3])]))
    assert more['outcomes'][0]['added_rot_public_uids'] == [rots[2]] and not more['outcomes'][0]['created']
    removed = run(ublox_tag, ublox_args(mock, creds, assignment='remove', tags=[dict(name='pilot', rot_public_uids=[rots[0], rots[4]])]))
    assert removed['outcomes'][0]['removed_rot_public_uids'] == [rots[0]]
    assert sorted(tag_state(mock, 'pilot')['ROTPublicUIDs']) == rots[1:3]
    mock.admin.reset_counters()
    for assignment, members in (('add', rots[1:3]), ('remove', [rots[0], rots[4]]), ('exclusive', rots[1:3])):
        again = run(ublox_tag, ublox_args(mock, creds, assignment=assignment, tags=[dict(name='pilot', rot_public_uids=members)]))
        assert again['changed'] is False, assignment
    assert mock.admin.counters()['by_category']['write'] == 0
    duplicate = run(ublox_tag, ublox_args(mock, creds, tags=[dict(name='a'), dict(name='A')]))
    assert duplicate['failed'] and 'tags[1]' in duplicate['msg'] and 'once per task' in duplicate['msg']


def test_unknown_devices_fail_before_any_write(mock, creds, run):
    rots = seed_devices(mock, 3)
    mock.admin.reset_counters()
    tags = [dict(name='ok-tag', rot_public_uids=rots), dict(name='bad-tag', rot_public_uids=['00000000deadbeef'])]
    result = run(ublox_tag, ublox_args(mock, creds, tags=tags))
    assert result['failed'] and 'tags[1] (bad-tag)' in result['msg'] and '00000000deadbeef' in result['msg']
    assert mock.admin.counters()['by_category']['write'] == 0 and mock.admin.state()['ublox']['tags'] == []


def test_delete_assigned_tag_needs_force(mock, creds, run):
    rots = seed_devices(mock, 2)
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'busy', 'ROTPublicUIDs': rots, 'DeviceProfileUIDs': [PROFILE]}, 'free']})
    refused = run(ublox_tag, ublox_args(mock, creds, state='absent', tags=[dict(name='BUSY'), dict(name='free'), dict(name='gone')]))
    assert refused['failed'] and refused['summary'] == {'total': 3, 'changed': 1, 'ok': 1, 'failed': 1, 'waiting': 0}
    assert 'still assigned to 2 device(s) and 1 device profile(s)' in refused['outcomes'][0]['msg']
    assert 'force=true' in refused['outcomes'][0]['msg']
    assert tag_state(mock, 'busy') is not None and tag_state(mock, 'free') is None
    check = run(ublox_tag, ublox_args(mock, creds, state='absent', force=True, tags=[dict(name='busy')]), check_mode=True)
    assert check['changed'] and check['outcomes'][0]['removed_rot_public_uids'] == sorted(rots)
    assert tag_state(mock, 'busy') is not None
    forced = run(ublox_tag, ublox_args(mock, creds, state='absent', force=True, tags=[dict(name='busy')]))
    assert forced['changed'] and forced['outcomes'][0]['deleted'] and tag_state(mock, 'busy') is None
    assert run(ublox_tag, ublox_args(mock, creds, state='absent', tags=[dict(name='busy')]))['changed'] is False


def test_exclusive_empty_list_clears_members(mock, creds, run):
    rots = seed_devices(mock, 2)
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 't', 'ROTPublicUIDs': rots}]})
    cleared = run(ublox_tag, ublox_args(mock, creds, tags=[dict(name='t', assignment='exclusive', rot_public_uids=[])]))
    assert cleared['changed'] and tag_state(mock, 't')['ROTPublicUIDs'] == []
    empty_add = run(ublox_tag, ublox_args(mock, creds, tags=[dict(name='t', rot_public_uids=[])]))
    assert empty_add['failed'] and 'rot_public_uids is empty' in empty_add['msg']
