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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC,
    exit_batch,
    require_unique,
    run_items,
    validate_concurrency,
    validate_items,
)
from ansible_collections.iotops.provisioning.plugins.module_utils._files import (
    certificate_facts,
    issued_by,
    pem_text,
    read_text,
    validate_mode,
    validate_target,
    write_file,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    CA_LIMIT,
    CA_VALIDITY,
    DEVICE_VALIDITY,
    REGISTRATION_CODE_MAX,
    RENEW_BEFORE,
    ca_name_problem,
    ca_view,
    check_range,
    ublox_client,
)

CA_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent']),
    ca_validity_days=dict(type='int'),
    device_certificate_validity_days=dict(type='int'),
    renew_before_expiration_days=dict(type='int'),
    certificate_path=dict(type='path'),
    pop_registration_code=dict(type='str', no_log=False),
    pop_certificate_path=dict(type='path'),
    mode=dict(type='raw'),
)
PRESENT_ONLY = ('ca_validity_days', 'device_certificate_validity_days', 'renew_before_expiration_days', 'certificate_path',
                'pop_registration_code', 'pop_certificate_path', 'mode')
MANAGED = ('ca_validity_days', 'device_certificate_validity_days', 'renew_before_expiration_days')
ANSWER = {
    'ca_validity_days': 'CACertificateValidity',
    'device_certificate_validity_days': 'DeviceCertificateValidity',
    'renew_before_expiration_days': 'RenewBeforeExpiration',
}


def validate_static(item):
    """Rules that need no state: seed 002 /ztp/rootca/create and /popcertificate/generate."""
    problem = ca_name_problem(item['name'])
    if problem:
        raise ConfigError('name %s' % problem)
    if item['state'] == 'absent':
        given = [option for option in PRESENT_ONLY if item.get(option) is not None]
        if given:
            raise ConfigError('%s can only be used with state=present' % ', '.join(given))
        return
    check_range(item['ca_validity_days'], CA_VALIDITY, 'ca_validity_days', 'the Root CA validity (CACertificateValidity)')
    check_range(item['device_certificate_validity_days'], DEVICE_VALIDITY, 'device_certificate_validity_days',
                'the device certificate validity (DeviceCertificateValidity)')
    check_range(item['renew_before_expiration_days'], RENEW_BEFORE, 'renew_before_expiration_days', 'RenewBeforeExpiration')
    if (item['ca_validity_days'] is not None and item['device_certificate_validity_days'] is not None
            and item['device_certificate_validity_days'] > item['ca_validity_days']):
        raise ConfigError('device_certificate_validity_days (%d) is greater than ca_validity_days (%d); u-blox device certificates '
                          'cannot outlive their Root CA' % (item['device_certificate_validity_days'], item['ca_validity_days']))
    code = item['pop_registration_code']
    if code is not None:
        if not code.strip() or len(code) > REGISTRATION_CODE_MAX:
            raise ConfigError('pop_registration_code has %d characters; it must have 1 to %d (it becomes the common name of the '
                              'Proof-of-Possession certificate)' % (len(code), REGISTRATION_CODE_MAX))
        if not item['pop_certificate_path']:
            raise ConfigError('pop_registration_code needs pop_certificate_path: the Proof-of-Possession certificate is written '
                              'there, which also lets a second run keep it instead of generating another')
    elif item['pop_certificate_path']:
        raise ConfigError('pop_certificate_path needs pop_registration_code')
    validate_mode(item['mode'], 'mode')
    validate_target(item['certificate_path'], 'certificate_path')
    validate_target(item['pop_certificate_path'], 'pop_certificate_path')


def state_validator(existing):
    def validate(item):
        if item['state'] != 'present':
            return
        current = existing.get(item['name'])
        if current is None:
            missing = [option for option in ('ca_validity_days', 'device_certificate_validity_days') if item[option] is None]
            if missing:
                raise ConfigError('the Root CA does not exist yet and %s %s required to create it'
                                  % (' and '.join(missing), 'are' if len(missing) > 1 else 'is'))
            return
        for option in ('ca_validity_days', 'device_certificate_validity_days'):
            wanted, actual = item[option], current.get(ANSWER[option])
            if wanted is not None and wanted != actual:
                raise ConfigError(
                    '%s is %d but the existing Root CA has %s. u-blox cannot change the validity of a Root CA (/ztp/rootca/update '
                    'only sets RenewBeforeExpiration): leave %s out or set it to %s, or create a Root CA with another name, move '
                    'the devices to it (ublox_device_certificate action=transfer) and delete this one'
                    % (option, wanted, actual, option, actual))
    return validate


def user_reason(name, ztp):
    """Why a device without a certificate from Root CA ``name`` still has it in its desired certificate properties."""
    desired = ztp.get('DesiredProperties') or {}
    action = desired.get('Action')
    if action == 'UPDATE':
        return ('update to a new key pair pending until its next security heartbeat; it then holds a new certificate from %s'
                % name)
    if action == 'TRANSFER':
        return 'transfer to %s pending until its next security heartbeat' % name
    if action:
        return '%s pending until its next security heartbeat' % str(action).lower()
    return 'holds a certificate from %s' % name


def diff_view(raw):
    if raw is None:
        return dict(state='absent')
    return dict(state='present', **{option: raw.get(ANSWER[option]) for option in MANAGED})


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC,
            cas=dict(type='list', elements='dict', required=True, options=CA_SPEC),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            wait_for_devices=dict(type='bool', default=False),
            **BATCH_ARGSPEC),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        validate_concurrency(params)
        items = params['cas']
        for item in items:
            item['state'] = item['state'] or params['state']
        if not items:
            raise ConfigError('cas is empty; give at least one Root CA')
        require_unique(items, 'cas', lambda item: item['name'])
        validate_items(items, 'cas', validate_static, label=lambda item: item.get('name'))
        client = ublox_client(module, concurrency=params['concurrency'])
        existing = client.root_cas()
        validate_items(items, 'cas', state_validator(existing), label=lambda item: item['name'])
        new = [item['name'] for item in items if item['state'] == 'present' and item['name'] not in existing]
        if len(existing) + len(new) > CA_LIMIT:
            raise ConfigError('invalid input, nothing was changed: creating %s would make %d Root CAs, and a Thingstream domain can '
                              'have up to %d (%d exist). Delete unused Root CAs first'
                              % (', '.join(new), len(existing) + len(new), CA_LIMIT, len(existing)))

        def present(item, current, actions):
            name = item['name']
            if current is None:
                actions.append('created')
                if not module.check_mode:
                    current = client.create_root_ca(name, item['ca_validity_days'], item['device_certificate_validity_days'],
                                                    item['renew_before_expiration_days'])
                else:
                    current = {'CAName': name, 'CACertificateValidity': item['ca_validity_days'],
                               'DeviceCertificateValidity': item['device_certificate_validity_days'],
                               'RenewBeforeExpiration': item['renew_before_expiration_days']}
            elif item['renew_before_expiration_days'] not in (None, current.get('RenewBeforeExpiration')):
                actions.append('updated renew_before_expiration_days')
                wanted = item['renew_before_expiration_days']
                if not module.check_mode:
                    client.set_renew_before(name, wanted)
                current = dict(current, RenewBeforeExpiration=wanted)
            return current

        def write_files(item, current, actions, result):
            pem = current.get('Certificate')
            if item['certificate_path']:
                if pem:
                    if write_file(module, item['certificate_path'], pem_text(pem), item['mode']):
                        actions.append('wrote certificate_path')
                else:  # check mode, Root CA not created yet
                    actions.append('wrote certificate_path')
            code = item['pop_registration_code']
            if code is None:
                return
            path = item['pop_certificate_path']
            kept = read_text(path)
            facts = certificate_facts(kept) if kept and '-----BEGIN CERTIFICATE-----' in kept else None
            if facts and facts[0] == code and pem and issued_by(facts[2], pem):
                result['pop_certificate'] = kept
                if write_file(module, path, kept, item['mode']):
                    actions.append('set mode of pop_certificate_path')
                return
            actions.append('generated PoP certificate')
            if module.check_mode:
                return
            result['pop_certificate'] = pem_text(client.generate_pop_certificate(item['name'], code))
            write_file(module, path, result['pop_certificate'], item['mode'])

        def absent(item, current, actions, result):
            result['waiting'] = False
            if current is None:
                result['status'] = 'absent'
                return
            name = item['name']
            users = client.ca_users(name, concurrency=params['concurrency'])
            if users['device_profiles']:
                raise ConfigError('Root CA %s cannot be deleted: it is linked to device profile(s) %s, and u-blox refuses to delete a '
                                  'Root CA linked to a device profile. Link the profile(s) to another Root CA in the Thingstream '
                                  'portal, then run again' % (name, ', '.join(users['device_profiles'])))
            if users['holders'] or users['devices']:
                in_use = dict(holders=users['holders'],
                              devices=[dict(rot_public_uid=rot, reason=user_reason(name, ztp)) for rot, ztp in sorted(users['devices'].items())])
                if users['holders']:
                    why = '%d device(s) hold a certificate signed by it' % users['holders']
                else:
                    why = '%d device(s) have it in their desired certificate properties (%s)' % (
                        len(in_use['devices']), '; '.join('%s: %s' % (d['rot_public_uid'], d['reason']) for d in in_use['devices'][:5])
                        + ('; and %d more' % (len(in_use['devices']) - 5) if len(in_use['devices']) > 5 else ''))
                result['in_use'] = in_use
                if params['wait_for_devices']:
                    result.update(state='present', status='kept', waiting=True,
                                  reason='%s; u-blox refuses to delete a Root CA set in the current or desired properties of a '
                                         'device, so it is kept until their security heartbeat(s) and deleted by a later run' % why)
                    return
                raise ConfigError('Root CA %s cannot be deleted: %s, and u-blox refuses to delete a Root CA set in the current or '
                                  'desired properties of a device. Move them to another Root CA (ublox_device_certificate '
                                  'action=transfer, applied at their security heartbeat) or delete their certificates (action=delete), '
                                  'let a pending update reach its second heartbeat, then run again' % (name, why))
            actions.append('deleted')
            result['status'] = 'deleted'
            if module.check_mode:
                return
            client.delete_root_ca(name)

        def worker(item):
            current = existing.get(item['name'])
            before = diff_view(current)
            actions = []
            result = dict(state=item['state'], actions=actions)
            if item['state'] == 'present':
                current = present(item, current, actions)
                write_files(item, current, actions, result)
                result['ca'] = ca_view(current)
                after = diff_view(current)
            else:
                absent(item, current, actions, result)
                after = diff_view(None) if result['status'] != 'kept' else before
            result['changed'] = bool(actions)
            result['diff'] = dict(before=before, after=after)
            return result

        results = run_items(module, items, worker, key=lambda item: item['name'], redact=client.http.redact, noun='Root CAs')
        exit_batch(module, results, noun='Root CAs')

    run(module, work)


if __name__ == '__main__':
    main()
