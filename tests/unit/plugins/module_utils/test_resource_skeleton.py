# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module skeleton (ResourceModule) with data alone: a toy resource over a dict, no server.

What the base owns is checked here once, so that the modules need not each test it again: check mode never
applies, ``changed`` follows the plan, the diff appears only with --diff, bad input fails before the first
read, a failed item fails the task after every other one was worked, and a bulk ``apply_all`` is honoured."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import run as run_module_main
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, InfoModule, Plan, ResourceModule


class Exited(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get('msg'))
        self.failed = failed
        self.result = result


class FakeModule:
    """What the skeleton uses of AnsibleModule."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params = dict(dict(concurrency=4, state='present'), **params)
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()

    def exit_json(self, **result):
        raise Exited(False, result)

    def fail_json(self, **result):
        raise Exited(True, result)


class Store:
    """The 'cloud': a dict of name -> value, counting reads and writes."""

    def __init__(self, **values):
        self.values = dict(values)
        self.reads = 0
        self.writes = []

    def read_all(self):
        self.reads += 1
        return dict(self.values)

    def put(self, name, value):
        if value == 'boom':
            raise IotopsError('the store refused %s' % name)
        self.writes.append((name, value))
        self.values[name] = value


class ValueModule(ResourceModule):
    items_option, noun = 'values', 'values'

    def __init__(self, module, store):
        super().__init__(module)
        self.store = store
        self.current = None

    def key(self, item):
        return item['name']

    def validate_item(self, item):
        if not item['name'].isidentifier():
            raise ConfigError('name %r is not an identifier' % item['name'])

    def connect(self):
        return self.store

    def read(self, items):
        self.current = self.client.read_all()

    def plan(self, item):
        have = self.current.get(item['name'])
        if item['state'] == 'absent' or have == item['value']:
            return Plan(item['name'], result=dict(value=have))
        return Plan(item['name'], action='create' if have is None else 'update', before=dict(value=have),
                    after=dict(value=item['value']), result=dict(value=item['value']), value=item['value'])

    def apply(self, plan):
        self.client.put(plan.item, plan.data['value'])
        return dict(sent=True)

    def redact(self, text):
        return text


def run_as_module(cls, module, *args):
    """Run like a module's main(): collection errors become fail_json."""
    with pytest.raises(Exited) as exited:
        run_module_main(module, lambda: cls(module, *args).run())
    return exited.value


def run(store, values, **kwargs):
    return run_as_module(ValueModule, FakeModule(dict(values=values), **kwargs), store)


def test_plans_apply_and_report_each_item_in_input_order():
    store = Store(a=1, b=2)
    done = run(store, [dict(name='c', value=3), dict(name='a', value=1), dict(name='b', value=5)])
    assert not done.failed and done.result['changed']
    assert [(o['item'], o['action'], o['changed']) for o in done.result['outcomes']] == [
        ('c', 'create', True), ('a', NO_CHANGE, False), ('b', 'update', True)]
    assert sorted(store.writes) == [('b', 5), ('c', 3)] and store.reads == 1
    assert done.result['summary'] == dict(total=3, changed=2, ok=1, failed=0, waiting=0)
    assert done.result['outcomes'][0]['sent'] is True and 'sent' not in done.result['outcomes'][1]
    assert 'diff' not in done.result and all('diff' not in o for o in done.result['outcomes'])


def test_check_mode_predicts_the_same_changes_and_writes_nothing():
    values = [dict(name='c', value=3), dict(name='a', value=1)]
    checked = run(Store(a=1), values, check_mode=True, diff=True)
    assert checked.result['changed'] and [o['changed'] for o in checked.result['outcomes']] == [True, False]
    assert checked.result['diff'] == dict(before=dict(c=dict(value=None)), after=dict(c=dict(value=3)))
    store = Store(a=1)
    real = run(store, values, diff=True)
    assert real.result['diff'] == checked.result['diff'] and store.writes == [('c', 3)]
    again = run(store, values)
    assert not again.result['changed'] and store.writes == [('c', 3)]


def test_bad_input_fails_before_any_read():
    store = Store()
    done = run(store, [dict(name='ok', value=1), dict(name='not ok', value=2), dict(name='ok', value=3)])
    assert done.failed and "values[1] (not ok): name 'not ok' is not an identifier" in done.result['msg']
    assert store.reads == 0 and store.writes == []
    twice = run(store, [dict(name='ok', value=1), dict(name='ok', value=3)])
    assert twice.failed and 'each resource may appear once per task' in twice.result['msg'] and store.reads == 0


def test_a_failed_item_fails_the_task_after_the_others():
    store = Store()
    done = run(store, [dict(name='a', value=1), dict(name='b', value='boom'), dict(name='c', value=3)])
    assert done.failed and done.result['msg'].startswith('1 of 3 values failed')
    failed = done.result['outcomes'][1]
    assert failed['failed'] and failed['action'] == 'create' and 'refused b' in failed['msg']
    assert sorted(store.writes) == [('a', 1), ('c', 3)] and done.result['summary']['failed'] == 1


def test_a_plan_that_raises_fails_that_item_alone():
    class Picky(ValueModule):
        def plan(self, item):
            if item['value'] == 13:
                raise IotopsError('13 is refused by the planner')
            return super().plan(item)

    store = Store()
    module = FakeModule(dict(values=[dict(name='a', value=13), dict(name='b', value=2)]))
    done = run_as_module(Picky, module, store)
    outcomes = done.result['outcomes']
    assert done.failed and outcomes[0]['failed'] and outcomes[0]['item'] == 'a' and store.writes == [('b', 2)]


def test_apply_all_takes_the_changing_plans_at_once():
    class Bulk(ValueModule):
        batches = []

        def apply_all(self, plans):
            self.batches.append([plan.item for plan in plans])
            for plan in plans:
                self.client.put(plan.item, plan.data['value'])
            return dict((plan.item, dict(bulk=True)) for plan in plans)

    store = Store(a=1)
    module = FakeModule(dict(values=[dict(name='a', value=1), dict(name='b', value=2), dict(name='c', value=3)]))
    done = run_as_module(Bulk, module, store)
    assert Bulk.batches == [['b', 'c']] and [o.get('bulk') for o in done.result['outcomes']] == [None, True, True]


def test_item_options_default_to_the_module_option():
    store = Store(a=1)
    module = FakeModule(dict(values=[dict(name='a', value=1, state=None)], state='absent'))
    done = run_as_module(ValueModule, module, store)
    assert done.result['outcomes'][0]['action'] == NO_CHANGE and module.params['values'][0]['state'] == 'absent'


def test_info_module_reads_and_never_changes():
    class Reader(InfoModule):
        def connect(self):
            return Store(a=1)

        def read(self):
            found = self.client.read_all()
            return dict(values=found, count=len(found))

    done = run_as_module(Reader, FakeModule({}))
    assert done.result == dict(changed=False, values=dict(a=1), count=1)


def test_implied_items_are_planned_and_reported_after_the_named_ones():
    class Exclusive(ValueModule):
        def implied_items(self, items):
            named = set(item['name'] for item in items)
            return [dict(name=name, value=None, state='absent') for name in sorted(self.current) if name not in named]

        def plan(self, item):
            if item['state'] == 'absent':
                return Plan(item['name'], 'delete', before=dict(value=self.current[item['name']]), after={}, value=None)
            return super().plan(item)

    store = Store(a=1, old=9)
    done = run_as_module(Exclusive, FakeModule(dict(values=[dict(name='a', value=2)])), store)
    assert [(o['item'], o['action']) for o in done.result['outcomes']] == [('a', 'update'), ('old', 'delete')]
    assert sorted(store.writes) == [('a', 2), ('old', None)]


def test_a_duplicate_is_named_by_its_index_in_the_task():
    class Optional(ValueModule):
        def unique_key(self, item):
            return item.get('serial')

    module = FakeModule(dict(values=[dict(name='a', value=1), dict(name='b', value=2, serial='S1'), dict(name='c', value=3, serial='S1')]))
    done = run_as_module(Optional, module, Store())
    assert done.failed and "values[2]: 'S1' is also values[1]" in done.result['msg']
