# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox device security reads (clone, suspicious, activity, notifications, usage) and the E2E key rotation policy
(seed 002): the calls, the rules checked before any request, and the planners and views, with data alone.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import datetime

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    DAY,
    effective_features,
    epoch_iso,
    iso_utc,
    normalize_rot,
    parse_date,
    provisioning_view,
    rot_chunks,
    tag_name_problem,
    ublox_pages,
)

CHECKS = ('clone', 'suspicious', 'activity', 'notifications', 'usage')
# notifications and usage are logs over a period that u-blox limits, so the task names the period (from_date or since_days)
DEFAULT_CHECKS = ('clone', 'suspicious', 'activity')
WINDOWED = {'notifications': 180, 'usage': 60}      # "You can only specify FromDate as old as N days ago"
RESULT_KEYS = {'clone': 'clones', 'suspicious': 'suspicious', 'activity': 'activity', 'notifications': 'notifications', 'usage': 'usage'}
NOTIFICATION_TYPES = ('DEVICE_STATE_CHANGE', 'DEVICE_INFO_CHANGE', 'DEVICE_PROPERTIES_CHANGE', 'DEVICE_ERROR')
# clone and activity need a FromDate too; without one the task asks for all u-blox holds (the service began in 2019)
EARLIEST = '2019-01-01T00:00:00+00:00'

ROTATION_TYPES = ('CONTINUOUS', 'AUTOMATIC')
ROTATION_DAYS = (1, 30)
DEFAULT_ROTATION_DAYS = 7
SET = 'set'


# ---------------------------------------------------------------------------------------------
# The period of the reads: from_date / since_days and to_date, checked against u-blox's limits before any request.

def _moment(text, option):
    stamp = parse_date(text)
    if stamp is None:
        raise ConfigError('%s is %r; it must be an ISO 8601 date or date and time, like 2026-03-01 or 2026-03-01T12:00:00Z' % (option, text))
    return stamp


def _day(stamp):
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).date()


def read_window(params, checks, now):
    """(from, to) as epoch seconds (either None) from ``from_date`` or ``since_days`` and ``to_date``; ConfigError for a period
    u-blox refuses: in the future, ending before it starts, or older than a windowed check allows (compared by UTC date)."""
    since, start, end = params.get('since_days'), None, None
    if since is not None:
        if since < 1:
            raise ConfigError('since_days is %d; it must be 1 or more' % since)
        start = now - since * DAY
    elif params.get('from_date'):
        start = _moment(params['from_date'], 'from_date')
    if params.get('to_date'):
        end = _moment(params['to_date'], 'to_date')
    option = 'since_days' if since is not None else 'from_date'
    if start is not None and start > now:
        raise ConfigError('%s is in the future (%s); the reads look back from now' % (option, iso_utc(params.get('from_date')) or since))
    if start is not None and end is not None and end < start:
        raise ConfigError('to_date (%s) is before the start of the period (%s)' % (iso_utc(params['to_date']), epoch_iso(start)))
    for check, days in sorted(WINDOWED.items()):
        if check not in checks:
            continue
        if start is None:
            raise ConfigError('checks %s needs from_date or since_days: u-blox gives its %s of a period, at most %d days back' % (check, check, days))
        if _day(start) < _day(now - days * DAY):
            raise ConfigError('%s goes back to %s; u-blox gives %s (checks %s) only from the last %d days (FromDate as old as %d days '
                              'ago), so from %s on' % (option, _day(start), check, check, days, days, _day(now - days * DAY)))
    return start, end


def period_view(start, end):
    return {'from': epoch_iso(start), 'to': epoch_iso(end)}


def validate_devices(params, options):
    """Normalise the ROTPublicUIDs and check the tag names of ``options`` (rot_public_uids, tags, ...); an empty list is refused."""
    for option in options:
        if params.get(option) == []:
            raise ConfigError('%s is empty; name at least one or leave it out' % option)
    if params.get('rot_public_uids'):
        params['rot_public_uids'] = sorted(set(normalize_rot(rot) for rot in params['rot_public_uids']))
    for tag in params.get('tags') or ():
        problem = tag_name_problem(tag)
        if problem:
            raise ConfigError('tags: %s' % problem)


def device_options(*names):
    """The argument spec of the device filters ``names`` (lists of strings)."""
    return {name: dict(type='list', elements='str') for name in names}


def date_body(start, end, date_only=False):
    """FromDate / ToDate of a request: ISO 8601 date-times, or yyyy-mm-dd dates (/device/usage/get)."""
    show = (lambda stamp: _day(stamp).isoformat()) if date_only else epoch_iso
    body = {'FromDate': show(start) if start is not None else EARLIEST}
    if end is not None:
        body['ToDate'] = show(end)
    return body


# ---------------------------------------------------------------------------------------------
# Views: vendor records as the module returns them (the record itself too, as the seed does not show their fields).

def _rot(raw):
    value = raw.get('ROTPublicUID')
    return str(value).lower() if value is not None else None


def clone_view(raw):
    return dict(rot_public_uid=_rot(raw), cloned_date=iso_utc(raw.get('ClonedDate') or raw.get('Date')), imei=raw.get('IMEI'),
                device_serial_number=raw.get('DeviceSerialNumber'), record=raw)


def suspicious_view(raw):
    return dict(rot_public_uid=_rot(raw), reason=raw.get('Reason'), detected_date=iso_utc(raw.get('DetectedDate') or raw.get('Date')),
                device_serial_number=raw.get('DeviceSerialNumber'), record=raw)


def activity_view(rot, body, details):
    """One device's /device/activity/get answer (its first page, or every page's activities with ``details``)."""
    view = dict(rot_public_uid=rot, last_seen=iso_utc(body.get('LastSeen')), activity_count=body.get('TotalRecords') or 0)
    if details:
        view['activities'] = [dict(activity=item.get('Activity'), date=iso_utc(item.get('Date')), details=item.get('Details'))
                              for item in body.get('Activities') or []]
    return view


def notification_view(raw):
    return dict(rot_public_uid=_rot(raw), type=raw.get('NotificationType'), date=iso_utc(raw.get('NotificationDate') or raw.get('Date')),
                payload=raw.get('Payload'))


def not_seen_for(activity, days, now):
    """ROTPublicUIDs of activity views whose last_seen is more than ``days`` before ``now`` (or unknown)."""
    return sorted(view['rot_public_uid'] for view in activity
                  if parse_date(view['last_seen']) is None or now - parse_date(view['last_seen']) > days * DAY)


# ---------------------------------------------------------------------------------------------
# The E2E key rotation policy (/e2e/key/rotate). Seed 002 has no read of it; u-blox's device info shows it in the
# PROVISIONING part as ``E2EKeyRotation: {Type, Days}`` (see docs/mock-assumptions.md).

def rotation_problem(kind, days):
    """Why (type, days) is not a policy /e2e/key/rotate takes, or None."""
    if kind not in ROTATION_TYPES:
        return 'type must be CONTINUOUS or AUTOMATIC, got %r' % (kind,)
    if days is None:
        return None
    if kind == 'CONTINUOUS':
        return 'days applies only to type=AUTOMATIC; CONTINUOUS rotates the key at every E2E call'
    if not ROTATION_DAYS[0] <= days <= ROTATION_DAYS[1]:
        return 'days is %d; u-blox rotates E2E keys every %d to %d days (/e2e/key/rotate Days)' % (days, ROTATION_DAYS[0], ROTATION_DAYS[1])
    return None


def wanted_policy(kind, days):
    """The policy a task asks for, as rotation_view gives it; AUTOMATIC without days is u-blox's default of 7 days."""
    return dict(type=kind, days=(days or DEFAULT_ROTATION_DAYS) if kind == 'AUTOMATIC' else None)


def rotation_view(raw):
    """``{type, days}`` of a device's E2EKeyRotation record, or None when it has none."""
    if not raw:
        return None
    kind = raw.get('Type')
    return dict(type=kind, days=raw.get('Days') if kind == 'AUTOMATIC' else None)


def plan_rotation(rot, record, policy):
    """The plan of one device from its /device/info/get record (PROVISIONING) and the wanted ``policy``; IotopsError when u-blox
    does not know the device. A policy that is set is sent again only when the device's heartbeat (desired, else applied) is
    longer than the rotation period, which u-blox then shortens (seed 002 note 1)."""
    if record is None:
        raise IotopsError('u-blox knows no device with ROTPublicUID %s; the E2E key rotation can be set once the device has '
                          'bootstrapped (check the ROTPublicUID)' % rot)
    provisioning = record.get('Provisioning') or {}
    current = rotation_view(provisioning.get('E2EKeyRotation'))
    heartbeat = effective_features(provisioning_view(provisioning.get('DesiredProperties')),
                                   provisioning_view(provisioning.get('CurrentProperties')))['security_heartbeat']
    period = policy['days'] * DAY if policy['days'] else None
    adjust = period is not None and heartbeat is not None and heartbeat > period
    result = dict(policy=policy, previous_policy=current, security_heartbeat=period if adjust else heartbeat, heartbeat_adjusted=adjust)
    if current == policy and not adjust:
        return Plan(rot, NO_CHANGE, result=dict(result, status='done'))
    return Plan(rot, SET, before=dict(policy=current, security_heartbeat=heartbeat),
                after=dict(policy=policy, security_heartbeat=result['security_heartbeat']), result=dict(result, status='set'))


# ---------------------------------------------------------------------------------------------

class UbloxSecurity:
    """The security and E2E policy calls of seed 002, on a UbloxClient (its ``call``, ``list_all`` and device reads). Device
    lists go 100 ROTPublicUIDs a request, each answer read page by page."""

    def __init__(self, client, concurrency=4):
        self.client = client
        self.concurrency = concurrency

    def _per_chunk(self, rots, fetch):
        found = []
        for part in map_concurrently(fetch, rot_chunks(rots), self.concurrency):
            found.extend(part)
        return found

    def clones(self, rots, start, end):
        window = date_body(start, end)
        return [clone_view(raw) for raw in self._per_chunk(rots, lambda chunk: self.client.list_all(
            '/device/clone/get', 'ClonedEvents', dict(window, ROTPublicUIDs=chunk)))]

    def suspicious(self, rots):
        return [suspicious_view(raw) for raw in self._per_chunk(rots, lambda chunk: self.client.list_all(
            '/device/suspicious/get', 'SuspiciousDevices', {'ROTPublicUIDs': chunk}))]

    def notifications(self, rots, start, end, kind=None):
        body = date_body(start, end)
        if kind:
            body['NotificationType'] = kind
        return [notification_view(raw) for raw in self._per_chunk(rots, lambda chunk: self.client.list_all(
            '/notification/get', 'Notifications', dict(body, ROTPublicUIDs=chunk)))]

    def activity(self, rots, start, end, details=False):
        """One /device/activity/get per device (it takes one ROTPublicUID): its first page, or all pages with ``details``."""
        window = date_body(start, end)

        def fetch(rot):
            first = {}

            def page(number):
                answer = self.client.call('/device/activity/get', dict(window, ROTPublicUID=rot, PageNumber=number)) or {}
                first.update(answer if number == 1 else {})
                return answer
            if not details:
                return activity_view(rot, page(1), False)
            activities = ublox_pages(page, 'Activities', concurrency=1)   # page 1 is read once, for LastSeen too
            return activity_view(rot, dict(first, Activities=activities), True)
        return map_concurrently(fetch, sorted(rots), self.concurrency)

    def usage(self, rots, start, end, everything=False):
        """{ROTPublicUID: usage record}; the whole account in one request when ``everything``."""
        window = date_body(start, end, date_only=True)
        parts = [window] if everything else [dict(window, ROTPublicUIDs=chunk) for chunk in rot_chunks(rots)]
        usage = {}
        for answer in map_concurrently(lambda body: self.client.call('/device/usage/get', body) or {}, parts, self.concurrency):
            usage.update((str(rot).lower(), record) for rot, record in answer.items())
        return usage

    def rotation_records(self, rots):
        """{ROTPublicUID: /device/info/get record with PROVISIONING} (the policy and the heartbeat)."""
        return self.client.device_info(rots, options=('PROVISIONING',), concurrency=self.concurrency)

    def rotate_keys(self, rots, policy):
        """Set the policy on ``rots`` (at most 100); a lost answer is verified by reading the policies again."""
        body = {'ROTPublicUIDs': sorted(rots), 'Type': policy['type']}
        if policy['days']:
            body['Days'] = policy['days']

        def verify():
            records = self.rotation_records(rots)
            done = all(rotation_view(((records.get(rot) or {}).get('Provisioning') or {}).get('E2EKeyRotation')) == policy for rot in rots)
            return {'verified': len(rots)} if done else None
        return self.client.call('/e2e/key/rotate', body, verify_write=verify) or {}
