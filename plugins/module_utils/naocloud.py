# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud client (API v2): JSON:API bodies, ``page[number]`` pagination, ``{"errors": [...]}`` errors.

Auth: an OAuth2 access token (Bearer) or a session JWT (raw) when ``access_token`` is given,
else a session opened with email/password, else the API key sent raw.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_api_key import NaoCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_oauth2 import NaoCloudOAuth2Auth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_session import NaoCloudSessionAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url
from ansible_collections.iotops.provisioning.plugins.module_utils._pagination import naocloud_pages

VENDOR = 'naocloud'
DEFAULT_API_URL = 'https://www.nao-cloud.com/api/v2'

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['NAOCLOUD_API_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['NAOCLOUD_API_KEY'])),
    email=dict(type='str', fallback=(env_fallback, ['NAOCLOUD_EMAIL'])),
    password=dict(type='str', no_log=True, fallback=(env_fallback, ['NAOCLOUD_PASSWORD'])),
    access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['NAOCLOUD_ACCESS_TOKEN'])),
    access_token_type=dict(type='str', default='oauth2', choices=['oauth2', 'session'],
                           fallback=(env_fallback, ['NAOCLOUD_ACCESS_TOKEN_TYPE'])),
)


def parse_error(body):
    """``{"errors": [{"status", "title", "detail"}]}``; several errors are joined."""
    if isinstance(body, dict) and isinstance(body.get('errors'), list):
        codes, texts = [], []
        for error in body['errors']:
            if isinstance(error, dict):
                codes.append(str(error.get('code') or error.get('status') or ''))
                texts.append(' - '.join(str(error[k]) for k in ('title', 'detail', 'source') if error.get(k)))
            else:
                texts.append(str(error))
        return ', '.join(c for c in codes if c) or None, '; '.join(t for t in texts if t) or None
    if isinstance(body, dict):
        return None, body.get('message') or body.get('error')
    return None, body if isinstance(body, str) else None


def select_auth(params, need_session=False):
    """The auth object for the options given; ``need_session`` (naocloud_token) always opens a session."""
    api_key, email, password = params.get('api_key'), params.get('email'), params.get('password')
    token, token_type = params.get('access_token'), params.get('access_token_type')
    if need_session:
        if not (api_key or email):
            raise ConfigError('naocloud_token opens a session with api_key (NAOCLOUD_API_KEY) or with email and password '
                              '(NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD); none was given')
        return NaoCloudSessionAuth(api_key=None if email else api_key, email=email, password=password)
    if token and token_type == 'oauth2':
        return NaoCloudOAuth2Auth(token)
    if token or email or password:
        return NaoCloudSessionAuth(api_key=api_key, email=email, password=password, session_token=token)
    return NaoCloudApiKeyAuth(api_key)


class NaoCloudClient:
    """Calls of the NAO Cloud API v2."""

    def __init__(self, http):
        self.http = http

    def request(self, method, path, **kwargs):
        return self.http.request(method, path, **kwargs)

    def list_all(self, path, params=None, page_size=100):
        """Every ``data`` item of a paginated JSON:API list."""
        def fetch(paging):
            query = dict(params or {})
            query.update(paging)
            return self.request('GET', path, params=query).body
        return naocloud_pages(fetch, page_size=page_size)


def naocloud_client(module, need_session=False, register_runtime_secrets=True, concurrency=1):
    """Validate the NAO Cloud options of ``module`` and return a client; no request is sent yet."""
    params = module.params
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = select_auth(params, need_session)
    if isinstance(auth, NaoCloudApiKeyAuth) and not params.get('api_key'):
        raise ConfigError('NAO Cloud credentials are missing: give api_key (NAOCLOUD_API_KEY), email and password '
                          '(NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD), or access_token (NAOCLOUD_ACCESS_TOKEN)')
    auth.validate()
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, new_redactor(module, register_runtime_secrets), concurrency)
    return NaoCloudClient(http)
