# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_tag's rules and planner with data alone (no server): what each tag needs, given u-blox's record of it and
its current members."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_tags import (
    additions,
    check_known_devices,
    check_known_profiles,
    member_changes,
    member_lists,
    plan_tag,
    short_name,
    validate_tag,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ALL, item_outcome

R1, R2, R3 = '0002000089280087', '135700008928c093', '00000000000000aa'
PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
RECORD = {'TagName': 'Line-1'}


def item(**fields):
    base = dict(name='line-1', state='present', rot_public_uids=None, device_profile_uids=None, assignment='add', force=False)
    base.update(fields)
    return base


def test_a_new_tag_is_created_with_its_members_and_the_diff_shows_them():
    plan = plan_tag(item(rot_public_uids=[R1, R2], device_profile_uids=[PROFILE]), None)
    assert (plan.item, plan.action) == ('line-1', 'create')
    assert plan.result == dict(state='present', created=True, deleted=False, added_rot_public_uids=[R1, R2], removed_rot_public_uids=[],
                               added_device_profile_uids=[PROFILE], removed_device_profile_uids=[], rot_public_uid_count=2)
    assert plan.before == dict(state='absent', rot_public_uids=[], device_profile_uids=[])
    assert plan.after == dict(state='present', rot_public_uids=[R1, R2], device_profile_uids=[PROFILE])
    assert plan.data == dict(name='line-1', add=([R1, R2], [PROFILE]), remove=([], []))
    # check mode reports the same fields, with the diff, and nothing is applied
    outcome = plan.outcome()
    assert outcome['changed'] and outcome['created'] and outcome['diff']['after']['rot_public_uids'] == [R1, R2]


def test_a_new_tag_without_members_is_only_created():
    plan = plan_tag(item(), None)
    assert plan.action == 'create' and plan.data['add'] == ([], []) and 'rot_public_uid_count' not in plan.result
    assert plan.before == dict(state='absent') and plan.after == dict(state='present')


def test_exclusive_makes_the_exact_set_and_add_or_remove_are_deltas():
    current = {R2, R3}
    exclusive = plan_tag(item(assignment='exclusive', rot_public_uids=[R1, R2]), RECORD, current)
    assert exclusive.action == 'update' and exclusive.data['add'] == ([R1], []) and exclusive.data['remove'] == ([R3], [])
    assert exclusive.result['rot_public_uid_count'] == 2 and not exclusive.result['created']
    assert exclusive.before['rot_public_uids'] == [R3, R2] and exclusive.after['rot_public_uids'] == [R1, R2]
    add = plan_tag(item(rot_public_uids=[R1, R2]), RECORD, current)
    assert add.data['add'] == ([R1], []) and add.data['remove'] == ([], []) and add.result['rot_public_uid_count'] == 3
    remove = plan_tag(item(assignment='remove', rot_public_uids=[R1, R2]), RECORD, current)
    assert remove.data['add'] == ([], []) and remove.data['remove'] == ([R2], []) and remove.result['removed_rot_public_uids'] == [R2]
    assert remove.result['rot_public_uid_count'] == 1


def test_members_already_right_need_nothing_in_every_assignment():
    for assignment, members in (('add', [R2]), ('remove', [R1]), ('exclusive', [R2, R3])):
        plan = plan_tag(item(assignment=assignment, rot_public_uids=members), RECORD, {R2, R3})
        assert plan.action == 'none' and not plan.changes, assignment
        assert plan.outcome() == dict(plan.result, action='none', changed=False, failed=False)


def test_an_exclusive_empty_list_clears_and_an_unmanaged_list_is_left_alone():
    cleared = plan_tag(item(assignment='exclusive', rot_public_uids=[]), RECORD, {R1, R2}, {PROFILE})
    assert cleared.data['remove'] == ([R1, R2], []) and cleared.result['rot_public_uid_count'] == 0
    assert 'device_profile_uids' not in cleared.before and 'device_profile_uids' not in cleared.after
    profiles = plan_tag(item(assignment='exclusive', device_profile_uids=[PROFILE]), RECORD, set(), {'Other'})
    assert profiles.data['add'] == ([], [PROFILE]) and profiles.data['remove'] == ([], ['Other'])
    assert 'rot_public_uid_count' not in profiles.result and 'rot_public_uids' not in profiles.after


def test_absent_tags_are_deleted_only_when_unassigned_or_forced():
    gone = plan_tag(item(state='absent'), None)
    assert gone.action == 'none' and not gone.result['deleted'] and gone.outcome()['changed'] is False
    free = plan_tag(item(state='absent'), RECORD)
    assert free.action == 'delete' and free.data == dict(name='Line-1', unassign=((), ()))
    assert free.result['deleted'] and free.result['rot_public_uid_count'] == 0 and free.after == dict(state='absent')
    with pytest.raises(ConfigError, match=r'tag Line-1 is still assigned to 2 device\(s\) and 1 device profile\(s\).*force=true'):
        plan_tag(item(state='absent'), RECORD, {R1, R2}, {PROFILE})
    forced = plan_tag(item(state='absent', force=True), RECORD, {R2, R1}, set())
    assert forced.action == 'delete' and forced.data['unassign'] == (ALL, ())
    assert forced.result['removed_rot_public_uids'] == [R1, R2] and forced.result['removed_device_profile_uids'] == []
    assert forced.before == dict(state='present', rot_public_uids=[R1, R2])


def test_member_helpers():
    assert member_changes(None, {R1}, 'exclusive') == ([], [])
    assert member_changes([R1, R2], {R2, R3}, 'exclusive') == ([R1], [R3])
    assert member_lists(item(rot_public_uids=[R1])) == (True, False)
    assert member_lists(item(state='absent')) == (True, True)
    assert member_lists(item()) == (False, False)
    assert additions(item(assignment='exclusive', rot_public_uids=[R1], device_profile_uids=[PROFILE]), {R2}, {PROFILE}) == ([R1], [])
    assert short_name(dict(name='x' * 50)) == 'x' * 40 + '...' and short_name(dict(name='ok')) == 'ok'


def test_members_to_assign_must_be_known():
    check_known_devices([R1], {R1, R2})
    with pytest.raises(ConfigError, match=r'knows no device 00000000000000aa \(1 unknown\).*bootstrapped'):
        check_known_devices([R1, R3], {R1})
    check_known_profiles([PROFILE], {PROFILE: {}})
    with pytest.raises(ConfigError, match='knows no device profile Nope'):
        check_known_profiles(['Nope'], {PROFILE: {}})


def test_validate_normalises_members_and_names_each_bad_input():
    good = item(rot_public_uids=[R2.upper(), R1, R2], device_profile_uids=[PROFILE, PROFILE])
    validate_tag(good)
    assert good['rot_public_uids'] == [R1, R2] and good['device_profile_uids'] == [PROFILE]
    bad = [
        (item(name='a,b'), "name 'a,b' contains ','"),
        (item(name=''), 'name a tag name is required'),
        (item(name='x' * 256), 'can only be 255 characters long'),
        (item(state='absent', rot_public_uids=[R1], device_profile_uids=[]), 'rot_public_uids, device_profile_uids can only be used with state=present'),
        (item(rot_public_uids=['xyz']), "rot_public_uids: 'xyz' is not a ROTPublicUID"),
        (item(device_profile_uids=['bad uid']), "device_profile_uids: 'bad uid' is not a DeviceProfileUID"),
        (item(rot_public_uids=[]), 'rot_public_uids is empty; with assignment=add there is nothing to do'),
        (item(assignment='remove', device_profile_uids=[]), 'device_profile_uids is empty; with assignment=remove'),
    ]
    for given, message in bad:
        with pytest.raises(ConfigError) as caught:
            validate_tag(given)
        assert message in caught.value.msg, given
    validate_tag(item(assignment='exclusive', rot_public_uids=[]))  # the way to empty a tag


def test_a_failed_outcome_says_why_not_what_was_planned():
    plan = plan_tag(item(rot_public_uids=[R1]), None)
    failed = plan.outcome(dict(changed=True, failed=True, msg='u-blox said no'))
    assert item_outcome(dict(failed, item='line-1')) == dict(item='line-1', changed=True, failed=True, msg='u-blox said no')
    ok = item_outcome(dict(plan.outcome(), item='line-1'))
    assert 'action' not in ok and ok['created'] and ok['added_rot_public_uids'] == [R1]
