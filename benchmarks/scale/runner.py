# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ansible-playbook and measure it: wall time, the controller's memory, the per-task timings of the
bench callback, and the recap.

Memory, two ways:
- ``peak_pss_mib``: /proc is polled every 50 ms while the playbook runs, and the proportional set size
  (Pss from /proc/<pid>/smaps_rollup) of ansible-playbook and all its descendants (forked workers, module
  processes) is summed; the peak of that sum is the controller's footprint (Pss shares pages that forked
  processes have in common, so they are not counted twice). ``peak_rss_mib`` is the same with plain RSS
  (an upper bound that counts shared pages in every process).
- ``max_rss_mib``: ``ru_maxrss`` from ``os.wait4`` on ansible-playbook, i.e. the largest resident set of any
  single process of the tree (Linux reports the maximum over the process and its waited-for descendants).
``cpu`` is the user + system CPU time of the whole tree (``os.wait4``), in seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALLBACKS = os.path.join(BENCH_DIR, 'callback_plugins')
PAGE = os.sysconf('SC_PAGE_SIZE')
MIB = 1024.0 * 1024.0


def ansible_playbook():
    return os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def _children_map():
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the fields after the last ")" are fixed
        fields = stat[stat.rfind(b')') + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def _tree(pid):
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _memory(pid):
    """(Pss, Rss) in bytes of one process; zeros when it is gone."""
    try:
        with open('/proc/%d/smaps_rollup' % pid, 'rb') as handle:
            text = handle.read()
    except OSError:
        return 0, 0
    pss = re.search(rb'^Pss:\s+(\d+) kB', text, re.M)
    rss = re.search(rb'^Rss:\s+(\d+) kB', text, re.M)
    return (int(pss.group(1)) * 1024 if pss else 0), (int(rss.group(1)) * 1024 if rss else 0)


def _kind(pid, root):
    """'main' (ansible-playbook), 'worker' (a forked task worker), 'module' (any other process of the tree: module runs, shells)."""
    if pid == root:
        return 'main'
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            command = handle.read()
    except OSError:
        return 'module'
    return 'worker' if b'ansible-playbook' in command else 'module'


class MemoryPoller(threading.Thread):
    """Peak summed Pss and Rss of a process tree, polled every ``interval`` seconds; also the peak Pss of each kind of process."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_pss = 0
        self.peak_rss = 0
        self.peak_processes = 0
        self.peak_by_kind = {}
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            pids = _tree(self.pid)
            pss = rss = 0
            kinds = {}
            for pid in pids:
                one_pss, one_rss = _memory(pid)
                pss += one_pss
                rss += one_rss
                kind = _kind(pid, self.pid)
                kinds[kind] = kinds.get(kind, 0) + one_pss
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            for kind, value in kinds.items():
                self.peak_by_kind[kind] = max(self.peak_by_kind.get(kind, 0), value)
            self.stopped.wait(self.interval)


class PlaybookFailed(RuntimeError):
    """ansible-playbook exited non-zero."""


def run_playbook(args, env, log_path, timings_path=None, memory=True, check=True, prefix=()):
    """Run ``ansible-playbook <args>`` (after ``prefix``, e.g. a profiler); return a dict of measurements.

    Raises PlaybookFailed when it fails and ``check``.
    """
    env = dict(env)
    if timings_path:
        env.update(ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED='iotops_bench_timer', IOTOPS_BENCH_TIMINGS=timings_path)
        if os.path.exists(timings_path):
            os.unlink(timings_path)
    with open(log_path, 'w', encoding='utf-8') as log:
        start = time.monotonic()
        proc = subprocess.Popen(list(prefix) + [ansible_playbook()] + list(args), env=env, stdout=log, stderr=subprocess.STDOUT)
        poller = MemoryPoller(proc.pid) if memory else None
        if poller:
            poller.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if poller:
            poller.stopped.set()
            poller.join()
    with open(log_path, encoding='utf-8') as log:
        text = log.read()
    recap = re.findall(r'^localhost\s+:\s+(.*)$', text, re.M)
    result = dict(wall=wall, returncode=proc.returncode, max_rss_mib=usage.ru_maxrss / 1024.0, recap=recap[-1].strip() if recap else '',
                  log=log_path, cpu=usage.ru_utime + usage.ru_stime)
    if poller:
        result.update(peak_pss_mib=poller.peak_pss / MIB, peak_rss_mib=poller.peak_rss / MIB, peak_processes=poller.peak_processes,
                      peak_pss_by_kind_mib=dict((kind, value / MIB) for kind, value in poller.peak_by_kind.items()))
    counts = dict(re.findall(r'(\w+)=(\d+)', result['recap']))
    result['changed_tasks'] = int(counts.get('changed', -1))
    result['failed_tasks'] = int(counts.get('failed', -1))
    if timings_path and os.path.exists(timings_path):
        with open(timings_path, encoding='utf-8') as handle:
            result['timings'] = json.load(handle)
    if check and proc.returncode != 0:
        raise PlaybookFailed('ansible-playbook %s failed (exit %d); log %s:\n%s' % (' '.join(args[-1:]), proc.returncode, log_path, text[-4000:]))
    return result
