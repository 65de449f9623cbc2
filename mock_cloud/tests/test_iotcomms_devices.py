"""iotcomms.io devices: create (PUT, deviceId in the body), RFC 6902 PATCH, delete, bulk CSV jobs, OPTIONS, write log."""

import pytest

from iotops_mock import credentials

from .helpers import auth_header, iotcomms_token

DOMAIN = credentials.IOTCOMMS_DOMAIN
COLLECTION = '/iotcomms/provisioning/device/' + DOMAIN


@pytest.fixture
def api(mock, http):
    headers = auth_header(iotcomms_token())

    def call(method, path='', **kwargs):
        return http.request(method, mock.url + COLLECTION + path, headers=dict(headers, **kwargs.pop('headers', {})), **kwargs)
    return call


def writes(mock):
    return mock.admin.state()['iotcomms']['writes']


def test_create_get_list_delete(mock, api):
    created = api('PUT', json={'deviceId': '1234567890', 'authType': 'disabled', 'deviceType': 'alarmUnit',
                               'description': 'Optional description'})
    assert created.status_code == 200
    assert created.json() == {'success': True, 'device': {
        'deviceId': '1234567890', 'authType': 'disabled', 'deviceType': 'alarmUnit', 'deviceCLI': '', 'macAddress': '',
        'description': 'Optional description'}}
    assert api('GET', '/1234567890').json()['device']['description'] == 'Optional description'
    assert [d['deviceId'] for d in api('GET').json()['devices']] == ['1234567890']
    again = api('PUT', json={'deviceId': '1234567890'})
    assert again.status_code == 409 and 'already exists' in again.json()['message']
    deleted = api('DELETE', '/1234567890')
    assert deleted.status_code == 200 and deleted.json() == {'success': True}
    assert api('DELETE', '/1234567890').status_code == 404
    assert api('GET').json()['devices'] == []
    counters = mock.admin.counters()['endpoints']
    assert counters['iotcomms PUT /provisioning/device/{domain}'] == 2
    assert counters['iotcomms DELETE /provisioning/device/{domain}/{device_id}'] == 2


@pytest.mark.parametrize('body, words', [
    ({'authType': 'disabled'}, 'deviceId is required'),
    ({'deviceId': 'has space'}, 'deviceId must be'),
    ({'deviceId': 'd1', 'authType': 'radius'}, 'authType must be one of disabled, deviceid, credentials'),
    ({'deviceId': 'd1', 'authType': 'credentials'}, 'password is required when authType is credentials'),
    ({'deviceId': 'd1', 'authType': 'credentials', 'password': 'short'}, 'password must be a string of 8 to 128'),
    ({'deviceId': 'd1', 'macAddress': '00-11-22-33-44-55'}, 'macAddress must be empty or six hex pairs'),
    ({'deviceId': 'd1', 'deviceCLI': 'call me'}, 'deviceCLI must be empty or a phone number'),
    ({'deviceId': 'd1', 'deviceType': '1bad'}, 'deviceType must be'),
    ({'deviceId': 'd1', 'description': 'x' * 256}, 'at most 255'),
    ({'deviceId': 'd1', 'bad-name': 1}, 'property names'),
])
def test_create_rules(api, body, words):
    response = api('PUT', json=body)
    assert response.status_code == 400
    assert response.json()['success'] is False and words in response.json()['message'], response.json()


def test_create_needs_json_object(api):
    assert api('PUT', data='{nope', headers={'Content-Type': 'application/json'}).status_code == 400
    assert api('PUT', json=[{'deviceId': 'd1'}]).status_code == 400


def test_password_is_write_only_and_masked_in_the_write_log(mock, api):
    assert api('PUT', json={'deviceId': 'd1', 'authType': 'credentials', 'password': 'secret-sip-pass'}).status_code == 200
    assert 'password' not in api('GET', '/d1').json()['device']
    assert api('PATCH', '/d1', json=[{'op': 'replace', 'path': '/password', 'value': 'another-pass'}]).status_code == 200
    assert api('PATCH', '/d1', json=[{'op': 'test', 'path': '/password', 'value': 'another-pass'}]).status_code == 400
    assert api('PATCH', '/d1', json=[{'op': 'copy', 'from': '/password', 'path': '/description'}]).status_code == 400
    logged = writes(mock)
    assert logged[0]['body']['password'] == '********'
    assert logged[1]['body'] == [{'op': 'replace', 'path': '/password', 'value': '********'}]
    assert 'secret-sip-pass' not in str(mock.admin.state())


def test_patch_applies_rfc6902_exactly(mock, api):
    api('PUT', json={'deviceId': 'd1', 'description': 'old', 'authorized': {'domain': 'a.example', 'list': [1, 2]}})
    ops = [
        {'op': 'replace', 'path': '/description', 'value': 'new'},
        {'op': 'add', 'path': '/authorized/extra~1key', 'value': {'x': True}},
        {'op': 'remove', 'path': '/authorized/list/0'},
        {'op': 'copy', 'from': '/authorized/domain', 'path': '/mirror'},
        {'op': 'move', 'from': '/mirror', 'path': '/moved'},
        {'op': 'test', 'path': '/authorized/list', 'value': [2]},
    ]
    response = api('PATCH', '/d1', json=ops)
    assert response.status_code == 200, response.text
    device = response.json()['device']
    assert device['description'] == 'new' and device['moved'] == 'a.example' and 'mirror' not in device
    assert device['authorized'] == {'domain': 'a.example', 'list': [2], 'extra/key': {'x': True}}
    assert writes(mock)[-1]['body'] == ops


@pytest.mark.parametrize('ops, status, words', [
    ({'op': 'replace'}, 400, 'JSON array'),
    ([{'op': 'replace', 'path': '/nothere/x', 'value': 1}], 400, 'cannot be applied'),
    ([{'op': 'remove', 'path': '/missing'}], 400, 'cannot be applied'),
    ([{'op': 'frobnicate', 'path': '/description'}], 400, 'cannot be applied'),
    ([{'op': 'replace', 'path': '/deviceId', 'value': 'd2'}], 400, 'deviceId cannot be changed'),
    ([{'op': 'replace', 'path': '/authType', 'value': 'credentials'}], 400, 'password is required'),
    ([{'op': 'replace', 'path': '/macAddress', 'value': 'zz'}], 400, 'macAddress'),
    ([{'op': 'test', 'path': '/description', 'value': 'other'}], 409, 'test operation failed'),
])
def test_patch_errors_change_nothing(api, ops, status, words):
    api('PUT', json={'deviceId': 'd1', 'description': 'keep'})
    response = api('PATCH', '/d1', json=ops)
    assert response.status_code == status and words in response.json()['message'], response.json()
    assert api('GET', '/d1').json()['device']['description'] == 'keep'


def test_patch_unknown_device_is_404(api):
    assert api('PATCH', '/nope', json=[]).status_code == 404


def test_mac_address_is_stored_upper_case(api):
    api('PUT', json={'deviceId': 'd1', 'macAddress': 'aa:bb:cc:dd:ee:ff'})
    assert api('GET', '/d1').json()['device']['macAddress'] == 'AA:BB:CC:DD:EE:FF'


def test_bulk_csv_job(mock, api):
    api('PUT', json={'deviceId': 'd2', 'description': 'before'})
    csv_text = ('deviceId,authType,password,description,authorized.domain\r\n'
                'd1,credentials,sip-password-1,first,p.example\r\n'
                'd2,,,updated,\r\n'
                'bad id,,,,\r\n')
    response = api('PUT', '/bulk/job-1', data=csv_text.encode(), headers={'Content-Type': 'text/csv'})
    assert response.status_code == 200 and response.json() == {'success': True, 'bulkId': 'job-1'}
    status = api('GET', '/bulk/job-1').json()
    assert status['success'] is True and status['status']['state'] == 'running'
    mock.admin.advance_clock(1)
    status = api('GET', '/bulk/job-1').json()['status']
    assert status['state'] == 'completedWithErrors'
    assert (status['total'], status['created'], status['updated'], status['failed']) == (3, 1, 1, 1)
    assert status['errors'][0]['row'] == 3 and 'deviceId must be' in status['errors'][0]['message']
    d1 = api('GET', '/d1').json()['device']
    assert d1['authorized'] == {'domain': 'p.example'} and d1['authType'] == 'credentials'
    assert api('GET', '/d2').json()['device']['description'] == 'updated'
    assert 'sip-password-1' not in str(mock.admin.state())
    counters = mock.admin.counters()['by_category']
    assert counters['write'] == 2  # the device PUT and the bulk PUT


def test_bulk_errors(api):
    csv_body = b'deviceId\r\nd1\r\n'
    assert api('PUT', '/bulk/job-1', data=csv_body, headers={'Content-Type': 'application/json'}).status_code == 415
    assert api('PUT', '/bulk/job-1', data=b'description\r\nx\r\n', headers={'Content-Type': 'text/csv'}).status_code == 400
    assert api('PUT', '/bulk/job-1', data=b'deviceId\r\n', headers={'Content-Type': 'text/csv'}).status_code == 400
    assert api('PUT', '/bulk/job-1', data=csv_body, headers={'Content-Type': 'text/csv'}).status_code == 200
    assert api('PUT', '/bulk/job-1', data=csv_body, headers={'Content-Type': 'text/csv'}).status_code == 409
    assert api('GET', '/bulk/nope').status_code == 404
    big = b'deviceId\r\n' + b'x' * (10 * 1024 * 1024)
    assert api('PUT', '/bulk/job-2', data=big, headers={'Content-Type': 'text/csv'}).status_code == 413


def test_options_allow_and_no_jwt(mock, http):
    expected = {COLLECTION: 'OPTIONS, GET, PUT', COLLECTION + '/d1': 'OPTIONS, GET, PATCH, DELETE',
                COLLECTION + '/bulk/b1': 'OPTIONS, GET, PUT'}
    for path, allow in expected.items():
        response = http.options(mock.url + path)
        assert response.status_code == 200 and response.json() == {} and response.headers['Allow'] == allow


def test_writes_need_a_valid_jwt(mock, http):
    response = http.put(mock.url + COLLECTION, json={'deviceId': 'd1'},
                        headers=auth_header(iotcomms_token(key_path=credentials.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)))
    assert response.status_code == 401 and 'signature' in response.json()['message']
    assert mock.admin.state()['iotcomms']['domains'][DOMAIN]['devices'] == []


def test_seed_count(mock, api):
    mock.admin.seed('iotcomms', 'devices', {'count': 3, 'prefix': 'x-'})
    assert [d['deviceId'] for d in api('GET').json()['devices']] == ['x-00001', 'x-00002', 'x-00003']
