# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection shares: connection options, client construction, failure reporting.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import datetime
import math
import os

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.iotops.provisioning.plugins.module_utils._deps import MissingLibraryError, require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError, Redactor
from ansible_collections.iotops.provisioning.plugins.module_utils._http import WRITES, HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils._no_log import lean_no_log

# The connection options of every module; documented once in the iotops.provisioning.connection doc fragment.
CONNECTION_ARGSPEC = dict(
    timeout=dict(type='float', default=30.0, fallback=(env_fallback, ['IOTOPS_TIMEOUT'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['IOTOPS_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['IOTOPS_CA_PATH'])),
    use_proxy=dict(type='bool', default=True, fallback=(env_fallback, ['IOTOPS_USE_PROXY'])),
    retries=dict(type='int', default=5, fallback=(env_fallback, ['IOTOPS_RETRIES'])),
    retry_max_wait=dict(type='float', default=60.0, fallback=(env_fallback, ['IOTOPS_RETRY_MAX_WAIT'])),
    # requests/s of the module run's vendor account, all its threads together; unset or 0: no limit (_rate.py)
    rate_limit=dict(type='float', fallback=(env_fallback, ['IOTOPS_RATE_LIMIT'])),
)
MAX_RATE_LIMIT = 100000.0


def argument_spec(vendor_spec, **module_spec):
    """The full argument spec: the vendor's auth/URL options, the connection options, then the module's own."""
    spec = {}
    spec.update(vendor_spec)
    spec.update(CONNECTION_ARGSPEC)
    spec.update(module_spec)
    return spec


def credential_env_fallback(*_names):
    """The environment fallback of a credential option: applied by ``credentials_from_environment``, not while AnsibleModule
    parses the task.

    AnsibleModule fills each option from its variable on its own, so a task's own credential (a ``private_key``) met another
    one from the environment (IOTCOMMS_PRIVATE_KEY_PATH from an AWX credential) and the pair was refused, or used the
    environment's instead. A vendor's credential options come from the environment only as a whole, and only when the task
    gives none of them. The variable names stay in the argument spec: it is the one table of environment variables that the
    docs and the AWX credential types follow."""
    raise AnsibleFallbackNotFound


def credentials_from_environment(module, argspec, options):
    """Fill the credential ``options`` from their environment variables when the task gives none of them; the names taken."""
    params = module.params
    if any(params.get(option) not in (None, '') for option in options):
        return []
    taken = []
    for option in options:
        (name,) = argspec[option]['fallback'][1]
        value = os.environ.get(name)
        if not value:
            continue
        if argspec[option].get('no_log'):
            module.no_log_values.add(value)
        params[option] = os.path.expanduser(os.path.expandvars(value)) if argspec[option].get('type') == 'path' else value
        taken.append(name)
    return taken


def validate_connection(params):
    """Check the connection options before any request."""
    if params['timeout'] <= 0:
        raise ConfigError('timeout must be greater than 0 seconds, got %s' % params['timeout'])
    if not 0 <= params['retries'] <= 20:
        raise ConfigError('retries must be from 0 to 20, got %s' % params['retries'])
    if not 0 <= params['retry_max_wait'] <= 3600:
        raise ConfigError('retry_max_wait must be from 0 to 3600 seconds, got %s' % params['retry_max_wait'])
    rate_limit = params.get('rate_limit')
    if rate_limit is not None and not (math.isfinite(rate_limit) and 0 <= rate_limit <= MAX_RATE_LIMIT):
        raise ConfigError('rate_limit must be from 0 (no limit) to %d requests per second, got %s' % (MAX_RATE_LIMIT, rate_limit))
    ca_path = params.get('ca_path')
    if ca_path and not os.access(ca_path, os.R_OK):
        raise ConfigError('ca_path: cannot read the CA bundle %s' % ca_path)


def validate_url(value, option):
    if not value or not (value.startswith('https://') or value.startswith('http://')):
        raise ConfigError('%s must be an http:// or https:// URL, got %r' % (option, value))


def new_redactor(module, register_runtime_secrets=True):
    """A Redactor that knows the module's no_log values; runtime tokens are mirrored into no_log_values.

    Token modules pass ``register_runtime_secrets=False``: the token is their result, and Ansible
    would otherwise replace it with a placeholder.
    """
    redactor = Redactor(on_add=module.no_log_values.add if register_runtime_secrets else None)
    for value in module.no_log_values:
        redactor.add(value)
    return redactor


def user_agent(module):
    """``iotops.provisioning (<module>)``: a vendor's request log, and the mock's record of which module calls which
    endpoint (docs/api-coverage.md), can tell the modules apart. ``_name`` is the task's action (FQCN or short name)."""
    name = getattr(module, '_name', '') or ''
    short = name.rsplit('.', 1)[-1]
    if not short or name.endswith('.py'):   # AnsibleModule's placeholder before it knows its name
        return 'iotops.provisioning'
    return 'iotops.provisioning (%s)' % short


def http_client(module, vendor, base_url, auth, error_parser, redactor, concurrency=1):
    """An HttpClient configured from the module's connection options.

    One connection more than ``concurrency``: a module may read a status list beside the items its pool works."""
    require('requests')
    params = module.params
    return HttpClient(vendor, base_url, auth=auth, error_parser=error_parser, timeout=params['timeout'],
                      validate_certs=params['validate_certs'], ca_path=params['ca_path'], use_proxy=params['use_proxy'],
                      retries=params['retries'], retry_max_wait=params['retry_max_wait'], redactor=redactor, warn=module.warn,
                      pool_size=max(10, concurrency + 1), user_agent=user_agent(module), rate_limit=params.get('rate_limit') or None)


def run(module, main):
    """Call ``main()`` and turn collection errors into fail_json with a redacted message.

    A failure after a write still reports ``changed=true``: the task did change something."""
    WRITES.reset()  # one ledger per module run (the unit tests run many modules in one process)
    lean_no_log(module)  # a secret per item of a batch: see _no_log
    try:
        main()
    except MissingLibraryError as exc:
        module.fail_json(msg=exc.msg, exception=exc.details.get('exception'))
    except IotopsError as exc:
        redact = Redactor()
        for value in module.no_log_values:
            redact.add(value)
        details = dict(exc.details)
        details.setdefault('changed', WRITES.total > 0)
        module.fail_json(msg=redact(exc.msg), **details)


def iso_utc(epoch):
    """Epoch seconds as ISO 8601 UTC with a Z, the date format of the collection's results."""
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
