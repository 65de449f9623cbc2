"""u-blox device security reads: /device/clone/get, /device/suspicious/get, /device/activity/get, /notification/get and
/device/usage/get (seed 002, "Information APIs").

What the devices did comes from the fleet's events (bootstraps, applied properties, certificates, errors), which
``Fleet.publish`` records here on their way to the webhooks; LastSeen is the device's own (its last bootstrap or heartbeat).
Clone and suspicious findings are u-blox's own analysis, which the mock cannot do: tests mark devices with the admin seeds
``POST /_mock/seed/ublox/clone`` and ``POST /_mock/seed/ublox/suspicious``.
"""

import datetime
import json

from ...common import BadRequest, json_response, shown, utc_iso
from ..base import seed_list
from .api import bad, page
from .devices import sealed_with
from .models import DAY

NOTIFICATION_MAX_AGE_DAYS = 180     # /notification/get: "You can only specify FromDate as old as 180 days ago"
USAGE_MAX_AGE_DAYS = 60             # /device/usage/get: "You can only specify FromDate as old as 60 days ago"
USAGE_LEAD_TIME = 300               # "There is a 5 minute lead time before logs get updated"
SUSPICIOUS_REASONS = ('DUPLICATED_SCL_SERIAL_NUM_SEALED_INFO', 'DUPLICATED_DEV_SERIAL_NUM_SEALING',
                      'DUPLICATED_SCL_SERIAL_NUM_PROD_LOG', 'DUPLICATED_DEV_SERIAL_NUM_PROD_LOG')
NOTIFICATION_TYPES = ('DEVICE_STATE_CHANGE', 'DEVICE_INFO_CHANGE', 'DEVICE_PROPERTIES_CHANGE', 'DEVICE_ERROR')
# fleet event -> (activity word, notification types) (mock assumption: the seed names neither the activities nor this mapping)
EVENT_KINDS = {
    'DEVICE_BOOTSTRAP_EVENT': ('BOOTSTRAP', ('DEVICE_INFO_CHANGE', 'DEVICE_STATE_CHANGE')),
    'DEVICE_PROPERTIES_CHANGE_EVENT': ('PROPERTIES_APPLIED', ('DEVICE_PROPERTIES_CHANGE',)),
    'DEVICE_CERTIFICATE_RENEWAL_EVENT': ('DEVICE_CERTIFICATE_PROVISIONED', ('DEVICE_PROPERTIES_CHANGE',)),
    'DEVICE_ERRORS_EVENT': ('ERROR', ('DEVICE_ERROR',)),
}
LOG_LIMIT = 100000


def parse_when(data, key, required=False, date_only=False):
    """``data[key]`` (ISO 8601; a date alone when ``date_only``, as /device/usage/get takes it) as epoch seconds, or None."""
    text = data.get(key)
    if text is None:
        if required:
            raise bad('%s is required' % key)
        return None
    try:
        if date_only:
            return datetime.datetime.strptime(text, '%Y-%m-%d').replace(tzinfo=datetime.timezone.utc).timestamp()
        moment = datetime.datetime.fromisoformat(text[:-1] + '+00:00' if text.endswith('Z') else text)
    except (TypeError, ValueError):
        raise bad('%s must be %s' % (key, 'a date yyyy-mm-dd' if date_only else 'an ISO 8601 date')) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def within(at, start, end):
    return at >= start and (end is None or at <= end)


class Security:
    """The security reads; the event log and the clone / suspicious findings are this area's state."""

    def __init__(self, store, auth, devices):
        self.store = store
        self.auth = auth
        self.devices = devices        # selects the devices a request names (ROTPublicUIDs, TagNames)
        self.reset()

    def reset(self):
        self.log = []                 # {'rot', 'at', 'type', 'payload'} of every device event, oldest first
        self.clones = []              # ClonedEvents
        self.suspicious = {}          # ROTPublicUID -> SuspiciousDevices record

    def routes(self):
        return [('/device/clone/get', self.clone_get), ('/device/suspicious/get', self.suspicious_get),
                ('/device/activity/get', self.activity_get), ('/notification/get', self.notification_get),
                ('/device/usage/get', self.usage_get)]

    def record(self, events):
        for evt in events:
            if evt.get('ROTPublicUID') and evt['EventType'] in EVENT_KINDS:
                at = parse_when(evt, 'Timestamp')
                self.log.append({'rot': evt['ROTPublicUID'], 'at': at, 'type': evt['EventType'], 'payload': evt.get('Payload') or {}})
        del self.log[:-LOG_LIMIT]

    def dump(self):
        return {'clonedEvents': list(self.clones), 'suspiciousDevices': [self.suspicious[rot] for rot in sorted(self.suspicious)],
                'events': len(self.log)}

    def named_rots(self, data, profiles=False):
        """ROTPublicUIDs of the devices a request names (ROTPublicUIDs, TagNames; DeviceProfileUID where the call takes it)."""
        profile = data.get('DeviceProfileUID') if profiles else None
        if profile is not None and not data.get('ROTPublicUIDs') and not data.get('TagNames'):
            if not isinstance(profile, str) or not profile:
                raise bad('DeviceProfileUID must be a non-empty string')
            return {device.rot for device in sealed_with(self.store.devices.values(), profile)}
        return {device.rot for device in self.devices.selected(data)}

    def window(self, data, required=True):
        start = parse_when(data, 'FromDate', required=required)
        return (start if start is not None else 0), parse_when(data, 'ToDate')

    def oldest(self, start, days, key):
        # compared by UTC date (mock assumption): a FromDate of the day 180 days ago is taken all day long
        if utc_iso(start)[:10] < utc_iso(self.store.now() - days * DAY)[:10]:
            raise bad('%s can only be as old as %d days ago' % (key, days))

    # the calls ----------------------------------------------------------------------------------

    async def clone_get(self, request):
        data = await self.auth.authed_body(request)
        start, end = self.window(data)
        rots = self.named_rots(data, profiles=True)
        found = [evt for evt in self.clones if evt['ROTPublicUID'] in rots and within(parse_when(evt, 'ClonedDate'), start, end)]
        return page(data, found, 'ClonedEvents')

    async def suspicious_get(self, request):
        data = await self.auth.authed_body(request)
        rots = self.named_rots(data, profiles=True)
        return page(data, [self.suspicious[rot] for rot in sorted(rots) if rot in self.suspicious], 'SuspiciousDevices')

    async def activity_get(self, request):
        data = await self.auth.authed_body(request, ('ROTPublicUID',))
        start, end = self.window(data)
        devices, unknown = self.store.lookup([data['ROTPublicUID']])
        if unknown:
            raise bad('Invalid ROTPublicUID: %s' % shown(unknown))
        device = devices[0]
        entries = [{'Activity': EVENT_KINDS[entry['type']][0], 'Date': utc_iso(entry['at']), 'Details': entry['payload']}
                   for entry in self.log if entry['rot'] == device.rot and within(entry['at'], start, end)]
        # the paging envelope of the other lists, with the device's LastSeen beside it (seed 002 sample)
        return json_response(dict(json.loads(page(data, entries, 'Activities').body), LastSeen=utc_iso(device.last_seen)))

    async def notification_get(self, request):
        data = await self.auth.authed_body(request)
        start, end = self.window(data)
        self.oldest(start, NOTIFICATION_MAX_AGE_DAYS, 'FromDate')
        kind = data.get('NotificationType')
        if kind is not None and kind not in NOTIFICATION_TYPES:
            raise bad('NotificationType must be one of %s' % ', '.join(NOTIFICATION_TYPES))
        rots = self.named_rots(data)
        found = [{'ROTPublicUID': entry['rot'], 'NotificationType': name, 'NotificationDate': utc_iso(entry['at']), 'Payload': entry['payload']}
                 for entry in self.log if entry['rot'] in rots and within(entry['at'], start, end)
                 for name in EVENT_KINDS[entry['type']][1] if kind in (None, name)]
        return page(data, found, 'Notifications')

    async def usage_get(self, request):
        data = await self.auth.authed_body(request)
        start = parse_when(data, 'FromDate', required=True, date_only=True)
        end = parse_when(data, 'ToDate', date_only=True)
        self.oldest(start, USAGE_MAX_AGE_DAYS, 'FromDate')
        if data.get('ROTPublicUIDs') and data.get('TagNames'):
            raise bad('give ROTPublicUIDs or TagNames, not both')
        rots = self.named_rots(data) if data.get('ROTPublicUIDs') or data.get('TagNames') else set(self.store.devices)
        # the logs of the last 5 minutes are not counted yet; ToDate is a whole day
        until = min(self.store.now() - USAGE_LEAD_TIME, end + DAY if end is not None else float('inf'))
        usage = {}
        for entry in self.log:
            if entry['rot'] in rots and start <= entry['at'] < until:
                for name in usage_names(entry):
                    counts = usage.setdefault(entry['rot'], {})
                    counts[name] = counts.get(name, 0) + 1
        return json_response(usage)

    # admin seeds --------------------------------------------------------------------------------

    def seed_clone(self, payload):
        """Clone events: {"ROTPublicUIDs": [...], "DaysAgo"?: n, "IMEI"?: the clone's}."""
        devices = self.seeded_devices(payload)
        at = self.store.now() - self.days_ago(payload) * DAY
        for device in devices:
            self.clones.append({'ROTPublicUID': device.rot, 'ClonedDate': utc_iso(at), 'DeviceSerialNumber': device.device_serial,
                                'IMEI': payload.get('IMEI') or device.imei})
        return {'added': [device.rot for device in devices]}

    def seed_suspicious(self, payload):
        """Suspicious devices: {"ROTPublicUIDs": [...], "Reason": one of the four of seed 002, "DaysAgo"?: n}."""
        reason = payload.get('Reason', SUSPICIOUS_REASONS[1])
        if reason not in SUSPICIOUS_REASONS:
            raise BadRequest('Reason must be one of %s' % ', '.join(SUSPICIOUS_REASONS))
        devices = self.seeded_devices(payload)
        at = self.store.now() - self.days_ago(payload) * DAY
        for device in devices:
            self.suspicious[device.rot] = {'ROTPublicUID': device.rot, 'Reason': reason, 'DetectedDate': utc_iso(at),
                                           'DeviceSerialNumber': device.device_serial}
        return {'added': [device.rot for device in devices]}

    def seeded_devices(self, payload):
        devices, unknown = self.store.lookup(seed_list(payload, 'ROTPublicUIDs'))
        if unknown:
            raise BadRequest('unknown ROTPublicUIDs: %s' % shown(unknown))
        return devices

    @staticmethod
    def days_ago(payload):
        days = payload.get('DaysAgo', 0)
        if not isinstance(days, (int, float)) or isinstance(days, bool) or days < 0:
            raise BadRequest('DaysAgo must be a non-negative number')
        return days


def usage_names(entry):
    """The usage logs an event makes (seed 002 /device/usage/get): an authorization enabled on the device, a ZTP certificate."""
    if entry['type'] == 'DEVICE_CERTIFICATE_RENEWAL_EVENT':
        return ['ZTPDeviceCertificate']
    if entry['type'] == 'DEVICE_PROPERTIES_CHANGE_EVENT':
        applied = (entry['payload'].get('DesiredProperties') or {}).get('Authorizations') or []
        return [item['Name'] for item in applied if item.get('State') == 'ENABLED']
    return []
