# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret given to an auth class reaches an exception message: provoked failures, then searched for."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import naocloud, nrfcloud, ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_iotcomms_jwt import IotcommsJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_api_key import NaoCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_oauth2 import NaoCloudOAuth2Auth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_session import NaoCloudSessionAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError, Redactor
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient

NRF_KEY = 'deadbeef' * 5
UBLOX_SECRET = 'LeakCanaryUbloxSecret00000000000'
NAO_KEY = 'leak-canary-nao-api-key'
NAO_PASSWORD = 'leak-canary-nao-password'
NAO_TOKEN = 'leakcanary' * 6


def _closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _client(vendor, base, auth, parser, secrets):
    redactor = Redactor()
    for value in secrets + auth.secrets():
        redactor.add(value)
    return HttpClient(vendor, base, auth=auth, error_parser=parser, redactor=redactor, retries=1, retry_max_wait=0.01)


def _cases(mock, creds):
    down = 'http://127.0.0.1:%d' % _closed_port()
    return [
        ('nrfcloud', '/nrfcloud/v1', lambda: NrfCloudApiKeyAuth(NRF_KEY), nrfcloud.parse_error, [NRF_KEY], ('GET', '/account')),
        ('ublox', '/ublox/v1', lambda: UbloxTokenAuth(creds.UBLOX_API_KEY, UBLOX_SECRET), ublox.parse_error, [UBLOX_SECRET],
         ('POST', '/tag/get')),
        ('naocloud', '/naocloud/api/v2', lambda: NaoCloudApiKeyAuth(NAO_KEY), naocloud.parse_error, [NAO_KEY], ('GET', '/sites')),
        ('naocloud', '/naocloud/api/v2', lambda: NaoCloudSessionAuth(email=creds.NAOCLOUD_EMAIL, password=NAO_PASSWORD),
         naocloud.parse_error, [NAO_PASSWORD], ('GET', '/sites')),
        ('naocloud', '/naocloud/api/v2', lambda: NaoCloudOAuth2Auth(NAO_TOKEN), naocloud.parse_error, [NAO_TOKEN], ('GET', '/sites')),
    ], down


def test_secrets_absent_from_refusals_and_transport_errors(mock, creds):
    cases, down = _cases(mock, creds)
    messages = []
    for vendor, prefix, make_auth, parser, secrets, (method, path) in cases:
        for base in (mock.url + prefix, mock.https_url + prefix, down + prefix):
            client = _client(vendor, base, make_auth(), parser, secrets)
            with pytest.raises(IotopsError) as err:
                client.request(method, path, json_body={} if method == 'POST' else None)
            text = str(err.value) + repr(err.value.details)
            messages.append(text)
            for secret in secrets:
                assert secret not in text, (vendor, base, text)
    assert len(messages) == 15


def test_secret_echoed_by_the_vendor_is_masked(mock, creds):
    """A vendor message that quotes the credential back (seen in some APIs) is still masked."""
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', kind='status', status=400,
                         message='bad key %s for this team' % NRF_KEY, count=1)
    client = _client('nrfcloud', mock.url + '/nrfcloud/v1', NrfCloudApiKeyAuth(NRF_KEY), nrfcloud.parse_error, [NRF_KEY])
    with pytest.raises(IotopsError) as err:
        client.request('GET', '/account')
    assert NRF_KEY not in str(err.value) and '********' in str(err.value)


def test_iotcomms_key_material_never_in_errors(mock, creds):
    with open(creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH) as handle:
        pem = handle.read()
    for kwargs in (dict(private_key=pem, passphrase='leak-canary-passphrase'), dict(private_key=pem)):
        with pytest.raises(IotopsError) as err:
            IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, **kwargs).validate()
        assert 'leak-canary-passphrase' not in str(err.value)
        assert pem.splitlines()[1] not in str(err.value)


def test_redactor_masks_generic_secret_shapes():
    redact = Redactor()
    text = redact('Authorization: Bearer abc.def-123 and eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln and -----BEGIN PRIVATE KEY-----\nMIIB\n')
    assert 'abc.def-123' not in text and 'eyJzdWIiOiJ4In0' not in text and 'MIIB' not in text
