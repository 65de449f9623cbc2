# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the time goes, with py-spy (a sampling profiler; install it into any virtualenv, give its path).

Three views of one profiled run of the role (and of its no-op re-run):
- every module process runs under its own ``py-spy record --idle --threads`` (an interpreter wrapper set as
  ansible_python_interpreter), so its wall time splits into phases: start-up imports, argument parsing, the
  module's own steps (read, plan, converge, wait, sign, report, exit) and, within them, what the thread was
  doing (waiting on a socket, sleeping in a poll loop, waiting for worker threads, CPU in JSON, crypto, ...);
- ansible-playbook and its forked workers run under ``py-spy record --subprocesses --nonblocking --idle``:
  the controller's share (templating, variable merging, result processing);
- the mock server is sampled (``--nonblocking``, CPU only) to show its own hot spots.
The timings of the bench callback (per task and per loop item) come with every run, profiled or not.
py-spy slows the processes it samples a little; the profiled runs are not the timed ones.
"""

from __future__ import annotations

import collections
import glob
import os
import re
import subprocess
import sys

BOOTSTRAP = r'''"""Run a module file with stdout on fd 3: py-spy's own messages go to fd 1 (the null device)."""
import os
import runpy
import sys

os.dup2(3, 1)
os.close(3)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''

WRAPPER = '''#!/bin/sh
exec 3>&1
exec "%(py_spy)s" record --nonblocking --idle --threads --full-filenames --rate %(rate)d --format raw \\
    --output "%(out)s/module-$$.txt" -- "%(python)s" "%(bootstrap)s" "$@" >/dev/null
'''

FRAME = re.compile(r'^(.*) \((.*?)(?::(\d+))?\)$')
MODULE_FILE = re.compile(r'(?:AnsiballZ_|plugins/modules/|ansible/modules/)(\w+)\.py')
# the module's own code: the collection's modules and module_utils, and ansible.builtin modules (for the uri comparison)
COLLECTION_FILE = re.compile(r'iotops/provisioning/plugins/(?:modules|module_utils)/|/ansible/modules/')

# Collection functions whose only blocking call is time.sleep: a sample in them (as the innermost frame) is a poll-loop sleep.
SLEEPERS = frozenset(('wait_for_statuses', 'Onboarder._follow', 'IotcommsClient.wait_bulk', 'wait_for_job'))
# What a thread is doing, from its innermost frames (first match wins, checked leaf first).
ACTIVITIES = [
    ('socket: waiting for the answer', lambda f, p: f in ('recv_into', 'readinto', '_read_status', 'begin', 'getresponse', 'recv')),
    ('socket: sending / connecting', lambda f, p: f in ('sendall', 'send', 'create_connection', 'connect', '_new_conn')),
    ('waiting for worker threads', lambda f, p: f in ('_wait_for_tstate_lock', 'join', 'result', '_result_or_cancel', 'wait', 'acquire')
     and ('threading' in p or 'concurrent' in p)),
    ('import', lambda f, p: f in ('_find_and_load', '_call_with_frames_removed') or 'importlib' in p),
    ('crypto (cryptography)', lambda f, p: 'cryptography' in p),
    ('json encode/decode', lambda f, p: p.startswith('json/') or '/json/' in p or f in ('jsonify', 'dumps', 'loads')),
    ('HTTP client CPU (requests/urllib3)', lambda f, p: 'requests/' in p or 'urllib3/' in p or 'http/client' in p),
    ('Ansible module_utils (argspec, exit_json, ...)', lambda f, p: 'ansible/module_utils' in p),
]


def find_py_spy(given=None):
    """The py-spy executable: ``given``, IOTOPS_PY_SPY, or on PATH; None if there is none."""
    for candidate in (given, os.environ.get('IOTOPS_PY_SPY')):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, 'py-spy')
        if os.access(path, os.X_OK):
            return path
    return None


def module_interpreter(workdir, py_spy, rate=200):
    """Write the interpreter wrapper; returns (its path, the directory the module profiles go to)."""
    out = os.path.join(workdir, 'module-profiles')
    os.makedirs(out, exist_ok=True)
    bootstrap = os.path.join(workdir, 'bootstrap.py')
    with open(bootstrap, 'w', encoding='utf-8') as handle:
        handle.write(BOOTSTRAP)
    wrapper = os.path.join(workdir, 'python-under-py-spy')
    with open(wrapper, 'w', encoding='utf-8') as handle:
        handle.write(WRAPPER % dict(py_spy=py_spy, rate=rate, out=out, python=sys.executable, bootstrap=bootstrap))
    os.chmod(wrapper, 0o755)
    return wrapper, out


def start_sampler(py_spy, pid, output, rate=100):
    """Sample a running process (the mock) without stopping it; stop it with stop_sampler."""
    return subprocess.Popen([py_spy, 'record', '--nonblocking', '--rate', str(rate), '--format', 'raw', '--output', output, '--pid', str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_sampler(proc):
    proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def parse_raw(path):
    """[(process chain, thread label, [frames root first], count)] of a py-spy raw file.

    The process chain is the list of 'process <pid>:"<command line>"' labels, outermost first (empty when py-spy
    sampled one process).
    """
    samples = []
    with open(path, encoding='utf-8', errors='replace') as handle:
        for line in handle:
            line = line.rstrip('\n')
            stack, _sep, count = line.rpartition(' ')
            if not stack or not count.isdigit():
                continue
            parts = stack.split(';')
            chain = []
            while parts and parts[0].startswith('process '):
                chain.append(parts.pop(0))
            thread = parts.pop(0) if parts and parts[0].startswith('thread ') else ''
            samples.append((chain, thread, parts, int(count)))
    return samples


def thread_id(label):
    match = re.match(r'thread \((\d+)\)', label)
    return int(match.group(1)) if match else 0


def split_frame(frame):
    match = FRAME.match(frame)
    if not match:
        return frame, ''
    return match.group(1), match.group(2)


def activity(frames):
    for frame in reversed(frames):
        function, path = split_frame(frame)
        short = function.rsplit('.', 1)[-1]
        if COLLECTION_FILE.search(path):
            # a collection frame at the leaf: its own Python code, or blocked in a C call (time.sleep)
            return 'sleep (poll interval)' if function in SLEEPERS else 'collection code (CPU)'
        for label, test in ACTIVITIES:
            if test(short, path):
                return label
    return 'other CPU'


def phase(frames):
    """The module's own step a main-thread sample is in: the first collection frames below the module's main()."""
    functions = [split_frame(f) for f in frames]
    collection = [(fn, path) for fn, path in functions if COLLECTION_FILE.search(path)]
    if not collection:
        if any(fn.endswith('_find_and_load') for fn, dummy in functions):
            return 'start-up imports'
        return 'AnsiballZ start-up and exit'
    names = [fn for fn, dummy in collection]
    if any(fn.endswith('AnsibleModule.__init__') or fn == 'AnsibleModule.__init__' for fn, dummy in functions) and names[-1] == 'main':
        return 'AnsibleModule() argument parsing'
    if names[0] == '<module>' and len(names) == 1:
        return 'module imports'
    wrappers = ('<module>', 'main', 'run')
    steps = [n for n in names if n.split('.')[-1] not in wrappers]
    if not steps:
        return 'main()'
    # e.g. Provisioner.run > Provisioner.read ; converge > run_items
    return ' > '.join(steps[:2])


def package_of(path):
    """A short package name for a module file: requests, ansible.module_utils.basic, module_utils._http, ..."""
    if '/ansible_collections/' in path:
        tail = path.split('/ansible_collections/', 1)[1]
        parts = tail.split('/')
        return '.'.join(parts[3:]).rsplit('.py', 1)[0] if len(parts) > 3 else tail
    for marker in ('site-packages/', '.zip/', 'lib/python3.11/'):
        if marker in path:
            parts = path.split(marker, 1)[1].split('/')
            if parts[0] == 'ansible' and len(parts) > 2:
                return '.'.join(parts[:3]).rsplit('.py', 1)[0]
            return parts[0].rsplit('.py', 1)[0]
    return os.path.basename(path).rsplit('.py', 1)[0]


def imported_packages(frames):
    """The packages being imported in a sample (each module body on the stack, outermost first), without the module itself."""
    packages = []
    for frame in frames:
        function, path = split_frame(frame)
        if function != '<module>' or 'AnsiballZ_' in path or 'bootstrap.py' in path or '/modules/' in path:
            continue
        package = package_of(path)
        if package not in packages:
            packages.append(package)
    return packages


def summarize_modules(directory, rate):
    """{module: {processes, wall, phases: {phase: {activity: seconds}}, workers: {activity: seconds}}} of the module profiles."""
    summary = {}
    for path in sorted(glob.glob(os.path.join(directory, 'module-*.txt'))):
        samples = parse_raw(path)
        if not samples:
            continue
        name = None
        for dummy, dummy2, frames, dummy3 in samples:
            for frame in frames:
                match = MODULE_FILE.search(frame)
                if match:
                    name = match.group(1)
                    break
            if name:
                break
        name = name or 'unknown'
        entry = summary.setdefault(name, dict(processes=0, wall=0.0, phases={}, workers={}, imports={}))
        entry['processes'] += 1
        totals = collections.Counter()
        for dummy, thread, frames, count in samples:
            totals[thread_id(thread)] += count
        # the main thread's id is the process id, lower than the ids of the threads it starts later
        main_thread = min(totals)
        entry['wall'] += totals[main_thread] / float(rate)
        for dummy, thread, frames, count in samples:
            seconds = count / float(rate)
            what = activity(frames)
            if thread_id(thread) == main_thread:
                if what == 'import':
                    for package in imported_packages(frames):
                        entry['imports'][package] = entry['imports'].get(package, 0.0) + seconds
                bucket = entry['phases'].setdefault(phase(frames), {})
            else:
                bucket = entry['workers']
            bucket[what] = bucket.get(what, 0.0) + seconds
    return summary


def _top(counter, rate, top):
    return [(key, value / float(rate)) for key, value in counter.most_common(top)]


def summarize_process(path, rate, top=15, select=None):
    """Top functions (inclusive and own CPU seconds) of a py-spy raw file; ``select(chain)`` picks the processes."""
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    for chain, dummy, frames, count in parse_raw(path):
        if select is not None and not select(chain):
            continue
        total += count
        seen = set()
        for frame in frames:
            function, file_path = split_frame(frame)
            key = '%s (%s)' % (function, _short(file_path))
            if key not in seen:
                inclusive[key] += count
                seen.add(key)
        if frames:
            function, file_path = split_frame(frames[-1])
            own['%s (%s)' % (function, _short(file_path))] += count
    return dict(seconds=total / float(rate), inclusive=_top(inclusive, rate, top), own=_top(own, rate, top))


def _command(label):
    return label.split(':', 1)[1] if ':' in label else label


def controller_role(chain):
    """'main' (ansible-playbook), 'worker' (its forked task workers), 'module' or 'other' for a process chain."""
    if not chain:
        return 'main'
    inner = _command(chain[-1])
    if 'ansible-playbook' in inner:
        return 'main' if len(chain) == 1 else 'worker'
    if 'AnsiballZ_' in inner or 'bootstrap.py' in inner:
        return 'module'
    return 'other'


CONTROLLER_BUCKETS = [
    ('AnsiballZ build (module_common)', ('module_common.py',)),
    ('templating (Jinja)', ('template/', 'jinja2/', '_jinja')),
    ('variables (VariableManager, combine_vars)', ('vars/manager.py', 'vars/', 'combine_vars')),
    ('result processing and callbacks', ('strategy/__init__.py', 'callback/', 'executor/task_result.py', 'clean.py')),
    ('serialisation (JSON, pickle, queues)', ('json/', 'pickle', 'queues.py', 'multiprocessing/', '_json/')),
    ('YAML loading', ('yaml/', 'parsing/')),
    ('imports', ('importlib', 'zipimport')),
]


def controller_buckets(path, rate):
    """CPU seconds of ansible-playbook and its workers by kind of work (the innermost recognisable frame decides)."""
    buckets = {}
    for chain, dummy, frames, count in parse_raw(path):
        role = controller_role(chain)
        if role not in ('main', 'worker'):
            continue
        label = 'other'
        for frame in reversed(frames):
            dummy2, file_path = split_frame(frame)
            hit = next((name for name, markers in CONTROLLER_BUCKETS if any(m in file_path for m in markers)), None)
            if hit:
                label = hit
                break
        bucket = buckets.setdefault(role, {})
        bucket[label] = bucket.get(label, 0.0) + count / float(rate)
    return buckets


def _short(path):
    for marker in ('site-packages/', 'lib/python3.11/', 'iotops/provisioning/'):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.basename(path)
