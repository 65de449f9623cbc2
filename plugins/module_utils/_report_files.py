# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""batch_report's work: the report built from the steps, its JSON and HTML files, and the task's result.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Its action runs it in the controller's process, where the report directory is (the module's documentation says so); the
module runs the same code on its own (the unit tests, a direct run).
"""

from __future__ import annotations

import datetime
import filecmp
import html
import json
import os
import re
import secrets
import shutil
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._files import apply_mode, validate_mode
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import is_absent
from ansible_collections.iotops.provisioning.plugins.module_utils._report import (
    ATTENTION, BATCH, DECOMMISSION, DONE, FAILED, OUT_OF_SERVICE, ROTATION, WAITING, WARNING, build, lean_step)

RETURNED_ENTRIES = 100  # of needs_attention and waiting in the task result; the files hold all
CONSOLE_ENTRIES = 20  # of each in the lines for the play's output
OPEN_ROWS = 200  # a table of devices longer than this starts folded
# except the rotation's new certificates, the table the page is for: a daily rotation of a large fleet rotates a few hundred
ROTATED_OPEN_ROWS = 1000
STAMP = '%Y%m%dT%H%M%SZ'
EXTENSIONS = ('json', 'html')

STYLE = (
    ':root{--ok:#17663a;--okbg:#e3f4e9;--wait:#7a4d00;--waitbg:#fff1cc;--bad:#a4161a;--badbg:#fde4e4;--line:#d9dde3;--mute:#5f6670}'
    '*{box-sizing:border-box}'
    'body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2127;background:#fff}'
    'main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}'
    'h1{font-size:22px;margin:8px 0 12px}'
    '.check{background:#1d2127;color:#fff;font-size:18px;font-weight:700;padding:12px 24px;border-bottom:6px solid #f0b400}'
    '.verdict{font-size:21px;font-weight:700;margin:0 0 12px;padding:12px 16px;border-left:10px solid;border-radius:4px}'
    '.verdict small{display:block;font-size:15px;font-weight:400}'
    '.v-done{background:var(--okbg);border-color:var(--ok)}.v-wait{background:var(--waitbg);border-color:#d08c00}'
    '.v-bad{background:var(--badbg);border-color:var(--bad)}'
    '.facts{display:grid;grid-template-columns:repeat(4,max-content 1fr);gap:2px 12px;margin:0 0 8px;font-size:14px}'
    '.facts dt{color:var(--mute)}.facts dd{margin:0}'
    'details{margin:18px 0 0}summary{font-size:18px;font-weight:700;cursor:pointer;padding:6px 0}'
    'summary span{font-weight:400;font-size:14px;color:var(--mute)}details details summary{font-size:16px}'
    'p.note{margin:4px 0 8px;color:var(--mute);font-size:14px}'
    'table{width:100%;border-collapse:separate;border-spacing:0;font-size:14px}'
    'th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line);overflow-wrap:break-word}'
    'thead th{position:sticky;top:0;z-index:1;background:#eef0f3;border-bottom:2px solid #b8bec7}'
    'td.b{background:var(--badbg);color:var(--bad);font-weight:700}td.w{background:var(--waitbg);color:var(--wait)}'
    'td.o{color:var(--ok)}td.n{color:#9aa1ab}td.x{color:var(--mute)}'
    'td.r{min-width:24ch}.nw{white-space:nowrap}td.d{min-width:18ch}'
    'b.sev{display:inline-block;padding:0 6px;border-radius:3px;white-space:nowrap}'
    'b.f{background:var(--bad);color:#fff}b.w{background:#f0b400;color:#1d2127}'
    'tr.s td:not([rowspan]){border-bottom:1px dotted var(--line)}td.o b{font-weight:700}'
    'span.exp{color:var(--bad);font-weight:700}p.outside{margin:6px 0 0;font-size:15px}'
    'td small{display:block;color:var(--mute);font-size:12px}td.rr{min-width:26ch}td.p{min-width:16ch}'
    '@media (max-width:900px){.facts{grid-template-columns:max-content 1fr}}'
)

CELL_CLASS = {ATTENTION: 'b', WAITING: 'w', DONE: 'o', OUT_OF_SERVICE: 'n'}
SEVERITY_BADGE = {FAILED: '<b class="sev f">failed</b>', WARNING: '<b class="sev w">warning</b>'}
VERDICT_CLASS = {ATTENTION: 'v-bad', WAITING: 'v-wait', DONE: 'v-done'}
NO_IDENTITY = '–'


def esc(value):
    return html.escape('' if value is None else str(value), quote=True)


def lean_invocation(params, steps):
    """The module's arguments for the result's C(invocation), with each step's results and each vendor's serials counted.

    Ansible returns every module's arguments in C(invocation); here they are the results of a whole run, often megabytes
    that the files hold anyway, and copying them back through Ansible would cost more than writing the report."""
    args = dict(params)
    args['steps'] = [dict(vendor=step['vendor'], step=step['step'], error=step.get('error'), results=len(step['results'])) for step in steps]
    args['serials'] = dict((vendor, len(ids) if isinstance(ids, dict) else ids) for vendor, ids in (params['serials'] or {}).items())
    return args


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def run_facts(params, check_mode, now):
    started = params['started']
    return dict(title=params['title'], batch=params['batch'], name=params['name'], check_mode=check_mode,
                started=iso(started) if started is not None else None, finished=iso(now),
                duration_seconds=round(now - started, 1) if started is not None else None,
                awx_job_id=params['awx_job_id'] or None, collection_version=params['collection_version'] or None,
                done_word=params['done_word'], kind=params['kind'])


# --------------------------------------------------------------------------- the HTML page

def duration_text(seconds):
    if seconds is None:
        return 'not known (no start time given)'
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return '%d h %02d min' % (hours, minutes)
    return '%d min %02d s' % (minutes, seconds) if minutes else '%d s' % seconds


def when_text(stamp):
    return stamp.replace('T', ' ').replace('Z', ' UTC') if stamp else 'not given'


def cell_html(cell):
    if cell is None:
        return '<td class=n>%s</td>' % NO_IDENTITY
    if cell['failed']:
        state = ATTENTION
    elif cell['waiting']:
        state = WAITING
    elif cell.get('out_of_service') or is_absent(cell['phase']):
        state = OUT_OF_SERVICE   # greyed: out of service, or an identity the cloud does not hold (not a step reached)
    else:
        state = DONE
    return '<td class=%s>%s</td>' % (CELL_CLASS[state], esc(cell['phase']))


def verdict_cell(verdict, done_word):
    return '<td class=%s>%s</td>' % (CELL_CLASS[verdict], esc(done_word if verdict == DONE else verdict))


def table(head, rows):
    return '<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (
        ''.join('<th>%s</th>' % esc(h) for h in head), ''.join(rows))


def section(title, count, body, is_open, note='', ident=None):
    """A part of the page that can be folded, its heading with the number of its entries (when ``count`` is not None; a text
    such as C(2 failed · 3 warnings) is shown as it is).

    ``ident`` names it for links such as C(report.html#waiting)."""
    return '<details%s%s><summary>%s%s</summary>%s%s</details>' % (
        ' id=' + ident if ident else '', ' open' if is_open else '', esc(title),
        '' if count is None else ' <span>(%s%s)</span>' % (count if isinstance(count, str) else '{:,}'.format(count),
                                                           '' if is_open else ' - folded, click to open'),
        '<p class=note>%s</p>' % esc(note) if note else '', body)


def header_html(report):
    run, verdict = report['run'], report['verdict']
    level = (ATTENTION if verdict['needs_attention'] or verdict['step_failures'] else
             WAITING if verdict['waiting'] or verdict['warnings'] else DONE)
    parts = []
    if run['check_mode']:
        parts.append('<div class=check>CHECK MODE - nothing was changed. This report shows what a real run would do; the latest '
                     'report was left as it was.</div>')
    title = run['title'] + (' - ' + run['batch'] if run['batch'] else '')
    parts.append('<main><h1>%s</h1>' % esc(title))
    sub = completion(report)[3:].capitalize() + '.'
    if 'rotation' in report:
        sub = '%s %s.' % (sub, rotation_text(report).capitalize())
    else:
        sub = '%s %s %s.' % (sub, '{:,}'.format(verdict['changed']), 'would be changed by a real run' if run['check_mode'] else 'changed in this run')
    parts.append('<p class="verdict %s">%s<small>%s</small></p>' % (VERDICT_CLASS[level], esc(verdict['text']), esc(sub)))
    facts = (('Run', 'check mode (nothing was changed)' if run['check_mode'] else 'real run'),
             ('Batch', run['batch'] or 'not given'), ('Started', when_text(run['started'])),
             ('Duration', duration_text(run['duration_seconds'])), ('Report made', when_text(run['finished'])),
             ('AWX job', run['awx_job_id'] or 'none (not run by AWX)'), ('Collection', 'iotops.provisioning %s' % (
                 run['collection_version'] or '(version not known)')), ('Devices', '{:,}'.format(verdict['total'])))
    parts.append('<dl class=facts>%s</dl>' % ''.join('<dt>%s</dt><dd>%s</dd>' % (esc(k), esc(v)) for k, v in facts))
    return parts


def counts_html(report):
    if 'rotation' in report:
        return rotation_counts_html(report)
    rows = []
    for cloud in report['clouds']:
        count = report['counts'][cloud['key']]
        phases = ' · '.join('%s %s' % (phase or '?', '{:,}'.format(n)) for phase, n in
                            sorted(count['phases'].items(), key=lambda item: -item[1]))
        rows.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            esc(cloud['label']), '{:,}'.format(count['total']), esc(phases), '{:,}'.format(count['changed'])))
    changed = 'Would change' if report['run']['check_mode'] else 'Changed in this run'
    return section('Per cloud', None, table(('Cloud', 'Devices', 'Where they are', changed), rows), True, ident='clouds')


def attention_html(report):
    entries, causes = report['needs_attention'], report['attention_causes']
    if not entries:
        return section('Needs attention', 0, '<p>Nothing needs a person.</p>', True, ident='attention')
    labels = dict((c['key'], c['label']) for c in report['clouds'])
    note = 'A person must act on these; the other devices were worked as far as they could go.'
    warnings = sum(1 for entry in entries if entry['severity'] == WARNING)
    count = len(entries)
    if warnings:
        note += ' A failure fails the run; a warning does not, but needs a person all the same.'
        count = '{:,} failed · {:,} warning{}'.format(len(entries) - warnings, warnings, '' if warnings == 1 else 's')
    head = ('', 'Device', 'Cloud', 'Id there', 'Step', 'Reason', 'What to do')
    shared = dict((cause['cause'], cause) for cause in causes if cause['devices'] > 1)
    rows = ['<tr><td>%s</td><td class=d>%s</td><td class=nw>%s</td><td class=nw>%s</td><td>%s</td>%s</tr>' % (
        SEVERITY_BADGE[entry['severity']], device_label(entry), esc(labels.get(entry['cloud'], entry['cloud'])), esc(entry['id'] or ''),
        esc(entry['step']), '<td colspan=2>cause %d (above)</td>' % entry['cause'] if entry['cause'] in shared else
        '<td class=r>%s</td><td class=r>%s</td>' % (esc(entry['reason']), esc(entry['remedy']))) for entry in entries]
    if not shared:
        return section('Needs attention', count, table(head, rows), True, note, ident='attention')
    # one cause of several devices: the shared causes with their remedies first, then each device with its cause or its own reason
    by_cause = table(('Cause', '', 'Devices', 'Cloud', 'Step', 'Reason', 'What to do'), [
        '<tr><td>%d</td><td>%s</td><td>%s</td><td class=nw>%s</td><td>%s</td><td class=r>%s</td><td class=r>%s</td></tr>' % (
            cause['cause'], SEVERITY_BADGE[cause['severity']], '{:,}'.format(cause['devices']),
            esc(labels.get(cause['cloud'], cause['cloud'])), esc(cause['step']), esc(cause['reason']), esc(cause['remedy']))
        for cause in shared.values()])
    each = section('Each device', len(rows), table(head, rows), len(rows) <= OPEN_ROWS)
    return section('Needs attention', count, by_cause + each, True,
                   note + ' The causes shared by several devices first (the reason with the device\'s id left out), then each device '
                   'with the number of its cause or its own reason.', ident='attention')


def device_label(entry):
    return esc(entry['device']) if entry['device'] is not None else '<i>the whole step</i>'


def waiting_html(report):
    clouds = report['clouds']
    rows = ['<tr><td>%s</td>%s</tr>' % (esc(row['device']), ''.join(cell_html(row['clouds'].get(c['key'])) for c in clouds))
            for row in report['devices'] if row['verdict'] == WAITING]
    if not rows:
        return section('Waiting for the device', 0, '<p>No device is waiting.</p>', True, ident='waiting')
    return section('Waiting for the device', len(rows), table(['Device'] + [c['label'] for c in clouds], rows), len(rows) <= OPEN_ROWS,
                   'Not a failure: these devices have not connected, bootstrapped or taken their heartbeat yet. '
                   'Run the job again later; it moves them on.', ident='waiting')


def devices_html(report):
    clouds, done_word = report['clouds'], report['run']['done_word']
    changed = 'would change' if report['run']['check_mode'] else 'changed'
    rows = ['<tr><td>%s</td>%s%s<td class=x>%s</td></tr>' % (
        esc(row['device']), verdict_cell(row['verdict'], done_word), ''.join(cell_html(row['clouds'].get(c['key'])) for c in clouds),
        changed if row['changed'] else '') for row in report['devices']]
    note = '%s = no identity with that cloud. To find a device, use the browser\'s find (Ctrl+F).' % NO_IDENTITY
    return section('All devices', len(rows), table(['Device', 'Verdict'] + [c['label'] for c in clouds] + ['This run'], rows),
                   len(rows) <= OPEN_ROWS, note, ident='devices')


# --------------------------------------------------------------------------- the rotation's parts

def window_text(report):
    days = report['rotation']['window_days']
    return 'the %d-day window' % days if days is not None else 'the window'


def rotation_totals(report):
    totals = {}
    for per_cloud in report['rotation']['clouds'].values():
        for key, value in per_cloud.items():
            if key != 'outside_window':
                totals[key] = totals.get(key, 0) + value
        totals['outside'] = totals.get('outside', 0) + per_cloud['outside_window']['devices']
    return totals


def rotation_text(report):
    """What the rotation did, in certificates (one per device and cloud): e.g. certificates: 12 rotated · 3 requested, taken
    by the device later · 40 outside the 30-day window."""
    totals, check = rotation_totals(report), report['run']['check_mode']
    parts = ['certificates: {:,} {}'.format(totals.get('rotated', 0), 'would be rotated' if check else 'rotated')]
    # requested and pending certificates reach the device later (its heartbeat, or when it connects): the rows say which
    for key, words in (('requested', 'requested, taken by the device later'), ('pending', 'still pending from an earlier run'),
                       ('skipped', 'skipped'), (FAILED, FAILED)):
        if totals.get(key):
            parts.append('{:,} {}'.format(totals[key], words))
    if totals.get('outside'):
        parts.append('{:,} outside {}'.format(totals['outside'], window_text(report)))
    return ' · '.join(parts)


def outside_line(report, cloud):
    """``N outside the 30-day window, nearest expiry <date> (<device>)`` for one cloud, or None when there are none."""
    outside = report['rotation']['clouds'][cloud]['outside_window']
    if not outside['devices']:
        return None
    line = '{:,} outside {}'.format(outside['devices'], window_text(report))
    if outside['nearest_expiry']:
        line += ', nearest expiry %s (%s)' % (day(outside['nearest_expiry']), outside['nearest_device'])
    return line


def day(stamp):
    """The date of an ISO 8601 time, which is what a person plans with (the JSON file keeps the time)."""
    return str(stamp)[:10]


def expiry_html(stamp, now):
    if not stamp:
        return ''
    text = '<span class=nw title="%s">%s</span>' % (esc(stamp), esc(day(stamp)))
    return text + (' <span class=exp>expired</span>' if str(stamp) < now else '')


def policy_html(cell):
    """The policy, and under it how many more rotations of it the device can take (nRF Cloud's command limit)."""
    text = esc(cell.get('policy') or '')
    left = cell.get('rotations_left')
    if left is not None:
        commands = cell.get('commands_left')
        budget = '' if commands is None else ' · %d command%s left' % (commands, '' if commands == 1 else 's')
        text += '<small>%d more rotation%s%s</small>' % (left, '' if left == 1 else 's', budget)
    return text


# the action column: word, class of the cell; the first of a row's outcomes in this order sorts it
OUTCOME_CELL = {FAILED: ('failed', 'b'), 'rotated': ('rotated', 'o'), 'requested': ('requested', 'w'),
                'pending': ('pending', 'w'), 'skipped': ('skipped', 'x'), 'outside': ('not due', 'n')}
OUTCOME_ORDER = dict((word, rank) for rank, word in enumerate((FAILED, WARNING, 'rotated', 'requested', 'pending', 'skipped', 'outside')))


def certificate_cell(cell):
    """Whether a cell is about a certificate (the rotation modules' fields), not a Root CA created or deleted on the way."""
    return any(key in cell for key in ('policy', 'old_expiry', 'new_expiry', 'new_expiry_pending', 'due'))


# when a certificate requested by the run reaches the device: u-blox issues it at the device's security heartbeat, nRF Cloud
# hands it over when the device next connects to the Provisioning Service
PENDING_WORDS = {'nrfcloud': 'when the device connects'}
PENDING_DEFAULT = 'at next heartbeat'


def new_expiry_words(cloud, cell, outcome):
    """The new certificate's expiry (ISO), the words for one still to come, or '' when there is none."""
    if cell.get('new_expiry'):
        return cell['new_expiry']
    if cell.get('new_expiry_pending') or (outcome in ('requested', 'pending') and certificate_cell(cell)):
        return PENDING_WORDS.get(cloud, PENDING_DEFAULT)
    return ''


def old_expiry_words(cell):
    return day(cell['old_expiry']) if cell.get('old_expiry') else 'no certificate yet'


def rotation_cell_html(report, cloud, cell, outcome):
    """Action, policy, old expiry, new expiry and reason of one certificate."""
    now, check = report['run']['finished'], report['run']['check_mode']
    word, css = OUTCOME_CELL[outcome]
    if not certificate_cell(cell):
        word = cell['phase']
    elif check and outcome in ('rotated', 'requested'):
        word = 'would rotate' if outcome == 'rotated' else 'would request'
    action = '<b>%s</b>' % esc(word) if outcome == 'rotated' else esc(word)
    if cell.get('attention'):
        action, css = '%s %s' % (action, SEVERITY_BADGE[WARNING]), 'w'
    new = new_expiry_words(cloud, cell, outcome)
    if cell.get('new_expiry'):
        new = '<b>%s</b>' % expiry_html(new, now)
    if cell['failed']:
        reason = cell['reason']
    elif outcome == 'outside':
        reason = cell.get('note') or 'outside %s' % window_text(report)
    else:
        reason = '; '.join(text for text in (cell.get('attention'), cell.get('note')) if text)
    return '<td class=%s>%s</td><td class=p>%s</td><td class=nw>%s</td><td>%s</td><td class=rr>%s</td>' % (
        css, action, policy_html(cell), expiry_html(cell.get('old_expiry'), now), new, esc(reason))


def rotation_rows(report, rows):
    """A device's clouds as sub-rows under one device cell."""
    html = []
    for row in rows:
        clouds = [(c, row['clouds'][c['key']]) for c in report['clouds'] if c['key'] in row['clouds']]
        for index, (cloud, cell) in enumerate(clouds):
            first = '<td class=d rowspan=%d>%s</td>' % (len(clouds), esc(row['device'])) if index == 0 else ''
            html.append('<tr%s>%s<td class=nw>%s</td><td class=nw>%s</td>%s</tr>' % (
                ' class=s' if index < len(clouds) - 1 else '', first, esc(cloud['label']), esc(', '.join(cell['ids'])),
                rotation_cell_html(report, cloud['key'], cell, cell['outcome'])))
    return html


def row_rank(row):
    return min(OUTCOME_ORDER[WARNING if cell.get('attention') and not cell['failed'] else cell['outcome']]
               for cell in row['clouds'].values())


ROTATION_HEAD = ('Device', 'Cloud', 'Id there', 'Action', 'Policy', 'Old expiry', 'New expiry', 'Reason')


def rotation_devices_html(report):
    """Two tables of one row per device (a sub-row per cloud): the devices with a new certificate, then the others in the window."""
    rotated = [row for row in report['devices'] if row['changed']]
    others = sorted((row for row in report['devices'] if not row['changed']), key=row_rank)
    check = report['run']['check_mode']
    parts = [section('New certificates' if not check else 'Certificates a real run would rotate', len(rotated),
                     table(ROTATION_HEAD, rotation_rows(report, rotated)) if rotated else '<p>No certificate was rotated.</p>',
                     len(rotated) <= ROTATED_OPEN_ROWS,
                     'New expiry: the new certificate is valid until then; "at next heartbeat": u-blox issues it at the device\'s '
                     'next security heartbeat; "when the device connects": nRF Cloud hands it over then. A later run shows its date.',
                     ident='rotated')]
    if others:
        parts.append(section('Not rotated in this run', len(others), table(ROTATION_HEAD, rotation_rows(report, others)),
                             len(others) <= OPEN_ROWS,
                             'Failed, with a warning, still pending from an earlier run, or skipped: the reason says why.',
                             ident='devices'))
    lines = [line for line in (outside_line(report, c['key']) for c in report['clouds']) if line]
    if lines:
        outside = sum(report['rotation']['clouds'][c['key']]['outside_window']['devices'] for c in report['clouds'])
        parts.append(section('Outside the window', '{:,} certificate{}'.format(outside, '' if outside == 1 else 's'),
                             ''.join('<p class=outside>%s: %s.</p>' % (esc(c['label']), esc(outside_line(report, c['key'])))
                                     for c in report['clouds'] if outside_line(report, c['key'])),
                             True, 'Not due: their certificates expire after %s. They get no row each.' % window_text(report),
                             ident='outside'))
    return ''.join(parts)


def rotation_counts_html(report):
    """Per cloud: what the rotation did with the certificates, and those outside the window."""
    rows, lines = [], []
    for cloud in report['clouds']:
        per_cloud = report['rotation']['clouds'][cloud['key']]
        rows.append('<tr><td>%s</td>%s</tr>' % (esc(cloud['label']), ''.join(
            '<td>%s</td>' % '{:,}'.format(n) for n in (
                report['counts'][cloud['key']]['total'], per_cloud['rotated'], per_cloud['requested'] + per_cloud['pending'],
                per_cloud['skipped'], per_cloud[FAILED], per_cloud['warnings'], per_cloud['outside_window']['devices']))))
        line = outside_line(report, cloud['key'])
        if line:
            lines.append('<p class=outside><b>%s:</b> %s.</p>' % (esc(cloud['label']), esc(line)))
    rotated = 'Would rotate' if report['run']['check_mode'] else 'Rotated'
    head = ('Cloud', 'Devices', rotated, 'Taken by the device later', 'Skipped', 'Failed', 'Warnings', 'Outside ' + window_text(report))
    return section('Per cloud', None, table(head, rows) + ''.join(lines), True, ident='clouds')


def render_html(report):
    """The self-contained page: inline CSS, no script, no external resource, every value escaped."""
    title = '%s %s: %s' % (report['run']['title'], report['run']['batch'], report['verdict']['text'])
    parts = ['<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">'
             '<title>%s</title><style>%s</style></head><body>' % (esc(title), STYLE)]
    parts.extend(header_html(report))
    if 'rotation' in report:
        parts.extend((counts_html(report), attention_html(report), rotation_devices_html(report)))
    else:
        parts.extend((counts_html(report), attention_html(report), waiting_html(report), devices_html(report)))
    parts.append('</main></body></html>\n')
    return ''.join(parts)


# --------------------------------------------------------------------------- the files

def stem_pattern(name):
    """The JSON file of a kept real-run report of ``name``: its UTC time, then the job's tag (older reports have none) and the
    number of a clash."""
    return re.compile(r'^%s-(\d{8}T\d{6}Z)(?:-(?:job[A-Za-z0-9]+|[0-9a-f]{6}))?(?:-(\d+))?\.json$' % re.escape(name))


def run_tag(job_id):
    """What makes the file names of a run its own: the AWX job's id (``job4711``), else a short random suffix. Two jobs of one
    batch may start in the same second, on two execution nodes that share the report directory, where a file created
    exclusively is not a lock either."""
    job = re.sub(r'[^A-Za-z0-9]', '', str(job_id or os.environ.get('JOB_ID') or ''))
    return 'job' + job if job else secrets.token_hex(3)


def create_new(directory, stem, tail):
    """Create ``<stem>[-n]<tail>.<ext>`` for every extension, none of which existed (-2, -3 on a clash): {ext: (path, fd)}."""
    number = 1
    while True:
        base = os.path.join(directory, stem + ('-%d' % number if number > 1 else '') + tail)
        created = {}
        try:
            for ext in EXTENSIONS:
                path = '%s.%s' % (base, ext)
                created[ext] = (path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return created
        except FileExistsError:
            for path, handle in created.values():
                os.close(handle)
                os.unlink(path)
            number += 1


def write_new(directory, stem, tail, texts, set_mode):
    files = create_new(directory, stem, tail)
    for ext, (path, handle) in files.items():
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(texts[ext])
        set_mode(path)
    return dict((ext, path) for ext, (path, dummy) in files.items())


def newest_kept(directory, name, exclude):
    """The JSON path of the newest timestamped real-run report of ``name`` other than ``exclude``, or None."""
    pattern, found = stem_pattern(name), []
    for entry in os.listdir(directory):
        match = pattern.match(entry)
        path = os.path.join(directory, entry)
        if match and path != exclude:
            try:
                found.append((match.group(1), os.stat(path).st_mtime_ns, int(match.group(2) or 1), path))
            except FileNotFoundError:
                continue  # removed meanwhile (a person tidying up the directory)
    return max(found)[3] if found else None


def keep_unlinked_latest(directory, name, written):
    """Keep a regular ``<name>.json``/``.html`` under a timestamped name before the latest links replace it.

    It is the report of a version of the collection that overwrote its report, or a copy made where links are refused;
    a copy equals the newest kept report and is simply replaced."""
    latest = dict((ext, os.path.join(directory, '%s.%s' % (name, ext))) for ext in EXTENSIONS)
    if os.path.islink(latest['json']) or not os.path.isfile(latest['json']):
        return
    newest = newest_kept(directory, name, written['json'])
    if newest and filecmp.cmp(latest['json'], newest, shallow=False):
        return
    stem = '%s-%s' % (name, time.strftime(STAMP, time.gmtime(os.path.getmtime(latest['json']))))
    files = create_new(directory, stem, '')
    for ext, (path, handle) in files.items():
        os.close(handle)
        try:
            if os.path.isfile(latest[ext]) and not os.path.islink(latest[ext]):
                os.replace(latest[ext], path)
                continue
        except FileNotFoundError:
            pass  # another job kept it first
        os.unlink(path)


def replace_atomically(path, target, set_mode):
    """Make ``path`` a relative link to ``target`` (a copy where links are refused) in one rename: a reader, or another job
    pointing it at its own report at the same moment, sees the old file or the new one, never a half-written one."""
    directory = os.path.dirname(path)
    # a name of this run's own: two jobs never write into each other's temporary file
    temporary = os.path.join(directory, '.%s.%s.new' % (os.path.basename(path), secrets.token_hex(4)))
    try:
        try:
            os.symlink(os.path.basename(target), temporary)
        except OSError:
            shutil.copyfile(target, temporary)
            set_mode(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def point_latest(directory, name, written, set_mode):
    """Make ``<name>.<ext>`` point at the report just written (see replace_atomically): {ext: path}."""
    keep_unlinked_latest(directory, name, written)
    latest = {}
    for ext, target in written.items():
        latest[ext] = os.path.join(directory, '%s.%s' % (name, ext))
        replace_atomically(latest[ext], target, set_mode)
    return latest


def validate_name(name):
    """The name starts file names in O(path): a name with a slash would write elsewhere, or nowhere, after the run's work."""
    if not name or '/' in name or '\0' in name or name.startswith('.'):
        raise ConfigError('name: %r must be a file name: not empty, without "/", not starting with "."' % name)


def write_files(params, check_mode, report, now):
    directory, name = params['path'], params['name']
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ConfigError('path: cannot use %s as the report directory (%s)' % (directory, exc.strerror or exc)) from None

    def set_mode(path):
        # as AnsibleModule.set_mode_if_different in check mode: a check's files keep the 0600 they were created with
        if not check_mode:
            apply_mode(path, params['mode'])

    # compact: at 5,000 devices indentation adds half again to the file; jq shows it indented
    texts = dict(json=json.dumps(report, separators=(',', ':'), ensure_ascii=False) + '\n', html=render_html(report))
    stem = '%s-%s-%s' % (name, time.strftime(STAMP, time.gmtime(now)), run_tag(params['awx_job_id']))
    try:
        written = write_new(directory, stem, '-check' if check_mode else '', texts, set_mode)
        result = dict(json_path=written['json'], html_path=written['html'])
        if not check_mode:
            latest = point_latest(directory, name, written, set_mode)
            result.update(latest_json_path=latest['json'], latest_html_path=latest['html'])
    except OSError as exc:
        raise ConfigError('path: cannot write the report into %s (%s)' % (directory, exc.strerror or exc)) from None
    return result


def completion(report):
    """What the verdict means for the next run: complete, waiting for devices, or waiting for a person."""
    if not report['complete']:
        return ' - not complete: run the job again later for the devices that are waiting'
    if report['verdict']['needs_attention'] or report['verdict']['step_failures']:
        return ' - no device is waiting: the rest needs a person (see what to do), then run the job again'
    if report['verdict']['warnings']:
        return ' - complete, with warnings that need a person (see what to do)'
    return ' - complete'


def more(entries, what):
    """The first CONSOLE_ENTRIES of ``entries`` and, when there are more, a line that says how many."""
    lines = list(entries[:CONSOLE_ENTRIES])
    if len(entries) > CONSOLE_ENTRIES:
        lines.append('... and {:,} more {}: see the report'.format(len(entries) - CONSOLE_ENTRIES, what))
    return lines


def console_lines(report):
    """Short plain lines for the play's output: the verdict, then what needs a person and what waits (the first few).

    A rotation report lists instead of the waiting devices the certificates rotated with their old and new expiry, and the
    devices outside the window per cloud."""
    labels = dict((c['key'], c['label']) for c in report['clouds'])
    first = report['verdict']['text'] + completion(report)
    lines = [('CHECK MODE - nothing was changed: ' if report['run']['check_mode'] else '') + first]
    if 'rotation' in report:
        lines.append(rotation_text(report))
    for severity, words, what in ((FAILED, 'needs attention', 'that need attention'), (WARNING, 'warning', 'warnings')):
        lines.extend(more(['%s: %s (%s, %s): %s - what to do: %s' % (
            words, entry['device'] if entry['device'] is not None else 'the whole step', labels.get(entry['cloud'], entry['cloud']),
            entry['step'], entry['reason'], entry['remedy']) for entry in report['needs_attention'] if entry['severity'] == severity], what))
    if 'rotation' in report:
        lines.extend(more(rotated_lines(report, labels), 'rotated'))
        lines.extend(line for line in ('%s: %s' % (c['label'], outside_line(report, c['key'])) for c in report['clouds']
                                       if outside_line(report, c['key'])))
        return lines
    lines.extend(more(['waiting: %s - %s' % (row['device'], '; '.join(
        '%s: %s' % (labels.get(cloud, cloud), cell['phase']) for cloud, cell in row['clouds'].items() if cell['waiting']))
        for row in report['devices'] if row['verdict'] == WAITING], 'waiting for the device'))
    return lines


CONSOLE_OUTCOME = {('rotated', False): 'rotated', ('rotated', True): 'would rotate', ('requested', False): 'requested',
                   ('requested', True): 'would request', ('pending', False): 'still pending', ('pending', True): 'still pending'}


def rotated_lines(report, labels):
    """``rotated: SN-1 (nRF Cloud, renew): 2026-05-20 -> 2027-05-20`` for each certificate rotated, requested or pending, and
    ``changed: <Root CA> (u-blox Root CA, create the new Root CA)`` for what else the run changed."""
    lines = []
    for row in report['devices']:
        for cloud, cell in row['clouds'].items():
            if not certificate_cell(cell):
                if cell['changed'] and not cell['failed']:
                    lines.append('%s: %s (%s, %s): %s' % ('would change' if report['run']['check_mode'] else 'changed', row['device'],
                                                          labels.get(cloud, cloud), ', '.join(cell['steps']), cell['phase']))
            elif cell['outcome'] in ('rotated', 'requested', 'pending'):
                new = new_expiry_words(cloud, cell, cell['outcome'])
                lines.append('%s: %s (%s%s): %s -> %s' % (
                    CONSOLE_OUTCOME[cell['outcome'], report['run']['check_mode']],
                    row['device'], labels.get(cloud, cloud), ', ' + cell['policy'] if cell.get('policy') else '',
                    old_expiry_words(cell), day(new) if cell.get('new_expiry') else new))
    return lines


def summary(report, with_devices):
    """The task's result: the report without its long lists, which the files hold."""
    result = dict((key, report[key]) for key in ('run', 'verdict', 'complete', 'clouds', 'counts'))
    result['console'] = console_lines(report)
    result['attention_causes'] = report['attention_causes'][:RETURNED_ENTRIES]
    for key in ('needs_attention', 'waiting'):
        result[key] = report[key][:RETURNED_ENTRIES]
        result[key + '_total'] = len(report[key])
    # the role fails on needs_attention_total: it counts failures, the warnings are counted apart
    result['warnings_total'] = sum(1 for entry in report['needs_attention'] if entry['severity'] == WARNING)
    result['needs_attention_total'] -= result['warnings_total']
    if 'rotation' in report:
        result['rotation'] = report['rotation']
    if with_devices:
        result['devices'] = report['devices']
    return result


def outcome(result):
    """What a role keeps of the run for the play: the verdict and the lists of RV(report), and this run's own files (the
    latest links may be another job's report by then: jobs of one batch run at the same time)."""
    summary = result['report']
    return dict(complete=summary['complete'], verdict=summary['verdict'], waiting=summary['waiting'],
                needs_attention=summary['needs_attention'], report=result['html_path'], json=result['json_path'])


# batch_report's options, checked the same way by its action and its module
BATCH_REPORT_SPEC = dict(
    argument_spec=dict(
        path=dict(type='path', required=True),
        name=dict(type='str', default='report'),
        title=dict(type='str', default='Batch report'),
        batch=dict(type='str', default=''),
        done_word=dict(type='str', default='done'),
        started=dict(type='float'),
        awx_job_id=dict(type='str'),
        collection_version=dict(type='str'),
        steps=dict(type='list', elements='dict', required=True, options=dict(
            vendor=dict(type='str', required=True), step=dict(type='str', required=True),
            runs=dict(type='list', elements='dict', default=[]),
            results=dict(type='list', elements='dict', default=[]), error=dict(type='str'))),
        serials=dict(type='dict', default={}),
        mode=dict(type='raw', default='0600'),
        return_devices=dict(type='bool', default=False),
        kind=dict(type='str', default=BATCH, choices=[BATCH, ROTATION, DECOMMISSION]),
        window_days=dict(type='int'),
    ),
)


def report_result(params, check_mode, now=None):
    """batch_report's result for its checked options: the report's files written (a check's under their own names) and its
    summary. ConfigError, before anything is written, for a bad mode, name or window, and for a directory it cannot use."""
    validate_mode(params['mode'], 'mode')
    validate_name(params['name'])
    if (params['window_days'] or 0) < 0:
        raise ConfigError('window_days: %d is negative; it is the rotation window in days (0 or more)' % params['window_days'])
    now = time.time() if now is None else now
    # the steps are lean already when the action ran them through lean_step; not when the module runs on its own
    steps = [lean_step(step) for step in params['steps']]
    report = dict(run=run_facts(params, check_mode, now))
    report.update(build(steps, params['serials'], params['done_word'], params['kind'], params['window_days']))
    result = dict(changed=False, report=summary(report, params['return_devices']),
                  invocation=dict(module_args=lean_invocation(params, steps)))
    result.update(write_files(params, check_mode, report, now))
    result['outcome'] = outcome(result)
    return result
