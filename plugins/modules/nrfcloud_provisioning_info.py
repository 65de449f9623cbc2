#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read claimed nRF Cloud devices and their provisioning commands."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_provisioning_info
short_description: Read claimed nRF Cloud devices and their provisioning commands
version_added: 0.1.0
description:
  - Lists the devices the team has claimed in the nRF Cloud Provisioning Service, filtered by id, status or tag, with each
    device's provisioning command history.
  - Reads the claimed-device list once (all pages) and then the command history of the selected devices, concurrently.
extends_documentation_fragment:
  - iotops.provisioning.nrfcloud
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_nrfcloud
  - iotops.provisioning.attributes.info_module
options:
  device_ids:
    description: Only these devices. Ids that are not claimed are listed in RV(missing).
    type: list
    elements: str
  status:
    description: Only devices with this status.
    type: str
    choices: [READY, PROVISIONING, AWAITING, PROVISIONED, ERROR, BLOCKED]
  tags:
    description: Only devices claimed with all of these provisioning tags.
    type: list
    elements: str
  include_commands:
    description:
      - Read each selected device's command history. Set to V(false) for a quick status overview of many devices.
      - Forced to V(true) by O(expires_within_days), which needs the history.
    type: bool
    default: true
  expires_within_days:
    description:
      - Only devices whose current client certificate (the newest succeeded C(clientCertificate) command) expires within this
        many days from now - the devices due for certificate rotation.
    type: int
seealso:
  - module: iotops.provisioning.nrfcloud_provisioning
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Devices of the batch that are not provisioned yet
  iotops.provisioning.nrfcloud_provisioning_info:
    status: AWAITING
    include_commands: false
  register: awaiting

- name: Command history of two devices
  iotops.provisioning.nrfcloud_provisioning_info:
    device_ids:
      - 50434d44-3635-4137-80a1-0c1d2e3f4a5b
      - 50434d44-3635-4137-80a1-0c1d2e3f4a5c
  register: history

- name: Devices whose client certificate expires within 30 days
  iotops.provisioning.nrfcloud_provisioning_info:
    expires_within_days: 30
  register: due

- name: Devices claimed for auto-onboarding, read with 16 parallel requests
  iotops.provisioning.nrfcloud_provisioning_info:
    tags: [nrf-cloud-onboarding]
    concurrency: 16
'''

RETURN = r'''
devices:
  description: The selected claimed devices, as the Provisioning Service returns them, each with RV(devices[].commands).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
    status:
      description: READY, PROVISIONING, AWAITING, PROVISIONED, ERROR or BLOCKED.
      type: str
    tags:
      description: The provisioning tags the device was claimed with.
      type: list
      elements: str
    commands:
      description: The command history - id, kind, description, status, request (without secrets) and response, and
        C(created_at) and C(updated_at) when nRF Cloud gives the command's times.
      type: list
      elements: dict
      returned: when O(include_commands=true)
    csr:
      description: The PEM CSR of the newest succeeded CSR command and the response field it came in.
      type: dict
      returned: when O(include_commands=true) and the device returned a CSR
    client_certificate:
      description: The device's current client certificate - C(pem), C(subject), C(issuer), C(serial_number), C(not_before), C(not_after).
      type: dict
      returned: when O(include_commands=true) and the device has one
missing:
  description: Ids given in O(device_ids) that the team has not claimed.
  returned: always
  type: list
  elements: str
'''


from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._module import iso_utc
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import command_view, latest_client_certificate, latest_csr
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_info import NrfCloudInfo
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, run_module, validate_concurrency
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import certificate_summary, load_certificate
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC


def with_history(device, history):
    """The device with its command history, its newest CSR and its current client certificate."""
    device['commands'] = [command_view(c) for c in history]
    csr = latest_csr(history)
    if csr:
        device['csr'] = csr
    pem = latest_client_certificate(history)
    if pem:
        device['client_certificate'] = dict(certificate_summary(load_certificate(pem, 'clientCertificate')), pem=pem)
    return device


class ProvisioningInfo(NrfCloudInfo):
    def validate(self):
        validate_concurrency(self.params)

    def list_devices(self):
        return self.client.claimed_devices()

    def details(self, devices):
        window = self.params['expires_within_days']
        if self.params['include_commands'] or window is not None:
            histories = map_concurrently(lambda d: self.client.commands(d['id']), devices, self.params['concurrency'])
            devices = [with_history(device, history) for device, history in zip(devices, histories)]
        if window is not None:
            limit = iso_utc(self.client.http.now() + window * 86400)
            devices = [d for d in devices if d.get('client_certificate') and d['client_certificate']['not_after'] <= limit]
        return devices


def main():
    run_module(ProvisioningInfo, ARGSPEC, **BATCH_ARGSPEC,
               device_ids=dict(type='list', elements='str'),
               status=dict(type='str', choices=['READY', 'PROVISIONING', 'AWAITING', 'PROVISIONED', 'ERROR', 'BLOCKED']),
               tags=dict(type='list', elements='str'),
               include_commands=dict(type='bool', default=True),
               expires_within_days=dict(type='int'))


if __name__ == '__main__':
    main()
