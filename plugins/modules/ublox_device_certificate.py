#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotate u-blox ZTP device certificates: renew, update, revoke, delete, transfer to another Root CA."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_certificate
short_description: Renew, update, revoke, delete or transfer u-blox ZTP device certificates
version_added: 0.1.0
description:
  - Runs one u-blox Security Services device certificate action on a set of devices, named by ROTPublicUID, by
    certificate serial number, by tag, or (for some actions) as every device holding a certificate from a Root CA.
  - The module reads the devices' certificates first (every page, 100 devices per device-info call) and acts only where
    the action is still needed, so running the same task again changes nothing.
    V(renew) and V(update) act on certificates that expire within O(renew_within_days) (and, for O(issued_before),
    were issued before that date) and are not revoked; V(transfer) on devices not yet on the target Root CA; V(revoke) on certificates not
    yet revoked; V(delete) on devices that still hold a certificate.
  - u-blox applies V(renew), V(update), V(delete) and V(transfer) at each device's next security heartbeat. Until then
    the action is pending, and a device with the same action pending is not asked again. V(revoke) takes effect at once
    (the certificate goes on the Root CA's revocation list).
  - u-blox refuses every other certificate action while an update to a new key pair is in progress (it takes two security
    heartbeats; the device holds no certificate between them). Such a device is reported as waiting, with the reason and
    what follows (for V(transfer), it is transferred on the first run after the update ends); nothing is sent for it.
  - A revoked certificate is not renewed or updated, because a new certificate would make the device trusted again. When
    it is due, its outcome carries RV(outcomes[].attention) and RV(outcomes[].remedy) (the task does not fail).
  - One call is sent per action for all devices (per source Root CA for V(transfer)); u-blox revokes one certificate per
    call, so V(revoke) sends one call per certificate, O(concurrency) at a time.
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
      - Nothing is sent to u-blox; RV(acted_on) lists the devices the action would be sent for.
  diff_mode:
    support: full
    details:
      - For each device acted on, the certificate action pending before and after.
options:
  action:
    description:
      - V(renew) gives the devices a new certificate with the same key pair (new serial number and expiry).
      - V(update) gives them a new certificate with a new key pair; u-blox removes the old certificate at the first
        heartbeat and provisions the new one at the second.
      - V(revoke) puts the certificates on the Root CA's revocation list; it does not remove them from the devices.
      - V(delete) removes the certificate and key pair from the devices.
      - V(transfer) replaces the certificates with ones signed by O(ca_name).
    type: str
    required: true
    choices: [renew, update, revoke, delete, transfer]
  ca_name:
    description:
      - For V(renew) and V(update) the Root CA that signed the certificates (required). Devices holding a
        certificate from another Root CA are skipped.
      - For V(transfer) the target Root CA (required).
      - For V(revoke) and V(delete), optional - only devices holding a certificate from this Root CA are acted on. Without
        it each device's certificate is revoked (or deleted) on the Root CA that signed it, so devices of several Root CAs
        take one task. A serial number that no device holds is revoked only with it.
    type: str
  from_ca:
    description:
      - For V(transfer), only devices holding a certificate from this Root CA are moved. Without it devices are moved
        from whatever Root CA they are on (one call per source Root CA).
    type: str
  rot_public_uids:
    description:
      - Devices by ROTPublicUID (1 to 16 hexadecimal digits).
    type: list
    elements: str
  serial_numbers:
    description:
      - Devices by the serial number of their current certificate (for V(revoke) also an older certificate's serial).
    type: list
    elements: str
  tags:
    description:
      - Every device carrying any of these tags (tag names are case-insensitive).
    type: list
    elements: str
  renew_within_days:
    description:
      - For V(renew) (required) and V(update), act only on certificates that expire within this many days from now.
      - Must be less than the validity of the new certificates (O(validity_days), or the Root CA's device certificate
        validity), otherwise every run would renew them again.
    type: int
  include_revoked:
    description:
      - For V(renew) and V(update), also act on revoked certificates. The new certificate is not revoked, so the device
        is trusted again; use it only when a revocation was a mistake, with the devices named.
    type: bool
    default: false
  issued_before:
    description:
      - For V(renew) and V(update), act only on certificates issued before this date and time (ISO 8601, for example
        V(2026-01-01) or V(2026-01-01T00:00:00Z); UTC unless an offset is given). For V(update) this or
        O(renew_within_days) is required.
    type: str
  validity_days:
    description:
      - For V(renew), the validity of the new certificates in days, from 30 to 3650. Defaults to the Root CA's device
        certificate validity. u-blox never lets a device certificate outlive its Root CA.
    type: int
notes:
  - Without O(rot_public_uids), O(serial_numbers) and O(tags), V(renew) and V(update) act on every device holding a
    certificate from O(ca_name), and V(transfer) on every device holding one from O(from_ca). V(revoke) and V(delete)
    need an explicit selection.
  - Devices the action does not apply to (no certificate, another Root CA, an update still in progress) are reported with
    the reason and are not failures; devices u-blox does not know are failures.
seealso:
  - module: iotops.provisioning.ublox_rootca
  - module: iotops.provisioning.ublox_rootca_info
  - module: iotops.provisioning.ublox_device_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Renew every certificate of the Root CA that expires within 30 days
  iotops.provisioning.ublox_device_certificate:
    action: renew
    ca_name: devices.example.com
    renew_within_days: 30
    validity_days: 365
  register: renewal

- name: Show which devices get a new certificate at their next heartbeat
  ansible.builtin.debug:
    var: renewal.acted_on

- name: New key pairs for the devices of line 1 whose certificate was issued before the key ceremony
  iotops.provisioning.ublox_device_certificate:
    action: update
    ca_name: devices.example.com
    tags: [line-1]
    issued_before: "2026-03-01T00:00:00Z"

- name: Move the pilot devices from the test Root CA to production
  iotops.provisioning.ublox_device_certificate:
    action: transfer
    from_ca: test.devices.example.com
    ca_name: devices.example.com
    tags: [pilot]

- name: Revoke the certificates of two stolen devices
  iotops.provisioning.ublox_device_certificate:
    action: revoke
    ca_name: devices.example.com
    rot_public_uids:
      - "0002000089280087"
    serial_numbers:
      - 73068c914de40ccaee84e03a66b4858
    concurrency: 2

- name: Revoke the certificates of compromised devices, each on the Root CA that signed it
  iotops.provisioning.ublox_device_certificate:
    action: revoke
    tags: [compromised]

- name: Remove the certificates from decommissioned devices
  iotops.provisioning.ublox_device_certificate:
    action: delete
    tags: [decommissioned]

- name: A device was revoked by mistake - give it a new certificate (it is trusted again)
  iotops.provisioning.ublox_device_certificate:
    action: renew
    ca_name: devices.example.com
    rot_public_uids:
      - "0002000089280087"
    renew_within_days: 30
    include_revoked: true

- name: List the due certificates that are revoked and therefore not renewed
  ansible.builtin.debug:
    msg: "{{ renewal.outcomes | selectattr('attention', 'defined') | map(attribute='attention') }}"
'''

RETURN = r'''
acted_on:
  description: The ROTPublicUIDs the action was sent for (or would be, in check mode); for V(revoke) by serial number of a
    certificate no device holds, the serial number.
  returned: always
  type: list
  elements: str
  sample: ["0002000089280087"]
outcomes:
  description: One entry per selected device (and per serial number not held by any device).
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device's ROTPublicUID, or the serial number.
      type: str
    changed:
      description: Whether the action was sent for this device.
      type: bool
    failed:
      description: Whether this device failed (unknown to u-blox, or the call failed).
      type: bool
    msg:
      description: Why it failed.
      type: str
      returned: on failure
    status:
      description: V(acted) (the action was sent), V(done) (nothing left to do), V(pending) (the same action, or an update that
        makes it unnecessary, waits for the device's heartbeat), V(waiting) (another certificate action is in progress; a
        run after the device's heartbeat does this one), V(skipped) (the action does not apply to this device).
      type: str
    reason:
      description: Why nothing was sent, for V(done), V(pending), V(waiting) and V(skipped).
      type: str
      returned: when O(action) was not sent for the device
    waiting:
      description: True when the next step is the device's (its security heartbeat), for V(pending) and V(waiting), and for
        V(acted) with O(action=delete) (u-blox removes the certificate at the device's next security heartbeat). Not a failure.
      type: bool
      returned: for V(pending) and V(waiting), for V(acted) with O(action=delete), and for every device with O(action=renew),
        O(action=update) and O(action=transfer)
    policy:
      description: The rotation, for O(action=renew), O(action=update) and O(action=transfer) - the value of O(action).
      type: str
      returned: for O(action=renew), O(action=update) and O(action=transfer)
      sample: renew
    old_expiry:
      description: When the device's certificate expired or expires, before the task (ISO 8601 UTC,
        C(YYYY-MM-DDTHH:MM:SSZ)); null when it holds none.
      type: str
      returned: for O(action=renew), O(action=update) and O(action=transfer)
      sample: '2026-05-01T08:00:00Z'
    new_expiry:
      description: The expiry of a certificate issued by this task. Always null - u-blox issues the new certificate at the
        device's next security heartbeat (see RV(outcomes[].new_expiry_pending)).
      type: str
      returned: for O(action=renew), O(action=update) and O(action=transfer)
    new_expiry_pending:
      description: True when a new certificate comes at the device's next security heartbeat(s) (the action was sent, is
        pending, or an update in progress brings one).
      type: bool
      returned: for O(action=renew), O(action=update) and O(action=transfer)
    due:
      description: Whether the device needed the rotation in this run - its certificate expires within
        O(renew_within_days) (or was issued before O(issued_before)), or it is not on the target Root CA for
        O(action=transfer). False for a device outside the window, already done, or that the action does not apply to;
        null for a device that holds no certificate.
      type: bool
      returned: for O(action=renew), O(action=update) and O(action=transfer)
    attention:
      description: A warning that does not fail the device or the task but needs a person - a due certificate that is
        revoked and therefore not renewed.
      type: str
      returned: when there is something to warn about
      sample: certificate 73068c914de40ccaee84e03a66b4858 is revoked and expires on 2026-05-01T08:00:00Z; it is not renewed
        because a new certificate would make the device trusted again
    remedy:
      description: What a person should do about RV(outcomes[].attention).
      type: str
      returned: with RV(outcomes[].attention)
    certificate:
      description: The device's certificate before the task (Root CA, serial number, validity, issue and expiry dates,
        revoked), or null when it holds none.
      type: dict
      returned: for devices
summary:
  description: Counts of the devices.
  returned: always
  type: dict
  sample: {total: 250, changed: 40, ok: 210, failed: 0}
'''


from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, NO_CHANGE, Plan, ResourceModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    DAY,
    DEVICE_VALIDITY,
    ca_name_problem,
    certificate_view,
    check_range,
    expires_within,
    iso_utc,
    normalize_rot,
    parse_date,
    tag_name_problem,
    ublox_client,
)

PENDING_ACTION = {'renew': 'RENEW', 'update': 'UPDATE', 'delete': 'DELETE', 'transfer': 'TRANSFER'}
# the actions that rotate a certificate: their outcomes carry the rotation fields (policy, old_expiry, due, ...)
ROTATIONS = ('renew', 'update', 'transfer')
SELECTORS = ('rot_public_uids', 'serial_numbers', 'tags')


def validate(params):
    """Every rule that needs no state, before any request; normalises the selection and parses issued_before."""
    validate_root_cas(params)
    validate_selection(params)
    validate_window(params)


def validate_root_cas(params):
    action = params['action']
    for option in ('ca_name', 'from_ca'):
        if params[option] is not None:
            problem = ca_name_problem(params[option])
            if problem:
                raise ConfigError('%s %s' % (option, problem))
    if action in ('renew', 'update', 'transfer') and not params['ca_name']:
        raise ConfigError('ca_name is required with action=%s (%s)' % (
            action, 'the target Root CA' if action == 'transfer' else 'the Root CA that signed the certificates'))
    if params['from_ca'] is not None and action != 'transfer':
        raise ConfigError('from_ca only applies to action=transfer')
    if action == 'transfer' and params['from_ca'] == params['ca_name']:
        raise ConfigError('from_ca and ca_name are both %s; a transfer needs two different Root CAs' % params['ca_name'])


def validate_selection(params):
    action = params['action']
    if params['rot_public_uids'] is not None:
        params['rot_public_uids'] = sorted(set(normalize_rot(rot, 'rot_public_uids') for rot in params['rot_public_uids']))
    if params['serial_numbers'] is not None:
        serials = []
        for serial in params['serial_numbers']:
            text = str(serial).strip().lower()
            if not text or any(char not in '0123456789abcdef' for char in text):
                raise ConfigError('serial_numbers: %r is not a certificate serial number (hexadecimal digits)' % serial)
            serials.append(text)
        params['serial_numbers'] = sorted(set(serials))
    for tag in params['tags'] or ():
        problem = tag_name_problem(tag)
        if problem:
            raise ConfigError('tags: %s' % problem)
    selected = params['rot_public_uids'] or params['serial_numbers'] or params['tags']
    for option in SELECTORS:
        if params[option] == []:
            raise ConfigError('%s is empty; leave it out or name at least one device' % option)
    if action in ('revoke', 'delete') and not selected:
        raise ConfigError('action=%s needs the devices: give rot_public_uids, serial_numbers or tags' % action)
    if action == 'transfer' and not selected and not params['from_ca']:
        raise ConfigError('action=transfer needs rot_public_uids, serial_numbers or tags, or from_ca to move every device of that Root CA')


def validate_window(params):
    action = params['action']
    if action in ('renew', 'update'):
        if action == 'renew' and params['renew_within_days'] is None:
            raise ConfigError('renew_within_days is required with action=renew: only certificates that expire within that many days '
                              'are renewed, which makes the task safe to run again')
        if params['renew_within_days'] is None and params['issued_before'] is None:
            raise ConfigError('action=update needs renew_within_days or issued_before: they say which certificates still need a new key '
                              'pair, so a second run does not replace them again')
    else:
        given = [option for option in ('renew_within_days', 'issued_before', 'validity_days') if params[option] is not None]
        if given:
            raise ConfigError('%s only appl%s to action=renew and action=update' % (', '.join(given), 'ies' if len(given) == 1 else 'y'))
    if params['validity_days'] is not None and action != 'renew':
        raise ConfigError('validity_days only applies to action=renew')
    if params['include_revoked'] and action not in ('renew', 'update'):
        raise ConfigError('include_revoked only applies to action=renew and action=update')
    check_range(params['validity_days'], DEVICE_VALIDITY, 'validity_days', 'the device certificate validity (DeviceCertificateValidity)')
    if params['renew_within_days'] is not None and not 0 <= params['renew_within_days'] <= DEVICE_VALIDITY[1]:
        raise ConfigError('renew_within_days is %d; it must be from 0 to %d days' % (params['renew_within_days'], DEVICE_VALIDITY[1]))
    if params['issued_before'] is not None:
        stamp = parse_date(params['issued_before'])
        if stamp is None:
            raise ConfigError('issued_before: %r is not an ISO 8601 date or date and time (for example 2026-01-01 or '
                              '2026-01-01T00:00:00Z)' % params['issued_before'])
        params['issued_before_epoch'] = stamp


def renewal_validity(params, cas):
    """The validity of the renewed certificates (None for other actions); a window not shorter than it is refused, since
    the new certificates would be due again at once and every run would renew them."""
    if params['action'] != 'renew':
        return None
    validity = params['validity_days'] or cas[params['ca_name']].get('DeviceCertificateValidity')
    if params['renew_within_days'] is not None and validity is not None and params['renew_within_days'] >= validity:
        raise ConfigError('renew_within_days (%d) is not less than the validity of the renewed certificates (%d days): they would '
                          'expire within the window again and every run would renew them. Lower renew_within_days or raise '
                          'validity_days' % (params['renew_within_days'], validity))
    return validity


def holder_cas(params, cas):
    """The Root CAs whose device lists are read: to find the holders of the serial numbers, or (no devices named) every
    device the action applies to."""
    action = params['action']
    if not (params['serial_numbers'] or not (params['rot_public_uids'] or params['tags'])):
        return []
    if action == 'transfer':
        return [params['from_ca']] if params['from_ca'] else sorted(cas)
    return [params['ca_name']] if params['ca_name'] else sorted(cas)


def days(seconds):
    return int(seconds // DAY)


def update_reason(certificate, then):
    """Why a device with an update to a new key pair in progress waits; ``then`` says what follows the update."""
    if certificate is None:
        return 'update to a new key pair pending until its next security heartbeat; %s' % then
    return ('update to a new key pair pending: its certificate is removed at its next security heartbeat and the new one comes '
            'at the heartbeat after; %s' % then)


def decide(params, certificate, pending, now):
    """('act' | 'done' | 'pending' | 'waiting' | 'skipped', reason) for one device, from its certificate and pending
    certificate action (``certificate_view``) and u-blox's clock ``now`` (epoch seconds).

    V(pending): the same action waits for the device's heartbeat; V(waiting): another certificate action is pending
    (an update to a new key pair, which u-blox lets no other action interrupt), and a later run does this one."""
    action = params['action']
    if pending and pending.get('action') == 'UPDATE' and action != 'update':
        return _during_update(params, certificate, pending)
    if action == 'delete':
        return _decide_delete(params, certificate, pending)
    if certificate is None:
        if pending and pending.get('action') == PENDING_ACTION.get(action):
            return 'pending', '%s pending until the next security heartbeat' % action
        return 'skipped', 'holds no certificate'
    if action == 'transfer':
        return _decide_transfer(params, certificate, pending)
    if params['ca_name'] and certificate['ca_name'] != params['ca_name']:
        return 'skipped', 'certificate is from Root CA %s' % certificate['ca_name']
    if action == 'revoke':
        if certificate['revoked']:
            return 'done', 'certificate %s is already revoked' % certificate['serial_number']
        return 'act', None
    return _decide_rotation(params, certificate, pending, now)


def _during_update(params, certificate, pending):
    action = params['action']
    if action == 'transfer':
        if pending.get('ca_name') == params['ca_name']:
            return 'pending', update_reason(certificate, 'it then holds a certificate from %s' % params['ca_name'])
        if params['from_ca'] and pending.get('ca_name') != params['from_ca']:
            return 'skipped', 'certificate is from Root CA %s, not from_ca' % pending.get('ca_name')
        return 'waiting', update_reason(certificate, 'transferred on the run after that')
    if action == 'renew' and pending.get('ca_name') == params['ca_name']:
        return 'pending', update_reason(certificate, 'the update brings a new certificate, so it is not renewed')
    return 'waiting', update_reason(certificate, 'u-blox refuses to %s it until then; run again after that' % action)


def _decide_delete(params, certificate, pending):
    if pending and pending.get('action') == 'DELETE':
        return 'pending', 'deletion pending until the next security heartbeat'
    if certificate is None:
        return 'done', 'holds no certificate'
    if params['ca_name'] and certificate['ca_name'] != params['ca_name']:
        return 'skipped', 'certificate is from Root CA %s' % certificate['ca_name']
    return 'act', None


def _decide_transfer(params, certificate, pending):
    target, from_ca = params['ca_name'], params['from_ca']
    if certificate['ca_name'] == target:
        return 'done', 'already on Root CA %s' % target
    if pending and pending.get('action') == 'TRANSFER' and pending.get('ca_name') == target:
        return 'pending', 'transfer to %s pending until the next security heartbeat' % target
    if pending and pending.get('action') == 'DELETE':
        return 'pending', ('deletion of its certificate pending until the next security heartbeat; it then holds none, '
                           'so it is not transferred')
    if from_ca and pending and pending.get('action') == 'TRANSFER' and pending.get('ca_name') == from_ca:
        return 'waiting', ('transfer to %s pending until its next security heartbeat; transferred to %s on the run after that'
                           % (from_ca, target))
    if from_ca and certificate['ca_name'] != from_ca:
        return 'skipped', 'certificate is from Root CA %s, not from_ca' % certificate['ca_name']
    return 'act', None


def _decide_rotation(params, certificate, pending, now):
    """renew and update of a certificate of ca_name: due by the window and issued_before, never a revoked one unasked."""
    action = params['action']
    if pending and pending.get('action') == PENDING_ACTION[action]:
        return 'pending', '%s pending until the next security heartbeat' % action
    if pending:
        return 'skipped', ('%s to %s is pending until the next security heartbeat; a %s now would replace it'
                           % (pending.get('action'), pending.get('ca_name'), action))
    expires = parse_date(certificate.get('expiration_date'))
    issued = parse_date(certificate.get('issued_date'))
    if params['renew_within_days'] is not None and not expires_within(certificate, params['renew_within_days'], now):
        return 'done', 'expires in %d days, not within %d' % (days(expires - now), params['renew_within_days'])
    if params.get('issued_before_epoch') is not None and issued is not None and issued >= params['issued_before_epoch']:
        return 'done', 'issued %s, not before %s' % (certificate.get('issued_date'), params['issued_before'])
    if certificate['revoked'] and not params['include_revoked']:
        return 'skipped', ('certificate %s is revoked; a new certificate would make the device trusted again, so it is not %s'
                           % (certificate['serial_number'], 'renewed' if action == 'renew' else 'updated'))
    return 'act', None


def contract(params, rot, status, certificate, now):
    """The rotation fields of an outcome (renew, update, transfer): policy, old_expiry, new_expiry(_pending), due, and
    attention with remedy for a revoked certificate that is due but not renewed."""
    action = params['action']
    old_expiry = iso_utc((certificate or {}).get('expiration_date'))
    busy = status in ('act', 'pending', 'waiting')
    # a device without a certificate is neither due nor outside the window: the rotation does not apply to it
    fields = dict(policy=action, old_expiry=old_expiry, new_expiry=None, new_expiry_pending=busy,
                  due=busy if certificate or busy else None, waiting=status in ('pending', 'waiting'))
    if status == 'skipped' and certificate and certificate['revoked'] and action in ('renew', 'update') \
            and certificate['ca_name'] == params['ca_name']:
        expires = parse_date(certificate.get('expiration_date'))
        fields['due'] = True
        fields['attention'] = ('certificate %s is revoked and %s on %s; it is not %s because a new certificate would make the '
                               'device trusted again' % (certificate['serial_number'],
                                                         'expired' if expires is not None and expires <= now else 'expires',
                                                         old_expiry or certificate.get('expiration_date'),
                                                         'renewed' if action == 'renew' else 'updated'))
        fields['remedy'] = ('If the device is out of service or stolen, decommission it: remove its certificate and key pair '
                            '(ublox_device_certificate action=delete, rot_public_uids=[%s]) and take it off the whitelist. If the '
                            'revocation was a mistake, give it a new certificate explicitly: ublox_device_certificate '
                            'action=%s, ca_name=%s, rot_public_uids=[%s], include_revoked=true.'
                            % (rot, action, certificate['ca_name'], rot))
    return fields


def plan_device(params, rot, record, now):
    """What the action needs on one device, from its device-info record (None: u-blox does not know it) and u-blox's
    clock ``now``; no request. A device u-blox does not know fails (IotopsError)."""
    if record is None:
        raise IotopsError('u-blox knows no device with ROTPublicUID %s' % rot)
    action = params['action']
    certificate, pending = certificate_view(record.get('ZTP'))
    status, reason = decide(params, certificate, pending, now)
    result = dict(status=status, certificate=certificate)
    if action in ROTATIONS:
        result.update(contract(params, rot, status, certificate, now))
    elif status in ('pending', 'waiting'):
        result['waiting'] = True
    if status != 'act':
        result['reason'] = reason
        return Plan(rot, NO_CHANGE, result=result)
    result['status'] = 'acted'
    if action == 'delete':
        result['waiting'] = True  # u-blox removes the certificate at the device's next security heartbeat
    after = dict(action=PENDING_ACTION.get(action, 'REVOKE'),
                 ca_name=params['ca_name'] if action in ROTATIONS else (certificate or {}).get('ca_name'))
    return Plan(rot, action, before=dict(certificate=certificate, pending_certificate_action=pending),
                after=dict(certificate=certificate, pending_certificate_action=after), result=result, certificate=certificate)


def plan_serial(serial, revoked):
    """A serial number (action=revoke) that no device holds: revoked by serial unless the CRL (``revoked``) has it."""
    if serial in revoked:
        return Plan(serial, NO_CHANGE, result=dict(status='done', reason='certificate %s is already revoked' % serial))
    return Plan(serial, 'revoke', before=dict(revoked=False), after=dict(revoked=True), result=dict(status='acted'), loose=True)


def transfer_groups(plans):
    """{source Root CA: [ROTPublicUID, ...]} of the transfer plans: u-blox transfers from one Root CA per call."""
    groups = {}
    for plan in plans:
        groups.setdefault(plan.data['certificate']['ca_name'], []).append(plan.item)
    return groups


class CertificateModule(ResourceModule):
    """Reads the Root CAs, the selected devices (named, tagged, or the holders of a Root CA's certificates) and their
    certificates; plans each device (and each serial number no device holds); sends one call per action (per source Root
    CA for transfer, per certificate for revoke)."""

    noun = 'devices'

    def __init__(self, module):
        super().__init__(module)
        self.cas = {}
        self.validity = None
        self.rots = set()
        self.loose_serials = []
        self.revoked = set()
        self.infos = {}
        self.now = None

    def items(self):
        return []  # the devices are known only after reading u-blox: implied_items

    def key(self, item):
        return item.get('rot_public_uid') or item.get('serial_number')

    def validate(self, items):
        validate(self.params)

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        params = self.params
        # The Root CAs named must exist; renew needs the validity of the new certificates.
        self.cas = self.client.root_cas()
        for option in ('ca_name', 'from_ca'):
            if params[option] and params[option] not in self.cas:
                raise ConfigError('%s: u-blox has no Root CA %s (it has: %s)' % (option, params[option], ', '.join(sorted(self.cas)) or 'none'))
        self.validity = renewal_validity(params, self.cas)
        self.select()
        self.infos = self.client.device_info(self.rots, options=('ZTP',), concurrency=params['concurrency'])
        self.now = self.client.http.now()  # the cloud's clock decides what is due (see _http.ServerClock)

    def select(self):
        """Which devices: explicit ROTPublicUIDs, devices with the tags, holders of the serial numbers, or every holder of the CA."""
        params, client = self.params, self.client
        self.rots = set(params['rot_public_uids'] or ())
        if params['tags']:
            self.rots |= client.tagged_devices(params['tags'])
        sources = holder_cas(params, self.cas)
        by_serial = {}
        for holders in map_concurrently(client.ca_devices, sources, params['concurrency']):
            for holder in holders:
                by_serial[str(holder.get('CertificateSerialNumber')).lower()] = str(holder.get('ROTPublicUID')).lower()
        if params['serial_numbers']:
            for serial in params['serial_numbers']:
                if serial in by_serial:
                    self.rots.add(by_serial[serial])
                else:
                    self.loose_serials.append(serial)
        elif not (params['rot_public_uids'] or params['tags']):
            self.rots |= set(by_serial.values())
        if self.loose_serials:
            if params['action'] != 'revoke' or not params['ca_name']:
                raise ConfigError('serial_numbers: no device holds a certificate with serial number %s%s%s' % (
                    ', '.join(self.loose_serials[:10]), ' from Root CA %s' % sources[0] if len(sources) == 1 else '',
                    '; give ca_name to revoke it by serial number on that Root CA' if params['action'] == 'revoke' else ''))
            crl = client.crls([params['ca_name']]).get(params['ca_name']) or {}
            self.revoked = set(serial.lower() for serial in crl.get('RevokedSerialNumbers') or [])

    def implied_items(self, items):
        return [dict(rot_public_uid=rot) for rot in sorted(self.rots)] + [dict(serial_number=serial) for serial in self.loose_serials]

    def plan(self, item):
        if 'serial_number' in item:
            return plan_serial(item['serial_number'], self.revoked)
        return plan_device(self.params, item['rot_public_uid'], self.infos.get(item['rot_public_uid']), self.now)

    def apply_all(self, plans):
        failures = self.revoke(plans) if self.params['action'] == 'revoke' else self.send(plans)
        failed = dict(changed=False, failed=True, status='failed')
        if self.params['action'] in ROTATIONS:
            failed['new_expiry_pending'] = False
        return dict((item, dict(failed, msg=message)) for item, message in failures.items())

    def send(self, plans):
        """One call for all the devices (per source Root CA for transfer); {ROTPublicUID: message} of the failed calls."""
        action, ca_name, client = self.params['action'], self.params['ca_name'], self.client
        rots = [plan.item for plan in plans]
        if action == 'renew':
            calls = [(client.renew_certificates, ca_name, self.validity, rots)]
        elif action == 'update':
            calls = [(client.update_certificates, ca_name, rots)]
        elif action == 'delete':
            calls = [(client.delete_certificates, rots)]
        else:
            groups = transfer_groups(plans)
            calls = [(client.transfer_certificates, source, ca_name, groups[source]) for source in sorted(groups)]
        failures = {}
        for write, *args in calls:
            try:
                write(*args)
            except IotopsError as exc:
                failures.update(dict.fromkeys(args[-1], client.http.redact(exc.msg)))
        return failures

    def revoke(self, plans):
        """u-blox revokes one certificate per call, on the Root CA of the device's certificate (ca_name for a serial number
        no device holds): ``concurrency`` at a time; {item: message} of the failed calls."""
        def revoke(plan):
            if plan.data.get('loose'):
                ca_name, serial, rot = self.params['ca_name'], plan.item, None
            else:
                ca_name, serial, rot = plan.data['certificate']['ca_name'], plan.data['certificate']['serial_number'], plan.item
            try:
                self.client.revoke_certificate(ca_name, serial, rot)
            except IotopsError as exc:
                return plan.item, self.client.http.redact(exc.msg)
            return plan.item, None
        return dict((item, message) for item, message in map_concurrently(revoke, plans, self.params['concurrency']) if message)

    def outcomes(self, results):
        for result in results:
            result.pop('action', None)  # the task's action is the option; outcomes report status
            if result['failed']:
                result.setdefault('status', 'failed')
        self.extra['acted_on'] = [result['item'] for result in results if result.get('status') == 'acted']
        return results


def main():
    run_module(CertificateModule, ARGSPEC, **BATCH_ARGSPEC,
               action=dict(type='str', required=True, choices=['renew', 'update', 'revoke', 'delete', 'transfer']),
               ca_name=dict(type='str'), from_ca=dict(type='str'), issued_before=dict(type='str'),
               renew_within_days=dict(type='int'), validity_days=dict(type='int'),
               include_revoked=dict(type='bool', default=False),
               **dict((option, dict(type='list', elements='str')) for option in SELECTORS))


if __name__ == '__main__':
    main()
