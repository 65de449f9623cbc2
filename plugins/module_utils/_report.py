# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a batch run: one row per physical device, a column per cloud, a verdict.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Two halves, shared by the batch_report module and its action plugin:
- ``lean_step``: the action reduces each step to the per-device fields the report uses before the
  steps are sent to the module, so that thousands of full results (their certificates, command
  histories and invocations) are not serialised into the module's arguments;
- ``build``: the module merges the steps into rows (one per serial), each cloud's cell holding the
  device's phase there, and works out the verdict, the counts and what needs a person.

A rotation report (``kind='rotation'``) also carries each certificate's dates, policy and budget per cell, and
summarises the devices outside the rotation window per cloud instead of giving each a row: most of a fleet is
not due on any given day, and 5,000 rows of "not due" hide the few that were rotated.

A decommission report (``kind='decommission'``) words each cell as what the run did there: removed, already gone (nothing was
left to remove), waiting (a step waits for the device, such as a certificate removal until its next heartbeat) or needs attention.
"""

from __future__ import annotations

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._phases import (
    CREATED, DELETED, NEEDS_ATTENTION, PROVISIONED, REMOVED, UP_TO_DATE, UPDATED, WHITELISTED, is_waiting)

# what the rotation modules add to an outcome (the contract of issue 17): the certificate's dates, the policy, whether it was
# due, a warning that fails nothing (``attention``) and, for nRF Cloud, the command budget left
ROTATION_FIELDS = ('policy', 'old_expiry', 'new_expiry', 'new_expiry_pending', 'due', 'attention', 'commands_left', 'rotations_left')
# the fields of a per-device result the report uses
REPORT_FIELDS = ('item', 'changed', 'failed', 'msg', 'phase', 'waiting', 'out_of_service', 'remedy', 'status', 'action',
                 'reason') + ROTATION_FIELDS

# the kinds of report: a batch (phases per cloud) and a certificate rotation (dates, policy, the window)
BATCH = 'batch'
ROTATION = 'rotation'
DECOMMISSION = 'decommission'
# a decommission cell in which no step of the run had anything left to remove
ALREADY_GONE = 'already gone'

# the severity of an entry of needs_attention: a failure fails the run, a warning does not but needs a person all the same
FAILED = 'failed'
WARNING = 'warning'

# the clouds in the order of their columns; a vendor key not listed here gets a column after them, named by the key
CLOUDS = (('nrfcloud', 'nRF Cloud'), ('ublox', 'u-blox'), ('iotcomms', 'iotcomms.io'), ('naocloud', 'NAO Cloud'),
          ('ublox_tag', 'u-blox tag'), ('ublox_rootca', 'u-blox Root CA'))
CLOUD_LABELS = dict(CLOUDS)
# columns of resources shared by many devices: their rows are not devices, so the verdict does not count them as such (a
# failed one counts as a failed step)
SHARED = ('ublox_tag', 'ublox_rootca')
CLOUD_ORDER = dict((key, index) for index, (key, dummy) in enumerate(CLOUDS))

# the verdict of a row (machine words in the JSON; the HTML shows the done word of the report for DONE)
DONE = 'done'
WAITING = 'waiting'
ATTENTION = NEEDS_ATTENTION
# a device taken out of service on purpose (decommissioned, or its certificate revoked by an incident response): neither done
# (healthy, onboarded) nor a finding - the audit counts it apart
OUT_OF_SERVICE = 'out of service'

CHANGED = 'changed'
PENDING = 'pending (next heartbeat)'

# the status and action words of results without a phase (the certificate_rotation role, older modules), in plain words
LEGACY_WORDS = {
    'acted': CHANGED, 'done': UP_TO_DATE, 'none': UP_TO_DATE, 'ok': UP_TO_DATE, 'pending': PENDING, 'skipped': 'skipped',
    'failed': NEEDS_ATTENTION, 'create': CREATED, 'update': UPDATED, 'delete': DELETED, 'added': WHITELISTED,
    'present': WHITELISTED, 'removed': 'removed', 'absent': 'not present', 'kept': 'kept', 'PROVISIONED': PROVISIONED,
}
# legacy words in which the next step is the device's (u-blox applies a pending action at the next security heartbeat)
LEGACY_WAITING = frozenset((PENDING,))

DEFAULT_REMEDY = 'Fix the cause above, then run the job again: what is done is not done twice.'
WARNING_REMEDY = 'Nothing failed: look into it before the certificate expires or the next rotation is due.'
STEP_REMEDY = ('Fix the cause above (the input it names, a credential, or the cloud being out of reach), then run the job '
               'again: what is done is not done twice.')
# situations recognised in a reason (the HTTP layer's "<vendor> <method> <path> failed: HTTP <status>" and
# "... could not be completed: ..."), and what a person does about them
REMEDIES = (
    (re.compile(r'\bHTTP 40[13]\b'), 'Check the {cloud} credentials (the AWX credential or the environment variables) and what '
                                     'they may do, then run the job again: what is done is not done twice.'),
    (re.compile(r'\bHTTP (429|502|503|504)\b|could not be completed'),
     '{cloud} was busy or out of reach: run the job again later; what is done is not done twice.'),
)


def step_results(step):
    """The per-device results of a step and the messages of its runs that failed as a whole."""
    results = [r for r in step.get('results') or [] if isinstance(r, dict)]
    errors = [step['error']] if step.get('error') else []
    for run in step.get('runs') or []:
        if not isinstance(run, dict) or run.get('skipped'):
            continue
        if isinstance(run.get('outcomes'), list):
            results.extend(r for r in run['outcomes'] if isinstance(r, dict))
        elif run.get('msg'):
            # the role's tasks run with failed_when: false, which clears "failed": a run without outcomes failed as a whole
            errors.append(str(run['msg']))
    return results, errors


def lean_step(step):
    """A step with its runs flattened into ``results`` and ``error``, each result cut down to REPORT_FIELDS."""
    if not isinstance(step, dict):
        return step  # the module's argument checks report it
    results, errors = step_results(step)
    lean = dict((key, value) for key, value in step.items() if key not in ('runs', 'results', 'error'))
    lean['results'] = [dict((key, result[key]) for key in REPORT_FIELDS if key in result) for result in results]
    if errors:
        lean['error'] = '; '.join(errors)
    return lean


def plain_word(word):
    """A status or action word in plain words: the mapped word, else the word itself in lower case."""
    word = str(word)
    return LEGACY_WORDS.get(word) or LEGACY_WORDS.get(word.lower()) or word.replace('_', ' ').lower()


def result_phase(result):
    """(phase, waiting) of a result that did not fail: its own phase, else its status or action in plain words."""
    if result.get('phase'):
        return str(result['phase']), bool(result.get('waiting'))
    word = result.get('status') or result.get('action')
    if word:
        phase = plain_word(word)
        return phase, bool(result.get('waiting')) or phase in LEGACY_WAITING or is_waiting(phase)
    return (CHANGED if result.get('changed') else UP_TO_DATE), bool(result.get('waiting'))


def cloud_label(cloud):
    return CLOUD_LABELS.get(cloud, cloud)


def remedy_for(reason, cloud, default=DEFAULT_REMEDY):
    """What a person should do about ``reason`` when the module gave no remedy."""
    for pattern, remedy in REMEDIES:
        if pattern.search(reason):
            return remedy.format(cloud=cloud_label(cloud))
    return default


class Cell:
    """Where one device stands in one cloud, merged over the steps: the last step's phase wins, the first failure stays.

    Of the rotation fields, the first old expiry stays (the certificate before the run), the last new expiry, policy and
    budget win, the cell was due when any step found it due, and the first warning stays with its remedy."""

    __slots__ = ('ids', 'steps', 'reached', 'waiting', 'waited', 'out_of_service', 'changed', 'failed', 'failed_id', 'failed_step',
                 'reason', 'remedy', 'note',
                 'policy', 'old_expiry', 'new_expiry', 'new_expiry_pending', 'due', 'commands_left', 'rotations_left',
                 'attention', 'attention_id', 'attention_step', 'attention_remedy')

    def __init__(self):
        self.ids, self.steps = [], []
        self.reached, self.waiting, self.changed, self.failed = '', False, False, False
        self.waited = False  # whether a step waited for the device (a decommission keeps it)
        self.out_of_service = False
        self.failed_id = self.failed_step = self.reason = self.remedy = self.note = None
        self.policy = self.old_expiry = self.new_expiry = self.due = self.commands_left = self.rotations_left = None
        self.new_expiry_pending = False
        self.attention = self.attention_id = self.attention_step = self.attention_remedy = None

    def add(self, step, item, result, cloud):
        if item not in self.ids:
            self.ids.append(item)
        if not self.steps or self.steps[-1] != step:
            self.steps.append(step)
        self.changed = self.changed or bool(result.get('changed'))
        self.add_rotation(step, item, result)
        if result.get('failed'):
            if not self.failed:
                self.failed, self.failed_id, self.failed_step = True, item, step
                self.reason = str(result.get('msg') or result.get('reason') or 'failed without a reason given')
                self.remedy = str(result['remedy']) if result.get('remedy') else remedy_for(self.reason, cloud)
            return
        self.reached, self.waiting = result_phase(result)
        self.waited = self.waited or self.waiting
        self.out_of_service = self.out_of_service or bool(result.get('out_of_service'))
        note = result.get('reason') or result.get('msg')
        self.note = str(note) if note else None

    def add_rotation(self, step, item, result):
        if self.old_expiry is None and result.get('old_expiry'):
            self.old_expiry = str(result['old_expiry'])
        if result.get('new_expiry'):
            self.new_expiry, self.new_expiry_pending = str(result['new_expiry']), False
        elif result.get('new_expiry_pending'):
            self.new_expiry, self.new_expiry_pending = None, True
        for key in ('policy', 'commands_left', 'rotations_left'):
            if result.get(key) is not None:
                setattr(self, key, result[key])
        if result.get('due') is not None:
            self.due = bool(self.due) or bool(result['due'])
        if result.get('attention') and self.attention is None:
            self.attention, self.attention_id, self.attention_step = str(result['attention']), item, step
            # a failed result's remedy is the failure's; the warning then gets the general one
            self.attention_remedy = str(result['remedy']) if result.get('remedy') and not result.get('failed') else WARNING_REMEDY

    @property
    def phase(self):
        return NEEDS_ATTENTION if self.failed else self.reached

    @property
    def not_due(self):
        """Its certificate is outside the window and the run did nothing with it."""
        return self.due is False and not (self.changed or self.failed or self.waiting)

    @property
    def outside_window(self):
        """Not due, and nothing to show (a warning, such as few rotations left, is shown all the same)."""
        return self.not_due and not self.attention

    def view(self):
        """The cell in the JSON file and the module's result."""
        view = dict(phase=self.phase, waiting=self.waiting and not self.failed, failed=self.failed, changed=self.changed,
                    ids=self.ids, steps=self.steps)
        if self.out_of_service and not self.failed:
            view['out_of_service'] = True
        if self.failed:
            view.update(reached=self.reached, reason=self.reason, remedy=self.remedy)
        elif self.note:
            view['note'] = self.note
        for key in ROTATION_FIELDS:
            value = getattr(self, key)
            if value is not None and (value is not False or key == 'due'):
                view[key] = value
        if self.attention:
            view['attention_remedy'] = self.attention_remedy
        return view


def removal_phase(cell):
    """A decommission cell in plain words: a step that waits for the device keeps it waiting (a u-blox certificate removal
    waits for the device's next security heartbeat, whatever the later steps did), else removed when the run removed anything,
    else already gone."""
    if cell.waited:
        cell.reached, cell.waiting = PENDING, True
    else:
        cell.reached, cell.waiting = (REMOVED if cell.changed else ALREADY_GONE), False


def row_verdict(cells):
    if any(cell.failed for cell in cells):
        return ATTENTION
    if any(cell.waiting for cell in cells):
        return WAITING
    if any(cell.out_of_service for cell in cells):
        return OUT_OF_SERVICE
    return DONE


def merge(steps, serials):
    """Rows ({key: {'serial', 'device', 'cells': {cloud: Cell}}}, in order of first appearance), the clouds seen, step failures."""
    rows, clouds, step_failures = {}, {}, []
    for step in steps:
        cloud, name = step['vendor'], step['step']
        ids = (serials or {}).get(cloud) or {}
        if step.get('error') or step['results']:
            clouds.setdefault(cloud, None)  # a cloud that no step reported on gets no column
        if step.get('error'):
            step_failures.append(dict(severity=FAILED, serial=None, device=None, cloud=cloud, id=None, phase='', step=name, reason=step['error'],
                                      remedy=remedy_for(step['error'], cloud, STEP_REMEDY)))
        for result in step['results']:
            item = str(result.get('item'))
            serial = ids.get(item)
            # one row per physical device: the identities of one device share its serial; without a serial, one per cloud and id
            key = ('serial', str(serial)) if serial not in (None, '') else ('id', cloud, item)
            row = rows.get(key)
            if row is None:
                row = rows[key] = dict(serial=None if key[0] == 'id' else key[1], device=key[-1], cells={})
            cell = row['cells'].get(cloud)
            if cell is None:
                cell = row['cells'][cloud] = Cell()
            cell.add(name, item, result, cloud)
    # the known clouds in their order, then the others as they came (sorted is stable)
    order = sorted(clouds, key=lambda cloud: CLOUD_ORDER.get(cloud, len(CLOUD_ORDER)))
    return list(rows.values()), order, step_failures


def verdict_text(done, total, waiting, attention, step_failures, warnings, done_word, out_of_service=0):
    parts = ['{:,} of {:,} {}'.format(done, total, done_word)]
    if out_of_service:
        parts.append('{:,} {}'.format(out_of_service, OUT_OF_SERVICE))
    if waiting:
        parts.append('{:,} waiting for the device'.format(waiting))
    if attention:
        parts.append('{:,} need{} attention'.format(attention, 's' if attention == 1 else ''))
    if step_failures:
        parts.append('{:,} step{} failed'.format(step_failures, '' if step_failures == 1 else 's'))
    if warnings:
        parts.append('{:,} warning{}'.format(warnings, '' if warnings == 1 else 's'))
    return ' · '.join(parts)


def causes(attention):
    """What needs attention grouped by what happened (severity, cloud, step, reason without the device's id, remedy).

    At thousands of devices one cause (a credential, a cloud out of reach) fails hundreds of them with the same words. Each
    entry of ``attention`` gets the number of its cause (``cause``, from 1); failures come first, then warnings, each with
    the most devices first."""
    groups, keys = {}, []
    for entry in attention:
        reason = entry['reason']
        if entry['id'] and len(entry['id']) > 3:
            reason = reason.replace(entry['id'], '(the device)')
        key = (entry['severity'], entry['cloud'], entry['step'], reason, entry['remedy'])
        groups[key] = groups.get(key, 0) + 1
        keys.append(key)
    ordered = sorted(groups, key=lambda key: (key[0] != FAILED, -groups[key]))
    numbers = dict((key, number) for number, key in enumerate(ordered, 1))
    for entry, key in zip(attention, keys):
        entry['cause'] = numbers[key]
    return [dict(cause=numbers[key], devices=groups[key], severity=key[0], cloud=key[1], step=key[2], reason=key[3], remedy=key[4])
            for key in ordered]


def attention_entry(severity, row, cloud, cell):
    failed = severity == FAILED
    return dict(severity=severity, serial=row['serial'], device=row['device'], cloud=cloud,
                id=cell.failed_id if failed else cell.attention_id, phase=cell.reached if failed else cell.phase,
                step=cell.failed_step if failed else cell.attention_step, reason=cell.reason if failed else cell.attention,
                remedy=cell.remedy if failed else cell.attention_remedy)


class Outside:
    """The devices of one cloud outside the rotation window: how many, and the one whose certificate expires first."""

    def __init__(self):
        self.devices, self.nearest = 0, None

    def add(self, row, cell):
        self.devices += 1
        # ISO 8601 UTC strings of one format sort as their dates do
        if cell.old_expiry and (self.nearest is None or cell.old_expiry < self.nearest[0]):
            self.nearest = (cell.old_expiry, row['device'], cell.ids[0] if cell.ids else None)

    def view(self):
        expiry, device, ident = self.nearest or (None, None, None)
        return dict(devices=self.devices, nearest_expiry=expiry, nearest_device=device, nearest_id=ident)


def rotation_outcome(cell):
    """What the rotation did with one certificate in the window (or with a warning): failed, rotated, requested (the certificate
    comes at the next heartbeat), pending (requested by an earlier run), or skipped (not rotated, see its reason)."""
    if cell.failed:
        return FAILED
    if cell.changed:
        return 'requested' if cell.new_expiry_pending or cell.waiting else 'rotated'
    if cell.waiting:
        return 'pending'
    return 'skipped'


def cell_view(cell, rotation):
    """The cell in the JSON file; in a rotation report with its ``outcome`` (see rotation_outcome, or ``outside``)."""
    view = cell.view()
    if rotation:
        view['outcome'] = 'outside' if cell.not_due else rotation_outcome(cell)
    return view


# the outcomes counted per cloud (those outside the window are counted by Outside)
ROTATION_OUTCOMES = (FAILED, 'rotated', 'requested', 'pending', 'skipped')


def verdict_of(tally, failed_steps, warnings, done_word, changed):
    """The verdict of the devices counted in ``tally`` (by row verdict), with its line."""
    total = sum(tally.values())
    return dict(text=verdict_text(tally[DONE], total, tally[WAITING], tally[ATTENTION], failed_steps, warnings, done_word,
                                  tally[OUT_OF_SERVICE]),
                total=total, done=tally[DONE], waiting=tally[WAITING], needs_attention=tally[ATTENTION],
                out_of_service=tally[OUT_OF_SERVICE], step_failures=failed_steps, warnings=warnings, changed=changed)


def build(steps, serials, done_word=DONE, kind=BATCH, window_days=None):
    """The report of ``steps`` (flattened by lean_step) without its run facts: verdict, counts, what needs attention, rows.

    In a rotation report a device whose every cell is outside the window is counted (per cloud, with the nearest expiry)
    and gets no row."""
    rows, clouds, step_failures = merge(steps, serials)
    rotation = kind == ROTATION
    if kind == DECOMMISSION:
        for row in rows:
            for cell in row['cells'].values():
                removal_phase(cell)
    counts = dict((cloud, dict(total=0, changed=0, waiting=0, needs_attention=0, phases={})) for cloud in clouds)
    outcomes = dict((cloud, dict((word, 0) for word in ROTATION_OUTCOMES + ('warnings',))) for cloud in clouds)
    outside = dict((cloud, Outside()) for cloud in clouds)
    failures, warnings, waiting, devices = list(step_failures), [], [], []
    tally = {DONE: 0, WAITING: 0, ATTENTION: 0, OUT_OF_SERVICE: 0}
    shared_failures = 0
    for row in rows:
        cells = row['cells']
        verdict = row_verdict(cells.values())
        if all(cloud in SHARED for cloud in cells):
            shared_failures += verdict == ATTENTION
        else:
            tally[verdict] += 1
        for cloud, cell in cells.items():
            count = counts[cloud]
            count['total'] += 1
            count['changed'] += cell.changed
            count['waiting'] += cell.waiting and not cell.failed
            count['needs_attention'] += cell.failed
            count['phases'][cell.phase] = count['phases'].get(cell.phase, 0) + 1
            if cell.failed:
                failures.append(attention_entry(FAILED, row, cloud, cell))
            if cell.attention:
                warnings.append(attention_entry(WARNING, row, cloud, cell))
                outcomes[cloud]['warnings'] += 1
            if rotation:
                if cell.not_due:
                    outside[cloud].add(row, cell)
                else:
                    outcomes[cloud][rotation_outcome(cell)] += 1
        if rotation and all(cell.outside_window for cell in cells.values()):
            continue
        ordered = [(cloud, cells[cloud]) for cloud in clouds if cloud in cells]
        if verdict == WAITING:
            waiting.append(dict(serial=row['serial'], device=row['device'], clouds=dict((c, cell.phase) for c, cell in ordered)))
        devices.append(dict(serial=row['serial'], device=row['device'], verdict=verdict, changed=any(c.changed for dummy, c in ordered),
                            clouds=dict((c, cell_view(cell, rotation)) for c, cell in ordered)))
    attention = failures + warnings
    verdict = verdict_of(tally, len(step_failures) + shared_failures, len(warnings), done_word,
                         sum(1 for row in rows if any(cell.changed for cell in row['cells'].values())))
    report = dict(verdict=verdict, complete=tally[WAITING] == 0, clouds=[dict(key=c, label=cloud_label(c)) for c in clouds],
                  counts=counts, needs_attention=attention, attention_causes=causes(attention), waiting=waiting, devices=devices)
    if rotation:
        report['rotation'] = dict(window_days=window_days, clouds=dict(
            (cloud, dict(outcomes[cloud], outside_window=outside[cloud].view())) for cloud in clouds))
    return report
