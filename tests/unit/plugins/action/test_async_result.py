# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""async_result in one real ansible-playbook run: jobs started with async and poll 0 (one that succeeds, one that fails,
one in check mode with a diff, one still running) are collected, each result as the job's module returned it; the files
of the finished jobs are removed and that of the running one is kept; no module runs to collect them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

MARK = 'COLLECTED='


def play(target):
    start = [
        {'name': 'Start a job that succeeds', 'ansible.builtin.command': {'argv': ['sh', '-c', 'sleep 1; echo made']},
         'async': 30, 'poll': 0, 'register': 'quick'},
        {'name': 'Start a job that fails', 'ansible.builtin.command': {'argv': ['sh', '-c', 'echo broken >&2; exit 3']},
         'async': 30, 'poll': 0, 'register': 'bad'},
        {'name': 'Start a job in check mode, with a diff', 'ansible.builtin.lineinfile': {'path': target, 'line': 'serial=L3-0001',
                                                                                          'create': True},
         'async': 30, 'poll': 0, 'check_mode': True, 'diff': True, 'register': 'checked'},
        # it ends on its own a while after the run (nothing else would stop it)
        {'name': 'Start a job that runs long', 'ansible.builtin.command': {'argv': ['sleep', '15']},
         'async': 20, 'poll': 0, 'register': 'slow'},
    ]
    collect = [
        {'name': 'Collect the job that succeeds', 'iotops.provisioning.async_result': {'job': '{{ quick }}', 'interval': 0.2},
         'register': 'quick_result'},
        {'name': 'Collect the job that fails', 'iotops.provisioning.async_result': {'job': '{{ bad }}'},
         'register': 'bad_result', 'ignore_errors': True},
        {'name': 'Collect the job in check mode', 'iotops.provisioning.async_result': {'job': '{{ checked }}'},
         'register': 'checked_result', 'diff': True},
        {'name': 'Look once at the job that runs long', 'iotops.provisioning.async_result': {'job': '{{ slow }}', 'timeout': 0},
         'register': 'slow_result', 'ignore_errors': True},
        {'name': 'Collect a job that never started', 'iotops.provisioning.async_result': {'job': {}},
         'register': 'none_result', 'ignore_errors': True},
        {'name': 'Show what was collected', 'ansible.builtin.debug': {
            'msg': MARK + '{{ dict(quick=quick_result, bad=bad_result, checked=checked_result, slow=slow_result, '
                          'none=none_result, jobs=[quick, bad, checked, slow]) | to_json }}'}},
    ]
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': start + collect}]


@pytest.fixture(scope='module')
def run(tmp_path_factory, collections_root):
    work = tmp_path_factory.mktemp('async_result')
    target = str(work / 'line.conf')
    (work / 'play.yml').write_text(json.dumps(play(target)))
    (work / 'inventory.ini').write_text('localhost ansible_connection=local ansible_python_interpreter="%s"\n' % sys.executable)
    async_dir = work / 'async'
    env = {name: value for name, value in os.environ.items() if not name.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_ASYNC_DIR=str(async_dir), ANSIBLE_HOME=str(work / 'home'),
               ANSIBLE_LOCAL_TEMP=str(work / 'tmp'), ANSIBLE_REMOTE_TMP=str(work / 'remote-tmp'))
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-vvv', '-i', str(work / 'inventory.ini'),
               str(work / 'play.yml')]
    done = subprocess.run(command, env=env, cwd=str(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, timeout=120, check=False)
    found = re.search(r'"msg": "%s(.*)"\n' % MARK, done.stdout)
    assert found, done.stdout
    collected = json.loads(json.loads('"%s"' % found.group(1)))
    return dict(rc=done.returncode, stdout=done.stdout, collected=collected, async_dir=async_dir, target=target)


def test_a_finished_job_is_shown_as_its_module_returned_it_and_its_file_removed(run):
    quick = run['collected']['quick']
    assert run['rc'] == 0, run['stdout']
    assert quick['changed'] is True and quick['rc'] == 0 and quick['stdout'] == 'made', quick
    assert quick['finished'] is True and quick['started'] is True and not quick.get('failed'), quick
    assert quick['ansible_job_id'] == run['collected']['jobs'][0]['ansible_job_id']
    assert not os.path.exists(quick['results_file'])


def test_a_failed_job_fails_the_task_with_its_reasons(run):
    bad = run['collected']['bad']
    assert bad['failed'] is True and bad['rc'] == 3 and bad['stderr'] == 'broken', bad
    assert not os.path.exists(bad['results_file'])
    section = run['stdout'].split('TASK [Collect the job that fails]', 1)[1].split('TASK [', 1)[0]
    assert 'fatal: [localhost]: FAILED!' in section and '"rc": 3' in section and '...ignoring' in section, section


def test_a_job_in_check_mode_shows_its_diff_and_changed_nothing(run):
    checked = run['collected']['checked']
    assert checked['changed'] is True and checked['diff'], checked
    assert not os.path.exists(run['target'])
    # the diff is shown under the collecting task, as for a task run in the foreground
    section = run['stdout'].split('TASK [Collect the job in check mode]', 1)[1].split('TASK [', 1)[0]
    assert '+serial=L3-0001' in section, section


def test_a_running_job_fails_the_look_and_keeps_its_file(run):
    slow = run['collected']['slow']
    assert slow['failed'] is True and slow['finished'] is False, slow
    assert 'still running after 0.0 s' in slow['msg'] and os.path.exists(slow['results_file'])
    assert sorted(os.listdir(run['async_dir'])) == [os.path.basename(slow['results_file'])]


def test_a_job_that_never_started_is_refused_with_the_reason(run):
    none = run['collected']['none']
    assert none['failed'] is True and 'has no ansible_job_id and results_file' in none['msg'], none


def test_collecting_runs_no_module(run):
    # async_status would run a module for each look and one for the cleanup; async_result only runs shell commands
    for task in ('Collect the job that succeeds', 'Collect the job that fails', 'Collect the job in check mode',
                 'Look once at the job that runs long'):
        section = run['stdout'].split('TASK [%s]' % task, 1)[1].split('TASK [', 1)[0]
        assert 'AnsiballZ' not in section and "EXEC /bin/sh -c 'cat -- " in section, section
