# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms_device's planner and bulk bookkeeping with data alone (no server): what each device needs, given what the
domain holds."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils.iotcomms import bulk_row_errors, devices_csv
from ansible_collections.iotops.provisioning.plugins.modules.iotcomms_device import bulk_eligible, bulk_results, plan_device

HAVE = {'deviceId': 'd1', 'authType': 'deviceid', 'deviceType': 'alarmUnit', 'deviceCLI': '', 'macAddress': '',
        'description': 'Lift', 'authorized': {'domain': 'a.example', 'level': 'x'}}


def item(**fields):
    fields.setdefault('state', 'present')
    return dict(dict(device_id='d1'), **fields)


def test_absent_device_that_exists_is_deleted_and_one_that_does_not_is_left():
    plan = plan_device(item(state='absent'), HAVE)
    assert (plan.item, plan.action, plan.after) == ('d1', 'delete', {}) and plan.before['description'] == 'Lift'
    none = plan_device(item(state='absent'), None)
    assert none.action == 'none' and not none.changes and none.outcome() == dict(action='none', changed=False, failed=False)


def test_new_device_gets_the_defaults_and_a_body_without_none_values():
    plan = plan_device(item(auth_type='credentials', password='sip-secret-1', mac_address='aa-bb-cc-dd-ee-01',
                            settings={'authorized': {'domain': 'p.example', 'level': None}}), None)
    assert plan.action == 'create' and plan.before == {}
    assert plan.data['body'] == {'deviceId': 'd1', 'authType': 'credentials', 'macAddress': 'AA:BB:CC:DD:EE:01',
                                 'authorized': {'domain': 'p.example'}, 'password': 'sip-secret-1'}
    assert plan.after['deviceType'] == 'alarmUnit' and plan.after['description'] == '' and 'password' not in plan.after
    assert plan.result['device'] == plan.after


def test_one_changed_field_is_one_operation_and_nested_members_are_patched_alone():
    plan = plan_device(item(description='Lift B', settings={'authorized': {'level': None}}), HAVE)
    assert plan.action == 'update'
    assert plan.data['ops'] == [{'op': 'replace', 'path': '/description', 'value': 'Lift B'},
                                {'op': 'remove', 'path': '/authorized/level'}]
    assert plan.before == {'description': 'Lift', 'deviceId': 'd1', 'authorized': HAVE['authorized']}
    assert plan.after['authorized'] == {'domain': 'a.example'} and plan.result['device']['description'] == 'Lift B'


def test_an_unchanged_device_reports_its_state_and_an_empty_patch():
    plan = plan_device(item(description='Lift', auth_type='deviceid'), HAVE)
    assert plan.action == 'none' and plan.result == dict(device=HAVE, patch=[])


def test_password_is_sent_on_create_on_switching_to_credentials_or_always():
    on_create = plan_device(item(auth_type='deviceid', password='sip-secret-1'), HAVE)
    assert on_create.action == 'none'
    switching = plan_device(item(auth_type='credentials', password='sip-secret-1'), HAVE)
    assert switching.data['ops'][-1] == {'op': 'add', 'path': '/password', 'value': 'sip-secret-1'}
    assert switching.result['patch'][-1]['value'] == '********'  # the result masks it
    always = plan_device(item(password='sip-secret-1'), HAVE, update_password='always')
    assert always.action == 'update' and always.data['ops'] == [{'op': 'add', 'path': '/password', 'value': 'sip-secret-1'}]


def test_bulk_takes_only_devices_whose_cells_are_text():
    assert bulk_eligible({'deviceId': 'd1', 'description': '', 'authorized': {'domain': 'p'}})
    assert not bulk_eligible({'deviceId': 'd1', 'retries': 3})
    assert not bulk_eligible({'deviceId': 'd1', 'authorized': {}})
    assert not bulk_eligible({'deviceId': 'd1', 'note': ''})  # an empty cell would mean "not given"


def test_bulk_results_take_each_row_error_and_the_rest_are_created():
    plans = [plan_device(item(device_id=name), None) for name in ('b1', 'b2')]
    status = {'state': 'completedWithErrors', 'errors': [{'deviceId': 'b2', 'row': 3, 'message': 'bad mac'},
                                                         {'deviceId': 'b2', 'row': 4, 'message': 'later'}]}
    assert bulk_row_errors('job1', status) == {'b2': 'bulk job job1 row 3: bad mac'}
    results = bulk_results(plans, 'job1', status)
    assert results['b1'] == dict(bulk_id='job1')
    assert results['b2'] == dict(changed=False, failed=True, bulk_id='job1', msg='bulk job job1 row 3: bad mac')
    failed = bulk_results(plans, 'job1', {'state': 'failed'})
    assert all(result['failed'] and result['msg'] == 'bulk job job1 failed' for result in failed.values())
    outcome = plans[1].outcome(results['b2'])
    assert outcome['action'] == 'create' and outcome['failed'] and 'diff' not in outcome


def test_devices_csv_has_one_column_per_property_with_dotted_nested_names():
    text = devices_csv([{'deviceId': 'd1', 'authorized': {'domain': 'p'}}, {'deviceId': 'd2', 'description': 'x'}])
    assert text.splitlines() == ['deviceId,authorized.domain,description', 'd1,p,', 'd2,,x']
