# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench-only callback (not part of the collection): when each task started and ended, and when each loop
item ended, written as JSON to the file named by IOTOPS_BENCH_TIMINGS at the end of the playbook.

Enabled by benchmarks/factory_scale.py with ANSIBLE_CALLBACK_PLUGINS=<this directory> and
ANSIBLE_CALLBACKS_ENABLED=iotops_bench_timer.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: iotops_bench_timer
type: aggregate
short_description: Task and loop-item timings for the iotops.provisioning benchmark
description:
  - Records the start and end of every task and the end of every loop item, and writes them as JSON to the file
    named by the E(IOTOPS_BENCH_TIMINGS) environment variable when the playbook ends.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Timestamps (time.time()) of task starts, item ends and task ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'iotops_bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = time.time()
        self.tasks = []
        self.current = None

    def _close(self):
        if self.current is not None and self.current.get('end') is None:
            self.current['end'] = self.current['items'][-1] if self.current['items'] else time.time()
            self.current['closed_by_next'] = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = dict(name=task.get_name(), action=task.action, path=task.get_path(), start=time.time(), end=None, items=[],
                            status=None)
        self.tasks.append(self.current)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _end(self, status, result=None):
        if self.current is None:
            return
        self.current['end'] = time.time()
        self.current['status'] = status
        if result is not None and isinstance(result._result, dict):  # pylint: disable=protected-access
            loop_results = result._result.get('results')  # pylint: disable=protected-access
            if isinstance(loop_results, list):
                self.current['item_count'] = len(loop_results)

    def v2_runner_on_ok(self, result):
        self._end('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end('failed', result)

    def v2_runner_on_skipped(self, result):
        self._end('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._end('unreachable', result)

    def _item(self, result):
        if self.current is not None:
            self.current['items'].append(time.time())

    def v2_runner_item_on_ok(self, result):
        self._item(result)

    def v2_runner_item_on_failed(self, result):
        self._item(result)

    def v2_runner_item_on_skipped(self, result):
        self._item(result)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get('IOTOPS_BENCH_TIMINGS')
        if not path:
            return
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(dict(started=self.started, ended=time.time(), tasks=self.tasks), handle)
