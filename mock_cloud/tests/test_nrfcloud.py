"""nRF Cloud: API-key auth per team, device JWTs, devices and claimed-devices pagination."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iotops_mock import credentials

from .helpers import auth_header, nrf_key

FOTA = '/nrfcloud/v1/fota-job-executions/current'


def test_account_per_team(mock, http):
    for team, tenant, name in (('a', credentials.NRFCLOUD_TEAM_A_TENANT_ID, credentials.NRFCLOUD_TEAM_A_NAME),
                               ('b', credentials.NRFCLOUD_TEAM_B_TENANT_ID, credentials.NRFCLOUD_TEAM_B_NAME)):
        response = http.get(mock.url + '/nrfcloud/v1/account', headers=nrf_key(team))
        assert response.status_code == 200
        body = response.json()
        assert body['team'] == {'tenantId': tenant, 'name': name}
        assert set(body) == {'mqttEndpoint', 'mqttTopicPrefix', 'team'}


@pytest.mark.parametrize('headers', [
    {},
    {'Authorization': 'Bearer ' + '0' * 40},
    {'Authorization': credentials.NRFCLOUD_TEAM_A_API_KEY},  # no Bearer scheme
    {'Authorization': 'Basic ' + credentials.NRFCLOUD_TEAM_A_API_KEY},
])
def test_api_key_refused(mock, http, headers):
    for path in ('/nrfcloud/v1/account', '/nrfcloud/v1/devices', '/nrfcloud-provisioning/v1/claimed-devices'):
        response = http.get(mock.url + path, headers=headers)
        assert response.status_code == 401
        assert response.json()['code'] == 40100


def test_devices_pagination_over_pages(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'team': 'a', 'count': 45})
    mock.admin.seed('nrfcloud', 'devices', {'team': 'b', 'devices': [{'id': 'only-in-b'}]})
    seen, token, pages = [], None, 0
    while True:
        params = {'pageLimit': 20}
        if token:
            params['pageNextToken'] = token
        body = http.get(mock.url + '/nrfcloud/v1/devices', params=params, headers=nrf_key('a')).json()
        pages += 1
        assert body['total'] == 45
        seen.extend(item['id'] for item in body['items'])
        token = body.get('pageNextToken')
        if not token:
            break
    assert pages == 3
    assert seen == sorted(seen) and len(set(seen)) == 45
    assert 'only-in-b' not in seen


def test_devices_default_limit_and_errors(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'count': 25})
    body = http.get(mock.url + '/nrfcloud/v1/devices', headers=nrf_key()).json()
    assert len(body['items']) == 20 and 'pageNextToken' in body
    body = http.get(mock.url + '/nrfcloud/v1/devices', params={'pageLimit': 100}, headers=nrf_key()).json()
    assert len(body['items']) == 25 and 'pageNextToken' not in body
    for params in ({'pageLimit': 0}, {'pageLimit': 101}, {'pageLimit': 'x'}, {'pageNextToken': 'not-a-token'}):
        response = http.get(mock.url + '/nrfcloud/v1/devices', params=params, headers=nrf_key())
        assert response.status_code == 400
        assert response.json()['code'] == 40000


def test_get_device(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'dev-1', 'name': 'line 1', 'tags': ['x']}]})
    response = http.get(mock.url + '/nrfcloud/v1/devices/dev-1', headers=nrf_key())
    assert response.status_code == 200
    assert response.json()['name'] == 'line 1' and response.json()['tags'] == ['x']
    assert http.get(mock.url + '/nrfcloud/v1/devices/dev-1', headers=nrf_key('b')).status_code == 404
    missing = http.get(mock.url + '/nrfcloud/v1/devices/nope', headers=nrf_key())
    assert missing.status_code == 404 and missing.json()['code'] // 100 == 404


def test_claimed_devices_pagination(mock, http):
    url = mock.url + '/nrfcloud-provisioning/v1/claimed-devices'
    assert http.get(url, headers=nrf_key()).json() == {'items': [], 'total': 0}
    mock.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'team': 'a', 'count': 7})
    first = http.get(url, params={'pageLimit': 5}, headers=nrf_key()).json()
    assert len(first['items']) == 5 and first['total'] == 7
    second = http.get(url, params={'pageLimit': 5, 'pageNextToken': first['pageNextToken']}, headers=nrf_key()).json()
    assert len(second['items']) == 2 and 'pageNextToken' not in second
    assert second['items'][0]['ownershipStatus'] == 'IDENTIFIED'


def _device_key(mock, device_id='jwt-device'):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': device_id, 'public_key': pem}]})
    return key


def test_fota_current_with_api_key(mock, http):
    response = http.get(mock.url + FOTA, headers=nrf_key())
    assert response.status_code == 404
    assert response.json() == {'code': 40410, 'message': 'No pending FOTA job execution'}


def test_fota_current_with_device_jwt(mock, http):
    key = _device_key(mock)
    now = int(time.time())
    token = jwt.encode({'sub': 'jwt-device', 'iat': now, 'exp': now + 600}, key, algorithm='ES256')
    response = http.get(mock.url + FOTA, headers=auth_header(token))
    assert response.status_code == 404 and response.json()['code'] == 40410
    # A device JWT is not an API key: user endpoints refuse it.
    assert http.get(mock.url + '/nrfcloud/v1/account', headers=auth_header(token)).status_code == 401


def test_device_jwt_refusals(mock, http):
    key = _device_key(mock)
    now = int(time.time())
    other = ec.generate_private_key(ec.SECP256R1())
    cases = {
        'ES256 only': jwt.encode({'sub': 'jwt-device', 'exp': now + 600}, 'secret-for-hs256-test-only-32-bytes!', algorithm='HS256'),
        'ES256 only (RS256)': jwt.encode({'sub': 'jwt-device', 'exp': now + 600},
                                         rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm='RS256'),
        'no sub': jwt.encode({'exp': now + 600}, key, algorithm='ES256'),
        'no exp': jwt.encode({'sub': 'jwt-device', 'iat': now}, key, algorithm='ES256'),
        'expired': jwt.encode({'sub': 'jwt-device', 'iat': now - 700, 'exp': now - 100}, key, algorithm='ES256'),
        'too long': jwt.encode({'sub': 'jwt-device', 'iat': now, 'exp': now + 7 * 86400 + 60}, key, algorithm='ES256'),
        'wrong key': jwt.encode({'sub': 'jwt-device', 'iat': now, 'exp': now + 600}, other, algorithm='ES256'),
        'unknown device': jwt.encode({'sub': 'nobody', 'iat': now, 'exp': now + 600}, key, algorithm='ES256'),
    }
    messages = {}
    for case, token in cases.items():
        response = http.get(mock.url + FOTA, headers=auth_header(token))
        assert response.status_code == 401, case
        messages[case] = response.json()['message']
    assert 'ES256' in messages['ES256 only'] and 'HS256' in messages['ES256 only']
    assert 'RS256' in messages['ES256 only (RS256)']
    assert '7 days' in messages['too long']
    assert 'expired' in messages['expired']
    assert 'exp' in messages['no exp']
    assert 'signature' in messages['wrong key']


def test_device_jwt_expires_with_mock_clock(mock, http):
    key = _device_key(mock)
    now = int(time.time())
    token = jwt.encode({'sub': 'jwt-device', 'iat': now, 'exp': now + 600}, key, algorithm='ES256')
    assert http.get(mock.url + FOTA, headers=auth_header(token)).status_code == 404
    mock.admin.advance_clock(601)
    assert http.get(mock.url + FOTA, headers=auth_header(token)).status_code == 401
