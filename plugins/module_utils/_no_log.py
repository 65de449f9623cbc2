# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The no_log pass over a module's result, for a batch with a secret per item.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Ansible's exit_json and fail_json replace every no_log value in every string of the result, one value after the other.
A batch has a secret per item (the claim token of each nRF device, the SIP password of each iotcomms.io device), so the
pass costs strings x secrets: 1.7 s of every run of 1,000 nRF devices, first run or no-op, on the controller's critical
path. With more than MANY_SECRETS no_log values, the module looks for them itself, one C-level substring search per
secret in the JSON text of the result, and leaves to Ansible's pass only the secrets it found there (none, normally): the
result is masked exactly as before, in a few milliseconds. The invocation's parameters are masked first, as Ansible masks
them (a parameter that is a secret becomes VALUE_SPECIFIED_IN_NO_LOG_PARAMETER).
"""

from __future__ import annotations

import functools
import json

MANY_SECRETS = 16
MASKED = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def lean_no_log(module):
    """Make ``module``'s exit_json and fail_json look for its no_log values themselves when it has many."""
    for name in ('exit_json', 'fail_json'):
        setattr(module, name, functools.partial(_finish, module, getattr(module, name)))


def _finish(module, finish, **kwargs):
    secrets = module.no_log_values
    if len(secrets) > MANY_SECRETS:
        try:
            kwargs.setdefault('invocation', {'module_args': mask(module.params, secrets)})
            module.no_log_values = found_in(kwargs, secrets)
        except (TypeError, ValueError):
            module.no_log_values = secrets  # a value JSON cannot show: Ansible's own pass, over every secret
    finish(**kwargs)


def mask(value, secrets):
    """A copy of ``value`` with each string that is a secret replaced, as Ansible masks the invocation's parameters."""
    if isinstance(value, str):
        return MASKED if value in secrets else value
    if isinstance(value, dict):
        return dict((key, mask(item, secrets)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [mask(item, secrets) for item in value]
    return value


def found_in(result, secrets):
    """The secrets that occur anywhere in ``result`` (keys, strings, numbers as text); raises TypeError for a value JSON
    cannot show. A secret is looked for as JSON writes it, so that one with quotes or backslashes is found too."""
    text = json.dumps(result, ensure_ascii=False)
    return set(secret for secret in secrets if json.dumps(secret, ensure_ascii=False)[1:-1] in text)
