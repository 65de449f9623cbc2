# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device's planner with data alone (no server): each device's phase and what it needs - whitelist, tags, features -
and what its device profile needs, given what u-blox holds."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_onboarding import (
    ALLOCATED_REMEDY, Device, Goal, check_profile_needed, plan_device, plan_profile, validate_device)
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device import validate_options

ROT = '0002000089280087'
IMEI = '351358811234563'
PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
TAG = 'batch-2026-48'
DPR = {'LocalDPR': 'ENABLED'}


def device(rot=ROT, imei=IMEI, listed=(), state=None, tags=(), desired=None, current=None):
    """A Device as ``read`` leaves it: its whitelist entries, and (``state`` given) its /device/info/get record."""
    found = Device(dict(rot_public_uid=rot, imei=imei))
    found.listed = set(listed)
    if state is not None:
        found.take_info({'ROTPublicUID': rot, 'Core': {'State': state, 'TagNames': list(tags)},
                         'Provisioning': {'DesiredProperties': properties(desired), 'CurrentProperties': properties(current)}})
    return found


def properties(auths):
    return {'Authorizations': [{'Name': name, 'State': value} for name, value in auths.items()]} if auths else None


def both():
    return {('ROTPublicUID', ROT), ('IMEI', IMEI)}


def outcome(plan):
    """The device's outcome as the module reports it (ublox_device.outcomes)."""
    result = plan.outcome()
    result['failed'] = 'msg' in result
    return outcome_phase(result, result['phase'])


def test_a_factory_fresh_device_is_whitelisted_and_waits_for_bootstrap():
    plan = plan_device(device(), Goal([TAG], DPR, None))
    assert plan.action == 'onboard' and plan.data['entries'] == both() and not plan.data['tag'] and not plan.data['features']
    assert plan.result == dict(actions=['whitelisted by IMEI and ROTPublicUID'], bootstrapped=False, phase='waiting for bootstrap')
    assert plan.before == dict(whitelisted=[], bootstrapped=False, tags=[])
    assert plan.after == dict(whitelisted=['IMEI', 'ROTPublicUID'], bootstrapped=False, tags=[])
    result = outcome(plan)
    assert result['waiting'] and result['changed'] and not result['failed'] and result['diff']['after'] == plan.after


def test_a_whitelisted_device_still_to_bootstrap_needs_nothing_yet():
    plan = plan_device(device(listed=both()), Goal([TAG], {}, None))
    assert plan.action == 'none' and plan.result['actions'] == [] and plan.result['phase'] == 'waiting for bootstrap'
    partly = plan_device(device(listed={('IMEI', IMEI)}), Goal([], {}, None))
    assert partly.result['actions'] == ['whitelisted by ROTPublicUID'] and partly.data['entries'] == {('ROTPublicUID', ROT)}


def test_a_device_known_only_by_imei_is_whitelisted_and_that_is_its_last_phase():
    plan = plan_device(device(rot=None), Goal([TAG], {}, None))
    assert plan.item == IMEI and plan.result == dict(actions=['whitelisted by IMEI'], bootstrapped=None, phase='whitelisted')
    assert not outcome(plan)['waiting']


def test_a_bootstrapped_device_is_tagged_and_gets_its_features_as_a_delta():
    current = {'LocalDPR': 'DISABLED', 'ZTPV1': 'ENABLED'}
    plan = plan_device(device(listed=both(), state='ACTIVATED', tags=['line-1'], current=current), Goal([TAG], DPR, None, names=['Batch-2026-48']))
    assert plan.data['tag'] and plan.data['features']
    assert plan.result['actions'] == ['tagged Batch-2026-48', 'features set (applied at the next heartbeat)']
    assert plan.result['state'] == 'ACTIVATED' and plan.result['phase'] == 'features pending (next heartbeat)'
    assert plan.before['tags'] == [] and plan.after['tags'] == [TAG]  # only the task's tags are shown; line-1 is kept
    assert plan.before['features']['authorizations'] == current
    assert plan.after['features']['authorizations'] == {'LocalDPR': 'ENABLED', 'ZTPV1': 'ENABLED'}


def test_features_applied_and_tags_there_is_no_change():
    plan = plan_device(device(listed=both(), state='ACTIVATED', tags=['BATCH-2026-48'], current=DPR), Goal([TAG], DPR, None))
    assert plan.action == 'none' and plan.result['phase'] == 'features applied' and 'diff' not in outcome(plan)
    pending = plan_device(device(listed=both(), state='ACTIVATED', tags=[TAG], desired=DPR), Goal([TAG], DPR, None))
    assert pending.action == 'none' and pending.result['phase'] == 'features pending (next heartbeat)'
    assert outcome(pending)['waiting']


def test_without_features_the_phase_is_tagged_or_bootstrapped():
    assert plan_device(device(listed=both(), state='ACTIVATED', tags=[TAG]), Goal([TAG], {}, None)).result['phase'] == 'tagged'
    assert plan_device(device(listed=both(), state='ACTIVATED'), Goal([], {}, None)).result['phase'] == 'bootstrapped'


def test_a_device_that_bootstrapped_allocated_needs_a_person_and_is_still_whitelisted():
    plan = plan_device(device(listed={('IMEI', IMEI)}, state='ALLOCATED'), Goal([TAG], DPR, None))
    assert not plan.data['tag'] and not plan.data['features'] and plan.data['failure']
    assert plan.result['actions'] == ['whitelisted by ROTPublicUID'] and 'ALLOCATED' in plan.result['msg']
    assert plan.result['remedy'] == ALLOCATED_REMEDY
    result = outcome(plan)
    assert result['failed'] and result['changed'] and result['phase'] == 'needs attention' and not result['waiting']


def test_the_device_profile_gets_the_features_and_tags_it_lacks():
    desired = dict(authorizations={'ZTPV1': 'ENABLED'}, security_heartbeat=None)
    goal = Goal([TAG], DPR, 3600, names=['Batch-2026-48'])
    plan = plan_profile(PROFILE, desired, set(), goal, tag_profile=True)
    assert plan.item == 'device profile %s' % PROFILE and plan.action == 'update' and plan.data == dict(features=True, tag=True)
    assert plan.result == dict(uid=PROFILE, bootstrap_provisioning_set=True, tagged=['Batch-2026-48'])
    assert plan.before == dict(bootstrap_provisioning=desired, tags=[])
    assert plan.after == dict(bootstrap_provisioning=dict(authorizations={'ZTPV1': 'ENABLED', 'LocalDPR': 'ENABLED'}, security_heartbeat=3600),
                              tags=['batch-2026-48'])
    done = plan_profile(PROFILE, plan.after['bootstrap_provisioning'], {'batch-2026-48'}, goal, tag_profile=True)
    assert done.action == 'none' and done.result == dict(uid=PROFILE, bootstrap_provisioning_set=False, tagged=[])
    untagged = plan_profile(PROFILE, desired, set(), Goal([TAG], {}, None), tag_profile=False)
    assert untagged.action == 'none'


def test_features_for_devices_still_to_bootstrap_need_the_device_profile():
    waiting = [device(), device(rot='0002000089280088', imei=None)]
    with pytest.raises(ConfigError) as err:
        check_profile_needed(waiting, Goal([], DPR, None), None)
    assert 'device_profile_uid is required: 2 device(s) have not bootstrapped yet (%s, 0002000089280088)' % ROT in str(err.value)
    check_profile_needed(waiting, Goal([], DPR, None), PROFILE)
    check_profile_needed(waiting, Goal([TAG], {}, None), None)  # tags alone wait for the bootstrap


def test_a_device_item_is_checked_and_normalised():
    found = Device(dict(rot_public_uid=' 0002000089280087 '.upper(), imei=IMEI))
    validate_device(found)
    assert found.rot == ROT
    for spec, message in ((dict(), 'give rot_public_uid or imei'), (dict(rot_public_uid='xyz'), "rot_public_uid: 'xyz'"),
                          (dict(imei='351358811234560'), 'Luhn')):
        with pytest.raises(ConfigError) as err:
            validate_device(Device(spec))
        assert message in str(err.value)


def options(**given):
    base = dict(tags=[], device_profile_uid=None, tag_device_profile=False, wait_timeout=0, wait_interval=10.0)
    base.update(given)
    return base


def test_the_options_are_checked_and_the_tags_sorted_once():
    assert validate_options(options(tags=['c', 'B', 'a', 'c']), None) == ['a', 'B', 'c']  # by u-blox's case-insensitive key
    for given, heartbeat, message in ((dict(tags=['a,b']), None, "tags: 'a,b' contains ','"),
                                      (dict(tag_device_profile=True, tags=[TAG]), None, 'tag_device_profile needs device_profile_uid and tags'),
                                      (dict(device_profile_uid='x/y'), None, 'is not a DeviceProfileUID'),
                                      (dict(), 0, 'security_heartbeat is 0'),
                                      (dict(wait_timeout=-1), None, 'wait_timeout must be 0 or more'),
                                      (dict(wait_interval=0), None, 'wait_interval must be greater than 0')):
        with pytest.raises(ConfigError) as err:
            validate_options(options(**given), heartbeat)
        assert message in str(err.value)
