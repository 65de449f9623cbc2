# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's figures as a console table and as docs/performance.md (the whole file is generated)."""

from __future__ import annotations

from .latency import CONTROLLER_PRIORITY

TARGET_SPEEDUP = 50.0
TARGET_CAPACITY = 0.5
TARGET_NOOP_READS = 2.0
TARGET_NOOP_SHARE = 0.10
TARGET_MEMORY_MIB = 500.0
TARGET_MEMORY_10K_MIB = 1024.0
TARGET_OVERHEAD = 1.2
# issue 16, against a cloud far away (scale/latency.py)
TARGET_FAR_RATE_SHARE = 0.85
TARGET_FAR_SHARE = 0.90
TARGET_FAR_NOOP_SHARE = 0.20
TARGET_NRF_CALLS = 5.0
NRF_ACCOUNT = 'team-a'  # the bench's nRF Cloud account, usually the busiest
NO_LOOPBACK = 'No runs on loopback in this benchmark (run with `--sizes`).'
# when the devices come online (benchmarks/scale/fleet.py ONLINE), for the page
ONLINE_TEXT = {
    'prepared': 'Each radio is powered on at the line as soon as the run has prepared it (`POST /_mock/online`, `after: 0`): the '
                'u-blox module once it is on the whitelist (it then bootstraps ACTIVATED with the profile\'s features), the nRF91 once '
                'it is claimed; so no run waits for a device longer than its simulated latency.',
    'waves': 'The devices come online in the mock\'s default waves (`POST /_mock/online` `"waves": "default"`: half at once, 30 % after '
             '5 s, the rest after 15 s), each counted from when the run has prepared the device (u-blox: whitelisted, nRF: claimed), '
             'so the first run also waits for devices.',
}


def _per(entry, run, category):
    return entry[run]['counters']['by_category'][category] / float(entry['devices'])


def size_rows(results):
    """One dict of derived figures per N."""
    rows = []
    raw = capacity_rps(results)
    base = results.get('baseline') or {}
    for entry in results['sizes']:
        first, noop = entry['first'], entry['noop']
        devices = entry['devices']
        calls = first['counters']['total']
        row = dict(devices=devices, wall=first['wall'], rate=devices / first['wall'], per_device=first['wall'] / devices,
                   calls=calls / float(devices), reads=_per(entry, 'first', 'read'), writes=_per(entry, 'first', 'write'),
                   auth=_per(entry, 'first', 'auth'), rps=calls / first['wall'], pss=first.get('peak_pss_mib'), rss=first.get('max_rss_mib'),
                   cpu=first.get('cpu'), mock_cpu=first.get('mock_cpu'), other_cpu=first.get('other_cpu'), noop_other_cpu=noop.get('other_cpu'),
                   noop_wall=noop['wall'], noop_share=noop['wall'] / first['wall'], noop_reads=_per(entry, 'noop', 'read'),
                   noop_writes=noop['counters']['by_category']['write'], noop_auth=noop['counters']['by_category']['auth'],
                   kinds=first.get('peak_pss_by_kind_mib') or {}, noop_changed=noop['changed_tasks'], noop_pss=noop.get('peak_pss_mib'),
                   noop_cpu=noop.get('cpu'), noop_mock_cpu=noop.get('mock_cpu'))
        row['capacity_share'] = row['rps'] / raw if raw else None
        row['speedup'] = base['marginal'] / row['per_device'] if base.get('marginal') else None
        row['speedup_plain'] = base['per_device'] / row['per_device'] if base.get('per_device') else None
        rows.append(row)
    return rows


def capacity_rps(results):
    for entry in results['sizes']:
        if entry.get('capacity'):
            return entry['capacity']['rps']
    return None


def _answered(run, account=NRF_ACCOUNT):
    """Requests of a vendor account that were answered (not 429), or None when the account is not in the run's traffic."""
    entry = (run.get('accounts') or {}).get(account)
    return entry['requests'] - entry['limited'] if entry else None


def _per_device_calls(run, vendor='nrfcloud'):
    """{endpoint: calls} of a vendor's endpoints that name one device ({device_id} in the path)."""
    endpoints = run['counters']['endpoints'] if 'counters' in run else {}
    return dict((key, calls) for key, calls in endpoints.items() if key.startswith(vendor) and '{device_id}' in key and calls)


def far_rows(results):
    """One dict of derived figures per run against a cloud far away (results['far'], see scale/latency.py)."""
    return [_far_row(entry) for entry in results.get('far') or []]


def _far_row(entry):
    first, noop, devices = entry['first'], entry['noop'], float(entry['devices'])
    nrf, noop_nrf = _answered(first), _answered(noop)
    row = dict(devices=entry['devices'], latency_ms=entry['latency_ms'], jitter=entry.get('jitter', 0.5), rate=entry['rate'],
               told=entry.get('rate_told', False),
               online=entry.get('online', 'n/a'), wall=first['wall'], calls=first['calls'], limited=first['limited'], rps=first['rps'],
               bound=first['bound'], bound_rule=first['bound_rule'], share=first['share'], last_online=first.get('last_online'),
               pss=first.get('peak_pss_mib'), failed=first.get('failed_tasks', 0), problems=entry.get('problems') or [])
    row.update(nrf_answered=nrf, nrf_calls=None if nrf is None else nrf / devices)
    row.update(noop_wall=noop['wall'], noop_share=noop['wall'] / first['wall'], noop_reads=noop['by_category']['read'] / devices,
               noop_writes=noop['by_category']['write'], noop_nrf_answered=noop_nrf, noop_per_device=_per_device_calls(noop),
               noop_nrf_reads=None if noop_nrf is None else noop_nrf / devices)
    return row


def _limit_text(row, short=False):
    """The rate limit of a run and whether the collection was told it (IOTOPS_RATE_LIMIT) or learnt it from the 429s."""
    if not row['rate']:
        return 'none'
    if short:
        return '%g/s %s' % (row['rate'], 'told' if row['told'] else 'untold')
    return '%g req/s per account, %s' % (row['rate'], 'IOTOPS_RATE_LIMIT=%g' % row['rate'] if row['told'] else 'not told (429s only)')


def _latency_text(row):
    """'100 ms (50-150)': the mean latency and its range with the jitter."""
    low, high = row['latency_ms'] * (1 - row['jitter']), row['latency_ms'] * (1 + row['jitter'])
    return '%g ms (%g-%g)' % (row['latency_ms'], low, high) if row['jitter'] else '%g ms' % row['latency_ms']


def far_targets(results):
    """[(target, figure, met: True/False/None)] of issue 16, from the N=1,000 runs at 100 ms."""
    rows = far_rows(results)
    # the budget as a user gives it (IOTOPS_RATE_LIMIT), else the run that learnt it from the 429s
    limited = next((r for r in sorted(rows, key=lambda r: not r['told']) if (r['devices'], r['latency_ms'], r['rate']) == (1000, 100, 50)),
                   None)
    free = next((r for r in rows if (r['devices'], r['latency_ms'], r['rate']) == (1000, 100, 0)), None)
    return [_rate_target(limited), _share_target(free), _far_noop_target(free), _nrf_calls_target(free), _nrf_noop_target(free)]


def _not_run(target, rate):
    return (target, 'not measured (run with --latency 100 --rate-limit %d)' % rate, None)


def _rate_target(row):
    target = 'N=1,000, 100 ms, 50 req/s per account: at least %.0f %% of the rate bound, nothing failed' % (100 * TARGET_FAR_RATE_SHARE)
    if not row:
        return _not_run(target, 50)
    figure = '%.1f %% (bound %.1f s of %.1f s; %s); %d failed tasks, %d problems' % (
        100 * row['share'], row['bound'], row['wall'], _limit_text(row), row['failed'], len(row['problems']))
    return (target, figure, row['share'] >= TARGET_FAR_RATE_SHARE and not row['problems'] and row['failed'] == 0)


def _share_target(row):
    target = 'N=1,000, 100 ms, no limit: at least %.0f %% of the latency bound' % (100 * TARGET_FAR_SHARE)
    if not row:
        return _not_run(target, 0)
    return (target, '%.1f %% (bound %.1f s of %.1f s)' % (100 * row['share'], row['bound'], row['wall']), row['share'] >= TARGET_FAR_SHARE)


def _far_noop_target(row):
    target = 'N=1,000, 100 ms, no limit: no-op re-run at most %.0f %% of the first run' % (100 * TARGET_FAR_NOOP_SHARE)
    if not row:
        return _not_run(target, 0)
    return (target, '%.0f %% (%.1f s of %.1f s)' % (100 * row['noop_share'], row['noop_wall'], row['wall']),
            row['noop_share'] <= TARGET_FAR_NOOP_SHARE)


def _nrf_calls_target(row):
    target = 'N=1,000, 100 ms, no limit: at most %g calls per nRF device' % TARGET_NRF_CALLS
    if not row or row['nrf_calls'] is None:
        return _not_run(target, 0) if not row else (target, 'not measured (no traffic of account %s)' % NRF_ACCOUNT, None)
    return (target, '%.2f (%s answered calls of account %s / %s)' % (
        row['nrf_calls'], '{:,}'.format(row['nrf_answered']), NRF_ACCOUNT, '{:,}'.format(row['devices'])), row['nrf_calls'] <= TARGET_NRF_CALLS)


def _nrf_noop_target(row):
    """Met when the nRF no-op re-run calls no endpoint per device; otherwise the bench cannot tell whether a list would answer them."""
    target = 'N=1,000, 100 ms, no limit: no-op re-run, 0 per-device calls where a list answers'
    if not row or row['noop_nrf_reads'] is None:
        return _not_run(target, 0) if not row else (target, 'not measured (no traffic of account %s)' % NRF_ACCOUNT, None)
    per_device = ', '.join('`%s` %s' % (key, '{:,}'.format(calls)) for key, calls in sorted(row['noop_per_device'].items()))
    figure = '%.2f nRF Cloud reads per device (%s calls of account %s); per-device endpoints: %s' % (
        row['noop_nrf_reads'], '{:,}'.format(row['noop_nrf_answered']), NRF_ACCOUNT, per_device or 'none')
    if per_device:
        figure += ' (whether a list could answer them is not measured)'
    return (target, figure, True if not row['noop_per_device'] else None)


def _fmt(value, pattern='%.1f', none='n/a'):
    return none if value is None else pattern % value


def _table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for dummy in header) + '|']
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return lines


def targets(results):
    """[(target, figure, met: True/False/None)] for the issue's targets."""
    rows = size_rows(results)
    out = []
    ref = next((r for r in rows if r['devices'] == 1000), rows[-1] if rows else None)
    if ref:
        label = 'N=%d' % ref['devices']
        out.append(('%s at least %dx faster per device than the baseline' % (label, TARGET_SPEEDUP),
                    '%sx (baseline marginal %s s per device, role %.3f s per device)' % (
                        _fmt(ref['speedup']), _fmt((results.get('baseline') or {}).get('marginal'), '%.2f'), ref['per_device']),
                    None if ref['speedup'] is None else ref['speedup'] >= TARGET_SPEEDUP))
        out.append(('%s at 50%% or more of the mock\'s raw capacity' % label,
                    '%s (%.0f of %s requests/s)' % (
                        _fmt(ref['capacity_share'] and 100 * ref['capacity_share'], '%.1f%%'), ref['rps'], _fmt(capacity_rps(results), '%.0f')),
                    None if ref['capacity_share'] is None else ref['capacity_share'] >= TARGET_CAPACITY))
        out.append(('%s no-op re-run: 0 writes' % label, '%d writes' % ref['noop_writes'], ref['noop_writes'] == 0))
        out.append(('%s no-op re-run: at most %d reads per device' % (label, TARGET_NOOP_READS), '%.2f reads per device' % ref['noop_reads'],
                    ref['noop_reads'] <= TARGET_NOOP_READS))
        out.append(('%s no-op re-run under 10%% of the first run\'s wall time' % label,
                    '%.0f%% (%.1f s of %.1f s)' % (100 * ref['noop_share'], ref['noop_wall'], ref['wall']), ref['noop_share'] < TARGET_NOOP_SHARE))
    out.append(_memory_target(rows, 5000, TARGET_MEMORY_MIB, '%d MiB' % TARGET_MEMORY_MIB))
    out.append(_memory_target(rows, 10000, TARGET_MEMORY_10K_MIB, '1 GiB'))
    over = (results.get('overhead') or {}).get('playbooks') or {}
    for name in ('nrfcloud_device_info', 'naocloud_trackable'):
        if name in over and over[name]['ratio_to_uri'] is not None:
            out.append(('per-task overhead of %s at most %.1fx ansible.builtin.uri' % (name, TARGET_OVERHEAD),
                        '%.2fx (%.3f s vs %.3f s per task)' % (over[name]['ratio_to_uri'], over[name]['per_task'], over['uri']['per_task']),
                        over[name]['ratio_to_uri'] <= TARGET_OVERHEAD))
    return out


def _memory_target(rows, devices, limit_mib, limit_text):
    """(target, figure, met) of the controller's peak memory at N=devices; not measured when that N was not run."""
    target = 'controller memory under %s for %s devices' % (limit_text, '{:,}'.format(devices))
    big = next((r for r in rows if r['devices'] == devices), None)
    if big:
        return (target, '%.0f MiB peak (Pss of the process tree; largest process %.0f MiB)' % (big['pss'], big['rss']),
                big['pss'] < limit_mib)
    largest = rows[-1] if rows else None
    return (target, 'not measured (run with --sizes ...,%d)%s' % (
        devices, '; N=%d: %.0f MiB' % (largest['devices'], largest['pss']) if largest else ''), None)


def _mark(met, none='n/a'):
    return {True: 'met', False: 'NOT met', None: none}[met]


def top_tasks(run, count=8):
    """The slowest tasks of a run: [(name, seconds, loop items)]."""
    tasks = sorted(run.get('tasks') or [], key=lambda t: -t['seconds'])
    return [(t['name'], t['seconds'], t['items']) for t in tasks[:count]]


def text(results):
    """The console summary."""
    lines = []
    settings, machine = results['settings'], results['machine']
    lines.append('factory_onboarding at scale - %s, %s cores (%s), Python %s, ansible-core %s' % (
        machine['date'], machine['cores'], machine['processor'], machine['python'], machine['ansible']))
    lines.append('chunk size %d, concurrency %d, nRF simulator connect %.2f s / command %.2f s / bulk %.2f s, wait %s s, poll interval '
                 '%.2f s, devices online: %s' % (
                     settings['chunk_size'], settings['concurrency'], settings['simulator']['connect_delay'], settings['simulator']['command_delay'],
                     settings['simulator']['bulk_delay'], settings.get('wait', 'n/a'), settings['poll_interval'], settings.get('online', 'prepared')))
    lines.append('')
    lines += _text_sizes(results) if results['sizes'] else ['no loopback runs (--sizes)']
    if results.get('far'):
        lines.append('')
        lines += _text_far(results)
    base = results.get('baseline')
    if base:
        lines.append('')
        lines.append('baseline (uri per call, looped per device): %.2f s per device (looped tasks / N), %.2f s marginal, %.1f s set-up, '
                     'median of %d runs of %d devices' % (base['per_device'], base['marginal'], base['setup'], len(base['runs']),
                                                          base['runs'][0]['devices']))
    over = results.get('overhead')
    if over:
        lines.append('')
        lines.append('per-task overhead (%d tasks, %d runs, medians):' % (over['tasks'], over['runs']))
        for name, figure in over['playbooks'].items():
            lines.append('  %-22s playbook %.2f s  per task %.3f s  ratio to uri %s  task in playbook %.3f s' % (
                name, figure['wall_median'], figure['per_task'], _fmt(figure['ratio_to_uri'], '%.2f'), figure['task_median']))
    lines.append('')
    lines.append('targets:')
    for target, figure, met in targets(results):
        lines.append('  [%s] %s: %s' % (_mark(met), target, figure))
    if results.get('far'):
        lines.append('')
        lines.append('targets of issue 16 (against a cloud far away):')
        for target, figure, met in far_targets(results):
            lines.append('  [%s] %s: %s' % (_mark(met, 'not measured'), target, figure))
    if results['sizes']:
        entry = results['sizes'][-1]
        for run in ('first', 'noop'):
            lines.append('')
            lines.append('slowest tasks, N=%d %s run:' % (entry['devices'], run))
            for name, seconds, items in top_tasks(entry[run]):
                lines.append('  %6.2f s  %s%s' % (seconds, name, ' (%d chunks)' % items if items else ''))
    return '\n'.join(lines)


def _text_sizes(results):
    lines = ['%7s %8s %9s %14s %9s %9s %9s %10s %10s' % (
        'N', 'wall s', 'devices/s', 'calls/dev r/w/a', 'req/s', 'raw cap.', 'x baseline', 'peak MiB', 'no-op s')]
    for row in size_rows(results):
        lines.append('%7d %8.1f %9.1f %14s %9.0f %9s %9s %10s %10s' % (
            row['devices'], row['wall'], row['rate'], '%.1f/%.1f/%.2f' % (row['reads'], row['writes'], row['auth']), row['rps'],
            _fmt(row['capacity_share'] and 100 * row['capacity_share'], '%.1f%%'), _fmt(row['speedup'], '%.0fx'), _fmt(row['pss'], '%.0f'),
            '%.1f (%.0f%%)' % (row['noop_wall'], 100 * row['noop_share'])))
        lines.append('%7s no-op: %.2f reads/device, %d writes, %d auth calls, %d changed tasks' % (
            '', row['noop_reads'], row['noop_writes'], row['noop_auth'], row['noop_changed']))
    return lines


def _text_far(results):
    lines = ['against a cloud far away (first run; no-op re-run):',
             '%7s %15s %12s %7s %7s %6s %7s %5s %6s %7s %7s %9s %11s %11s %5s' % (
                 'N', 'latency', 'limit/acct', 'online', 'wall s', 'calls', 'nRF/dev', '429s', 'req/s', 'bound s', 'reached',
                 'online at', 'no-op s', 'no-op r/w', 'MiB')]
    for row in far_rows(results):
        lines.append('%7d %15s %12s %7s %7.1f %6d %7s %5d %6.0f %7.1f %6.1f%% %9s %11s %11s %5s' % (
            row['devices'], _latency_text(row), _limit_text(row, short=True), row['online'], row['wall'],
            row['calls'], _fmt(row['nrf_calls'], '%.2f'), row['limited'], row['rps'], row['bound'], 100 * row['share'],
            _fmt(row['last_online'], '%.1f s', '-'), '%.1f (%.0f%%)' % (row['noop_wall'], 100 * row['noop_share']),
            '%.2f/%d' % (row['noop_reads'], row['noop_writes']), _fmt(row['pss'], '%.0f')))
        lines.append('%7s bound: %s%s' % ('', row['bound_rule'], '; problems: %s' % '; '.join(row['problems']) if row['problems'] else ''))
    return lines


def _size_section(results):
    rows = size_rows(results)
    lines = _table(['N', 'wall time', 'devices/s', 'API calls per device (reads / writes / auth)', 'requests/s', 'share of raw capacity',
                    'speed-up vs baseline', 'peak memory (Pss, largest process)', 'CPU: controller / mock / others'],
                   [['{:,}'.format(r['devices']), '%.1f s' % r['wall'], '%.1f' % r['rate'],
                     '%.2f (%.2f / %.2f / %.3f)' % (r['calls'], r['reads'], r['writes'], r['auth']), '%.0f' % r['rps'],
                     _fmt(r['capacity_share'] and 100 * r['capacity_share'], '%.1f %%'), _fmt(r['speedup'], '%.0fx'),
                     '%.0f MiB (%.0f MiB)' % (r['pss'], r['rss']), '%.1f / %.1f / %s s' % (r['cpu'], r['mock_cpu'], _fmt(r['other_cpu']))]
                    for r in rows])
    lines.append('')
    kinds = []
    for r in rows:
        shown = ', '.join('%s %.0f MiB' % (kind, r['kinds'][kind]) for kind in ('main', 'worker', 'module') if kind in r['kinds'])
        kinds.append('N=%s: %s' % ('{:,}'.format(r['devices']), shown))
    lines.append('Peak memory by kind of process (first run, Pss, each kind\'s own peak): %s.' % '; '.join(kinds))
    lines.append('"main" is ansible-playbook itself, "worker" its forked task workers, "module" the module processes.')
    lines.append('')
    lines.append('The no-op re-run (the same manifest again):')
    lines.append('')
    lines += _table(['N', 'wall time', 'share of the first run', 'reads per device', 'writes', 'auth calls', 'changed tasks',
                     'peak memory (Pss)', 'CPU: controller / mock / others'],
                    [['{:,}'.format(r['devices']), '%.1f s' % r['noop_wall'], '%.0f %%' % (100 * r['noop_share']), '%.2f' % r['noop_reads'],
                      str(r['noop_writes']), str(r['noop_auth']), str(r['noop_changed']), '%.0f MiB' % r['noop_pss'],
                      '%.1f / %.1f / %s s' % (r['noop_cpu'], r['noop_mock_cpu'], _fmt(r['noop_other_cpu']))] for r in rows])
    return lines


def _far_section(results):
    """The runs against a cloud far away: how they are bound, one row each, and the targets of issue 16."""
    rows = far_rows(results)
    lines = ['The same role and the same factory-fresh batches, but the mock answers every vendor request after a latency drawn around '
             'the mean (plus or minus the jitter, seeded), and with a rate limit it answers an account\'s requests beyond R per second '
             'with 429 and a `Retry-After`. Each run is measured against the bound the cloud sets, whichever applies:', '',
             '- no rate limit: the answered calls x the mean latency / the concurrency (%d), what the calls take when that many are '
             'in flight all the time;' % results['settings']['concurrency'],
             '- a rate limit of R requests/s per vendor account: the answered calls of the busiest account / R, as the vendors\' accounts '
             'are served side by side, each with its own limit. Each such run is made twice: with the budget given to the collection '
             '(`IOTOPS_RATE_LIMIT=R`, as [rate-budget.md](rate-budget.md) tells a user to set it), and not told, when the collection '
             'only learns of the limit from the 429s.', '',
             'The share of the bound is the bound divided by the run\'s wall time (100 %% = as fast as the cloud lets it). Calls count the '
             '429s too; the bound counts only answered calls. Calls per nRF device: the answered requests of the nRF Cloud account '
             '(`%s`, both hosts) / N. The devices also bound the run: it cannot end before the last device came online (the mock\'s '
             'online schedule, seconds from the start of the run). %s' % (
                 NRF_ACCOUNT, ' '.join(ONLINE_TEXT[mode] for mode in sorted(set(r['online'] for r in rows)) if mode in ONLINE_TEXT)), '',
             'The mock stands in for clouds on other machines, but here it shares the cores with the controller. So these playbooks run '
             'at a lower CPU priority (`%s`): when the module start-ups held both cores, the mock used to read no request for up to '
             '110 ms and then the waiting ones at once, and its rate limit counted them in one instant, a 429 the client had not caused. '
             'For the same reason the served mock keeps the garbage collector\'s full passes out of the traffic (`iotops_mock/heap.py`).'
             % ' '.join(CONTROLLER_PRIORITY), '',
             'Rerun: `.venv/bin/python benchmarks/factory_scale.py --sizes 0 --latency 100 --rate-limit 0,50` (`--latency-sizes`, '
             '`--jitter`, `--far-online` to vary it).', '']
    lines += _table(['N', 'latency (range)', 'rate limit', 'devices online', 'first run', 'API calls', 'calls per nRF device',
                     '429s answered', 'requests/s', 'bound', 'share of the bound', 'last device online', 'no-op re-run',
                     'no-op reads per device / writes', 'peak memory (Pss)'],
                    [_far_cells(r) for r in rows])
    problems = ['N=%s at %s: %s' % ('{:,}'.format(r['devices']), _latency_text(r), p) for r in rows for p in r['problems']]
    if problems:
        lines += ['', 'Problems after the first run: %s.' % '; '.join(problems)]
    return lines


def _far_cells(row):
    return ['{:,}'.format(row['devices']), _latency_text(row), _limit_text(row),
            row['online'], '%.1f s' % row['wall'], '{:,}'.format(row['calls']), _fmt(row['nrf_calls'], '%.2f'), '{:,}'.format(row['limited']),
            '%.0f' % row['rps'], '%.1f s (%s)' % (row['bound'], row['bound_rule']), '%.1f %%' % (100 * row['share']),
            _fmt(row['last_online'], '%.1f s', '-'), '%.1f s (%.0f %%)' % (row['noop_wall'], 100 * row['noop_share']),
            '%.2f / %d' % (row['noop_reads'], row['noop_writes']), _fmt(row['pss'], '%.0f MiB')]


def _endpoint_section(results):
    if not results['sizes']:
        return []
    entry = next((e for e in results['sizes'] if e.get('capacity')), results['sizes'][-1])
    lines = ['API calls of the role at N=%d, per endpoint (first run / no-op re-run):' % entry['devices'], '']
    first, noop = entry['first']['counters']['endpoints'], entry['noop']['counters']['endpoints']
    keys = sorted(set(first) | set(noop), key=lambda k: (-first.get(k, 0), k))
    lines += _table(['endpoint', 'first run', 'per device', 'no-op re-run'],
                    [['`%s`' % k, str(first.get(k, 0)), '%.2f' % (first.get(k, 0) / float(entry['devices'])), str(noop.get(k, 0))] for k in keys])
    return lines


def _task_section(results):
    sizes = results['sizes']
    if not sizes:
        return [NO_LOOPBACK]
    lines = ['Time per task of the role (bench callback), first run / no-op re-run, for each N:', '']
    header = ['task'] + ['N=%s' % '{:,}'.format(e['devices']) for e in sizes]
    rows = []
    for key, task in _keyed(sizes[-1]['first']['tasks']).items():
        row = [task['name']]
        for entry in sizes:
            one, two = _keyed(entry['first']['tasks']).get(key), _keyed(entry['noop']['tasks']).get(key)
            row.append('%s / %s' % (_fmt(one and one['seconds'], '%.2f'), _fmt(two and two['seconds'], '%.2f')))
        rows.append(row)
    lines += _table(header, rows)
    lines.append('')
    for entry in sizes:
        lines.append('N=%s: the tasks add up to %.1f s of the first run\'s %.1f s and %.1f s of the re-run\'s %.1f s; the rest is '
                     'ansible-playbook start-up and the gaps between tasks.' % (
                         '{:,}'.format(entry['devices']), sum(t['seconds'] for t in entry['first']['tasks']), entry['first']['wall'],
                         sum(t['seconds'] for t in entry['noop']['tasks']), entry['noop']['wall']))
    largest = sizes[-1]
    looped = [t for t in largest['first']['tasks'] if t['items'] > 1]
    if looped:
        lines.append('')
        lines.append('Chunk by chunk at N=%s (seconds per loop item of the first run): %s.' % (
            '{:,}'.format(largest['devices']),
            '; '.join('%s: %s' % (t['name'], ', '.join('%.1f' % x for x in t['item_seconds'])) for t in looped)))
    return lines


def _keyed(tasks):
    """{(name, occurrence): task} in order: a run may skip a task that another ran (the no-op re-run has no u-blox devices
    left to follow), so tasks are matched by name, not by position."""
    keyed, seen = {}, {}
    for task in tasks:
        seen[task['name']] = seen.get(task['name'], 0) + 1
        keyed[task['name'], seen[task['name']]] = task
    return keyed


def _baseline_section(results):
    base = results.get('baseline')
    if not base:
        return ['Not measured.']
    run = base['runs'][0]
    lines = ['Median of %d runs of %d devices: **%.2f s per device** as the time of the looped tasks divided by N, **%.2f s** as the marginal '
             'cost of one more device (median time between two loop items, summed over the looped tasks; used for the speed-up, as it '
             'favours the baseline), plus %.1f s of once-per-play set-up (u-blox login, tag creation, the device profile\'s bootstrap '
             'provisioning). At that marginal cost 1,000 devices take about %.0f minutes. API calls per device: %.1f (%d reads, %d writes, '
             '%d auth calls for %d devices). Other processes of the machine used %s s of CPU during the first baseline run.' % (
                 len(base['runs']), run['devices'], base['per_device'], base['marginal'], base['setup'], 1000 * base['marginal'] / 60.0,
                 run['counters']['total'] / float(run['devices']), run['counters']['by_category']['read'], run['counters']['by_category']['write'],
                 run['counters']['by_category']['auth'], run['devices'], _fmt(run.get('other_cpu'))), '']
    lines += _table(['baseline task', 'seconds (first run)', 'devices'],
                    [[t['name'], '%.2f' % t['seconds'], str(t['items'] or '')] for t in run['task_seconds']])
    return lines


def _capacity_section(results):
    entry = next((e for e in results['sizes'] if e.get('capacity')), None)
    if not entry:
        return ['Not measured.']
    cap = entry['capacity']
    lines = ['The call mix of the first run at N=%d (%.1f %% of its calls; the endpoints left out cannot be repeated: %s), sent by a '
             'lean keep-alive client (raw HTTP/1.1 on asyncio) on loopback, bounded in requests and time. The best of the loads is the '
             'raw capacity: **%.0f requests/s**.' % (
                 entry['devices'], 100 * cap['runs'][0]['mix_share'],
                 ', '.join('`%s` (%d)' % tuple(kv) for kv in sorted(cap['runs'][0]['left_out'].items())) or 'none', cap['rps']), '']
    lines += _table(['connections', 'requests', 'seconds', 'requests/s', 'not 2xx'],
                    [[str(r['connections']), str(r['requests']), '%.1f' % r['seconds'], '%.0f' % r['rps'], str(sum(r['errors'].values()))]
                     for r in cap['runs']])
    return lines


def _overhead_section(results):
    over = results.get('overhead')
    if not over:
        return ['Not measured.']
    lines = ['%d runs of each playbook, interleaved; %d tasks per playbook; medians. Per task = (playbook - empty playbook) / %d. '
             '"In playbook" is the median duration of one task as the bench callback saw it (worker start to result).' % (
                 over['runs'], over['tasks'], over['tasks']), '']
    lines += _table(['playbook', 'wall time (min - max)', 'per task', 'ratio to uri', 'task in playbook'],
                    [[name, '%.2f s (%.2f - %.2f)' % (f['wall_median'], f['wall_min'], f['wall_max']), '%.3f s' % f['per_task'],
                      _fmt(f['ratio_to_uri'], '%.2f'), '%.3f s' % f['task_median']] for name, f in over['playbooks'].items()])
    return lines


# the collection's actions that run on the controller alone: their tasks start no module process
CONTROLLER_ACTIONS = ('iotops.provisioning.role_inputs', 'iotops.provisioning.async_result')


def is_module_task(task):
    """A task of one of the collection's modules (a module process), not of a controller-only action."""
    return task['action'].startswith('iotops.provisioning.') and task['action'] not in CONTROLLER_ACTIONS


def _limits_section(results):
    """Why the no-op and raw-capacity targets are bound by the cost of a module task, from this run's own figures."""
    entry = next((e for e in results['sizes'] if e['devices'] == 1000), results['sizes'][-1] if results['sizes'] else None)
    if not entry or not entry.get('noop'):
        return []
    devices, first, noop = entry['devices'], entry['first'], entry['noop']
    modules = [t for t in noop.get('tasks') or [] if is_module_task(t)]
    module_seconds = sum(t['seconds'] for t in modules)
    empty = ((results.get('overhead') or {}).get('playbooks') or {}).get('empty', {}).get('wall_median')
    raw = capacity_rps(results)
    lines = ['The no-op re-run of N=%d runs %d module tasks (the manifest, each vendor step, the report). Each '
             'starts a module process and reads and compares the whole batch; together they took %.1f s (%.2f s each on average)%s. Under '
             '10 %% of the first run would be %.1f s.' % (
                 devices, len(modules), module_seconds, module_seconds / max(len(modules), 1),
                 ', and an empty playbook takes %.1f s to start and stop' % empty if empty else '', 0.1 * first['wall'])]
    if raw:
        calls = first['counters']['total']
        first_modules = sum(t['seconds'] for t in first.get('tasks') or [] if is_module_task(t))
        lines += ['', 'At 50 %% of the raw capacity (%.0f requests/s), the first run\'s %d calls would take %.1f s; its module tasks took '
                  '%.1f s, of which the fixed part of each task (module start-up, arguments and results through Ansible) is roughly the '
                  'no-op figures above.' % (raw, calls, calls / (0.5 * raw), first_modules)]
    return lines


def _top_items(seconds, count):
    """'name 1.23, name 0.45' of the largest values of {name: seconds}."""
    return ', '.join('%s %.2f' % (name, value) for name, value in sorted(seconds.items(), key=lambda kv: -kv[1])[:count])


def _profile_section(results):
    profile = results.get('profile')
    if not profile:
        return ['Not profiled in this run (run with `--profile --py-spy <path>`).']
    lines = []
    for run in ('first', 'noop'):
        data = profile.get(run)
        if not data:
            continue
        lines.append('### %s, N=%d (profiled run: %.1f s)' % ('First run' if run == 'first' else 'No-op re-run', profile['devices'], data['wall']))
        lines.append('')
        lines.append('Module processes (py-spy on each, wall time of the main thread by step; "workers" are the batch threads, summed):')
        lines.append('')
        rows = []
        for name, module in sorted(data['modules'].items(), key=lambda kv: -kv[1]['wall']):
            phases = sorted(module['phases'].items(), key=lambda kv: -sum(kv[1].values()))[:5]
            text = '; '.join('%s %.2f s (%s)' % (phase, sum(acts.values()), _top_items(acts, 2)) for phase, acts in phases)
            workers = _top_items(module['workers'], 3)
            rows.append([name, str(module['processes']), '%.2f s' % module['wall'], text, workers or '-'])
        lines += _table(['module', 'runs', 'wall', 'main thread by step (top 5)', 'worker threads (top 3)'], rows)
        controller = data.get('controller') or {}
        if controller:
            lines.append('')
            lines.append('Controller CPU (py-spy on ansible-playbook and its forked workers), by kind of work:')
            lines.append('')
            kinds = sorted(set(k for bucket in controller.values() for k in bucket))
            lines += _table(['kind of work', 'ansible-playbook', 'task workers'],
                            [[k, '%.2f s' % controller.get('main', {}).get(k, 0.0), '%.2f s' % controller.get('worker', {}).get(k, 0.0)] for k in kinds])
        mock = data.get('mock') or {}
        if mock:
            lines.append('')
            lines.append('Mock server: %.1f s CPU sampled (process CPU %.1f s during the run); its hottest functions (own time): %s.' % (
                mock['seconds'], data['mock_cpu'], ', '.join('`%s` %.2f s' % tuple(kv) for kv in mock['own'][:6])))
        lines.append('')
    return lines


def _overhead_profile_section(results):
    data = ((results.get('profile') or {}).get('overhead') or {})
    if not data:
        return []
    lines = ['### Per-task overhead, module side', '',
             'The overhead playbooks once more with every module process under py-spy: per module run (%d runs of each), the main '
             'thread\'s wall time by step.' % data['tasks'], '']
    rows = []
    for name, module in sorted(data['modules'].items()):
        runs = float(module['processes']) or 1.0
        phases = sorted(module['phases'].items(), key=lambda kv: -sum(kv[1].values()))[:6]
        imports = sorted((module.get('imports') or {}).items(), key=lambda kv: -kv[1])[:6]
        rows.append([name, '%.3f s' % (module['wall'] / runs),
                     '; '.join('%s %.3f s' % (phase, sum(acts.values()) / runs) for phase, acts in phases),
                     ', '.join('%s %.3f s' % (package, seconds / runs) for package, seconds in imports) or '-'])
    lines += _table(['module', 'wall per run', 'by step, per run (top 6)', 'imports, per run (inclusive, top 6)'], rows)
    return lines


def markdown(results):
    """The whole of docs/performance.md."""
    settings, machine = results['settings'], results['machine']
    lines = ['# Performance at factory scale', '',
             'Generated by `benchmarks/factory_scale.py` on %s: %s cores (%s), %s %s, Python %s, ansible-core %s. One run took %.0f minutes.' % (
                 machine['date'], machine['cores'], machine['processor'], machine['system'], machine['machine'], machine['python'],
                 machine['ansible'], results.get('duration', 0) / 60.0), '',
             '## How to rerun it', '',
             '```',
             'bash hacking/venv.sh                           # makes .venv',
             '.venv/bin/python benchmarks/factory_scale.py   # N = 100 and 1,000, baseline, capacity, overhead; writes this file',
             '.venv/bin/python benchmarks/factory_scale.py --sizes 100,1000,5000   # with the memory target',
             '.venv/bin/python benchmarks/factory_scale.py --profile --py-spy <path of py-spy>   # plus where the time goes',
             '.venv/bin/python benchmarks/factory_scale.py --online waves --role-only   # devices online in waves: the role also waits',
             '.venv/bin/python benchmarks/factory_scale.py --smoke   # N = 20, one run of each part, no timing assertions, writes nothing',
             '```', '',
             'Options: `--chunk-size`, `--concurrency` (the role variables under test; `--role-only` to compare them quickly), `--online` '
             '(`prepared`, the default, or `waves`: when the devices come online), '
             '`--baseline-devices`, `--baseline-repeats`, '
             '`--overhead-runs`, `--overhead-tasks`, `--capacity-seconds`, `--capacity-connections`, `--json` (every figure), `--keep` '
             '(logs, timings and profiles). py-spy is not a dependency: install it into any virtualenv (`pip install py-spy`).', '',
             '## What is measured', '',
             '- One mock server (`mock_cloud`, the `iotops_mock` package, HTTP on 127.0.0.1), started by the script; the mock is reset and seeded before each '
             'run with a factory-fresh batch: every device has all four identities, an nRF91 attestation token (not claimed), a u-blox '
             'ROTPublicUID and IMEI (a module made at the factory and sealed with the line\'s device profile `%s`, whose Root CA signs its '
             'certificate; it has not bootstrapped, so u-blox does not know it yet), an iotcomms.io SIP device id and a NAO Cloud BLE tag '
             'MAC (neither created). %s Until the issue "Real factory batches" the u-blox modules were seeded as already bootstrapped and '
             'tagged and provisioned device by device; the figures of earlier versions of this page are of that flow.' % (
                 settings.get('ublox_profile', 'n/a'), ONLINE_TEXT.get(settings.get('online', 'prepared'), '')),
             '- The role as `playbooks/onboard.yml` runs it, credentials from the environment as AWX injects them, with '
             '`factory_onboarding_chunk_size: %d`, `factory_onboarding_concurrency: %d`, `factory_onboarding_wait: %s`, '
             '`factory_onboarding_wait_interval: %s`, `factory_onboarding_ublox_device_profile`, u-blox features `local_dpr: true`, NAO '
             'Cloud site %s. It checks the variables and the whole manifest, then starts in the background, one module run each for the whole '
             'batch (a batch of one chunk), `nrfcloud_provisioning` (claim, CSR, sign each CSR as its device returns it, certificates, '
             'finished, PROVISIONED, onboarding to device management with `onboard`: it follows its devices as they connect), '
             '`ublox_device` (whitelist, the device profile\'s bootstrap provisioning for the modules still to bootstrap, the tag for '
             'those that have and for the others as they bootstrap), `naocloud_trackable` and `iotcomms_device`; then it collects the '
             'background steps, nRF Cloud first, and writes the report. The nRF '
             'simulator runs with small delays (`/_mock/nrfcloud/simulator`: connect_delay %s s, command_delay %s s, bulk_delay %s s), so '
             'the benchmark measures software, not made-up device latency.' % (
                 settings['chunk_size'], settings['concurrency'], settings.get('wait', 'n/a'), settings['poll_interval'], settings['site_id'],
                 settings['simulator']['connect_delay'], settings['simulator']['command_delay'], settings['simulator']['bulk_delay']),
             '- Wall time: from starting `ansible-playbook` to its exit. API calls: the mock\'s counters (`/_mock/counters`), reset before '
             'each run; auth = login calls (u-blox `/authenticate`). Requests/s: the run\'s calls divided by its wall time.',
             '- Peak memory: `/proc` is polled every 50 ms while the playbook runs and the Pss (`/proc/<pid>/smaps_rollup`) of '
             'ansible-playbook and all its descendants (forked workers, module processes) is summed; the table shows the peak of that sum, '
             'and in brackets the largest resident set of a single process (`ru_maxrss` from `os.wait4`). CPU: user + system time of '
             'the ansible-playbook process tree (`os.wait4`) and of the mock process (`/proc/<pid>/stat`).',
             '- The baseline: a playbook the script writes, one `ansible.builtin.uri` task per API call, each task looped over the '
             'devices, in the role\'s order and along the same vendor path for devices that are not online yet: u-blox login, tag creation '
             'and the device profile\'s bootstrap provisioning (LocalDPR) once for the play, then per device the u-blox whitelist (before '
             'the module bootstraps); iotcomms.io PUT with an RS256 JWT minted once before the play; NAO Cloud POST with the API key; nRF '
             'Cloud claim, CSR command, poll the command until SUCCEEDED, sign the CSR (one `ansible.builtin.command` task per device '
             'running a small Python `cryptography` script: the signing the module does in process), clientCertificate command, finished '
             'command, poll the device until PROVISIONED, onboard it to device management (a one-row CSV) and poll the bulk operation; '
             'then poll the u-blox device until it has bootstrapped (u-blox refuses to tag a device it does not know) and assign the tag. '
             'Polls wait the same interval as the role. It writes without reading first, so it sends fewer calls per device than the '
             'role, which reads to stay idempotent. It runs against the same factory-fresh devices, timed the same way.',
             '- The mock\'s raw capacity: the role\'s call mix (each endpoint in the proportion of the first run\'s counters) sent again by '
             'a lean keep-alive client; see below. The share of raw capacity = the run\'s requests/s divided by it.',
             '- Per-task overhead: playbooks of identical single-device tasks, timed whole, against an empty playbook.',
             '- The machine may be shared: "others" in the CPU columns is what the rest of the machine used during the run (all cores, '
             'from `/proc/stat`, minus the playbook and the mock); a large figure means the timings of that run are inflated.', '',
             '## Results', '']
    lines += _size_section(results) if results['sizes'] else [NO_LOOPBACK]
    lines += ['', '## Targets of issue 7', '']
    lines += _table(['target', 'now', 'status'], [[t, f, _mark(m)] for t, f, m in targets(results)])
    limits = _limits_section(results)
    if limits:
        lines += ['', '### What bounds the no-op re-run and the share of capacity', ''] + limits
    if results.get('far'):
        lines += ['', '## Against a cloud far away (latency and rate limits)', '']
        lines += _far_section(results)
        lines += ['', '## Targets of issue 16', '']
        lines += _table(['target', 'now', 'status'], [[t, f, _mark(m, 'not measured')] for t, f, m in far_targets(results)])
    lines += ['', '## The baseline', '']
    lines += _baseline_section(results)
    lines += ['', '## Raw capacity of the mock', '']
    lines += _capacity_section(results)
    lines += ['', '## Per-task overhead', '']
    lines += _overhead_section(results)
    lines += ['', '## Where the time goes', '']
    lines += _task_section(results)
    endpoints = _endpoint_section(results)
    if endpoints:
        lines += [''] + endpoints
    lines += ['', '## Profile', '']
    lines += _profile_section(results)
    lines += _overhead_profile_section(results)
    return '\n'.join(lines).rstrip() + '\n'
