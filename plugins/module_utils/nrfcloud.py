# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud client: the device/account API and the Provisioning Service, one API key for both.

Every path, request body and paging rule of nRF Cloud lives here; modules call one method per operation.
Error bodies are ``{"code": <5-digit nRF code>, "message": ...}``; lists page with ``pageLimit``
and ``pageNextToken``.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import identity as command_identity
from ansible_collections.iotops.provisioning.plugins.module_utils._http import MAX_PAGES
from ansible_collections.iotops.provisioning.plugins.module_utils._module import http_client, new_redactor, validate_connection, validate_url

VENDOR = 'nrfcloud'
DEFAULT_API_URL = 'https://api.nrfcloud.com/v1'
DEFAULT_PROVISIONING_API_URL = 'https://api.provisioning.nrfcloud.com/v1'
PAGE_LIMIT = 100  # items per page of the list calls (the most nRF Cloud gives)
ROWS_PER_REQUEST = 1000  # rows of one bulk onboarding request (the most nRF Cloud takes)
BULK_DONE = ('SUCCEEDED', 'FAILED')
# answers of the claim dry run that say "not claimable" (anything else is an error of the call itself)
CLAIM_REFUSALS = (400, 403, 404, 409, 422)
ALREADY_CLAIMED_BY_TEAM = 40901  # the 409 code of a claim of a device this team holds already
ROW_ERROR = re.compile(r'^\[(\d+)\]:\s*(.*)$', re.S)
DEVICE_ID = re.compile(r'^[a-z0-9:_-]{1,128}$', re.I)  # nRF Cloud's device id rule

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['NRFCLOUD_API_URL'])),
    provisioning_api_url=dict(type='str', default=DEFAULT_PROVISIONING_API_URL, fallback=(env_fallback, ['NRFCLOUD_PROVISIONING_API_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['NRFCLOUD_API_KEY'])),
)


def validate_device_id(device_id):
    if not DEVICE_ID.fullmatch(device_id):
        raise ConfigError('device_id %r must be 1 to 128 letters, digits, ":", "_" or "-"' % device_id)


def nrfcloud_pages(fetch, page_limit=100):
    """nRF Cloud: ``pageLimit`` and the opaque ``pageNextToken``, absent on the last page."""
    items, token, seen = [], None, set()
    for _page in range(MAX_PAGES):
        params = {'pageLimit': page_limit}
        if token:
            params['pageNextToken'] = token
        body = fetch(params) or {}
        items.extend(body.get('items') or [])
        token = body.get('pageNextToken')
        if not token:
            return items
        if token in seen:
            raise IotopsError('nRF Cloud returned the same pageNextToken twice; stopping instead of looping')
        seen.add(token)
    raise IotopsError('nRF Cloud list did not end after %d pages' % MAX_PAGES)


def onboarding_csv(devices):
    """The onboarding CSV: deviceId,subType,tags,fwTypes,"certificate PEM" (tags and types pipe-separated)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    for device in devices:
        writer.writerow([device['device_id'], device['sub_type'] or '', '|'.join(device.get('tags') or []),
                         '|'.join(device['fw_types']), device['certificate'].strip() + '\n'])
    return out.getvalue()


def claim_csv(devices):
    """The bulk claim CSV: one row per device, ``"<claim token>"[,"<tag>,<tag>"]``, every field quoted (as Nordic's tools)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n', quoting=csv.QUOTE_ALL)
    for device in devices:
        tags = device.get('tags') or []
        writer.writerow([device['claim_token']] + ([','.join(tags)] if tags else []))
    return out.getvalue()


def row_errors(summary, rows):
    """{row index: message} from a bulk operation's error summary (``"[3]: message"`` entries); every row when the
    summary names none."""
    errors = {}
    for entry in summary.get('errors') or []:
        match = ROW_ERROR.match(str(entry))
        if match:
            errors[int(match.group(1))] = match.group(2)
    return errors or dict((i, '; '.join(str(e) for e in summary.get('errors') or []) or 'failed') for i in range(rows))


def device_version(device):
    """The version nRF Cloud gives a device record, for If-Match."""
    return (device.get('$meta') or {}).get('version')


def field_differs(field, value, current):
    """Whether the device's ``name`` or ``tags`` differ from ``value`` (tags in any order)."""
    if field == 'name':
        return value != current.get('name')
    return sorted(value) != sorted(current.get('tags') or [])


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

    # device management -------------------------------------------------------------------------

    def list_devices(self):
        """Every device of the team in device management (all pages)."""
        return self.list_all('/devices')

    def device(self, device_id):
        return self.request('GET', '/devices/%s' % device_id).body

    def onboard_devices(self, devices):
        """Start one bulk onboarding of at most ROWS_PER_REQUEST devices; returns the bulk operation's id."""
        body = self.request('POST', '/devices', data=onboarding_csv(devices).encode('utf-8'), headers={'Content-Type': 'text/csv'},
                            expect=(200, 202)).body
        return body['bulkOpsRequestId']

    def bulk_operation(self, request_id):
        """The bulk operation's record; its ``status`` is in BULK_DONE once it ended."""
        return self.request('GET', '/bulk-ops-requests/%s' % request_id).body

    def bulk_row_errors(self, operation, rows):
        """{row index: message} of a FAILED bulk operation of ``rows`` rows, from its error summary."""
        url = operation.get('errorSummaryUrl')
        if not url:
            return dict((i, 'the bulk operation failed without an error summary') for i in range(rows))
        # a pre-signed URL: it carries its own authorisation, and the API key must not be sent elsewhere
        return row_errors(self.request('GET', url, authenticated=False).body or {}, rows)

    def put_device_field(self, device_id, field, value, version=None):
        """Set a device's ``name`` or ``tags`` (If-Match with ``version`` when given); an unknown outcome is read back."""
        body = [value] if field == 'name' else value
        headers = {'If-Match': str(version)} if version is not None else None

        def applied():
            current = self.device(device_id)
            return None if field_differs(field, value, current) else current
        self.request('PUT', '/devices/%s/%s' % (device_id, field), json_body=body, headers=headers, expect=(200, 202, 204),
                     verify_write=applied)

    def update_device(self, device_id, changes, current):
        """PUT each changed field (``name``, ``tags``) with If-Match; after a 412 (someone else changed the device) read it
        again and retry once if it still differs."""
        fields = [f for f in ('name', 'tags') if f in changes]
        for position, field in enumerate(fields):
            try:
                self.put_device_field(device_id, field, changes[field], device_version(current))
            except ApiError as exc:
                if exc.status != 412:
                    raise
                current = self.device(device_id)
                if field_differs(field, changes[field], current):
                    self.put_device_field(device_id, field, changes[field], device_version(current))
            if position + 1 < len(fields):
                current = self.device(device_id)  # the version moved on

    def delete_device(self, device_id):
        def gone():
            try:
                self.device(device_id)
            except ApiError as exc:
                if exc.status == 404:
                    return {}
                raise
            return None
        self.request('DELETE', '/devices/%s' % device_id, expect=(200, 202, 204), verify_write=gone)

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
        """Claim a device: (its record, True). After an unknown outcome the device is looked up instead of claiming twice.

        (its record, False) when this team holds it already: another job on the same account claimed it since this run read
        the claimed list, and nRF Cloud answered 409 with code 40901. That is the goal reached, not a failure."""
        body = {'claimToken': claim_token}
        if tags:
            body['tags'] = list(tags)
        try:
            return self.request('POST', '/claimed-devices', service='provisioning', json_body=body, expect=(200, 201),
                                verify_write=lambda: self.claimed_device(device_id)).body, True
        except ApiError as exc:
            if not (exc.status == 409 and str(exc.code) == str(ALREADY_CLAIMED_BY_TEAM)):
                raise
        record = self.claimed_device(device_id)
        if record is None:
            raise IotopsError('nRF Cloud answered that this team has claimed device %s already, but it is not in the team\'s claimed '
                              'devices; run the task again' % device_id)
        return record, False

    def claim_dry_run(self, claim_token):
        """None when the device of ``claim_token`` can be claimed, else {status, code, message} of the refusal. The dry run
        (``?dryrun=true``) stores nothing, so it is sent as a read: safe to retry, not a write of the run."""
        try:
            self.request('POST', '/claimed-devices', service='provisioning', params={'dryrun': 'true'},
                         json_body={'claimToken': claim_token}, expect=(200, 202, 204), read_only=True)
        except ApiError as exc:
            if exc.status not in CLAIM_REFUSALS:
                raise
            return dict(status=exc.status, code=exc.code, message=exc.vendor_message)
        return None

    def bulk_claim(self, devices):
        """One CSV bulk claim of at most ROWS_PER_REQUEST devices (``claim_token``, ``tags``); the answer is
        ``{claimedIds, failed}`` (the current form) or ``{bulkOpsRequestId}`` (202, a bulk operation). Not verified or
        re-sent after an unknown outcome: the caller reads the claimed list instead."""
        return self.request('POST', '/claimed-devices', service='provisioning', data=claim_csv(devices).encode('utf-8'),
                            headers={'Content-Type': 'text/csv'}, expect=(200, 201, 202)).body or {}

    def unblock(self, device_id):
        """Unblock a BLOCKED device (the mock's model of the portal's Unblock; no published REST path)."""
        self.request('POST', '/claimed-devices/%s/unblock' % quote(device_id, safe=''), service='provisioning', expect=(200, 202, 204))

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

    A round reads the team's claimed-device list (every page, one after the other), or each device on its own, side by side,
    once they are at most twice the list's pages and fewer than its pages round trips: so that a small rest of a batch
    (the last devices of a factory batch, waiting for PROVISIONED) is read in a round trip or two, at most twice the
    requests of the list, not in a round trip per page of a team of many thousands. ``listed`` (how many devices the list
    held when it was last read) can be given from a list already read."""

    def __init__(self, client, concurrency=1, listed=None):
        self.client = client
        self.concurrency = concurrency
        self.listed = listed

    @property
    def pages(self):
        """The pages of the list as last read (None before any read)."""
        return None if self.listed is None else self.pages_for(self.listed)

    @staticmethod
    def pages_for(count):
        """The pages of a claimed list of ``count`` devices."""
        return max(1, -(-count // PAGE_LIMIT))

    def __call__(self, device_ids):
        ids = sorted(device_ids)
        if not ids:
            return {}
        if self.pages is not None and len(ids) <= 2 * self.pages and -(-len(ids) // self.concurrency) < self.pages:
            records = map_concurrently(self.client.claimed_device, ids, self.concurrency)
            return dict((device_id, (record or {}).get('status')) for device_id, record in zip(ids, records))
        claimed = self.client.claimed_devices()
        self.listed = len(claimed)
        wanted = set(ids)
        return dict((d['id'], d.get('status')) for d in claimed if isinstance(d, dict) and d.get('id') in wanted)
