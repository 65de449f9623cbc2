# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Factory-scale benchmark of the factory_onboarding role against the bundled mock server, in one run.

    .venv/bin/python benchmarks/factory_scale.py [--sizes 100,1000] [--online prepared|waves] [--baseline-devices 5] [--smoke]
                                                 [--profile --py-spy PATH]

Against ONE mock server it starts itself (HTTP on 127.0.0.1), for each N of --sizes:
seeds N factory-fresh devices with all four identities (nRF91s not claimed, u-blox modules not bootstrapped),
tells the mock when they come online (--online; by default as soon as the run has prepared them),
writes the manifest, runs playbooks/onboard.yml (the role) and then the same again (the no-op re-run),
with the mock's call counters, the controller's memory and CPU, and the per-task timings of a bench
callback. Then: the baseline playbook (one ansible.builtin.uri task per API call, looped per device) for a
few devices, the mock's raw capacity for the role's call mix, and the per-task overhead of our modules
next to ansible.builtin.uri. It prints a table and writes docs/performance.md. A measurement, not a test:
--smoke (N = 20, one run of each part, no timing assertions) exits 0 when everything ran, every device
ended onboarded in all four clouds (the mock's state checked exactly) and the no-op re-run wrote nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time

from iotops_mock.client import MockServer

# benchmarks/ is the script's directory, first on the import path
from scale import baseline, capacity, fleet, latency, overhead, profiling, report, runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DOC = os.path.join(ROOT, 'docs', 'performance.md')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'onboard.yml')
MAX_SIZE = 10000


class Bench:
    """One benchmark run: the options, the mock, the results."""

    def __init__(self, options, workdir, mock):
        self.options = options
        self.workdir = workdir
        self.mock = mock
        self.env = fleet.environment(mock, workdir, ROOT)
        self.ca = fleet.make_factory_ca(workdir)
        self.started = time.monotonic()
        self.results = dict(settings=self.settings(), sizes=[], machine=machine())

    def settings(self):
        opts = self.options
        return dict(chunk_size=opts.chunk_size, concurrency=opts.concurrency, simulator=dict(fleet.SIMULATOR), poll_interval=fleet.POLL_INTERVAL,
                    sizes=opts.sizes, baseline_devices=opts.baseline_devices, baseline_repeats=opts.baseline_repeats,
                    overhead_tasks=opts.overhead_tasks, overhead_runs=opts.overhead_runs, capacity_seconds=opts.capacity_seconds,
                    capacity_connections=opts.capacity_connections, smoke=opts.smoke, site_id=fleet.SITE_ID, online=opts.online,
                    wait=fleet.WAIT, ublox_profile=fleet.UBLOX_PROFILE)

    def say(self, text):
        print('[%6.1f s] %s' % (time.monotonic() - self.started, text), flush=True)

    def mock_cpu(self):
        """CPU seconds the mock server process has used so far."""
        with open('/proc/%d/stat' % self.mock.process.pid, 'rb') as handle:
            fields = handle.read().rsplit(b')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))

    @staticmethod
    def machine_busy():
        """CPU seconds the whole machine has been busy (all cores, /proc/stat), to tell how much others used during a run."""
        with open('/proc/stat', encoding='ascii') as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / float(os.sysconf('SC_CLK_TCK'))

    def fleet_for(self, count, tag, cloud=None, online=None):
        fleet.reset(self.mock)
        rows = fleet.seed(self.mock, count, online=online or self.options.online)
        if cloud:
            fleet.slow_cloud(self.mock, **cloud)  # after the seeding, which goes through the vendor routes too
        directory = os.path.join(self.workdir, tag)
        os.makedirs(directory, exist_ok=True)
        manifest = fleet.write_manifest(rows, os.path.join(directory, 'manifest.csv'))
        inventory = fleet.inventory(os.path.join(directory, 'inventory.yml'), manifest, self.ca, os.path.join(directory, 'reports'),
                                    self.options.chunk_size, self.options.concurrency)
        return rows, directory, inventory

    def play(self, args, directory, label, env=None, **kwargs):
        """Run a playbook with counters reset before (in ``env``, default the bench's); returns the runner's result plus counters
        and CPU."""
        self.mock.admin.reset_counters()
        mock_before, busy_before, load, own_before = self.mock_cpu(), self.machine_busy(), os.getloadavg()[0], own_cpu()
        result = runner.run_playbook(args, env or self.env, os.path.join(directory, label + '.log'), os.path.join(directory, label + '-timings.json'),
                                     **kwargs)
        result['mock_cpu'] = self.mock_cpu() - mock_before
        result['bench_cpu'] = own_cpu() - own_before  # this script: the memory poller
        # what other processes of the machine used meanwhile (other sessions' tests make the timings noisy)
        result['other_cpu'] = max(0.0, self.machine_busy() - busy_before - result['cpu'] - result['mock_cpu'] - result['bench_cpu'])
        result['load_before'] = load
        result['counters'] = self.mock.admin.counters()
        return result

    # the role -------------------------------------------------------------------------------------

    def role(self, count):
        rows, directory, inventory = self.fleet_for(count, 'n%d' % count)
        self.say('N=%d: %d factory-fresh devices seeded (4 identities each, online: %s); running the role' % (count, count, self.options.online))
        first = self.play(['-i', inventory, PLAYBOOK], directory, 'first')
        problems = fleet.check_onboarded(self.mock, rows)
        self.say('N=%d: first run %.1f s (%.1f devices/s), %d API calls; running it again' % (
            count, first['wall'], count / first['wall'], first['counters']['total']))
        again = self.play(['-i', inventory, PLAYBOOK], directory, 'noop')
        self.say('N=%d: no-op re-run %.1f s, %d reads, %d writes, %d auth' % (
            count, again['wall'], again['counters']['by_category']['read'], again['counters']['by_category']['write'],
            again['counters']['by_category']['auth']))
        entry = dict(devices=count, first=slim(first), noop=slim(again), problems=problems)
        if count == self.mix_size():
            entry['capacity'] = self.capacity(first['counters'], rows)
        self.results['sizes'].append(entry)

    # a cloud far away -------------------------------------------------------------------------------

    def far_cloud(self, count, latency_ms, rate, told=False):
        """The role against a mock that answers after ``latency_ms`` (jitter +/- half of it) and, with ``rate``, limits each vendor
        account to that many requests/s; the devices come online in the mock's default waves. ``told``: the collection knows the
        budget (IOTOPS_RATE_LIMIT, as docs/rate-budget.md tells a user to set it); otherwise it learns of it from the 429s."""
        seconds = latency_ms / 1000.0
        cloud = dict(latency=seconds, jitter=seconds * self.options.jitter, rate=rate)
        tag = 'far-n%d-%dms%s' % (count, latency_ms, '-%grps%s' % (rate, '-told' if told else '') if rate else '')
        rows, directory, inventory = self.fleet_for(count, tag, cloud=cloud, online=self.options.far_online)
        budget = 'IOTOPS_RATE_LIMIT=%g' % rate if told else 'not told'
        label = '%d ms%s' % (latency_ms, ', %g req/s per account (%s)' % (rate, budget) if rate else '')
        env = dict(self.env, IOTOPS_RATE_LIMIT='%g' % rate) if told else None
        self.say('N=%d at %s: running the role (devices online: %s)' % (count, label, self.options.far_online))
        started = time.time()
        first = self.play(['-i', inventory, PLAYBOOK], directory, 'first', env=env, prefix=latency.CONTROLLER_PRIORITY)
        figures = latency.figures(first, self.mock, started, seconds, self.options.concurrency, rate)
        problems = fleet.check_onboarded(self.mock, rows)
        self.say('N=%d at %s: first run %.1f s, %d calls (%d answered 429), bound %.1f s (%s) = %.0f %% reached; last device '
                 'online at %s s; running it again' % (count, label, first['wall'], figures['calls'], figures['limited'], figures['bound'],
                                                       figures['bound_rule'], 100 * figures['share'], _seconds(figures['last_online'])))
        started = time.time()
        again = self.play(['-i', inventory, PLAYBOOK], directory, 'noop', env=env, prefix=latency.CONTROLLER_PRIORITY)
        noop = latency.figures(again, self.mock, started, seconds, self.options.concurrency, rate)
        self.say('N=%d at %s: no-op re-run %.1f s = %.0f %% of the first run, %d reads, %d writes' % (
            count, label, again['wall'], 100 * again['wall'] / first['wall'], again['counters']['by_category']['read'],
            again['counters']['by_category']['write']))
        self.results.setdefault('far', []).append(dict(devices=count, latency_ms=latency_ms, rate=rate, rate_told=told,
                                                       online=self.options.far_online,
                                                       first=dict(slim(first), **figures), noop=dict(slim(again), **noop),
                                                       problems=problems))

    def mix_size(self):
        return 1000 if 1000 in self.options.sizes else max(self.options.sizes)

    def capacity(self, counters, rows):
        runs = []
        for connections in self.options.capacity_connections:
            result = capacity.measure(self.mock, counters, rows, self.options.chunk_size, self.ca[0], connections=connections,
                                      seconds=self.options.capacity_seconds)
            self.say('raw capacity, %d keep-alive connections: %d requests in %.1f s = %.0f requests/s (%d not 2xx)' % (
                connections, result['requests'], result['seconds'], result['rps'], sum(result['errors'].values())))
            runs.append(result)
        best = max(runs, key=lambda r: r['rps'])
        return dict(runs=runs, rps=best['rps'], connections=best['connections'])

    # the baseline ---------------------------------------------------------------------------------

    def baseline(self):
        runs = []
        for repeat in range(self.options.baseline_repeats):
            count = self.options.baseline_devices
            rows, directory, dummy = self.fleet_for(count, 'baseline-%d' % (repeat + 1))
            playbook, extra = baseline.prepare(os.path.join(directory, 'play'), self.mock, rows, self.ca)
            result = self.play([playbook, '-e', '@' + extra], directory, 'baseline')
            problems = fleet.check_onboarded(self.mock, rows)
            per_device, marginal, setup = baseline.per_device_seconds(result['timings'], count)
            self.say('baseline %d/%d: %d devices in %.1f s; %.2f s per device (looped tasks / N), %.2f s marginal per device' % (
                repeat + 1, self.options.baseline_repeats, count, result['wall'], per_device, marginal))
            runs.append(dict(devices=count, wall=result['wall'], per_device=per_device, marginal=marginal, setup=setup, problems=problems,
                             counters=result['counters'], task_seconds=task_table(result['timings']), mock_cpu=result['mock_cpu'],
                             cpu=result['cpu'], other_cpu=result['other_cpu']))
        self.results['baseline'] = dict(runs=runs, per_device=statistics.median(r['per_device'] for r in runs),
                                        marginal=statistics.median(r['marginal'] for r in runs),
                                        setup=statistics.median(r['setup'] for r in runs))

    # per-task overhead ----------------------------------------------------------------------------

    def overhead(self):
        directory = os.path.join(self.workdir, 'overhead')
        self.say('per-task overhead: %d runs of 4 playbooks (%d tasks each)' % (self.options.overhead_runs, self.options.overhead_tasks))
        self.results['overhead'] = overhead.measure(self.mock, directory, self.env, tasks=self.options.overhead_tasks,
                                                    runs=self.options.overhead_runs,
                                                    progress=self.say if self.options.overhead_runs > 1 else None)

    # profile --------------------------------------------------------------------------------------

    def profile(self):
        py_spy = profiling.find_py_spy(self.options.py_spy)
        if py_spy is None:
            self.say('no py-spy found (--py-spy, IOTOPS_PY_SPY or PATH): profile skipped')
            return
        count = self.options.profile_size
        rows, directory, inventory = self.fleet_for(count, 'profile-n%d' % count)
        profile = dict(devices=count, rate=dict(module=200, controller=100, mock=100))
        for label in ('first', 'noop'):
            wrapper, module_dir = profiling.module_interpreter(os.path.join(directory, 'py-spy-' + label), py_spy,
                                                               rate=profile['rate']['module'])
            controller_out = os.path.join(directory, 'controller-%s.txt' % label)
            mock_out = os.path.join(directory, 'mock-%s.txt' % label)
            prefix = [py_spy, 'record', '--subprocesses', '--nonblocking', '--rate', str(profile['rate']['controller']), '--format', 'raw',
                      '--output', controller_out, '--']
            sampler = profiling.start_sampler(py_spy, self.mock.process.pid, mock_out, rate=profile['rate']['mock'])
            try:
                result = self.play(['-i', inventory, PLAYBOOK, '-e', 'ansible_python_interpreter=' + wrapper], directory, 'profile-' + label,
                                   prefix=prefix)
            finally:
                profiling.stop_sampler(sampler)
            self.say('profiled %s run of N=%d: %.1f s' % (label, count, result['wall']))
            profile[label] = dict(
                wall=result['wall'], tasks=task_table(result['timings']),
                modules=profiling.summarize_modules(module_dir, profile['rate']['module']),
                controller=profiling.controller_buckets(controller_out, profile['rate']['controller']) if os.path.exists(controller_out) else {},
                controller_top={role: profiling.summarize_process(controller_out, profile['rate']['controller'], top=25,
                                                                  select=lambda chain, role=role: profiling.controller_role(chain) == role)
                                for role in ('main', 'worker')} if os.path.exists(controller_out) else {},
                mock=profiling.summarize_process(mock_out, profile['rate']['mock'], top=15) if os.path.exists(mock_out) else {},
                mock_cpu=result['mock_cpu'], cpu=result['cpu'])
        # the per-task overhead playbooks once more, every module under py-spy: where a single-device task's time goes
        playbooks = overhead.prepare(self.mock, os.path.join(self.workdir, 'overhead-profile'), self.options.overhead_tasks)
        wrapper, module_dir = profiling.module_interpreter(os.path.join(directory, 'py-spy-overhead'), py_spy, rate=profile['rate']['module'])
        for name, path in playbooks.items():
            if name != 'empty':
                self.play([path, '-e', 'ansible_python_interpreter=' + wrapper], directory, 'profile-overhead-' + name)
        profile['overhead'] = dict(tasks=self.options.overhead_tasks, modules=profiling.summarize_modules(module_dir, profile['rate']['module']))
        self.say('profiled the per-task overhead playbooks')
        self.results['profile'] = profile


def _seconds(value):
    return '-' if value is None else '%.1f' % value


def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def slim(result):
    """What is kept of a playbook run: the figures, the counters and the per-task timings."""
    keys = ('wall', 'returncode', 'max_rss_mib', 'peak_pss_mib', 'peak_rss_mib', 'peak_processes', 'peak_pss_by_kind_mib', 'recap',
            'changed_tasks', 'failed_tasks', 'mock_cpu', 'cpu', 'other_cpu', 'bench_cpu', 'load_before')
    kept = dict((key, result.get(key)) for key in keys)
    counters = result['counters']
    kept['counters'] = dict(total=counters['total'], by_category=counters['by_category'], by_vendor=counters['by_vendor'],
                            endpoints=counters['endpoints'], statuses=counters['statuses'])
    kept['tasks'] = task_table(result.get('timings'))
    return kept


def task_table(timings):
    """[{name, seconds, items, item_seconds}] per task, in order, from the bench callback's timings."""
    if not timings:
        return []
    table = []
    for task in timings['tasks']:
        items = task['items']
        steps = [b - a for a, b in zip([task['start']] + items, items)] if items else []
        table.append(dict(name=task['name'].split(' : ', 1)[-1], action=task['action'], seconds=task['end'] - task['start'],
                          items=len(items), item_seconds=steps))
    return table


def machine():
    return dict(cores=os.cpu_count(), machine=platform.machine(), system=platform.system(), release=platform.release(),
                python=platform.python_version(), ansible=ansible_version(), date=datetime.date.today().isoformat(),
                processor=processor_name())


def ansible_version():
    try:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel
        return __version__
    except ImportError:
        return 'unknown'


def processor_name():
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def parse_list(text, kind=int):
    try:
        return [kind(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError('expected a comma-separated list, got %r' % text) from None


def options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', type=parse_list, default=[100, 1000], help='batch sizes N (default 100,1000; add 5000 for the memory target)')
    parser.add_argument('--baseline-devices', type=int, default=5, help='devices of the baseline playbook (default 5)')
    parser.add_argument('--baseline-repeats', type=int, default=3, help='baseline runs; the median is used (default 3)')
    parser.add_argument('--online', choices=sorted(fleet.ONLINE), default='prepared',
                        help='when the devices come online: prepared (default; each radio as soon as the run has whitelisted or claimed '
                             'it) or waves (the mock\'s default waves, counted from the same events: half at once, 30 %% after 5 s, '
                             'the rest after 15 s)')
    parser.add_argument('--latency', type=parse_list, default=[],
                        help='also run the role against a cloud far away: each vendor request answered after this many ms (a list, '
                             'e.g. 50,100,150), jitter +/- --jitter of it, seeded; the devices come online as --far-online says')
    parser.add_argument('--latency-sizes', type=parse_list, default=[1000], help='N of the --latency runs (default 1000)')
    parser.add_argument('--jitter', type=float, default=0.5, help='the latency\'s jitter as a share of it (default 0.5: 100 ms is 50-150 ms)')
    parser.add_argument('--rate-limit', type=parse_list, default=[0],
                        help='requests/s each vendor account may send in the --latency runs, 429 with Retry-After beyond; a list, 0 = '
                             'no limit (default 0; the issue\'s target runs 0,50)')
    parser.add_argument('--rate-told', choices=('yes', 'no', 'both'), default='both',
                        help='whether the collection is told the budget of a --rate-limit run (IOTOPS_RATE_LIMIT) or learns of it from '
                             'the 429s; both (the default) runs each')
    parser.add_argument('--far-online', choices=sorted(fleet.ONLINE), default='waves',
                        help='when the devices of the --latency runs come online (default waves)')
    parser.add_argument('--chunk-size', type=int, default=1000, help='factory_onboarding_chunk_size (default 1000)')
    parser.add_argument('--concurrency', type=int, default=16, help='factory_onboarding_concurrency (default 16)')
    parser.add_argument('--overhead-tasks', type=int, default=10, help='tasks per overhead playbook (default 10)')
    parser.add_argument('--overhead-runs', type=int, default=20, help='runs of each overhead playbook (default 20)')
    parser.add_argument('--capacity-seconds', type=float, default=8.0, help='time limit of each capacity load (default 8 s)')
    parser.add_argument('--capacity-connections', type=parse_list, default=[4, 16],
                        help='keep-alive connections of the capacity loads; the best is the raw capacity (default 4,16)')
    parser.add_argument('--profile', action='store_true', help='also profile a run of --profile-size devices with py-spy')
    parser.add_argument('--profile-size', type=int, default=1000, help='N of the profiled run (default 1000)')
    parser.add_argument('--py-spy', help='path of the py-spy executable (default: IOTOPS_PY_SPY or PATH)')
    parser.add_argument('--role-only', action='store_true',
                        help='only the role runs and the capacity load (no baseline, overhead or profile; nothing written to docs/), '
                             'e.g. to compare --chunk-size or --concurrency values')
    parser.add_argument('--smoke', action='store_true',
                        help='N=20, one run of each part, nothing written to docs/; exit 0 when all ran and the re-run wrote nothing')
    parser.add_argument('--doc', default=None, help='where to write the report (default docs/performance.md; not with --smoke)')
    parser.add_argument('--no-doc', action='store_true', help='do not write the report')
    parser.add_argument('--json', help='also write every figure as JSON to this file')
    parser.add_argument('--render', metavar='JSON', help='write the report from the --json file of an earlier run; nothing is run')
    parser.add_argument('--keep', action='store_true', help='keep the working directory (logs, timings, profiles) and print its path')
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.sizes, opts.baseline_devices, opts.baseline_repeats = [20], 1, 1
        opts.overhead_tasks, opts.overhead_runs = 2, 1
        opts.capacity_seconds, opts.capacity_connections = 1.0, [8]
        opts.profile = False
    if opts.sizes == [0] and opts.latency:
        opts.sizes = []  # only the runs against a cloud far away
    if (not opts.sizes and not opts.latency) or any(not 1 <= n <= MAX_SIZE for n in opts.sizes + opts.latency_sizes):
        parser.error('--sizes, --latency-sizes: each N from 1 to %d (--sizes 0 with --latency: no loopback runs)' % MAX_SIZE)
    if any(not 0 < ms <= 5000 for ms in opts.latency) or any(r < 0 for r in opts.rate_limit) or not 0 <= opts.jitter <= 1:
        parser.error('--latency: 1 to 5000 ms; --rate-limit: 0 or more; --jitter: 0 to 1')
    checks = [('--baseline-devices', opts.baseline_devices, 1, 100), ('--baseline-repeats', opts.baseline_repeats, 1, 20),
              ('--chunk-size', opts.chunk_size, 1, MAX_SIZE), ('--concurrency', opts.concurrency, 1, 64),
              ('--overhead-tasks', opts.overhead_tasks, 1, 50), ('--overhead-runs', opts.overhead_runs, 1, 100),
              ('--profile-size', opts.profile_size, 1, MAX_SIZE)]
    for name, value, low, high in checks:
        if not low <= value <= high:
            parser.error('%s must be from %d to %d' % (name, low, high))
    if not 0 < opts.capacity_seconds <= 60 or any(not 1 <= c <= 64 for c in opts.capacity_connections):
        parser.error('keep the capacity load bounded: up to 60 s, 1 to 64 connections')
    return opts


def render(opts):
    """Print and write the report of an earlier run from its --json file."""
    with open(opts.render, encoding='utf-8') as handle:
        results = json.load(handle)
    print(report.text(results))
    if not opts.no_doc:
        text = report.markdown(results)
        with open(opts.doc or DOC, 'w', encoding='utf-8') as handle:
            handle.write(text)
    return 0


def main(argv=None):
    opts = options(argv)
    if opts.render:
        return render(opts)
    workdir = tempfile.mkdtemp(prefix='iotops-bench-')
    failures = []
    try:
        with MockServer(os.path.join(workdir, 'mock'), https=False) as mock:
            bench = Bench(opts, workdir, mock)
            bench.say('mock server %s; chunk size %d, concurrency %d; nRF simulator %s; wait %d s, poll interval %.2f s; online: %s' % (
                mock.url, opts.chunk_size, opts.concurrency, json.dumps(fleet.SIMULATOR), fleet.WAIT, fleet.POLL_INTERVAL, opts.online))
            for count in opts.sizes:
                bench.role(count)
            for count in opts.latency_sizes if opts.latency else ():
                for latency_ms in opts.latency:
                    for rate in opts.rate_limit:
                        for told in ([True, False] if opts.rate_told == 'both' else [opts.rate_told == 'yes']) if rate else [False]:
                            bench.far_cloud(count, latency_ms, rate, told)
            if not opts.role_only:
                bench.baseline()
                bench.overhead()
                if opts.profile:
                    bench.profile()
        results = bench.results
        results['duration'] = time.monotonic() - bench.started
        for entry in results['sizes']:
            if entry['noop']['counters']['by_category']['write']:
                failures.append('N=%d: the no-op re-run sent %d writes' % (entry['devices'], entry['noop']['counters']['by_category']['write']))
            if entry['noop']['changed_tasks']:
                failures.append('N=%d: the no-op re-run reported %d changed tasks' % (entry['devices'], entry['noop']['changed_tasks']))
            failures.extend('N=%d: %s' % (entry['devices'], problem) for problem in entry['problems'])
        for entry in results.get('far', []):
            if entry['noop']['by_category']['write']:
                failures.append('N=%d at %d ms: the no-op re-run sent %d writes' % (entry['devices'], entry['latency_ms'],
                                                                                    entry['noop']['by_category']['write']))
            failures.extend('N=%d at %d ms: %s' % (entry['devices'], entry['latency_ms'], problem) for problem in entry['problems'])
        failures.extend('baseline: %s' % problem for run in (results.get('baseline') or {}).get('runs', []) for problem in run['problems'])
        print()
        print(report.text(results))
        if opts.json:
            with open(opts.json, 'w', encoding='utf-8') as handle:
                json.dump(results, handle, indent=1)
        if not (opts.smoke or opts.no_doc or opts.role_only):
            path, text = opts.doc or DOC, report.markdown(results)
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(text)
            print('written: %s' % (os.path.relpath(path, ROOT) if os.path.abspath(path).startswith(ROOT + os.sep) else path))
    except (runner.PlaybookFailed, capacity.LoadError) as exc:
        failures.append(str(exc))
    finally:
        if opts.keep:
            print('working directory kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for failure in failures:
        print('FAILED: %s' % failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
