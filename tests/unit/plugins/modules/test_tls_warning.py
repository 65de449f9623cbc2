# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS at the module level, one read-only module per vendor against the mock's HTTPS listener.

The mock's certificate comes from its private CA, so a module succeeds only with that CA
(``ca_path`` or its fallback ``IOTOPS_CA_PATH``), or with ``validate_certs: false``, which
must put a warning into the task result.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import (
    iotcomms_device_info, naocloud_site_info, nrfcloud_device_info, ublox_token,
)

# (module, base path of its vendor API on the mock, vendor options, endpoint counted for its first request)
VENDORS = {
    'nrfcloud': (nrfcloud_device_info, '/nrfcloud/v1', lambda creds: dict(api_key=creds.NRFCLOUD_TEAM_A_API_KEY)),
    'ublox': (ublox_token, '/ublox/v1', lambda creds: dict(api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)),
    'iotcomms': (iotcomms_device_info, '/iotcomms',
                 lambda creds: dict(domain=creds.IOTCOMMS_DOMAIN, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH)),
    'naocloud': (naocloud_site_info, '/naocloud/api/v2', lambda creds: dict(api_key=creds.NAOCLOUD_API_KEY)),
}

WARNING_TEXT = 'validate_certs=false'


def module_args(mock, creds, vendor, **extra):
    module, path, options = VENDORS[vendor]
    args = dict(api_url=mock.https_url + path, retries=0)
    args.update(options(creds))
    args.update(extra)
    return module, args


@pytest.fixture(autouse=True)
def fresh_warnings():
    """Each module run in this process must start with no warnings (Ansible keeps them process-wide)."""
    from ansible.module_utils.common import warnings  # pylint: disable=import-outside-toplevel
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    yield
    warnings._global_warnings.clear()  # pylint: disable=protected-access


def message(warning):
    """The text of a warning: a string, or (ansible-core 2.19+) a summary with an event."""
    return warning['event']['msg'] if isinstance(warning, dict) else warning


def tls_warnings(result):
    return [message(w) for w in result.get('warnings', []) if WARNING_TEXT in message(w)]


@pytest.mark.parametrize('vendor', sorted(VENDORS))
def test_validate_certs_false_works_and_warns(mock, creds, run, vendor):
    module, args = module_args(mock, creds, vendor, validate_certs=False)
    result = run(module, args)
    assert not result.get('failed'), result
    found = tls_warnings(result)
    assert len(found) == 1, result.get('warnings')
    assert 'intercepted' in found[0]
    # the requests really went to the mock over HTTPS
    assert mock.admin.counters()['total'] > 0


@pytest.mark.parametrize('vendor', sorted(VENDORS))
def test_the_private_ca_through_ca_path_needs_no_warning(mock, creds, run, vendor):
    module, args = module_args(mock, creds, vendor, ca_path=mock.ca_cert)
    result = run(module, args)
    assert not result.get('failed'), result
    assert not tls_warnings(result)
    assert mock.admin.counters()['total'] > 0


def test_the_environment_fallbacks_reach_the_tls_options(mock, creds, run, monkeypatch):
    """IOTOPS_CA_PATH and IOTOPS_VALIDATE_CERTS: how AWX or an execution environment sets them."""
    module, args = module_args(mock, creds, 'ublox')
    monkeypatch.setenv('IOTOPS_CA_PATH', mock.ca_cert)
    result = run(module, args)
    assert not result.get('failed') and not tls_warnings(result), result
    monkeypatch.delenv('IOTOPS_CA_PATH')
    monkeypatch.setenv('IOTOPS_VALIDATE_CERTS', 'false')
    result = run(module, args)
    assert not result.get('failed') and len(tls_warnings(result)) == 1, result


@pytest.mark.parametrize('vendor', sorted(VENDORS))
def test_an_untrusted_certificate_fails_clearly_before_any_request(mock, creds, run, monkeypatch, vendor):
    monkeypatch.delenv('IOTOPS_CA_PATH', raising=False)
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    module, args = module_args(mock, creds, vendor)
    result = run(module, args)
    assert result.get('failed'), result
    assert 'TLS' in result['msg'] and 'ca_path' in result['msg'], result['msg']
    assert not tls_warnings(result)
    # the handshake failed, so the mock never saw a request; and no secret is in the message
    assert mock.admin.counters()['total'] == 0
    secrets = [value for name, value in VENDORS[vendor][2](creds).items() if name in ('api_key', 'api_secret')]
    assert not any(secret in json.dumps(result) for secret in secrets)
