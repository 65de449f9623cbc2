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
    identity well-formed and unique - and reports every problem with its row number.
  - Returns the devices and, per vendor, the list ready for the vendor's module.
  - Used by the C(iotops.provisioning.factory_onboarding) role; usable on its own.
extends_documentation_fragment:
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
options:
  path:
    description:
      - Path of the manifest on the controller. C(.csv) is read as CSV; C(.yml), C(.yaml) and C(.json) as YAML.
    type: path
    required: true
  format:
    description:
      - The manifest format when the file name does not tell.
    type: str
    choices: [csv, yaml]
notes:
  - 'Columns: C(serial) (required, unique: the device label in reports), C(nrfcloud_claim_token) (the C(AT%ATTESTTOKEN)
    attestation token), C(ublox_rot_public_uid) (16 hex digits), C(ublox_imei) (15 digits), C(iotcomms_device_id) (the SIP user
    part), C(iotcomms_mac) (optional), C(naocloud_mac) (C(AA:BB:CC:DD:EE:FF)) and C(naocloud_name) (optional, defaults to the serial).
    Empty cells mean the device has no identity with that vendor.'
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read the batch manifest
  iotops.provisioning.manifest_info:
    path: /srv/factory/batch-2026-47.csv
  register: manifest

- name: Read a manifest written by the MES as YAML without an extension
  iotops.provisioning.manifest_info:
    path: /srv/factory/batch-2026-47.export
    format: yaml
'''

RETURN = r'''
devices:
  description: Every row, normalised (MACs upper case, UIDs lower case, empty cells dropped).
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
'''

import csv
import io
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import run
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import device_id_from_claim_token

COLUMNS = ('serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'iotcomms_mac',
           'naocloud_mac', 'naocloud_name')
MAC = re.compile(r'^[0-9A-F]{2}(:[0-9A-F]{2}){5}$')
ROT_UID = re.compile(r'^[0-9a-f]{16}$')
IMEI = re.compile(r'^[0-9]{15}$')
SIP_USER = re.compile(r'^[A-Za-z0-9._~+-]{1,64}$')
# (column, rule, normaliser) for the identity checks
CHECKS = (
    ('ublox_rot_public_uid', ROT_UID, str.lower, 'must be 16 hexadecimal digits (the 8-byte root-of-trust UID)'),
    ('ublox_imei', IMEI, str.strip, 'must be 15 digits'),
    ('iotcomms_device_id', SIP_USER, str.strip, 'must be 1 to 64 letters, digits or . _ ~ + - (the SIP user part)'),
    ('iotcomms_mac', MAC, str.upper, 'must be a MAC address AA:BB:CC:DD:EE:FF'),
    ('naocloud_mac', MAC, str.upper, 'must be a MAC address AA:BB:CC:DD:EE:FF'),
)
UNIQUE = ('serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'naocloud_mac')


def load_rows(path, fmt):
    try:
        with open(path, 'r', encoding='utf-8-sig') as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError('path: cannot read the manifest %s (%s)' % (path, exc.strerror)) from None
    fmt = fmt or ('csv' if path.lower().endswith('.csv') else 'yaml' if os.path.splitext(path)[1].lower() in ('.yml', '.yaml', '.json')
                  else None)
    if fmt is None:
        raise ConfigError('path: cannot tell the manifest format from %s; set format to csv or yaml' % os.path.basename(path))
    if fmt == 'csv':
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        rows = [dict((k.strip(), v) for k, v in row.items() if k is not None) for row in reader]
    else:
        try:
            data = yaml_load(text)
        except Exception as exc:  # pylint: disable=broad-except
            raise ConfigError('path: the manifest is not valid YAML (%s)' % str(exc).splitlines()[0]) from None
        if isinstance(data, dict):
            data = data.get('devices')
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ConfigError('path: a YAML manifest must be a list of mappings, or a mapping with a devices list')
        rows = data
        header = sorted(set(k for r in rows for k in r))
    return header, rows


def check(header, rows):
    problems = []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append('unknown column(s) %s; the manifest columns are %s' % (', '.join(unknown), ', '.join(COLUMNS)))
    if 'serial' not in header:
        problems.append('the serial column is missing; every device needs a serial (its label in reports)')
    if not rows:
        problems.append('the manifest has no device rows')
    seen = dict((c, {}) for c in UNIQUE)
    devices = []
    for number, row in enumerate(rows, start=2 if header else 1):
        device = dict((k, str(v).strip()) for k, v in row.items() if k in COLUMNS and v not in (None, '') and str(v).strip())
        if 'serial' not in device and 'serial' in header:
            problems.append('row %d: serial is empty' % number)
        for column, rule, normalise, text in CHECKS:
            if column in device:
                device[column] = normalise(device[column])
                if not rule.match(device[column]):
                    problems.append('row %d: %s %r %s' % (number, column, device[column], text))
        if 'nrfcloud_claim_token' in device:
            try:
                device['nrfcloud_device_id'] = device_id_from_claim_token(device['nrfcloud_claim_token'])
            except ConfigError as exc:
                problems.append('row %d: nrfcloud_%s' % (number, exc.msg))
        for column in UNIQUE:
            value = device.get(column)
            if value is None:
                continue
            if value in seen[column]:
                problems.append('row %d: %s %r duplicates row %d' % (number, column, value, seen[column][value]))
            else:
                seen[column][value] = number
        devices.append(device)
    if problems:
        shown = problems[:30]
        raise ConfigError('the manifest has %d problem(s), nothing was sent: %s%s'
                          % (len(problems), '; '.join(shown), '; ...' if len(problems) > len(shown) else ''), problems=problems)
    return devices


def split(devices):
    """Per vendor, items shaped exactly as the vendor's module takes them; serials are kept apart for reports."""
    def pick(device, *pairs):
        return dict((key, device[column]) for key, column in pairs if column in device)
    nrf = [pick(d, ('claim_token', 'nrfcloud_claim_token')) for d in devices if 'nrfcloud_claim_token' in d]
    ublox = [pick(d, ('rot_public_uid', 'ublox_rot_public_uid'), ('imei', 'ublox_imei'))
             for d in devices if 'ublox_rot_public_uid' in d or 'ublox_imei' in d]
    iotcomms = [pick(d, ('device_id', 'iotcomms_device_id'), ('mac_address', 'iotcomms_mac')) for d in devices if 'iotcomms_device_id' in d]
    nao = [dict(tracking_id=d['naocloud_mac'], name=d.get('naocloud_name') or d['serial']) for d in devices if 'naocloud_mac' in d]
    serials = dict(
        nrfcloud=dict((d['nrfcloud_device_id'], d['serial']) for d in devices if 'nrfcloud_device_id' in d),
        # both identities of a u-blox device, so that its whitelist entries by ROTPublicUID and by IMEI make one report row
        ublox=dict((d[column], d['serial']) for d in devices for column in ('ublox_rot_public_uid', 'ublox_imei') if column in d),
        iotcomms=dict((d['iotcomms_device_id'], d['serial']) for d in devices if 'iotcomms_device_id' in d),
        naocloud=dict((d['naocloud_mac'], d['serial']) for d in devices if 'naocloud_mac' in d),
    )
    return nrf, ublox, iotcomms, nao, serials


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True), format=dict(type='str', choices=['csv', 'yaml'])),
                           supports_check_mode=True)

    def read():
        header, rows = load_rows(module.params['path'], module.params['format'])
        devices = check(header, rows)
        nrf, ublox, iotcomms, nao, serials = split(devices)
        module.exit_json(changed=False, devices=devices, nrfcloud=nrf, ublox=ublox, iotcomms=iotcomms, naocloud=nao, serials=serials,
                         counts=dict(total=len(devices), nrfcloud=len(nrf), ublox=sum(1 for d in devices if 'ublox_rot_public_uid' in d or 'ublox_imei' in d),
                                     iotcomms=len(iotcomms), naocloud=len(nao)))

    run(module, read)


if __name__ == '__main__':
    main()
