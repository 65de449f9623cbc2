#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what u-blox knows about the security of devices: clones, suspicious devices, activity, notifications and usage."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_security_info
short_description: Read u-blox clone, suspicious, activity, notification and usage records of devices
version_added: 0.2.0
description:
  - Returns what u-blox Security Services knows about the security of devices, for audits and incident response -
    devices that were cloned (C(/device/clone/get)), suspicious devices (C(/device/suspicious/get)), each device's last
    contact and activities (C(/device/activity/get)), device notifications (C(/notification/get)) and usage logs
    (C(/device/usage/get)).
  - O(checks) chooses the reads; a read that is not asked for is absent from the result.
  - The devices are those named by O(rot_public_uids), O(tags) and O(device_profile_uids) together, or every device of the
    account when none is given. Tags and device profiles are resolved to ROTPublicUIDs once; every read then names the
    devices, 100 per request, page by page.
  - C(/device/activity/get) takes one device per request, so O(checks=activity) costs a request per device (O(concurrency)
    at a time); for a fleet-wide "not seen for N days" this is the price of u-blox's only documented LastSeen.
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_ublox
options:
  checks:
    description:
      - The reads - V(clone), V(suspicious), V(activity) (LastSeen), V(notifications) and V(usage).
      - The default is the three that need no period; V(notifications) and V(usage) are logs of a period that u-blox
        limits (180 and 60 days back), so they need O(from_date) or O(since_days).
    type: list
    elements: str
    choices: [clone, suspicious, activity, notifications, usage]
    default: [clone, suspicious, activity]
  rot_public_uids:
    description:
      - Devices by ROTPublicUID (1 to 16 hexadecimal digits). Those u-blox does not know are listed in RV(missing).
    type: list
    elements: str
  tags:
    description:
      - Every device carrying any of these tags. A tag u-blox does not have is an error.
    type: list
    elements: str
  device_profile_uids:
    description:
      - Every device sealed with any of these device profiles (V(UNATTRIBUTED DEVICE PROFILE) for devices sealed without one).
    type: list
    elements: str
  from_date:
    description:
      - Start of the period of the clone, activity, notification and usage reads, ISO 8601 (V(2026-03-01) or
        V(2026-03-01T12:00:00Z); UTC unless it has an offset).
      - u-blox gives notifications from at most 180 days back and usage from at most 60 days back (by UTC date); an older
        start is refused before any request.
      - Without it (and without O(since_days)) clone events and activities are read from 2019-01-01 on, everything u-blox holds.
      - Mutually exclusive with O(since_days).
    type: str
  since_days:
    description:
      - The period starts this many days before now (1 or more), instead of O(from_date).
    type: int
  to_date:
    description:
      - End of the period, ISO 8601; now when not given.
    type: str
  notification_type:
    description:
      - Only notifications of this type (with O(checks=notifications)).
    type: str
    choices: [DEVICE_STATE_CHANGE, DEVICE_INFO_CHANGE, DEVICE_PROPERTIES_CHANGE, DEVICE_ERROR]
  activity_details:
    description:
      - With O(checks=activity), also return every activity of the period (all pages), not only the last contact and the count.
    type: bool
    default: false
  not_seen_days:
    description:
      - With O(checks=activity), list in RV(not_seen) the devices whose last contact is more than this many days ago (0 or more).
    type: int
seealso:
  - module: iotops.provisioning.ublox_device_info
  - module: iotops.provisioning.ublox_e2e_key_rotation
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Cloned and suspicious devices of line 1, and when each was last seen
  iotops.provisioning.ublox_device_security_info:
    tags: [line-1]
  register: line1_security

- name: Devices of the whole account not seen for 14 days
  iotops.provisioning.ublox_device_security_info:
    checks: [activity]
    not_seen_days: 14
    concurrency: 16
  register: silent

- name: Device errors of two devices in the last 30 days, with their activities
  iotops.provisioning.ublox_device_security_info:
    rot_public_uids:
      - "0002000089280087"
      - "135700008928c093"
    checks: [notifications, activity]
    since_days: 30
    notification_type: DEVICE_ERROR
    activity_details: true

- name: Usage of a device profile's devices in March
  iotops.provisioning.ublox_device_security_info:
    device_profile_uids: [AgbCtixjwqLjwV3VWpfPyz]
    checks: [usage]
    from_date: "2026-03-01"
    to_date: "2026-03-31"

- name: Clone events since the start of the year
  iotops.provisioning.ublox_device_security_info:
    checks: [clone]
    from_date: "2026-01-01T00:00:00Z"
'''

RETURN = r'''
clones:
  description: Clone events of the devices (C(/device/clone/get) C(ClonedEvents)), with O(checks=clone).
  returned: when asked for
  type: list
  elements: dict
  contains:
    rot_public_uid:
      description: The device's ROTPublicUID (lowercase).
      type: str
    cloned_date:
      description: When the clone was seen, ISO 8601 UTC.
      type: str
    imei:
      description: The IMEI u-blox saw, when it gives one.
      type: str
    device_serial_number:
      description: The device serial number, when u-blox gives one.
      type: str
    record:
      description: The event as u-blox sent it.
      type: dict
suspicious:
  description: Suspicious devices (C(/device/suspicious/get) C(SuspiciousDevices)), with O(checks=suspicious).
  returned: when asked for
  type: list
  elements: dict
  contains:
    rot_public_uid:
      description: The device's ROTPublicUID (lowercase).
      type: str
    reason:
      description: u-blox's reason, for example V(DUPLICATED_DEV_SERIAL_NUM_SEALING).
      type: str
    detected_date:
      description: When u-blox found it, ISO 8601 UTC, when it gives one.
      type: str
    device_serial_number:
      description: The device serial number, when u-blox gives one.
      type: str
    record:
      description: The record as u-blox sent it.
      type: dict
activity:
  description: One entry per device (sorted by ROTPublicUID), with O(checks=activity).
  returned: when asked for
  type: list
  elements: dict
  contains:
    rot_public_uid:
      description: The device's ROTPublicUID (lowercase).
      type: str
    last_seen:
      description: Its last contact (bootstrap or security heartbeat), ISO 8601 UTC, or null when u-blox gives none.
      type: str
      sample: "2026-03-02T07:40:19Z"
    activity_count:
      description: How many activities u-blox holds for it in the period.
      type: int
    activities:
      description: The activities of the period, C({activity, date, details}), with O(activity_details).
      type: list
      elements: dict
      returned: with O(activity_details)
notifications:
  description: Device notifications of the period (C(/notification/get)), with O(checks=notifications).
  returned: when asked for
  type: list
  elements: dict
  contains:
    rot_public_uid:
      description: The device's ROTPublicUID (lowercase).
      type: str
    type:
      description: V(DEVICE_STATE_CHANGE), V(DEVICE_INFO_CHANGE), V(DEVICE_PROPERTIES_CHANGE) or V(DEVICE_ERROR).
      type: str
    date:
      description: When it came, ISO 8601 UTC.
      type: str
    payload:
      description: What u-blox sent with it.
      type: dict
usage:
  description: Usage logs by device as u-blox aggregates them (C(/device/usage/get)), keyed by ROTPublicUID (lowercase), with
    O(checks=usage). Logs of the last 5 minutes are not counted yet (u-blox's lead time).
  returned: when asked for
  type: dict
  sample: {"0002000089280087": {"LocalDPR": 1, "ZTPDeviceCertificate": 2}}
not_seen:
  description: ROTPublicUIDs whose last contact is more than O(not_seen_days) days ago or unknown.
  returned: with O(not_seen_days)
  type: list
  elements: str
device_count:
  description: How many devices were checked.
  returned: always
  type: int
missing:
  description: Requested ROTPublicUIDs u-blox does not know (not checked).
  returned: always
  type: list
  elements: str
period:
  description: The period of the reads, C({from, to}) as ISO 8601 UTC (null where not bounded).
  returned: always
  type: dict
'''

import time

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, InfoModule, run_module, validate_concurrency
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_security import (
    CHECKS,
    DEFAULT_CHECKS,
    NOTIFICATION_TYPES,
    RESULT_KEYS,
    UbloxSecurity,
    device_options,
    not_seen_for,
    period_view,
    read_window,
    validate_devices,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, check_profile_uid, ublox_client

NEEDS_CHECK = {'notification_type': 'notifications', 'activity_details': 'activity', 'not_seen_days': 'activity'}


class SecurityInfo(InfoModule):
    """The devices named (or the whole account), resolved to ROTPublicUIDs once, then each check read for them."""

    def __init__(self, module):
        super().__init__(module)
        self.window = (None, None)
        self.checks = ()
        self.reads = None

    def validate(self):
        params = self.params
        validate_concurrency(params)
        if not params['checks']:
            raise ConfigError('checks is empty; give one or more of %s' % ', '.join(CHECKS))
        self.checks = [check for check in CHECKS if check in params['checks']]
        for option, check in sorted(NEEDS_CHECK.items()):
            if params[option] not in (None, False) and check not in self.checks:
                raise ConfigError('%s applies only with %s in checks' % (option, check))
        if (params['not_seen_days'] or 0) < 0:
            raise ConfigError('not_seen_days is %d; it must be 0 or more' % params['not_seen_days'])
        validate_devices(params, ('rot_public_uids', 'tags', 'device_profile_uids'))
        if params['device_profile_uids']:
            params['device_profile_uids'] = [uid if uid == 'UNATTRIBUTED DEVICE PROFILE' else check_profile_uid(uid)
                                             for uid in params['device_profile_uids']]
        # the controller's clock: u-blox's is known only after a request, and the period is checked before any
        self.window = read_window(params, self.checks, time.time())

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def devices(self):
        """(ROTPublicUIDs to check, requested ones u-blox does not know, whether that is the whole account)."""
        params, client = self.params, self.client
        named = set(params['rot_public_uids'] or ())
        if not (named or params['tags'] or params['device_profile_uids']):
            return client.device_ids(), [], True
        known = set(client.device_info(named, options=('CORE',))) if named else set()   # 100 a request, not the account's list
        rots = set(known)
        if params['tags']:
            rots |= client.tagged_devices(params['tags'])
        if params['device_profile_uids']:
            rots |= client.devices_with_profiles(params['device_profile_uids'])
        return rots, sorted(named - known), False

    def read(self):
        params = self.params
        self.reads = UbloxSecurity(self.client, concurrency=params['concurrency'])
        rots, missing, everything = self.devices()
        start, end = self.window
        result = dict(device_count=len(rots), missing=missing, period=period_view(start, end))
        readers = {
            'clone': lambda: self.reads.clones(rots, start, end),
            'suspicious': lambda: self.reads.suspicious(rots),
            'activity': lambda: self.reads.activity(rots, start, end, details=params['activity_details']),
            'notifications': lambda: self.reads.notifications(rots, start, end, params['notification_type']),
            'usage': lambda: self.reads.usage(rots, start, end, everything=everything),
        }
        for check in self.checks:
            result[RESULT_KEYS[check]] = readers[check]() if rots else ({} if check == 'usage' else [])
        if params['not_seen_days'] is not None:
            result['not_seen'] = not_seen_for(result['activity'], params['not_seen_days'], self.client.http.now())
        return result


def main():
    options = device_options('rot_public_uids', 'tags', 'device_profile_uids')
    options.update((name, dict(type='str')) for name in ('from_date', 'to_date'))
    options.update((name, dict(type='int')) for name in ('since_days', 'not_seen_days'))
    options.update(checks=dict(type='list', elements='str', choices=list(CHECKS), default=list(DEFAULT_CHECKS)),
                   notification_type=dict(type='str', choices=list(NOTIFICATION_TYPES)), activity_details=dict(type='bool', default=False))
    run_module(SecurityInfo, ARGSPEC, mutually_exclusive=[('from_date', 'since_days')], **dict(options, **BATCH_ARGSPEC))


if __name__ == '__main__':
    main()
