#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read u-blox device information: root of trust, provisioning state and ZTP certificate."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_info
short_description: Read u-blox device information
version_added: 0.1.0
description:
  - Returns the u-blox Security Services information of devices named by ROTPublicUID, tag or device serial number, or
    of every device of the account (optionally only the whitelisted or blacklisted ones).
  - O(options) chooses the parts - V(CORE) (the sealed root-of-trust information, state, tags), V(PROVISIONING)
    (desired and current feature authorizations and heartbeat) and V(ZTP) (the device certificate and any certificate
    action waiting for the next security heartbeat).
  - Lists are read page by page and device information 100 devices per call.
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_ublox
options:
  rot_public_uids:
    description:
      - Devices by ROTPublicUID (1 to 16 hexadecimal digits). Unknown ones are listed in RV(missing).
    type: list
    elements: str
  tags:
    description:
      - Every device carrying any of these tags.
    type: list
    elements: str
  device_serial_numbers:
    description:
      - Devices by the serial number sealed into them (C(DeviceSerialNumber)), not a certificate serial number.
    type: list
    elements: str
  filter:
    description:
      - When no device is named, which devices of the account to return.
    type: str
    choices: [all, whitelisted, blacklisted]
    default: all
  options:
    description:
      - The parts of the information to return.
    type: list
    elements: str
    choices: [CORE, PROVISIONING, ZTP]
    default: [CORE, PROVISIONING, ZTP]
seealso:
  - module: iotops.provisioning.ublox_device_certificate
  - module: iotops.provisioning.ublox_device_provisioning
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Certificates of the devices of line 1
  iotops.provisioning.ublox_device_info:
    tags: [line-1]
    options: [ZTP]
  register: line1

- name: Devices whose certificate is revoked
  ansible.builtin.debug:
    msg: "{{ line1.devices | selectattr('certificate.revoked', 'defined') | selectattr('certificate.revoked') | map(attribute='rot_public_uid') }}"

- name: Everything about two devices
  iotops.provisioning.ublox_device_info:
    rot_public_uids:
      - "0002000089280087"
    device_serial_numbers:
      - "123234354"

- name: Every blacklisted device
  iotops.provisioning.ublox_device_info:
    filter: blacklisted
    options: [CORE]
'''

RETURN = r'''
devices:
  description: The devices, sorted by ROTPublicUID; only the parts asked for in O(options) are present.
  returned: always
  type: list
  elements: dict
  contains:
    rot_public_uid:
      description: The ROTPublicUID (lowercase).
      type: str
      sample: "0002000089280087"
    imei:
      description: IMEI (CORE).
      type: str
    device_serial_number:
      description: Device serial number (CORE).
      type: str
    device_profile_uid:
      description: The device profile sealed into the device (CORE).
      type: str
    type_number:
      description: Module type number (CORE).
      type: str
    state:
      description: V(ACTIVATED) or V(ALLOCATED) (CORE).
      type: str
    blacklisted:
      description: Whether the device is blacklisted (CORE).
      type: bool
    tags:
      description: The tags assigned to the device (CORE).
      type: list
      elements: str
    bootstrap_date:
      description: When the device bootstrapped (CORE).
      type: str
    last_seen:
      description: Its last security heartbeat (CORE).
      type: str
    provisioning:
      description: C(desired) and C(current) properties, each C({authorizations, security_heartbeat}) (PROVISIONING).
      type: dict
      sample: {desired: {authorizations: {}, security_heartbeat: null}, current: {authorizations: {LocalDPR: ENABLED}, security_heartbeat: 86400}}
    certificate:
      description: The device certificate (ZTP), or null when it holds none.
      type: dict
      contains:
        ca_name:
          description: The Root CA that signed it.
          type: str
        serial_number:
          description: Serial number.
          type: str
        validity_days:
          description: Validity in days.
          type: int
        issued_date:
          description: When it was issued (ISO 8601 UTC).
          type: str
        expiration_date:
          description: When it expires (ISO 8601 UTC).
          type: str
        revoked:
          description: Whether it is revoked.
          type: bool
    pending_certificate_action:
      description: The certificate action waiting for the next security heartbeat (ZTP), or null.
      type: dict
      sample: {action: RENEW, ca_name: devices.example.com, validity_days: 365, modified_date: '2026-05-01T10:00:00Z'}
missing:
  description: Requested ROTPublicUIDs u-blox does not know.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    INFO_OPTIONS,
    ARGSPEC,
    device_view,
    normalize_rot,
    tag_name_problem,
    ublox_client,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC,
            rot_public_uids=dict(type='list', elements='str'),
            tags=dict(type='list', elements='str'),
            device_serial_numbers=dict(type='list', elements='str'),
            filter=dict(type='str', choices=['all', 'whitelisted', 'blacklisted'], default='all'),
            options=dict(type='list', elements='str', choices=list(INFO_OPTIONS), default=list(INFO_OPTIONS)),
        ),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        if not params['options']:
            raise ConfigError('options is empty; give one or more of %s' % ', '.join(INFO_OPTIONS))
        named = any(params[option] for option in ('rot_public_uids', 'tags', 'device_serial_numbers'))
        if named and params['filter'] != 'all':
            raise ConfigError('filter applies only when no device is named (rot_public_uids, tags, device_serial_numbers)')
        rots = set(normalize_rot(rot) for rot in params['rot_public_uids'] or ())
        for tag in params['tags'] or ():
            problem = tag_name_problem(tag)
            if problem:
                raise ConfigError('tags: %s' % problem)
        client = ublox_client(module)
        options = [option for option in INFO_OPTIONS if option in params['options']]
        wanted = set(rots)
        if params['tags']:
            known = client.tags()
            missing_tags = [tag for tag in params['tags'] if tag.casefold() not in known]
            if missing_tags:
                raise ConfigError('tags: u-blox has no tag %s' % ', '.join(missing_tags))
            rots |= client.devices_with_tags(params['tags'])
        if not named:
            rots = set(client.device_list(params['filter'].upper()))
        records = client.device_info(rots, options=options)
        records.update(client.device_info_by_serials(params['device_serial_numbers'] or (), options=options))
        devices = [device_view(records[rot]) for rot in sorted(records)]
        module.exit_json(changed=False, devices=devices, missing=sorted(wanted - set(records)))

    run(module, work)


if __name__ == '__main__':
    main()
