# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms.io client: the Provisioning API of one tenant domain.

Paths carry the ``/provisioning`` prefix and the domain: ``/provisioning/device/{domain}``.
Answers are wrapped as ``{"success": true, ...}``; errors as ``{"success": false, "message": ...}``.

Devices: create with ``PUT /provisioning/device/{domain}`` (deviceId in the body), read the list
once, change with one RFC 6902 JSON Patch per device, delete, and create many with a bulk CSV job.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_iotcomms_jwt import MAX_LIFETIME, IotcommsJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import (
    credential_env_fallback, credentials_from_environment, http_client, new_redactor, validate_connection, validate_url)
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until

VENDOR = 'iotcomms'
DEFAULT_API_URL = 'https://api.prod-eu-north-1.iotcomms.io'


KEY_OPTIONS = ('private_key_path', 'private_key', 'private_key_passphrase')

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['IOTCOMMS_API_URL'])),
    domain=dict(type='str', fallback=(env_fallback, ['IOTCOMMS_DOMAIN'])),
    private_key_path=dict(type='path', fallback=(credential_env_fallback, ['IOTCOMMS_PRIVATE_KEY_PATH'])),
    private_key=dict(type='str', no_log=True, fallback=(credential_env_fallback, ['IOTCOMMS_PRIVATE_KEY'])),
    private_key_passphrase=dict(type='str', no_log=True, fallback=(credential_env_fallback, ['IOTCOMMS_PRIVATE_KEY_PASSPHRASE'])),
    jwt_lifetime=dict(type='int', default=MAX_LIFETIME),
)


def parse_error(body):
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            return error.get('code'), error.get('message')
        return body.get('code'), body.get('message') or (error if isinstance(error, str) else None)
    return None, body if isinstance(body, str) else None


# Why a JWT was refused (the mock's and the seed's rules) -> what the user can do about it.
JWT_HINTS = (
    ('signature', 'the signing key (private_key_path or private_key) is not the one whose public key was uploaded for this domain '
                  'in the iotcomms.io web UI (CONFIGURATIONS / API ACCESS)'),
    ('older than one hour', 'the controller clock is behind: iat is the time of the controller, and iotcomms.io refuses a token '
                            'issued more than one hour ago'),
    ('in the future', 'the controller clock is ahead of the iotcomms.io clock'),
    ('90 minutes', 'jwt_lifetime must be at most 5400 seconds: iotcomms.io refuses an exp more than 90 minutes after iat'),
    ('exp is in the past', 'the controller clock is behind, or jwt_lifetime is too short'),
    ('not a provisioned domain', 'domain (IOTCOMMS_DOMAIN) names no tenant domain of this iotcomms.io region (api_url)'),
    ('does not match the domain', 'domain is the sub claim of the JWT and must be the domain of the path'),
)

BULK_POLL_FIRST = 0.1
BULK_POLL_MAX = 2.0
BULK_DONE_STATES = ('completed', 'completedWithErrors', 'failed')


JWT_GENERIC_HINT = ('iotcomms.io refused the JWT the module signed: check that the public key of private_key_path was uploaded for '
                    'this domain, that domain is the tenant domain, and that the controller clock is right')


def jwt_hint(status, message):
    """What to do about a refused request (401/403) whose vendor message is ``message``; None for other errors."""
    if status not in (401, 403):
        return None
    for words, hint in JWT_HINTS:
        if message and words in message:
            return hint
    return JWT_GENERIC_HINT if status == 401 else None


class IotcommsClient:
    """Calls of the Provisioning API, with the domain filled into the paths."""

    def __init__(self, http, domain):
        self.http = http
        self.domain = domain

    def path(self, resource, *parts):
        """``/provisioning/<resource>/<domain>[/<part>...]`` with each part URL-quoted."""
        return '/'.join(['/provisioning', resource, quote(self.domain, safe='')] + [quote(str(p), safe='') for p in parts])

    def request(self, method, path, **kwargs):
        """A request; a refused JWT gets the rule the vendor named plus what to do about it."""
        try:
            return self.http.request(method, path, **kwargs)
        except ApiError as exc:
            hint = jwt_hint(exc.status, exc.vendor_message)
            if hint:
                exc.msg = '%s (%s)' % (exc.msg, hint)
                exc.args = (exc.msg,)
            raise

    # devices -------------------------------------------------------------------------------------

    def list_devices(self):
        """Every device of the domain, as the API returns them (the list is one answer: no paging is documented)."""
        body = self.request('GET', self.path('device')).body
        devices = body.get('devices') if isinstance(body, dict) else body
        if not isinstance(devices, list):
            raise IotopsError('iotcomms GET %s: the answer holds no device list' % self.path('device'))
        return devices

    def devices_by_id(self):
        """The domain's devices by their id (one list call); entries without an id are left out."""
        return dict((str(device['deviceId']), device) for device in self.list_devices()
                    if isinstance(device, dict) and device.get('deviceId') is not None)

    def get_device(self, device_id):
        """One device, or None if the domain has no such device."""
        try:
            body = self.request('GET', self.path('device', device_id)).body
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return body.get('device', body) if isinstance(body, dict) else None

    def create_device(self, device):
        """``PUT /provisioning/device/{domain}`` with the deviceId in the body; re-read if the outcome is unknown."""
        device_id = device['deviceId']
        body = self.request('PUT', self.path('device'), json_body=device, expect=(200, 201),
                            verify_write=lambda: self.get_device(device_id)).body
        return body.get('device') if isinstance(body, dict) else None

    def patch_device(self, device_id, ops, verify):
        """One RFC 6902 JSON Patch; ``verify(device)`` tells whether a re-read device already holds the change."""
        def verify_write():
            found = self.get_device(device_id)
            return found if found is not None and verify(found) else None
        body = self.request('PATCH', self.path('device', device_id), json_body=ops, verify_write=verify_write).body
        return body.get('device') if isinstance(body, dict) else None

    def delete_device(self, device_id):
        """Delete; a re-read that finds no device means an unknown outcome was a success."""
        def verify_write():
            return {} if self.get_device(device_id) is None else None
        self.request('DELETE', self.path('device', device_id), expect=(200, 202, 204), verify_write=verify_write)

    # bulk CSV --------------------------------------------------------------------------------------

    def bulk_upload(self, bulk_id, csv_text):
        """``PUT /provisioning/device/{domain}/bulk/{bulkId}`` with a text/csv body; answered at once."""
        def verify_write():
            return self.bulk_status(bulk_id)
        self.request('PUT', self.path('device', 'bulk', bulk_id), data=csv_text.encode('utf-8'),
                     headers={'Content-Type': 'text/csv; charset=utf-8'}, verify_write=verify_write)

    def bulk_status(self, bulk_id):
        """The status object of a bulk job, or None if there is no such job."""
        try:
            body = self.request('GET', self.path('device', 'bulk', bulk_id)).body
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return body.get('status') if isinstance(body, dict) else None

    def bulk_create(self, bulk_id, devices, timeout):
        """Create ``devices`` (device bodies) with one bulk CSV job and wait for it; its final status."""
        self.bulk_upload(bulk_id, devices_csv(devices))
        return self.wait_bulk(bulk_id, timeout)

    def wait_bulk(self, bulk_id, timeout, sleep=time.sleep, clock=time.monotonic):
        """Poll a bulk job until it is done; raise IotopsError after ``timeout`` seconds."""
        last = {}

        def finished():
            last['status'] = self.bulk_status(bulk_id) or {}
            return last['status'].get('state') in BULK_DONE_STATES

        if not poll_until(finished, timeout, BULK_POLL_MAX, first=BULK_POLL_FIRST, sleep=sleep, clock=clock):
            raise IotopsError('iotcomms bulk job %s is still %s after %s seconds (bulk_timeout); it goes on in iotcomms.io. '
                              'Re-run the task later: it reads the devices first and creates only what is missing'
                              % (bulk_id, last['status'].get('state') or 'unknown', timeout))
        return last['status']


def new_bulk_id():
    """A bulkId of our own: the job is created with a PUT to its id, so a retried upload cannot start a second job."""
    return 'iotops-' + uuid.uuid4().hex[:24]


def bulk_row_errors(bulk_id, status):
    """{deviceId: message} of the rows a finished bulk job refused (the first error of each device)."""
    errors = {}
    for error in status.get('errors') or []:
        errors.setdefault(error.get('deviceId'), 'bulk job %s row %s: %s' % (bulk_id, error.get('row'), error.get('message')))
    return errors


def devices_csv(devices):
    """CSV text of device bodies: one column per property, dotted names for nested ones (api §B.4)."""
    rows = [flatten(device) for device in devices]
    columns = ['deviceId']
    for row in rows:
        for name in row:
            if name not in columns:
                columns.append(name)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator='\r\n', restval='')
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def flatten(device, prefix=''):
    """``{"authorized": {"domain": "x"}}`` -> ``{"authorized.domain": "x"}``."""
    flat = {}
    for key, value in device.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + '.'))
        else:
            flat[prefix + key] = value
    return flat


def signing_key_from_environment(module):
    """The key options from their environment variables, as a whole and only when the task gives no key: the passphrase comes
    with the key, so a task's own key is never opened with the environment's passphrase."""
    taken = credentials_from_environment(module, ARGSPEC, KEY_OPTIONS)
    if 'IOTCOMMS_PRIVATE_KEY_PATH' in taken and 'IOTCOMMS_PRIVATE_KEY' in taken:
        raise ConfigError('IOTCOMMS_PRIVATE_KEY_PATH and IOTCOMMS_PRIVATE_KEY are both set in the environment: set one of them, '
                          'or give private_key_path or private_key in the task (a key given in the task wins over the environment)')


def iotcomms_client(module, concurrency=1):
    """Validate the iotcomms options of ``module`` (key included) and return a client; no request is sent yet."""
    params = module.params
    signing_key_from_environment(module)
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = IotcommsJwtAuth(params.get('domain'), private_key_path=params.get('private_key_path'), private_key=params.get('private_key'),
                           passphrase=params.get('private_key_passphrase'), lifetime=params['jwt_lifetime'])
    auth.validate()
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, new_redactor(module), concurrency)
    return IotcommsClient(http, params['domain'])
