#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and check a production batch manifest (CSV or YAML) and split it per vendor."""

from __future__ import annotations

DOCUMENTATION = r'''
module: manifest_info
short_description: Read and check a production batch manifest and split it per vendor cloud
version_added: 0.1.0
description:
  - Reads a manifest of a production batch, one row per device with whichever vendor identities the device has, from a CSV
    file (first row = column names) or a YAML file (a list of mappings, or a mapping with a C(devices) list), on the controller.
  - Checks every row before anything is sent to any cloud - known columns, the C(serial) column present and unique, each
    identity well-formed as the vendor's module takes it, and each identity in one row only - and reports every problem with its
    row number at once. The rules are in the notes below.
  - Returns the devices and, per vendor, the list ready for the vendor's module.
  - Used by the C(iotops.provisioning.factory_onboarding) and C(iotops.provisioning.decommission) roles; usable on its own.
extends_documentation_fragment:
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
options:
  path:
    description:
      - Path of the manifest on the controller. C(.csv) is read as CSV; C(.yml), C(.yaml) and C(.json) as YAML.
      - One of O(path) and O(rows) is required.
    type: path
  rows:
    description:
      - The manifest's rows given directly instead of a file, one mapping per device with the manifest columns (for example from a
        role variable). They are checked like the rows of a YAML manifest (row 1 is the first).
    type: list
    elements: dict
    version_added: 0.2.0
  select:
    description:
      - Serials of the devices to return; the other rows are checked but left out of the result. A serial that is not in the manifest
        is a problem. Leave it out for every device.
    type: list
    elements: str
    version_added: 0.2.0
  format:
    description:
      - The manifest format when the file name does not tell.
    type: str
    choices: [csv, yaml]
  fail_on_problems:
    description:
      - With V(true), the task fails with every problem of the manifest.
      - With V(false), the task does not fail for problems of the manifest; it returns them in RV(problems) with no device, so
        that a role reports them together with its own in one error (a manifest that cannot be read is one such problem).
    type: bool
    default: true
notes:
  - 'Columns: C(serial) (required), C(nrfcloud_claim_token) (the C(AT%ATTESTTOKEN) attestation token), C(ublox_rot_public_uid),
    C(ublox_imei), C(iotcomms_device_id) (the SIP user part), C(iotcomms_mac) (optional), C(naocloud_mac) and C(naocloud_name)
    (optional, defaults to the serial). Empty cells mean the device has no identity with that vendor. Every cell is read without
    its leading and trailing spaces.'
  - 'The rules, checked for every row before anything is sent to any cloud: they are the rules the vendor modules apply later, so
    that a bad row fails the batch before the first write instead of halfway through it.'
  - 'C(serial): required in every row, at most 64 printable characters (no control characters such as tabs or line breaks); it
    labels the device''s row in reports.'
  - 'C(nrfcloud_claim_token): an nRF91 attestation token, whose body holds the nRF Cloud device id (a UUID).'
  - 'C(ublox_rot_public_uid): 16 hexadecimal digits (the 8-byte root-of-trust UID), in any case; returned in lower case.'
  - 'C(ublox_imei): 15 digits, of which the last is the Luhn check digit of the first 14 (as u-blox checks it): double every
    second digit of the first 14 starting with the second, add the digits of all 14 numbers, and the check digit is what brings
    the sum to the next multiple of 10. For example 49015420323751 has the check digit 8, so 490154203237518 is an IMEI.'
  - 'C(iotcomms_device_id): 1 to 64 letters, digits or C(. _ ~ + -), starting with a letter or digit (the user part of the SIP
    address, as M(iotops.provisioning.iotcomms_device) takes it).'
  - 'C(iotcomms_mac) and C(naocloud_mac): six pairs of hexadecimal digits separated by colons or by dashes, in any case
    (C(AA:BB:CC:DD:EE:FF), C(aa-bb-cc-dd-ee-ff)), the forms M(iotops.provisioning.iotcomms_device) and
    M(iotops.provisioning.naocloud_trackable) take; returned as those modules send them, C(AA:BB:CC:DD:EE:FF).
    C(iotcomms_mac) needs C(iotcomms_device_id) in the same row.'
  - 'C(naocloud_name): at most 255 characters (NAO Cloud''s limit); it needs C(naocloud_mac) in the same row.'
  - 'One device per identity: a serial, an nRF Cloud device (two different tokens of one device are one device), a ROTPublicUID,
    an IMEI, an iotcomms.io device id and a MAC address may each appear in one row only. A MAC address counts in both MAC
    columns: one row''s C(iotcomms_mac) may not be another row''s C(naocloud_mac) (one row may use the same MAC in both).'
  - 'Every problem is reported at once, with its row (the line of a CSV file, or the position in a YAML list), in the failure
    message and in the C(problems) list.'
  - 'The manifest is read and checked in the controller''s own process (an action plugin), also when the task runs for a host
    that is not the controller; nothing is copied to a host.'
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read the batch manifest
  iotops.provisioning.manifest_info:
    path: /srv/factory/batch-2026-47.csv
  register: manifest

- name: Two devices of a batch, for a runbook that acts on some of its devices
  iotops.provisioning.manifest_info:
    path: /srv/factory/batch-2026-47.csv
    select: [SN-0001, SN-0002]
  register: returned

- name: Devices given as data instead of a file
  iotops.provisioning.manifest_info:
    rows:
      - serial: SN-0001
        ublox_rot_public_uid: "0002000089280087"
        iotcomms_device_id: "4670000001"
  register: devices

- name: Read a manifest written by the MES as YAML without an extension
  iotops.provisioning.manifest_info:
    path: /srv/factory/batch-2026-47.export
    format: yaml
'''

RETURN = r'''
devices:
  description: Every row, normalised (MACs as AA:BB:CC:DD:EE:FF, ROTPublicUIDs lower case, empty cells dropped).
  returned: always
  type: list
  elements: dict
  sample: [{serial: SN-0001, nrfcloud_claim_token: "2dN3...", naocloud_mac: "AA:BB:CC:00:00:01"}]
nrfcloud:
  description: The devices with an nRF Cloud attestation token, as O(iotops.provisioning.nrfcloud_provisioning#module:devices) items.
  returned: always
  type: list
  elements: dict
  sample: [{claim_token: "2dN3bm9y...Q.0oRDoQEmoQRBIfZYQ"}]
nrfcloud_devices:
  description:
    - The same devices by nRF Cloud device id (read from the attestation token), as O(iotops.provisioning.nrfcloud_device#module:devices)
      items, for example to remove them.
  returned: always
  type: list
  elements: dict
  sample: [{device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b}]
  version_added: 0.2.0
ublox:
  description: The devices with a u-blox ROTPublicUID or IMEI (or both).
  returned: always
  type: list
  elements: dict
  sample: [{rot_public_uid: "0002000089280087", imei: "351358811234567"}]
iotcomms:
  description: The devices with an iotcomms.io SIP device id.
  returned: always
  type: list
  elements: dict
  sample: [{device_id: "4670000001", mac_address: "00:11:22:33:44:55"}]
naocloud:
  description: The devices with a NAO Cloud tracking MAC.
  returned: always
  type: list
  elements: dict
  sample: [{tracking_id: "AA:BB:CC:00:00:01", name: SN-0001}]
serials:
  description:
    - The serial of each device in the nRF Cloud, u-blox, iotcomms.io and NAO Cloud lists, by vendor identity, for reports.
    - For u-blox, by ROTPublicUID and by IMEI.
  returned: always
  type: dict
counts:
  description: Number of devices in total and per vendor.
  returned: always
  type: dict
  sample: {total: 50, nrfcloud: 50, ublox: 50, iotcomms: 50, naocloud: 50}
problems:
  description:
    - Every problem of the manifest, one per row and rule; the task fails (unless O(fail_on_problems=false)) and nothing is
      returned for the devices.
  returned: when the manifest has problems
  type: list
  elements: str
  sample: ["row 3: ublox_imei '490154203237517' is not an IMEI: the 15th digit is the Luhn check digit of the first 14; expected 8"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._manifest import MANIFEST_INFO_SPEC, manifest_result
from ansible_collections.iotops.provisioning.plugins.module_utils._module import run


def main():
    # A task runs the action of the same name, which reads the manifest on the controller with the same code; this module is
    # what that code is when it runs on its own (the unit tests).
    module = AnsibleModule(supports_check_mode=True, **MANIFEST_INFO_SPEC)

    def read():
        module.exit_json(**manifest_result(module.params))

    run(module, read)


if __name__ == '__main__':
    main()
