"""iotcomms.io records and rules: the domain and its devices, device validation, bulk CSV jobs, and the masking of
passwords in the write log."""

import copy
import csv
import io
import json
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ...common import utc_iso

IAT_MAX_AGE = 3600        # "Tokens older than one hour will be rejected" (seed 004)
IAT_MAX_FUTURE = 60       # clock skew the mock tolerates for iat
EXP_MAX_AFTER_IAT = 5400  # "cannot exceed 90 minutes from the issuance time" (seed 004)

# What each path answers (the OPTIONS Allow header, seed 004).
COLLECTION_METHODS = ('OPTIONS', 'GET', 'PUT')
ITEM_METHODS = ('OPTIONS', 'GET', 'PATCH', 'DELETE')
BULK_METHODS = ('OPTIONS', 'GET', 'PUT')
WRITE_ONLY_FIELDS = ('password',)

# Device field rules of the mock (docs/mock-assumptions.md, iotcomms rows).
AUTH_TYPES = ('disabled', 'deviceid', 'credentials')
DEFAULTS = {'authType': 'disabled', 'deviceType': 'alarmUnit', 'deviceCLI': '', 'macAddress': '', 'description': ''}
DEVICE_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$')
DEVICE_TYPE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]{0,63}$')
DEVICE_CLI_RE = re.compile(r'^\+?[0-9]{2,20}$')
MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$')
PROPERTY_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,63}$')
BULK_ID_RE = re.compile(r'^[A-Za-z0-9._-]{1,64}$')
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DESCRIPTION_MAX = 255
BULK_MAX_BYTES = 10 * 1024 * 1024   # "a text/csv body < 10 MB" (api §B.4)
BULK_BASE_SECONDS = 0.05            # a bulk job takes this long on the mock clock ...
BULK_ROW_SECONDS = 0.0002           # ... plus this per row
WRITE_LOG_SIZE = 1000
MASK = '********'


def load_public_key(pem):
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError('the JWT public key must be an RSA key')
    return key


class Invalid(ValueError):
    """A device that breaks a field rule; the text names the field and the rule."""


def check_device(record):
    """Raise Invalid if a (complete) device record breaks a rule; normalise macAddress in place."""
    device_id = record.get('deviceId')
    if not isinstance(device_id, str) or not DEVICE_ID_RE.match(device_id):
        raise Invalid('deviceId must be 1 to 64 characters of letters, digits and . _ ~ + -, starting with a letter or digit; '
                      'got %s' % json.dumps(device_id))
    if record.get('authType') not in AUTH_TYPES:
        raise Invalid('authType must be one of %s; got %s' % (', '.join(AUTH_TYPES), json.dumps(record.get('authType'))))
    if not isinstance(record.get('deviceType'), str) or not DEVICE_TYPE_RE.match(record['deviceType']):
        raise Invalid('deviceType must be a name of letters and digits starting with a letter (e.g. alarmUnit); got %s'
                      % json.dumps(record.get('deviceType')))
    cli = record.get('deviceCLI')
    if not isinstance(cli, str) or (cli and not DEVICE_CLI_RE.match(cli)):
        raise Invalid('deviceCLI must be empty or a phone number of 2 to 20 digits with an optional leading +; got %s' % json.dumps(cli))
    mac = record.get('macAddress')
    if not isinstance(mac, str) or (mac and not MAC_RE.match(mac)):
        raise Invalid('macAddress must be empty or six hex pairs separated by colons (AA:BB:CC:DD:EE:FF); got %s' % json.dumps(mac))
    record['macAddress'] = mac.upper()
    description = record.get('description')
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise Invalid('description must be a string of at most %d characters' % DESCRIPTION_MAX)
    password = record.get('password')
    if password is not None and (not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX):
        raise Invalid('password must be a string of %d to %d characters' % (PASSWORD_MIN, PASSWORD_MAX))
    if record['authType'] == 'credentials' and not password:
        raise Invalid('password is required when authType is credentials')
    for name in record:
        if not PROPERTY_RE.match(name):
            raise Invalid('property names must be letters, digits and _ starting with a letter; got %s' % json.dumps(name))


class Domain:
    """A provisioned tenant domain: its uploaded JWT public key, its devices and its bulk jobs."""

    def __init__(self, name, public_key):
        self.name = name
        self.public_key = public_key
        self.devices = {}
        self.bulk_jobs = {}

    def put_device(self, device):
        """Create or replace a device without checks (seeding)."""
        record = dict(DEFAULTS)
        record.update(device)
        self.devices[record['deviceId']] = record
        return record

    def delete_device(self, device_id):
        return self.devices.pop(device_id, None)

    @staticmethod
    def public(record):
        return {key: value for key, value in record.items() if key not in WRITE_ONLY_FIELDS}

    def dump(self):
        return {'devices': [self.public(record) for record in self.devices.values()],
                'bulk_jobs': [job.status() for job in self.bulk_jobs.values()]}


def unflatten(row):
    """CSV columns to a device: empty cells are left out, dotted names become nested objects."""
    device = {}
    for name, value in row.items():
        if value in (None, ''):
            continue
        parts = name.split('.')
        target = device
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise Invalid('column %s conflicts with column %s' % (name, part))
            target = nested
        target[parts[-1]] = value
    return device


class BulkJob:
    """A bulk CSV job: accepted at once, applied when its time on the mock clock has come."""

    def __init__(self, bulk_id, rows, created, finish_at):
        self.bulk_id = bulk_id
        self.rows = rows
        self.created = created
        self.finish_at = finish_at
        self.finished = None
        self.result = {'created': 0, 'updated': 0, 'failed': 0, 'errors': []}

    def settle(self, domain, now):
        if self.finished is not None or now < self.finish_at:
            return
        for number, row in enumerate(self.rows, start=1):
            device_id = row.get('deviceId')
            try:
                device = unflatten(row)
                existing = domain.devices.get(device_id)
                record = copy.deepcopy(existing) if existing is not None else dict(DEFAULTS)
                record.update(device)
                check_device(record)
            except Invalid as exc:
                self.result['failed'] += 1
                self.result['errors'].append({'row': number, 'deviceId': device_id, 'message': str(exc)})
                continue
            domain.devices[record['deviceId']] = record
            self.result['updated' if existing is not None else 'created'] += 1
        self.finished = self.finish_at

    def status(self):
        done = self.finished is not None
        state = 'running' if not done else ('completed' if not self.result['failed'] else 'completedWithErrors')
        status = {'bulkId': self.bulk_id, 'state': state, 'total': len(self.rows),
                  'processed': len(self.rows) if done else 0, 'createdAt': utc_iso(self.created),
                  'finishedAt': utc_iso(self.finished) if done else None}
        status.update(self.result)
        return status


def mask_passwords(body):
    """A copy of a device body or JSON Patch with password values masked."""
    if isinstance(body, dict):
        masked = dict(body)
        if 'password' in masked:
            masked['password'] = MASK
        return masked
    if isinstance(body, list):
        return [dict(op, value=MASK) if isinstance(op, dict) and op.get('path') == '/password' and 'value' in op else op
                for op in body]
    return body


def mask_csv_passwords(text):
    """The CSV text with the cells of a password column masked."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or 'password' not in rows[0]:
        return text
    column = rows[0].index('password')
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(rows[0])
    for row in rows[1:]:
        if len(row) > column and row[column]:
            row[column] = MASK
        writer.writerow(row)
    return out.getvalue()
