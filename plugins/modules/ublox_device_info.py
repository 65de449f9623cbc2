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
  expires_within_days:
    description:
      - Return only the devices whose certificate expires within this many days (0 to 3650), judged by the u-blox
        cloud's clock (its C(Date) header) when it differs from the controller's by an hour or more, as
        M(iotops.provisioning.ublox_device_certificate) judges O(iotops.provisioning.ublox_device_certificate#module:renew_within_days).
      - Expired and revoked certificates are within any window (see RV(devices[].certificate.revoked)); a certificate
        whose expiry u-blox does not give counts as within, as the renewal would act on it; a device that holds no
        certificate is left out.
      - Needs V(ZTP) in O(options). RV(missing) still lists only the devices u-blox does not know.
    type: int
  include_whitelist:
    description:
      - Also return RV(whitelist), the whitelist entries (every page of C(/device/whitelist/get)) of the devices named, or
        the whole whitelist when none is named.
      - With RV(devices) it tells a module that is whitelisted but has not bootstrapped yet, and since when it waits.
    type: bool
    default: false
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

- name: The certificates of line 1 that expire within 30 days (expired ones included), on u-blox's clock
  iotops.provisioning.ublox_device_info:
    tags: [line-1]
    options: [ZTP]
    expires_within_days: 30
  register: line1_due

- name: Every blacklisted device
  iotops.provisioning.ublox_device_info:
    filter: blacklisted
    options: [CORE]

- name: Modules of a batch that are whitelisted but have not bootstrapped (not in devices, in the whitelist)
  iotops.provisioning.ublox_device_info:
    rot_public_uids: "{{ batch_rots }}"
    options: [CORE]
    include_whitelist: true
  register: batch_ublox

- name: Since when each of them waits, on u-blox's clock
  ansible.builtin.debug:
    msg: "{{ batch_ublox.whitelist | rejectattr('id', 'in', batch_ublox.devices | map(attribute='rot_public_uid')) }}"
'''

RETURN = r'''
devices:
  description: The devices, sorted by ROTPublicUID; only the parts asked for in O(options) are present. With
    O(expires_within_days), only the devices whose certificate expires within that many days.
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
    root_ca:
      description:
        - The Root CA the device belongs to (ZTP) - its certificate's C(ca_name), or while an update to a new key pair holds no
          certificate between two heartbeats, the C(ca_name) of its pending action; null when it has neither.
        - The one field to group devices by Root CA, for example C(devices | groupby('root_ca')).
      type: str
      sample: devices.example.com
missing:
  description: Requested ROTPublicUIDs u-blox does not know.
  returned: always
  type: list
  elements: str
whitelist:
  description: The whitelist entries of the devices named (ROTPublicUIDs only), or every entry when none is named.
  returned: when O(include_whitelist=true)
  type: list
  elements: dict
  contains:
    type:
      description: V(ROTPublicUID) or V(IMEI).
      type: str
    id:
      description: The ROTPublicUID (lowercase) or IMEI.
      type: str
    created_date:
      description: When it was whitelisted (ISO 8601 UTC, as u-blox gives it).
      type: str
  sample: [{type: ROTPublicUID, id: '0002000089280087', created_date: '2026-05-01T10:00:00Z'}]
cloud_time:
  description:
    - The u-blox cloud's time at the end of the read (ISO 8601 UTC), from the C(Date) header of its last answer; the
      controller's time when u-blox does not send one. Ages such as how long a module waits since it was whitelisted are
      judged on this clock.
  returned: always
  type: str
  sample: '2026-05-28T20:26:40Z'
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    DEVICE_VALIDITY,
    expires_within,
    INFO_OPTIONS,
    ARGSPEC,
    device_view,
    epoch_iso,
    normalize_rot,
    tag_name_problem,
    ublox_client,
)


def root_ca(device):
    """The Root CA of a device view with ZTP: its certificate's, or its pending action's while it holds none."""
    held = device.get('certificate') or device.get('pending_certificate_action') or {}
    return held.get('ca_name')


class DeviceInfo(InfoModule):
    """The devices named (by ROTPublicUID, tag or serial), or the account's devices by ``filter``; optionally only those
    whose certificate expires within ``expires_within_days`` on u-blox's clock."""

    def __init__(self, module):
        super().__init__(module)
        self.rots = set()

    def named(self):
        return any(self.params[option] for option in ('rot_public_uids', 'tags', 'device_serial_numbers'))

    def validate(self):
        params = self.params
        if not params['options']:
            raise ConfigError('options is empty; give one or more of %s' % ', '.join(INFO_OPTIONS))
        if self.named() and params['filter'] != 'all':
            raise ConfigError('filter applies only when no device is named (rot_public_uids, tags, device_serial_numbers)')
        self.rots = set(normalize_rot(rot) for rot in params['rot_public_uids'] or ())
        for tag in params['tags'] or ():
            problem = tag_name_problem(tag)
            if problem:
                raise ConfigError('tags: %s' % problem)
        within = params['expires_within_days']
        if within is not None:
            if not 0 <= within <= DEVICE_VALIDITY[1]:
                raise ConfigError('expires_within_days is %d; it must be from 0 to %d days' % (within, DEVICE_VALIDITY[1]))
            if 'ZTP' not in params['options']:
                raise ConfigError('expires_within_days needs ZTP in options: the certificate says when it expires')

    def connect(self):
        return ublox_client(self.module)

    def read(self):
        params, client = self.params, self.client
        rots = set(self.rots)
        options = [option for option in INFO_OPTIONS if option in params['options']]
        if params['tags']:
            rots |= client.tagged_devices(params['tags'])
        if not self.named():
            rots = set(client.device_list(params['filter'].upper()))
        records = client.device_info(rots, options=options)
        records.update(client.device_info_by_serials(params['device_serial_numbers'] or (), options=options))
        devices = [device_view(records[rot]) for rot in sorted(records)]
        if 'ZTP' in options:
            for device in devices:
                device['root_ca'] = root_ca(device)
        result = dict(missing=sorted(self.rots - set(records)))
        if params['include_whitelist']:
            result['whitelist'] = self.whitelist(rots if self.named() else None)
        now = client.http.now()  # after the reads: the cloud's clock from its last answer (see _http.ServerClock)
        if params['expires_within_days'] is not None:
            devices = [device for device in devices if expires_within(device['certificate'], params['expires_within_days'], now)]
        return dict(result, devices=devices, cloud_time=epoch_iso(now))

    def whitelist(self, rots):
        """The whitelist entries, only the ROTPublicUIDs in ``rots`` unless it is None."""
        entries = [dict(type=entry.get('Type'), id=str(entry.get('Id')).lower(), created_date=entry.get('CreatedDate'))
                   for entry in self.client.whitelist()]
        if rots is None:
            return entries
        return [entry for entry in entries if entry['type'] == 'ROTPublicUID' and entry['id'] in rots]


def main():
    run_module(
        DeviceInfo, ARGSPEC,
        rot_public_uids=dict(type='list', elements='str'),
        tags=dict(type='list', elements='str'),
        device_serial_numbers=dict(type='list', elements='str'),
        filter=dict(type='str', choices=['all', 'whitelisted', 'blacklisted'], default='all'),
        options=dict(type='list', elements='str', choices=list(INFO_OPTIONS), default=list(INFO_OPTIONS)),
        expires_within_days=dict(type='int'),
        include_whitelist=dict(type='bool', default=False),
    )


if __name__ == '__main__':
    main()
