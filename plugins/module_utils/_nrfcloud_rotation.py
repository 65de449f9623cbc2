# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotation of the client certificates of claimed nRF Cloud devices, within nRF Cloud's 20-command limit.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A claimed device's provisioning configuration holds at most 20 commands, and no documented REST call
deletes or resets them (the portal's Reset and Discard have no published API; docs/mock-assumptions.md).
Each rotation therefore spends commands for good, and the planner here decides, device by device and
from its command history alone (no server), whether a rotation is due and what it costs:

- ``renew``: a new certificate for the key pair the device already has (the one of its latest CSR) -
  clientCertificate + finished, 2 commands;
- ``rekey``: a new key pair - CSR + clientCertificate + finished, 3 commands.

A device whose budget cannot pay for the rotation is refused (it needs the recovery runbook: unclaim,
claim again, onboard again), and one that will have few rotations left gets a warning first.
"""

from __future__ import annotations

import datetime

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    MAX_COMMANDS, csr_response, latest_client_certificate, latest_succeeded, pending_commands)
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import csr_from_device, load_certificate, same_public_key

DAY = 86400
POLICY_COMMANDS = {'renew': ('clientCertificate', 'finished'),
                   'rekey': ('certificateSigningRequest', 'clientCertificate', 'finished')}
RECOVERY_REMEDY = ('Run playbooks/recover_nrfcloud_devices.yml for this device (first with --check): it unclaims the device, '
                   'claims it again with its attestation token and onboards it again, which starts an empty command history. '
                   'The device leaves nRF Cloud device management until it is onboarded again, so plan it for a '
                   'maintenance window.')


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def rotation_cost(policy, server_certificate=False):
    """Commands one rotation of this policy appends."""
    return len(POLICY_COMMANDS[policy]) + (1 if server_certificate else 0)


class RotationPlan:
    """What a device needs. ``action``: ``renew`` / ``rekey`` (rotate now), ``continue`` (an earlier rotation is under
    way: the module signs or finishes it as it does for onboarding), ``none``; ``failure`` when the device's own state
    refuses the rotation."""

    def __init__(self, action, reason, due=False, policy=None, old_expiry=None, sec_tag=None):
        self.action = action
        self.reason = reason
        self.due = due
        self.policy = policy
        self.old_expiry = old_expiry
        self.sec_tag = sec_tag
        self.attention = None
        self.failure = None
        self.remedy = None


def current_certificate(history):
    """(command, certificate) of the newest succeeded clientCertificate command, or (None, None)."""
    command = latest_succeeded(history, 'clientCertificate')
    if command is None:
        return None, None
    try:
        return command, load_certificate(latest_client_certificate(history), 'the client certificate in its history')
    except IotopsError:
        return command, None


def renewable(history, certificate):
    """Whether the newest succeeded CSR is for the key of ``certificate`` - then a certificate for it needs no new key."""
    command = latest_succeeded(history, 'certificateSigningRequest')
    if command is None:
        return False
    try:
        return same_public_key(csr_from_device(csr_response(command)[0]), certificate)
    except IotopsError:
        return False


def rotations_left(commands_used, policy, server_certificate=False):
    return max(0, MAX_COMMANDS - commands_used) // rotation_cost(policy, server_certificate)


def plan_rotation(history, now, within_days, policy, server_certificate=False, warn_rotations_left=1):
    """The RotationPlan of one device from its command history, on the cloud's clock ``now`` (seconds since the epoch)."""
    if pending_commands(history):
        return RotationPlan('continue', 'commands an earlier run appended wait for the device to connect and run them')
    command, certificate = current_certificate(history)
    if command is None:
        return RotationPlan('none', 'no client certificate in its provisioning history yet (not provisioned by its commands)', due=None)
    sec_tag = command['request']['clientCertificate'].get('secTag')
    if certificate is None:
        plan = RotationPlan('none', 'the client certificate in its history does not parse', due=None, sec_tag=sec_tag)
        plan.attention, plan.remedy = plan.reason, 'Rotate it by hand with the rekey policy, or run the recovery runbook.'
        return plan
    expires = certificate.not_valid_after_utc.timestamp()
    left_days = (expires - now) / DAY
    used = len(history)
    when = 'expired on %s' % iso(expires)[:10] if left_days < 0 else 'expires on %s (in %d days)' % (iso(expires)[:10], int(left_days))
    if left_days > within_days:
        plan = RotationPlan('none', '%s, outside the %d-day window' % (when, within_days), old_expiry=iso(expires), sec_tag=sec_tag)
        _warn_budget(plan, used, policy, server_certificate, warn_rotations_left, next_rotation=True)
        return plan
    can_renew = renewable(history, certificate)
    chosen = policy if (policy == 'rekey' or can_renew) else 'rekey'
    plan = RotationPlan(chosen, when, due=True, policy=chosen, old_expiry=iso(expires), sec_tag=sec_tag)
    if chosen != policy:
        plan.reason += '; rekeyed: its history has no CSR for the key of its current certificate, so it cannot be renewed'
    cost = rotation_cost(chosen, server_certificate)
    if used + cost > MAX_COMMANDS and chosen == 'rekey' and can_renew and used + rotation_cost('renew', server_certificate) <= MAX_COMMANDS:
        plan.action = plan.policy = 'renew'
        plan.reason += '; renewed on its current key: a new key pair would exceed the 20-command limit'
        cost = rotation_cost('renew', server_certificate)
    if used + cost > MAX_COMMANDS:
        plan.action = 'none'
        plan.failure = ('%s, but it has used %d of the %d provisioning commands nRF Cloud allows per claimed device and a %s needs %d '
                        'more; nRF Cloud has no API to delete or reset commands' % (when, used, MAX_COMMANDS, plan.policy, cost))
        plan.remedy = RECOVERY_REMEDY
        return plan
    _warn_budget(plan, used + cost, plan.policy, server_certificate, warn_rotations_left)
    return plan


def _warn_budget(plan, used, policy, server_certificate, warn_rotations_left, next_rotation=False):
    left = rotations_left(used, policy, server_certificate)
    if left > warn_rotations_left:
        return
    used_text = '%d of the %d provisioning commands used%s' % (used, MAX_COMMANDS, '' if next_rotation else ' after this rotation')
    if left == 0:
        plan.attention = '%s: its next rotation will not fit' % used_text
    else:
        plan.attention = '%s: %d more %s rotation%s fit%s' % (used_text, left, policy, 's' if left > 1 else '', '' if left > 1 else 's')
    plan.remedy = RECOVERY_REMEDY
