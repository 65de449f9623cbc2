# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery of claimed nRF Cloud devices that cannot be provisioned any further: the planner (data only) and the calls.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

What the Provisioning Service documents, and what the recovery is made of (docs/mock-assumptions.md):

- ERROR: a device that answered a command with an error is suspended until someone acts (seed 003). The portal can
  reset or skip the failed command, but no published source names a REST call for that. Unclaiming the device and
  claiming it again (both documented calls) starts a new, empty provisioning configuration: that is the recovery here.
- The 20-command limit: a claimed device takes at most 20 commands in its life, and no published call deletes or resets
  them. Claiming the device again gives it 20 new ones, so a device is never left unable to rotate ("full").
- BLOCKED: the portal's Unblock; the REST path (``POST /claimed-devices/{id}/unblock``, the client's ``unblock``) is the one
  the mock models.

Claiming again needs the device's attestation token. Unclaiming also removes the device from nRF Cloud device management,
so the device is provisioned and onboarded again afterwards (or by a provisioning rule of its tags).
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    MAX_COMMANDS, command_kind, command_message, pending_commands)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan

CONDITIONS = ('error', 'blocked', 'full')
UNBLOCK, RECLAIM, CLAIM = 'unblock', 'reclaim', 'claim'
DEFAULT_MIN_COMMANDS_LEFT = 3  # a rekey rotation: CSR, client certificate, finished
AFTER_CLAIM = ('claimed again with an empty provisioning configuration (%d commands left); nRF Cloud removed it from device '
               'management: provision it again with nrfcloud_provisioning (CSR and sign_csr) and onboard it with nrfcloud_device, '
               'unless a provisioning rule of its tags (nrf-cloud-onboarding) does it' % MAX_COMMANDS)
AFTER_UNBLOCK = 'unblocked: it runs its pending commands when it next connects; run nrfcloud_provisioning again to move it on'


def state_view(record, history):
    """The fields of the diff: claimed, status, commands used."""
    if record is None:
        return dict(claimed=False, status=None, commands_used=0)
    return dict(claimed=True, status=record.get('status'), commands_used=len(history) if history is not None else None)


def failed_command_text(history):
    failed = next((c for c in reversed(history or []) if c.get('status') == 'FAILED'), None)
    if failed is None:
        return 'no failed command in its history'
    return 'its %s command failed: %s' % (command_kind(failed.get('request') or {}), command_message(failed))


def condition(record, history, recover, min_left):
    """(condition, reason) of a claimed device: the first of ``recover`` it is in, or (None, why it needs nothing)."""
    status = record.get('status')
    if status == 'BLOCKED' and 'blocked' in recover:
        return 'blocked', 'BLOCKED: it takes no provisioning commands'
    if status == 'ERROR' and 'error' in recover:
        return 'error', 'in ERROR, suspended by nRF Cloud: %s' % failed_command_text(history)
    used = len(history or [])
    left = MAX_COMMANDS - used
    if 'full' in recover and left < min_left:
        text = '%d of the %d provisioning commands nRF Cloud allows per claimed device used, %d left (fewer than %d)' % (
            used, MAX_COMMANDS, left, min_left)
        if pending_commands(history or []):
            return None, text + '; it still has commands to run, so it is claimed again only once it has run them'
        return 'full', text
    return None, 'nothing to recover: %s, %d of %d commands used' % (status, used, MAX_COMMANDS)


def plan_recovery(item, record, history, recover, min_left):
    """The Plan of one device from its record (None: not claimed by the team) and command history. Raises IotopsError when the
    device must be claimed again and the task gave no attestation token (it fails alone; the others are worked)."""
    device_id, before = item['device_id'], state_view(record, history)
    fresh = dict(claimed=True, status='READY', commands_used=0)
    if record is None:
        if not item.get('claim_token'):
            return Plan(device_id, NO_CHANGE, before=before, after=before, result=dict(reason='not claimed by this team: nothing to recover'))
        reason = 'not claimed by this team (an earlier recovery may have stopped after unclaiming it): claims it with its attestation token'
        return Plan(device_id, CLAIM, before=before, after=fresh, result=dict(reason=reason, next_step=AFTER_CLAIM),
                    tags=item.get('tags') or [], claim_token=item['claim_token'])
    found, reason = condition(record, history, recover, min_left)
    result = dict(reason=reason, status_before=record.get('status'), commands_used=before['commands_used'])
    if found is None:
        return Plan(device_id, NO_CHANGE, before=before, after=before, result=result)
    if found == 'blocked':
        return Plan(device_id, UNBLOCK, before=before, after=dict(before, status='as before it was blocked'),
                    result=dict(result, condition=found, next_step=AFTER_UNBLOCK))
    if not item.get('claim_token'):
        raise IotopsError('%s; recovering it means claiming it again, which needs claim_token (its AT%%ATTESTTOKEN); nothing was '
                          'changed' % reason)
    tags = item['tags'] if item.get('tags') is not None else list(record.get('tags') or [])
    return Plan(device_id, RECLAIM, before=before, after=fresh, result=dict(result, condition=found, next_step=AFTER_CLAIM), tags=tags,
                claim_token=item['claim_token'])


def needs_history(record, recover):
    """Whether the planner needs the device's command history: for the limit, and for the words of a failed command."""
    return record is not None and ('full' in recover or (record.get('status') == 'ERROR' and 'error' in recover))
