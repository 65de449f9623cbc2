#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the report of a batch run: a JSON file and a self-contained HTML page."""

from __future__ import annotations

DOCUMENTATION = r'''
module: batch_report
short_description: Write the report of a batch run as JSON and as a self-contained HTML page
version_added: 0.1.0
description:
  - Collects the per-device results of the collection's batch modules, step by step and vendor by vendor, and writes
    C(<name>.json) and C(<name>.html) into O(path) on the controller (files mode C(0600) unless O(mode) says otherwise).
  - The HTML page needs nothing else to open - counts per vendor and outcome, a table of devices, and the failures with their
    reasons.
  - Used by the C(factory_onboarding) and C(certificate_rotation) roles.
  - The report describes a run rather than a managed state, so the module reports C(changed=false).
extends_documentation_fragment:
  - iotops.provisioning.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the counts and failures are returned in RV(report).
  diff_mode:
    support: none
options:
  path:
    description: Directory on the controller to write the report into; created if missing.
    type: path
    required: true
  name:
    description: File name of the report, without extension.
    type: str
    default: report
  title:
    description: Title of the report.
    type: str
    default: Batch report
  batch:
    description: Name of the batch, shown in the report.
    type: str
    default: ''
  steps:
    description:
      - The steps of the run, in order. Give each step's per-device results in O(steps[].runs) (what a batch module task
        registered) or in O(steps[].results) (already flattened), or both.
    type: list
    elements: dict
    required: true
    suboptions:
      vendor:
        description: The vendor cloud of the step.
        type: str
        required: true
      step:
        description: What the step did, for example C(claim and provision).
        type: str
        required: true
      runs:
        description:
          - The registered results of the step's module calls - the C(results) of a looped task (one entry per chunk), or
            a list of the registered results of unlooped tasks.
          - The per-device C(results) of each run are reported. A run without C(results) but with a C(msg) failed as a
            whole (for example bad input, before any device was worked) and is reported as a failure of the step. Skipped
            runs are left out.
          - Taking the registered results as they are spares the play from flattening thousands of results in Jinja. Only
            C(item), C(changed), C(failed), C(msg), C(status) and C(action) of each result are used, and the module's action
            plugin drops the rest (certificates, command histories, invocations) on the controller before the module runs.
        type: list
        elements: dict
        default: []
      results:
        description: The per-device C(results) of the module (C(item), C(changed), C(failed), C(msg), and any other fields).
        type: list
        elements: dict
        default: []
      error:
        description: A failure of the step as a whole (for example a validation error before any device was worked).
        type: str
  serials:
    description:
      - Per vendor, the device serial for each item id, so the report shows the factory's labels.
      - Items of one vendor with the same serial (for example a u-blox device's ROTPublicUID and IMEI) are one device in the
        report.
    type: dict
    default: {}
  mode:
    description: File mode of the report files.
    type: raw
    default: '0600'
  return_devices:
    description:
      - Also return the device rows in RV(report.devices). They are always in the files; leave this off for large batches
        to keep the task result small.
    type: bool
    default: false
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Write the onboarding report
  iotops.provisioning.batch_report:
    path: "{{ playbook_dir }}/reports"
    name: onboarding-batch-2026-47
    title: Factory onboarding
    batch: batch-2026-47
    steps:
      - vendor: nrfcloud
        step: claim and provision
        runs: "{{ nrf_provisioned.results }}"  # a task looped over chunks of the batch
      - vendor: naocloud
        step: trackables
        runs: ["{{ nao_tags }}"]  # one unlooped task
      - vendor: ublox
        step: checked by hand
        results:
          - item: 1a2b3c4d5e6f
            changed: false
        error: the label printer was offline
    serials: "{{ manifest.serials }}"
    mode: '0640'
  register: report

- name: Fail when anything failed
  ansible.builtin.assert:
    that: report.report.failures | length == 0

- name: List what changed (a small batch)
  iotops.provisioning.batch_report:
    path: /var/lib/factory/reports
    steps:
      - vendor: iotcomms
        step: SIP devices
        runs: ["{{ sip_devices }}"]
    return_devices: true
  register: small_report
'''

RETURN = r'''
report:
  description: The counts and failures of the report (the files hold the whole report), and the device rows with O(return_devices).
  returned: always
  type: dict
  contains:
    counts:
      description: Per vendor, the number of devices that changed, were already right (ok) and failed.
      type: dict
      sample: {nrfcloud: {total: 50, changed: 0, ok: 50, failed: 0}}
    devices:
      description: One row per vendor and device, with its serial, outcome, status and reason.
      returned: when O(return_devices=true)
      type: list
      elements: dict
    failures:
      description: The failed devices and steps, with their reasons.
      type: list
      elements: dict
json_path:
  description: The JSON file written.
  returned: unless check mode
  type: str
html_path:
  description: The HTML page written.
  returned: unless check mode
  type: str
'''

import datetime
import html
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._files import validate_mode
from ansible_collections.iotops.provisioning.plugins.module_utils._report import lean_step

STYLE = ('body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}'
         'th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}th{background:#f0f0f0}'
         '.failed{background:#fde2e2}.changed{background:#fff6d6}.ok{background:#e6f4e6}')


def lean_invocation(params, steps):
    """The module's arguments for the result's C(invocation), with each step's results counted instead of repeated.

    Ansible returns every module's arguments in C(invocation); here they are the results of a whole run, often megabytes
    that the files hold anyway, and copying them back through Ansible would cost more than writing the report."""
    args = dict(params)
    args['steps'] = [dict(vendor=step['vendor'], step=step['step'], error=step.get('error'), results=len(step['results'])) for step in steps]
    return args


def build(params, steps):
    """The report of ``steps`` (flattened by lean_step: per-device ``results`` and the ``error`` of the step)."""
    devices, failures, order = {}, [], []
    for step in steps:
        vendor = step['vendor']
        serials = (params['serials'] or {}).get(vendor) or {}
        if step.get('error'):
            failures.append(dict(vendor=vendor, step=step['step'], device=None, reason=step['error']))
        for result in step['results']:
            item = str(result.get('item'))
            # one row per device: identities of one device (a u-blox ROTPublicUID and IMEI) share its serial
            key = (vendor, serials.get(item) or item)
            if key not in devices:
                order.append(key)
                devices[key] = dict(vendor=vendor, id=item, serial=serials.get(item, ''), changed=False, failed=False, status='', steps=[])
            row = devices[key]
            row['changed'] = row['changed'] or bool(result.get('changed'))
            row['failed'] = row['failed'] or bool(result.get('failed'))
            # a status (e.g. PROVISIONED) wins over an action; "none" from a later no-op step keeps what is known
            action = result.get('action') if result.get('action') not in (None, 'none') else None
            row['status'] = result.get('status') or action or row['status'] or result.get('action') or ''
            row['steps'].append(step['step'])
            if result.get('failed'):
                row['reason'] = result.get('msg')
                failures.append(dict(vendor=vendor, step=step['step'], device=item, serial=row['serial'], reason=result.get('msg')))
    rows = [devices[k] for k in order]
    for row in rows:
        row['outcome'] = 'failed' if row['failed'] else 'changed' if row['changed'] else 'ok'
    counts = {}
    for row in rows:
        entry = counts.setdefault(row['vendor'], dict(total=0, changed=0, ok=0, failed=0))
        entry['total'] += 1
        entry[row['outcome']] += 1
    return dict(title=params['title'], batch=params['batch'],
                generated_at=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                counts=counts, devices=rows, failures=failures)


def render_html(report):
    esc = html.escape
    parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title><style>%s</style></head><body>'
             % (esc(report['title']), STYLE),
             '<h1>%s</h1><p>Batch <b>%s</b>, generated %s</p>' % (esc(report['title']), esc(report['batch']), esc(report['generated_at'])),
             '<h2>Counts</h2><table><tr><th>vendor</th><th>devices</th><th>changed</th><th>ok</th><th>failed</th></tr>']
    for vendor, c in sorted(report['counts'].items()):
        parts.append('<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>' % (esc(vendor), c['total'], c['changed'], c['ok'], c['failed']))
    parts.append('</table><h2>Failures</h2>')
    if report['failures']:
        parts.append('<table><tr><th>vendor</th><th>step</th><th>device</th><th>serial</th><th>reason</th></tr>')
        for f in report['failures']:
            parts.append('<tr class="failed"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % tuple(
                esc(str(f.get(k) or '')) for k in ('vendor', 'step', 'device', 'serial', 'reason')))
        parts.append('</table>')
    else:
        parts.append('<p>None.</p>')
    parts.append('<h2>Devices</h2><table><tr><th>vendor</th><th>device</th><th>serial</th><th>outcome</th><th>status</th></tr>')
    for row in report['devices']:
        parts.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            row['outcome'], esc(row['vendor']), esc(row['id']), esc(row['serial']), row['outcome'], esc(str(row['status'] or ''))))
    parts.append('</table></body></html>\n')
    return ''.join(parts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            name=dict(type='str', default='report'),
            title=dict(type='str', default='Batch report'),
            batch=dict(type='str', default=''),
            steps=dict(type='list', elements='dict', required=True, options=dict(
                vendor=dict(type='str', required=True), step=dict(type='str', required=True),
                runs=dict(type='list', elements='dict', default=[]),
                results=dict(type='list', elements='dict', default=[]), error=dict(type='str'))),
            serials=dict(type='dict', default={}),
            mode=dict(type='raw', default='0600'),
            return_devices=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
        no_log=True,  # only the syslog entry of the invocation (megabytes of results); the result is shown as usual
    )
    try:
        validate_mode(module.params['mode'], 'mode')
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    # the action plugin has flattened the steps already when the module runs from a play; here for a direct run
    steps = [lean_step(step) for step in module.params['steps']]
    report = build(module.params, steps)
    summary = dict(counts=report['counts'], failures=report['failures'])
    if module.params['return_devices']:
        summary['devices'] = report['devices']
    result = dict(changed=False, report=summary, invocation=dict(module_args=lean_invocation(module.params, steps)))
    if not module.check_mode:
        directory = module.params['path']
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            module.fail_json(msg='path: cannot use %s as the report directory (%s)' % (directory, exc.strerror or exc))
        for ext, text in (('json', json.dumps(report, indent=2, sort_keys=True) + '\n'), ('html', render_html(report))):
            target = os.path.join(directory, '%s.%s' % (module.params['name'], ext))
            tmp = target + '.tmp'
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
                handle.write(text)
            module.atomic_move(tmp, target)
            module.set_mode_if_different(target, module.params['mode'], False)
            result['%s_path' % ext] = target
    module.exit_json(**result)


if __name__ == '__main__':
    main()
