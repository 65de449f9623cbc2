#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set the u-blox E2E data protection key rotation policy of devices."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_e2e_key_rotation
short_description: Set the u-blox E2E key rotation policy of devices
version_added: 0.2.0
description:
  - Sets how u-blox Security Services rotates the keys of E2E data protection (C(/e2e/key/rotate)) for bootstrapped
    devices - V(CONTINUOUS) (a new key at every E2E call) or V(AUTOMATIC) (a new key every O(days) days; the same key is
    returned until then).
  - With V(AUTOMATIC), u-blox shortens a device's security heartbeat to the rotation period when the heartbeat is longer
    (seed 002); the shorter heartbeat is a desired property the device takes at its next heartbeat. The module predicts
    it (RV(outcomes[].heartbeat_adjusted)) and sends the policy again when a longer heartbeat was set afterwards.
  - The module reads each device's policy and heartbeat once (C(/device/info/get), 100 devices a request) and sends the
    policy only for the devices that differ, 100 ROTPublicUIDs a request. Devices named by tag are sent by ROTPublicUID,
    so that only those that differ are written.
  - The data-plane E2E calls (keys and protection parameters) are not part of this module.
extends_documentation_fragment:
  - iotops.provisioning.ublox
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
      - For each device that changes, its policy and effective security heartbeat before and after.
options:
  rot_public_uids:
    description:
      - Bootstrapped devices by ROTPublicUID (1 to 16 hexadecimal digits).
    type: list
    elements: str
  tags:
    description:
      - Bootstrapped devices carrying any of these tags. A tag u-blox does not have is an error.
    type: list
    elements: str
  type:
    description:
      - V(CONTINUOUS) rotates the key every time the E2E APIs are called; V(AUTOMATIC) every O(days) days.
    type: str
    choices: [CONTINUOUS, AUTOMATIC]
    required: true
  days:
    description:
      - With O(type=AUTOMATIC), the rotation period, 1 to 30 days; u-blox's default of 7 when not given.
      - Not used with V(CONTINUOUS) (an error when given).
    type: int
notes:
  - Seed 002 documents no read of the policy; the module reads it from the C(E2EKeyRotation) field of the device information
    (PROVISIONING), as the collection's mock serves it. Without such a field every device counts as having no policy.
  - Do not give the same devices a security heartbeat longer than O(days) with M(iotops.provisioning.ublox_device_provisioning),
    or each module undoes the other's heartbeat at every run.
seealso:
  - module: iotops.provisioning.ublox_device_provisioning
  - module: iotops.provisioning.ublox_device_security_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Rotate the E2E keys of line 1 every day
  iotops.provisioning.ublox_e2e_key_rotation:
    tags: [line-1]
    type: AUTOMATIC
    days: 1

- name: A new key at every E2E call for two devices
  iotops.provisioning.ublox_e2e_key_rotation:
    rot_public_uids:
      - "0002000089280087"
      - "135700008928c093"
    type: CONTINUOUS
    concurrency: 4

- name: u-blox's default weekly rotation, shown before it is sent
  iotops.provisioning.ublox_e2e_key_rotation:
    tags: [field-trial]
    type: AUTOMATIC
  check_mode: true
  diff: true
'''

RETURN = r'''
outcomes:
  description: One entry per device, sorted by ROTPublicUID.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The ROTPublicUID (lowercase).
      type: str
    changed:
      description: Whether the policy was sent for it (or would be, in check mode).
      type: bool
    failed:
      description: Whether it failed.
      type: bool
    status:
      description: V(set) (the policy was sent), V(done) (it had it) or V(failed).
      type: str
    policy:
      description: The policy it has after the task, C({type, days}) (C(days) null for V(CONTINUOUS)).
      type: dict
      sample: {type: AUTOMATIC, days: 1}
    previous_policy:
      description: The policy it had before, or null.
      type: dict
    security_heartbeat:
      description: Its security heartbeat in seconds after the task (applied or desired), as u-blox adjusts it.
      type: int
    heartbeat_adjusted:
      description: Whether u-blox shortens its heartbeat to the rotation period (taken at the device's next heartbeat).
      type: bool
    msg:
      description: Why it failed.
      type: str
      returned: when failed
acted_on:
  description: The ROTPublicUIDs the policy was sent for, or would be in check mode.
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
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_security import (
    ROTATION_TYPES,
    SET,
    UbloxSecurity,
    device_options,
    plan_rotation,
    rotation_problem,
    validate_devices,
    wanted_policy,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, rot_chunks, status_outcomes, ublox_client


class KeyRotation(ResourceModule):
    """The devices (named and tagged), read once with their policy and heartbeat; one call per 100 that differ."""

    items_option, noun = 'rot_public_uids', 'devices'
    item_defaults = ()

    def __init__(self, module):
        super().__init__(module)
        self.policy = None
        self.security = None
        self.records = {}
        self.targets = []

    def items(self):
        return []  # rot_public_uids and tags are checked whole; the devices are known after ``read``

    def key(self, item):
        return item

    def validate(self, items):
        params = self.params
        if params['rot_public_uids'] is None and params['tags'] is None:
            raise ConfigError('give rot_public_uids or tags: the devices whose E2E key rotation is set')
        validate_devices(params, ('rot_public_uids', 'tags'))
        problem = rotation_problem(params['type'], params['days'])
        if problem:
            raise ConfigError(problem)
        self.policy = wanted_policy(params['type'], params['days'])

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        rots = set(self.params['rot_public_uids'] or ())
        if self.params['tags']:
            rots |= self.client.tagged_devices(self.params['tags'])
        self.security = UbloxSecurity(self.client, concurrency=self.params['concurrency'])
        self.records = self.security.rotation_records(rots)
        self.targets = sorted(rots)

    def implied_items(self, items):
        return self.targets

    def plan(self, item):
        return plan_rotation(item, self.records.get(item), self.policy)

    def apply_all(self, plans):
        """One call per 100 devices that differ; u-blox's refusal fails the devices of that call with its words."""
        results = {}
        for chunk in rot_chunks(plan.item for plan in plans):
            try:
                self.security.rotate_keys(chunk, self.policy)
            except IotopsError as exc:
                results.update((rot, dict(changed=False, failed=True, status='failed', msg=self.redact(exc.msg))) for rot in chunk)
        return results

    def outcomes(self, results):
        self.extra['acted_on'] = status_outcomes(results, SET)
        return results


def main():
    policy = dict(type=dict(type='str', choices=list(ROTATION_TYPES), required=True), days=dict(type='int'))
    run_module(KeyRotation, ARGSPEC, **dict(device_options('rot_public_uids', 'tags'), **policy, **BATCH_ARGSPEC))


if __name__ == '__main__':
    main()
