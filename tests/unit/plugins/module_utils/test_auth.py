# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every auth scheme against the mock server's implementation of the vendor's rules."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.iotops.provisioning.plugins.module_utils import iotcomms, naocloud, nrfcloud, ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_iotcomms_jwt import IotcommsJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_jwt import SelfSignedJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_api_key import NaoCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_oauth2 import NaoCloudOAuth2Auth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_session import NaoCloudSessionAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import P256_KEY, require_p256


def counters(mock):
    return mock.admin.counters()['endpoints']


# --- nRF Cloud -----------------------------------------------------------------------------------

def test_nrfcloud_api_key_per_team(mock, creds):
    for key, tenant in ((creds.NRFCLOUD_TEAM_A_API_KEY, creds.NRFCLOUD_TEAM_A_TENANT_ID),
                        (creds.NRFCLOUD_TEAM_B_API_KEY, creds.NRFCLOUD_TEAM_B_TENANT_ID)):
        client = HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(key), error_parser=nrfcloud.parse_error)
        assert client.request('GET', '/account').body['team']['tenantId'] == tenant
    wrong = HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth('f' * 40), error_parser=nrfcloud.parse_error)
    with pytest.raises(ApiError) as err:
        wrong.request('GET', '/account')
    assert err.value.status == 401
    assert counters(mock)['nrfcloud GET /v1/account'] == 3  # no retry of a refused key


def _device_key():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, pub


class DeviceJwtAuth(SelfSignedJwtAuth):
    """An nRF Cloud device JWT (ES256) on the one self-signed-JWT base. The collection ships no such scheme (it never holds
    a device's private key, which the modem generates and keeps); this proves the base signs what nRF Cloud verifies."""

    ALGORITHM = 'ES256'
    KEY_RULE = P256_KEY

    def check_key(self, key, option):
        require_p256(key, option)


def test_self_signed_jwt_es256_raw_signature_is_an_nrfcloud_device_jwt(mock, creds):
    pem, pub = _device_key()
    mock.admin.seed('nrfcloud', 'devices', {'team': 'a', 'devices': [{'id': 'dev-jwt-1', 'public_key': pub}]})
    auth = DeviceJwtAuth('dev-jwt-1', private_key=pem, lifetime=300)
    auth.validate()
    client = HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=auth, error_parser=nrfcloud.parse_error)
    token = auth.token()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={'verify_signature': False})
    assert header['alg'] == 'ES256' and claims['sub'] == 'dev-jwt-1' and claims['exp'] - claims['iat'] == 300
    signature = jwt.utils.base64url_decode(token.split('.')[2])
    assert len(signature) == 64  # raw r||s, not DER
    with pytest.raises(ApiError) as err:  # authenticated; the mock has no pending job for the device
        client.request('GET', '/fota-job-executions/current')
    assert err.value.status == 404
    other_pem, _pub = _device_key()  # a key the cloud does not know for this device
    other = HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=DeviceJwtAuth('dev-jwt-1', private_key=other_pem),
                       error_parser=nrfcloud.parse_error)
    with pytest.raises(ApiError) as err:
        other.request('GET', '/fota-job-executions/current')
    assert err.value.status == 401


def test_self_signed_jwt_es256_refuses_an_rsa_key(creds):
    with open(creds.IOTCOMMS_PRIVATE_KEY_PATH) as handle:
        rsa_pem = handle.read()
    with pytest.raises(ConfigError) as err:
        DeviceJwtAuth('dev-1', private_key=rsa_pem).validate()
    assert 'EC P-256' in str(err.value) and 'ES256' in str(err.value) and 'RSA' in str(err.value)


class FakeClient:
    """What an auth object needs of HttpClient: the redactor."""

    def __init__(self):
        self.redact = set()


def test_self_signed_jwt_one_renewal_rule(creds):
    clock = Clock()
    auth = IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH, clock=clock)
    assert auth.renew_after() == 50 * 60  # usable one hour (iotcomms.io refuses older tokens), renewed 10 minutes before
    first = auth.token(FakeClient())
    clock.offset += 49 * 60
    assert auth.token() == first
    clock.offset += 60
    assert auth.token() != first
    short = DeviceJwtAuth('dev-1', private_key=_device_key()[0], lifetime=300)
    assert short.renew_after() == 250  # a short token: renewed when a sixth of its life is left, not on every request
    assert IotcommsJwtAuth('d', lifetime=600).renew_after() == 500


def test_self_signed_jwt_one_401_rule(creds):
    client, clock = FakeClient(), Clock()
    auth = IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH, clock=clock)
    sent = {}
    auth.apply(client, sent)
    clock.offset += 1  # a new iat: a new token
    assert auth.on_unauthorized(client, sent) is True  # refused: minted again, and the request is retried once
    retried = {}
    auth.apply(client, retried)
    assert retried != sent and retried['Authorization'][len('Bearer '):] in client.redact
    clock.offset += 1
    assert auth.on_unauthorized(client, sent) is True  # a 401 for a token already replaced: retried with the current one
    again = {}
    auth.apply(client, again)
    assert again == retried


# --- u-blox --------------------------------------------------------------------------------------

class Clock:
    """A controllable clock shared by the auth object and the mock (advanced together)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


def ublox_client(mock, creds, clock=time.time, **kwargs):
    auth = UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET, clock=clock, **kwargs)
    return HttpClient('ublox', mock.url + '/ublox/v1', auth=auth, error_parser=ublox.parse_error)


def tag_get(client):
    return client.request('POST', '/tag/get', json_body={'PageNumber': 1}, read_only=True)


def test_ublox_logs_in_once_and_refreshes_before_expiry(mock, creds):
    clock = Clock()
    client = ublox_client(mock, creds, clock=clock)
    for _i in range(3):
        assert tag_get(client).status == 200
    assert counters(mock)['ublox POST /v1/authenticate'] == 1
    clock.offset += 3550  # within the renewal margin of the one-hour AuthToken
    mock.admin.advance_clock(3550)
    assert tag_get(client).status == 200
    endpoints = counters(mock)
    assert endpoints['ublox POST /v1/refreshauthtoken'] == 1
    assert endpoints['ublox POST /v1/authenticate'] == 1


def test_ublox_expired_token_is_refreshed_after_a_401(mock, creds):
    client = ublox_client(mock, creds)
    assert tag_get(client).status == 200
    mock.admin.expire_tokens(refresh_tokens=False)
    assert tag_get(client).status == 200
    endpoints = counters(mock)
    assert endpoints['ublox POST /v1/refreshauthtoken'] == 1
    assert endpoints['ublox POST /v1/authenticate'] == 1
    assert mock.admin.counters()['statuses']['ublox POST /v1/tag/get'] == {'200': 2, '401': 1}


def test_ublox_refresh_refused_falls_back_to_authenticate(mock, creds):
    client = ublox_client(mock, creds)
    assert tag_get(client).status == 200
    mock.admin.expire_tokens(refresh_tokens=True)
    assert tag_get(client).status == 200
    assert counters(mock)['ublox POST /v1/authenticate'] == 2


def test_ublox_given_token_without_credentials_cannot_renew(mock, creds):
    login = ublox_client(mock, creds)
    token, _refresh, _exp = login.auth.current(login)
    client = HttpClient('ublox', mock.url + '/ublox/v1', auth=UbloxTokenAuth(auth_token=token), error_parser=ublox.parse_error)
    assert tag_get(client).status == 200
    mock.admin.expire_tokens()
    with pytest.raises(ApiError) as err:
        tag_get(client)
    assert err.value.status == 401


def test_ublox_wrong_secret(mock, creds):
    client = HttpClient('ublox', mock.url + '/ublox/v1', auth=UbloxTokenAuth(creds.UBLOX_API_KEY, 'X' * 32), error_parser=ublox.parse_error)
    with pytest.raises(ApiError) as err:
        tag_get(client)
    assert err.value.status == 401 and err.value.path.endswith('/authenticate')


@pytest.mark.parametrize('kwargs, rule', [
    (dict(api_key='k'), 'api_secret is required'),
    (dict(api_secret='s'), 'api_key is required'),
    (dict(), 'credentials are missing'),
])
def test_ublox_config_errors(kwargs, rule):
    with pytest.raises(ConfigError) as err:
        UbloxTokenAuth(**kwargs).validate()
    assert rule in str(err.value)


# --- iotcomms ------------------------------------------------------------------------------------

def iotcomms_client(mock, creds, **kwargs):
    kwargs.setdefault('private_key_path', creds.IOTCOMMS_PRIVATE_KEY_PATH)
    auth = IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, **kwargs)
    auth.validate()
    return HttpClient('iotcomms', mock.url + '/iotcomms', auth=auth, error_parser=iotcomms.parse_error)


def list_devices(client, creds):
    return client.request('GET', '/provisioning/device/%s' % creds.IOTCOMMS_DOMAIN)


def test_iotcomms_jwt_accepted_and_minted_once(mock, creds):
    client = iotcomms_client(mock, creds)
    assert list_devices(client, creds).body['success'] is True
    token = client.auth._token  # pylint: disable=protected-access
    assert list_devices(client, creds).status == 200
    assert client.auth._token == token  # pylint: disable=protected-access
    claims = jwt.decode(token, options={'verify_signature': False})
    assert claims['sub'] == creds.IOTCOMMS_DOMAIN and claims['exp'] - claims['iat'] == 5400
    assert jwt.get_unverified_header(token)['alg'] == 'RS256'


def test_iotcomms_encrypted_key_from_content_with_passphrase(mock, creds):
    with open(creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH) as handle:
        content = handle.read()
    client = iotcomms_client(mock, creds, private_key_path=None, private_key=content, passphrase=creds.IOTCOMMS_KEY_PASSPHRASE)
    assert list_devices(client, creds).status == 200
    with pytest.raises(ConfigError) as err:
        IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, private_key=content).validate()
    assert 'encrypted' in str(err.value) and 'private_key_passphrase' in str(err.value)
    with pytest.raises(ConfigError) as err:
        IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, private_key=content, passphrase='wrong').validate()
    assert 'could not be decrypted' in str(err.value)


def _refusal(mock, creds, token):
    client = HttpClient('iotcomms', mock.url + '/iotcomms', error_parser=iotcomms.parse_error)
    with pytest.raises(ApiError) as err:
        client.request('GET', '/provisioning/device/%s' % creds.IOTCOMMS_DOMAIN, headers={'Authorization': 'Bearer ' + token},
                       authenticated=False)
    return err.value


def _sign(creds, claims, key_path=None):
    with open(key_path or creds.IOTCOMMS_PRIVATE_KEY_PATH, 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return jwt.encode(claims, key, algorithm='RS256')


def test_iotcomms_mock_refuses_exp_beyond_90_minutes(mock, creds):
    now = int(time.time())
    exc = _refusal(mock, creds, _sign(creds, {'sub': creds.IOTCOMMS_DOMAIN, 'iat': now, 'exp': now + 5401}))
    assert exc.status == 401 and '90 minutes' in exc.vendor_message


def test_iotcomms_mock_refuses_wrong_key(mock, creds):
    now = int(time.time())
    exc = _refusal(mock, creds, _sign(creds, {'sub': creds.IOTCOMMS_DOMAIN, 'iat': now, 'exp': now + 600},
                                      key_path=creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH))
    assert exc.status == 401 and 'signature' in exc.vendor_message


def test_iotcomms_mock_refuses_token_older_than_an_hour(mock, creds):
    now = int(time.time())
    exc = _refusal(mock, creds, _sign(creds, {'sub': creds.IOTCOMMS_DOMAIN, 'iat': now - 3700}))
    assert exc.status == 401 and 'older than one hour' in exc.vendor_message


def test_iotcomms_client_remints_before_the_one_hour_limit(mock, creds):
    clock = Clock()
    client = iotcomms_client(mock, creds, clock=clock)
    assert list_devices(client, creds).status == 200
    first = client.auth._token  # pylint: disable=protected-access
    clock.offset += 51 * 60
    mock.admin.advance_clock(51 * 60)
    assert list_devices(client, creds).status == 200
    assert client.auth._token != first  # pylint: disable=protected-access


def test_iotcomms_config_errors(creds, tmp_path):
    cases = [
        (dict(domain=None, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH), 'domain is required'),
        (dict(domain='d', private_key_path=None), 'signing key is required'),
        (dict(domain='d', private_key_path=str(tmp_path / 'missing.pem')), 'cannot read the key file'),
        (dict(domain='d', private_key='not a key'), 'not a PEM private key'),
        (dict(domain='d', private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH, lifetime=5401), '90 minutes'),
    ]
    pem, _pub = _device_key()
    cases.append((dict(domain='d', private_key=pem), 'RSA private key is required for RS256'))
    for kwargs, rule in cases:
        domain = kwargs.pop('domain')
        with pytest.raises(ConfigError) as err:
            IotcommsJwtAuth(domain, **kwargs).validate()
        assert rule in str(err.value), (kwargs, str(err.value))


# --- NAO Cloud -----------------------------------------------------------------------------------

def nao_client(mock, auth):
    return HttpClient('naocloud', mock.url + '/naocloud/api/v2', auth=auth, error_parser=naocloud.parse_error)


def test_naocloud_api_key_oauth2_and_session(mock, creds):
    for auth in (NaoCloudApiKeyAuth(creds.NAOCLOUD_API_KEY), NaoCloudOAuth2Auth(creds.NAOCLOUD_ACCESS_TOKEN),
                 NaoCloudSessionAuth(email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD),
                 NaoCloudSessionAuth(api_key=creds.NAOCLOUD_API_KEY)):
        auth.validate()
        client = nao_client(mock, auth)
        sites = client.request('GET', '/sites').body['data']
        assert {s['attributes']['name'] for s in sites} >= {s['name'] for s in creds.NAOCLOUD_SITES}
    assert counters(mock)['naocloud POST /api/v2/sessions'] == 2


def test_naocloud_session_renewed_after_expiry(mock, creds):
    auth = NaoCloudSessionAuth(email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD)
    client = nao_client(mock, auth)
    assert client.request('GET', '/sites').status == 200
    mock.admin.expire_tokens()
    assert client.request('GET', '/sites').status == 200
    assert auth.logins == 2


def test_naocloud_wrong_password_and_bad_oauth_token(mock, creds):
    with pytest.raises(ApiError) as err:
        nao_client(mock, NaoCloudSessionAuth(email=creds.NAOCLOUD_EMAIL, password='wrong-password')).request('GET', '/sites')
    assert err.value.status == 401 and err.value.path.endswith('/sessions')
    with pytest.raises(ApiError) as err:
        nao_client(mock, NaoCloudOAuth2Auth('0' * 64)).request('GET', '/sites')
    assert err.value.status == 401
