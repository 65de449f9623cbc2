#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set u-blox feature authorizations and the security heartbeat on devices or on a device profile."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_provisioning
short_description: Set u-blox feature authorizations and the security heartbeat
version_added: 0.1.0
description:
  - Sets the u-blox Security Services feature authorizations (Local Data Protection, Local Chip-to-Chip Security and its
    Key Pairing, ZTP v1) and the security heartbeat interval.
  - With O(rot_public_uids) or O(tags), on devices that have already bootstrapped. u-blox applies them at each device's
    next security heartbeat; until then they are the device's desired properties.
  - With O(device_profile_uid), as the bootstrap provisioning of a device profile - what new devices of that profile get
    when they bootstrap (if they are on the whitelist, see M(iotops.provisioning.ublox_device_whitelist)).
  - The module compares with what is applied and what is already desired, and sends one call for the devices that still
    differ. O(state=absent) withdraws the desired properties that have not been applied yet (devices) or the bootstrap
    provisioning (device profile).
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.ublox.features
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - For each device (or the profile) that changes, the effective authorizations and heartbeat before and after.
options:
  rot_public_uids:
    description:
      - Bootstrapped devices by ROTPublicUID (1 to 16 hexadecimal digits).
    type: list
    elements: str
  tags:
    description:
      - Bootstrapped devices carrying any of these tags.
    type: list
    elements: str
  device_profile_uid:
    description:
      - A device profile (for example V(AgbCtixjwqLjwV3VWpfPyz)) whose bootstrap provisioning is set, instead of devices.
      - Mutually exclusive with O(rot_public_uids) and O(tags).
    type: str
  state:
    description:
      - V(present) sets the given properties. V(absent) withdraws every desired property not applied yet (devices), or the
        bootstrap provisioning (device profile); O(authorizations) and O(security_heartbeat) are not used then.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: iotops.provisioning.ublox_device_info
  - module: iotops.provisioning.ublox_device_whitelist
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Enable Local Data Protection and a one-hour heartbeat on the devices of line 1
  iotops.provisioning.ublox_device_provisioning:
    tags: [line-1]
    authorizations:
      local_dpr: true
    security_heartbeat: 3600

- name: Chip-to-chip security on two devices, key pairing off
  iotops.provisioning.ublox_device_provisioning:
    rot_public_uids:
      - "0002000089280087"
      - "135700008928c093"
    authorizations:
      local_c2c: true
      local_c2c_key_pairing: false
    concurrency: 4

- name: New devices of the profile get ZTP when they bootstrap
  iotops.provisioning.ublox_device_provisioning:
    device_profile_uid: AgbCtixjwqLjwV3VWpfPyz
    authorizations:
      ztpv1: true

- name: Withdraw what was not applied yet
  iotops.provisioning.ublox_device_provisioning:
    tags: [line-1]
    state: absent
'''

RETURN = r'''
outcomes:
  description: One entry per device (or one for the device profile).
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The ROTPublicUID or the DeviceProfileUID.
      type: str
    changed:
      description: Whether the properties were sent (or withdrawn) for it.
      type: bool
    failed:
      description: Whether it failed.
      type: bool
    status:
      description: V(acted), V(done) (already applied), V(pending) (already desired, waits for the heartbeat) or V(failed).
      type: str
    desired:
      description: The desired properties before the task, as C({authorizations, security_heartbeat}).
      type: dict
    current:
      description: The applied properties before the task (devices only).
      type: dict
      returned: for devices
acted_on:
  description: The ROTPublicUIDs (or the DeviceProfileUID) the call was sent for, or would be in check mode.
  returned: always
  type: list
  elements: str
summary:
  description: Counts of the devices.
  returned: always
  type: dict
  sample: {total: 3, changed: 2, ok: 1, failed: 0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, exit_batch, validate_concurrency
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    AUTHORIZATIONS,
    check_profile_uid,
    normalize_rot,
    effective_features as effective,
    features_differ as differs,
    features_wanted,
    provisioning_view,
    requested_features,
    tag_name_problem,
    ublox_client,
)

AUTH_SPEC = {option: dict(type='bool') for option in AUTHORIZATIONS}


def requested(params):
    """({u-blox name: ENABLED|DISABLED}, heartbeat or None) from the options."""
    return requested_features(params['authorizations'], params['security_heartbeat'])


def validate(params):
    devices = params['rot_public_uids'] is not None or params['tags'] is not None
    if devices and params['device_profile_uid'] is not None:
        raise ConfigError('device_profile_uid cannot be combined with rot_public_uids or tags: bootstrap provisioning applies to a device '
                          'profile, the other to devices that have bootstrapped')
    if not devices and params['device_profile_uid'] is None:
        raise ConfigError('give rot_public_uids or tags (devices that have bootstrapped), or device_profile_uid (bootstrap provisioning)')
    for option in ('rot_public_uids', 'tags'):
        if params[option] == []:
            raise ConfigError('%s is empty; name at least one device or leave it out' % option)
    if params['rot_public_uids']:
        params['rot_public_uids'] = sorted(set(normalize_rot(rot) for rot in params['rot_public_uids']))
    for tag in params['tags'] or ():
        problem = tag_name_problem(tag)
        if problem:
            raise ConfigError('tags: %s' % problem)
    if params['device_profile_uid'] is not None:
        params['device_profile_uid'] = check_profile_uid(params['device_profile_uid'], 'device_profile_uid')
    auths, heartbeat = requested(params)
    if params['state'] == 'present':
        if not auths and heartbeat is None:
            raise ConfigError('state=present needs authorizations (at least one of %s) or security_heartbeat'
                              % ', '.join(AUTHORIZATIONS))
        if heartbeat is not None and heartbeat < 1:
            raise ConfigError('security_heartbeat is %d; it is an interval in seconds and must be at least 1' % heartbeat)
    elif auths or heartbeat is not None:
        raise ConfigError('authorizations and security_heartbeat are not used with state=absent, which withdraws every desired '
                          'property; remove them')


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC,
            rot_public_uids=dict(type='list', elements='str'),
            tags=dict(type='list', elements='str'),
            device_profile_uid=dict(type='str'),
            authorizations=dict(type='dict', options=AUTH_SPEC),
            security_heartbeat=dict(type='int'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            **BATCH_ARGSPEC),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        validate_concurrency(params)
        validate(params)
        auths, heartbeat = requested(params)
        client = ublox_client(module, concurrency=params['concurrency'])
        if params['device_profile_uid'] is not None:
            profile(module, client, params, auths, heartbeat)
            return
        rots = set(params['rot_public_uids'] or ())
        if params['tags']:
            rots |= client.tagged_devices(params['tags'])
        infos = client.device_info(rots, options=('PROVISIONING',), concurrency=params['concurrency'])
        results, act = [], []
        for rot in sorted(rots):
            record = infos.get(rot)
            if record is None:
                results.append(dict(item=rot, changed=False, failed=True, status='failed', msg='u-blox knows no device with ROTPublicUID %s' % rot))
                continue
            provisioning = record.get('Provisioning') or {}
            desired = provisioning_view(provisioning.get('DesiredProperties'))
            current = provisioning_view(provisioning.get('CurrentProperties'))
            result = dict(item=rot, changed=False, failed=False, desired=desired, current=current)
            if params['state'] == 'absent':
                pending = features_wanted(desired)
                result['status'] = 'acted' if pending else 'done'
                if pending:
                    result['diff'] = dict(before=dict(desired=desired), after=dict(desired=provisioning_view(None)))
            else:
                before = effective(desired, current)
                if not differs(before, auths, heartbeat):
                    result['status'] = 'pending' if differs(current, auths, heartbeat) else 'done'
                else:
                    result['status'] = 'acted'
                    after = effective(dict(authorizations=auths, security_heartbeat=heartbeat), before)
                    result['diff'] = dict(before=before, after=after)
            if result['status'] == 'acted':
                result['changed'] = True
                act.append(rot)
            results.append(result)
        if act and not module.check_mode:
            message = send(client, params['state'], client.delete_provisioning, client.set_provisioning, act, auths, heartbeat)
            if message is not None:
                for result in results:
                    if result['status'] == 'acted':
                        result.update(changed=False, failed=True, status='failed', msg=message)
                act = []
        exit_batch(module, results, noun='devices', acted_on=act)

    run(module, work)


def profile(module, client, params, auths, heartbeat):
    """Bootstrap provisioning of one device profile."""
    uid = params['device_profile_uid']
    desired = client.bootstrap_provisioning(uid)
    result = dict(item=uid, changed=False, failed=False, desired=desired, status='done')
    if params['state'] == 'absent':
        if features_wanted(desired):
            result.update(status='acted', changed=True, diff=dict(before=desired, after=provisioning_view(None)))
    elif differs(desired, auths, heartbeat):
        after = effective(dict(authorizations=auths, security_heartbeat=heartbeat), desired)
        result.update(status='acted', changed=True, diff=dict(before=desired, after=after))
    if result['changed'] and not module.check_mode:
        message = send(client, params['state'], client.delete_bootstrap_provisioning, client.set_bootstrap_provisioning, uid, auths, heartbeat)
        if message is not None:
            result.update(changed=False, failed=True, status='failed', msg=message)
    exit_batch(module, [result], noun='device profiles', acted_on=[uid] if result['changed'] else [])


def send(client, state, delete, put, target, auths, heartbeat):
    """The write of ``state``: ``delete(target)`` or ``put(target, auths, heartbeat)``; u-blox's refusal as a message, or None."""
    try:
        if state == 'absent':
            delete(target)
        else:
            put(target, auths, heartbeat)
    except IotopsError as exc:
        return client.http.redact(exc.msg)
    return None


if __name__ == '__main__':
    main()
