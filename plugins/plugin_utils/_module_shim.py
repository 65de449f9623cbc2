# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An object that looks enough like an AnsibleModule for the collection's vendor client factories.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The factories (``nrfcloud_client(module)``, ``ublox_client``, ``iotcomms_client``, ``naocloud_client``) read
``module.params``, add run-time secrets to ``module.no_log_values``, warn through ``module.warn`` and name the caller in
the User-Agent from ``module._name``. A controller plugin (the fleet inventory) gives them this shim instead of a module,
so that one code path serves both, with the options checked by the same argument spec, defaults and environment
fallbacks as the modules' (the option adapter of community.hashi_vault plays the same part there).
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, Redactor


class ModuleShim:
    """``params``, ``no_log_values``, ``warn`` and ``_name``: the part of AnsibleModule the client factories use."""

    check_mode = False
    _diff = False

    def __init__(self, params, no_log_values=(), warn=None, name=''):
        self.params = params
        self.no_log_values = set(no_log_values)
        self._warn = warn
        self._name = name

    def warn(self, msg):
        if self._warn is not None:
            self._warn(self.redact(msg))

    def redact(self, text):
        """``text`` without any of the secrets known so far (options marked no_log, tokens learnt at run time)."""
        redactor = Redactor()
        for value in self.no_log_values:
            redactor.add(value)
        return redactor(text)


def module_shim(argument_spec, options, warn=None, name='', where='options'):
    """A ModuleShim whose ``params`` are ``options`` checked against ``argument_spec`` as AnsibleModule checks a task's
    arguments: types, choices, defaults and environment fallbacks; unknown names are refused. ConfigError lists every
    problem, with the secrets removed, prefixed by ``where``."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ConfigError('%s must be a mapping of options, got %s' % (where, type(options).__name__))
    result = ArgumentSpecValidator(argument_spec).validate(options)
    # pylint: disable-next=protected-access
    no_log_values = set(result._no_log_values)
    shim = ModuleShim(result.validated_parameters, no_log_values, warn=warn, name=name)
    # AnsibleModule's own wording of an unknown option names a module; say it as an option of ``where``
    problems = [str(error) for error in result.errors if not isinstance(error, UnsupportedError)]
    if result.unsupported_parameters:
        problems.insert(0, 'unknown option(s) %s; the options are %s' % (
            ', '.join(sorted(result.unsupported_parameters)), ', '.join(sorted(argument_spec))))
    if problems:
        raise ConfigError('%s: %s' % (where, shim.redact('; '.join(problems))))
    return shim
