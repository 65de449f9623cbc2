# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud client: the device/account API and the Provisioning Service, one API key for both.

Error bodies are ``{"code": <5-digit nRF code>, "message": ...}``; lists page with ``pageLimit``
and ``pageNextToken``.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url
from ansible_collections.iotops.provisioning.plugins.module_utils._pagination import nrfcloud_pages

VENDOR = 'nrfcloud'
DEFAULT_API_URL = 'https://api.nrfcloud.com/v1'
DEFAULT_PROVISIONING_API_URL = 'https://api.provisioning.nrfcloud.com/v1'

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['NRFCLOUD_API_URL'])),
    provisioning_api_url=dict(type='str', default=DEFAULT_PROVISIONING_API_URL, fallback=(env_fallback, ['NRFCLOUD_PROVISIONING_API_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['NRFCLOUD_API_KEY'])),
)


def parse_error(body):
    """``{"code", "message"}``; some answers are a bare list of strings, some are empty."""
    if isinstance(body, dict):
        return body.get('code'), body.get('message')
    if isinstance(body, list):
        return None, '; '.join(str(item) for item in body)
    return None, body if isinstance(body, str) else None


class NrfCloudClient:
    """Calls of both nRF Cloud hosts; ``service`` selects the host ("devices" or "provisioning")."""

    def __init__(self, http, provisioning_url):
        self.http = http
        self.provisioning_url = provisioning_url.rstrip('/')

    def request(self, method, path, service='devices', **kwargs):
        base_url = self.provisioning_url if service == 'provisioning' else None
        return self.http.request(method, path, base_url=base_url, **kwargs)

    def list_all(self, path, service='devices', params=None, page_limit=100):
        """Every item of a paginated GET list."""
        def fetch(paging):
            query = dict(params or {})
            query.update(paging)
            return self.request('GET', path, service=service, params=query).body
        return nrfcloud_pages(fetch, page_limit=page_limit)


def nrfcloud_client(module, concurrency=1):
    """Validate the nRF Cloud options of ``module`` and return a client; no request is sent yet."""
    params = module.params
    validate_url(params['api_url'], 'api_url')
    validate_url(params['provisioning_api_url'], 'provisioning_api_url')
    validate_connection(params)
    auth = NrfCloudApiKeyAuth(params.get('api_key'))
    auth.validate()
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, new_redactor(module), concurrency)
    return NrfCloudClient(http, params['provisioning_api_url'])
