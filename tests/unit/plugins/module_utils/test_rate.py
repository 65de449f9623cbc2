# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rate budget: evenly spaced slots, AIMD on 429, the shared Retry-After pause, and how HttpClient uses it. A fake clock
throughout: nothing here waits or reads the wall clock."""

from __future__ import annotations

import random
import threading

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils._module import validate_connection
from ansible_collections.iotops.provisioning.plugins.module_utils._rate import LEARN_EVIDENCE, LEARN_PROBE, RATE_HEADROOM, RateLimiter
from ansible_collections.iotops.provisioning.plugins.module_utils import nrfcloud
from ansible_collections.iotops.provisioning.plugins.modules import naocloud_trackable

ACCOUNT = 'nrfcloud GET /v1/account'


class FakeTime:
    """A clock that moves only when someone sleeps on it; ``slept`` keeps every wait asked for, ``late`` is added to every
    sleep (a thread that wakes late), and ``on_sleep`` runs once after the next sleep (what another thread does meanwhile).
    Thread-safe: concurrent sleepers each move the one clock on."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []
        self.late = 0.0
        self.on_sleep = None
        self._lock = threading.Lock()

    def clock(self):
        return self.now

    def sleep(self, seconds):
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds + self.late
            action, self.on_sleep = self.on_sleep, None
        if action is not None:
            action()


class Recording(RateLimiter):
    """A limiter that keeps when each request started."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = []

    def _started(self, now):
        super()._started(now)
        self.started.append(now)


def limiter(budget, fake, **kwargs):
    return RateLimiter(budget, clock=fake.clock, sleep=fake.sleep, **kwargs)


def starts(rate, fake, count, gaps=None):
    """When each of ``count`` acquires returns (``gaps[i]``: idle seconds before the i-th)."""
    times = []
    for index in range(count):
        fake.now += gaps[index] if gaps else 0
        rate.acquire()
        times.append(fake.now)
    return times


def busiest_second(times):
    """The most requests in any half-open 1 s window (end - 1, end] (with a nanosecond of slack for float sums)."""
    return max(sum(1 for t in times if end - 1 + 1e-9 < t <= end + 1e-9) for end in times)


def test_slots_are_evenly_spaced_at_the_budget():
    fake = FakeTime()
    times = starts(limiter(20, fake), fake, 100)
    assert times[0] == 1000.0                          # the first request does not wait
    gaps = {round(b - a, 9) for a, b in zip(times, times[1:])}
    assert gaps == {0.05}
    assert busiest_second(times) == 20
    assert times[-1] - times[0] == pytest.approx(99 / 20)


def test_an_idle_spell_saves_up_no_burst():
    fake = FakeTime()
    rate = limiter(10, fake)
    starts(rate, fake, 5)
    fake.now += 60
    later = starts(rate, fake, 3)
    assert [round(t - later[0], 9) for t in later] == [0, 0.1, 0.2]


def test_no_one_second_window_holds_more_than_budget_plus_one():
    chance = random.Random(15)  # fixed seed: the same idle gaps every run
    fake = FakeTime()
    gaps = [chance.choice((0, 0, 0, 0.01, 0.3, 1.7)) for dummy in range(400)]
    times = starts(limiter(20, fake), fake, 400, gaps)
    assert busiest_second(times) <= 21


def test_a_thread_that_wakes_late_does_not_squeeze_the_next_one():
    fake = FakeTime()
    rate = Recording(20, clock=fake.clock, sleep=fake.sleep)
    slots = [rate._reserve() for dummy in range(3)]   # pylint: disable=protected-access  # three threads hold the next slots
    fake.now = slots[1][0] + 0.04                          # the second one wakes 40 ms late ...
    rate._start()                                          # pylint: disable=protected-access
    fake.now = slots[2][0]                                 # ... and the third is on time: 10 ms after the second started
    wait = rate._start()                                   # pylint: disable=protected-access
    assert wait == pytest.approx(slots[1][0] + 0.04 + 0.05)  # it waits until 1/rate after the late one


def test_threads_share_one_budget_and_never_start_closer_than_one_slot():
    fake = FakeTime()
    fake.late = 0.013                  # every thread wakes 13 ms late: the starts still keep 1/rate apart
    rate = Recording(20, clock=fake.clock, sleep=fake.sleep)
    tickets, lock = [], threading.Lock()

    def worker():
        for dummy in range(25):
            ticket = rate.acquire()
            with lock:
                tickets.append(ticket)

    threads = [threading.Thread(target=worker) for dummy in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tickets) == len(set(tickets)) == 400
    assert len(rate.started) == 400
    gaps = [b - a for a, b in zip(rate.started, rate.started[1:])]
    assert min(gaps) >= 0.05 - 1e-6


def test_a_429_halves_the_rate_once_per_round_down_to_the_floor():
    fake = FakeTime()
    rate = limiter(20, fake)
    in_flight = [rate.acquire() for dummy in range(16)]
    for ticket in in_flight:                  # one storm answers every request in flight: one cut
        rate.slow_down(ticket)
    assert (rate.rate, rate.cuts) == (10.0, 1)
    rate.slow_down(rate.acquire())            # sent after the cut, refused again: cut again
    assert rate.rate == 5.0
    for dummy in range(10):
        rate.slow_down(rate.acquire())
    assert rate.rate == rate.floor == 1.0     # 5 % of the budget
    assert RateLimiter(20, floor=4).floor == 4.0


def test_recovery_is_additive_and_only_for_requests_sent_after_the_cut():
    fake = FakeTime()
    rate = limiter(20, fake)
    before = rate.acquire()
    rate.slow_down(rate.acquire())
    rate.speed_up(before)                     # sent before the cut: says nothing about the new rate
    assert rate.rate == 10.0
    started = fake.now
    while fake.now - started < 2.0:           # two seconds of answers
        rate.speed_up(rate.acquire())
    assert 13.5 <= rate.rate <= 14.5          # +10 % of the budget per second
    while rate.rate < 20:
        rate.speed_up(rate.acquire())
    assert rate.rate == 20.0 and fake.now - started == pytest.approx(10 / 2.0, abs=0.5)


def test_retry_after_holds_every_thread_and_voids_slots_handed_out_before():
    fake = FakeTime()
    rate = limiter(10, fake)
    first = rate.acquire()
    rate.slow_down(first, pause=2.0)
    assert fake.now == 1000.0
    rate.acquire()
    assert fake.now == pytest.approx(1002.0)  # nobody starts before the Retry-After
    rate.acquire()
    assert fake.now == pytest.approx(1002.2)  # then at the halved rate: 5/s

    # a thread waiting for its slot when another one's request meets a 429: it takes a new slot after the pause
    other = rate.acquire()

    def another_thread_meets_a_429():
        rate.slow_down(other, pause=3.0)

    fake.on_sleep = another_thread_meets_a_429
    paused_at = fake.now
    rate.acquire()
    assert fake.now >= paused_at + 3.0


def test_bad_budget():
    for budget in (0, -1, float('nan')):
        with pytest.raises(ValueError):
            RateLimiter(budget)


def nrf_client(mock, creds, fake, **kwargs):
    return HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY),
                      error_parser=nrfcloud.parse_error, sleep=fake.sleep, clock=fake.clock, **kwargs)


def test_a_429_storm_does_not_use_up_the_retries(mock, creds):
    fake = FakeTime()
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=8)
    assert nrf_client(mock, creds, fake, retries=2).request('GET', '/account').status == 200
    assert fake.slept == [1.0] * 8 and mock.admin.counters()['endpoints'][ACCOUNT] == 9
    # the allowance is 4 x retries: the 9th 429 of one request fails it
    mock.admin.reset_counters()
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='0', count=9)
    with pytest.raises(ApiError) as err:
        nrf_client(mock, creds, fake, retries=2).request('GET', '/account')
    assert err.value.status == 429 and mock.admin.counters()['endpoints'][ACCOUNT] == 9
    # retries: 0 still means no retry at all
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='0', count=1)
    with pytest.raises(ApiError):
        nrf_client(mock, creds, fake, retries=0).request('GET', '/account')


def test_429s_and_other_retries_are_counted_apart(mock, creds):
    fake = FakeTime()
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=503, retry_after='0', count=2)
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='0', count=6)
    assert nrf_client(mock, creds, fake, retries=2).request('GET', '/account').status == 200
    assert mock.admin.counters()['statuses'][ACCOUNT] == {'503': 2, '429': 6, '200': 1}


def test_the_client_paces_every_attempt_and_the_limiter_holds_the_retry_after(mock, creds):
    fake = FakeTime()
    client = nrf_client(mock, creds, fake, rate_limit=10)
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='2', count=1)
    assert client.request('GET', '/account').status == 200
    assert fake.slept == [2.0]                  # the pause, once: the limiter's, not the thread's own as well
    # paced at 97 % of the budget (RATE_HEADROOM), halved, and the 200 of the retry adds back 10 % of it per second's worth
    budget = 10 * RATE_HEADROOM
    assert client.limiter.cuts == 1 and client.limiter.rate == pytest.approx(budget / 2 + 0.1 * budget / (budget / 2))
    fake.slept.clear()
    for dummy in range(3):
        client.request('GET', '/account')
    assert len(fake.slept) == 3 and all(0.15 < wait <= 2 / budget + 1e-9 for wait in fake.slept)   # each takes a slot
    without_header = nrf_client(mock, creds, fake, rate_limit=10)
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, count=1)
    fake.slept.clear()
    assert without_header.request('GET', '/account').status == 200
    assert len(fake.slept) == 1 and 0.25 <= fake.slept[0] <= 0.5        # jittered backoff of the thread itself
    assert without_header.limiter.rate == pytest.approx(budget / 2 + 0.1 * budget / (budget / 2))


def test_rate_limit_option_is_checked_before_any_request(mock, run, mock_args):
    for value, ok in ((0, True), (None, True), (2.5, True), (-1, False), (float('inf'), False), (float('nan'), False)):
        params = dict(timeout=30.0, retries=5, retry_max_wait=60.0, ca_path=None, rate_limit=value)
        if ok:
            validate_connection(params)
        else:
            with pytest.raises(ConfigError, match='rate_limit must be from 0'):
                validate_connection(params)
    result = run(naocloud_trackable, mock_args('naocloud', site_id=101, rate_limit=-5,
                                               trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='Forklift 1')]))
    assert result['failed'] and 'rate_limit must be from 0' in result['msg']
    assert mock.admin.counters()['total'] == 0


def test_without_a_budget_the_429s_teach_the_vendor_s_limit(mock, creds):
    """6 answers in the second before the first 429: the client paces from 6/s (less the headroom) and may climb up to twice
    that; the next 429 of a paced request fixes the budget at the answers of the second before it. Neither cuts the rate;
    each holds every thread for its Retry-After. With fewer answers than LEARN_EVIDENCE it learns nothing."""
    fake = FakeTime()
    client = nrf_client(mock, creds, fake)
    for dummy in range(6):
        assert client.request('GET', '/account').status == 200
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=1)
    assert client.request('GET', '/account').status == 200
    assert client.learner.rate == 6 and client.learner.climbing and client.limiter.cuts == 0
    assert client.limiter.budget == pytest.approx(6 * LEARN_PROBE * RATE_HEADROOM)
    assert fake.slept == [pytest.approx(1.0)]          # the limiter's hold: the retry waited for the end of the Retry-After
    fake.slept.clear()
    client.request('GET', '/account')
    assert len(fake.slept) == 1 and fake.slept[0] <= 1 / (6 * RATE_HEADROOM) + 1e-9    # paced from then on, climbing

    # a 429 less than a window after the pause: its second holds too few answers to tell; a pause, the climb goes on
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=1)
    assert client.request('GET', '/account').status == 200
    assert client.learner.climbing and client.learner.rate == 6 and client.limiter.cuts == 0
    for dummy in range(16):
        client.request('GET', '/account')   # paced, more than a window after the pause
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=1)
    assert client.request('GET', '/account').status == 200
    window = client.learner.rate
    assert not client.learner.climbing and client.limiter.cuts == 0 and LEARN_EVIDENCE <= window <= 6 * LEARN_PROBE
    assert client.limiter.budget == pytest.approx(window * RATE_HEADROOM)
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=1)
    client.request('GET', '/account')
    assert client.limiter.cuts == 1 and client.learner.rate == window   # a 429 after that is an overshoot: the rate is cut

    few = nrf_client(mock, creds, fake)
    fake.now += 5
    for dummy in range(LEARN_EVIDENCE - 1):
        few.request('GET', '/account')
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=1)
    fake.slept.clear()
    assert few.request('GET', '/account').status == 200
    assert few.limiter is None and few.learner.rate is None and fake.slept == [1.0]   # the thread waited on its own
