# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action batch_report: cut the steps down to what the report shows, add the run facts the controller knows, and write the
report on the controller, where its documentation says it is, in the controller's own process.

Running it as a module cost a module start-up and every step's results serialised into its arguments: 1 to 2 s of a role's
run of 1,000 devices, and more with every device.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._report import lean_step
from ansible_collections.iotops.provisioning.plugins.module_utils._report_files import BATCH_REPORT_SPEC, report_result
from ansible_collections.iotops.provisioning.plugins.plugin_utils._module_args import checked_module_args

# the collection's root: plugins/action/ is two levels below it, in a source checkout and in an installed collection
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the variables AWX (and Ansible Tower before it) gives every job
JOB_ID_VARS = ('awx_job_id', 'tower_job_id')


def collection_version(root=COLLECTION_ROOT):
    """The collection's version: MANIFEST.json of an installed collection, else galaxy.yml of a source checkout, else None.

    The module cannot read it: it runs from a payload that holds only its own code."""
    try:
        with open(os.path.join(root, 'MANIFEST.json'), encoding='utf-8') as handle:
            return str(json.load(handle)['collection_info']['version'])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
            for line in handle:
                # galaxy.yml's version is a plain top-level scalar (Galaxy takes nothing else)
                if line.startswith('version:'):
                    return line.split(':', 1)[1].split('#', 1)[0].strip().strip('\'"') or None
    except OSError:
        pass
    return None


def run_facts(args, task_vars):
    """The arguments with the facts of the run the module cannot know: the AWX job and the collection version."""
    args = dict(args)
    if not args.get('awx_job_id'):
        job = next((task_vars[name] for name in JOB_ID_VARS if task_vars.get(name) not in (None, '')), None)
        if job is not None:
            args['awx_job_id'] = str(job)
    if not args.get('collection_version'):
        version = collection_version()
        if version:
            args['collection_version'] = version
    return args


class ActionModule(ActionBase):
    """Writes the report with each step's registered runs flattened to the report's fields.

    What a batch module task registers holds every device's full result and the task's invocation;
    at thousands of devices that is megabytes the report does not use."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = run_facts(self._task.args, task_vars or {})
        if isinstance(args.get('steps'), list):
            args['steps'] = [lean_step(step) for step in args['steps']]
        params, message = checked_module_args(BATCH_REPORT_SPEC, args, self._task.resolved_action)
        if message:
            result.update(failed=True, msg=message)
            return result
        try:
            result.update(report_result(params, self._task.check_mode))
        except ConfigError as exc:
            result.update(failed=True, msg=str(exc))
        return result
