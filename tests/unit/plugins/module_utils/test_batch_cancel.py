# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cancelled job starts no new item: ControllerWatch and its use in run_batch and map_concurrently (docs/cancel.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import (ControllerWatch, JobCancelled, map_concurrently,
                                                                                 run_batch)

PLAYBOOK = ('/venv/bin/python3', '/venv/bin/ansible-playbook', '-i', 'inventory.yml', 'site.yml')


class FakeProc:
    """A /proc of made-up processes: {pid: (ppid, argv, state)}."""

    def __init__(self, root):
        self.root = str(root)

    def add(self, pid, ppid, argv, state='S'):
        folder = os.path.join(self.root, str(pid))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'stat'), 'w', encoding='utf-8') as handle:
            handle.write('%d (%s) %s %d 1 1 0 -1\n' % (pid, os.path.basename(argv[0])[:15], state, ppid))
        with open(os.path.join(folder, 'cmdline'), 'wb') as handle:
            handle.write(b'\0'.join(a.encode() for a in argv) + b'\0')

    def remove(self, pid):
        folder = os.path.join(self.root, str(pid))
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def local_connection(proc, worker_parent=100):
    """controller 100 -> worker 200 (same command line) -> /bin/sh 300 -> /bin/sh 400 -> the module (its parent is 400)."""
    proc.add(1, 0, ('/sbin/init',))
    proc.add(100, 50, PLAYBOOK)
    proc.add(200, worker_parent, PLAYBOOK)
    proc.add(300, 200, ('/bin/sh', '-c', "/bin/sh -c '/venv/bin/python3 /tmp/ansible-tmp-1/AnsiballZ_x.py && sleep 0'"))
    proc.add(400, 300, ('/bin/sh', '-c', '/venv/bin/python3 /tmp/ansible-tmp-1/AnsiballZ_x.py && sleep 0'))


def watch_of(proc, interval=0.0, clock=time.monotonic):
    return ControllerWatch(proc=proc.root, interval=interval, clock=clock, parent_pid=lambda: 400)


def test_the_controller_alive_is_not_a_cancel(tmp_path):
    proc = FakeProc(tmp_path)
    local_connection(proc)
    watch = watch_of(proc)
    assert not watch.gone() and not watch.gone()


@pytest.mark.parametrize('how', ['killed', 'zombie', 'subreaper'])
def test_a_worker_whose_controller_is_gone_is_a_cancel(tmp_path, how):
    proc = FakeProc(tmp_path)
    local_connection(proc)
    watch = watch_of(proc)
    assert not watch.gone()
    if how == 'killed':  # the kernel gives the orphaned worker to init
        proc.remove(100)
        proc.add(200, 1, PLAYBOOK)
    elif how == 'zombie':  # the controller died, not reaped yet; the worker already belongs to init
        proc.add(100, 50, PLAYBOOK, state='Z')
        proc.add(200, 1, PLAYBOOK)
    else:  # a subreaper (systemd --user, tini, dumb-init) adopts it
        proc.add(77, 1, ('/usr/bin/dumb-init', '--', 'ansible-runner', 'worker'))
        proc.add(200, 77, PLAYBOOK)
    assert watch.gone()
    proc.add(200, 100, PLAYBOOK)
    assert watch.gone(), 'once gone, always gone'


def test_a_module_started_after_the_controller_died_sees_it_at_once(tmp_path):
    """The next item of the task's loop: the orphaned worker starts another module run."""
    proc = FakeProc(tmp_path)
    local_connection(proc, worker_parent=1)
    assert watch_of(proc).gone()


def test_the_worker_gone_is_a_cancel(tmp_path):
    proc = FakeProc(tmp_path)
    local_connection(proc)
    watch = watch_of(proc)
    assert not watch.gone()
    proc.remove(200)
    assert watch.gone()


def test_no_ansible_ancestor_never_cancels(tmp_path):
    """A module run by hand, in a unit test, or on a remote host over ssh: nothing to watch."""
    proc = FakeProc(tmp_path)
    proc.add(1, 0, ('/sbin/init',))
    proc.add(10, 1, ('sshd: deploy',))
    proc.add(300, 10, ('/bin/sh', '-c', '/usr/bin/python3 /home/deploy/.ansible/tmp/ansible-tmp-1/AnsiballZ_x.py && sleep 0'))
    proc.add(400, 300, ('/bin/sh', '-c', '/usr/bin/python3 /home/deploy/.ansible/tmp/ansible-tmp-1/AnsiballZ_x.py'))
    watch = watch_of(proc)
    assert not watch.gone()
    proc.remove(10)
    proc.add(300, 1, ('/bin/sh', '-c', 'whatever'))
    assert not watch.gone()


def test_no_proc_never_cancels(tmp_path):
    assert not ControllerWatch(proc=str(tmp_path / 'missing'), interval=0).gone()


def test_a_parent_that_cannot_be_read_is_not_a_cancel(tmp_path):
    proc = FakeProc(tmp_path)
    local_connection(proc)
    watch = watch_of(proc)
    assert not watch.gone()
    os.chmod(os.path.join(proc.root, '100', 'cmdline'), 0)
    try:
        if os.access(os.path.join(proc.root, '100', 'cmdline'), os.R_OK):
            pytest.skip('running as root: the file stays readable')
        assert not watch.gone()
    finally:
        os.chmod(os.path.join(proc.root, '100', 'cmdline'), 0o600)


def test_the_process_table_is_read_at_most_every_interval(tmp_path):
    proc = FakeProc(tmp_path)
    local_connection(proc)
    now = [1000.0]
    watch = watch_of(proc, interval=0.5, clock=lambda: now[0])
    assert not watch.gone()
    proc.remove(200)
    now[0] += 0.2
    assert not watch.gone(), 'looked again before the interval'
    now[0] += 0.4
    assert watch.gone()


class Switch:
    """A watch that turns gone when told."""

    def __init__(self):
        self.is_gone = False

    def gone(self):
        return self.is_gone


def test_run_batch_finishes_the_items_in_flight_starts_no_other_and_raises():
    watch = Switch()
    started, gate = [], threading.Event()

    def worker(item):
        started.append(item)
        if item == 3:
            watch.is_gone = True  # the cancel arrives while items 0-3 are in flight
            gate.set()
        gate.wait(5)
        return {'changed': True}

    with pytest.raises(JobCancelled) as caught:
        run_batch(range(20), worker, concurrency=4, watch=watch)
    outcomes = caught.value.details['outcomes']
    assert sorted(started) == [0, 1, 2, 3]
    assert [r['item'] for r in outcomes] == list(range(20))
    assert all(r['changed'] and not r['failed'] for r in outcomes[:4])
    assert all(r['cancelled'] and r['failed'] and not r['changed'] for r in outcomes[4:])
    assert caught.value.details['summary']['failed'] == 16
    assert '4 of 20 items were worked, 16 were not started' in caught.value.msg


def test_run_batch_without_a_cancel_is_unchanged():
    results = run_batch(range(10), lambda item: {'changed': item % 2 == 0}, concurrency=3, watch=Switch())
    assert [r['item'] for r in results] == list(range(10)) and not any(r.get('cancelled') for r in results)


def test_map_concurrently_starts_no_item_once_cancelled():
    watch = Switch()
    called = []

    def func(item):
        called.append(item)
        if item == 1:
            watch.is_gone = True
        return item

    with pytest.raises(JobCancelled):
        map_concurrently(func, range(10), concurrency=1, watch=watch)
    assert called == [0, 1]
    with pytest.raises(JobCancelled):
        map_concurrently(func, range(10), concurrency=4, watch=watch)
    assert called == [0, 1]


CONTROLLER = '''
import os, subprocess, sys, time
if os.fork() == 0:  # the worker: forked (same command line), a session of its own, the module below /bin/sh
    os.setsid()
    subprocess.call(['/bin/sh', '-c', '%s %s' % (sys.executable, os.environ['MODULE_SCRIPT'])])
    os._exit(0)
time.sleep(60)
'''

MODULE = '''
import sys, time
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import ControllerWatch
watch = ControllerWatch(interval=0.05)
deadline = time.monotonic() + 30
with open(sys.argv[1], 'a', buffering=1) as out:
    while time.monotonic() < deadline:
        gone = watch.gone()
        out.write('%s %d\\n' % ('gone' if gone else 'alive', watch._worker or 0))
        if gone:
            break
        time.sleep(0.05)
'''


@pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='Linux only')
def test_real_processes_sigkill_of_the_controller_group(tmp_path, collections_root):
    """A fake ansible-playbook forks a worker (setsid, as ansible-core 2.19 does), which runs a module under /bin/sh.
    SIGKILL to the controller's process group (ansible-runner's cancel) leaves the module running; it sees the cancel."""
    controller, module, log = tmp_path / 'ansible-playbook', tmp_path / 'module.py', tmp_path / 'module.log'
    controller.write_text(CONTROLLER)
    module.write_text(MODULE.replace('sys.argv[1]', repr(str(log))))
    env = dict(os.environ, MODULE_SCRIPT=str(module), PYTHONPATH=collections_root)
    process = subprocess.Popen([sys.executable, str(controller)], env=env, start_new_session=True)
    worker = None
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (log.exists() and log.read_text().count('alive') >= 3):
            time.sleep(0.05)
        lines = log.read_text().split()
        assert lines[0] == 'alive' and lines[1] != '0', 'the module did not find its worker: %s' % lines[:2]
        worker = int(lines[1])
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and 'gone' not in log.read_text():
            time.sleep(0.05)
        assert 'gone' in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if worker is not None:
            try:
                os.kill(worker, signal.SIGKILL)
            except OSError:
                pass
