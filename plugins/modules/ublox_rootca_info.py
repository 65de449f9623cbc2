#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read u-blox ZTP Root CAs, their CRLs and the devices holding their certificates."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_rootca_info
short_description: Read u-blox ZTP Root CAs, their revocation lists and their devices
version_added: 0.1.0
description:
  - Lists the u-blox Security Services Zero Touch Provisioning Root CAs, or one of them by name.
  - Optionally adds the Certificate Revocation List of each Root CA (O(crl)) and the devices that hold a certificate
    signed by it (O(devices); every page is read).
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_ublox
options:
  name:
    description:
      - The name of one Root CA. Without it every Root CA is returned.
      - A name that does not exist gives an empty RV(cas), not an error.
    type: str
  crl:
    description:
      - Add the Certificate Revocation List (PEM) and the serial numbers of the revoked device certificates of each
        Root CA. Needs the Device Certificate Management subscription.
    type: bool
    default: false
  devices:
    description:
      - Add the devices that hold a certificate signed by each Root CA, with the certificate's serial number and expiry.
    type: bool
    default: false
seealso:
  - module: iotops.provisioning.ublox_rootca
  - module: iotops.provisioning.ublox_device_certificate
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: List every Root CA
  iotops.provisioning.ublox_rootca_info:
  register: ublox_cas

- name: One Root CA with its CRL and its devices
  iotops.provisioning.ublox_rootca_info:
    name: devices.example.com
    crl: true
    devices: true
  register: ublox_ca

- name: Write the CRL for the IoT platform
  ansible.builtin.copy:
    content: "{{ ublox_ca.cas[0].crl.pem }}"
    dest: /etc/iot/ublox-devices-ca.crl
    mode: "0644"
  when: ublox_ca.cas | length > 0

- name: Devices whose certificate expires before the end of the year
  ansible.builtin.debug:
    msg: "{{ ublox_ca.cas[0].devices | selectattr('expiration_date', '<', '2027-01-01') | map(attribute='rot_public_uid') }}"
'''

RETURN = r'''
cas:
  description: The Root CAs, in the order u-blox lists them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The Root CA name (CAName).
      type: str
      sample: devices.example.com
    ca_validity_days:
      description: Root CA validity in days.
      type: int
      sample: 3650
    device_certificate_validity_days:
      description: Validity of the device certificates it signs, in days.
      type: int
      sample: 365
    renew_before_expiration_days:
      description: Days before expiry when device certificates are renewed automatically; null if not set.
      type: int
      sample: 30
    certificate:
      description: The Root CA certificate in PEM.
      type: str
    created_date:
      description: When it was created (ISO 8601 UTC).
      type: str
      sample: '2026-04-20T19:00:36Z'
    expiration_date:
      description: When the Root CA certificate expires (ISO 8601 UTC).
      type: str
      sample: '2036-04-18T19:00:36Z'
    crl:
      description: The revocation list.
      returned: when O(crl=true)
      type: dict
      contains:
        pem:
          description: The CRL in PEM, signed by the Root CA.
          type: str
        revoked_serial_numbers:
          description: Serial numbers of the revoked device certificates.
          type: list
          elements: str
    devices:
      description: The devices holding a certificate from this Root CA.
      returned: when O(devices=true)
      type: list
      elements: dict
      contains:
        rot_public_uid:
          description: The device's ROTPublicUID.
          type: str
        serial_number:
          description: The certificate's serial number.
          type: str
        expiration_date:
          description: When the certificate expires (ISO 8601 UTC).
          type: str
        revoked:
          description: Whether the certificate is revoked.
          type: bool
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, ca_name_problem, ca_view, ublox_client

HOLDER_READS = 4  # Root CAs whose holders are read at once


def crl_view(crl):
    crl = crl or {}
    return dict(pem=crl.get('CRL'), revoked_serial_numbers=crl.get('RevokedSerialNumbers') or [])


def holder_view(device):
    """A device holding a certificate of the Root CA, as /ztp/rootca/device/get lists it."""
    return dict(rot_public_uid=str(device.get('ROTPublicUID')).lower(), serial_number=device.get('CertificateSerialNumber'),
                expiration_date=device.get('ExpirationDate'), revoked=bool(device.get('Revoked')))


class RootCAInfo(InfoModule):
    """Every Root CA or one by name, with their CRLs and their holders on request."""

    def validate(self):
        if self.params['name'] is not None:
            problem = ca_name_problem(self.params['name'])
            if problem:
                raise ConfigError('name %s' % problem)

    def connect(self):
        return ublox_client(self.module)

    def read(self):
        if self.params['name'] is not None:
            found = self.client.root_ca(self.params['name'])
            raws = [found] if found else []
        else:
            raws = list(self.client.root_cas().values())
        cas = [ca_view(raw) for raw in raws]
        names = [ca['name'] for ca in cas]
        if self.params['crl'] and names:
            crls = self.client.crls(names)
            for ca in cas:
                ca['crl'] = crl_view(crls.get(ca['name']))
        if self.params['devices'] and names:
            for ca, devices in zip(cas, map_concurrently(self.client.ca_devices, names, HOLDER_READS)):
                ca['devices'] = [holder_view(device) for device in devices]
        return dict(cas=cas)


def main():
    run_module(RootCAInfo, ARGSPEC,
               name=dict(type='str'),
               crl=dict(type='bool', default=False),
               devices=dict(type='bool', default=False))


if __name__ == '__main__':
    main()
