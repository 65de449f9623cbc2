"""nRF Cloud device API (/nrfcloud/v1): account, devices, CSV onboarding with bulk-ops requests, name, tags, delete.

A part of the NrfCloud vendor: the teams it works on are in the ``NrfCore`` it is given. Onboarding is asynchronous as in the real service: rows are
checked when the CSV arrives, and the valid ones are onboarded when the bulk-ops request
completes (``bulk_delay`` later on the mock clock; ``settle`` applies it lazily).
"""

import csv
import hashlib
import hmac
import io
import json
import re
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.responses import Response
from starlette.routing import Route

from ...common import BadRequest, bearer_token, json_response, utc_iso

MAX_CSV_ROWS = 1000
CSV_TYPES = ('text/csv', 'text/plain', 'application/octet-stream')
DEVICE_ID_RE = re.compile(r'^[a-z0-9:_-]{1,128}$', re.IGNORECASE)
SUB_TYPE_RE = re.compile(r'^[a-zA-Z0-9_.,@/:#-]{0,799}$')
TAG_RE = re.compile(r'^[a-zA-Z0-9_.@:#-]+$')
FW_TYPES = ('APP', 'MODEM', 'BOOT', 'SOFTDEVICE', 'BOOTLOADER', 'MDM_FULL')
MAX_NAME = 255
MQTT_ENDPOINT = 'mqtt.nrfcloud.mock.invalid'


def device_record(device_id, now, name=None, sub_type='', tags=(), fw_types=('APP', 'MODEM')):
    """A device as FetchDevice shows it (api/nrfcloud.md §3.3, seed 000 for $meta.version)."""
    stamp = utc_iso(now)
    return {
        'id': device_id,
        'name': device_id if name is None else name,
        'type': 'Generic',
        'subType': sub_type,
        'tags': list(tags),
        'firmware': {'supports': list(fw_types)},
        '$meta': {'createdAt': stamp, 'updatedAt': stamp, 'version': '1'},
    }


def parse_row(row):
    """(device_id, record fields, public key) of one CSV row; ValueError names the column and the rule."""
    if len(row) != 5:
        raise ValueError('expected 5 columns deviceId,subType,tags,fwTypes,"<certificate PEM>", got %d' % len(row))
    device_id, sub_type, tags, fw_types, pem = (cell.strip() for cell in row)
    if not DEVICE_ID_RE.match(device_id):
        raise ValueError('deviceId %r must match /^[a-z0-9:_-]{1,128}$/i' % device_id)
    if not SUB_TYPE_RE.match(sub_type):
        raise ValueError('subType must match /[a-zA-Z0-9_.,@/:#-]{0,799}/')
    tag_list = [tag for tag in tags.split('|') if tag] if tags else []
    for tag in tag_list:
        if not TAG_RE.match(tag):
            raise ValueError('tag %r must match /^[a-zA-Z0-9_.@:#-]+$/' % tag)
    fw_list = [fw for fw in fw_types.split('|') if fw] if fw_types else []
    for fw_type in fw_list:
        if fw_type not in FW_TYPES:
            raise ValueError('fwType %r must be one of %s' % (fw_type, ', '.join(FW_TYPES)))
    try:
        public_key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    except ValueError:
        raise ValueError('certificate must be an X.509 PEM certificate') from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != 'secp256r1':
        raise ValueError('certificate must carry an EC P-256 (ES256) public key')
    return device_id, {'sub_type': sub_type, 'tags': tag_list, 'fw_types': fw_list}, public_key


def if_match_version(header):
    """The version an If-Match header asks for: quotes and a weak W/ prefix removed."""
    value = header.strip()
    if value.startswith('W/'):
        value = value[2:]
    return value.strip('"')


class DeviceApi:
    """Handlers of the device API; state lives in the core's teams."""

    def __init__(self, core):
        self.core = core

    def routes(self):
        device = '/v1/devices/{device_id}'
        return [
            Route('/v1/account', self.get_account, methods=['GET']),
            Route('/v1/devices', self.list_devices, methods=['GET']),
            Route(device, self.get_device, methods=['GET']),
            Route('/v1/fota-job-executions/current', self.current_fota_execution, methods=['GET']),
            Route('/v1/devices', self.onboard_devices, methods=['POST']),
            Route(device, self.delete_device, methods=['DELETE']),
            Route(device + '/name', self.update_device_name, methods=['PUT']),
            Route(device + '/tags', self.update_device_tags, methods=['PUT']),
            Route('/v1/bulk-ops-requests/{request_id}', self.get_bulk_op, methods=['GET']),
            # the "pre-signed" error summary: no Authorization, a signature in the query instead
            Route('/bulk-ops-errors/{request_id}', self.get_bulk_op_errors, methods=['GET']),
        ]

    # helpers ------------------------------------------------------------------------------------

    def devices_team(self, request):
        """The caller's team with its finished bulk-ops requests applied."""
        team = self.core.team_for(request)
        self.settle(team, self.core.clock.now())
        return team

    def settle(self, team, now):
        for operation in team.bulk_ops.values():
            if operation['status'] == 'PENDING' and now >= operation['_complete_at']:
                # an operation of another part (a bulk claim) brings what it does when it completes
                (operation.get('_apply') or self.onboard_rows)(team, operation)
                operation['_errors'].sort(key=lambda text: int(text[1:text.index(']')]))
                operation['status'] = 'FAILED' if operation['_errors'] else 'SUCCEEDED'
                operation['completedAt'] = utc_iso(operation['_complete_at'])
                operation['_rows'] = []

    @staticmethod
    def onboard_rows(team, operation):
        for index, device_id, fields, key in operation['_rows']:
            if device_id in team.devices:
                operation['_errors'].append('[%d]: Device %s is already onboarded' % (index, device_id))
                continue
            team.devices[device_id] = device_record(device_id, operation['_complete_at'], **fields)
            team.device_keys[device_id] = key

    def start_bulk_op(self, team, endpoint, rows=(), errors=(), apply=None):
        """A PENDING bulk-ops request that completes ``bulk_delay`` later on the mock clock (``settle``); 202 {bulkOpsRequestId}.
        ``apply(team, operation)`` does its work then (default: onboard ``rows``), adding ``"[<row>]: <message>"`` errors."""
        now = self.core.clock.now()
        request_id = str(uuid.uuid4())
        team.bulk_ops[request_id] = {
            'bulkOpsRequestId': request_id, 'status': 'PENDING', 'endpoint': endpoint, 'requestedAt': utc_iso(now),
            '_complete_at': now + self.core.settings.bulk_delay, '_rows': list(rows), '_errors': list(errors), '_apply': apply,
        }
        return json_response({'bulkOpsRequestId': request_id}, 202)

    def device_of(self, request):
        team = self.devices_team(request)
        device = team.devices.get(request.path_params['device_id'])
        if device is None:
            raise self.core.error(404, 40400, 'Device %s not found' % request.path_params['device_id'])
        return team, device

    def check_if_match(self, request, device):
        header = request.headers.get('if-match')
        if header is None or header.strip() == '*':
            return
        wanted, current = if_match_version(header), device['$meta']['version']
        if wanted != current:
            raise self.core.error(412, 41200, 'PreconditionFailedError: If-Match version %s does not match the current version %s of device %s'
                                  % (wanted, current, device['id']))

    def bump(self, device):
        meta = device['$meta']
        meta['version'] = str(int(meta['version']) + 1)
        meta['updatedAt'] = utc_iso(self.core.clock.now())

    def signature(self, request_id):
        return hmac.new(self.core.signing_secret, request_id.encode(), hashlib.sha256).hexdigest()

    # reads ------------------------------------------------------------------------------------------

    async def get_account(self, request):
        team = self.core.team_for(request)
        return json_response({
            'mqttEndpoint': MQTT_ENDPOINT,
            'mqttTopicPrefix': 'prod/%s/' % team.tenant_id,
            'team': {'tenantId': team.tenant_id, 'name': team.name},
        })

    async def list_devices(self, request):
        team = self.devices_team(request)
        return json_response(self.core.page(request, list(team.devices.values())))

    async def get_device(self, request):
        dummy, device = self.device_of(request)
        return json_response(device, headers={'ETag': device['$meta']['version']})

    async def current_fota_execution(self, request):
        # FetchCurrentPendingFOTAJobExecution takes an API key or a device JWT (seed 000).
        token = bearer_token(request.headers.get('authorization'))
        if token not in self.core.by_key:
            if not token or token.count('.') != 2:
                raise self.core.error(401, 40100, 'Unauthorized: missing or unknown API key')
            self.core.device_from_jwt(token)
        raise self.core.error(404, 40410, 'No pending FOTA job execution')

    # onboarding ---------------------------------------------------------------------------------

    async def onboard_devices(self, request):
        self.core.team_for(request)
        content_type = request.headers.get('content-type', '').split(';')[0].strip().lower()
        if content_type not in CSV_TYPES:
            raise self.core.error(415, 41500, 'OnboardDevices takes a CSV body (Content-Type %s), not %r' % (', '.join(CSV_TYPES), content_type))
        try:
            rows = [row for row in csv.reader(io.StringIO((await request.body()).decode('utf-8'))) if any(cell.strip() for cell in row)]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self.core.error(400, 40000, 'the CSV body does not parse: %s' % exc) from None
        if not rows or len(rows) > MAX_CSV_ROWS:
            raise self.core.error(400, 40000, 'an onboarding CSV has 1 to %d rows; got %d' % (MAX_CSV_ROWS, len(rows)))
        team = self.devices_team(request)
        pending = {row[1] for op in team.bulk_ops.values() for row in op['_rows']}
        accepted, errors, seen = [], [], set()
        for index, row in enumerate(rows):
            try:
                device_id, fields, key = parse_row(row)
                if device_id in team.devices:
                    raise ValueError('Device %s is already onboarded' % device_id)
                if device_id in seen or device_id in pending:
                    raise ValueError('Device %s appears more than once' % device_id)
            except ValueError as exc:
                errors.append('[%d]: %s' % (index, exc))
                continue
            seen.add(device_id)
            accepted.append((index, device_id, fields, key))
        return self.start_bulk_op(team, 'ONBOARD', accepted, errors)

    def bulk_op_view(self, request, operation):
        view = {key: value for key, value in operation.items() if not key.startswith('_')}
        if operation['status'] == 'FAILED':
            request_id = operation['bulkOpsRequestId']
            view['errorSummaryUrl'] = str(request.url.replace(path='/nrfcloud/bulk-ops-errors/' + request_id,
                                                              query='signature=' + self.signature(request_id)))
        return view

    async def get_bulk_op(self, request):
        team = self.devices_team(request)
        operation = team.bulk_ops.get(request.path_params['request_id'])
        if operation is None:
            raise self.core.error(404, 40400, 'Bulk ops request %s not found' % request.path_params['request_id'])
        return json_response(self.bulk_op_view(request, operation))

    async def get_bulk_op_errors(self, request):
        request_id = request.path_params['request_id']
        given = request.query_params.get('signature', '')
        if not hmac.compare_digest(given, self.signature(request_id)):
            raise self.core.error(403, 40300, 'Forbidden: the signature of this URL is missing or wrong')
        for team in self.core.teams.values():
            operation = team.bulk_ops.get(request_id)
            if operation is not None and operation['status'] != 'PENDING':
                return json_response({'errors': list(operation['_errors'])})
        raise self.core.error(404, 40400, 'Error summary %s not found' % request_id)

    # name, tags, delete -------------------------------------------------------------------------

    async def update_device_name(self, request):
        raw = (await request.body()).decode('utf-8', errors='replace')
        dummy, device = self.device_of(request)   # after the await, so If-Match is checked against the latest version
        self.check_if_match(request, device)
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw.strip()
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            raise self.core.error(400, 40000, 'the name must be a non-empty string of at most %d characters (JSON string, ["name"] or text)' % MAX_NAME)
        device['name'] = value
        self.bump(device)
        return Response(status_code=202)

    async def update_device_tags(self, request):
        body = await request.body()
        dummy, device = self.device_of(request)
        self.check_if_match(request, device)
        try:
            tags = json.loads(body)
        except ValueError:
            tags = None
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise self.core.error(400, 40000, 'the body must be a JSON array of tag strings')
        for tag in tags:
            if not TAG_RE.match(tag):
                raise self.core.error(400, 40000, 'tag %r must match /^[a-zA-Z0-9_.@:#-]+$/' % tag)
        device['tags'] = list(dict.fromkeys(tags))
        self.bump(device)
        return Response(status_code=202)

    async def delete_device(self, request):
        team, device = self.device_of(request)
        self.check_if_match(request, device)
        del team.devices[device['id']]
        team.device_keys.pop(device['id'], None)
        return Response(status_code=202)

    # seeding ---------------------------------------------------------------------------------

    def seed_devices(self, payload):
        team = self.core.team_by_ref(payload.get('team'))
        now = self.core.clock.now()
        added = []
        for item in self.core.seed_items(payload, 'mock-device'):
            key = None
            if item.get('public_key'):
                try:
                    key = serialization.load_pem_public_key(item['public_key'].encode())
                except (ValueError, TypeError) as exc:
                    raise BadRequest('public_key of %s is not a PEM public key' % item['id']) from exc
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    raise BadRequest('public_key of %s must be an EC (ES256) key' % item['id'])
            team.devices[item['id']] = device_record(item['id'], now, name=item.get('name'), sub_type=item.get('subType', ''),
                                                     tags=item.get('tags', []), fw_types=item.get('fwTypes', ['APP', 'MODEM']))
            if key is not None:
                team.device_keys[item['id']] = key
            added.append(item['id'])
        return {'team': team.label, 'added': added}
