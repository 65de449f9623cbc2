# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action base for modules whose result is a secret (the token modules).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A module cannot mark its own result as no_log, and adding the token to ``no_log_values`` would
replace it with a placeholder in the registered variable too. This action runs the module as
usual and marks the result no_log, so callbacks print it censored (as with ``no_log: true`` on
the task) while ``register`` still receives the token.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class NoLogResultAction(ActionBase):
    """Run the module of the same name and hide its result from the output."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=self._task.args, task_vars=task_vars))
        result['_ansible_no_log'] = True
        return result
