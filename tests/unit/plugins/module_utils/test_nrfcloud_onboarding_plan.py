# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_device's planner and bulk bookkeeping with data alone (no server): the plan of each device against the
record read, and what a bulk onboarding reports per device, from the answers of an in-memory client."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import _nrfcloud_onboarding
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, OutcomeUnknownError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_onboarding import (
    DELETE, ONBOARD, UPDATE, BulkOnboarding, changes, plan_device, view)
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import ONBOARDED, REMOVED
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE
from ansible_collections.iotops.provisioning.plugins.modules.nrfcloud_device import needs_certificate, validate_device

RECORD = {'id': 'dev-1', 'name': 'Lift', 'tags': ['b', 'a'], 'subType': 'gw', 'firmware': {'supports': ['MODEM', 'APP']}}


def item(**fields):
    found = dict(device_id='dev-1', state='present', name=None, tags=None, sub_type='', fw_types=['APP', 'MODEM'], certificate=None)
    found.update(fields)
    return found


def test_an_absent_device_is_deleted_when_onboarded_and_left_otherwise():
    gone = plan_device(item(state='absent'), RECORD)
    assert (gone.item, gone.action, gone.after, gone.result) == ('dev-1', DELETE, None, dict(phase=REMOVED))
    assert gone.before == dict(name='Lift', tags=['a', 'b'], sub_type='gw', fw_types=['APP', 'MODEM'])
    left = plan_device(item(state='absent'), None)
    assert left.action == NO_CHANGE and left.outcome() == dict(action=NO_CHANGE, changed=False, failed=False, phase=REMOVED)


def test_a_new_device_is_onboarded_with_its_fields_in_the_diff():
    new = item(name='Lift', tags=['x'], sub_type='gw', certificate='PEM')
    plan = plan_device(new, None)
    assert (plan.action, plan.before, plan.data['device']) == (ONBOARD, None, new)
    assert plan.after == dict(name='Lift', tags=['x'], sub_type='gw', fw_types=['APP', 'MODEM'])
    assert plan.outcome()['diff'] == dict(before=None, after=plan.after) and plan.result == dict(phase=ONBOARDED)


def test_an_onboarded_device_with_the_same_name_and_tags_needs_nothing():
    plan = plan_device(item(name='Lift', tags=['a', 'b']), RECORD)  # tags compare as sets
    assert plan.action == NO_CHANGE and plan.result == dict(phase=ONBOARDED) and 'diff' not in plan.outcome()
    assert plan_device(item(), RECORD).action == NO_CHANGE  # fields the item does not set are not managed


def test_a_changed_name_or_tags_is_an_update_of_those_fields_only():
    plan = plan_device(item(name='Lift B', tags=['a', 'b']), RECORD)
    assert (plan.action, plan.data['changes'], plan.data['current']) == (UPDATE, {'name': 'Lift B'}, RECORD)
    assert plan.before['name'] == 'Lift' and plan.after == dict(plan.before, name='Lift B')
    tags = plan_device(item(tags=[]), RECORD)
    assert tags.data['changes'] == {'tags': []} and tags.after['tags'] == []
    assert changes(item(name='Lift', tags=['c']), RECORD) == {'tags': ['c']}


def test_view_reads_an_item_and_a_record_alike():
    assert view(dict(name=None, sub_type='', fw_types=None)) == dict(name=None, tags=[], sub_type='', fw_types=[])
    assert view({'subType': 'x', 'firmware': {}})['fw_types'] == []


@pytest.mark.parametrize('fields, message', [
    (dict(device_id='bad id'), 'must be 1 to 128 letters'),
    (dict(sub_type='a b'), 'sub_type must be at most 799'),
    (dict(tags=['ok', 'not ok']), "tag 'not ok' may only hold"),
    (dict(certificate='not a certificate'), 'certificate'),
])
def test_bad_items_are_refused_before_any_request(fields, message):
    with pytest.raises(ConfigError, match=message):
        validate_device(item(**fields))


def test_a_device_to_onboard_needs_its_certificate():
    with pytest.raises(ConfigError, match='certificate is required to onboard'):
        needs_certificate(item())
    needs_certificate(item(certificate='PEM'))


class Client:
    """What BulkOnboarding asks of the vendor client, answered from data."""

    def __init__(self, answers=(), operations=None, row_errors=None, listed=()):
        self.answers = list(answers)  # per onboard_devices call: a request id, or an exception to raise
        self.operations = operations or {}
        self.row_errors = row_errors or {}
        self.listed = list(listed)
        self.sent = []

    def onboard_devices(self, chunk):
        self.sent.append([d['device_id'] for d in chunk])
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bulk_operation(self, request_id):
        return self.operations[request_id]

    def bulk_row_errors(self, operation, rows):
        assert rows == len(self.sent[0])
        return self.row_errors

    def list_devices(self):
        return [dict(id=device_id) for device_id in self.listed]


def devices(*names):
    return [item(device_id=name, certificate='PEM') for name in names]


def test_bulk_onboarding_sends_one_request_per_chunk_and_reports_each_row(monkeypatch):
    monkeypatch.setattr(_nrfcloud_onboarding, 'ROWS_PER_REQUEST', 2)
    client = Client(answers=['op1', 'op2'], operations={'op1': {'status': 'FAILED'}, 'op2': {'status': 'SUCCEEDED'}},
                    row_errors={1: 'bad certificate'})
    results = BulkOnboarding(client, timeout=0, interval=1).run(devices('d1', 'd2', 'd3'))
    assert client.sent == [['d1', 'd2'], ['d3']]
    assert results == {'d1': dict(bulk_ops_request_id='op1'),
                       'd2': dict(bulk_ops_request_id='op1', failed=True, msg='onboarding row rejected: bad certificate'),
                       'd3': dict(bulk_ops_request_id='op2')}


def test_a_bulk_operation_that_does_not_end_in_time_fails_its_rows_with_its_id():
    client = Client(answers=['op1'], operations={'op1': {'status': 'IN_PROGRESS'}})
    results = BulkOnboarding(client, timeout=0, interval=1).run(devices('d1'))
    assert results['d1'] == dict(failed=True, bulk_ops_request_id='op1', msg='bulk operation op1 did not finish within 0 s; re-run the task')


def test_a_refused_request_fails_its_rows_and_an_unknown_outcome_is_settled_by_the_device_list():
    refused = ApiError('nRF Cloud', 'POST', '/devices', 400, message='bad csv')
    results = BulkOnboarding(Client(answers=[refused]), timeout=0, interval=1).run(devices('d1'))
    assert results == {'d1': dict(failed=True, msg=refused.msg)}
    unknown = OutcomeUnknownError('nRF Cloud', 'POST', '/devices', 'read timed out')
    results = BulkOnboarding(Client(answers=[unknown], listed=['d1']), timeout=0, interval=1).run(devices('d1', 'd2'))
    assert results['d1'] == {} and results['d2'] == dict(failed=True, msg='%s; re-run the task to onboard it' % unknown.msg)
