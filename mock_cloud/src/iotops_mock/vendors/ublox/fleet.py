"""The u-blox modules themselves: seeded and factory-fresh devices, their bootstrap at the online time POST /_mock/online
gives them (the whitelist and the profile's bootstrap provisioning decide how), and their security heartbeats, whose
events go to the registered webhooks.

Admin seeds (``POST /_mock/seed/ublox/<kind>``): ``devices`` (already bootstrapped), ``bootstrap`` (devices
bootstrapping now: events, bootstrap provisioning), ``manufactured`` (factory-fresh modules: unknown to the API until
they bootstrap at the online time ``POST /_mock/online`` gives them) and ``heartbeat`` (the next security heartbeat of
some or all devices: desired properties and certificate actions take effect, notifications are POSTed).
"""

from ...common import BadRequest, shown
from ..base import seed_count, seed_list
from .devices import IMEI_RE, ROT_RE
from .models import DAY, Device, event, heartbeat, issue_certificate, rootca_expiry_events
from .tags import tag_key

SEEDED_PREFIX = '0002'          # generated ROTPublicUIDs: <prefix><12 hex digits>
MANUFACTURED_PREFIX = '0003'
MANUFACTURED_FIELDS = ('ROTPublicUID', 'IMEI', 'DeviceSerialNumber', 'DeviceProfileUID')


def luhn_digit(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


class Fleet:
    """What the devices do on their own; the admin API drives it (seeds, online times, heartbeats)."""

    def __init__(self, store, notifications, security):
        self.store = store
        self.notifications = notifications    # the webhooks the devices' events are delivered to
        self.security = security              # keeps the events for its reads (activities, notifications, usage)

    async def publish(self, events):
        """The devices' events: kept by the security area, then delivered to the webhooks; returns the delivery log entries."""
        self.security.record(events)
        return await self.notifications.notify(events)

    def device_specs(self, payload, prefix, first_free):
        """Device seed items from ``devices`` or ``count`` (+ ``start`` and shared fields). An item without a
        ROTPublicUID gets ``<prefix><12 hex digits>``, numbered from ``start`` (default ``first_free``)."""
        start = first_free
        if 'devices' in payload:
            items = seed_list(payload, 'devices')
        else:
            count = seed_count(payload)
            if count is None:
                raise BadRequest('give devices or count')
            start = payload.get('start', first_free)
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                raise BadRequest('start must be a non-negative integer')
            shared = {key: value for key, value in payload.items() if key not in ('count', 'start')}
            items = [shared] * count
        if not all(isinstance(item, dict) for item in items):
            raise BadRequest('each device is an object')
        return [dict(item, ROTPublicUID=item.get('ROTPublicUID') or '%s%012x' % (prefix, start + index))
                for index, item in enumerate(items)]

    def make_device(self, item):
        rot = item['ROTPublicUID'].lower() if isinstance(item['ROTPublicUID'], str) else ''
        if not ROT_RE.match(rot):
            raise BadRequest('ROTPublicUID %s is not 1 to 16 hex digits' % item['ROTPublicUID'])
        if rot in self.store.devices or rot in self.store.manufactured:
            raise BadRequest('device %s already exists' % rot)
        imei = item.get('IMEI')
        if imei is None:
            body = '35%012d' % (int(rot, 16) % 10 ** 12)
            imei = body + luhn_digit(body)
        profile_uid = item.get('DeviceProfileUID')
        if profile_uid is not None and profile_uid not in self.store.profiles:
            raise BadRequest('DeviceProfileUID %s does not exist' % profile_uid)
        now = self.store.now()
        device = Device(rot, now, imei=imei, device_serial=item.get('DeviceSerialNumber') or 'SN-%s' % rot[-8:],
                        profile_uid=profile_uid, state=item.get('State', 'ACTIVATED'), blacklisted=bool(item.get('IsBlacklisted')))
        for name in item.get('TagNames', []):
            if tag_key(name) not in self.store.tags:
                raise BadRequest('tag %s does not exist' % name)
        ca_name = item.get('CAName')
        if ca_name is not None:
            ca = self.store.cas.get(ca_name)
            if ca is None:
                raise BadRequest('CAName %s does not exist' % ca_name)
            issue_certificate(device, ca, None, now)
            if item.get('ExpiresInDays') is not None or item.get('IssuedDaysAgo') is not None:
                issued = now - float(item.get('IssuedDaysAgo', 0)) * DAY
                expires = now + float(item['ExpiresInDays']) * DAY if item.get('ExpiresInDays') is not None else device.cert.expires
                device.cert.issued, device.cert.expires = issued, min(expires, ca.expires)
                device.cert.validity = int(round((device.cert.expires - issued) / DAY))
            if item.get('Revoked'):
                ca.revoked[device.cert.serial] = now
        return device, item.get('TagNames', [])

    def make_devices(self, specs):
        """(device, tag names) for each spec, all checked before any is stored."""
        made = [self.make_device(item) for item in specs]
        if len({device.rot for device, dummy in made}) != len(made):
            raise BadRequest('ROTPublicUIDs repeat')
        return made

    def add_devices(self, payload):
        made = self.make_devices(self.device_specs(payload, SEEDED_PREFIX, len(self.store.devices)))
        for device, tags in made:
            self.store.devices[device.rot] = device
            for name in tags:
                self.store.tags[tag_key(name)].rot_public_uids.add(device.rot)
        return [device for device, dummy in made]

    def seed_devices(self, payload):
        """Devices that bootstrapped earlier: no events."""
        return {'added': [device.rot for device in self.add_devices(payload)]}

    def bootstrap(self, device, at):
        """``device`` bootstraps at ``at`` (seed 002): ACTIVATED with the profile's bootstrap provisioning and a certificate
        from the profile's Root CA if it is on the whitelist, else ALLOCATED without features. Returns the events."""
        device.bootstrapped = device.last_seen = at
        device.state = 'ACTIVATED' if self.store.whitelisted(device) else 'ALLOCATED'
        events = [event('DEVICE_BOOTSTRAP_EVENT', at, device.bootstrap_payload(), device.rot)]
        profile = self.store.profiles.get(device.profile_uid)
        if device.state != 'ACTIVATED' or profile is None:
            return events
        if profile.bootstrap:
            device.desired.merge({name: state for name, (state, dummy) in profile.bootstrap.auths.items()},
                                 {name: value for name, (value, dummy) in profile.bootstrap.network.items()}, at)
            events.extend(heartbeat(device, self.store.cas, at))
        if profile.ca_name in self.store.cas and device.cert is None:
            events.append(issue_certificate(device, self.store.cas[profile.ca_name], None, at))
        return events

    async def seed_bootstrap(self, payload):
        """Devices bootstrapping now, without being manufactured first."""
        devices = self.add_devices(payload)
        now = self.store.now()
        events = [evt for device in devices for evt in self.bootstrap(device, now)]
        deliveries = await self.publish(events)
        return {'added': [device.rot for device in devices], 'events': [evt['EventType'] for evt in events],
                'deliveries': deliveries}

    def seed_manufactured(self, payload):
        """Modules made at the factory: unknown to every API call until they bootstrap (never, until POST /_mock/online)."""
        specs = self.device_specs(payload, MANUFACTURED_PREFIX, self.store.factory_serial)
        for item in specs:
            unknown = sorted(set(item) - set(MANUFACTURED_FIELDS))
            if unknown:
                raise BadRequest('a manufactured device takes only %s; got %s' % (', '.join(MANUFACTURED_FIELDS), ', '.join(unknown)))
            if 'IMEI' in item and not (isinstance(item['IMEI'], str) and IMEI_RE.match(item['IMEI'])):
                raise BadRequest('IMEI of %s must be a string of 15 digits' % item['ROTPublicUID'])
        made = [device for device, dummy in self.make_devices(specs)]
        self.store.factory_serial += len(made)
        for device in made:
            self.store.manufactured[device.rot] = device
        return {'added': [device.rot for device in made], 'devices': [self.manufactured_view(device) for device in made]}

    @staticmethod
    def manufactured_view(device):
        return {'ROTPublicUID': device.rot, 'IMEI': device.imei, 'DeviceSerialNumber': device.device_serial,
                'DeviceProfileUID': device.profile_uid}

    def online_problems(self, rots, rebootstrap):
        """Why POST /_mock/online cannot time these ROTPublicUIDs (an empty list when it can)."""
        unknown, bootstrapped, not_allocated = [], [], []
        for rot in rots:
            device = self.store.devices.get(rot.lower())
            if device is None:
                if rot.lower() not in self.store.manufactured:
                    unknown.append(rot)
            elif not rebootstrap:
                bootstrapped.append(rot)
            elif device.state != 'ALLOCATED':
                not_allocated.append(rot)
        problems = []
        if unknown:
            problems.append('unknown ublox ROTPublicUIDs (make them with /_mock/seed/ublox/manufactured): %s' % shown(unknown))
        if bootstrapped:
            problems.append('ublox devices already bootstrapped: %s (give "rebootstrap": true to bootstrap an ALLOCATED device '
                            'again)' % shown(bootstrapped))
        if not_allocated:
            problems.append('only an ALLOCATED ublox device can bootstrap again; not ALLOCATED: %s' % shown(not_allocated))
        return problems

    def set_online(self, times):
        """Bootstrap times ({ROTPublicUID: mock-clock time, or None for never or not until its event}); a bootstrapped
        device listed here bootstraps again (``online_problems`` has let only ALLOCATED ones through, and only with
        ``rebootstrap``)."""
        self.store.online.update((rot.lower(), at) for rot, at in times.items())
        self.plan_next_bootstrap()

    def event_times(self, rots):
        """When each of these devices was first on the whitelist, for the countdowns of ``"since": "whitelisted"``;
        devices not on it are left out."""
        times = {}
        for rot in rots:
            device = self.store.manufactured.get(rot) or self.store.devices.get(rot)
            at = self.store.whitelisted_since(device) if device is not None else None
            if at is not None:
                times[rot] = at
        return times

    def plan_next_bootstrap(self):
        """The earliest online time to come, so that a request with nothing due costs one comparison."""
        self.store.next_bootstrap = min((at for at in self.store.online.values() if at is not None), default=None)

    async def catch_up(self):
        """Bootstrap every device whose online time has passed, at that time, in time order; deliver the events."""
        now = self.store.now()
        if self.store.next_bootstrap is None or self.store.next_bootstrap > now:
            return
        due = sorted((at, rot) for rot, at in self.store.online.items() if at is not None and at <= now)
        events = []
        for at, rot in due:
            # every API request catches up first, so the whitelist and profiles are still as they were at ``at``
            del self.store.online[rot]
            device = self.store.manufactured.pop(rot, None) or self.store.devices[rot]
            self.store.devices[rot] = device
            events.extend(self.bootstrap(device, at))
        self.plan_next_bootstrap()
        await self.publish(events)

    async def seed_heartbeat(self, payload):
        """The next security heartbeat of the given devices (all by default)."""
        rots = payload.get('ROTPublicUIDs')
        if rots is None:
            devices = self.store.sorted_devices()
        else:
            if not isinstance(rots, list):
                raise BadRequest('ROTPublicUIDs must be a list')
            devices, unknown = self.store.lookup(rots)
            if unknown:
                raise BadRequest('unknown ROTPublicUIDs: %s' % shown(unknown))
        errors = payload.get('errors') or {}
        if not isinstance(errors, dict):
            raise BadRequest('errors must be {ROTPublicUID: message}')
        errors = {rot.lower(): message for rot, message in errors.items()}
        count = payload.get('count', 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
            raise BadRequest('count must be an integer from 1 to 10')
        events = []
        for dummy in range(count):
            now = self.store.now()
            for device in devices:
                events.extend(heartbeat(device, self.store.cas, now, errors.get(device.rot)))
            events.extend(rootca_expiry_events(self.store.cas, self.store.devices, now))
        deliveries = await self.publish(events)
        return {'devices': len(devices), 'events': [evt['EventType'] for evt in events], 'deliveries': deliveries}
