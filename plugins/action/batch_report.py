# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for batch_report: cut the steps down to what the report shows, then run the module."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.iotops.provisioning.plugins.module_utils._report import lean_step


class ActionModule(ActionBase):
    """Runs batch_report with each step's registered runs flattened to the report's fields.

    What a batch module task registers holds every device's full result and the task's invocation;
    at thousands of devices that is megabytes the report does not use, and serialising it into the
    module's arguments cost more memory than the rest of the run."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if isinstance(args.get('steps'), list):
            args['steps'] = [lean_step(step) for step in args['steps']]
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=args, task_vars=task_vars))
        return result
