# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recovery planner of nrfcloud_provisioning_recovery, from data alone (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_recovery import needs_history, plan_recovery

ALL = ['error', 'blocked', 'full']


def done(count, kind='config'):
    return [{'request': {kind: {}}, 'status': 'SUCCEEDED'} for _n in range(count)]


def record(status='PROVISIONED', tags=('line-1',)):
    return {'id': 'dev', 'status': status, 'tags': list(tags)}


def device(**fields):
    return dict(dict(device_id='dev', claim_token='token', tags=None), **fields)


def test_a_healthy_device_is_left_alone():
    plan = plan_recovery(device(), record(), done(5), ALL, 3)
    assert plan.action == 'none' and plan.result['reason'] == 'nothing to recover: PROVISIONED, 5 of 20 commands used'
    assert plan.before == plan.after == {'claimed': True, 'status': 'PROVISIONED', 'commands_used': 5}


def test_error_is_claimed_again_with_its_tags_and_the_devices_words():
    history = done(2) + [{'request': {'certificateSigningRequest': {}}, 'status': 'FAILED', 'response': {'message': 'modem error -8'}}]
    plan = plan_recovery(device(), record('ERROR'), history, ALL, 3)
    assert plan.action == 'reclaim' and plan.result['condition'] == 'error'
    assert plan.result['reason'] == 'in ERROR, suspended by nRF Cloud: its certificateSigningRequest command failed: modem error -8'
    assert plan.data == {'tags': ['line-1'], 'claim_token': 'token'}
    assert plan.after == {'claimed': True, 'status': 'READY', 'commands_used': 0}
    assert plan_recovery(device(tags=['line-2']), record('ERROR'), history, ALL, 3).data['tags'] == ['line-2']
    assert plan_recovery(device(), record('ERROR'), history, ['blocked', 'full'], 3).action == 'none'


def test_full_at_fewer_than_min_commands_left_unless_commands_are_pending():
    assert plan_recovery(device(), record(), done(17), ALL, 3).action == 'none'
    full = plan_recovery(device(), record(), done(18), ALL, 3)
    assert full.action == 'reclaim' and full.result['condition'] == 'full' and '2 left (fewer than 3)' in full.result['reason']
    assert plan_recovery(device(), record(), done(17), ALL, 4).action == 'reclaim'
    busy = plan_recovery(device(), record('PROVISIONING'), done(18) + [{'request': {'finished': {}}, 'status': 'PENDING'}], ALL, 3)
    assert busy.action == 'none' and 'still has commands to run' in busy.result['reason']


def test_blocked_is_unblocked_and_needs_no_token():
    plan = plan_recovery(device(claim_token=None), record('BLOCKED'), None, ALL, 3)
    assert plan.action == 'unblock' and plan.result['condition'] == 'blocked' and 'unblocked' in plan.result['next_step']
    assert plan_recovery(device(claim_token=None), record('BLOCKED'), None, ['error'], 3).action == 'none'


def test_not_claimed_is_claimed_only_with_a_token():
    plan = plan_recovery(device(tags=['t']), None, None, ALL, 3)
    assert plan.action == 'claim' and plan.data == {'tags': ['t'], 'claim_token': 'token'}
    assert plan_recovery(device(claim_token=None), None, None, ALL, 3).action == 'none'


def test_a_device_to_claim_again_without_a_token_fails_alone():
    with pytest.raises(IotopsError, match='needs claim_token'):
        plan_recovery(device(claim_token=None), record(), done(20), ALL, 3)


def test_which_histories_are_read():
    assert needs_history(record(), ['full']) and not needs_history(None, ALL)
    assert needs_history(record('ERROR'), ['error']) and not needs_history(record(), ['error', 'blocked'])
