# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module's arguments checked in an action that runs the module's code in the controller's process.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError


def checked_module_args(spec, args, module_name):
    """(the checked parameters, None), or (None, the message AnsibleModule fails with for ``args``).

    ``spec`` is the module's: its ``argument_spec`` and the checks across options (``mutually_exclusive``,
    ``required_one_of``, ...). The message is worded as AnsibleModule words it, so a task fails alike whichever runs it."""
    checked = ArgumentSpecValidator(**spec).validate(args)
    if not checked.error_messages:
        return checked.validated_parameters, None
    message = checked.errors.msg
    if isinstance(checked.errors[0], UnsupportedError):
        message = 'Unsupported parameters for (%s) module: %s' % (module_name, message)
    return None, message
