#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Onboard devices to nRF Cloud device management with their certificates, name and tag them, delete them."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_device
short_description: Onboard devices to nRF Cloud with their certificates, set name and tags, delete
version_added: 0.1.0
description:
  - Onboards devices to nRF Cloud device management with their device certificate (signed by your own CA), through the bulk
    CSV call C(POST /v1/devices), and follows the bulk operation to its end, reporting each row's error.
  - Sets the name and the tags of onboarded devices, sending C(If-Match) with the device version so a concurrent change is
    never overwritten (the device is read again and compared after an HTTP 412).
  - Deletes devices.
  - Reads the team's device list once (all pages) to decide; a second run with the same input sends no write.
extends_documentation_fragment:
  - iotops.provisioning.nrfcloud
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_nrfcloud
attributes:
  check_mode:
    support: full
    details:
      - Sends no write; RV(outcomes[].action) tells what the real run would do.
  diff_mode:
    support: full
    details:
      - Shows name, tags, sub type and firmware types of each changed device, before and after.
options:
  devices:
    description:
      - The devices; one device is a list of one. At most 1000 rows go into one bulk request; longer lists are split.
    type: list
    elements: dict
    required: true
    suboptions:
      device_id:
        description:
          - The device id, 1 to 128 letters, digits, C(:), C(_) or C(-). Nordic recommends the device UUID.
        type: str
        required: true
      certificate:
        description:
          - The device certificate, PEM, with the device's EC P-256 (ES256) public key. Required to onboard a device that is not
            onboarded yet; not compared afterwards (nRF Cloud does not return it).
        type: str
      sub_type:
        description:
          - The device sub type; a sub type containing C(gateway) gives the device gateway permissions. Set at onboarding.
        type: str
        default: ''
      fw_types:
        description:
          - The firmware types the device supports for FOTA. Set at onboarding.
        type: list
        elements: str
        choices: [APP, MODEM, BOOT, SOFTDEVICE, BOOTLOADER, MDM_FULL]
        default: [APP, MODEM]
      tags:
        description:
          - The device's tags; each is letters, digits and the characters C(_.@:#-). Replaces all tags of the device when given.
        type: list
        elements: str
      name:
        description:
          - The device's friendly name, for example its IMEI.
        type: str
      state:
        description:
          - V(present) onboards the device or updates it; V(absent) deletes it. Defaults to O(state).
        type: str
        choices: [present, absent]
  state:
    description: The default O(devices[].state).
    type: str
    choices: [present, absent]
    default: present
  bulk_timeout:
    description: Seconds to wait for the bulk onboarding operations to finish.
    type: int
    default: 300
  bulk_interval:
    description:
      - The longest wait in seconds between two reads of the bulk operations' status (all of them in one round).
      - The first read comes 0.2 s after the upload and the wait doubles from there up to this value, so a small batch is
        not held up by a long interval.
    type: float
    default: 2
seealso:
  - module: iotops.provisioning.nrfcloud_device_info
  - module: iotops.provisioning.nrfcloud_provisioning
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Onboard the devices provisioned by iotops.provisioning.nrfcloud_provisioning (registered as provisioned)
  iotops.provisioning.nrfcloud_device:
    devices: "{{ provisioned.onboarding }}"

- name: Onboard one gateway with a name and tags
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        certificate: "{{ lookup('ansible.builtin.file', 'device.crt') }}"
        sub_type: gateway
        fw_types: [APP, MODEM, BOOT]
        name: "351358811234567"
        tags: [line-7, batch-2026-47]
    bulk_timeout: 120
    bulk_interval: 5

- name: Retag devices (replaces their tags)
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        tags: [line-7, shipped]

- name: Delete devices returned from the field
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    state: absent
'''

RETURN = r'''
outcomes:
  description: One entry per device, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device id.
      type: str
    changed:
      description: Whether the device was onboarded, updated or deleted.
      type: bool
    failed:
      description: Whether this device failed; RV(outcomes[].msg) says why (for onboarding, the bulk operation's row error).
      type: bool
    msg:
      description: The reason of a failure.
      type: str
      returned: when failed
    phase:
      description:
        - V(onboarded) (in nRF Cloud device management), V(removed), or V(needs attention) when it failed
      type: str
      sample: onboarded
    waiting:
      description: Whether the next step is the device's own (a later run moves it on); not a failure.
      type: bool
    action:
      description: V(onboarded), V(updated), V(deleted) or V(none).
      type: str
    bulk_ops_request_id:
      description: The bulk operation that onboarded the device.
      type: str
      returned: when onboarded
summary:
  description: Counts of devices by outcome.
  returned: always
  type: dict
  sample: {total: 3, changed: 1, ok: 2, failed: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import require_p256
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_onboarding import (
    BULK_INTERVAL, BULK_TIMEOUT, DELETE, FIELDS_SPEC, ONBOARD, BulkOnboarding, plan_device, validate_fields)
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import load_certificate
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client, validate_device_id

DEVICE_SPEC = dict(
    device_id=dict(type='str', required=True),
    certificate=dict(type='str'),
    name=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
    **FIELDS_SPEC
)


def validate_device(device):
    validate_device_id(device['device_id'])
    validate_fields(device)
    if device.get('certificate'):
        cert = load_certificate(device['certificate'], 'certificate')
        require_p256(cert.public_key(), 'certificate (its public key)')


def needs_certificate(device):
    if not device.get('certificate'):
        raise ConfigError('certificate is required to onboard a device that is not onboarded yet')


class DeviceModule(ResourceModule):
    """Read the device list once, onboard in bulk (one poll loop for every bulk request), update and delete per device."""

    items_option = noun = 'devices'

    def __init__(self, module):
        super().__init__(module)
        self.existing = {}
        self.onboarded = {}  # device_id -> what its bulk onboarding reported

    def key(self, item):
        return item.get('device_id')

    def validate_item(self, item):
        validate_device(item)

    def connect(self):
        return nrfcloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.existing = dict((d['id'], d) for d in self.client.list_devices())
        # a device to onboard needs its certificate: known only now, still before any write
        validate_items([d for d in items if d['state'] == 'present' and d['device_id'] not in self.existing], 'devices',
                       needs_certificate, label=self.key)

    def plan(self, item):
        return plan_device(item, self.existing.get(item['device_id']))

    def apply_all(self, plans):
        onboarding = [plan.data['device'] for plan in plans if plan.action == ONBOARD]
        if onboarding:
            self.onboarded = BulkOnboarding(self.client, self.params['bulk_timeout'], self.params['bulk_interval']).run(onboarding)
        return super().apply_all(plans)

    def apply(self, plan):
        if plan.action == DELETE:
            return self.client.delete_device(plan.item)
        if plan.action != ONBOARD:
            return self.client.update_device(plan.item, plan.data['changes'], plan.data['current'])
        outcome = dict(self.onboarded.get(plan.item) or {})
        if outcome.get('failed'):
            raise IotopsError(outcome['msg'])
        if plan.data['device'].get('name'):
            self.client.put_device_field(plan.item, 'name', plan.data['device']['name'])
        return outcome

    def outcomes(self, results):
        for result in results:
            outcome_phase(result, result.get('phase'))
        return results


def main():
    run_module(DeviceModule, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               state=dict(type='str', default='present', choices=['present', 'absent']),
               bulk_timeout=dict(type='int', default=BULK_TIMEOUT),
               bulk_interval=dict(type='float', default=BULK_INTERVAL))


if __name__ == '__main__':
    main()
