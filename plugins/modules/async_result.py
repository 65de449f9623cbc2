#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the async_result action, which runs on the controller only (plugins/action/async_result.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
module: async_result
short_description: Wait for a task started in the background and show its result as if it had run in the foreground
version_added: 0.2.0
description:
  - Waits until a task started with C(async) and C(poll=0) has finished, then returns that task's result as its own - its
    C(changed), C(failed) and C(msg), its C(diff) (shown with C(--diff)), and every value the module returned - and removes
    the job's result file.
  - A role that runs some steps in the background while another step runs in the foreground collects each step with one
    task of this action, under the step's name, and registers it as if the step had run there.
  - It does what a loop of M(ansible.builtin.async_status) until C(finished), followed by C(mode=cleanup), does, at a
    fraction of the cost. M(ansible.builtin.async_status) runs a Python module on the target for every look and for the
    cleanup, about 0.3 s of the controller's CPU each. This action reads the job's result file with the connection's shell
    (C(cat)) and removes it with C(rm), which costs a few milliseconds.
  - The result file is the one the task that started the job returned in C(results_file), on the host of that task. It is
    removed once its result has been read, and kept when the job is still running after O(timeout).
  - While it waits for a job of one of this collection's batch modules that runs on the controller (connection C(local),
    without C(become)), it shows the module's progress line every C(IOTOPS_PROGRESS_INTERVAL) seconds (default 10, V(0)
    turns it off) under this task's name - the line the module shows when it runs in the foreground. The launch names that
    file in its result (C(progress_file)).
options:
  job:
    description:
      - The registered result of the task started with C(async) and C(poll=0). Its C(ansible_job_id) and C(results_file)
        name the job.
      - A task that was skipped started no job; guard this task with the same condition, or with
        a C(when) that tests C(<registered>.ansible_job_id is defined).
    type: dict
    required: true
  timeout:
    description:
      - Seconds to wait for the job to finish. When it is still running then, the task fails and the job's result file is
        kept, so that M(ansible.builtin.async_status) can read it later.
      - V(0) looks once.
    type: float
    default: 86400
  interval:
    description: Seconds between two looks at a job that is still running.
    type: float
    default: 0.5
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: full
    details: The job's result file is read and removed as the user the job ran as, when this task has the same C(become) as
      the task that started the job.
  bypass_host_loop:
    support: none
  connection:
    support: full
    details: The job's result file is read and removed on the host the job runs on, with the task's connection.
  check_mode:
    support: full
    details: A job started in check mode ran in check mode; its result is read and its file removed the same way.
  delegation:
    support: full
  diff_mode:
    support: full
    details: The job's own diff, when it was started with C(--diff), is shown under this task.
  platform:
    platforms: posix
notes:
  - The target needs a POSIX shell with C(cat) and C(rm), as C(async) itself does on POSIX hosts.
  - The job's result is the module's result as the module returned it. C(no_log) values stay masked as the module masked them.
seealso:
  - module: ansible.builtin.async_status
  - name: Asynchronous actions and polling
    description: Starting tasks in the background with C(async) and C(poll).
    link: https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_async.html
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
# Run the u-blox step in the background while the nRF Cloud step runs, then show it under its own name
- name: Start in the background - whitelist the modules with u-blox
  iotops.provisioning.ublox_device:
    devices: "{{ batch.ublox }}"
    tags: [line-3]
  async: 3600
  poll: 0
  register: ublox_job
  changed_when: false  # started, not done: the result of the step is the collected one

- name: Claim and provision the nRF91s
  iotops.provisioning.nrfcloud_provisioning:
    devices: "{{ batch.nrfcloud }}"
    wait_for: PROVISIONED

- name: Whitelist the modules with u-blox
  iotops.provisioning.async_result:
    job: "{{ ublox_job }}"
  register: ublox_devices
  when: ublox_job.ansible_job_id is defined

# Look once, without waiting; a job still running keeps its file for a later look
- name: Is the SIP step over?
  iotops.provisioning.async_result:
    job: "{{ iotcomms_job }}"
    timeout: 0
  register: iotcomms_devices
  failed_when: false

# Wait at most 10 minutes, looking every 2 seconds
- name: Register the tracking tags
  iotops.provisioning.async_result:
    job: "{{ naocloud_job }}"
    timeout: 600
    interval: 2
  register: naocloud_trackables
'''

RETURN = r'''
finished:
  description: Whether the job has finished. V(false) only when it was still running after O(timeout).
  returned: always
  type: bool
  sample: true
started:
  description: Always V(true), as with M(ansible.builtin.async_status).
  returned: always
  type: bool
  sample: true
ansible_job_id:
  description: The job's id, from O(job).
  returned: always
  type: str
  sample: j401932587722.5193
results_file:
  description: The path of the job's result file on the target; removed once the job has finished.
  returned: always
  type: str
  sample: /home/factory/.ansible_async/j401932587722.5193
"<key>":
  description:
    - Every value the job's module returned (for example C(changed), C(diff), C(results)), as if it had run in the
      foreground.
    - When the job's file could not be read or is not a result, C(failed) and a C(msg) that says so.
  returned: when the job has finished
  type: raw
  sample: {"changed": true, "results": []}
'''
