# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of every module of the collection: a list of items, validated before any write, read once,
planned item by item, applied unless in check mode, and reported item by item.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A write module is a ``ResourceModule`` subclass::

    class TagModule(ResourceModule):
        items_option, noun = 'tags', 'tags'

        def validate_item(self, item): ...       # raise ConfigError; every item is checked before the first request
        def connect(self): ...                   # the vendor client
        def read(self, items): ...               # the vendor's current state, read once (list pages, not a GET per item)
        def plan(self, item): ...                # -> Plan: what the item needs, with before/after; no write
        def apply(self, plan): ...               # send the plan's writes; return what the cloud answered

    def main():
        run_module(TagModule, ARGSPEC, tags=dict(...), ...)

The base owns, once: the order of the steps, check mode (``apply`` is never called in check mode), ``changed``
(the plan's action, or a write the ledger counted), the per-item result, the diff (only with --diff) and the
batch summary; a failed item fails the task after every other item was worked. A module with a bulk endpoint
overrides ``apply_all`` (all the changing plans at once). Read-only modules are ``InfoModule`` subclasses.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import MAX_CONCURRENCY, run_batch, summarize
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import WRITES
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
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
    """Each resource may appear once per task; a duplicate would be written twice. Items whose key is None are not
    compared (an item named otherwise); the indexes in the message are those of ``items``."""
    seen = {}
    for index, item in enumerate(items):
        value = key(item)
        if value is None:
            continue
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


NO_CHANGE = 'none'


class Plan:
    """What one item needs. ``action`` is NO_CHANGE or a word for the write (``create``, ``update``, ``delete``, ...);
    ``before`` and ``after`` are the managed fields for the diff; ``result`` holds what the item reports whether or
    not the plan is applied (check mode reports the same fields); ``data`` is what ``apply`` needs to send."""

    def __init__(self, item, action=NO_CHANGE, before=None, after=None, result=None, **data):
        self.item = item
        self.action = action
        self.before = before
        self.after = after
        self.result = dict(result or {})
        self.data = data

    @property
    def changes(self):
        return self.action != NO_CHANGE

    def outcome(self, applied=None):
        """The item's result: the plan's fields, updated with what ``apply`` returned. A failed apply is ``changed``
        only when a write went out before it failed (the batch runner counts them), and has no diff."""
        applied = dict(applied or {})
        result = dict(self.result)
        result.setdefault('action', self.action)
        if applied.get('failed'):
            result.update(applied)
            return result
        applied.pop('changed', None)
        applied.pop('failed', None)
        result.update(changed=self.changes, failed=False)
        if self.changes:
            result['diff'] = dict(before=self.before, after=self.after)
        result.update(applied)
        return result


class ResourceModule:
    """validate -> read -> plan(item) -> apply(plan); see the module docstring. Subclasses set ``items_option`` and
    ``noun`` and implement the hooks; ``item_defaults`` names item options that default to the same-named
    module option (``state``)."""

    items_option = 'devices'
    noun = 'devices'
    item_defaults = ('state',)

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.client = None
        self.extra = {}  # module-level result keys beside outcomes and summary

    # -- hooks ---------------------------------------------------------------------------------------
    def key(self, item):
        """The item's name in results and messages."""
        raise NotImplementedError

    def validate(self, items):
        """Checks of the module's own options and of the items as a whole (ConfigError); before any request."""

    def validate_item(self, item):
        """Raise ConfigError naming what is wrong with one item and the vendor's rule; before any request."""

    def unique_key(self, item):
        """Two items with the same unique key would be written twice: refused. None: not checked."""
        return self.key(item)

    def connect(self):
        raise NotImplementedError

    def read(self, items):
        """Read the vendor's current state for the items, once."""

    def implied_items(self, items):
        """Items the task implies besides those it names, known only after ``read`` (an exclusive list's deletions);
        they are planned, applied and reported like the others."""
        return ()

    def plan(self, item):
        raise NotImplementedError

    def apply(self, plan):
        """Send one plan's writes; return a dict of result fields (what the cloud answered), or None."""
        raise NotImplementedError

    def apply_all(self, plans):
        """Apply the changing plans; {key: result fields}. Plans fail one by one (the others are still applied)."""
        results = run_items(self.module, plans, self.apply, key=lambda plan: plan.item, redact=self.redact, noun=self.noun)
        return dict((result.pop('item'), result) for result in results)

    def applies(self, plan):
        """Whether a real run hands the plan to ``apply_all``: a plan with changes. A module that follows items after its
        writes (waits for a device to come online and acts then) also takes plans with nothing to write yet; ``apply``
        sets ``plan.action`` (and ``plan.after``) to what it did."""
        return plan.changes

    def outcomes(self, results):
        """The outcomes in input order, as the module reports them (a module adds its phase words here)."""
        return results

    # -- the skeleton ----------------------------------------------------------------------------------
    def redact(self, text):
        return self.client.http.redact(text) if self.client is not None else text

    def items(self):
        items = list(self.params[self.items_option] or [])
        for item in items:
            for option in self.item_defaults:
                if item.get(option) is None and option in self.params:
                    item[option] = self.params[option]
        return items

    def run(self):
        validate_concurrency(self.params)
        items = self.items()
        self.validate(items)
        validate_items(items, self.items_option, self.validate_item, label=self.key)
        require_unique(items, self.items_option, key=self.unique_key)
        self.client = self.connect()
        self.read(items)
        items = items + list(self.implied_items(items))
        planned = run_batch(items, self._plan_result, concurrency=self.params.get('concurrency') or 1, key=self.key,
                            redact=self.redact)
        plans = [result.pop('plan') for result in planned if not result.get('failed')]
        applied = {}
        changing = [plan for plan in plans if self.applies(plan)]
        if changing and not self.check_mode:
            applied = self.apply_all(changing)
        by_key = dict((result['item'], result) for result in planned if result.get('failed'))
        for plan in plans:
            by_key[plan.item] = dict(plan.outcome(applied.get(plan.item)), item=plan.item)
        results = self.outcomes([by_key[self.key(item)] for item in items])
        exit_batch(self.module, results, noun=self.noun, **self.extra)

    def _plan_result(self, item):
        return dict(plan=self.plan(item))


class InfoModule:
    """A read-only module: ``connect`` then ``read`` (a dict of result keys); never changes anything."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = None

    def validate(self):
        """Checks of the options (ConfigError), before any request."""

    def connect(self):
        raise NotImplementedError

    def read(self):
        raise NotImplementedError

    def run(self):
        self.validate()
        self.client = self.connect()
        self.module.exit_json(changed=False, **self.read())


def run_module(cls, vendor_spec, mutually_exclusive=None, required_together=None, **options):
    """Build the AnsibleModule of ``cls`` (a ResourceModule or InfoModule) with the vendor's options, the connection
    options and the module's own, and run it; collection errors become a redacted fail_json."""
    module = AnsibleModule(argument_spec=argument_spec(vendor_spec, **options), supports_check_mode=True,
                           mutually_exclusive=mutually_exclusive or [], required_together=required_together or [])
    run(module, lambda: cls(module).run())
