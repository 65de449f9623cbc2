# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_rootca's rules and planners, with data alone: what one Root CA needs, given u-blox's record of it, what
keeps it (for a delete) and the files the task manages.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._files import (
    certificate_facts,
    issued_by,
    pem_text,
    read_text,
    validate_mode,
    validate_target,
)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    CA_LIMIT,
    CA_VALIDITY,
    DEVICE_VALIDITY,
    REGISTRATION_CODE_MAX,
    RENEW_BEFORE,
    ca_name_problem,
    ca_view,
    check_range,
)

CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'
FILES = 'files'  # only the task's files change
PRESENT_ONLY = ('ca_validity_days', 'device_certificate_validity_days', 'renew_before_expiration_days', 'certificate_path',
                'pop_registration_code', 'pop_certificate_path', 'mode')
MANAGED = ('ca_validity_days', 'device_certificate_validity_days', 'renew_before_expiration_days')
FIXED = ('ca_validity_days', 'device_certificate_validity_days')
ANSWER = {
    'ca_validity_days': 'CACertificateValidity',
    'device_certificate_validity_days': 'DeviceCertificateValidity',
    'renew_before_expiration_days': 'RenewBeforeExpiration',
}
SHOWN_USERS = 5
WROTE_CERTIFICATE = 'wrote certificate_path'
POP_MODE = 'set mode of pop_certificate_path'
GENERATED_POP = 'generated PoP certificate'
PEM_MARK = '-----BEGIN CERTIFICATE-----'


def validate_ca(item):
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
    _validate_pop(item['pop_registration_code'], item['pop_certificate_path'])
    validate_mode(item['mode'], 'mode')
    validate_target(item['certificate_path'], 'certificate_path')
    validate_target(item['pop_certificate_path'], 'pop_certificate_path')


def _validate_pop(code, path):
    if code is not None:
        if not code.strip() or len(code) > REGISTRATION_CODE_MAX:
            raise ConfigError('pop_registration_code has %d characters; it must have 1 to %d (it becomes the common name of the '
                              'Proof-of-Possession certificate)' % (len(code), REGISTRATION_CODE_MAX))
        if not path:
            raise ConfigError('pop_registration_code needs pop_certificate_path: the Proof-of-Possession certificate is written '
                              'there, which also lets a second run keep it instead of generating another')
    elif path:
        raise ConfigError('pop_certificate_path needs pop_registration_code')


def check_against(item, current):
    """Rules that need the Root CA u-blox has (``current``, None if none): what creating it takes, and validities u-blox
    cannot change."""
    if item['state'] != 'present':
        return
    if current is None:
        missing = [option for option in FIXED if item[option] is None]
        if missing:
            raise ConfigError('the Root CA does not exist yet and %s %s required to create it'
                              % (' and '.join(missing), 'are' if len(missing) > 1 else 'is'))
        return
    for option in FIXED:
        wanted, actual = item[option], current.get(ANSWER[option])
        if wanted is not None and wanted != actual:
            raise ConfigError(
                '%s is %d but the existing Root CA has %s. u-blox cannot change the validity of a Root CA (/ztp/rootca/update '
                'only sets RenewBeforeExpiration): leave %s out or set it to %s, or create a Root CA with another name, move '
                'the devices to it (ublox_device_certificate action=transfer) and delete this one'
                % (option, wanted, actual, option, actual))


def check_limit(items, existing):
    """A Thingstream domain has up to CA_LIMIT Root CAs: the task must not need more."""
    new = [item['name'] for item in items if item['state'] == 'present' and item['name'] not in existing]
    if len(existing) + len(new) > CA_LIMIT:
        raise ConfigError('invalid input, nothing was changed: creating %s would make %d Root CAs, and a Thingstream domain can '
                          'have up to %d (%d exist). Delete unused Root CAs first'
                          % (', '.join(new), len(existing) + len(new), CA_LIMIT, len(existing)))


def diff_view(raw):
    if raw is None:
        return dict(state='absent')
    return dict(state='present', **{option: raw.get(ANSWER[option]) for option in MANAGED})


def mode_differs(module, path, mode):
    """Whether the file ``path`` has another mode than ``mode``, judged as AnsibleModule.set_mode_if_different judges it,
    without changing it (a missing file is rewritten anyway)."""
    if mode is None or not path or not os.path.lexists(path):
        return False
    path_stat = os.lstat(path)
    wanted = mode
    if not isinstance(mode, int):
        try:
            wanted = int(mode, 8)
        except ValueError:
            wanted = module._symbolic_mode_to_octal(path_stat, mode)  # pylint: disable=protected-access
    return stat.S_IMODE(path_stat.st_mode) != wanted


def local_files(module, item):
    """The files of a Root CA to keep present as the planner takes them: their content and whether their mode differs."""
    files = {}
    for option in ('certificate_path', 'pop_certificate_path'):
        path = item.get(option)
        if path:
            files[option] = dict(content=read_text(path), mode_differs=mode_differs(module, path, item.get('mode')))
    return files


def plan_ca(item, current, files=None):
    """What one Root CA to keep present needs, given u-blox's record (``current``, None: to create) and the task's files
    (as ``local_files`` gives them); no request, no file written."""
    files = files or {}
    before = diff_view(current)
    actions = []
    action = NO_CHANGE
    ca = current
    if current is None:
        action = CREATE
        actions.append('created')
        ca = {'CAName': item['name'], 'CACertificateValidity': item['ca_validity_days'],
              'DeviceCertificateValidity': item['device_certificate_validity_days'],
              'RenewBeforeExpiration': item['renew_before_expiration_days']}
    elif item['renew_before_expiration_days'] not in (None, current.get('RenewBeforeExpiration')):
        action = UPDATE
        actions.append('updated renew_before_expiration_days')
        ca = dict(current, RenewBeforeExpiration=item['renew_before_expiration_days'])
    result = dict(state='present', actions=actions, ca=ca_view(ca))
    pem = ca.get('Certificate')
    certificate = files.get('certificate_path')
    if certificate is not None and (not pem or certificate['content'] != pem_text(pem) or certificate['mode_differs']):
        actions.append(WROTE_CERTIFICATE)  # a Root CA not created yet has no certificate: its file will be written
    pop = _plan_pop(item, pem, files.get('pop_certificate_path'))
    if pop.get('kept') is not None:
        result['pop_certificate'] = pop['kept']
    actions.extend(pop['actions'])
    if actions and action == NO_CHANGE:
        action = FILES
    return Plan(item['name'], action, before=before, after=diff_view(ca), result=result, options=item, ca=ca, pop=pop)


def _plan_pop(item, pem, found):
    """The Proof-of-Possession certificate: the one in the file is kept when this Root CA issued it for the same code."""
    code = item['pop_registration_code']
    if code is None:
        return dict(actions=[])
    kept = (found or {}).get('content')
    facts = certificate_facts(kept) if kept and PEM_MARK in kept else None
    if facts and facts[0] == code and pem and issued_by(facts[2], pem):
        return dict(kept=kept, actions=[POP_MODE] if found['mode_differs'] else [])
    return dict(generate=code, actions=[GENERATED_POP])


def in_use_of(name, users):
    """(in_use, why) of a Root CA that devices still need (``users`` as UbloxClient.ca_users gives it), or (None, None)."""
    if not (users['holders'] or users['devices']):
        return None, None
    devices = [dict(rot_public_uid=rot, reason=user_reason(name, ztp)) for rot, ztp in sorted(users['devices'].items())]
    if users['holders']:
        why = '%d device(s) hold a certificate signed by it' % users['holders']
    else:
        more = len(devices) - SHOWN_USERS
        why = '%d device(s) have it in their desired certificate properties (%s)' % (
            len(devices), '; '.join('%s: %s' % (d['rot_public_uid'], d['reason']) for d in devices[:SHOWN_USERS])
            + ('; and %d more' % more if more > 0 else ''))
    return dict(holders=users['holders'], devices=devices), why


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


def plan_removal(item, current, users=None, wait_for_devices=False):
    """What one Root CA to delete needs, given u-blox's record (``current``, None: there is none) and what keeps it
    (``users``, as UbloxClient.ca_users gives it). u-blox refuses a delete while a device profile links the Root CA
    (ConfigError, the item fails) or a device needs it (ConfigError, or kept and waiting with ``wait_for_devices``)."""
    name = item['name']
    before = diff_view(current)
    if current is None:
        return Plan(name, NO_CHANGE, before=before, after=before, result=dict(state='absent', actions=[], waiting=False, status='absent'))
    if users['device_profiles']:
        raise ConfigError('Root CA %s cannot be deleted: it is linked to device profile(s) %s, and u-blox refuses to delete a '
                          'Root CA linked to a device profile. Link the profile(s) to another Root CA in the Thingstream '
                          'portal, then run again' % (name, ', '.join(users['device_profiles'])))
    in_use, why = in_use_of(name, users)
    if in_use is None:
        return Plan(name, DELETE, before=before, after=diff_view(None),
                    result=dict(state='absent', actions=['deleted'], waiting=False, status='deleted'))
    if not wait_for_devices:
        raise ConfigError('Root CA %s cannot be deleted: %s, and u-blox refuses to delete a Root CA set in the current or '
                          'desired properties of a device. Move them to another Root CA (ublox_device_certificate '
                          'action=transfer, applied at their security heartbeat) or delete their certificates (action=delete), '
                          'let a pending update reach its second heartbeat, then run again' % (name, why))
    reason = ('%s; u-blox refuses to delete a Root CA set in the current or desired properties of a device, so it is kept until '
              'their security heartbeat(s) and deleted by a later run' % why)
    return Plan(name, NO_CHANGE, before=before, after=before,
                result=dict(state='present', actions=[], waiting=True, status='kept', reason=reason, in_use=in_use))
