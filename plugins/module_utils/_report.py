# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps of a batch report: per-device results out of what batch module tasks registered.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Shared by the batch_report module and its action plugin: the action reduces the steps to the fields
the report shows before they are sent to the module, so that thousands of full results (their
certificates, command histories and invocations) are not serialised into the module's arguments.
"""

from __future__ import annotations

# the fields of a per-device result the report uses
REPORT_FIELDS = ('item', 'changed', 'failed', 'msg', 'status', 'action')


def step_results(step):
    """The per-device results of a step and the messages of its runs that failed as a whole."""
    results = [r for r in step.get('results') or [] if isinstance(r, dict)]
    errors = [step['error']] if step.get('error') else []
    for run in step.get('runs') or []:
        if not isinstance(run, dict) or run.get('skipped'):
            continue
        if isinstance(run.get('outcomes'), list):
            results.extend(r for r in run['outcomes'] if isinstance(r, dict))
        elif run.get('msg'):
            # the role's tasks run with failed_when: false, which clears "failed": a run without results failed as a whole
            errors.append(str(run['msg']))
    return results, errors


def lean_step(step):
    """A step with its runs flattened into ``results`` and ``error``, each result cut down to REPORT_FIELDS."""
    if not isinstance(step, dict):
        return step  # the module's argument checks report it
    results, errors = step_results(step)
    lean = dict((key, value) for key, value in step.items() if key not in ('runs', 'results', 'error'))
    lean['results'] = [dict((key, result[key]) for key in REPORT_FIELDS if key in result) for result in results]
    if errors:
        lean['error'] = '; '.join(errors)
    return lean
