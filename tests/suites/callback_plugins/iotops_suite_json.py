# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback (not part of the collection): every task result as one JSON document, like the JSON
callback of ansible.posix, which is not installed here (ansible-core redirects ansible.builtin.json to it).

Used by tests/suites/test_secret_leak_suite.py with ANSIBLE_CALLBACK_PLUGINS=<this directory> and
ANSIBLE_STDOUT_CALLBACK=iotops_suite_json: the suite searches the results (and their diffs) for secrets.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: iotops_suite_json
type: stdout
short_description: Every task result, with its diff, as one JSON document on stdout
description:
  - Collects the result of every task (and loop item) as callbacks receive it, the diffs, and the play recap, and
    prints them as one JSON document when the playbook ends.
'''

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """One JSON document: {"plays": [{"play", "tasks": [{"task", "hosts": {host: result}}]}], "diffs": [...], "stats": {...}}."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'iotops_suite_json'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []
        self.diffs = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': play.get_name(), 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        if not self.plays:
            self.plays.append({'play': '', 'tasks': []})
        self.plays[-1]['tasks'].append({'task': task.get_name(), 'hosts': {}})

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, outcome):
        entry = dict(result.result)
        entry['_outcome'] = outcome
        if self.plays and self.plays[-1]['tasks']:
            self.plays[-1]['tasks'][-1]['hosts'][result.host.get_name()] = entry

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_on_file_diff(self, result):
        if 'diff' in result.result:
            self.diffs.append(result.result['diff'])

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        summary = dict((host, stats.summarize(host)) for host in hosts)
        self._display.display(json.dumps({'plays': self.plays, 'diffs': self.diffs, 'stats': summary}, indent=1, sort_keys=True, default=str))
