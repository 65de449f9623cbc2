# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of a run against a cloud far away: the mock answers every vendor request after a latency drawn around
``latency`` (``fleet.slow_cloud``), and may limit each vendor account's requests per second.

Two bounds, whichever applies:
- no rate limit: the run's calls x the mean latency / the concurrency, the time the calls take when ``concurrency`` of them
  are in flight all the time;
- a rate limit of R requests/s per vendor account: the busiest account's calls / R, the vendors working side by side.
The share of the bound is the bound / the run's wall time (1.0 = the run went as fast as the cloud lets it).

What the run waited on the devices: from the mock's online schedule, when the last device came online, counted from the
start of the run; a run cannot end before that, whatever the API.

The playbook runs at a lower CPU priority than the mock (``CONTROLLER_PRIORITY``): the mock stands in for clouds on other
machines, but here it shares the cores with the controller. When the controller's module start-ups held both cores, the mock
read no request for up to 110 ms, then the waiting ones at once, and its rate limit counted them in the same instant: a 429
the client had not caused (the client paced at 97 % of the budget; 51 arrivals in the 1 s before the 429).
"""

from __future__ import annotations

import time

# a prefix of the ansible-playbook command: its whole process tree yields the cores to the mock when both want them
CONTROLLER_PRIORITY = ('nice', '-n', '10')


def accounts(mock):
    """{account: {'requests', 'limited', 'vendors'}} of the traffic since the counters were reset; an account's requests on
    both nRF Cloud hosts (one API key) count together, as the cloud's rate limit counts them."""
    view = mock.admin.call('GET', '/traffic?window=1')
    table = {}
    for row in view['accounts']:
        entry = table.setdefault(row['account'], dict(requests=0, limited=0, vendors=[], per_second={}))
        entry['requests'] += row['requests']
        entry['limited'] += row['limited']
        entry['vendors'].append(row['vendor'])
        for bucket in row.get('per_second') or []:
            entry['per_second'][bucket['second']] = entry['per_second'].get(bucket['second'], 0) + bucket['requests']
    for entry in table.values():
        # requests per second of the account from its first request on: where the run kept the account busy and where not
        seconds = entry.pop('per_second')
        first = min(seconds) if seconds else 0
        entry['timeline'] = [seconds.get(second, 0) for second in range(first, max(seconds) + 1)] if seconds else []
    return table


def last_online(mock, started):
    """Seconds from ``started`` (wall clock) to when the last device of the schedule came online (None: none scheduled)."""
    view = mock.admin.online_schedule()
    times = [row['onlineAt'] for row in view['devices'] if row.get('onlineAt') is not None]
    if not times:
        return None
    # the schedule is on the mock's clock; its offset to this machine's clock is taken now
    offset = time.time() - view['now']
    return max(times) + offset - started


def figures(result, mock, started, latency, concurrency, rate):
    """The latency figures of one playbook run (``result`` of Bench.play, taken right after it)."""
    counters = result['counters']
    table = accounts(mock)
    # the log-ins without credentials (account '-') are not any vendor account's
    busiest_name, busiest = max(((name, entry) for name, entry in table.items() if name != '-'),
                                key=lambda pair: pair[1]['requests'] - pair[1]['limited'], default=(None, None))
    calls = counters['total']
    limited = sum(entry['limited'] for entry in table.values())
    answered = calls - limited
    if rate:
        bound = (busiest['requests'] - busiest['limited']) / float(rate) if busiest else 0.0
        bound_rule = 'busiest account %d calls / %g req/s' % (busiest['requests'] - busiest['limited'], rate) if busiest else ''
    else:
        bound = answered * latency / float(concurrency)
        bound_rule = '%d calls x %g s / %d' % (answered, latency, concurrency)
    online = last_online(mock, started)
    return dict(latency=latency, rate=rate, concurrency=concurrency, wall=result['wall'], calls=calls, answered=answered, limited=limited,
                bound=bound, bound_rule=bound_rule, share=bound / result['wall'] if result['wall'] else 0.0,
                rps=calls / result['wall'] if result['wall'] else 0.0, last_online=online,
                busiest=dict(account=busiest_name, **busiest) if busiest else None,
                accounts=dict((name, entry) for name, entry in table.items()),
                peak_pss_mib=result.get('peak_pss_mib'), by_vendor=counters['by_vendor'], by_category=counters['by_category'])
