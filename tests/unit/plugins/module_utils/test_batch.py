# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch runner: one result per item, in order, failures isolated, concurrency bounded."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import EarlyRead, ReadAhead, Workers, run_batch, summarize
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError, Redactor
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils import ublox


def test_every_item_gets_a_result_in_input_order_and_failures_do_not_stop_the_rest():
    def worker(item):
        if item % 7 == 0:
            raise ConfigError('item %d is bad' % item)
        if item % 11 == 0:
            raise KeyError('bug')
        return {'changed': item % 2 == 0}

    items = list(range(1, 101))
    results = run_batch(items, worker, concurrency=8)
    assert [r['item'] for r in results] == items
    assert all(r['failed'] for r in results if r['item'] % 7 == 0 or r['item'] % 11 == 0)
    assert results[6]['msg'] == 'item 7 is bad'
    assert results[10]['msg'].startswith('unexpected error: KeyError')
    counts = summarize(results)
    failed = len([i for i in items if i % 7 == 0 or i % 11 == 0])
    assert counts['failed'] == failed and counts['total'] == 100
    assert counts['changed'] + counts['ok'] + counts['failed'] == 100


def test_concurrency_is_bounded():
    active, peak, lock = [0], [0], threading.Lock()

    def worker(_item):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return {}

    run_batch(range(60), worker, concurrency=5)
    assert peak[0] == 5


def test_failure_messages_are_redacted():
    redactor = Redactor()
    redactor.add('s3cr3t-value')

    def worker(_item):
        raise ValueError('has s3cr3t-value')

    results = run_batch(['a'], worker, redact=redactor)
    assert 's3cr3t-value' not in results[0]['msg'] and results[0]['failed']


def test_batch_over_one_session_against_the_mock(mock, creds):
    """50 tag creations from 8 threads over one client: one login, one write each, no item lost."""
    client = HttpClient('ublox', mock.url + '/ublox/v1', auth=UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET),
                        error_parser=ublox.parse_error)
    mock.admin.add_fault(vendor='ublox', path='^/v1/tag/create$', kind='status', status=429, retry_after='0', count=5)
    names = ['batch-tag-%02d' % i for i in range(50)]
    results = run_batch(names, lambda name: {'changed': client.request('POST', '/tag/create', json_body={'TagName': name}).status == 200},
                        concurrency=8)
    assert all(r['changed'] and not r['failed'] for r in results)
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/authenticate'] == 1
    assert endpoints['ublox POST /v1/tag/create'] == 55
    stored = {t['TagName'] for t in mock.admin.state()['ublox']['tags']}
    assert set(names) <= stored


def test_workers_hand_back_each_item_as_it_finishes_while_more_are_submitted():
    """A slow item does not hold up the ones submitted after it; at most ``concurrency`` run at once; the first error
    propagates from ``finished``; leaving the block waits for the items in flight."""
    release = threading.Event()
    active, peak, lock = [0], [0], threading.Lock()

    def work(item):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if item == 'slow':
            release.wait(5)
        with lock:
            active[0] -= 1
        if item == 'bad':
            raise IotopsError('bad item')
        return item.upper()

    with Workers(work, concurrency=2) as workers:
        workers.submit('slow')
        assert 'slow' in workers and len(workers) == 1
        for item in ('a', 'b', 'c'):
            workers.submit(item)
        deadline = time.monotonic() + 5
        handed = []
        while len(handed) < 3 and time.monotonic() < deadline:
            handed += workers.finished()
            time.sleep(0.01)
        assert sorted(handed) == [('a', 'A'), ('b', 'B'), ('c', 'C')]  # while 'slow' still runs
        assert 'slow' in workers and 'a' not in workers and len(workers) == 1
        release.set()
        assert workers.drain() == [('slow', 'SLOW')] and len(workers) == 0
        workers.submit('bad')
        with pytest.raises(IotopsError, match='bad item'):
            workers.drain()
    assert peak[0] == 2


def test_wait_below_returns_as_soon_as_the_backlog_is_small_enough_or_the_time_is_up():
    gates = [threading.Event(), threading.Event(), threading.Event(), threading.Event()]
    with Workers(lambda gate: gate.wait(10), concurrency=2) as workers:
        for gate in gates:
            workers.submit(gate)
        assert workers.backlog() == 4
        started = time.monotonic()
        workers.wait_below(4, 0.3)  # nothing ends: the whole timeout
        assert 0.25 <= time.monotonic() - started < 2 and workers.backlog() == 4
        threading.Timer(0.2, gates[0].set).start()
        started = time.monotonic()
        workers.wait_below(4, 5)  # one ends after 0.2 s: not the 5 s
        assert time.monotonic() - started < 2 and workers.backlog() == 3
        for gate in gates:
            gate.set()
        workers.drain()
        assert workers.backlog() == 0


def test_read_ahead_reads_again_while_the_pool_still_has_what_it_works_during_a_read():
    now = [0.0]
    ahead = ReadAhead(16, clock=lambda: now[0])
    assert ahead.threshold() == 16  # nothing timed yet: read once the pool has less than it works at once

    def read(pages):
        now[0] += 0.1 * pages  # a page is a round trip
        return pages

    def item():
        now[0] += 0.3  # three round trips: history, certificate, finished
        return 'signed'

    assert ahead.read(read, 10) == 10 and ahead.threshold() == 16  # no item timed yet
    assert ahead.timed(item)() == 'signed'
    # a read of 1 s, while 16 workers each work an item in 0.3 s: 54 items go while the read takes
    assert ahead.read_seconds == pytest.approx(1.0) and ahead.item_seconds == pytest.approx(0.3)
    assert ahead.threshold() == 16 + 54
    ahead.read(read, 1)  # a short read: less ahead
    assert ahead.threshold() == 16 + 6


def test_an_early_read_starts_once_few_items_are_left_and_judges_only_those_done_before_it():
    """The read starts in its own thread when the work left falls to start_when_left; its answers cover only the items
    finished before it started (a read before an item's own write may not show it)."""
    started = threading.Event()
    release = threading.Event()

    def read():
        started.set()
        release.wait(5)
        return dict((key, 'READ') for key in 'abcdef')

    early = EarlyRead(read, total=6, start_when_left=2)
    for key in 'abc':
        early.done(key)
    assert not started.is_set()  # 3 left: not yet
    early.done('d')
    assert started.wait(5)       # 2 left: the read runs beside the last two
    early.done('e')
    early.done('f')
    release.set()
    assert early.answers() == dict(a='READ', b='READ', c='READ', d='READ')
    assert early.seconds is not None and early.seconds >= 0


def test_an_early_read_that_fails_or_never_started_answers_none():
    def broken():
        raise IotopsError('GET /v1/claimed-devices: 503')

    failing = EarlyRead(broken, total=1, start_when_left=0)
    failing.done('a')
    assert failing.answers() is None
    never = EarlyRead(lambda: {'a': 'READ'}, total=3, start_when_left=0)
    never.done('a')
    assert never.answers() is None  # two items still in the work: the read did not start
