# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A requests-per-second budget for one vendor account, shared by every worker thread of a module run.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

- Pacing: evenly spaced slots, 1/rate apart (a token bucket of one token). Each request attempt takes the next slot; a
  slot is never in the past, so an idle spell saves up no burst. A thread that wakes late for its slot (a loaded machine)
  would send right before the next thread's slot, so a request also starts no sooner than 1/rate after the one before it
  really started. Any 1 s window holds at most ``rate`` + 1 starts, however late the threads wake.
- AIMD: a 429 halves the rate (not below ``floor``), once per round: a 429 for a slot handed out before the last cut
  was already in flight when the rate was cut, and does not cut again (16 threads hit by one 429 storm cut once, not 16
  times). Every other answer to a slot handed out after the cut adds back ``RECOVERY`` of the budget per second of
  answers (``RECOVERY * budget / rate`` each), so the rate climbs back linearly, whatever the budget.
- Retry-After: a 429 with Retry-After holds every thread of the account, not only the one that got it: no slot starts
  before then, and threads already waiting for a slot take a new one after the pause (as Azure DPS advises: honour
  Retry-After, then stagger; the slots are the stagger).
- Headroom: a client paces at RATE_HEADROOM of the budget it was given. Requests spaced at exactly the vendor's limit
  arrive a few ms closer now and then (threads, the network) and meet a 429, which halves the rate and holds every
  thread; 3 % of slack absorbs 30 ms of such jitter per second (measured at 50/s: 4 429s in 100 s without it, 0 to 2 with).
- Without a budget (``LearnedBudget``), the limit is learnt from the vendor's 429s: the first 429 that comes after at least
  LEARN_EVIDENCE answers in the LEARN_WINDOW before it starts a limiter at those answers, which may climb up to
  LEARN_PROBE times them (that window may not have been full: the run was starting); the next 429, a whole window after
  the first one's pause, fixes the budget at the answers of the window before it, the vendor's own limit as it just
  enforced it (no vendor publishes one). Neither cuts the rate; each holds every thread for its Retry-After. With fewer
  answers there is too little to tell, and each thread waits the Retry-After on its own.
- ``clock`` and ``sleep`` are injectable, so the tests move a fake clock instead of waiting.
"""

from __future__ import annotations

import collections
import math
import threading
import time

DECREASE = 0.5    # a 429 halves the rate
RECOVERY = 0.1    # of the budget, per second of answers that were not 429
FLOOR_SHARE = 0.05  # the rate never falls below 5 % of the budget
SLACK = 1e-6        # seconds: slot times are float sums, a start that early is on time
RATE_HEADROOM = 0.97  # of the budget a client paces at
LEARN_WINDOW = 1.0    # seconds of answers a learnt budget counts
LEARN_EVIDENCE = 5    # answers in that window below which a 429 teaches nothing
LEARN_PROBE = 2.0     # how far above its first estimate a learnt budget may climb until the next 429


class RateLimiter:
    """``acquire()`` before every request attempt; ``slow_down(ticket, pause)`` on a 429, ``speed_up(ticket)`` on any other answer."""

    def __init__(self, budget, floor=None, clock=time.monotonic, sleep=time.sleep, rate=None):
        budget = float(budget)
        if math.isnan(budget) or budget <= 0:
            raise ValueError('a rate budget is a positive number of requests per second, got %r' % budget)
        self.budget = budget
        self.rate = budget if rate is None else min(budget, float(rate))  # below the budget: it climbs there (speed_up)
        self.floor = min(budget, budget * FLOOR_SHARE if floor is None else float(floor))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float('-inf')         # the next free slot
        self._resume_at = float('-inf')    # no slot before this (the latest Retry-After)
        self._pauses = 0                   # how many Retry-After pauses so far: a waiting thread checks it
        self._issued = 0                   # slots handed out
        self._last_start = float('-inf')   # when the latest request really started
        self._cut_upto = 0                 # 429s of slots up to this one are answered by the last cut
        self.cuts = 0

    def _reserve(self):
        """The next slot: (when, ticket, pauses so far)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next, self._resume_at)
            self._next = slot + 1.0 / self.rate
            self._issued += 1
            return slot, self._issued, self._pauses

    def acquire(self):
        """Wait for this thread's slot and return its ticket (for ``slow_down``/``speed_up``)."""
        while True:
            slot, ticket, pauses = self._reserve()
            while slot is not None:
                wait = slot - self._clock()
                if wait > 0:
                    self._sleep(wait)
                if self._pauses != pauses:
                    break  # a 429 with Retry-After while this thread waited: its slot is void, take a new one
                slot = self._start()
            if slot is None:
                return ticket

    def _start(self):
        """Start now (None), or when to try again: the request before started less than 1/rate ago."""
        with self._lock:
            now = self._clock()
            earliest = self._last_start + 1.0 / self.rate
            if now < earliest - SLACK:
                return earliest
            self._started(now)
            return None

    def _started(self, now):
        """Called under the lock for each request that starts (a seam for tests)."""
        self._last_start = now

    def settle_at(self, budget):
        """A new budget (and rate) from now on, without a cut; the 429s of slots handed out before do not cut either."""
        with self._lock:
            self.budget = self.rate = float(budget)
            self.floor = min(self.floor, self.budget * FLOOR_SHARE)
            self._cut_upto = self._issued

    def hold(self, pause):
        """Hold every thread ``pause`` seconds (a Retry-After), without a cut."""
        with self._lock:
            self._hold(pause)

    def _hold(self, pause):
        if pause is not None and pause > 0:
            resume_at = self._clock() + pause
            if resume_at > self._resume_at:
                self._resume_at = resume_at
                self._next = resume_at     # the slots handed out before the pause are void
                self._pauses += 1

    def slow_down(self, ticket, pause=None):
        """A 429 answered the request of ``ticket``: halve the rate once per round; hold every thread ``pause`` seconds."""
        with self._lock:
            self._hold(pause)
            if ticket is None or ticket > self._cut_upto:
                self.rate = max(self.floor, self.rate * DECREASE)
                self._cut_upto = self._issued
                self.cuts += 1

    def speed_up(self, ticket):
        """An answer that was not a 429: climb back towards the budget, for slots handed out after the last cut."""
        if self.rate >= self.budget or (ticket is not None and ticket <= self._cut_upto):
            return
        with self._lock:
            self.rate = min(self.budget, self.rate + RECOVERY * self.budget / self.rate)


class LearnedBudget:
    """A client's budget when it was given none: learnt from the vendor's 429s (see the top of this file).

    ``answered()`` after every answer that was not a 429; ``throttled(ticket, pause)`` on a 429: True when this took care of
    it (every thread holds ``pause``; ``limiter`` is the limiter to pace with from now on), False when the client handles the
    429 as before (no limiter yet and too few answers to learn from, or an overshoot of the learnt budget, which the
    limiter's ``slow_down`` cuts)."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._answers = collections.deque()  # when the latest answers came, while learning
        self._climb_from = None              # when the first 429's pause ended
        self.limiter = None
        self.rate = None                     # requests/s learnt
        self.climbing = False                # the first estimate may still be too low

    def answered(self):
        if self.limiter is not None and not self.climbing:
            return  # learnt: nothing more to count
        with self._lock:
            now = self._clock()
            self._answers.append(now)
            while self._answers[0] <= now - LEARN_WINDOW:
                self._answers.popleft()

    def throttled(self, ticket, pause):
        with self._lock:
            now = self._clock()
            answers = sum(1 for moment in self._answers if moment > now - LEARN_WINDOW) / LEARN_WINDOW
            if self.limiter is None:
                if answers < LEARN_EVIDENCE:
                    return False
                self.limiter = RateLimiter(answers * LEARN_PROBE * RATE_HEADROOM, clock=self._clock, sleep=self._sleep,
                                           rate=answers * RATE_HEADROOM)
                self.rate, self.climbing, self._climb_from = answers, True, now + (pause or 0)
            elif ticket is not None and not self.climbing:
                return False  # paced at the learnt budget and still refused: an overshoot, the limiter cuts
            elif ticket is not None and now - self._climb_from >= LEARN_WINDOW:
                self.limiter.settle_at(answers * RATE_HEADROOM)
                self.rate, self.climbing = answers, False
            # else: sent before the limiter existed (it did not overshoot), or too soon after the first pause for its
            # window to hold enough answers: a pause, no cut
        self.limiter.hold(pause)
        return True
