"""nRF Cloud Provisioning Service (/nrfcloud-provisioning/v1): claiming, claimed devices, commands.

A part of the NrfCloud vendor: the teams, modems and simulator settings are in the ``NrfCore`` it is given.
The devices themselves are simulated in ``simulator``.
"""

import csv
import io
import uuid
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.routing import Route

from ...common import BadRequest, json_response, read_json, read_json_object, shown
from . import attestation
from .commands import KINDS, MAX_COMMANDS, validate_command
from .simulator import ClaimedDevice, Modem, public_command

NAME = 'nrfcloud'
STATUSES = ('READY', 'PROVISIONING', 'AWAITING', 'PROVISIONED', 'ERROR', 'BLOCKED')
MAX_CSV_ROWS = 1000
# how a CSV claim on POST /claimed-devices answers: 200 {claimedIds, failed} (what nrfcloud-utils reads), or 202
# {bulkOpsRequestId} followed through bulk-ops requests (what the older docs describe); api/nrfcloud.md §2.1, §7.2
BULK_CLAIM_ANSWERS = ('claimed-ids', 'bulk-ops')
DEFAULT_IMEI_PREFIX = '3516'


def is_dry_run(query):
    """Whether a query string asks for the claim dry run: ``dryrun=true`` (any case)."""
    return any(value.lower() == 'true' for value in parse_qs(query).get('dryrun', []))


class Refusal(Exception):
    """A claim the service refuses: HTTP status, nRF error code and message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ProvisioningService:
    """Handlers of the Provisioning Service; state lives in the core's teams and ``modems``."""

    def __init__(self, core, devices):
        self.core = core
        self.devices = devices      # the device API: onboarded devices settle before a claim looks at them
        self.on_claim = []          # callables (team, device) run when a device is claimed (the rules part's effect)
        self.bulk_claim_answer = BULK_CLAIM_ANSWERS[0]

    def reset(self):
        self.bulk_claim_answer = BULK_CLAIM_ANSWERS[0]

    def routes(self):
        claimed = '/v1/claimed-devices/{device_id}'
        return [
            Route('/v1/claimed-devices', self.list_claimed_devices, methods=['GET']),
            Route('/v1/claimed-devices', self.claim_devices, methods=['POST']),
            Route('/v1/claimed-devices/bulk', self.bulk_claim_operation, methods=['POST']),
            Route(claimed, self.get_claimed_device, methods=['GET']),
            Route(claimed, self.unclaim_device, methods=['DELETE']),
            Route(claimed + '/block', self.block_device, methods=['POST']),
            Route(claimed + '/unblock', self.unblock_device, methods=['POST']),
            Route(claimed + '/provisioning', self.list_commands, methods=['GET']),
            Route(claimed + '/provisioning', self.create_command, methods=['POST']),
            Route(claimed + '/provisioning/{command_id}', self.get_command, methods=['GET']),
        ]

    # helpers ------------------------------------------------------------------------------------

    def advance(self, team, device, now):
        def register_cloud_key(dev, public_key):
            team.device_keys[dev.id] = public_key
        device.advance(now, self.core.settings, register_cloud_key)

    def advance_team(self, team, now):
        for device in team.claimed.values():
            self.advance(team, device, now)

    def claimed_device(self, request, team=None):
        """(team, device, now) for the path's device id, moved forward to now; 404 if the team has not claimed it."""
        team = team or self.core.team_for(request)
        self.settle_bulk_claims()
        device_id = request.path_params['device_id']
        device = team.claimed.get(device_id)
        if device is None:
            raise self.core.error(404, 40400, 'Claimed device %s not found' % device_id)
        now = self.core.clock.now()
        self.advance(team, device, now)
        return team, device, now

    def owner_of(self, device_id):
        for team in self.core.teams.values():
            if device_id in team.claimed:
                return team
        return None

    def modem_for(self, info):
        modem = self.core.modems.get(info['device_id'])
        if modem is None:
            modem = Modem(info['device_id'], info['uuid'], attestation.imei_for(info['uuid']), info['device_type'], info['firmware_id'])
            self.core.modems[modem.device_id] = modem
        return modem

    def claim(self, team, token, tags, dryrun=False, at=None):
        """Claim the device of ``token`` for ``team`` (at mock-clock time ``at``, default now); raises Refusal."""
        try:
            info = attestation.parse_attestation_token(token)
        except ValueError as exc:
            raise Refusal(400, 40000, str(exc)) from None
        owner = self.owner_of(info['device_id'])
        if owner is team:
            raise Refusal(409, 40901, 'Device %s is already claimed' % info['device_id'])
        if owner is not None:
            raise Refusal(409, 40902, 'Device %s is claimed by another team' % info['device_id'])
        if dryrun:
            return None
        return self.add_claimed(team, ClaimedDevice(self.modem_for(info), team.tenant_id, tags, self.core.clock.now() if at is None else at))

    def add_claimed(self, team, device):
        """The team now holds ``device``; if it waits to be claimed (POST /_mock/online ``since``), its countdown starts."""
        team.claimed[device.id] = device
        for hook in self.on_claim:
            hook(team, device)
        online = self.core.state.online
        online.notice(online.vendor(NAME), device.claimed_at, [device.id])
        return device

    # claiming -----------------------------------------------------------------------------------

    def settle_bulk_claims(self):
        """Bulk claims whose bulk-ops request has completed are applied before anyone looks at the claimed devices."""
        now = self.core.clock.now()
        for team in self.core.teams.values():
            self.devices.settle(team, now)

    async def claim_devices(self, request):
        team = self.core.team_for(request)
        self.settle_bulk_claims()
        kinds = (request.headers.get('content-type', '') + ';' + request.headers.get('contenttype', '')).lower()
        if 'text/csv' in kinds:
            if is_dry_run(request.url.query):
                raise self.core.error(400, 40000, 'the dry run takes one JSON {"claimToken"}, not a CSV')
            return await self.bulk_claim(request, team)
        try:
            body = await read_json(request)
        except ValueError as exc:
            raise self.core.error(400, 40000, 'Request body: %s' % exc) from None
        if not isinstance(body, dict) or not isinstance(body.get('claimToken'), str):
            raise self.core.error(400, 40000, 'claimToken is required: the attestation token string (AT%ATTESTTOKEN)')
        unknown = sorted(set(body) - {'claimToken', 'tags'})
        if unknown:
            raise self.core.error(400, 40000, 'unknown field %s; the body takes claimToken and tags' % ', '.join(unknown))
        tags = body.get('tags', [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
            raise self.core.error(400, 40000, 'tags must be a list of non-empty strings')
        try:
            device = self.claim(team, body['claimToken'], tags, is_dry_run(request.url.query))
        except Refusal as exc:
            raise self.core.error(exc.status, exc.code, exc.message) from None
        if device is None:
            return Response(status_code=202)
        return json_response(device.record(self.core.clock.now()), 201)

    async def bulk_claim(self, request, team):
        """The current form: 200 {claimedIds, failed}, or after ``POST /_mock/nrfcloud/bulk-claim {"answer": "bulk-ops"}``
        the answer of ``bulk_claim_operation``."""
        rows = await self.claim_rows(request)
        if self.bulk_claim_answer == 'bulk-ops':
            return self.start_bulk_claim(team, rows)
        claimed, failed = self.claim_rows_now(team, rows)
        return json_response({'claimedIds': claimed, 'failed': failed})

    async def bulk_claim_operation(self, request):
        """The older BulkClaimDeviceOwnership, ``POST /claimed-devices/bulk``: 202 {bulkOpsRequestId}; the rows are claimed
        when the bulk-ops request completes, and the rows refused are in its error summary."""
        team = self.core.team_for(request)
        self.settle_bulk_claims()
        return self.start_bulk_claim(team, await self.claim_rows(request))

    def start_bulk_claim(self, team, rows):
        def apply(owner, operation):
            dummy, failed = self.claim_rows_now(owner, rows, operation['_complete_at'])
            operation['_errors'].extend('[%d]: %s' % (item['index'], item['message']) for item in failed)
        return self.devices.start_bulk_op(team, 'CLAIM', apply=apply)

    async def claim_rows(self, request):
        """The rows of a bulk claim CSV (blank lines skipped); 400 when it does not parse or has 0 or more than 1000 rows."""
        try:
            rows = [row for row in csv.reader(io.StringIO((await request.body()).decode('utf-8'))) if any(cell.strip() for cell in row)]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self.core.error(400, 40000, 'the CSV body does not parse: %s' % exc) from None
        if not rows or len(rows) > MAX_CSV_ROWS:
            raise self.core.error(400, 40000, 'a bulk claim CSV has 1 to %d rows "<claimToken>"[,"<tag>,<tag>"]; got %d' % (MAX_CSV_ROWS, len(rows)))
        return rows

    def claim_rows_now(self, team, rows, at=None):
        """Claim the CSV rows in order: (claimed ids, [{index, code, message}] of the rows refused)."""
        claimed, failed = [], []
        for index, row in enumerate(rows):
            try:
                if len(row) > 2:
                    raise Refusal(400, 40000, 'a row has at most 2 columns: claimToken and comma-joined tags')
                tags = [tag.strip() for tag in row[1].split(',') if tag.strip()] if len(row) > 1 else []
                claimed.append(self.claim(team, row[0].strip(), tags, at=at).id)
            except Refusal as exc:
                failed.append({'index': index, 'code': exc.code, 'message': exc.message})
        return claimed, failed

    # claimed devices ----------------------------------------------------------------------------

    async def list_claimed_devices(self, request):
        team = self.core.team_for(request)
        self.settle_bulk_claims()
        now = self.core.clock.now()
        params = request.query_params
        status = params.get('status')
        if status is not None and status not in STATUSES:
            raise self.core.error(400, 40000, 'status must be one of %s' % ', '.join(STATUSES))
        wanted = {tag.strip() for value in params.getlist('tags') for tag in value.split(',') if tag.strip()}
        devices = list(team.claimed.values())
        for device in devices:
            self.advance(team, device, now)
        if status is not None or wanted:
            devices = [d for d in devices if (status is None or d.status(now) == status) and wanted.issubset(d.tags)]
        # only the page's records are rendered: a team of thousands is read in pages of 100
        return json_response(self.core.page(request, devices, sort_key=lambda device: device.id, render=lambda device: device.record(now)))

    async def get_claimed_device(self, request):
        dummy, device, now = self.claimed_device(request)
        return json_response(device.record(now))

    async def unclaim_device(self, request):
        team, device, now = self.claimed_device(request)
        del team.claimed[device.id]
        # Unclaiming also deletes the device from device management (api/nrfcloud.md §2.2, ATT docs).
        self.devices.settle(team, now)
        team.devices.pop(device.id, None)
        team.device_keys.pop(device.id, None)
        return Response(status_code=204)

    async def block_device(self, request):
        dummy, device, now = self.claimed_device(request)
        device.block(now, self.core.settings)
        return Response(status_code=202)

    async def unblock_device(self, request):
        dummy, device, now = self.claimed_device(request)
        device.unblock(now, self.core.settings)
        return Response(status_code=202)

    # provisioning commands ----------------------------------------------------------------------

    async def create_command(self, request):
        team = self.core.team_for(request)
        try:
            body = await read_json(request)
        except ValueError as exc:
            raise self.core.error(400, 40000, 'Request body: %s' % exc) from None
        # after the await: the device is looked up and moved forward at the time the command arrives
        dummy, device, now = self.claimed_device(request, team)
        try:
            validate_command(body)
        except ValueError as exc:
            raise self.core.error(400, 40000, str(exc)) from None
        if len(device.commands) >= MAX_COMMANDS:
            raise self.core.error(400, 40010, 'a device can have at most %d provisioning commands; %s has %d'
                                  % (MAX_COMMANDS, device.id, len(device.commands)))
        command = device.add_command(body, now, self.core.settings)
        return json_response({'id': command['id']}, 201)

    async def list_commands(self, request):
        dummy, device, dummy2 = self.claimed_device(request)
        order = {command['id']: command['_seq'] for command in device.commands}
        views = [public_command(command) for command in device.commands]
        return json_response(self.core.page(request, views, sort_key=lambda item: order[item['id']]))

    async def get_command(self, request):
        dummy, device, dummy2 = self.claimed_device(request)
        command_id = request.path_params['command_id']
        for command in device.commands:
            if command['id'] == command_id:
                return json_response(public_command(command))
        raise self.core.error(404, 40400, 'Provisioning command %s of device %s not found' % (command_id, device.id))

    # seeds and admin ----------------------------------------------------------------------------

    def seed_attestation_tokens(self, payload):
        count = payload.get('count', 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 10000:
            raise BadRequest('count must be an integer from 1 to 10000')
        prefix = payload.get('imei_prefix', DEFAULT_IMEI_PREFIX)
        if not isinstance(prefix, str) or not prefix.isdigit() or not 2 <= len(prefix) <= 8:
            raise BadRequest('imei_prefix must be 2 to 8 digits')
        devices = []
        for dummy in range(count):
            self.core.factory_serial += 1
            raw = attestation.factory_uuid(self.core.factory_serial)
            modem = Modem(attestation.format_uuid(raw), raw, attestation.make_imei(prefix, self.core.factory_serial),
                          attestation.DEVICE_TYPES[attestation.DEFAULT_DEVICE_TYPE], attestation.format_uuid(attestation.FIRMWARE_UUID))
            self.core.modems[modem.device_id] = modem
            devices.append({'device_id': modem.device_id, 'imei': modem.imei, 'claim_token': attestation.make_attestation_token(raw)})
        return {'devices': devices}

    def seed_claimed_devices(self, payload):
        team = self.core.team_by_ref(payload.get('team'))
        now = self.core.clock.now()
        added = []
        for item in self.core.seed_items(payload, 'mock-claimed'):
            status = item.get('status')
            if status is not None and status not in STATUSES:
                raise BadRequest('status must be one of %s' % ', '.join(STATUSES))
            try:
                raw = uuid.UUID(item['id']).bytes
            except ValueError:
                raw = uuid.uuid5(attestation.FACTORY_NAMESPACE, item['id']).bytes
            modem = self.core.modems.get(item['id']) or Modem(item['id'], raw, item.get('imei'), item.get('deviceType'), item.get('firmwareId'))
            self.core.modems[modem.device_id] = modem
            self.add_claimed(team, ClaimedDevice(modem, team.tenant_id, item.get('tags', []), now, seed_status=status))
            added.append(item['id'])
        return {'team': team.label, 'added': added}

    def seed_failures(self, payload):
        device_id, kind = payload.get('device_id'), payload.get('kind')
        modem = self.core.modems.get(device_id) if isinstance(device_id, str) else None
        if modem is None:
            raise BadRequest('device_id must be the id of a device the mock knows (seeded with attestation-tokens, or claimed)')
        if kind not in KINDS:
            raise BadRequest('kind must be one of %s' % ', '.join(KINDS))
        message = payload.get('message') or 'the device reported an error for %s (failure injected by the mock)' % kind
        modem.failures[kind] = message
        return {'device_id': device_id, 'kind': kind, 'message': message}

    def online_problems(self, device_ids, rebootstrap):
        """Why POST /_mock/online cannot time these devices (an empty list when it can); re-bootstrapping is u-blox's."""
        unknown = [device_id for device_id in device_ids if device_id not in self.core.modems]
        if not unknown:
            return []
        return ['unknown nrfcloud device ids (seed them with attestation-tokens or claimed-devices): %s' % shown(unknown)]

    def set_online(self, times):
        """Online times ({device id: mock-clock time, or None for never or not until its event}) of the modems. The
        admin API has brought every device up to now (``catch_up``) first, or the device was waiting for its event and
        so not online, so only what happens from now on follows the new times."""
        for device_id, at in times.items():
            self.core.modems[device_id].online_at = at

    def event_times(self, device_ids):
        """When each of these devices was claimed (by any team), for the countdowns of ``"since": "claimed"``; devices
        not claimed are left out."""
        times = {}
        for device_id in device_ids:
            team = self.owner_of(device_id)
            if team is not None:
                times[device_id] = team.claimed[device_id].claimed_at
        return times

    async def catch_up(self):
        """Bring every bulk-ops request and claimed device up to the mock clock (devices that came online connect)."""
        now = self.core.clock.now()
        for team in self.core.teams.values():
            self.devices.settle(team, now)
            self.advance_team(team, now)

    def admin_routes(self):
        """Extra /_mock routes: /_mock/nrfcloud/simulator and /_mock/nrfcloud/bulk-claim."""
        return {'nrfcloud': [Route('/simulator', self.simulator_settings, methods=['GET', 'POST']),
                             Route('/bulk-claim', self.bulk_claim_setting, methods=['GET', 'POST'])]}

    async def bulk_claim_setting(self, request):
        """``{"answer": "claimed-ids" | "bulk-ops"}``: how a CSV claim answers until the next reset."""
        if request.method == 'POST':
            answer = (await read_json_object(request)).get('answer')
            if answer not in BULK_CLAIM_ANSWERS:
                raise BadRequest('answer must be one of %s' % ', '.join(BULK_CLAIM_ANSWERS))
            self.bulk_claim_answer = answer
        return json_response({'answer': self.bulk_claim_answer})

    async def simulator_settings(self, request):
        if request.method == 'POST':
            payload = await read_json_object(request)
            # Move every device to now under the old timings before the new ones apply.
            now = self.core.clock.now()
            for team in self.core.teams.values():
                self.advance_team(team, now)
            self.core.settings.update(payload)
        return json_response(dict(self.core.settings.values))
