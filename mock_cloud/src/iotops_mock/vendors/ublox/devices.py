"""u-blox devices and device profiles: /device/list/get, rotpublicuid/get, info/get, whitelist/add (JSON or CSV) and get,
provisioning/set, get and delete; /deviceprofile/get and bootstrapprovisioning/set, get and delete."""

import csv
import io
import re
import secrets
import string

from ...common import BadRequest, json_response, shown, utc_iso
from ..base import seed_list
from .api import SUCCESS, bad, fail, not_found, page, str_list
from .models import DeviceProfile, ProvisioningError, parse_provisioning

NAME = 'ublox'
ROT_RE = re.compile(r'^[0-9a-f]{1,16}$')              # 8-byte root-of-trust UID as hex (api §A.5)
IMEI_RE = re.compile(r'^[0-9]{15}$')
INFO_OPTIONS = ('CORE', 'PROVISIONING', 'ZTP')
DEVICE_FILTERS = ('ALL', 'WHITELISTED', 'BLACKLISTED')
UNATTRIBUTED = 'UNATTRIBUTED DEVICE PROFILE'


CSV_TYPE = 'application/octet-stream'       # the CSV form of /device/whitelist/add (seed 002)
CSV_HEADER = ('id', 'type', 'action')      # the header row, in this order (names compared case-insensitively)
CSV_TYPES = ('ROTPublicUID',)              # seed 002: "Possible value is: ROTPublicUID"; IMEIs go as JSON only
CSV_MAX_BYTES = 10 * 1024 * 1024           # API Gateway's payload limit (docs/mock-assumptions.md)
WHITELIST_ACTIONS = ('ADD', 'DELETE')
MAX_ROW_PROBLEMS = 10


def is_octet_stream(request):
    return request.headers.get('content-type', '').split(';')[0].strip().lower() == CSV_TYPE


def whitelist_json_changes(data):
    """[(Action, (Type, Id))] of a JSON /device/whitelist/add body, or a 400."""
    rots = str_list(data, 'ROTPublicUIDs')
    imeis = str_list(data, 'IMEIs')
    action = data.get('Action', 'ADD')
    if action not in WHITELIST_ACTIONS:
        raise bad('Action must be ADD or DELETE')
    if not rots and not imeis:
        raise bad('ROTPublicUIDs or IMEIs is required')
    bad_rots = [rot for rot in rots or () if not ROT_RE.match(rot.lower())]
    if bad_rots:
        raise bad('Invalid ROTPublicUIDs: %s' % shown(bad_rots))
    bad_imeis = [imei for imei in imeis or () if not IMEI_RE.match(imei)]
    if bad_imeis:
        raise bad('Invalid IMEIs: %s' % shown(bad_imeis))
    keys = [('ROTPublicUID', rot.lower()) for rot in rots or ()] + [('IMEI', imei) for imei in imeis or ()]
    return [(action, key) for key in keys]


def csv_row_problem(cells):
    """Why one data row (its cells) is not ``Id,Type,Action``, or None."""
    if len(cells) != 3:
        return 'has %d fields; each row is Id,Type,Action' % len(cells)
    ident, kind, action = cells
    if kind not in CSV_TYPES:
        return 'Type %r is not supported; the only Type of the CSV upload is ROTPublicUID' % kind
    if not ROT_RE.match(ident.lower()):
        return 'Id %r is not a ROTPublicUID' % ident
    if action not in WHITELIST_ACTIONS:
        return 'Action %r must be ADD or DELETE' % action
    return None


def parse_whitelist_csv(raw):
    """[(Action, (Type, Id))] of the CSV form (header ``Id,Type,Action``, then one row per device; blank lines are
    skipped), in row order; a 400 naming every bad row (the first ten), and nothing is applied."""
    try:
        reader = csv.reader(io.StringIO(raw.decode('utf-8-sig'), newline=''))
        rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader]
    except (UnicodeDecodeError, csv.Error):
        raise bad('The CSV file must be UTF-8 text with one row per line') from None
    rows = [(number, cells) for number, cells in rows if any(cells)]
    if not rows or [cell.lower() for cell in rows[0][1]] != list(CSV_HEADER):
        raise bad('The first row of the CSV file must be the header Id,Type,Action')
    if len(rows) == 1:
        raise bad('The CSV file has no data rows; from the second row on, each row is Id,Type,Action')
    problems = [(number, csv_row_problem(cells)) for number, cells in rows[1:]]
    problems = ['row %d: %s' % (number, problem) for number, problem in problems if problem]
    if problems:
        more = len(problems) - MAX_ROW_PROBLEMS
        raise bad('Invalid rows: %s%s' % ('; '.join(problems[:MAX_ROW_PROBLEMS]), ' and %d more' % more if more > 0 else ''))
    return [(cells[2], ('ROTPublicUID', cells[0].lower())) for dummy, cells in rows[1:]]


def sealed_with(devices, profile):
    """The devices sealed with DeviceProfileUID ``profile`` (UNATTRIBUTED: those sealed without one)."""
    wanted = None if profile == UNATTRIBUTED else profile
    return [device for device in devices if device.profile_uid == wanted]


class Devices:
    """The device and device profile calls; devices, profiles and the whitelist live in the store."""

    def __init__(self, store, auth, tagging):
        self.store = store
        self.auth = auth
        self.tagging = tagging      # TagNames select devices and profiles

    def routes(self):
        return [
            ('/device/list/get', self.device_list_get),
            ('/device/rotpublicuid/get', self.rotpublicuid_get),
            ('/device/info/get', self.device_info_get),
            ('/device/whitelist/add', self.whitelist_add),
            ('/device/whitelist/get', self.whitelist_get),
            ('/device/provisioning/set', self.provisioning_set),
            ('/device/provisioning/get', self.provisioning_get),
            ('/device/provisioning/delete', self.provisioning_delete),
            ('/deviceprofile/get', self.deviceprofile_get),
            ('/deviceprofile/bootstrapprovisioning/set', self.bootstrap_set),
            ('/deviceprofile/bootstrapprovisioning/get', self.bootstrap_get),
            ('/deviceprofile/bootstrapprovisioning/delete', self.bootstrap_delete),
        ]

    def selected(self, data, serials=False):
        """Devices named by ROTPublicUIDs, TagNames (and DeviceSerialNumbers); unknown ROTPublicUIDs give 400."""
        rots = str_list(data, 'ROTPublicUIDs')
        names = str_list(data, 'TagNames')
        device_serials = str_list(data, 'DeviceSerialNumbers') if serials else None
        if not rots and not names and not device_serials:
            raise bad('ROTPublicUIDs or TagNames%s is required' % (' or DeviceSerialNumbers' if serials else ''))
        found = {}
        if rots:
            devices, unknown = self.store.lookup(rots)
            if unknown:
                raise bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
            found.update((device.rot, device) for device in devices)
        if names:
            found.update((device.rot, device) for device in self.tagging.tagged(names))
        if device_serials:
            wanted = set(device_serials)
            found.update((device.rot, device) for device in self.store.devices.values() if device.device_serial in wanted)
        return [found[rot] for rot in sorted(found)]

    def device_public(self, device, options):
        result = {'ROTPublicUID': device.rot}
        if 'CORE' in options:
            result['Core'] = device.core(self.store.device_tags(device.rot))
        if 'PROVISIONING' in options:
            result['Provisioning'] = device.provisioning()
        if 'ZTP' in options:
            ca = self.store.cas.get(device.cert.ca_name) if device.cert is not None else None
            result['ZTP'] = device.ztp(ca.revoked if ca is not None else {})
        return result

    async def device_list_get(self, request):
        data = await self.auth.authed_body(request)
        kind = data.get('Filter', 'ALL')
        if kind not in DEVICE_FILTERS:
            raise bad('Filter must be one of %s' % ', '.join(DEVICE_FILTERS))
        devices = self.store.sorted_devices()
        if kind == 'WHITELISTED':
            devices = [device for device in devices if self.store.whitelisted(device)]
        elif kind == 'BLACKLISTED':
            devices = [device for device in devices if device.blacklisted]
        return page(data, devices, 'ROTPublicUIDs', lambda device: device.rot)

    async def rotpublicuid_get(self, request):
        data = await self.auth.authed_body(request)
        profile = data.get('DeviceProfileUID')
        names = str_list(data, 'TagNames')
        if not names and not (isinstance(profile, str) and profile):
            raise bad('DeviceProfileUID or TagNames is required')
        devices = self.tagging.tagged(names) if names else self.store.sorted_devices()
        if isinstance(profile, str) and profile:
            devices = sealed_with(devices, profile)
        return page(data, devices, 'ROTPublicUIDs', lambda device: device.rot)

    async def device_info_get(self, request):
        data = await self.auth.authed_body(request)
        options = data.get('Options') or list(INFO_OPTIONS)
        if not isinstance(options, list) or any(option not in INFO_OPTIONS for option in options):
            raise bad('Options items must be CORE, PROVISIONING or ZTP')
        rots = str_list(data, 'ROTPublicUIDs')
        if rots:
            # Unknown ROTPublicUIDs are left out of the answer instead of failing the whole read.
            data = dict(data, ROTPublicUIDs=[rot for rot in rots if rot.lower() in self.store.devices] or None)
            if data['ROTPublicUIDs'] is None and not data.get('TagNames') and not data.get('DeviceSerialNumbers'):
                return json_response({'DeviceInfo': []})
        devices = self.selected(data, serials=True)
        return json_response({'DeviceInfo': [self.device_public(device, options) for device in devices]})

    @staticmethod
    def whitelist_entry(entry):
        (kind, ident), created = entry
        return {'Id': ident, 'Type': kind, 'CreatedDate': utc_iso(created)}

    async def whitelist_add(self, request):
        """ROTPublicUIDs and IMEIs in a JSON body, or ROTPublicUIDs in the CSV form (Content-Type application/octet-stream)."""
        if is_octet_stream(request):
            self.auth.check_auth(request)
            raw = await request.body()
            if len(raw) > CSV_MAX_BYTES:
                raise fail(413, 'Request Entity Too Large')
            changes = parse_whitelist_csv(raw)
        else:
            changes = whitelist_json_changes(await self.auth.authed_body(request))
        now = self.store.now()
        for action, key in changes:
            if action == 'ADD':
                self.store.whitelist.setdefault(key, now)
            else:
                self.store.whitelist.pop(key, None)
        if any(action == 'ADD' for action, dummy in changes):
            # devices that wait to be whitelisted start their countdown now; this call does not bootstrap them, the next
            # one does at their online time (an after of 0: at once), and they find themselves on the whitelist then
            online = self.store.state.online
            online.notice(online.vendor(NAME), now)
        return json_response(SUCCESS)

    async def whitelist_get(self, request):
        data = await self.auth.authed_body(request)
        return page(data, list(self.store.whitelist.items()), 'DeviceWhitelist', self.whitelist_entry)  # renders only the page

    async def provisioning_set(self, request):
        data = await self.auth.authed_body(request)
        devices = self.selected(data)
        try:
            auths, network = parse_provisioning(data.get('Provisioning'))
        except ProvisioningError as exc:
            raise bad(str(exc)) from None
        now = self.store.now()
        for device in devices:
            device.desired.merge(auths, network, now)
        return json_response(SUCCESS)

    async def provisioning_get(self, request):
        data = await self.auth.authed_body(request)
        devices = self.selected(data)
        return json_response([{'ROTPublicUID': device.rot, 'DesiredProperties': device.desired.public()} for device in devices])

    async def provisioning_delete(self, request):
        data = await self.auth.authed_body(request)
        for device in self.selected(data):
            device.desired.clear()
        return json_response(SUCCESS)

    def profile_named(self, data):
        uid = data.get('DeviceProfileUID')
        profile = self.store.profiles.get(uid) if isinstance(uid, str) else None
        if profile is None:
            raise not_found('DeviceProfileUID does not exist')
        return profile

    async def deviceprofile_get(self, request):
        data = await self.auth.authed_body(request)
        names = str_list(data, 'TagNames')
        profile_name = data.get('ProfileName')
        if names and profile_name is not None:
            raise bad('TagNames and ProfileName are mutually exclusive')
        profiles = list(self.store.profiles.values())
        if names:
            tags = self.tagging.tags_named(names)
            uids = set().union(*(tag.device_profile_uids for tag in tags))
            profiles = [profile for profile in profiles if profile.uid in uids]
        elif profile_name is not None:
            profiles = [profile for profile in profiles if profile.name == profile_name]  # case-sensitive (seed 002)
        return page(data, profiles, 'DeviceProfiles', lambda profile: profile.public(self.store.profile_tags(profile.uid)))

    async def bootstrap_set(self, request):
        data = await self.auth.authed_body(request, ('DeviceProfileUID',))
        profile = self.profile_named(data)
        try:
            auths, network = parse_provisioning(data.get('Provisioning'))
        except ProvisioningError as exc:
            raise bad(str(exc)) from None
        profile.bootstrap.merge(auths, network, self.store.now())
        return json_response(SUCCESS)

    async def bootstrap_get(self, request):
        data = await self.auth.authed_body(request, ('DeviceProfileUID',))
        profile = self.profile_named(data)
        return json_response({'DeviceProfileUID': profile.uid, 'DesiredProperties': profile.bootstrap.public()})

    async def bootstrap_delete(self, request):
        data = await self.auth.authed_body(request, ('DeviceProfileUID',))
        self.profile_named(data).bootstrap.clear()
        return json_response(SUCCESS)

    def seed_device_profiles(self, payload):
        added = []
        for item in seed_list(payload, 'profiles'):
            if not isinstance(item, dict):
                raise BadRequest('each profile is {"DeviceProfileUID"?, "ProfileName"?, "CAName"?}')
            uid = item.get('DeviceProfileUID') or ''.join(secrets.choice(string.ascii_letters + string.digits) for dummy in range(22))
            if uid in self.store.profiles:
                raise BadRequest('device profile %s already exists' % uid)
            ca_name = item.get('CAName')
            if ca_name is not None and ca_name not in self.store.cas:
                raise BadRequest('CAName %s does not exist' % ca_name)
            self.store.profiles[uid] = DeviceProfile(uid, item.get('ProfileName') or uid, ca_name, self.store.now())
            added.append(uid)
        return {'added': added}
