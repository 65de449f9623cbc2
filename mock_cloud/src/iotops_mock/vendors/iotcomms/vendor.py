"""iotcomms.io provisioning API (/iotcomms/provisioning): customer-signed RS256 JWTs and SIP devices.

Devices of a tenant domain: create (``PUT /provisioning/device/{domain}``, deviceId in the body),
list, get, RFC 6902 PATCH (applied with the ``jsonpatch`` library, so exactly as the RFC says),
delete, bulk CSV jobs (``PUT|GET /provisioning/device/{domain}/bulk/{bulkId}``) and OPTIONS.
"""

import collections
import copy
import csv
import hmac
import io

import jsonpatch
import jsonpointer
import jwt
from starlette.routing import Route

from ... import credentials
from ...common import ApiError, BadRequest, bearer_token, decode_json_segment, is_number, json_response, read_json, read_json_object
from ..base import Vendor, seed_count, seed_list
from .model import (BULK_BASE_SECONDS, BULK_ID_RE, BULK_MAX_BYTES, BULK_METHODS, BULK_ROW_SECONDS, COLLECTION_METHODS, DEFAULTS,
                    EXP_MAX_AFTER_IAT, IAT_MAX_AGE, IAT_MAX_FUTURE, ITEM_METHODS, WRITE_LOG_SIZE, BulkJob, Domain, Invalid,
                    check_device, load_public_key, mask_csv_passwords, mask_passwords)

PREFIX = 'iotcomms'


class Iotcomms(Vendor):
    """Every request carries a self-signed JWT; each refusal names the rule it broke."""

    name = 'iotcomms'

    def __init__(self, state):
        super().__init__(state)
        with open(credentials.IOTCOMMS_PUBLIC_KEY_PATH, 'rb') as handle:
            self.default_key = load_public_key(handle.read())
        self.domains = {}
        self.writes = collections.deque(maxlen=WRITE_LOG_SIZE)
        self.mounts = {PREFIX: [
            Route('/provisioning/device/{domain}', self.list_devices, methods=['GET']),
            Route('/provisioning/device/{domain}', self.create_device, methods=['PUT']),
            Route('/provisioning/device/{domain}', self.options_collection, methods=['OPTIONS']),
            Route('/provisioning/device/{domain}/bulk/{bulk_id}', self.bulk_status, methods=['GET']),
            Route('/provisioning/device/{domain}/bulk/{bulk_id}', self.bulk_upload, methods=['PUT']),
            Route('/provisioning/device/{domain}/bulk/{bulk_id}', self.options_bulk, methods=['OPTIONS']),
            Route('/provisioning/device/{domain}/{device_id}', self.get_device, methods=['GET']),
            Route('/provisioning/device/{domain}/{device_id}', self.patch_device, methods=['PATCH']),
            Route('/provisioning/device/{domain}/{device_id}', self.delete_device, methods=['DELETE']),
            Route('/provisioning/device/{domain}/{device_id}', self.options_item, methods=['OPTIONS']),
        ]}
        self.reset()

    def reset(self):
        self.domains = {credentials.IOTCOMMS_DOMAIN: Domain(credentials.IOTCOMMS_DOMAIN, self.default_key)}
        self.writes.clear()

    def dump(self):
        now = self.clock.now()
        for domain in self.domains.values():
            self.settle(domain, now)
        return {'domains': {name: domain.dump() for name, domain in self.domains.items()}, 'writes': list(self.writes)}

    def error_response(self, status, message, prefix=None):
        return json_response({'success': False, 'message': message}, status)

    # auth ------------------------------------------------------------------------------------

    def reject(self, rule, status=401):
        return ApiError(json_response({'success': False, 'message': 'JWT rejected: ' + rule}, status))

    def authorize(self, request):
        """Check the JWT against the seed 004 rules and return the domain of the path (its due bulk jobs applied)."""
        token = bearer_token(request.headers.get('authorization'))
        if not token:
            raise self.reject('no Authorization: Bearer token')
        parts = token.split('.')
        try:
            if len(parts) != 3:
                raise ValueError('not three parts')
            header = decode_json_segment(parts[0])
            claims = decode_json_segment(parts[1])
        except ValueError:
            raise self.reject('not a JWT') from None
        if header.get('alg') != 'RS256':
            raise self.reject('alg must be RS256, got %s' % header.get('alg'))
        sub = claims.get('sub')
        if not isinstance(sub, str) or not sub:
            raise self.reject('sub claim missing')
        domain = self.domains.get(sub)
        if domain is None:
            raise self.reject('sub %s is not a provisioned domain' % sub)
        try:
            jwt.PyJWS().decode(token, domain.public_key, algorithms=['RS256'])
        except jwt.PyJWTError:
            raise self.reject('signature does not verify with the public key of domain %s' % sub) from None
        now = self.clock.now()
        iat = claims.get('iat')
        if not is_number(iat):
            raise self.reject('iat claim missing')
        if iat < now - IAT_MAX_AGE:
            raise self.reject('iat is older than one hour')
        if iat > now + IAT_MAX_FUTURE:
            raise self.reject('iat is more than 60 seconds in the future')
        exp = claims.get('exp')
        if exp is not None:
            if not is_number(exp):
                raise self.reject('exp is not a number')
            if exp - iat > EXP_MAX_AFTER_IAT:
                raise self.reject('exp is more than 90 minutes after iat')
            if exp <= now:
                raise self.reject('exp is in the past')
        if sub != request.path_params['domain']:
            raise self.reject('sub %s does not match the domain of the path' % sub, status=403)
        self.settle(domain, now)
        return domain

    @staticmethod
    def settle(domain, now):
        for job in domain.bulk_jobs.values():
            job.settle(domain, now)

    def log_write(self, request, body, content_type='application/json'):
        """Remember a write (password values masked) so tests can assert on exactly what was sent."""
        self.writes.append({'method': request.method, 'path': request.url.path, 'content_type': content_type,
                            'body': mask_passwords(body)})

    async def json_body(self, request):
        try:
            return await read_json(request)
        except ValueError:
            raise self.fail(400, 'the request body must be JSON') from None

    def find(self, domain, request):
        device_id = request.path_params['device_id']
        record = domain.devices.get(device_id)
        if record is None:
            raise self.fail(404, 'Device %s not found in domain %s' % (device_id, domain.name))
        return record

    def save(self, domain, record):
        """Store a created or patched device that keeps the device rules (else 400) and answer with it."""
        try:
            check_device(record)
        except Invalid as exc:
            raise self.fail(400, str(exc)) from None
        domain.devices[record['deviceId']] = record
        return json_response({'success': True, 'device': domain.public(record)})

    # devices ---------------------------------------------------------------------------------

    async def list_devices(self, request):
        domain = self.authorize(request)
        return json_response({'success': True, 'devices': [domain.public(record) for record in domain.devices.values()]})

    async def get_device(self, request):
        domain = self.authorize(request)
        return json_response({'success': True, 'device': domain.public(self.find(domain, request))})

    async def create_device(self, request):
        domain = self.authorize(request)
        body = await self.json_body(request)
        self.log_write(request, body)
        if not isinstance(body, dict):
            raise self.fail(400, 'the request body must be a JSON object (one device)')
        if 'deviceId' not in body:
            raise self.fail(400, 'deviceId is required in the body')
        if body['deviceId'] in domain.devices:
            raise self.fail(409, 'Device %s already exists in domain %s; change it with PATCH' % (body['deviceId'], domain.name))
        record = dict(DEFAULTS)
        record.update(copy.deepcopy(body))
        return self.save(domain, record)

    async def patch_device(self, request):
        domain = self.authorize(request)
        record = self.find(domain, request)
        ops = await self.json_body(request)
        self.log_write(request, ops)
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            raise self.fail(400, 'the PATCH body must be an RFC 6902 JSON Patch: a JSON array of operation objects')
        for op in ops:
            for key in ('path', 'from'):
                pointer = op.get(key)
                if not isinstance(pointer, str):
                    continue
                if (pointer == '/deviceId' or pointer.startswith('/deviceId/')) and op.get('op') != 'test':
                    raise self.fail(400, 'deviceId cannot be changed; delete the device and create it again')
                if pointer == '/password' and (op.get('op') not in ('add', 'replace', 'remove') or key == 'from'):
                    raise self.fail(400, 'password is write-only: only add, replace and remove may target /password')
        try:
            patched = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(record))
        except jsonpatch.JsonPatchTestFailed as exc:
            raise self.fail(409, 'JSON Patch test operation failed: %s' % exc) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError, ValueError) as exc:
            raise self.fail(400, 'JSON Patch cannot be applied: %s' % exc) from None
        if not isinstance(patched, dict):
            raise self.fail(400, 'JSON Patch cannot replace the whole device')
        return self.save(domain, patched)

    async def delete_device(self, request):
        domain = self.authorize(request)
        self.find(domain, request)
        self.log_write(request, None)
        domain.delete_device(request.path_params['device_id'])
        return json_response({'success': True})

    # bulk ------------------------------------------------------------------------------------

    async def bulk_upload(self, request):
        domain = self.authorize(request)
        bulk_id = request.path_params['bulk_id']
        if not BULK_ID_RE.match(bulk_id):
            raise self.fail(400, 'bulkId must be 1 to 64 letters, digits, dots, dashes or underscores')
        content_type = request.headers.get('content-type', '')
        if not content_type.split(';')[0].strip().lower() == 'text/csv':
            raise self.fail(415, 'the bulk body must be text/csv, got %s' % (content_type or 'no Content-Type'))
        raw = await request.body()
        if len(raw) >= BULK_MAX_BYTES:
            raise self.fail(413, 'the CSV body must be smaller than 10 MB')
        try:
            text = raw.decode('utf-8-sig')
        except UnicodeDecodeError:
            raise self.fail(400, 'the CSV body must be UTF-8') from None
        self.log_write(request, mask_csv_passwords(text), content_type='text/csv')
        if bulk_id in domain.bulk_jobs:
            raise self.fail(409, 'bulk job %s already exists in domain %s; use a new bulkId' % (bulk_id, domain.name))
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        if 'deviceId' not in header:
            raise self.fail(400, 'the CSV header row must name the device properties and include deviceId')
        if len(set(header)) != len(header):
            raise self.fail(400, 'the CSV header row names a property twice')
        rows = []
        for row in reader:
            if None in row:
                raise self.fail(400, 'CSV row %d has more cells than the header row' % (len(rows) + 1))
            rows.append(row)
        if not rows:
            raise self.fail(400, 'the CSV body holds no device rows')
        now = self.clock.now()
        job = BulkJob(bulk_id, rows, now, now + BULK_BASE_SECONDS + BULK_ROW_SECONDS * len(rows))
        domain.bulk_jobs[bulk_id] = job
        return json_response({'success': True, 'bulkId': bulk_id})

    async def bulk_status(self, request):
        domain = self.authorize(request)
        job = domain.bulk_jobs.get(request.path_params['bulk_id'])
        if job is None:
            raise self.fail(404, 'bulk job %s not found in domain %s' % (request.path_params['bulk_id'], domain.name))
        return json_response({'success': True, 'status': job.status()})

    # OPTIONS ---------------------------------------------------------------------------------

    async def options_collection(self, request):
        # CORS-preflight style: no JWT needed, body {} (OpenAPI sample), Allow lists the methods.
        return json_response({}, headers={'Allow': ', '.join(COLLECTION_METHODS)})

    async def options_item(self, request):
        return json_response({}, headers={'Allow': ', '.join(ITEM_METHODS)})

    async def options_bulk(self, request):
        return json_response({}, headers={'Allow': ', '.join(BULK_METHODS)})

    # the device's side (admin) --------------------------------------------------------------

    def admin_routes(self):
        """Extra /_mock routes: /_mock/iotcomms/sip-register, a SIP REGISTER of a device with the credentials it was given."""
        return {'iotcomms': [Route('/sip-register', self.sip_register, methods=['POST'])]}

    async def sip_register(self, request):
        """{"domain"?, "device_id", "password"?} -> {"registered": bool, "authType"}: whether the device would register with
        these credentials (authType credentials: the password must match; deviceid and disabled: no password needed). The
        password is write-only in the API, so this is how a test sees that a rotated password works."""
        payload = await read_json_object(request)
        domain = self.domains.get(payload.get('domain', credentials.IOTCOMMS_DOMAIN))
        record = domain.devices.get(payload.get('device_id')) if domain is not None else None
        if record is None:
            return json_response({'registered': False, 'authType': None})
        given, held = str(payload.get('password') or ''), str(record.get('password') or '')
        registered = hmac.compare_digest(given.encode(), held.encode()) if record.get('authType') == 'credentials' else True
        return json_response({'registered': registered, 'authType': record.get('authType')})

    # seeding ---------------------------------------------------------------------------------

    def seed_devices(self, payload):
        domain = self.domains.get(payload.get('domain', credentials.IOTCOMMS_DOMAIN))
        if domain is None:
            raise BadRequest('unknown domain %r' % payload.get('domain'))
        count = seed_count(payload)
        if count:
            prefix = payload.get('prefix', 'seed-')
            items = [{'deviceId': '%s%05d' % (prefix, number)} for number in range(1, count + 1)]
        else:
            items = seed_list(payload, 'devices')
        added = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get('deviceId'), str) or not item['deviceId']:
                raise BadRequest('each device needs a non-empty string deviceId')
            added.append(domain.put_device(item)['deviceId'])
        return {'domain': domain.name, 'added': added}

    def seed_domains(self, payload):
        name = payload.get('domain')
        if not isinstance(name, str) or not name:
            raise BadRequest('domain is required')
        pem = payload.get('public_key')
        try:
            key = load_public_key(pem.encode()) if pem else self.default_key
        except (ValueError, TypeError, AttributeError) as exc:
            raise BadRequest('public_key must be an RSA public key in PEM: %s' % exc) from exc
        self.domains[name] = Domain(name, key)
        return {'added': [name]}
