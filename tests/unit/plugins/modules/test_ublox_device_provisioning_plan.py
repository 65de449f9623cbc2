# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_provisioning's planner and input checks with data alone (no server): what each device or device profile
needs, given its desired and applied properties."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import provisioning_view
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_provisioning import plan_device, plan_features, validate

ROT = '0002000089280087'
PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'
NOTHING = dict(authorizations={}, security_heartbeat=None)


def features(heartbeat=None, **auths):
    return dict(authorizations=auths, security_heartbeat=heartbeat)


def record(desired=None, current=None):
    """A /device/info/get record with PROVISIONING, from {name: state} and a heartbeat."""
    def properties(view):
        if view is None:
            return None
        body = {'Authorizations': [{'Name': name, 'State': state} for name, state in view['authorizations'].items()]}
        if view['security_heartbeat'] is not None:
            body['NetworkParameters'] = {'SecurityHeartbeatInSec': view['security_heartbeat']}
        return body
    return {'ROTPublicUID': ROT, 'Provisioning': {'DesiredProperties': properties(desired), 'CurrentProperties': properties(current)}}


def params(**options):
    base = dict(rot_public_uids=None, tags=None, device_profile_uid=None, authorizations=None, security_heartbeat=None, state='present')
    base.update(options)
    return base


def test_a_device_lacking_a_feature_is_acted_on_and_its_other_features_are_kept():
    applied = features(86400, LocalDPR='ENABLED', ZTPV1='ENABLED')
    plan = plan_device(ROT, record(current=applied), 'present', {'LocalC2C': 'ENABLED'}, None)
    assert (plan.item, plan.action, plan.result['status']) == (ROT, 'set', 'acted')
    assert plan.before == applied
    # only the requested authorization changes: the others and the heartbeat stay as they are (a delta, not an exact set)
    assert plan.after == features(86400, LocalDPR='ENABLED', ZTPV1='ENABLED', LocalC2C='ENABLED')
    assert plan.result['desired'] == NOTHING and plan.result['current'] == applied
    outcome = plan.outcome()
    assert outcome['changed'] and not outcome['failed'] and outcome['diff'] == dict(before=plan.before, after=plan.after)


def test_desired_but_not_applied_is_pending_and_applied_is_done():
    wanted = {'LocalDPR': 'ENABLED'}
    pending = plan_device(ROT, record(desired=features(LocalDPR='ENABLED'), current=features(86400)), 'present', wanted, None)
    assert pending.action == 'none' and pending.result['status'] == 'pending' and not pending.changes
    done = plan_device(ROT, record(current=features(86400, LocalDPR='ENABLED')), 'present', wanted, 86400)
    assert done.action == 'none' and done.result['status'] == 'done' and 'diff' not in done.outcome()


def test_the_heartbeat_alone_is_compared_when_no_authorization_is_asked():
    plan = plan_device(ROT, record(current=features(86400, LocalDPR='ENABLED')), 'present', {}, 3600)
    assert plan.action == 'set' and plan.after == features(3600, LocalDPR='ENABLED')


def test_absent_withdraws_what_is_desired_and_nothing_else():
    plan = plan_device(ROT, record(desired=features(LocalDPR='DISABLED'), current=features(86400)), 'absent', {}, None)
    assert plan.action == 'withdraw' and plan.result['status'] == 'acted'
    assert plan.before == dict(desired=features(LocalDPR='DISABLED')) and plan.after == dict(desired=provisioning_view(None))
    nothing = plan_device(ROT, record(current=features(86400, LocalDPR='ENABLED')), 'absent', {}, None)
    assert nothing.action == 'none' and nothing.result['status'] == 'done'


def test_a_device_u_blox_does_not_know_fails_alone():
    with pytest.raises(IotopsError) as err:
        plan_device(ROT, None, 'present', {'LocalDPR': 'ENABLED'}, None)
    assert 'u-blox knows no device with ROTPublicUID %s' % ROT in str(err.value)


def test_a_device_profile_has_only_desired_properties():
    desired = features(86400, ZTPV1='DISABLED')
    plan = plan_features(PROFILE, desired, None, 'present', {'ZTPV1': 'ENABLED'}, None)
    assert plan.action == 'set' and plan.before == desired and plan.after == features(86400, ZTPV1='ENABLED')
    assert plan.result == dict(desired=desired, status='acted')  # no ``current`` for a profile
    same = plan_features(PROFILE, desired, None, 'present', {'ZTPV1': 'DISABLED'}, 86400)
    assert same.action == 'none' and same.result['status'] == 'done'
    withdraw = plan_features(PROFILE, desired, None, 'absent', {}, None)
    assert withdraw.action == 'withdraw' and (withdraw.before, withdraw.after) == (desired, provisioning_view(None))
    assert plan_features(PROFILE, NOTHING, None, 'absent', {}, None).result['status'] == 'done'


def test_a_failed_write_keeps_what_was_read_and_has_no_diff():
    plan = plan_device(ROT, record(current=features(86400)), 'present', {'LocalDPR': 'ENABLED'}, None)
    outcome = plan.outcome(dict(changed=False, failed=True, status='failed', msg='refused'))
    assert outcome['failed'] and not outcome['changed'] and outcome['status'] == 'failed' and 'diff' not in outcome
    assert outcome['current'] == features(86400)


def test_input_is_checked_and_normalised_before_any_request():
    good = params(rot_public_uids=['0002000089280087', '135700008928C093', '0002000089280087'], authorizations=dict(local_dpr=True))
    validate(good)
    assert good['rot_public_uids'] == ['0002000089280087', '135700008928c093']
    profile = params(device_profile_uid=' %s ' % PROFILE, security_heartbeat=60)
    validate(profile)
    assert profile['device_profile_uid'] == PROFILE
    validate(params(tags=['line-1'], state='absent'))


@pytest.mark.parametrize('options, message', [
    (dict(rot_public_uids=[ROT], device_profile_uid=PROFILE, security_heartbeat=60), 'device_profile_uid cannot be combined'),
    (dict(security_heartbeat=60), 'give rot_public_uids or tags'),
    (dict(tags=[], security_heartbeat=60), 'tags is empty'),
    (dict(rot_public_uids=['xyz'], security_heartbeat=60), "rot_public_uids: 'xyz' is not a ROTPublicUID"),
    (dict(tags=['a,b'], security_heartbeat=60), "tags: 'a,b' contains ','"),
    (dict(device_profile_uid='no such/profile', security_heartbeat=60), 'is not a DeviceProfileUID'),
    (dict(tags=['line-1']), 'state=present needs authorizations'),
    (dict(tags=['line-1'], security_heartbeat=0), 'security_heartbeat is 0'),
    (dict(tags=['line-1'], state='absent', authorizations=dict(ztpv1=True)), 'not used with state=absent'),
])
def test_bad_input_names_the_option_and_the_rule(options, message):
    with pytest.raises(ConfigError) as err:
        validate(params(**options))
    assert message in str(err.value)
