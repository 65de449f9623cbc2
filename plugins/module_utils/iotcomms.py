# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms.io client: the Provisioning API of one tenant domain.

Paths carry the ``/provisioning`` prefix and the domain: ``/provisioning/device/{domain}``.
Answers are wrapped as ``{"success": true, ...}``; errors as ``{"success": false, "message": ...}``.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_iotcomms_jwt import MAX_LIFETIME, IotcommsJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url

VENDOR = 'iotcomms'
DEFAULT_API_URL = 'https://api.prod-eu-north-1.iotcomms.io'

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['IOTCOMMS_API_URL'])),
    domain=dict(type='str', fallback=(env_fallback, ['IOTCOMMS_DOMAIN'])),
    private_key_path=dict(type='path', fallback=(env_fallback, ['IOTCOMMS_PRIVATE_KEY_PATH'])),
    private_key=dict(type='str', no_log=True, fallback=(env_fallback, ['IOTCOMMS_PRIVATE_KEY'])),
    private_key_passphrase=dict(type='str', no_log=True, fallback=(env_fallback, ['IOTCOMMS_PRIVATE_KEY_PASSPHRASE'])),
    jwt_lifetime=dict(type='int', default=MAX_LIFETIME),
)


def parse_error(body):
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            return error.get('code'), error.get('message')
        return body.get('code'), body.get('message') or (error if isinstance(error, str) else None)
    return None, body if isinstance(body, str) else None


class IotcommsClient:
    """Calls of the Provisioning API, with the domain filled into the paths."""

    def __init__(self, http, domain):
        self.http = http
        self.domain = domain

    def path(self, resource, *parts):
        """``/provisioning/<resource>/<domain>[/<part>...]`` with each part URL-quoted."""
        return '/'.join(['/provisioning', resource, quote(self.domain, safe='')] + [quote(str(p), safe='') for p in parts])

    def request(self, method, path, **kwargs):
        return self.http.request(method, path, **kwargs)


def iotcomms_client(module, concurrency=1):
    """Validate the iotcomms options of ``module`` (key included) and return a client; no request is sent yet."""
    params = module.params
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = IotcommsJwtAuth(params.get('domain'), private_key_path=params.get('private_key_path'), private_key=params.get('private_key'),
                           passphrase=params.get('private_key_passphrase'), lifetime=params['jwt_lifetime'])
    auth.validate()
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, new_redactor(module), concurrency)
    return IotcommsClient(http, params['domain'])
