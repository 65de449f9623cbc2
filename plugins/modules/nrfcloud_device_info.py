#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read devices onboarded to nRF Cloud device management."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_device_info
short_description: Read devices onboarded to nRF Cloud
version_added: 0.1.0
description:
  - Lists the devices of the team in nRF Cloud device management, reading the device list once (all pages), optionally only
    some ids or tags.
extends_documentation_fragment:
  - iotops.provisioning.nrfcloud
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_nrfcloud
  - iotops.provisioning.attributes.info_module
options:
  device_ids:
    description: Only these devices. Ids that are not onboarded are listed in RV(missing).
    type: list
    elements: str
  tags:
    description: Only devices that carry all of these tags.
    type: list
    elements: str
seealso:
  - module: iotops.provisioning.nrfcloud_device
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: All devices of the team
  iotops.provisioning.nrfcloud_device_info:
  register: fleet

- name: Which of these devices are onboarded
  iotops.provisioning.nrfcloud_device_info:
    device_ids: "{{ batch_ids }}"
  register: onboarded

- name: Devices of line 7
  iotops.provisioning.nrfcloud_device_info:
    tags: [line-7]
'''

RETURN = r'''
devices:
  description: The selected devices as nRF Cloud returns them (id, name, tags, type, subType, firmware, $meta).
  returned: always
  type: list
  elements: dict
  sample: [{id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b, name: "351358811234567", tags: [line-7], "$meta": {version: "2"}}]
missing:
  description: Ids given in O(device_ids) that are not onboarded.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_info import NrfCloudInfo
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC


class DeviceInfo(NrfCloudInfo):
    def list_devices(self):
        return self.client.list_devices()


def main():
    run_module(DeviceInfo, ARGSPEC, device_ids=dict(type='list', elements='str'), tags=dict(type='list', elements='str'))


if __name__ == '__main__':
    main()
