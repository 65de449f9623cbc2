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
  - The report is built and written in the controller's own process (an action plugin), also when the task runs for a host that
    is not the controller; nothing is copied to a host, and the steps' results are not serialised into a module's arguments.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._report_files import BATCH_REPORT_SPEC, report_result


def main():
    # A task runs the action of the same name, which writes the report on the controller with the same code; this module is
    # what that code is when it runs on its own (the unit tests, a direct run).
    module = AnsibleModule(
        supports_check_mode=True,
        no_log=True,  # only the syslog entry of the invocation (megabytes of results); the result is shown as usual
        **BATCH_REPORT_SPEC)
    try:
        result = report_result(module.params, module.check_mode)
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
