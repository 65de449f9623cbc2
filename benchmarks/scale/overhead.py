# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-task overhead: a single-device task of our modules next to an ansible.builtin.uri task doing one call.

Four playbooks on localhost: an empty one, and three with K identical tasks each:
- ``uri``: ansible.builtin.uri, GET /v1/devices?pageLimit=100 of nRF Cloud (one call);
- ``nrfcloud_device_info``: one device id (the module sends that same single GET: the team has one device);
- ``naocloud_trackable``: one tracking tag that already exists and is unchanged (one GET of the site's tag list,
  no write).
Each playbook runs R times, interleaved (empty, uri, info, trackable, empty, ...) so that drift hits all alike.
Per-task time = (median wall time of the playbook - median wall time of the empty playbook) / K. The bench
callback's own task durations (start to end of each task inside the playbook) are reported next to it.
"""

from __future__ import annotations

import os
import statistics

from iotops_mock import credentials

from . import fleet, runner

HEADER = '''---
- name: Per-task overhead - %(name)s
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:%(empty)s
'''

TASKS = {
    'uri': '''
    - name: One GET with ansible.builtin.uri %(n)d
      ansible.builtin.uri:
        url: "%(nrf_url)s/devices?pageLimit=100"
        headers:
          Authorization: "Bearer %(nrf_key)s"
''',
    'nrfcloud_device_info': '''
    - name: One device with nrfcloud_device_info %(n)d
      iotops.provisioning.nrfcloud_device_info:
        device_ids: [%(device)s]
''',
    'naocloud_trackable': '''
    - name: One existing tag with naocloud_trackable %(n)d
      iotops.provisioning.naocloud_trackable:
        site_id: %(site)d
        trackables:
          - tracking_id: "%(mac)s"
            name: %(tag_name)s
''',
}
MAC = 'BE:0C:FF:00:00:01'
TAG_NAME = 'overhead tag'


def prepare(mock, workdir, tasks):
    """A clean mock with one nRF Cloud device and one NAO tag; the four playbooks; returns {name: path}."""
    fleet.reset(mock)
    device = mock.admin.seed('nrfcloud', 'devices', {'count': 1})['added'][0]
    mock.admin.seed('naocloud', 'trackables', {'site_id': fleet.SITE_ID, 'trackables': [{'tracking_id': MAC, 'name': TAG_NAME}]})
    os.makedirs(workdir, exist_ok=True)
    values = dict(nrf_url=mock.api_urls()['NRFCLOUD_API_URL'], nrf_key=credentials.NRFCLOUD_TEAM_A_API_KEY, device=device,
                  site=fleet.SITE_ID, mac=MAC, tag_name=TAG_NAME)
    playbooks = {}
    for name in ['empty'] + list(TASKS):
        text = HEADER % dict(name=name, empty=' []' if name == 'empty' else '')
        if name != 'empty':
            text += ''.join(TASKS[name] % dict(values, n=number + 1) for number in range(tasks))
        path = os.path.join(workdir, name + '.yml')
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        playbooks[name] = path
    return playbooks


def measure(mock, workdir, env, tasks=10, runs=20, progress=None):
    """Run the playbooks ``runs`` times each; returns {name: {wall_median, per_task, task_median, ...}}."""
    playbooks = prepare(mock, workdir, tasks)
    walls = dict((name, []) for name in playbooks)
    durations = dict((name, []) for name in playbooks)
    for run in range(runs):
        for name, path in playbooks.items():
            timings = os.path.join(workdir, '%s.json' % name)
            result = runner.run_playbook([path], env, os.path.join(workdir, '%s.log' % name), timings, memory=False)
            walls[name].append(result['wall'])
            durations[name].extend(t['end'] - t['start'] for t in result['timings']['tasks'])
        if progress:
            progress('overhead run %d/%d: %s' % (run + 1, runs, ', '.join('%s %.2f s' % (n, w[-1]) for n, w in walls.items())))
    empty = statistics.median(walls['empty'])
    figures = {}
    for name in playbooks:
        median = statistics.median(walls[name])
        figures[name] = dict(wall_median=median, wall_min=min(walls[name]), wall_max=max(walls[name]), runs=len(walls[name]),
                             per_task=(median - empty) / tasks if name != 'empty' else 0.0,
                             task_median=statistics.median(durations[name]) if durations[name] else 0.0)
    uri = figures['uri']['per_task']
    for name, figure in figures.items():
        figure['ratio_to_uri'] = figure['per_task'] / uri if uri > 0 and name != 'empty' else None
    return dict(tasks=tasks, runs=runs, playbooks=figures)
