# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action manifest_info: read and check the manifest on the controller, where its documentation says it is.

The module's code runs here, in the controller's process: a manifest is a file of the controller (an AWX project, a factory
share), as for include_vars, and running it as a module cost a module start-up and the result's trip back, 0.6 to 1 s of a
role's run for 1,000 devices whatever the clouds' latency.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._manifest import MANIFEST_INFO_SPEC, manifest_result
from ansible_collections.iotops.provisioning.plugins.plugin_utils._module_args import checked_module_args


class ActionModule(ActionBase):
    """Runs manifest_info's checks and reading in the controller's process; the result is the module's."""

    TRANSFERS_FILES = False
    _supports_check_mode = True  # it only reads
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        params, message = checked_module_args(MANIFEST_INFO_SPEC, self._task.args, self._task.resolved_action)
        if message:
            result.update(failed=True, msg=message)
            return result
        try:
            result.update(manifest_result(params))
        except ConfigError as exc:
            result.update(dict(exc.details, failed=True, changed=False, msg=exc.msg))
        return result
