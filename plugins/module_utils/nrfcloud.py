# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud client: the device/account API and the Provisioning Service, one API key for both.

Error bodies are ``{"code": <5-digit nRF code>, "message": ...}``; lists page with ``pageLimit``
and ``pageNextToken``.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import identity as command_identity
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url
from ansible_collections.iotops.provisioning.plugins.module_utils._pagination import nrfcloud_pages

VENDOR = 'nrfcloud'
DEFAULT_API_URL = 'https://api.nrfcloud.com/v1'
DEFAULT_PROVISIONING_API_URL = 'https://api.provisioning.nrfcloud.com/v1'
PAGE_LIMIT = 100  # items per page of the list calls (the most nRF Cloud gives)

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

    def list_all(self, path, service='devices', params=None, page_limit=PAGE_LIMIT):
        """Every item of a paginated GET list."""
        def fetch(paging):
            query = dict(params or {})
            query.update(paging)
            return self.request('GET', path, service=service, params=query).body
        return nrfcloud_pages(fetch, page_limit=page_limit)

    # Provisioning Service ---------------------------------------------------------------------

    def claimed_devices(self):
        """Every claimed device of the team, read once (all pages)."""
        return self.list_all('/claimed-devices', service='provisioning')

    def claimed_device(self, device_id):
        """One claimed device, or None when the team has not claimed it."""
        try:
            return self.request('GET', '/claimed-devices/%s' % quote(device_id, safe=''), service='provisioning').body
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def commands(self, device_id):
        """The provisioning command history of a device, oldest first."""
        return self.list_all('/claimed-devices/%s/provisioning' % quote(device_id, safe=''), service='provisioning')

    def claim(self, claim_token, tags, device_id):
        """Claim a device; after an unknown outcome the device is looked up instead of claiming twice."""
        body = {'claimToken': claim_token}
        if tags:
            body['tags'] = list(tags)
        return self.request('POST', '/claimed-devices', service='provisioning', json_body=body, expect=(200, 201),
                            verify_write=lambda: self.claimed_device(device_id)).body

    def unclaim(self, device_id):
        def gone():
            return {} if self.claimed_device(device_id) is None else None
        self.request('DELETE', '/claimed-devices/%s' % quote(device_id, safe=''), service='provisioning', expect=(200, 202, 204),
                     verify_write=gone)

    def add_command(self, device_id, request, description, known):
        """Append one command; ``known`` is how many identical commands the history held before."""
        path = '/claimed-devices/%s/provisioning' % quote(device_id, safe='')
        body = {'request': request}
        if description:
            body['description'] = description

        def appeared():
            key = command_identity(request, description)
            same = [c for c in self.commands(device_id) if command_identity(c.get('request') or {}, c.get('description')) == key]
            return same[-1] if len(same) > known else None
        return self.request('POST', path, service='provisioning', json_body=body, expect=(200, 201), verify_write=appeared).body


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


CLAIMED_STUCK_STATUSES = ('ERROR', 'BLOCKED')


class StatusReader:
    """Reads the statuses of claimed devices for one polling round: ``reader(ids) -> {device_id: status}``.

    A round reads the team's claimed-device list (every page), or each device on its own once they are fewer than the
    list's pages: whichever takes fewer requests, so that a small rest of a batch does not read a team of many
    thousands again and again. ``pages`` can be given from a list already read."""

    def __init__(self, client, concurrency=1, pages=None):
        self.client = client
        self.concurrency = concurrency
        self.pages = pages

    @staticmethod
    def pages_of(claimed):
        return max(1, -(-len(claimed) // PAGE_LIMIT))

    def __call__(self, device_ids):
        ids = sorted(device_ids)
        if not ids:
            return {}
        if self.pages is not None and len(ids) < self.pages:
            records = map_concurrently(self.client.claimed_device, ids, self.concurrency)
            return dict((device_id, (record or {}).get('status')) for device_id, record in zip(ids, records))
        claimed = self.client.claimed_devices()
        self.pages = self.pages_of(claimed)
        wanted = set(ids)
        return dict((d['id'], d.get('status')) for d in claimed if isinstance(d, dict) and d.get('id') in wanted)
