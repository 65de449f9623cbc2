# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_e2e_key_rotation's rules and planner with data alone: no mock, no HTTP."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_security import (
    plan_rotation,
    rotation_problem,
    rotation_view,
    wanted_policy,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import rot_chunks

DAY = 86400
ROT = '0002000089280087'


def record(policy=None, desired_heartbeat=None, current_heartbeat=DAY):
    provisioning = {'DesiredProperties': {}, 'CurrentProperties': {'NetworkParameters': {'SecurityHeartbeatInSec': current_heartbeat}}}
    if desired_heartbeat is not None:
        provisioning['DesiredProperties'] = {'NetworkParameters': {'SecurityHeartbeatInSec': desired_heartbeat}}
    if policy is not None:
        provisioning['E2EKeyRotation'] = dict(policy, ModifiedDate='2026-01-01T00:00:00Z')
    return {'ROTPublicUID': ROT, 'Provisioning': provisioning}


@pytest.mark.parametrize('kind, days, problem', [
    ('AUTOMATIC', None, None),
    ('AUTOMATIC', 1, None),
    ('AUTOMATIC', 30, None),
    ('AUTOMATIC', 0, 'days is 0; u-blox rotates E2E keys every 1 to 30 days'),
    ('AUTOMATIC', 31, 'days is 31; u-blox rotates E2E keys every 1 to 30 days'),
    ('CONTINUOUS', None, None),
    ('CONTINUOUS', 7, 'days applies only to type=AUTOMATIC'),
    ('WEEKLY', None, "type must be CONTINUOUS or AUTOMATIC, got 'WEEKLY'"),
])
def test_rules_of_e2e_key_rotate(kind, days, problem):
    found = rotation_problem(kind, days)
    assert (found is None) if problem is None else (problem in found)


def test_wanted_policy_and_the_vendor_default_of_7_days():
    assert wanted_policy('AUTOMATIC', None) == {'type': 'AUTOMATIC', 'days': 7}
    assert wanted_policy('AUTOMATIC', 2) == {'type': 'AUTOMATIC', 'days': 2}
    assert wanted_policy('CONTINUOUS', None) == {'type': 'CONTINUOUS', 'days': None}
    assert rotation_view(None) is None and rotation_view({}) is None
    assert rotation_view({'Type': 'CONTINUOUS', 'Days': 7}) == {'type': 'CONTINUOUS', 'days': None}


def test_a_device_without_a_policy_gets_it():
    plan = plan_rotation(ROT, record(), wanted_policy('AUTOMATIC', 3))
    assert plan.action == 'set' and plan.result['status'] == 'set' and plan.result['previous_policy'] is None
    assert plan.result['heartbeat_adjusted'] is False and plan.result['security_heartbeat'] == DAY
    assert plan.before == {'policy': None, 'security_heartbeat': DAY}
    assert plan.after == {'policy': {'type': 'AUTOMATIC', 'days': 3}, 'security_heartbeat': DAY}


def test_the_same_policy_is_not_sent_again():
    plan = plan_rotation(ROT, record({'Type': 'AUTOMATIC', 'Days': 3}), wanted_policy('AUTOMATIC', 3))
    assert not plan.changes and plan.result['status'] == 'done'
    continuous = plan_rotation(ROT, record({'Type': 'CONTINUOUS'}, current_heartbeat=30 * DAY), wanted_policy('CONTINUOUS', None))
    assert not continuous.changes  # CONTINUOUS does not touch the heartbeat


def test_another_period_or_type_is_an_update():
    assert plan_rotation(ROT, record({'Type': 'AUTOMATIC', 'Days': 3}), wanted_policy('AUTOMATIC', 4)).changes
    assert plan_rotation(ROT, record({'Type': 'AUTOMATIC', 'Days': 7}), wanted_policy('CONTINUOUS', None)).changes


def test_a_heartbeat_longer_than_the_period_is_predicted_shorter_and_resent():
    # desired over applied: a desired weekly heartbeat counts even though a daily one is applied
    plan = plan_rotation(ROT, record({'Type': 'AUTOMATIC', 'Days': 2}, desired_heartbeat=7 * DAY), wanted_policy('AUTOMATIC', 2))
    assert plan.changes and plan.result['heartbeat_adjusted'] is True and plan.result['security_heartbeat'] == 2 * DAY
    assert plan.before['security_heartbeat'] == 7 * DAY and plan.after['security_heartbeat'] == 2 * DAY
    shorter = plan_rotation(ROT, record({'Type': 'AUTOMATIC', 'Days': 2}, desired_heartbeat=3600), wanted_policy('AUTOMATIC', 2))
    assert not shorter.changes and shorter.result['security_heartbeat'] == 3600


def test_an_unknown_device_fails_with_what_to_do():
    with pytest.raises(IotopsError, match='once the device has bootstrapped'):
        plan_rotation(ROT, None, wanted_policy('CONTINUOUS', None))


def test_writes_go_100_devices_a_request():
    parts = rot_chunks('%016x' % index for index in range(250))
    assert [len(part) for part in parts] == [100, 100, 50] and parts[0][0] == '0' * 16
