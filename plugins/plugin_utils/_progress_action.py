# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action base for the batch modules: a progress line every few seconds while the module runs.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A module's output is shown only when it has ended, and a step of a thousand devices can take many minutes. So this
action gives the module a private file to write its counts to (module_utils/_progress.py), runs the module as
Ansible's own ``normal`` action would, and meanwhile a background thread reads that file every
``IOTOPS_PROGRESS_INTERVAL`` seconds (default 10, 0 turns it off) and shows one line:

    [localhost] nRF Cloud provisioning (chunk 2 of 5): 420 of 1,000 devices done · 80 waiting · 2 failed · waiting for devices to connect · 0:40 elapsed

The line goes through ``Display().display``: in a worker process, ansible-core sends display calls to the main
process over its result queue, so the line appears in the play's output and, the same way, in AWX's job output.
Progress is shown only where the file can be shared - the module runs on the controller over the ``local``
connection without become; everything else runs exactly as without this action. A task started in the background
(``async`` with ``poll: 0``) has nothing to show the lines while it runs: its file is kept, named in the launch's result
(``progress_file``), and iotops.provisioning.async_result shows the lines while it waits for the job, then removes it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.iotops.provisioning.plugins.module_utils._progress import (
    PROGRESS_FILE_ENV, PROGRESS_FILE_NAME, PROGRESS_FOLDER_PREFIX, PROGRESS_REMOVE_ENV, progress_line, read_progress, remove_progress)

PROGRESS_INTERVAL_ENV = 'IOTOPS_PROGRESS_INTERVAL'
DEFAULT_INTERVAL = 10.0
MAX_INTERVAL = 86400

display = Display()


def progress_interval():
    """Seconds between two progress lines, from the controller's environment; 0 turns them off."""
    text = os.environ.get(PROGRESS_INTERVAL_ENV)
    if text in (None, ''):
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_INTERVAL:
        display.warning('%s=%r is not a number of seconds from 0 (no progress lines) to %d; showing progress every %g seconds'
                        % (PROGRESS_INTERVAL_ENV, text, MAX_INTERVAL, DEFAULT_INTERVAL))
        return DEFAULT_INTERVAL
    return value


@contextlib.contextmanager
def showing_progress(path, interval, prefix, show=display.display):
    """While the block runs, ``show`` a progress line read from ``path`` every ``interval`` seconds."""
    started = time.monotonic()
    stop = threading.Event()

    def tick():
        while not stop.wait(interval):
            show(progress_line(prefix, read_progress(path), time.monotonic() - started))

    thread = threading.Thread(target=tick, name='iotops-progress', daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class ProgressAction(ActionBase):
    """Run the module of the same name (as Ansible's ``normal`` action does) and show its progress meanwhile."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        task_vars = task_vars or {}
        wrap_async = self._task.async_val and not self._connection.has_native_async
        if wrap_async and not self._task.poll:
            return merge_hash(result, self._start_in_background(task_vars))
        with self._progress(task_vars):
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result

    @contextlib.contextmanager
    def _progress(self, task_vars):
        """Name a private progress file in the module's environment and show what the module writes to it."""
        interval = progress_interval()
        if not interval or self._task.async_val or not self._runs_here():
            yield
            return
        path = new_progress_file()
        try:
            with self._module_environment({PROGRESS_FILE_ENV: path}):
                with showing_progress(path, interval, self._prefix(task_vars)):
                    yield
        finally:
            remove_progress(path)

    def _start_in_background(self, task_vars):
        """Start the module as an async job (``poll: 0``) with a progress file that outlives this action: the launch result
        names it (``progress_file``) for async_result, which shows it while it waits; the module removes it at exit."""
        if not progress_interval() or not self._runs_here():
            return self._execute_module(task_vars=task_vars, wrap_async=True)
        path = new_progress_file()
        with self._module_environment({PROGRESS_FILE_ENV: path, PROGRESS_REMOVE_ENV: '1'}):
            launched = self._execute_module(task_vars=task_vars, wrap_async=True)
        if launched.get('ansible_job_id') and not launched.get('failed'):
            launched['progress_file'] = path
        else:
            remove_progress(path)
        return launched

    @contextlib.contextmanager
    def _module_environment(self, variables):
        """The task's environment with ``variables`` added while the module starts; a new list, put back afterwards: the
        task (and the environment of its block) outlive this run."""
        environment = self._task.environment
        self._task.environment = _as_list(environment) + [variables]
        try:
            yield
        finally:
            self._task.environment = environment

    def _runs_here(self):
        """The module runs on this machine as this user, so it can write the file this process reads."""
        return getattr(self._connection, 'transport', None) == 'local' and not self._play_context.become

    def _prefix(self, task_vars):
        """``  [host] task name (loop label)``, as the task's own result line names it."""
        name = self._task.name or self._task.action.rsplit('.', 1)[-1]
        label = self._label(task_vars)
        return '  [%s] %s%s' % (task_vars.get('inventory_hostname', 'localhost'), name, ' (%s)' % label if label else '')

    def _label(self, task_vars):
        """The loop item's label (``loop_control.label``, else a short item), nothing outside a loop or with no_log."""
        loop_var = task_vars.get('ansible_loop_var')
        if not loop_var or self._task.no_log:
            return None
        template = self._task.loop_control.label if self._task.loop_control else None
        if template:
            try:
                return str(self._templar.template(template))
            except Exception:  # pylint: disable=broad-except
                return None  # the label only decorates the line; the task's own result reports a bad template
        item = task_vars.get(loop_var)
        return str(item) if isinstance(item, (str, int, float)) and not isinstance(item, bool) else None


def new_progress_file():
    """The path of a progress file in a new private folder (mode 0700: only this user reads or writes the counts)."""
    return os.path.join(tempfile.mkdtemp(prefix=PROGRESS_FOLDER_PREFIX), PROGRESS_FILE_NAME)


def _as_list(environment):
    """The task's environment as a list of dicts (ansible-core keeps it as a list; a single dict is one entry)."""
    if not environment:
        return []
    return list(environment) if isinstance(environment, list) else [environment]
