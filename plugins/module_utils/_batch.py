# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work a list of items with bounded concurrency and report a result for every one of them.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Threads, not processes: the work is waiting on HTTP, and the threads share one requests.Session
(one connection pool), which is what makes a batch of thousands fast.

Every item starts only while the job the module runs for is still there (``ControllerWatch``): once the
``ansible-playbook`` process is gone (a cancel that killed it, see docs/cancel.md), the items in flight are
finished and no new one is started.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

CANCEL_CHECK_INTERVAL = 0.5  # seconds: how often the process table is looked at, however many items start
ANSIBLE_COMMANDS = frozenset(('ansible', 'ansible-playbook', 'ansible-console', 'ansible-pull'))
MAX_ANCESTORS = 8  # module -> /bin/sh -> /bin/sh -> worker: the worker is the third ancestor on the local connection
CANCELLED_MSG = ('not started: the job was cancelled (the ansible-playbook process this module ran for is gone); '
                 'run the job again to converge this item')


class JobCancelled(IotopsError):
    """The ansible-playbook process this module runs for is gone: no new item is started."""


class ControllerWatch:
    """Whether the ``ansible-playbook`` process (the controller) that this module runs for is gone.

    ansible-core runs each task in a worker process forked from the controller (so with the controller's command line),
    and since 2.19 each worker starts a session of its own. A cancel that kills the controller or its process group
    (ansible-runner's cancel sends SIGKILL to the process group of ansible-playbook) leaves the worker running: it
    finishes the module it is running and then the rest of the task's loop, and nobody reads the results. The module sees
    it in the process table: its nearest ancestor that runs an Ansible command (the worker) no longer has a parent with
    the same command line (the kernel gave it to init or to a subreaper), or the worker itself is gone.

    Linux only (``/proc``), and only below an Ansible worker: where there is no ``/proc``, or no ancestor runs an Ansible
    command (a remote host, a unit test, a module run by hand), ``gone()`` is always False, as before. Once gone, always
    gone. The process table is read at most every ``interval`` seconds."""

    def __init__(self, proc='/proc', interval=CANCEL_CHECK_INTERVAL, clock=time.monotonic, parent_pid=os.getppid):
        self.proc = proc
        self.interval = interval
        self._clock = clock
        self._parent_pid = parent_pid
        self._lock = threading.Lock()
        self._checked_at = None
        self._worker = None  # the worker's pid; 0 when this module does not run below an Ansible worker
        self._gone = False

    def gone(self):
        if self._gone:
            return True
        with self._lock:
            now = self._clock()
            if self._checked_at is not None and now - self._checked_at < self.interval:
                return self._gone
            self._checked_at = now
            if self._worker is None:
                self._worker = self._find_worker()
            if self._worker:
                self._gone = self._orphaned(self._worker)
            return self._gone

    def _read(self, pid):
        """(parent pid, command line) of a process; None when it does not exist (or is a zombie), False when it cannot be
        read (another user's process behind ``hidepid``: not known to be gone)."""
        base = os.path.join(self.proc, str(pid))
        try:
            with open(os.path.join(base, 'stat'), 'rb') as handle:
                fields = handle.read().rsplit(b')', 1)[1].split()
            with open(os.path.join(base, 'cmdline'), 'rb') as handle:
                argv = handle.read().split(b'\0')
        except (FileNotFoundError, ProcessLookupError):
            return None
        except (OSError, IndexError, ValueError):
            return False
        if fields[0] in (b'Z', b'X'):
            return None
        return int(fields[1]), tuple(argv)

    @staticmethod
    def _is_ansible(argv):
        """``ansible-playbook ...`` (as the kernel runs a script: interpreter, script, arguments) and its siblings."""
        return any(os.path.basename(arg.decode('utf-8', 'replace')) in ANSIBLE_COMMANDS for arg in argv[:2])

    def _find_worker(self):
        """The pid of the nearest ancestor that runs an Ansible command, or 0."""
        pid = self._parent_pid()
        for dummy in range(MAX_ANCESTORS):
            if pid <= 1:
                return 0
            info = self._read(pid)
            if not info:
                return 0
            if self._is_ansible(info[1]):
                return pid
            pid = info[0]
        return 0

    def _orphaned(self, worker):
        info = self._read(worker)
        if info is None:
            return True  # the worker is gone: nobody will read this module's result
        if info is False:
            return False
        parent = self._read(info[0])
        if parent is False:
            return False
        return parent is None or parent[1] != info[1]


WATCH = ControllerWatch()


def _map(func, items, concurrency):
    items = list(items)
    workers = max(1, min(int(concurrency or 1), MAX_CONCURRENCY, len(items)))
    if workers == 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


def map_concurrently(func, items, concurrency=DEFAULT_CONCURRENCY, watch=None):
    """``[func(item) for item in items]`` in input order, at most ``concurrency`` at a time; the first error propagates.

    Once the job is cancelled (``watch.gone()``) no further item starts: JobCancelled propagates, after the items in
    flight have finished."""
    watch = watch or WATCH

    def guarded(item):
        if watch.gone():
            raise JobCancelled(CANCELLED_MSG)
        return func(item)

    return _map(guarded, items, concurrency)


class Workers:
    """Items worked as they come, not as a list: ``submit(item)`` while earlier items are still worked, at most
    ``concurrency`` at a time, and ``finished()`` hands back ``(item, answer)`` of those done since it was last asked.
    A loop that reads what to do next (a status list) goes on reading while the items it found are worked, instead of
    waiting for the slowest of them. Leaving the ``with`` block waits for the items in flight.

    As in ``map_concurrently``, an item does not start once the job is cancelled, and the first error propagates (from
    ``finished``)."""

    def __init__(self, func, concurrency=DEFAULT_CONCURRENCY, watch=None):
        watch = watch or WATCH

        def guarded(item):
            if watch.gone():
                raise JobCancelled(CANCELLED_MSG)
            return func(item)

        self._func = guarded
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(int(concurrency or 1), MAX_CONCURRENCY)))
        self._running = {}  # future -> item
        self._ids = set()   # id() of the items in flight (items need not be hashable)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._pool.shutdown(wait=True)

    def __contains__(self, item):
        return id(item) in self._ids

    def __len__(self):
        """The items submitted and not handed back yet (running or waiting for a worker)."""
        return len(self._running)

    def submit(self, item):
        self._ids.add(id(item))
        self._running[self._pool.submit(self._func, item)] = item

    def finished(self):
        answers = []
        for future in [future for future in self._running if future.done()]:
            item = self._running.pop(future)
            self._ids.discard(id(item))
            answers.append((item, future.result()))
        return answers

    def drain(self):
        """Wait for the items in flight and hand them back, as ``finished``."""
        for future in list(self._running):
            future.exception()
        return self.finished()

    def backlog(self):
        """The items submitted and not done yet (running or waiting for a worker)."""
        return sum(1 for future in self._running if not future.done())

    def wait_below(self, count, timeout, clock=time.monotonic):
        """Wait until fewer than ``count`` items are not done, or ``timeout`` seconds have passed."""
        deadline = clock() + timeout
        while True:
            not_done = [future for future in self._running if not future.done()]
            left = deadline - clock()
            if len(not_done) < count or left <= 0:
                return
            wait(not_done, timeout=left, return_when=FIRST_COMPLETED)


class ReadAhead:
    """When a loop that reads what to do next (a status list) and hands it to ``Workers`` reads again: once the pool's
    backlog is smaller than what the pool works while a read takes, so that the read's answers are there before the pool
    runs dry. A read takes a round trip per page of the list, and the pool would idle for it if the loop waited until its
    backlog was below ``concurrency``; reading while more than that is queued would find nothing the pool could take.

    ``threshold()`` is ``concurrency`` until a read and an item have been timed: ``timed(func)`` times the items."""

    def __init__(self, concurrency, clock=time.monotonic):
        self.concurrency = max(1, int(concurrency))
        self._clock = clock
        self.read_seconds = None
        self.item_seconds = None  # a running average: the items' times change with what each has to do

    def threshold(self):
        if not self.read_seconds or not self.item_seconds:
            return self.concurrency
        return self.concurrency + int(math.ceil(self.concurrency * self.read_seconds / self.item_seconds))

    def read(self, func, *args):
        """``func(*args)``, timed as a read."""
        started = self._clock()
        try:
            return func(*args)
        finally:
            self.read_seconds = self._clock() - started

    def timed(self, func):
        """``func``, each call timed as an item."""
        def item(*args):
            started = self._clock()
            try:
                return func(*args)
            finally:
                seconds = self._clock() - started
                self.item_seconds = seconds if self.item_seconds is None else 0.8 * self.item_seconds + 0.2 * seconds
        return item


class EarlyRead:
    """A read started while the work before it still runs, once only ``start_when_left`` items of it are left, so that its
    answers are there when the work ends instead of the workers waiting for it (a status list of many pages is many round
    trips). ``done(key)`` counts an item of the work as finished; ``answers()`` waits for the read and returns
    {key: answer} for the items finished before the read started - an answer read before an item's own write may not show
    it, so the others are left out, for a read after. A read that failed returns None (read again the usual way)."""

    def __init__(self, read, total, start_when_left, clock=time.monotonic):
        self._read = read
        self._left = total
        self._start_when_left = start_when_left
        self._clock = clock
        self._lock = threading.Lock()
        self._finished = {}
        self._thread = None
        self._started = None
        self._answers = None
        self.seconds = None  # how long the read took

    def done(self, key):
        with self._lock:
            self._finished[key] = self._clock()
            self._left -= 1
            if self._thread is None and self._left <= self._start_when_left:
                self._started = self._clock()
                self._thread = threading.Thread(target=self._run, name='iotops-early-read', daemon=True)
                self._thread.start()

    def _run(self):
        try:
            self._answers = self._read()
        except Exception:  # pylint: disable=broad-except
            self._answers = None  # the loop after the work reads again, and reports what fails then
        self.seconds = self._clock() - self._started

    def answers(self):
        if self._thread is None:
            return None
        self._thread.join()
        if self._answers is None:
            return None
        return dict((key, answer) for key, answer in self._answers.items()
                    if key in self._finished and self._finished[key] <= self._started)


def run_batch(items, worker, concurrency=DEFAULT_CONCURRENCY, key=None, redact=None, writes_here=None, progress=None, watch=None):
    """Run ``worker(item)`` for every item and return one result dict per item, in input order.

    ``worker`` returns a dict (at least ``changed``). An exception becomes a failed result with the
    (redacted) reason; the other items are still worked. ``writes_here()`` counts the writes the
    calling thread has sent: an item that fails after a write is still ``changed``. Nothing is dropped: the list returned has
    exactly one entry per input item, and each entry names its item through ``key(item)``. ``progress`` (a
    ``_progress.Progress``) counts each item as it finishes.

    Once the job is cancelled (``watch.gone()``, see ControllerWatch) no further item starts, the items in flight are
    finished, and JobCancelled is raised (with the results in ``outcomes``) so that the module sends nothing more.
    """
    items = list(items)
    key = key or (lambda item: item)
    redact = redact or (lambda text: text)
    writes_here = writes_here or (lambda: 0)
    watch = watch or WATCH

    def safe(item):
        if watch.gone():
            return dict(item=key(item), changed=False, failed=True, cancelled=True, msg=CANCELLED_MSG)
        before = writes_here()
        try:
            result = dict(worker(item) or {})
            result.setdefault('changed', False)
            result.setdefault('failed', False)
        except IotopsError as exc:
            result = dict(changed=writes_here() > before, failed=True, msg=redact(exc.msg))
            if exc.details.get('error'):
                result['error'] = exc.details['error']
        except Exception as exc:  # pylint: disable=broad-except
            # a bug must not lose the other items; the message names the type and keeps secrets out
            result = dict(changed=writes_here() > before, failed=True,
                          msg=redact('unexpected error: %s: %s' % (type(exc).__name__, exc)))
        result['item'] = key(item)
        if progress is not None:
            progress.add(done=1, failed=1 if result['failed'] else 0)
        return result

    results = _map(safe, items, concurrency)
    if watch.gone():
        skipped = sum(1 for r in results if r.get('cancelled'))
        raise JobCancelled('the job was cancelled (the ansible-playbook process this module ran for is gone): %d of %d items were '
                           'worked, %d were not started; run the job again to converge them' % (len(results) - skipped, len(results), skipped),
                           outcomes=results, summary=summarize(results))
    return results


def summarize(results):
    """Counts for the module result: total, changed, ok (not changed, not failed), failed, and waiting (for the
    device: not failed, to be moved on by a later run; counted among changed or ok as well)."""
    failed = sum(1 for r in results if r.get('failed'))
    changed = sum(1 for r in results if r.get('changed') and not r.get('failed'))
    waiting = sum(1 for r in results if r.get('waiting') and not r.get('failed'))
    return dict(total=len(results), changed=changed, failed=failed, ok=len(results) - changed - failed, waiting=waiting)
