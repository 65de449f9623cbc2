#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage u-blox ZTP Root CAs."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_rootca
short_description: Manage u-blox Zero Touch Provisioning Root CAs
version_added: 0.1.0
description:
  - Makes u-blox Security Services ZTP Root CAs present or absent by name. u-blox signs the device certificates of
    Zero Touch Provisioning with these CAs; a Thingstream domain can have up to 15 of them.
  - A new Root CA is created with O(cas[].ca_validity_days) and O(cas[].device_certificate_validity_days). u-blox cannot
    change either validity later, so a different value for an existing Root CA fails the task with an explanation,
    before anything is changed. O(cas[].renew_before_expiration_days) is updated in place.
  - The Root CA certificate (PEM) is returned, and written to O(cas[].certificate_path) when given.
  - With O(cas[].pop_registration_code) the module generates the Proof-of-Possession certificate that an IoT platform
    asks for after the Root CA was uploaded to it, and writes it to O(cas[].pop_certificate_path). A certificate already
    in that file is kept when it was issued by this Root CA for the same registration code.
  - u-blox refuses to delete a Root CA that is linked to a device profile, or that is set in the current or desired
    certificate properties of a device (a device holding a certificate from it, or with a certificate action pending that
    names it, such as an update to a new key pair between its two security heartbeats). The module checks all of that
    first and never sends a delete u-blox would refuse; it reports which devices or profiles keep the Root CA and why.
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
    details:
      - Nothing is sent to u-blox and no file is written. A Root CA that does not exist yet has no certificate, so
        RV(outcomes[].ca.certificate) is empty for it in check mode.
  diff_mode:
    support: full
options:
  cas:
    description:
      - The Root CAs, one entry each. Each name may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The Root CA name (u-blox C(CAName)). At most 45 characters of letters, digits, underscores, dashes and dots.
          - It has to be unique across all u-blox customers, so a domain name you own is a good choice.
        type: str
        required: true
      state:
        description:
          - Whether the Root CA exists. Defaults to the module's O(state).
        type: str
        choices: [present, absent]
      ca_validity_days:
        description:
          - Validity of the Root CA certificate, in days, from 1825 to 3650. Required to create a Root CA.
          - For an existing Root CA it is compared, and a different value fails the task (u-blox cannot change it).
        type: int
      device_certificate_validity_days:
        description:
          - Validity of the device certificates the Root CA signs, in days, from 30 to 3650, and not more than
            O(cas[].ca_validity_days). Required to create a Root CA; compared like O(cas[].ca_validity_days).
        type: int
      renew_before_expiration_days:
        description:
          - How many days before a device certificate expires u-blox renews it automatically at the device's security
            heartbeat, from 1 to 365. Needs the Device Certificate Management subscription.
          - Updated in place when it differs. Leaving it out keeps the current value.
        type: int
      certificate_path:
        description:
          - Write the Root CA certificate (PEM) to this file. The file is only rewritten when its content differs.
        type: path
      pop_registration_code:
        description:
          - The registration code an IoT platform gave when the Root CA was uploaded to it. The module generates a
            Proof-of-Possession certificate whose subject is this code, signed by the Root CA.
          - At most 64 characters (the certificate's common name). Requires O(cas[].pop_certificate_path).
        type: str
      pop_certificate_path:
        description:
          - Write the Proof-of-Possession certificate (PEM) to this file. If the file already holds a certificate issued by
            this Root CA for O(cas[].pop_registration_code), no new one is generated.
        type: path
      mode:
        description:
          - The permissions of the files written, in octal as a quoted string (V('0644')) or in symbolic form
            (V(u=rw,go=r)), as for M(ansible.builtin.file). Leaving it out keeps the mode of an existing file, and a new
            file gets the default permissions.
        type: raw
  state:
    description:
      - The default of O(cas[].state).
    type: str
    choices: [present, absent]
    default: present
  wait_for_devices:
    description:
      - What to do with a Root CA to delete that devices still have in their current or desired certificate properties.
      - With V(false) the item fails, naming the devices and what to do.
      - With V(true) the Root CA is kept and the item is reported as waiting (RV(outcomes[].waiting)), not failed, as a
        rollover wants while its transfers reach the devices at their security heartbeats; a later run deletes it. A Root
        CA linked to a device profile fails either way (a person unlinks it in the Thingstream portal).
    type: bool
    default: false
notes:
  - A Root CA that is no longer wanted but still in use is removed in this order - move its devices to another Root CA with
    M(iotops.provisioning.ublox_device_certificate) (O(iotops.provisioning.ublox_device_certificate#module:action=transfer)),
    let them reach their security heartbeat, unlink it from its device profile in the Thingstream portal, then set
    O(cas[].state=absent).
  - Before a delete the module counts the holders of the Root CA (one call) and reads the device profiles; only when
    neither keeps it does it read the certificate properties of every device of the account (the device list, then
    100 devices per device-info call), to find the devices whose pending certificate action names it.
seealso:
  - module: iotops.provisioning.ublox_rootca_info
  - module: iotops.provisioning.ublox_device_certificate
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: A production Root CA, its certificate on disk, and a PoP certificate for the IoT platform
  iotops.provisioning.ublox_rootca:
    cas:
      - name: devices.example.com
        ca_validity_days: 3650
        device_certificate_validity_days: 365
        renew_before_expiration_days: 30
        certificate_path: /etc/iot/ublox-devices-ca.pem
        pop_registration_code: "{{ platform_registration_code }}"
        pop_certificate_path: /etc/iot/ublox-devices-ca-pop.pem
        mode: "0644"
  register: ublox_ca

- name: Show the certificate to upload to the IoT platform
  ansible.builtin.debug:
    msg: "{{ ublox_ca.results[0].ca.certificate }}"

- name: Renew device certificates 60 days before they expire from now on
  iotops.provisioning.ublox_rootca:
    cas:
      - name: devices.example.com
        renew_before_expiration_days: 60

- name: Several Root CAs in one task, the test one removed
  iotops.provisioning.ublox_rootca:
    concurrency: 4
    cas:
      - name: test.devices.example.com
        state: absent
      - name: lab.devices.example.com
        ca_validity_days: 1825
        device_certificate_validity_days: 30

- name: Remove Root CAs
  iotops.provisioning.ublox_rootca:
    state: absent
    cas:
      - name: old-1.devices.example.com
      - name: old-2.devices.example.com

- name: Delete the retired Root CA once no device needs it any more (kept, not failed, until then)
  iotops.provisioning.ublox_rootca:
    state: absent
    wait_for_devices: true
    cas:
      - name: old.devices.example.com
  register: retired

- name: Show why it is still kept
  ansible.builtin.debug:
    msg: "{{ retired.outcomes[0].reason }}"
  when: retired.outcomes[0].waiting | default(false)
'''

RETURN = r'''
outcomes:
  description: One entry per item of O(cas), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The Root CA name.
      type: str
      sample: devices.example.com
    changed:
      description: Whether this Root CA or one of its files changed (or would, in check mode).
      type: bool
    failed:
      description: Whether this item failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: What went wrong, when RV(outcomes[].failed) is true.
      type: str
      returned: on failure
    state:
      description: The state of the Root CA after the task.
      type: str
      sample: present
    actions:
      description: What was done (or would be, in check mode), for example V(created), V(updated renew_before_expiration_days),
        V(wrote certificate_path), V(generated PoP certificate), V(deleted).
      type: list
      elements: str
    ca:
      description: The Root CA after the task; absent for a deleted one.
      type: dict
      returned: when present
      contains:
        name:
          description: The name (CAName).
          type: str
        ca_validity_days:
          description: Root CA validity in days.
          type: int
        device_certificate_validity_days:
          description: Device certificate validity in days.
          type: int
        renew_before_expiration_days:
          description: Days before expiry when device certificates are renewed automatically; null if not set.
          type: int
        certificate:
          description: The Root CA certificate in PEM.
          type: str
        created_date:
          description: When the Root CA was created (ISO 8601 UTC).
          type: str
        expiration_date:
          description: When the Root CA certificate expires (ISO 8601 UTC).
          type: str
    status:
      description: For O(cas[].state=absent), V(deleted) (or would be, in check mode), V(absent) (there was no such Root
        CA), or V(kept) (devices still need it and O(wait_for_devices=true)).
      type: str
      returned: for O(cas[].state=absent) unless the item failed
      sample: kept
    waiting:
      description: True when the Root CA is kept until devices reach their security heartbeat (O(wait_for_devices=true));
        a later run deletes it.
      type: bool
      returned: for O(cas[].state=absent)
    reason:
      description: Why a Root CA to delete is kept, in plain words.
      type: str
      returned: when RV(outcomes[].status=kept)
      sample: 4 device(s) have it in their current or desired certificate properties
    in_use:
      description: What keeps a Root CA to delete.
      type: dict
      returned: when RV(outcomes[].status=kept)
      contains:
        holders:
          description: How many devices hold a certificate signed by it.
          type: int
        devices:
          description: The devices without a certificate from it whose desired certificate properties name it (read
            only when no device holds one), with what is pending.
          type: list
          elements: dict
          contains:
            rot_public_uid:
              description: The device's ROTPublicUID.
              type: str
            reason:
              description: Why the device still needs the Root CA.
              type: str
    pop_certificate:
      description: The Proof-of-Possession certificate in PEM (new or the one kept in the file).
      type: str
      returned: when O(cas[].pop_registration_code) is given, except in check mode when a new one would be generated
summary:
  description: Counts of the items.
  returned: always
  type: dict
  sample: {total: 2, changed: 1, ok: 1, failed: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils import _ublox_rootca as rules
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._files import pem_text, write_file
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, require_unique, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, ca_view, item_outcome, ublox_client


class RootCAModule(ResourceModule):
    """Reads every Root CA once; creates, updates the renew policy, writes the certificate and PoP files, deletes (after
    checking what keeps a Root CA, so that u-blox is never sent a delete it refuses)."""

    items_option, noun = 'cas', 'Root CAs'
    existing = {}  # CAName -> u-blox's record; set by read

    def key(self, item):
        return item.get('name')

    def unique_key(self, item):
        return None  # checked in validate, before the rules of each item

    def validate(self, items):
        if not items:
            raise ConfigError('cas is empty; give at least one Root CA')
        require_unique(items, 'cas', self.key)

    def validate_item(self, item):
        rules.validate_ca(item)

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.existing = self.client.root_cas()
        validate_items(items, 'cas', lambda item: rules.check_against(item, self.existing.get(item['name'])), label=self.key)
        rules.check_limit(items, self.existing)

    def plan(self, item):
        current = self.existing.get(item['name'])
        if item['state'] == 'absent':
            # what keeps the Root CA is read for this item alone (one call, or the whole account when nothing obvious does)
            users = self.client.ca_users(item['name'], concurrency=self.params['concurrency']) if current is not None else None
            return rules.plan_removal(item, current, users, self.params['wait_for_devices'])
        return rules.plan_ca(item, current, rules.local_files(self.module, item))

    def apply(self, plan):
        if plan.action == rules.DELETE:
            self.client.delete_root_ca(plan.item)
            return None
        item, ca, applied = plan.data['options'], plan.data['ca'], {}
        if plan.action == rules.CREATE:
            ca = self.client.create_root_ca(plan.item, item['ca_validity_days'], item['device_certificate_validity_days'],
                                            item['renew_before_expiration_days'])
            plan.after = rules.diff_view(ca)
            applied['ca'] = ca_view(ca)
        elif plan.action == rules.UPDATE:
            self.client.set_renew_before(plan.item, item['renew_before_expiration_days'])
        self.write_files(plan, item, ca.get('Certificate'), applied)
        return applied

    def write_files(self, plan, item, pem, applied):
        """The certificate and the PoP certificate, as planned (a new Root CA's certificate is known only now)."""
        if item['certificate_path'] and pem:
            write_file(self.module, item['certificate_path'], pem_text(pem), item['mode'])
        pop = plan.data['pop']
        if pop.get('kept') is not None:
            write_file(self.module, item['pop_certificate_path'], pop['kept'], item['mode'])
        elif pop.get('generate') is not None:
            applied['pop_certificate'] = pem_text(self.client.generate_pop_certificate(plan.item, pop['generate']))
            write_file(self.module, item['pop_certificate_path'], applied['pop_certificate'], item['mode'])

    def outcomes(self, results):
        return [item_outcome(result) for result in results]


CA_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent']),
    pop_registration_code=dict(type='str', no_log=False),
    mode=dict(type='raw'),
    **dict((option, dict(type='int')) for option in rules.MANAGED),
    **dict((option, dict(type='path')) for option in ('certificate_path', 'pop_certificate_path')),
)


def main():
    run_module(RootCAModule, ARGSPEC, **BATCH_ARGSPEC,
               cas=dict(type='list', elements='dict', required=True, options=CA_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               wait_for_devices=dict(type='bool', default=False))


if __name__ == '__main__':
    main()
