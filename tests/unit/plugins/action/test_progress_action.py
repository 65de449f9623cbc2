# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress line of the batch modules' action, in real ansible-playbook runs against the mock: a slow step shows
growing counts while it runs, a short one shows nothing.

The action is not imported here: loading Ansible's controller code into the test process would change how the
modules that other tests run in-process report their warnings (they would go to the display, not the result)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

PUT_KEY = 'iotcomms PUT /provisioning/device/{domain}'
LINE = re.compile(r'^  \[localhost\] (?P<task>.+?) \((?P<label>.+)\): (?P<done>[\d,]+) of (?P<total>[\d,]+) devices done'
                  r' · (?P<waiting>\d+) waiting · (?P<failed>\d+) failed · (?P<elapsed>\d+:\d\d) elapsed$')


def playbook_run(tmp_path, collections_root, mock, creds, devices, interval=None, background=False):
    """``ansible-playbook`` of one iotcomms_device task (in a loop of one chunk) on localhost; with ``background``, started
    with async and poll 0, then collected by async_result (which shows the job's progress), its launch shown with to_json.

    Returns its exit code and its output lines, each with the time it arrived."""
    task = {'name': 'iotcomms devices',
            'iotops.provisioning.iotcomms_device': dict(api_url=mock.url + '/iotcomms', domain=creds.IOTCOMMS_DOMAIN,
                                                        private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH, devices=devices,
                                                        bulk_threshold=0, concurrency=8),
            'loop': [1], 'loop_control': {'label': 'chunk {{ item }} of 1'}}
    tasks = [task]
    if background:
        task.update({'async': 60, 'poll': 0, 'register': 'job'})
        tasks += [{'name': 'Show the launch', 'ansible.builtin.debug': {'msg': 'LAUNCH={{ job.results[0] | to_json }}'}},
                  {'name': 'Collect the iotcomms devices', 'iotops.provisioning.async_result': {'job': '{{ job.results[0] }}'}}]
    playbook = tmp_path / 'play.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]))
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(json.dumps({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                                     'ansible_python_interpreter': sys.executable}}}}))
    env = {name: value for name, value in os.environ.items() if name.split('_')[0] not in ('IOTOPS', 'IOTCOMMS')}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_HOME=str(tmp_path / 'home'), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'),
               ANSIBLE_REMOTE_TMP=str(tmp_path / 'remote-tmp'), ANSIBLE_ASYNC_DIR=str(tmp_path / 'async'))
    if interval is not None:
        env['IOTOPS_PROGRESS_INTERVAL'] = str(interval)
    playbook_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    with subprocess.Popen([playbook_bin, '-i', str(inventory), str(playbook)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True) as proc:
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        try:
            arrived = [(time.monotonic(), line.rstrip('\n')) for line in proc.stdout]
        finally:
            watchdog.cancel()
    return proc.returncode, arrived


def our_devices(mock, creds, ids):
    stored = mock.admin.state()['iotcomms']['domains'][creds.IOTCOMMS_DOMAIN]['devices']
    return {device['deviceId'] for device in stored} & set(ids)


def test_a_slow_step_shows_growing_counts_before_its_result(tmp_path, collections_root, mock, creds):
    ids = ['4671%04d' % index for index in range(300)]
    # 3 creates refused after the first 30, all the others 0.12 s slow: about 5 s for 300 devices, 8 at a time
    mock.admin.add_fault(vendor='iotcomms', method='PUT', kind='status', status=400, skip=30, count=3)
    mock.admin.add_fault(vendor='iotcomms', method='PUT', kind='latency', seconds=0.12, count=None)
    mock.admin.reset_counters()
    rc, arrived = playbook_run(tmp_path, collections_root, mock, creds, [dict(device_id=i) for i in ids], interval=1)
    lines = [line for _at, line in arrived]
    stdout = '\n'.join(lines)

    assert rc == 2, stdout  # the 3 refused devices fail the task, after the others were created
    assert len(our_devices(mock, creds, ids)) == 297 and mock.admin.counters()['endpoints'][PUT_KEY] == 300
    task_at = lines.index(next(line for line in lines if line.startswith('TASK [iotcomms devices]')))
    result_at = lines.index(next(line for line in lines if line.startswith('failed: [localhost] (item=chunk 1 of 1)')))
    progress = [at for at, line in enumerate(lines) if line.endswith(' elapsed')]
    assert progress and task_at < progress[0] and progress[-1] < result_at, stdout
    # a line before the module's first count says only that it started; every later one has the counts
    started = [at for at in progress if ': started · ' in lines[at]]
    assert started == progress[:len(started)], stdout
    shown = [LINE.match(lines[at]) for at in progress[len(started):]]
    assert all(shown), stdout
    done = [int(match['done'].replace(',', '')) for match in shown]
    failed = [int(match['failed']) for match in shown]
    assert done == sorted(done) and len(set(done)) >= 3, stdout
    assert failed == sorted(failed) and failed[-1] == 3, stdout
    # shown while the task ran, not all at its end: the module ends only when all 300 are done, so a line that counts
    # fewer was read while it ran (the order of the lines, not the wall clock)
    assert done[0] < 300 and done[-1] <= 300, stdout
    assert {(match['task'], match['label'], match['total'], match['waiting']) for match in shown} == {
        ('iotcomms devices', 'chunk 1 of 1', '300', '0')}
    assert '3 of 300 devices failed' in stdout


def test_a_step_started_in_the_background_shows_its_progress_where_it_is_collected(tmp_path, collections_root, mock, creds):
    """The launch names a private progress file; async_result shows the job's counts under its own task name while it
    waits, then the job's result; the module removed the file and its folder at exit."""
    ids = ['4674%04d' % index for index in range(200)]
    mock.admin.add_fault(vendor='iotcomms', method='PUT', kind='latency', seconds=0.12, count=None)
    rc, arrived = playbook_run(tmp_path, collections_root, mock, creds, [dict(device_id=i) for i in ids], interval=1,
                               background=True)
    lines = [line for _at, line in arrived]
    stdout = '\n'.join(lines)
    assert rc == 0 and our_devices(mock, creds, ids) == set(ids), stdout
    launch = json.loads(next(line for line in lines if 'LAUNCH=' in line).split('LAUNCH=', 1)[1].rstrip('"').replace('\\"', '"'))
    folder = os.path.dirname(launch['progress_file'])
    assert os.path.basename(folder).startswith('iotops-progress-') and not os.path.exists(folder), launch
    collect_at = lines.index(next(line for line in lines if line.startswith('TASK [Collect the iotcomms devices]')))
    result_at = next(at for at, line in enumerate(lines) if at > collect_at and line.startswith('changed: [localhost]'))
    progress = [at for at, line in enumerate(lines) if line.endswith(' elapsed')]
    counted = [re.match(r'^  \[localhost\] Collect the iotcomms devices: (\d+) of 200 devices done · ', lines[at]) for at in progress]
    assert progress and all(collect_at < at < result_at for at in progress), stdout
    done = [int(match.group(1)) for match in counted if match]
    assert done and done == sorted(done) and done[0] < 200, stdout


def test_a_short_step_with_the_default_interval_shows_nothing(tmp_path, collections_root, mock, creds):
    ids = ['4672%04d' % index for index in range(3)]
    rc, arrived = playbook_run(tmp_path, collections_root, mock, creds, [dict(device_id=i) for i in ids])
    stdout = '\n'.join(line for _at, line in arrived)
    assert rc == 0, stdout
    assert our_devices(mock, creds, ids) == set(ids)
    assert 'changed: [localhost] => (item=chunk 1 of 1)' in stdout and 'elapsed' not in stdout


def test_an_interval_that_is_no_number_warns_and_keeps_the_default(tmp_path, collections_root, mock, creds):
    rc, arrived = playbook_run(tmp_path, collections_root, mock, creds, [dict(device_id='46730001')], interval='ten')
    stdout = '\n'.join(line for _at, line in arrived)
    assert rc == 0 and our_devices(mock, creds, ['46730001']) == {'46730001'}, stdout
    assert "IOTOPS_PROGRESS_INTERVAL='ten' is not a number of seconds" in stdout and 'elapsed' not in stdout
