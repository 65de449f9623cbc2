#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the report of a batch run for the person on the line: a JSON file and a self-contained HTML page."""

from __future__ import annotations

DOCUMENTATION = r'''
module: batch_report
short_description: Write the report of a batch run - one row per device, a column per cloud, a verdict first
version_added: 0.1.0
description:
  - Merges the per-device outcomes of the collection's batch modules, step by step, into one row per physical device (by its
    serial, O(serials)) with one column per cloud (nRF Cloud, u-blox, iotcomms.io, NAO Cloud, then any other vendor key) that
    shows the device's phase there in plain words, for example V(waiting for the device) or V(provisioned).
  - "Per device and cloud, the phase of the last step that reported the device wins, a failure stays (its reason and remedy
    are those of the first failure), and the device changed when any step changed it. A device's verdict is V(needs attention)
    when any cloud failed, V(waiting) when any cloud waits for the device and none failed, else O(done_word)."
  - Writes C(<name>-<UTC time>-<run>.json) and C(<name>-<UTC time>-<run>.html) into O(path) on the controller, where C(<run>)
    is C(job<id>) in an AWX or Automation Controller job (O(awx_job_id), else the environment variable C(JOB_ID) the
    controller sets) and six random hexadecimal digits otherwise, for example C(onboarding-b47-20260512T081403Z-job4711.html).
    Two jobs of one batch that end in the same second, even on two execution nodes sharing the directory, write files of
    their own; a name already taken all the same gets C(-2), C(-3). No report is ever overwritten.
  - After a real run, C(<name>.json) and C(<name>.html) point at the newest report (relative symbolic links; a copy where the
    file system refuses links). Each is replaced in one rename of a temporary file of the run's own, so a reader, or a job
    that points it at its own report at the same moment, never finds a half-written file. A regular file of that name left
    by an earlier version of the collection is kept under a timestamped name first.
  - The HTML page needs nothing else to open (no network, no script). It starts with the verdict line and the run facts, then
    lists what needs attention with what to do about it, then the devices waiting for the device, then every device.
  - Results of steps without phases (the C(certificate_rotation) role) are shown in plain words, for example C(acted) as
    V(changed), C(done) as V(up to date), C(pending) as V(pending (next heartbeat)) (waiting for the device).
  - An outcome with C(attention) (a warning that fails nothing, for example a revoked certificate or a device near nRF Cloud's
    command limit) is listed under what needs attention as a warning, with its C(remedy). Warnings are counted apart from
    failures and do not make RV(report.needs_attention_total) grow.
  - "With O(kind=rotation) the page shows per device and cloud the certificate's old expiry, its new expiry (or V(at next
    heartbeat)), the policy and what the run did with it and why, the devices with a new certificate first; the devices outside
    the rotation window (C(due=false), not changed, not failed, no warning) get no row but a line per cloud with their number and
    the nearest expiry. See RV(report.rotation)."
  - The report describes a run rather than a managed state, so the module reports C(changed=false).
  - Used by the C(factory_onboarding) and C(certificate_rotation) roles.
extends_documentation_fragment:
  - iotops.provisioning.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode never changes the managed state. The module then writes the report of the check as new files named
        C(<name>-<UTC time>-<run>-check.json) and C(.html), which change nothing that exists, and leaves the latest links alone.
  diff_mode:
    support: none
options:
  path:
    description: Directory on the controller to write the report into; created if missing.
    type: path
    required: true
  name:
    description:
      - Start of the report's file names, without extension; a file name, so without C(/) and not starting with C(.).
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
  done_word:
    description:
      - The word for a device that is neither waiting nor needing attention, in the verdict line (V(57 of 60 onboarded)) and
        in the device rows. The C(factory_onboarding) role passes V(onboarded), the C(certificate_rotation) role V(up to date).
    type: str
    default: done
  started:
    description:
      - When the run started, in seconds since the epoch (for example C({{ now().timestamp() }}) in the play's first task). The
        report shows it and the run's duration up to the report.
    type: float
  awx_job_id:
    description:
      - The AWX or Automation Controller job that ran the play, shown in the run facts and part of the report's file names.
      - The module's action plugin fills it in from the job's variables C(awx_job_id) or C(tower_job_id); give it only to
        override them. Without it the file names take the environment variable C(JOB_ID), which the controller sets.
    type: str
  collection_version:
    description:
      - The version of this collection, shown in the run facts.
      - The module's action plugin fills it in from the installed collection (C(MANIFEST.json), or C(galaxy.yml) in a source
        checkout); give it only to override that.
    type: str
  steps:
    description:
      - The steps of the run, in order. Give each step's per-device outcomes in O(steps[].runs) (what a batch module task
        registered) or in O(steps[].results) (already flattened), or both.
    type: list
    elements: dict
    required: true
    suboptions:
      vendor:
        description:
          - The cloud of the step, V(nrfcloud), V(ublox), V(iotcomms) or V(naocloud); any other key gets a column of its own
            named after it.
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
          - The per-device C(outcomes) of each run are reported. A run without C(outcomes) but with a C(msg) failed as a
            whole (for example bad input, before any device was worked) and is reported as a failure of the step. Skipped
            runs are left out.
          - Taking the registered results as they are spares the play from flattening thousands of outcomes in Jinja. Only
            C(item), C(changed), C(failed), C(msg), C(phase), C(waiting), C(out_of_service), C(remedy), C(status), C(action)
            and C(reason) of each outcome are used, with the rotation's C(policy), C(old_expiry), C(new_expiry), C(new_expiry_pending),
            C(due), C(attention), C(commands_left) and C(rotations_left); the module's action plugin drops the rest
            (certificates, command histories, invocations) on the controller before the module runs.
        type: list
        elements: dict
        default: []
      results:
        description:
          - Per-device outcomes given directly, each with C(item) (the id in that cloud), C(changed), C(failed), C(msg) (why
            it failed), C(phase) and C(waiting) (the next step is the device's), and optionally C(remedy) (what a person should
            do). An outcome without C(phase) may give C(status) or C(action) and C(reason) instead.
          - A rotation outcome may add C(policy), C(old_expiry) and C(new_expiry) (ISO 8601 UTC), C(new_expiry_pending) (the
            new certificate comes at the device's next heartbeat), C(due) (the certificate expires within the window),
            C(attention) (a warning, with C(remedy)), C(commands_left) and C(rotations_left).
        type: list
        elements: dict
        default: []
      error:
        description: A failure of the step as a whole (for example a validation error before any device was worked).
        type: str
  serials:
    description:
      - Per vendor, the device serial of each id in that cloud (under C(nrfcloud), C(nrf-352656100000001) mapped to C(SN-1)), for
        example the C(serials) that M(iotops.provisioning.manifest_info) returns. All the ids of one serial, in every cloud,
        make one row.
      - An id without a serial gets a row of its own, labelled with the id.
    type: dict
    default: {}
  mode:
    description: File mode of the report files (not of the latest links, which are symbolic links).
    type: raw
    default: '0600'
  kind:
    description:
      - V(batch) reports each device's phase per cloud (the C(factory_onboarding) role).
      - V(rotation) reports each device's certificates - policy, old and new expiry, what was done and why - and counts the
        devices outside the rotation window instead of listing them (the C(certificate_rotation) role).
      - V(decommission) words each device's cell in a cloud as what the run did there - V(removed) (a step removed something),
        V(already gone) (nothing was left to remove), V(pending (next heartbeat)) when a step waits for the device (a u-blox
        certificate removal until the device's next security heartbeat, whatever the later steps of that cloud did), or
        V(needs attention) (the C(decommission) role).
    type: str
    choices: [batch, rotation, decommission]
    default: batch
  window_days:
    description:
      - With O(kind=rotation), the rotation window in days, for the words of the page (V(outside the 30-day window)).
    type: int
  return_devices:
    description:
      - Also return every device row in RV(report.devices). They are always in the files; leave this off for large batches
        to keep the task result small.
    type: bool
    default: false
seealso:
  - module: iotops.provisioning.manifest_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Note when the run started
  ansible.builtin.set_fact:
    run_started: "{{ now().timestamp() }}"

# ... the onboarding tasks, each registering its chunks ...

- name: Write the onboarding report
  iotops.provisioning.batch_report:
    path: "{{ playbook_dir }}/reports"
    name: onboarding-batch-2026-47
    title: Factory onboarding
    batch: batch-2026-47
    done_word: onboarded
    started: "{{ run_started }}"
    steps:
      - vendor: nrfcloud
        step: claim and provision
        runs: "{{ nrf_provisioned.results }}"  # a task looped over chunks of the batch
      - vendor: naocloud
        step: tracking tags
        runs: ["{{ nao_tags }}"]  # one unlooped task
      - vendor: ublox
        step: checked by hand
        results:
          - item: 0a1b2c3d4e5f6071
            changed: false
            phase: bootstrapped
        error: the label printer was offline
    serials: "{{ manifest.serials }}"
    mode: '0640'
  register: report

- name: Say how the batch stands
  ansible.builtin.debug:
    msg:
      - "{{ report.report.verdict.text }}"
      - "report: {{ report.latest_html_path | default(report.html_path) }}"

- name: Fail when a device or a step needs a person
  ansible.builtin.assert:
    that: report.report.needs_attention_total == 0
    fail_msg: "{{ report.report.needs_attention[0].reason }} - {{ report.report.needs_attention[0].remedy }}"

- name: Stop the schedule once no device is waiting
  ansible.builtin.debug:
    msg: the batch is complete
  when: report.report.complete

- name: Write the report of a certificate rotation
  iotops.provisioning.batch_report:
    path: "{{ playbook_dir }}/reports"
    name: certificate-rotation-2026-06-01
    title: Certificate rotation
    done_word: up to date
    kind: rotation
    window_days: 30
    steps:
      - vendor: nrfcloud
        step: rotate client certificate
        runs: "{{ nrf_rotated.results }}"
    serials: "{{ manifest.serials }}"
  register: rotation_report

- name: List every device (a small batch)
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
  description:
    - The verdict, the counts, and what needs attention or waits (the files hold the whole report). The lists hold at most
      100 entries each; RV(report.needs_attention_total) and RV(report.waiting_total) give their full length.
  returned: always
  type: dict
  contains:
    run:
      description: The facts of the run.
      type: dict
      contains:
        title:
          description: O(title).
          type: str
        batch:
          description: O(batch).
          type: str
        name:
          description: O(name).
          type: str
        check_mode:
          description: Whether the run was a check (nothing was changed).
          type: bool
        started:
          description: When the run started (ISO 8601 UTC), or null without O(started).
          type: str
        finished:
          description: When the report was made (ISO 8601 UTC).
          type: str
        duration_seconds:
          description: Seconds from O(started) to the report, or null without O(started).
          type: float
        awx_job_id:
          description: The AWX job that ran the play, or null.
          type: str
        collection_version:
          description: The version of this collection, or null when unknown.
          type: str
        done_word:
          description: O(done_word).
          type: str
        kind:
          description: O(kind).
          type: str
      sample:
        title: Factory onboarding
        batch: b47
        name: onboarding-b47
        check_mode: false
        started: '2026-05-12T08:14:03Z'
        finished: '2026-05-12T08:18:15Z'
        duration_seconds: 252.4
        awx_job_id: '4711'
        collection_version: 0.1.0
        done_word: onboarded
        kind: batch
    verdict:
      description: The verdict over the devices (rows).
      type: dict
      contains:
        text:
          description: The verdict line; the parts that count 0 are left out, except the first.
          type: str
          sample: 57 of 60 onboarded · 2 waiting for the device · 1 needs attention
        total:
          description: Devices in the report. A row of a resource many devices share (a u-blox tag or Root CA column) is not
            a device and not counted here.
          type: int
        done:
          description: Devices neither waiting, needing attention nor out of service.
          type: int
        waiting:
          description: Devices waiting for the device in some cloud, none needing attention.
          type: int
        needs_attention:
          description: Devices that need a person in some cloud.
          type: int
        out_of_service:
          description:
            - Devices taken out of service on purpose (a result with C(out_of_service), as M(iotops.provisioning.fleet_audit_findings)
              gives for a decommissioned device or a module whose certificate is revoked), none waiting or needing attention. They
              are not counted in RV(report.verdict.done).
          type: int
        step_failures:
          description: Steps that failed as a whole, and rows of shared resources (u-blox tags, Root CAs) that need attention
            (they are in RV(report.needs_attention) too).
          type: int
        warnings:
          description: Warnings (outcomes with C(attention)); the devices they are about count as done or waiting as usual.
          type: int
        changed:
          description: Devices this run changed in some cloud.
          type: int
    complete:
      description: True when no device is waiting, so a schedule that re-runs the batch can stop.
      type: bool
    console:
      description:
        - Short plain lines for the play's output - the verdict line and whether the batch is complete (after
          C(CHECK MODE - nothing was changed:) in check mode), then a line per device or step that needs attention (with what
          to do), per warning (with what to do) and per device waiting (its waiting clouds), at most 20 of each, followed by
          how many more the report lists.
        - With O(kind=rotation), after the verdict a line that counts the certificates by what the run did, and instead of the
          waiting devices a line per certificate rotated (C(rotated - SN-1 (nRF Cloud, renew) - 2026-05-20 -> 2027-05-20),
          with V(at next heartbeat) for a certificate the device takes then) and a line per cloud for the devices outside the
          window.
      type: list
      elements: str
      sample:
        - '57 of 60 onboarded · 2 waiting for the device · 1 needs attention - not complete: run the job again later for the
          devices that are waiting'
        - 'needs attention: SN-0042 (nRF Cloud, claim and provision): the device reported: modem error -8 - what to do: Return the
          device to the line'
        - 'waiting: SN-0007 - nRF Cloud: waiting for the device; u-blox: waiting for bootstrap'
    clouds:
      description: The clouds of the report in the order of their columns, each with its vendor C(key) and its C(label).
      type: list
      elements: dict
      sample: [{key: nrfcloud, label: nRF Cloud}, {key: ublox, label: u-blox}]
    counts:
      description:
        - Per cloud, the devices with an identity there (C(total)), how many this run changed, how many wait, how many need
          attention, and how many are in each phase (C(phases)).
      type: dict
      sample: {nrfcloud: {total: 60, changed: 58, waiting: 2, needs_attention: 1,
               phases: {onboarded: 57, waiting for the device: 2, needs attention: 1}}}
    needs_attention:
      description:
        - What needs a person, step failures first, then the failures per device and cloud, then the warnings - C(severity)
          (V(failed) or V(warning)), C(serial) (null without one), C(device) (the
          serial, else the id), C(cloud) (the vendor key), C(id) (the id in that cloud), C(phase) (how far the device had got
          there, empty if nowhere), C(step), C(reason) (with the vendor's or the device's own words), C(remedy) (what to do) and
          C(cause) (the number of its cause in RV(report.attention_causes)).
        - A step that failed as a whole has C(serial), C(device) and C(id) null.
      type: list
      elements: dict
      sample:
        - severity: failed
          serial: SN-0042
          device: SN-0042
          cloud: nrfcloud
          id: nrf-352656100000042
          phase: claimed
          step: claim and provision
          reason: 'the device ran "keygen" and reported: modem error -8 (key generation failed)'
          remedy: Return the device to the line and check its modem firmware, then run the job again.
          cause: 1
    needs_attention_total:
      description:
        - The number of failures in the full list of what needs attention (the files hold all of it); the warnings are
          counted in RV(report.warnings_total). A role fails the run when it is not 0.
      type: int
    warnings_total:
      description: The number of warnings in the full list of what needs attention.
      type: int
    attention_causes:
      description:
        - What needs attention grouped by cause, failures first, most devices first (at most 100) - C(cause) (its number,
          which each entry of RV(report.needs_attention) names in its C(cause)), C(devices) (how many), C(severity), C(cloud),
          C(step), C(reason) (with the device's id left out) and C(remedy).
        - One cause often fails many devices at once (a credential, a cloud out of reach); the HTML page then shows it once.
      type: list
      elements: dict
      sample: [{cause: 1, devices: 250, severity: failed, cloud: nrfcloud, step: claim and provision, reason: 'nrfcloud POST /v1/claimed-devices/(the
               device) failed: HTTP 503', remedy: 'nRF Cloud was busy or out of reach: run the job again later; what is done is not done twice.'}]
    waiting:
      description: The devices waiting for the device, each with C(serial), C(device) and C(clouds) (its phase per cloud).
      type: list
      elements: dict
      sample: [{serial: SN-0007, device: SN-0007, clouds: {nrfcloud: waiting for the device, ublox: waiting for bootstrap}}]
    waiting_total:
      description: The number of devices waiting (the files list all of them).
      type: int
    devices:
      description:
        - One row per device - C(serial), C(device), C(verdict) (V(done), V(waiting), V(needs attention) or V(out of service)),
          C(changed), and C(clouds) (per cloud its C(phase), C(waiting), C(failed), C(changed), C(ids), the C(steps) that reported
          it, C(out_of_service) when a result said so, and
          C(note), or C(reached), C(reason) and C(remedy) when it failed; the rotation fields the outcomes gave, C(attention)
          with C(attention_remedy), and with O(kind=rotation) C(outcome) - V(rotated), V(requested) (the new certificate comes
          at the next heartbeat), V(pending) (requested by an earlier run), V(skipped), V(failed) or V(outside)).
        - With O(kind=rotation) the devices outside the window in every cloud are left out (RV(report.rotation) counts them).
      returned: when O(return_devices=true)
      type: list
      elements: dict
    rotation:
      description:
        - Per cloud, what the run did with the certificates (one per device) - C(rotated), C(requested), C(pending),
          C(skipped), C(failed), C(warnings) - and C(outside_window) (C(devices) outside the window, C(nearest_expiry), and
          the C(nearest_device) and C(nearest_id) whose certificate expires first among them); and O(window_days).
      returned: when O(kind=rotation)
      type: dict
      sample:
        window_days: 30
        clouds:
          nrfcloud: {rotated: 12, requested: 2, pending: 0, skipped: 0, failed: 1, warnings: 1,
                     outside_window: {devices: 4600, nearest_expiry: '2026-07-14T08:00:00Z', nearest_device: SN-0179,
                                      nearest_id: nrf-352656100000179}}
json_path:
  description: The JSON file written by this run (the C(-check) file in check mode).
  returned: always
  type: str
  sample: /srv/factory/reports/onboarding-b47-20260512T081815Z-job4711.json
html_path:
  description: The HTML page written by this run (the C(-check) page in check mode).
  returned: always
  type: str
  sample: /srv/factory/reports/onboarding-b47-20260512T081815Z-job4711.html
latest_json_path:
  description: The latest link to the JSON file, C(<name>.json).
  returned: unless check mode
  type: str
  sample: /srv/factory/reports/onboarding-b47.json
latest_html_path:
  description: The latest link to the HTML page, C(<name>.html).
  returned: unless check mode
  type: str
  sample: /srv/factory/reports/onboarding-b47.html
outcome:
  description:
    - The run's outcome as a role keeps it for the play (for example C(factory_onboarding_result)) - C(complete),
      C(verdict), C(waiting) and C(needs_attention) as in RV(report), and C(report) and C(json), this run's page and JSON file
      (RV(html_path) and RV(json_path)), not the latest links, which with jobs at the same time (two lines, AWX slices) may
      point at another job's report by the time someone reads the job's output.
  returned: always
  type: dict
  sample:
    complete: true
    verdict: {text: 250 of 250 onboarded, total: 250, done: 250, waiting: 0, needs_attention: 0}
    waiting: []
    needs_attention: []
    report: /srv/factory/reports/onboarding-b47-20260512T081815Z-job4711.html
    json: /srv/factory/reports/onboarding-b47-20260512T081815Z-job4711.json
'''

import datetime
import filecmp
import html
import json
import os
import re
import secrets
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._files import validate_mode
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


def write_new(module, directory, stem, tail, texts):
    files = create_new(directory, stem, tail)
    for ext, (path, handle) in files.items():
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(texts[ext])
        module.set_mode_if_different(path, module.params['mode'], False)
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


def replace_atomically(module, path, target):
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
            module.set_mode_if_different(temporary, module.params['mode'], False)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def point_latest(module, directory, name, written):
    """Make ``<name>.<ext>`` point at the report just written (see replace_atomically): {ext: path}."""
    keep_unlinked_latest(directory, name, written)
    latest = {}
    for ext, target in written.items():
        latest[ext] = os.path.join(directory, '%s.%s' % (name, ext))
        replace_atomically(module, latest[ext], target)
    return latest


def validate_name(name):
    """The name starts file names in O(path): a name with a slash would write elsewhere, or nowhere, after the run's work."""
    if not name or '/' in name or '\0' in name or name.startswith('.'):
        raise ConfigError('name: %r must be a file name: not empty, without "/", not starting with "."' % name)


def write_files(module, report, now):
    directory, name = module.params['path'], module.params['name']
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        module.fail_json(msg='path: cannot use %s as the report directory (%s)' % (directory, exc.strerror or exc))
    # compact: at 5,000 devices indentation adds half again to the file; jq shows it indented
    texts = dict(json=json.dumps(report, separators=(',', ':'), ensure_ascii=False) + '\n', html=render_html(report))
    stem = '%s-%s-%s' % (name, time.strftime(STAMP, time.gmtime(now)), run_tag(module.params['awx_job_id']))
    try:
        written = write_new(module, directory, stem, '-check' if module.check_mode else '', texts)
        result = dict(json_path=written['json'], html_path=written['html'])
        if not module.check_mode:
            latest = point_latest(module, directory, name, written)
            result.update(latest_json_path=latest['json'], latest_html_path=latest['html'])
    except OSError as exc:
        module.fail_json(msg='path: cannot write the report into %s (%s)' % (directory, exc.strerror or exc))
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


def main():
    module = AnsibleModule(
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
        supports_check_mode=True,
        no_log=True,  # only the syslog entry of the invocation (megabytes of results); the result is shown as usual
    )
    try:
        validate_mode(module.params['mode'], 'mode')
        validate_name(module.params['name'])
        if (module.params['window_days'] or 0) < 0:
            raise ConfigError('window_days: %d is negative; it is the rotation window in days (0 or more)' % module.params['window_days'])
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    now = time.time()
    # the action plugin has flattened the steps already when the module runs from a play; here for a direct run
    steps = [lean_step(step) for step in module.params['steps']]
    report = dict(run=run_facts(module.params, module.check_mode, now))
    report.update(build(steps, module.params['serials'], module.params['done_word'], module.params['kind'], module.params['window_days']))
    result = dict(changed=False, report=summary(report, module.params['return_devices']),
                  invocation=dict(module_args=lean_invocation(module.params, steps)))
    result.update(write_files(module, report, now))
    result['outcome'] = outcome(result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
