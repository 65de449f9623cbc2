# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action async_result: the result of a task started in the background (``async`` with ``poll: 0``), shown and registered
as if the task had run here, its result file removed.

``ansible.builtin.async_status`` runs a module to read the job's file, and a second task (``mode: cleanup``) to remove it:
each a module process, about 0.3 s of the controller's CPU, times every step collected in every run. The file is on the
target, whose path the launch returned (``results_file``), so this action reads it with the connection's shell
(``cat``) - a poll costs a shell, not a Python process - and removes it with one more command once the job is over.

A job started by one of the collection's batch modules names a progress file in its launch result (``progress_file``,
plugin_utils/_progress_action.py): while the job runs, the progress line the module would show in the foreground is shown
every IOTOPS_PROGRESS_INTERVAL seconds, under this task's name, and the file's folder is removed once the job is over.

What the file holds is what ``async_wrapper`` writes: ``{"started": 1, "finished": 0, ...}`` while the job runs, then the
module's own result with ``finished`` 1 (or, when the module could not run, a failure with its output). It writes a
temporary file and renames it, so a read never sees half a result.
"""

from __future__ import annotations

import contextlib
import inspect
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.iotops.provisioning.plugins.module_utils._progress import progress_file, remove_progress
from ansible_collections.iotops.provisioning.plugins.plugin_utils._progress_action import progress_interval, showing_progress

# ActionBase._parse_returned_data takes the module's serialization profile from ansible-core 2.19 on; results of
# AnsibleModule modules, which async_wrapper writes to the file, are of the legacy profile
PROFILE = ('legacy',) if 'profile' in inspect.signature(ActionBase._parse_returned_data).parameters else ()

ARGUMENT_SPEC = dict(
    job=dict(type='dict', required=True),
    timeout=dict(type='float', default=86400.0),
    interval=dict(type='float', default=0.5),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # the action makes no temporary directory
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        job = args['job']
        path, jid = job.get('results_file'), job.get('ansible_job_id')
        if not path or not jid:
            raise AnsibleActionFail('job must be the registered result of a task started with async and poll: 0 (it has no '
                                    'ansible_job_id and results_file); a task that was skipped started no job')
        if args['timeout'] < 0 or args['interval'] <= 0:
            raise AnsibleActionFail('timeout must be 0 or more and interval more than 0 (seconds)')

        progress = progress_file(job.get('progress_file'))  # only a file of the action's shape: its folder is removed
        with self._progress(progress, task_vars or {}):
            state = self._wait(path, args['timeout'], args['interval'])
        if not state.get('finished'):
            result.update(failed=True, started=True, finished=False, ansible_job_id=jid, results_file=path,
                          msg='job %s is still running after %s s; its result file %s is kept, for async_status to read '
                              'later' % (jid, args['timeout'], path))
            return result
        remove_progress(progress)  # the module removed it at exit, unless the job was killed
        self._low_level_execute_command('rm -f -- %s' % shlex.quote(path), sudoable=True)
        state.pop('_ansible_parsed', None)
        result.update(state)
        # the keys async_status adds, so that a result registered from either reads the same; its 1s as booleans
        result.update(started=True, finished=True, ansible_job_id=jid, results_file=path)
        for flag in ('changed', 'failed'):
            if flag in result:
                result[flag] = bool(result[flag])
        return result

    def _wait(self, path, timeout, interval):
        """The job's state once it has finished, or as it stands when ``timeout`` seconds are over."""
        deadline = time.monotonic() + timeout
        while True:
            state = self._read(path)
            if state.get('finished') or time.monotonic() + interval > deadline:
                return state
            time.sleep(interval)

    def _progress(self, path, task_vars):
        """Show the job's progress lines while it is waited for (nothing when the job has no progress file)."""
        interval = progress_interval()
        if not path or not interval:
            return contextlib.nullcontext()
        prefix = '  [%s] %s' % (task_vars.get('inventory_hostname', 'localhost'), self._task.name or 'async_result')
        return showing_progress(path, interval, prefix)

    def _read(self, path):
        """What the job's result file says now: ``finished`` false while the job runs; a file that is not there is a
        finished, failed job (as async_status says)."""
        done = self._low_level_execute_command('cat -- %s' % shlex.quote(path), sudoable=True)
        if done.get('rc') != 0:
            return dict(failed=True, finished=True,
                        msg='the result file %s of the job cannot be read (it was removed, or the job never started): %s'
                            % (path, (done.get('stderr') or '').strip()))
        text = done.get('stdout') or ''
        if not text.strip():
            return dict(finished=False)  # async_wrapper has not written it yet
        # decoded as the result of a module run here is (ansible-core 2.19 decodes a module's warnings with its profile)
        state = self._parse_returned_data(dict(stdout=text), *PROFILE)
        # async_wrapper writes {"started": ..., "finished": false} while the job runs, then the module's result alone
        state['finished'] = 'started' not in state or bool(state.get('finished'))
        return state
