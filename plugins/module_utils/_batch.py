# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work a list of items with bounded concurrency and report a result for every one of them.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Threads, not processes: the work is waiting on HTTP, and the threads share one requests.Session
(one connection pool), which is what makes a batch of thousands fast.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64


def map_concurrently(func, items, concurrency=DEFAULT_CONCURRENCY):
    """``[func(item) for item in items]`` in input order, at most ``concurrency`` at a time; the first error propagates."""
    items = list(items)
    workers = max(1, min(int(concurrency or 1), MAX_CONCURRENCY, len(items)))
    if workers == 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


def run_batch(items, worker, concurrency=DEFAULT_CONCURRENCY, key=None, redact=None, writes_here=None, progress=None):
    """Run ``worker(item)`` for every item and return one result dict per item, in input order.

    ``worker`` returns a dict (at least ``changed``). An exception becomes a failed result with the
    (redacted) reason; the other items are still worked. ``writes_here()`` counts the writes the
    calling thread has sent: an item that fails after a write is still ``changed``. Nothing is dropped: the list returned has
    exactly one entry per input item, and each entry names its item through ``key(item)``. ``progress`` (a
    ``_progress.Progress``) counts each item as it finishes.
    """
    items = list(items)
    key = key or (lambda item: item)
    redact = redact or (lambda text: text)
    writes_here = writes_here or (lambda: 0)

    def safe(item):
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

    return map_concurrently(safe, items, concurrency)


def summarize(results):
    """Counts for the module result: total, changed, ok (not changed, not failed), failed, and waiting (for the
    device: not failed, to be moved on by a later run; counted among changed or ok as well)."""
    failed = sum(1 for r in results if r.get('failed'))
    changed = sum(1 for r in results if r.get('changed') and not r.get('failed'))
    waiting = sum(1 for r in results if r.get('waiting') and not r.get('failed'))
    return dict(total=len(results), changed=changed, failed=failed, ok=len(results) - changed - failed, waiting=waiting)
