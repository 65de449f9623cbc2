"""iotcomms.io: every JWT rule of seed 004 on its own, device list/get and OPTIONS."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from iotops_mock import credentials

from .helpers import auth_header, iotcomms_token, load_private_key

DOMAIN = credentials.IOTCOMMS_DOMAIN
LIST = '/iotcomms/provisioning/device/' + DOMAIN


def _get(mock, http, token, path=LIST):
    return http.get(mock.url + path, headers=auth_header(token) if token is not None else {})


def test_valid_token_lists_devices(mock, http):
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': '4670001', 'password': 'hidden'}]})
    response = _get(mock, http, iotcomms_token())
    assert response.status_code == 200
    body = response.json()
    assert body['success'] is True
    assert [device['deviceId'] for device in body['devices']] == ['4670001']
    assert 'password' not in body['devices'][0]


def test_token_without_exp_and_encrypted_key(mock, http):
    assert _get(mock, http, iotcomms_token(exp=None)).status_code == 200
    key = load_private_key(credentials.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH, credentials.IOTCOMMS_KEY_PASSPHRASE.encode())
    now = int(time.time())
    token = jwt.encode({'sub': DOMAIN, 'iat': now}, key, algorithm='RS256')
    assert _get(mock, http, token).status_code == 200


def _rule_cases():
    now = int(time.time())
    es_key = ec.generate_private_key(ec.SECP256R1())
    return {
        'missing header': (None, 401, 'Bearer'),
        'not a JWT': ('not-a-jwt', 401, 'not a JWT'),
        'alg HS256': (jwt.encode({'sub': DOMAIN, 'iat': now}, 'secret-for-hs256-test-only-32-bytes!', algorithm='HS256'), 401, 'RS256'),
        'alg ES256': (jwt.encode({'sub': DOMAIN, 'iat': now}, es_key, algorithm='ES256'), 401, 'RS256'),
        'sub missing': (iotcomms_token(sub=None), 401, 'sub claim missing'),
        'sub unknown': (iotcomms_token(sub='other.mock-eu-1.iotcomms.io'), 401, 'not a provisioned domain'),
        'wrong key': (iotcomms_token(key_path=credentials.IOTCOMMS_WRONG_PRIVATE_KEY_PATH), 401, 'signature'),
        'iat missing': (iotcomms_token(iat=None, exp=None), 401, 'iat claim missing'),
        'iat too old': (iotcomms_token(now=now - 3601, exp=None), 401, 'older than one hour'),
        'iat in future': (iotcomms_token(now=now + 120, exp=None), 401, '60 seconds in the future'),
        'exp too far': (iotcomms_token(exp=now + 90 * 60 + 1, iat=now), 401, '90 minutes'),
        'exp past': (iotcomms_token(iat=now - 120, exp=now - 10), 401, 'exp is in the past'),
    }


@pytest.mark.parametrize('case', list(_rule_cases()))
def test_each_jwt_rule(mock, http, case):
    token, status, words = _rule_cases()[case]
    response = _get(mock, http, token)
    assert response.status_code == status, case
    body = response.json()
    assert body['success'] is False
    assert body['message'].startswith('JWT rejected: ')
    assert words in body['message'], body['message']


def test_sub_must_match_path_domain(mock, http):
    mock.admin.seed('iotcomms', 'domains', {'domain': 'second.mock-eu-1.iotcomms.io'})
    # A valid token of one domain used on another domain's path: authenticated but forbidden.
    token = iotcomms_token(sub='second.mock-eu-1.iotcomms.io')
    response = _get(mock, http, token)
    assert response.status_code == 403
    assert 'does not match the domain of the path' in response.json()['message']
    assert _get(mock, http, token, '/iotcomms/provisioning/device/second.mock-eu-1.iotcomms.io').status_code == 200


def test_iat_age_follows_mock_clock(mock, http):
    token = iotcomms_token(exp=None)
    assert _get(mock, http, token).status_code == 200
    mock.admin.advance_clock(3601)
    response = _get(mock, http, token)
    assert response.status_code == 401 and 'older than one hour' in response.json()['message']


def test_get_device_and_404(mock, http):
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': 'door-1', 'description': 'front door'}]})
    response = _get(mock, http, iotcomms_token(), LIST + '/door-1')
    assert response.status_code == 200
    assert response.json()['success'] is True
    assert response.json()['device']['description'] == 'front door'
    missing = _get(mock, http, iotcomms_token(), LIST + '/nope')
    assert missing.status_code == 404 and missing.json()['success'] is False


def test_options(mock, http):
    for path in (LIST, LIST + '/door-1'):
        response = http.options(mock.url + path)
        assert response.status_code == 200
        assert response.json() == {}
        assert 'GET' in response.headers['Allow'] and 'OPTIONS' in response.headers['Allow']
