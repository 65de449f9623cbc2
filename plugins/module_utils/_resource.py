# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape every resource module shares: a list of items, validated before any write, worked
as a batch, and reported item by item.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A resource module:
1. reads its list option (one resource is a list of one) and calls ``validate_items`` with a
   per-item validator that raises ConfigError: all items are checked before the first request;
2. reads the vendor's current state once (list pages, not one GET per item);
3. calls ``run_items`` with a worker ``worker(item) -> dict(changed=..., diff=dict(before, after), ...)``
   that compares and writes unless ``module.check_mode``;
4. calls ``exit_batch``: the task fails if any item failed, after all the others were worked,
   and the result lists every item.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import MAX_CONCURRENCY, run_batch, summarize
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import WRITES
from ansible_collections.iotops.provisioning.plugins.module_utils._progress import Progress

BATCH_ARGSPEC = dict(
    concurrency=dict(type='int', default=8, fallback=(env_fallback, ['IOTOPS_CONCURRENCY'])),
)

MAX_REPORTED_ERRORS = 20
FAILURES_IN_MESSAGE = 3


def validate_items(items, option, validator, label=None):
    """Run ``validator(item)`` on every item; raise one ConfigError that lists every problem found.

    Messages read ``devices[3] (dev-42): <what is wrong and the rule>``.
    """
    label = label or (lambda item: None)
    problems = []
    for index, item in enumerate(items):
        try:
            validator(item)
        except ConfigError as exc:
            name = label(item)
            where = '%s[%d]' % (option, index) + (' (%s)' % name if name not in (None, '') else '')
            problems.append('%s: %s' % (where, exc.msg))
    if problems:
        shown = problems[:MAX_REPORTED_ERRORS]
        more = len(problems) - len(shown)
        text = '; '.join(shown) + ('; and %d more' % more if more else '')
        raise ConfigError('invalid input, nothing was changed: %s' % text, problems=problems)


def require_unique(items, option, key):
    """Each resource may appear once per task; a duplicate would be written twice."""
    seen = {}
    for index, item in enumerate(items):
        value = key(item)
        if value in seen:
            raise ConfigError('%s[%d]: %r is also %s[%d]; each resource may appear once per task' % (option, index, value, option, seen[value]))
        seen[value] = index


def validate_concurrency(params):
    value = params.get('concurrency')
    if value is not None and not 1 <= value <= MAX_CONCURRENCY:
        raise ConfigError('concurrency must be from 1 to %d, got %s' % (MAX_CONCURRENCY, value))


def run_items(module, items, worker, key, redact=None, noun='devices'):
    """Work the items with the module's ``concurrency``; one result per item, in input order.

    Each finished item is counted in the run's progress (``noun`` names the items), which the action plugin shows."""
    items = list(items)
    return run_batch(items, worker, concurrency=module.params.get('concurrency') or 1, key=key, redact=redact,
                     writes_here=WRITES.by_this_thread, progress=Progress.current(len(items), noun))


def exit_batch(module, results, noun='items', changed=False, diff=None, **extra):
    """Exit with ``outcomes`` (one per item), ``summary`` and (with --diff) a diff of the changed items; fail if any item failed.

    ``changed`` and ``diff`` ({name: {before, after}}) add what the module changed besides its items (a device profile)."""
    diff_before, diff_after = {}, {}
    for name, entry in (diff or {}).items():
        diff_before[name], diff_after[name] = entry.get('before'), entry.get('after')
    for result in results:
        entry = result.pop('diff', None)
        if entry and result.get('changed'):
            diff_before[str(result['item'])] = entry.get('before')
            diff_after[str(result['item'])] = entry.get('after')
    summary = summarize(results)
    # a write was made whenever the ledger counted one, also for items that failed afterwards
    changed = changed or any(r.get('changed') for r in results) or WRITES.total > 0
    output = dict(changed=changed, outcomes=results, summary=summary)
    output.update(extra)
    if module._diff:  # pylint: disable=protected-access
        output['diff'] = dict(before=diff_before, after=diff_after)
    if summary['failed']:
        module.fail_json(msg=failure_message(results, summary, noun), **output)
    module.exit_json(**output)


def failure_message(results, summary, noun):
    """``2 of 20 devices failed (...): <item>: <reason>; ...`` with the first few reasons, for the task's line."""
    failed = [r for r in results if r.get('failed')]
    shown = '; '.join('%s: %s' % (r['item'], r.get('msg')) for r in failed[:FAILURES_IN_MESSAGE])
    more = len(failed) - FAILURES_IN_MESSAGE
    return ('%d of %d %s failed (the others were worked, see outcomes): %s%s'
            % (summary['failed'], summary['total'], noun, shown, '; and %d more' % more if more > 0 else ''))
