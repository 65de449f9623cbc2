#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one SIP device or all SIP devices of an iotcomms.io tenant domain."""

from __future__ import annotations

DOCUMENTATION = r'''
module: iotcomms_device_info
short_description: Read the SIP devices of an iotcomms.io tenant domain
version_added: 0.1.0
description:
  - Returns one device (O(device_id)) or every device of the tenant domain, as the iotcomms.io Provisioning API holds them.
  - The device list is read with one request; one device is read with C(GET /provisioning/device/{domain}/{deviceId}).
  - Passwords are write-only in iotcomms.io and never returned.
extends_documentation_fragment:
  - iotops.provisioning.iotcomms
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_iotcomms
options:
  device_id:
    description:
      - The id of the device to read. Without it, every device of the domain is returned.
      - An unknown id gives an empty RV(devices) list, not an error.
    type: str
    aliases: [deviceId]
notes:
  - "The module runs on the controller (C(delegate_to: localhost)); the JWT is signed there."
seealso:
  - module: iotops.provisioning.iotcomms_device
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read every device of the domain (domain and key from IOTCOMMS_DOMAIN and IOTCOMMS_PRIVATE_KEY_PATH)
  iotops.provisioning.iotcomms_device_info:
  delegate_to: localhost
  register: all_devices

- name: Read one device with an explicit domain and key
  iotops.provisioning.iotcomms_device_info:
    api_url: https://api.prod-eu-north-1.iotcomms.io
    domain: customer47.prod-eu-north-1.iotcomms.io
    private_key_path: /etc/iotops/iotcomms-api.pem
    device_id: "4670001"
  delegate_to: localhost
  register: one_device

- name: Show the device ids without a MAC address
  ansible.builtin.debug:
    msg: "{{ all_devices.devices | selectattr('macAddress', 'equalto', '') | map(attribute='deviceId') | list }}"
'''

RETURN = r'''
devices:
  description: The devices, as iotcomms.io returns them (its field names). Empty if O(device_id) names no device.
  returned: always
  type: list
  elements: dict
  sample:
    - deviceId: '4670001'
      authType: credentials
      deviceType: alarmUnit
      deviceCLI: '+46700000001'
      macAddress: '00:1A:2B:3C:4D:01'
      description: Entrance, building 7
count:
  description: How many devices RV(devices) holds.
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.iotcomms import ARGSPEC, iotcomms_client


class DeviceInfo(InfoModule):
    """One device (a GET of it) or the domain's list; never the password."""

    def connect(self):
        return iotcomms_client(self.module)

    def read(self):
        device_id = self.params['device_id']
        if device_id is not None:
            device = self.client.get_device(device_id)
            devices = [device] if device is not None else []
        else:
            devices = self.client.list_devices()
        devices = [{key: value for key, value in device.items() if key != 'password'} for device in devices]
        return dict(devices=devices, count=len(devices))


def main():
    run_module(DeviceInfo, ARGSPEC, device_id=dict(type='str', aliases=['deviceId']))


if __name__ == '__main__':
    main()
