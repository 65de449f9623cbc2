"""Token makers and small helpers shared by the self-tests."""

import time

import jwt
from cryptography.hazmat.primitives import serialization

from mock_server import credentials


def load_private_key(path, password=None):
    with open(path, 'rb') as handle:
        return serialization.load_pem_private_key(handle.read(), password=password)


def iotcomms_token(claims=None, key_path=credentials.IOTCOMMS_PRIVATE_KEY_PATH, algorithm='RS256', now=None, **overrides):
    """A customer-signed iotcomms JWT; ``overrides`` replace or (with None) drop claims."""
    now = int(time.time() if now is None else now)
    payload = {'sub': credentials.IOTCOMMS_DOMAIN, 'iat': now, 'exp': now + 90 * 60} if claims is None else dict(claims)
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return jwt.encode(payload, load_private_key(key_path), algorithm=algorithm)


def auth_header(token):
    return {'Authorization': 'Bearer ' + token}


def nrf_key(team='a'):
    key = credentials.NRFCLOUD_TEAM_A_API_KEY if team == 'a' else credentials.NRFCLOUD_TEAM_B_API_KEY
    return auth_header(key)


def ublox_login(http, mock):
    response = http.post(mock.url + '/ublox/v1/authenticate',
                         json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    assert response.status_code == 200, response.text
    return response.json()


def nao_session(http, mock):
    response = http.post(mock.url + '/naocloud/api/v2/sessions', headers={'Authorization': credentials.NAOCLOUD_API_KEY})
    assert response.status_code == 201, response.text
    return response.json()
