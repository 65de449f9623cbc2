#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set u-blox feature authorizations and the security heartbeat on devices or on a device profile."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_provisioning
short_description: Set u-blox feature authorizations and the security heartbeat
version_added: 0.1.0
description:
  - Sets the u-blox Security Services feature authorizations (Local Data Protection, Local Chip-to-Chip Security and its
    Key Pairing, ZTP v1) and the security heartbeat interval.
  - With O(rot_public_uids) or O(tags), on devices that have already bootstrapped. u-blox applies them at each device's
    next security heartbeat; until then they are the device's desired properties.
  - With O(device_profile_uid), as the bootstrap provisioning of a device profile - what new devices of that profile get
    when they bootstrap (if they are on the whitelist, see M(iotops.provisioning.ublox_device_whitelist)).
  - The module compares with what is applied and what is already desired, and sends one call for the devices that still
    differ. O(state=absent) withdraws the desired properties that have not been applied yet (devices) or the bootstrap
    provisioning (device profile).
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.ublox.features
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - For each device (or the profile) that changes, the effective authorizations and heartbeat before and after.
options:
  rot_public_uids:
    description:
      - Bootstrapped devices by ROTPublicUID (1 to 16 hexadecimal digits).
    type: list
    elements: str
  tags:
    description:
      - Bootstrapped devices carrying any of these tags.
    type: list
    elements: str
  device_profile_uid:
    description:
      - A device profile (for example V(AgbCtixjwqLjwV3VWpfPyz)) whose bootstrap provisioning is set, instead of devices.
      - Mutually exclusive with O(rot_public_uids) and O(tags).
    type: str
  state:
    description:
      - V(present) sets the given properties. V(absent) withdraws every desired property not applied yet (devices), or the
        bootstrap provisioning (device profile); O(authorizations) and O(security_heartbeat) are not used then.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: iotops.provisioning.ublox_device_info
  - module: iotops.provisioning.ublox_device_whitelist
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Enable Local Data Protection and a one-hour heartbeat on the devices of line 1
  iotops.provisioning.ublox_device_provisioning:
    tags: [line-1]
    authorizations:
      local_dpr: true
    security_heartbeat: 3600

- name: Chip-to-chip security on two devices, key pairing off
  iotops.provisioning.ublox_device_provisioning:
    rot_public_uids:
      - "0002000089280087"
      - "135700008928c093"
    authorizations:
      local_c2c: true
      local_c2c_key_pairing: false
    concurrency: 4

- name: New devices of the profile get ZTP when they bootstrap
  iotops.provisioning.ublox_device_provisioning:
    device_profile_uid: AgbCtixjwqLjwV3VWpfPyz
    authorizations:
      ztpv1: true

- name: Withdraw what was not applied yet
  iotops.provisioning.ublox_device_provisioning:
    tags: [line-1]
    state: absent
'''

RETURN = r'''
outcomes:
  description: One entry per device (or one for the device profile).
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The ROTPublicUID or the DeviceProfileUID.
      type: str
    changed:
      description: Whether the properties were sent (or withdrawn) for it.
      type: bool
    failed:
      description: Whether it failed.
      type: bool
    status:
      description: V(acted), V(done) (already applied), V(pending) (already desired, waits for the heartbeat) or V(failed).
      type: str
    desired:
      description: The desired properties before the task, as C({authorizations, security_heartbeat}).
      type: dict
    current:
      description: The applied properties before the task (devices only).
      type: dict
      returned: for devices
acted_on:
  description: The ROTPublicUIDs (or the DeviceProfileUID) the call was sent for, or would be in check mode.
  returned: always
  type: list
  elements: str
summary:
  description: Counts of the devices.
  returned: always
  type: dict
  sample: {total: 3, changed: 2, ok: 1, failed: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, NO_CHANGE, Plan, ResourceModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    AUTHORIZATIONS,
    check_profile_uid,
    normalize_rot,
    effective_features as effective,
    features_differ as differs,
    features_wanted,
    provisioning_view,
    requested_features,
    status_outcomes,
    tag_name_problem,
    ublox_client,
)

AUTH_SPEC = {option: dict(type='bool') for option in AUTHORIZATIONS}
SET = 'set'
WITHDRAW = 'withdraw'


def requested(params):
    """({u-blox name: ENABLED|DISABLED}, heartbeat or None) from the options."""
    return requested_features(params['authorizations'], params['security_heartbeat'])


def validate(params):
    devices = params['rot_public_uids'] is not None or params['tags'] is not None
    if devices and params['device_profile_uid'] is not None:
        raise ConfigError('device_profile_uid cannot be combined with rot_public_uids or tags: bootstrap provisioning applies to a device '
                          'profile, the other to devices that have bootstrapped')
    if not devices and params['device_profile_uid'] is None:
        raise ConfigError('give rot_public_uids or tags (devices that have bootstrapped), or device_profile_uid (bootstrap provisioning)')
    for option in ('rot_public_uids', 'tags'):
        if params[option] == []:
            raise ConfigError('%s is empty; name at least one device or leave it out' % option)
    if params['rot_public_uids']:
        params['rot_public_uids'] = sorted(set(normalize_rot(rot) for rot in params['rot_public_uids']))
    for tag in params['tags'] or ():
        problem = tag_name_problem(tag)
        if problem:
            raise ConfigError('tags: %s' % problem)
    if params['device_profile_uid'] is not None:
        params['device_profile_uid'] = check_profile_uid(params['device_profile_uid'], 'device_profile_uid')
    auths, heartbeat = requested(params)
    if params['state'] == 'present':
        if not auths and heartbeat is None:
            raise ConfigError('state=present needs authorizations (at least one of %s) or security_heartbeat'
                              % ', '.join(AUTHORIZATIONS))
        if heartbeat is not None and heartbeat < 1:
            raise ConfigError('security_heartbeat is %d; it is an interval in seconds and must be at least 1' % heartbeat)
    elif auths or heartbeat is not None:
        raise ConfigError('authorizations and security_heartbeat are not used with state=absent, which withdraws every desired '
                          'property; remove them')


def plan_features(item, desired, current, state, auths, heartbeat):
    """What a device (``current``: its applied properties) or a device profile (``current`` None: it has only desired
    properties) needs, from provisioning_views; no request. The status is ``acted`` (a write), ``pending`` (already desired,
    waits for the heartbeat) or ``done``."""
    profile = current is None
    result = dict(desired=desired) if profile else dict(desired=desired, current=current)
    if state == 'absent':
        if not features_wanted(desired):
            return Plan(item, result=dict(result, status='done'))
        withdrawn = provisioning_view(None)
        before, after = (desired, withdrawn) if profile else (dict(desired=desired), dict(desired=withdrawn))
        return Plan(item, WITHDRAW, before=before, after=after, result=dict(result, status='acted'))
    before = desired if profile else effective(desired, current)
    if differs(before, auths, heartbeat):
        after = effective(dict(authorizations=auths, security_heartbeat=heartbeat), before)
        return Plan(item, SET, before=before, after=after, result=dict(result, status='acted'))
    return Plan(item, NO_CHANGE, result=dict(result, status='pending' if not profile and differs(current, auths, heartbeat) else 'done'))


def plan_device(rot, record, state, auths, heartbeat):
    """The plan of a device from its /device/info/get record (PROVISIONING); IotopsError when u-blox does not know it."""
    if record is None:
        raise IotopsError('u-blox knows no device with ROTPublicUID %s' % rot)
    provisioning = record.get('Provisioning') or {}
    return plan_features(rot, provisioning_view(provisioning.get('DesiredProperties')), provisioning_view(provisioning.get('CurrentProperties')),
                         state, auths, heartbeat)


class Provisioning(ResourceModule):
    """The devices (named and tagged) or the device profile, read once; one call for all that differ (``apply_all``)."""

    items_option, noun = 'rot_public_uids', 'devices'
    item_defaults = ()

    def __init__(self, module):
        super().__init__(module)
        self.auths, self.heartbeat = {}, None
        self.profile = None       # the DeviceProfileUID, or None for devices
        self.records = {}         # {ROTPublicUID: device info} or {DeviceProfileUID: bootstrap provisioning}
        self.targets = []

    def items(self):
        return []  # rot_public_uids, tags and device_profile_uid are checked whole; the devices are known after ``read``

    def key(self, item):
        return item

    def validate(self, items):
        validate(self.params)
        self.auths, self.heartbeat = requested(self.params)
        self.profile = self.params['device_profile_uid']
        if self.profile is not None:
            self.noun = 'device profiles'

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        if self.profile is not None:
            self.records, self.targets = {self.profile: self.client.bootstrap_provisioning(self.profile)}, [self.profile]
            return
        rots = set(self.params['rot_public_uids'] or ())
        if self.params['tags']:
            rots |= self.client.tagged_devices(self.params['tags'])
        self.records = self.client.device_info(rots, options=('PROVISIONING',), concurrency=self.params['concurrency'])
        self.targets = sorted(rots)

    def implied_items(self, items):
        return self.targets

    def plan(self, item):
        state = self.params['state']
        if self.profile is not None:
            return plan_features(item, self.records[item], None, state, self.auths, self.heartbeat)
        return plan_device(item, self.records.get(item), state, self.auths, self.heartbeat)

    def apply_all(self, plans):
        """One call for every target that differs; u-blox's refusal fails them all with its words."""
        targets = [plan.item for plan in plans]
        try:
            self.send(targets)
        except IotopsError as exc:
            return dict((target, dict(changed=False, failed=True, status='failed', msg=self.redact(exc.msg))) for target in targets)
        return {}

    def send(self, targets):
        client, absent = self.client, self.params['state'] == 'absent'
        if self.profile is not None:
            if absent:
                client.delete_bootstrap_provisioning(self.profile)
            else:
                client.set_bootstrap_provisioning(self.profile, self.auths, self.heartbeat)
        elif absent:
            client.delete_provisioning(targets)
        else:
            client.set_provisioning(targets, self.auths, self.heartbeat)

    def outcomes(self, results):
        self.extra['acted_on'] = status_outcomes(results, 'acted')
        return results


def main():
    run_module(Provisioning, ARGSPEC,
               rot_public_uids=dict(type='list', elements='str'),
               tags=dict(type='list', elements='str'),
               device_profile_uid=dict(type='str'),
               authorizations=dict(type='dict', options=AUTH_SPEC),
               security_heartbeat=dict(type='int'),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               **BATCH_ARGSPEC)


if __name__ == '__main__':
    main()
