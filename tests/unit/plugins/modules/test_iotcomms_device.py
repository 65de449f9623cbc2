# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms_device and iotcomms_device_info against the mock: create, minimal JSON Patch, delete, bulk, check mode,
JWT refusals, bad input, partial failure."""

from __future__ import annotations

import json

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import _auth_iotcomms_jwt
from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device, iotcomms_device_info

PATCH_KEY = 'iotcomms PATCH /provisioning/device/{domain}/{device_id}'
PUT_KEY = 'iotcomms PUT /provisioning/device/{domain}'
DELETE_KEY = 'iotcomms DELETE /provisioning/device/{domain}/{device_id}'
LIST_KEY = 'iotcomms GET /provisioning/device/{domain}'
BULK_PUT_KEY = 'iotcomms PUT /provisioning/device/{domain}/bulk/{bulk_id}'
BULK_GET_KEY = 'iotcomms GET /provisioning/device/{domain}/bulk/{bulk_id}'


def three():
    return [
        dict(device_id='4670001', auth_type='credentials', password='sip-secret-0001', device_type='alarmUnit',
             device_cli='+46700000001', mac_address='00-1a-2b-3c-4d-01', description='Entrance'),
        dict(device_id='4670002', auth_type='deviceid', description='Lift', settings={'authorized': {'domain': 'p.example'}}),
        dict(device_id='4670003', description='Garage'),
    ]


def stored(mock, creds):
    devices = mock.admin.state()['iotcomms']['domains'][creds.IOTCOMMS_DOMAIN]['devices']
    return {device['deviceId']: device for device in devices}


def test_create_three_then_second_run_sends_no_write(mock, creds, run, mock_args):
    result = run(iotcomms_device, mock_args('iotcomms', devices=three()))
    assert result['changed'] is True and result['summary'] == dict(total=3, changed=3, ok=0, failed=0, waiting=0)
    assert [r['action'] for r in result['outcomes']] == ['create'] * 3
    devices = stored(mock, creds)
    assert devices['4670001']['macAddress'] == '00:1A:2B:3C:4D:01' and devices['4670001']['authType'] == 'credentials'
    assert devices['4670002']['authorized'] == {'domain': 'p.example'}
    assert devices['4670003'] == {'deviceId': '4670003', 'authType': 'disabled', 'deviceType': 'alarmUnit', 'deviceCLI': '',
                                  'macAddress': '', 'description': 'Garage'}
    assert mock.admin.counters()['endpoints'][PUT_KEY] == 3 and mock.admin.counters()['endpoints'][LIST_KEY] == 1
    assert 'sip-secret-0001' not in json.dumps(result)

    mock.admin.reset_counters()
    again = run(iotcomms_device, mock_args('iotcomms', devices=three()))
    assert again['changed'] is False and again['summary']['ok'] == 3
    assert [r['action'] for r in again['outcomes']] == ['none'] * 3
    assert mock.admin.writes() == 0 and mock.admin.counters()['by_category']['read'] == 1


def test_one_field_change_is_one_patch_with_exactly_one_operation(mock, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    changed = three()
    changed[1]['description'] = 'Lift, building 7'
    mock.admin.reset_counters()
    result = run(iotcomms_device, mock_args('iotcomms', devices=changed), diff=True)
    assert result['summary'] == dict(total=3, changed=1, ok=2, failed=0, waiting=0)
    assert result['outcomes'][1]['patch'] == [{'op': 'replace', 'path': '/description', 'value': 'Lift, building 7'}]
    before = {'deviceId': '4670002', 'authType': 'deviceid', 'description': 'Lift', 'authorized': {'domain': 'p.example'}}
    assert result['diff'] == {'before': {'4670002': before}, 'after': {'4670002': dict(before, description='Lift, building 7')}}
    assert mock.admin.counters()['endpoints'] == {LIST_KEY: 1, PATCH_KEY: 1}
    # what the mock received: one PATCH request holding exactly one RFC 6902 operation
    sent = mock.admin.state()['iotcomms']['writes']
    assert len(sent) == 4 and sent[-1]['method'] == 'PATCH'
    assert sent[-1]['path'].endswith('/4670002')
    assert sent[-1]['body'] == [{'op': 'replace', 'path': '/description', 'value': 'Lift, building 7'}]


def test_nested_settings_patch_and_removal(mock, creds, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    item = dict(device_id='4670002', settings={'authorized': {'domain': 'q.example', 'realm': 'r1'}, 'note': None})
    result = run(iotcomms_device, mock_args('iotcomms', devices=[item]))
    assert result['outcomes'][0]['patch'] == [{'op': 'replace', 'path': '/authorized/domain', 'value': 'q.example'},
                                              {'op': 'add', 'path': '/authorized/realm', 'value': 'r1'}]
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='4670002', settings={'authorized': None})]))
    assert result['outcomes'][0]['patch'] == [{'op': 'remove', 'path': '/authorized'}]
    assert 'authorized' not in stored(mock, creds)['4670002']
    assert run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='4670002', settings={'authorized': None})]))['changed'] is False


def test_check_mode_sends_no_write_and_predicts_exactly(mock, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    changed = three()
    changed[0]['description'] = 'Entrance B'
    changed[2]['state'] = 'absent'
    changed.append(dict(device_id='4670004', description='New'))
    mock.admin.reset_counters()
    result = run(iotcomms_device, mock_args('iotcomms', devices=changed), check_mode=True, diff=True)
    assert [r['action'] for r in result['outcomes']] == ['update', 'none', 'delete', 'create']
    assert result['summary'] == dict(total=4, changed=3, ok=1, failed=0, waiting=0)
    assert mock.admin.writes() == 0
    assert result['diff']['after']['4670004']['description'] == 'New'
    assert result['diff']['after']['4670003'] == {} and result['diff']['before']['4670003']['description'] == 'Garage'
    # the real run does exactly what check mode predicted
    real = run(iotcomms_device, mock_args('iotcomms', devices=changed))
    assert [r['action'] for r in real['outcomes']] == ['update', 'none', 'delete', 'create']
    assert mock.admin.counters()['endpoints'][PATCH_KEY] == 1 and mock.admin.counters()['endpoints'][DELETE_KEY] == 1
    assert mock.admin.counters()['endpoints'][PUT_KEY] == 1
    assert 'diff' not in real


def test_delete_and_absent_of_a_missing_device(mock, creds, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    mock.admin.reset_counters()
    result = run(iotcomms_device, mock_args('iotcomms', state='absent',
                                            devices=[dict(device_id='4670001'), dict(device_id='4670009'), dict(device_id='4670003')]))
    assert [r['action'] for r in result['outcomes']] == ['delete', 'none', 'delete']
    assert sorted(stored(mock, creds)) == ['4670002']
    assert mock.admin.counters()['endpoints'] == {LIST_KEY: 1, DELETE_KEY: 2}
    assert run(iotcomms_device, mock_args('iotcomms', state='absent', devices=[dict(device_id='4670001')]))['changed'] is False


def test_update_password_on_create_and_always(mock, run, mock_args):
    devices = [dict(device_id='4670001', auth_type='credentials', password='sip-secret-0001')]
    run(iotcomms_device, mock_args('iotcomms', devices=devices))
    devices[0]['password'] = 'sip-secret-CHANGED'
    mock.admin.reset_counters()
    assert run(iotcomms_device, mock_args('iotcomms', devices=devices))['changed'] is False
    assert mock.admin.writes() == 0
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices, update_password='always'))
    assert result['changed'] is True
    assert result['outcomes'][0]['patch'] == [{'op': 'add', 'path': '/password', 'value': '********'}]
    sent = mock.admin.state()['iotcomms']['writes'][-1]
    assert sent['method'] == 'PATCH' and sent['body'] == [{'op': 'add', 'path': '/password', 'value': '********'}]
    assert 'sip-secret-CHANGED' not in json.dumps(result)


def test_switching_to_credentials_sends_the_password(mock, creds, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1', auth_type='disabled')]))
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1', auth_type='credentials', password='sip-secret-0001')]))
    assert result['outcomes'][0]['patch'] == [{'op': 'replace', 'path': '/authType', 'value': 'credentials'},
                                              {'op': 'add', 'path': '/password', 'value': '********'}]
    assert stored(mock, creds)['d1']['authType'] == 'credentials'


def test_partial_failure_reports_every_device_and_a_rerun_converges(mock, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    changed = three()
    for item in changed:
        item['description'] += ' (v2)'
    mock.admin.add_fault(vendor='iotcomms', method='PATCH', path='/4670002$', kind='status', status=500, message='backend exploded')
    result = run(iotcomms_device, mock_args('iotcomms', devices=changed))
    assert result['failed'] is True and result['summary'] == dict(total=3, changed=2, ok=0, failed=1, waiting=0)
    assert '1 of 3 devices failed' in result['msg'] and '4670002' in result['msg']
    failed = result['outcomes'][1]
    assert failed['failed'] and 'HTTP 500' in failed['msg'] and 'backend exploded' in failed['msg']
    assert failed['error']['status'] == 500 and failed['error']['method'] == 'PATCH'
    rerun = run(iotcomms_device, mock_args('iotcomms', devices=changed))
    assert rerun['summary'] == dict(total=3, changed=1, ok=2, failed=0, waiting=0)


def test_unknown_outcome_of_a_create_is_re_read_not_resent(mock, run, mock_args):
    mock.admin.add_fault(vendor='iotcomms', method='PUT', path=r'^/provisioning/device/[^/]+$', kind='drop_after')
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1', description='x')]))
    assert result['changed'] is True and not result.get('failed')
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints[PUT_KEY] == 1  # the dropped answer was checked with a GET, never sent twice
    assert endpoints['iotcomms GET /provisioning/device/{domain}/{device_id}'] == 1


def test_bulk_create_then_converged(mock, creds, run, mock_args):
    devices = [dict(device_id='bulk-%04d' % n, auth_type='credentials', password='sip-pass-%04d' % n, description='unit %d' % n,
                    settings={'authorized': {'domain': 'p.example'}}) for n in range(250)]
    devices.append(dict(device_id='typed', settings={'priority': 3}))  # not text: created with its own PUT
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=100))
    assert result['summary'] == dict(total=251, changed=251, ok=0, failed=0, waiting=0)
    assert result['bulk']['state'] == 'completed' and result['bulk']['created'] == 250
    assert result['outcomes'][0]['bulk_id'] == result['bulk']['bulkId']
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints[BULK_PUT_KEY] == 1 and endpoints[PUT_KEY] == 1 and endpoints[BULK_GET_KEY] >= 1
    assert stored(mock, creds)['bulk-0249']['authorized'] == {'domain': 'p.example'}
    assert stored(mock, creds)['typed']['priority'] == 3
    bulk_csv = [w for w in mock.admin.state()['iotcomms']['writes'] if w['content_type'] == 'text/csv'][0]['body']
    assert bulk_csv.splitlines()[0] == 'deviceId,authType,description,authorized.domain,password'
    assert 'sip-pass-0001' not in json.dumps(result)
    mock.admin.reset_counters()
    again = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=100))
    assert again['changed'] is False and mock.admin.writes() == 0


def test_bulk_failures_are_reported_per_device_and_the_rest_is_worked(mock, run, mock_args):
    devices = [dict(device_id='b%d' % n, description='x') for n in range(5)]
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': 'old', 'description': 'old'}]})
    devices.append(dict(device_id='old', description='new'))
    mock.admin.add_fault(vendor='iotcomms', method='PUT', path='/bulk/', kind='status', status=400, message='CSV rejected')
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=5))
    assert result['failed'] and result['summary'] == dict(total=6, changed=1, ok=0, failed=5, waiting=0)
    assert 'CSV rejected' in result['outcomes'][0]['msg'] and result['outcomes'][5]['action'] == 'update'
    rerun = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=5))
    assert rerun['summary'] == dict(total=6, changed=5, ok=1, failed=0, waiting=0)


def test_bulk_timeout_then_rerun_creates_nothing_twice(mock, run, mock_args):
    devices = [dict(device_id='t%d' % n) for n in range(3)]
    # the job needs 50 ms on the mock; the module gives up after its first status read
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=3, bulk_timeout=0.01))
    assert result['failed'] and 'is still running after 0.01 seconds (bulk_timeout)' in result['outcomes'][0]['msg']
    assert result['summary']['failed'] == 3
    mock.admin.advance_clock(1)  # the job's time on the mock clock has come (no wall-clock wait)
    rerun = run(iotcomms_device, mock_args('iotcomms', devices=devices, bulk_threshold=3))
    assert rerun['changed'] is False and rerun['summary']['ok'] == 3


def test_500_devices_in_one_task_and_a_second_run_without_writes(mock, creds, run, mock_args):
    devices = [dict(device_id='46%08d' % n, auth_type='deviceid', device_type='alarmUnit', device_cli='+4670%07d' % n,
                    mac_address='02:00:00:%02X:%02X:%02X' % (n >> 16, (n >> 8) & 255, n & 255), description='unit %d' % n)
               for n in range(500)]
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices, concurrency=16))
    assert result['summary'] == dict(total=500, changed=500, ok=0, failed=0, waiting=0)
    assert len(stored(mock, creds)) == 500
    mock.admin.reset_counters()
    again = run(iotcomms_device, mock_args('iotcomms', devices=devices, concurrency=16))
    assert again['changed'] is False and again['summary']['ok'] == 500
    assert mock.admin.counters()['by_category'] == {'auth': 0, 'read': 1, 'write': 0}


# JWT refusals ------------------------------------------------------------------------------------

def test_wrong_key_is_refused_and_the_module_says_so(mock, creds, run, mock_args):
    result = run(iotcomms_device, mock_args('iotcomms', private_key_path=creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH,
                                            devices=[dict(device_id='d1')]))
    assert result['failed'] and 'HTTP 401' in result['msg']
    assert 'JWT rejected: signature does not verify with the public key of domain' in result['msg']
    assert 'not the one whose public key was uploaded' in result['msg']
    assert mock.admin.writes() == 0


def test_token_older_than_an_hour_is_refused_and_the_module_says_so(mock, run, mock_args):
    mock.admin.advance_clock(3700)  # the controller clock is 62 minutes behind iotcomms.io
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1')]))
    assert result['failed'] and 'JWT rejected: iat is older than one hour' in result['msg']
    assert 'controller clock is behind' in result['msg']
    assert mock.admin.writes() == 0


def test_exp_more_than_90_minutes_after_iat(mock, run, monkeypatch, mock_args):
    # The module refuses to sign such a token before any request ...
    result = run(iotcomms_device, mock_args('iotcomms', jwt_lifetime=5401, devices=[dict(device_id='d1')]))
    assert result['failed'] and 'jwt_lifetime' in result['msg'] and '90 minutes' in result['msg']
    assert mock.admin.counters()['total'] == 0
    # ... and if it did sign one, the mock's refusal would reach the user with the rule.
    monkeypatch.setattr(_auth_iotcomms_jwt, 'MAX_LIFETIME', 7200)
    result = run(iotcomms_device, mock_args('iotcomms', jwt_lifetime=5401, devices=[dict(device_id='d1')]))
    assert result['failed'] and 'JWT rejected: exp is more than 90 minutes after iat' in result['msg']
    assert mock.admin.writes() == 0


# bad input ---------------------------------------------------------------------------------------

BAD_INPUTS = [
    (dict(devices=[dict(device_id='d1', mac_address='00:11:22:33:44')]), 'devices[0] (d1): mac_address'),
    (dict(devices=[dict(device_id='d1', mac_address='00:11-22:33:44:55')]), 'six hex pairs'),
    (dict(devices=[dict(device_id='d1', auth_type='radius')]), 'auth_type'),
    (dict(devices=[dict(device_id='d1', auth_type='credentials')]), 'password is required with auth_type=credentials'),
    (dict(devices=[dict(device_id='d1', auth_type='credentials', password='short')]), 'password must be 8 to 128'),
    (dict(devices=[dict(device_id='has space')]), "device_id 'has space' is not a valid iotcomms.io device id"),
    (dict(devices=[dict(device_id='d1', device_cli='call-me')]), 'device_cli'),
    (dict(devices=[dict(device_id='d1', device_type='alarm unit')]), 'device_type'),
    (dict(devices=[dict(device_id='d1', description='x' * 256)]), 'at most 255'),
    (dict(devices=[dict(device_id='d1', settings={'authType': 'deviceid'})]), 'settings.authType'),
    (dict(devices=[dict(device_id='d1', settings={'bad-name': 1})]), 'settings.bad-name'),
    (dict(devices=[dict(device_id='d1'), dict(device_id='d1')]), 'each resource may appear once'),
    (dict(domain=None, devices=[dict(device_id='d1')]), 'domain is required (IOTCOMMS_DOMAIN)'),
    (dict(private_key_path='/nonexistent/key.pem', devices=[dict(device_id='d1')]), 'private_key_path: cannot read the key file'),
    (dict(private_key_path=None, private_key='not a key', devices=[dict(device_id='d1')]), 'private_key: not a PEM private key'),
    (dict(private_key_path=None, devices=[dict(device_id='d1')]), 'an RS256 signing key is required'),
    (dict(concurrency=0, devices=[dict(device_id='d1')]), 'concurrency must be from 1 to 64'),
    (dict(bulk_threshold=-1, devices=[dict(device_id='d1')]), 'bulk_threshold'),
    (dict(api_url='ftp://example.invalid', devices=[dict(device_id='d1')]), 'api_url must be an http:// or https:// URL'),
]


@pytest.mark.parametrize('extra, words', BAD_INPUTS, ids=[words for _extra, words in BAD_INPUTS])
def test_bad_input_fails_before_any_request(mock, run, extra, words, monkeypatch, mock_args):
    for name in ('IOTCOMMS_DOMAIN', 'IOTCOMMS_PRIVATE_KEY_PATH', 'IOTCOMMS_PRIVATE_KEY'):
        monkeypatch.delenv(name, raising=False)
    result = run(iotcomms_device, mock_args('iotcomms', **extra))
    assert result['failed'] and words in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0


def test_every_bad_item_is_listed_at_once(mock, run, mock_args):
    devices = [dict(device_id='ok'), dict(device_id='m1', mac_address='zz'), dict(device_id='c1', device_cli='x')]
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices))
    assert 'nothing was changed' in result['msg']
    assert 'devices[1] (m1): mac_address' in result['msg'] and 'devices[2] (c1): device_cli' in result['msg']
    assert mock.admin.counters()['total'] == 0


def test_bad_key_file_content(mock, run, tmp_path, mock_args):
    key_file = tmp_path / 'key.pem'
    key_file.write_text('-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n')
    result = run(iotcomms_device, mock_args('iotcomms', private_key_path=str(key_file), devices=[dict(device_id='d1')]))
    assert result['failed'] and 'private_key_path: the PEM private key could not be parsed' in result['msg']
    assert mock.admin.counters()['total'] == 0


def test_vendor_refusal_names_method_path_status_and_message(mock, creds, run, mock_args):
    mock.admin.add_fault(vendor='iotcomms', method='PUT', kind='status', status=400, message='deviceType unknown to this region')
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1')]))
    msg = result['outcomes'][0]['msg']
    # the mock serves iotcomms under /iotcomms, so the path carries that prefix here
    assert msg == ('iotcomms PUT /iotcomms/provisioning/device/%s failed: HTTP 400: deviceType unknown to this region'
                   % creds.IOTCOMMS_DOMAIN)


# info --------------------------------------------------------------------------------------------

def test_info_all_one_and_missing(mock, run, mock_args):
    run(iotcomms_device, mock_args('iotcomms', devices=three()))
    mock.admin.reset_counters()
    every = run(iotcomms_device_info, mock_args('iotcomms'))
    assert every['changed'] is False and every['count'] == 3
    assert sorted(d['deviceId'] for d in every['devices']) == ['4670001', '4670002', '4670003']
    assert all('password' not in d for d in every['devices'])
    one = run(iotcomms_device_info, mock_args('iotcomms', device_id='4670002'), check_mode=True)
    assert one['devices'][0]['authorized'] == {'domain': 'p.example'} and one['count'] == 1
    assert run(iotcomms_device_info, mock_args('iotcomms', device_id='nope'))['devices'] == []
    assert mock.admin.writes() == 0


def test_info_env_fallback(mock, creds, run, monkeypatch):
    monkeypatch.setenv('IOTCOMMS_API_URL', mock.url + '/iotcomms')
    monkeypatch.setenv('IOTCOMMS_DOMAIN', creds.IOTCOMMS_DOMAIN)
    monkeypatch.setenv('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_PRIVATE_KEY_PATH)
    assert run(iotcomms_device_info, {})['count'] == 0


def test_a_refusal_in_words_the_mock_does_not_use_still_gets_a_hint(mock, run, mock_args):
    mock.admin.add_fault(vendor='iotcomms', method='GET', kind='status', status=401, message='Unauthorized', count=2)
    result = run(iotcomms_device, mock_args('iotcomms', devices=[dict(device_id='d1')]))
    assert result['failed'] and 'HTTP 401: Unauthorized (iotcomms.io refused the JWT the module signed' in result['msg']
    assert mock.admin.writes() == 0


def test_null_settings_on_a_new_device_are_left_out_and_stay_converged(mock, creds, run, mock_args):
    devices = [dict(device_id='d1', settings={'authorized': {'domain': 'p.example', 'realm': None}, 'legacy': None})]
    result = run(iotcomms_device, mock_args('iotcomms', devices=devices))
    assert result['changed'] and stored(mock, creds)['d1']['authorized'] == {'domain': 'p.example'}
    assert 'legacy' not in stored(mock, creds)['d1']
    mock.admin.reset_counters()
    assert run(iotcomms_device, mock_args('iotcomms', devices=devices))['changed'] is False and mock.admin.writes() == 0
