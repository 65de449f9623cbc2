# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of nrfcloud_provisioning about one claimed device, from data alone (no server).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A ``Device`` holds what the module knows about one device (its spec, the record and command history read, what the
run decided and did). The functions here decide, from a Device and the options: its Plan (``plan_item``), which
commands come next (``plan_device``), whether its CSR is signed now (``csr_to_sign``), whether it fits in nRF Cloud's
20-command budget, why a device in ERROR or BLOCKED fails (``stuck_failure``), what a status round does with it
(``settle_step``, ``settled``), and where it stands afterwards (``phase``, ``rotation_view``).
The module sends the requests; ``predicted`` (true until the run has applied the device) makes the same functions
tell what a real run would leave, for check mode.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    MAX_COMMANDS, PENDING_COMMAND_STATUSES, build_request, command_kind, command_message, pending_client_certificate, pending_commands,
    plan_commands)
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_rotation import (
    RECOVERY_REMEDY, RotationPlan, iso, plan_rotation, rotations_left)
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import (
    AWAITING_COMMANDS, CLAIMED, CSR_SIGNED, NEEDS_ATTENTION, PROVISIONED, WAITING_FOR_DEVICE)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan

SERVER_CERTIFICATE_DESCRIPTION = 'Server certificate'
FINISHED_DESCRIPTION = 'Provisioning finished'
STATUS_ORDER = {'AWAITING': ('AWAITING', 'PROVISIONED'), 'PROVISIONED': ('PROVISIONED',)}
CLAIMED_STUCK_STATUSES = ('ERROR', 'BLOCKED')
CSR = 'certificateSigningRequest'
PROVISION = 'provision'  # the plan of a present device that gets a write: claimed, commands appended, or its CSR signed
UNCLAIM = 'unclaim'
# what a status round does with a device (settle_step)
STUCK, SIGN, SETTLE = 'stuck', 'sign', 'settle'
ERROR_REMEDY = ('nRF Cloud suspends a device in ERROR until someone acts: fix what the device reported, then reset or skip the '
                'failed command in the nRF Cloud portal (Provisioning Service; nRF Cloud publishes no REST call for it), or run '
                'iotops.provisioning.nrfcloud_provisioning_recovery with its claim_token, which unclaims and claims it again (an empty '
                'command history; the device leaves device management until it is onboarded again), and run the job again.')
BLOCKED_REMEDY = ('Unblock the device in the nRF Cloud portal, or with iotops.provisioning.nrfcloud_provisioning_recovery '
                  '(recover: [blocked]), if it should be provisioned, then run the job again.')


class Device:
    """What the module knows and decides about one device during the run."""

    def __init__(self, spec, default_state, default_commands):
        self.claim_token = spec.get('claim_token')
        self.device_id = spec.get('device_id')
        self.tags = spec.get('tags') or []
        self.state = spec.get('state') or default_state
        self.commands = spec['commands'] if spec.get('commands') is not None else (default_commands or [])
        self.desired = []  # [(request, description)]
        self.claimed = False  # claimed before this run
        self.record = None
        self.history = []
        self.missing = []
        self.before = None           # the diff view before this run
        self.needs_signing = False
        self.signed = False          # this run signed its CSR and appended the certificate commands
        self.predicted = True        # nothing applied yet: what is reported is what a real run would do
        self.status = None           # the latest status read
        self.status_at_write = None  # the status when this run last appended commands
        self.settled = False         # the device got where the run takes it (or cannot get further)
        self.rotation = None         # with rotate: the RotationPlan
        self.renew = False           # with rotate: sign a new certificate for the key of its latest CSR now
        self.failure = None
        self.remedy = None
        self.generation = 0          # the device's lock generation when it was read (see _device_locks)
        self.onboarded = False       # PROVISIONED and in device management, taken as done (skip_onboarded)
        self.in_management = False   # in device management when the run read its list (skip_onboarded, onboard)
        self.onboarding = None       # with onboard: what this run's bulk onboarding reported for it (onboarded)
        self.bulk_claim = None       # its outcome in this run's bulk claim, when the run claimed in bulk
        self.result = self.fresh_result()

    @staticmethod
    def fresh_result():
        """The device's result fields before anything was done (or predicted)."""
        return dict(changed=False, claimed=False, unclaimed=False, commands_added=[], certificate_signed=False)

    def append(self, request, description, command_id=None):
        """Count a command as appended, with the id nRF Cloud gave it (none for a prediction); it stays PENDING in the
        history until the device is seen to have run it (``ran_all``) or the history is read again."""
        self.result['commands_added'].append(dict(kind=command_kind(request), description=description))
        self.result['changed'] = True
        self.history = self.history + [dict(id=command_id, request=request, description=description, status='PENDING')]

    def ran_all(self):
        """nRF Cloud sets PROVISIONED only once the device has run every command of its configuration and acknowledged
        finished. A device that got there after this run appended commands has run them all: they are marked SUCCEEDED
        without reading its history again (one request less per device). True when that was the case."""
        if self.status != 'PROVISIONED' or self.status_at_write in (None, 'PROVISIONED'):
            return False
        self.history = [dict(c, status='SUCCEEDED') if c.get('status') in PENDING_COMMAND_STATUSES else c for c in self.history]
        return True


# -- which commands come next ------------------------------------------------------------------------

def signed_tail(sign, sec_tag, client_certificate):
    """The commands appended after signing: the client certificate, the server certificate and finished."""
    tail = [({'clientCertificate': {'secTag': sec_tag, 'content': client_certificate}}, sign['description'])]
    if sign.get('server_certificate'):
        tail.append(({'serverCertificate': {'secTag': sec_tag, 'content': sign['server_certificate']}}, SERVER_CERTIFICATE_DESCRIPTION))
    tail.append(({'finished': {}}, FINISHED_DESCRIPTION))
    return tail


def requests_after(device):
    """The requests of the device's history followed by those the run appends."""
    return [c.get('request') or {} for c in device.history] + [r for r, _d in device.missing]


def unsigned_csr_expected(device):
    """True when the device has (or will get) a CSR not yet followed by a client certificate for its security tag."""
    pending = None
    for request in requests_after(device):
        kind = command_kind(request)
        if kind == CSR:
            pending = request[kind].get('secTag')
        elif kind == 'clientCertificate' and pending is not None and request[kind].get('secTag') == pending:
            pending = None
    return pending is not None


def unfinished_tail(device, sign):
    """What an earlier run left out after it added the client certificate (it stopped before the server certificate
    or ``finished``), plus ``finished`` again when other commands are appended after it, so that it stays last."""
    sequence = requests_after(device)
    signed = [i for i, r in enumerate(sequence) if command_kind(r) == 'clientCertificate']
    if not signed:
        return []
    sec_tag = sequence[signed[-1]]['clientCertificate'].get('secTag')
    after = [command_kind(r) for r in sequence[signed[-1] + 1:]]
    tail = [(r, d) for r, d in signed_tail(sign, sec_tag, None)[1:] if command_kind(r) == 'serverCertificate' and 'serverCertificate' not in after]
    if command_kind(sequence[-1]) != 'finished' or tail:
        tail.append(({'finished': {}}, FINISHED_DESCRIPTION))
    return tail


def latest_csr_command(history):
    return next((c for c in reversed(history) if command_kind(c.get('request') or {}) == CSR), None)


def signed_since_csr(history):
    """True when a client certificate for the security tag of the newest CSR follows it: someone (another job on the account)
    signed it since this run decided to."""
    newest = max((i for i, c in enumerate(history) if command_kind(c.get('request') or {}) == CSR), default=None)
    if newest is None:
        return False
    sec_tag = history[newest]['request'][CSR].get('secTag')
    return any(command_kind(c.get('request') or {}) == 'clientCertificate' and c['request']['clientCertificate'].get('secTag') == sec_tag
               for c in history[newest + 1:])


def csr_ready(device):
    """The device has run the CSR command that needs signing (so the run can sign it without waiting)."""
    if not device.needs_signing or any(command_kind(r) == CSR for r, _d in device.missing):
        return False
    csr = latest_csr_command(device.history)
    return csr is not None and csr.get('status') == 'SUCCEEDED'


def budget_failure(used, adding):
    """Why ``adding`` commands on top of ``used`` exceed nRF Cloud's limit per claimed device, or None."""
    total = used + adding
    if total <= MAX_COMMANDS:
        return None
    return ('this would make %d commands (%d already in its history, %d to add); nRF Cloud allows at most %d per '
            'claimed device and has no API to delete or reset them' % (total, used, adding, MAX_COMMANDS))


def plan_device(device, sign, rotate, now):
    """Decide the commands of a present device (``sign``/``rotate``: the module's options; ``now``: the cloud's clock)."""
    device.missing = plan_commands(device.desired, device.history)
    device.needs_signing = sign is not None and unsigned_csr_expected(device)
    if sign is not None and not device.needs_signing:
        device.missing += unfinished_tail(device, sign)
    if rotate and device.claimed:
        plan_device_rotation(device, sign, rotate, now)
    extra = len(signed_tail(sign, None, None)) if device.needs_signing else 0
    failure = budget_failure(len(device.history), len(device.missing) + extra)
    if failure and not device.failure:
        # the device's own state, not the task's input: it fails alone and the others are worked
        device.failure, device.remedy = failure, RECOVERY_REMEDY


def plan_device_rotation(device, sign, rotate, now):
    """Decide the device's rotation (see _nrfcloud_rotation); an earlier, unfinished one is carried on first."""
    if device.needs_signing or device.missing:
        device.rotation = RotationPlan('continue', 'carries on the rotation an earlier run started: ' +
                                       ('signs its CSR as soon as the device has run it' if device.needs_signing
                                        else 'appends finished after the certificate it left'))
        return
    plan = plan_rotation(device.history, now, rotate['within_days'], rotate['policy'], bool(sign.get('server_certificate')),
                         rotate['warn_rotations_left'])
    device.rotation = plan
    if plan.failure:
        device.failure, device.remedy = plan.failure, plan.remedy
    elif plan.action == 'rekey':
        csr = dict(kind=CSR, sec_tag=plan.sec_tag, attributes=rotate.get('csr_attributes'))
        device.missing = [(build_request(csr, device.device_id), '%s: CSR' % rotate['description'])]
        device.needs_signing = True
    elif plan.action == 'renew':
        device.needs_signing = device.renew = True


def predict(device):
    """What a real run does to a present device before its status rounds: claim it, append its missing commands, and
    sign the CSR it has run already."""
    if not device.claimed:
        device.result['claimed'] = device.result['changed'] = True
    for request, description in device.missing:
        device.append(request, description)
    if csr_ready(device):
        device.result['certificate_signed'] = device.result['changed'] = True


def plan_item(device, sign, rotate, now, reread):
    """The Plan of one device (``sign``/``rotate``: the module's options; ``now``: the cloud's clock; ``reread()``: its
    history read again, see stuck_failure). Raises IotopsError when the device's own state refuses it: it fails alone and
    the others are worked."""
    if device.state == 'absent':
        device.result['unclaimed'] = device.result['changed'] = device.claimed
        if not device.claimed:
            return Plan(device.device_id, device=device)
        return Plan(device.device_id, UNCLAIM, before=dict(claimed=True), after=dict(claimed=False), device=device)
    plan_device(device, sign, rotate, now)
    device.before = diff_view(device.claimed, device.history)
    if device.failure:
        raise IotopsError(device.failure)
    if device.status in CLAIMED_STUCK_STATUSES:
        # nothing is appended to a suspended or blocked device: it would not run it
        stuck_failure(device, reread)
        raise IotopsError(device.failure)
    read = device.history
    predict(device)
    return Plan(device.device_id, PROVISION if device.result['changed'] else NO_CHANGE, before=device.before,
                after=diff_view(True, history_after(device, sign)), device=device, history=read)


def predicted_signing(device):
    """A prediction (nothing applied) that the run signs the device's CSR straight away: it has run it already."""
    return device.predicted and csr_ready(device)


# -- the status rounds ----------------------------------------------------------------------------------

def follow_groups(active, targets):
    """(followed now, looked at once): the devices the run waits for, and those waiting to connect since an earlier run.

    A device the run did not touch and that is already there needs no status round. A rotation waits for the devices it
    rotated now; one still waiting since an earlier run is looked at once (signed if its CSR has run meanwhile), so that
    a device that stays off does not hold up every daily run."""
    followed = [d for d in active if d.needs_signing or (targets and (d.result['changed'] or d.status not in targets))]
    once = [d for d in followed if d.rotation is not None and d.rotation.action == 'continue' and not d.result['changed']]
    return [d for d in followed if d not in once], once


def needs_following(device, targets):
    """Whether a real run looks at the device in status rounds even when nothing is to be written now."""
    return device.state == 'present' and (device.needs_signing or bool(targets and device.status not in targets))


def settle_step(device):
    """What a status round does next with the device: STUCK (read why it is in ERROR/BLOCKED), SIGN its CSR, or SETTLE."""
    if device.failure:
        return SETTLE
    if device.status in CLAIMED_STUCK_STATUSES:
        return STUCK
    # PROVISIONED too: another job may have signed the CSR, and the device run it all, between two rounds of this one
    if device.needs_signing and not device.signed and device.status in ('AWAITING', 'PROVISIONED'):
        return SIGN
    return SETTLE


def csr_to_sign(device, history):
    """The device's newest CSR command once it has run it (the run signs it now), else None: not run yet (the device has not
    connected), or failed (then ``device.failure`` says so)."""
    csr_command = latest_csr_command(history)
    if csr_command is None or csr_command.get('status') in PENDING_COMMAND_STATUSES:
        return None
    if csr_command.get('status') != 'SUCCEEDED':
        device.failure = 'the device failed its CSR command: %s' % command_message(csr_command)
        device.remedy = ERROR_REMEDY
        return None
    return csr_command


def last_failed_command(history):
    return next((c for c in reversed(history) if c.get('status') == 'FAILED'), None)


def stuck_failure(device, reread):
    """Fail a device in ERROR or BLOCKED with the device's own words and what a person does about it. ``reread()`` returns
    its history read again, for when the history read holds no failed command yet."""
    if device.status == 'BLOCKED':
        device.failure = 'the device is BLOCKED in the Provisioning Service and takes no commands'
        device.remedy = BLOCKED_REMEDY
        return
    failed = last_failed_command(device.history)
    if failed is None:
        device.history = reread()
        failed = last_failed_command(device.history)
    device.failure = ('the device is in ERROR: its %s command failed: %s' % (command_kind(failed.get('request') or {}), command_message(failed))
                      if failed else 'the device is in ERROR (no failed command in its history)')
    device.remedy = ERROR_REMEDY


def settled(device, targets):
    """True when the device got where the run takes it (or cannot get further), False while it is on its way, None when
    only its history can tell (its status was already there before this run's commands)."""
    if device.failure:
        return True
    if device.needs_signing and not device.signed:
        return False  # its CSR has not run yet
    if not targets:
        return True
    if device.status not in targets:
        return False
    if device.status_at_write in targets:
        return None
    return True


def settled_by_status(device, targets):
    """What the latest status tells without a request: True (settled), False (on its way), or None when a request must
    come first (its CSR to sign, why it is in ERROR or BLOCKED, or its history: see ``settled``)."""
    return settled(device, targets) if settle_step(device) == SETTLE else None


# -- where it stands ----------------------------------------------------------------------------------

def history_after(device, sign):
    """The history after the run; for a prediction, with the certificate commands the real run appends straight away."""
    if not predicted_signing(device):
        return device.history
    sec_tag = latest_csr_command(device.history)['request'][CSR].get('secTag')
    return device.history + [dict(request=r, description=d) for r, d in signed_tail(sign, sec_tag, None)]


def diff_view(claimed, history):
    return dict(claimed=claimed, commands=['%s: %s' % (command_kind(c.get('request') or {}), c.get('description') or '')
                                           for c in history])


def phase(device):
    """Where the device stands (after the run, or after the real run for a prediction), in plain words."""
    if device.failure:
        return NEEDS_ATTENTION
    if device.needs_signing and not device.signed:
        return CSR_SIGNED if predicted_signing(device) else WAITING_FOR_DEVICE
    if pending_commands(device.history):
        return CSR_SIGNED if device.signed or pending_client_certificate(device.history) else WAITING_FOR_DEVICE
    if device.status == 'PROVISIONED':
        return PROVISIONED
    if device.status == 'AWAITING':
        return AWAITING_COMMANDS
    if not device.history:
        return CLAIMED
    return WAITING_FOR_DEVICE


def rotation_view(device, sign, policy, predicted_expiry=None):
    """The rotation fields of a device's outcome: dates, policy, action, reason and its command budget.

    ``predicted_expiry``: the expiry a renewal signed now would get (reported for a prediction)."""
    plan = device.rotation
    tail = len(signed_tail(sign, None, None))
    # the certificate commands still to come count too: a CSR this run appended (or would) is signed once the device ran it
    to_come = tail if device.needs_signing and not device.signed and not predicted_signing(device) else 0
    used = len(history_after(device, sign)) + to_come
    view = dict(action=plan.action, reason=plan.reason, due=plan.due, policy=plan.policy, old_expiry=plan.old_expiry,
                new_expiry=None, new_expiry_pending=False, commands_left=max(0, MAX_COMMANDS - used),
                rotations_left=rotations_left(used, plan.policy or policy, bool(sign.get('server_certificate'))))
    if device.signed:
        view['new_expiry'] = device.result['certificate']['not_after']
    elif device.predicted and device.renew and predicted_expiry is not None:
        view['new_expiry'] = iso(predicted_expiry)
    elif plan.action in ('rekey', 'continue') and device.needs_signing:
        view['new_expiry_pending'] = True  # signed once the device has connected and run its CSR command
    if plan.attention and not device.failure:
        view['attention'] = plan.attention
        view['remedy'] = plan.remedy
    return view
