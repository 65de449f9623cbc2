"""POST /_mock/online: when the physical devices of a batch come online, in waves, and which never do.

A physical device has an nRF Cloud identity (device id), a u-blox one (ROTPublicUID) or both; with
both it comes online in both clouds at the same moment. Coming online means connecting to the nRF
Cloud Provisioning Service (the commands run) and bootstrapping with u-blox. A wave counts its
``after`` from now, or from an event of each device (``since``): its u-blox identity is whitelisted,
or its nRF Cloud identity is claimed, so that a test can say "powered on N seconds after the line
prepared it" whatever the speed of the machine. The vendors keep the times (``set_online``) and
report the events (``event_times``); this module reads the request, assigns the waves and keeps
the schedule that ``GET /_mock/online`` lists, and starts the countdowns.
"""

import math
import random

from .common import BadRequest, is_number, shown

CLOUDS = ('nrfcloud', 'ublox')      # keys of a device; each is also the vendor's name and URL prefix
FIELDS = ('devices', 'waves', 'after', 'never', 'seed', 'rebootstrap', 'since')
# What a wave's countdown can start at besides "now", and the cloud where that event happens.
EVENTS = {'whitelisted': 'ublox', 'claimed': 'nrfcloud'}
SINCE = ('now',) + tuple(EVENTS)
# Three waves: half at once, 30 % after 5 s, the rest after 15 s (the benchmark's and the demo's timing).
PRESETS = {'default': ({'share': 0.5, 'after': 0}, {'share': 0.3, 'after': 5}, {'share': 0.2, 'after': 15})}
SHARE_EPSILON = 1e-9                # 0.29 * 100 is 28.999999999999996 in floating point


class OnlineRequest:
    """A checked POST /_mock/online body: the devices in assignment order, the waves, how many never come online."""

    def __init__(self, data):
        if not isinstance(data, dict):
            raise BadRequest('body must be a JSON object')
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise BadRequest('unknown fields: %s; POST /_mock/online takes %s' % (', '.join(unknown), ', '.join(FIELDS)))
        self.devices = read_devices(data.get('devices'))
        self.never = data.get('never', 0)
        if not isinstance(self.never, int) or isinstance(self.never, bool) or not 0 <= self.never <= len(self.devices):
            raise BadRequest('never must be an integer from 0 to %d (the number of devices)' % len(self.devices))
        self.rebootstrap = data.get('rebootstrap', False)
        if not isinstance(self.rebootstrap, bool):
            raise BadRequest('rebootstrap must be true or false')
        self.waves = read_waves(data)
        self.sizes = self.wave_sizes()
        seed = data.get('seed')
        if seed is not None:
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise BadRequest('seed must be an integer')
            random.Random(seed).shuffle(self.devices)
        self.check_identities()

    def ids(self, cloud):
        return [device[cloud] for device in self.devices if cloud in device]

    def wave_sizes(self):
        """Devices per wave: its count, or its share of the devices left after never (rounded down); the last wave
        also takes what the others leave."""
        coming = len(self.devices) - self.never
        sizes = [wave['count'] if 'count' in wave else math.floor(wave['share'] * coming + SHARE_EPSILON) for wave in self.waves]
        if sum(sizes) > coming:
            raise BadRequest('the waves take %d devices but only %d come online (%d devices, never %d)'
                             % (sum(sizes), coming, len(self.devices), self.never))
        sizes[-1] += coming - sum(sizes)
        return sizes

    def slices(self):
        """(wave number, wave, its devices) in order; the devices after the last wave never come online."""
        position = 0
        for number, (wave, size) in enumerate(zip(self.waves, self.sizes), 1):
            yield number, wave, self.devices[position:position + size]
            position += size

    def check_identities(self):
        """A wave that waits for an event needs every one of its devices to have an identity in the event's cloud."""
        for number, wave, devices in self.slices():
            cloud = EVENTS.get(wave['since'])
            if cloud is None:
                continue
            lacking = ['%s %s' % next(iter(device.items())) for device in devices if cloud not in device]
            if lacking:
                raise BadRequest('wave %d counts from when its devices are %s, so each needs an identity in %s; these have none: %s'
                                 % (number, wave['since'], cloud, shown(lacking)))

    def assign(self, now):
        """(rows, waves): each device with its wave (1-based; None = never), ``after``, ``since``, whether it waits for
        its event, when its countdown started (``startedAt``) and ``onlineAt``; each wave's size. A device that waits
        has neither time until the event happens (``OnlineSchedule.notice``)."""
        rows = []
        for number, wave, devices in self.slices():
            waits = wave['since'] != 'now'
            rows.extend(dict(device, wave=number, after=wave['after'], since=wave['since'], waiting=waits,
                             startedAt=None if waits else now, onlineAt=None if waits else now + wave['after'])
                        for device in devices)
        rows.extend(dict(device, wave=None, after=None, since=None, waiting=False, startedAt=None, onlineAt=None)
                    for device in self.devices[len(rows):])
        return rows, [{'wave': number, 'after': wave['after'], 'since': wave['since'], 'count': len(devices)}
                      for number, wave, devices in self.slices()]


def read_devices(value):
    """The devices as given, u-blox ROTPublicUIDs in lower case (hex that u-blox compares without case, as the vendor
    keeps them), each identity once."""
    if not isinstance(value, list) or not value:
        raise BadRequest('devices must be a non-empty list of {"nrfcloud": "<device id>", "ublox": "<ROTPublicUID>"}'
                         ' (either key may be absent)')
    devices, seen = [], {}
    for index, device in enumerate(value):
        where = 'devices[%d]' % index
        if not isinstance(device, dict) or not device or set(device) - set(CLOUDS):
            raise BadRequest('%s must be an object with "nrfcloud" and/or "ublox" and nothing else' % where)
        for cloud, ident in device.items():
            if not isinstance(ident, str) or not ident:
                raise BadRequest('%s.%s must be a non-empty string' % (where, cloud))
        device = {cloud: ident.lower() if cloud == 'ublox' else ident for cloud, ident in device.items()}
        for cloud, ident in device.items():
            if (cloud, ident) in seen:
                raise BadRequest('%s.%s %s is already devices[%d].%s' % (where, cloud, ident, seen[cloud, ident], cloud))
            seen[cloud, ident] = index
        devices.append(device)
    return devices


def read_waves(data):
    """The waves: a list, the name of a preset, or the ``after`` shortcut (one wave of every device). The top-level
    ``since`` is the one of every wave that does not give its own."""
    if ('waves' in data) == ('after' in data):
        raise BadRequest('give either waves (a list, or "default") or after (one wave of every device)')
    since = read_since(data.get('since', 'now'), 'since')
    if 'after' in data:
        return [{'share': 1, 'after': read_after(data['after'], 'after'), 'since': since}]
    waves = data['waves']
    if isinstance(waves, str) and waves in PRESETS:
        return [dict(wave, since=since) for wave in PRESETS[waves]]
    if not isinstance(waves, list) or not waves:
        raise BadRequest('waves must be %s or a non-empty list of {"count" or "share", "after", "since"?}'
                         % ' or '.join('"%s"' % name for name in PRESETS))
    return [read_wave(wave, 'waves[%d]' % index, since) for index, wave in enumerate(waves)]


def read_wave(wave, where, since):
    if not isinstance(wave, dict) or set(wave) - {'count', 'share', 'after', 'since'}:
        raise BadRequest('%s must be an object with count or share, after, and optionally since' % where)
    if ('count' in wave) == ('share' in wave):
        raise BadRequest('%s needs exactly one of count (devices) and share (of the devices left after never)' % where)
    if 'after' not in wave:
        raise BadRequest('%s.after is required: seconds of the mock clock from now, or from the event of since' % where)
    result = {'after': read_after(wave['after'], where + '.after'), 'since': read_since(wave.get('since', since), where + '.since')}
    if 'count' in wave:
        count = wave['count']
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise BadRequest('%s.count must be an integer >= 0' % where)
        result['count'] = count
    else:
        share = wave['share']
        if not is_number(share) or not 0 <= share <= 1:
            raise BadRequest('%s.share must be a number from 0 to 1' % where)
        result['share'] = share
    return result


def read_after(value, where):
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise BadRequest('%s must be a number of seconds >= 0 (of the mock clock, from now or from the event of since)' % where)
    return value


def read_since(value, where):
    if not isinstance(value, str) or value not in SINCE:
        raise BadRequest('%s must be %s: when the countdown of after starts (now, when the u-blox identity is on the '
                         'whitelist, when the nRF Cloud identity is claimed)' % (where, ', '.join('"%s"' % name for name in SINCE)))
    return value


class OnlineSchedule:
    """The latest online time given to each physical device (a device named again replaces its earlier row); it hands
    the times to the vendors, and starts the countdown of a device that waits for its event when the event happens.

    Both happen when they are told: ``record`` (POST /_mock/online) starts the countdowns whose event has already
    happened, and a vendor calls ``notice`` when it whitelists or claims; nothing is polled.
    """

    def __init__(self, vendors):
        self.vendors = vendors      # the mock's vendor list; the clouds are found in it by name
        self.rows = []
        self.waiting = {}           # (cloud, id) -> row, for each identity of a device whose countdown waits for its event

    def reset(self):
        self.rows = []
        self.waiting = {}

    def record(self, rows, now):
        """Keep the rows of a POST /_mock/online at ``now`` and hand their times to the vendors (a device that waits is
        not online until its event); then start the countdowns whose event has already happened."""
        named = {(cloud, row[cloud]) for row in rows for cloud in CLOUDS if cloud in row}
        self.rows = [row for row in self.rows if not any((cloud, row.get(cloud)) in named for cloud in CLOUDS)] + rows
        self.waiting = {(cloud, row[cloud]): row for row in self.rows if row['waiting'] for cloud in CLOUDS if cloud in row}
        self.hand_out(rows)
        for cloud in sorted(set(EVENTS.values())):
            self.notice(self.vendor(cloud), now)

    def notice(self, vendor, now, ids=None):
        """Start the countdown of the devices waiting for an event of ``vendor`` (those of ``ids``, or all) that it
        reports as happened: ``after`` seconds from the event, but not before ``now`` (a device does not come online in
        the past, before the call that started its countdown), in both clouds."""
        cloud = vendor.name
        candidates = [ident for where, ident in self.waiting if where == cloud] if ids is None else ids
        ids = [ident for ident in candidates if self.awaits(cloud, ident)]
        started = []
        for ident, at in vendor.event_times(ids).items():
            row = self.waiting[cloud, ident]
            row.update(waiting=False, startedAt=at, onlineAt=max(at + row['after'], now))
            for other in CLOUDS:
                self.waiting.pop((other, row.get(other)), None)
            started.append(row)
        self.hand_out(started)

    def hand_out(self, rows):
        for cloud in CLOUDS:
            times = {row[cloud]: row['onlineAt'] for row in rows if cloud in row}
            if times:
                self.vendor(cloud).set_online(times)

    def vendor(self, cloud):
        return next(vendor for vendor in self.vendors if vendor.name == cloud)

    def awaits(self, cloud, ident):
        """True when the device of this identity waits for an event of its own cloud ``cloud``."""
        row = self.waiting.get((cloud, ident))
        return row is not None and EVENTS[row['since']] == cloud

    def waiting_for(self, cloud, ident):
        """The event the device of this identity waits for before its countdown starts (None: it does not wait)."""
        row = self.waiting.get((cloud, ident))
        return row['since'] if row else None

    def view(self, now):
        return {'now': now, 'devices': [dict(row, online=row['onlineAt'] is not None and row['onlineAt'] <= now)
                                        for row in self.rows]}
