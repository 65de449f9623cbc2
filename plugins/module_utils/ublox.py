# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox Security Services client: URLs, payload conventions, pagination and error bodies.

Every call is a POST with a JSON body under ``/v1``; calls whose path ends in ``/get`` only read.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url
from ansible_collections.iotops.provisioning.plugins.module_utils._pagination import ublox_pages

VENDOR = 'ublox'
DEFAULT_API_URL = 'https://ssapi.services.u-blox.com/v1'
PAGE_SIZE = 100

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['UBLOX_API_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_API_KEY'])),
    api_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_API_SECRET'])),
    auth_token=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_AUTH_TOKEN'])),
)


def parse_error(body):
    """u-blox error bodies are ``{"message": ...}`` (some samples spell it ``Message``)."""
    if isinstance(body, dict):
        return body.get('code') or body.get('Code'), body.get('message') or body.get('Message')
    return None, body if isinstance(body, str) else None


class UbloxClient:
    """Calls of the u-blox API for the modules; one instance per module run."""

    def __init__(self, http, auth):
        self.http = http
        self.auth = auth

    def call(self, path, body=None, verify_write=None, expect=(200,)):
        """POST ``body`` to ``path``; a path ending in ``/get`` is a read and may be retried freely."""
        read_only = path.rstrip('/').endswith('/get')
        return self.http.request('POST', path, json_body=body or {}, expect=expect, read_only=read_only,
                                 verify_write=verify_write).body

    def list_all(self, path, list_key, body=None, concurrency=4):
        """Every record of a paginated ``.../get`` call."""
        def fetch(page):
            request = dict(body or {})
            request['PageNumber'] = page
            return self.call(path, request)
        return ublox_pages(fetch, list_key, concurrency=concurrency)


def ublox_client(module, register_runtime_secrets=True, concurrency=1):
    """Validate the u-blox options of ``module`` and return a client; no request is sent yet."""
    params = module.params
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = UbloxTokenAuth(api_key=params.get('api_key'), api_secret=params.get('api_secret'), auth_token=params.get('auth_token'))
    auth.validate()
    redactor = new_redactor(module, register_runtime_secrets)
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, redactor, concurrency)
    return UbloxClient(http, auth)
