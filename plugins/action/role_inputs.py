# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action role_inputs: a role's variables, typed by its argument spec wherever they came from, and checked whole.

ansible-core's role argument validation converts each value only to check it and leaves the variable as it was, and a
role cannot replace an extra var with set_fact; so ``-e factory_onboarding_naocloud_enabled=false`` stays the string
"false", which is true. This action reads every variable of the role's spec from the task vars (templated, so the
defaults' Jinja is rendered and extra vars win as usual), types it, checks it, and returns the typed values for the
role to ``register``.

What is whose:

* ansible-core's ``ArgumentSpecValidator`` converts each value to its ``type`` (bool from "false"/"no"/"off"/"0"...,
  int and float from text, dict from JSON or ``k=v k2=v2``, path with ``~`` expanded, str from numbers), and applies
  ``required``, ``default`` and ``choices``. It is run on one value at a time, so every problem is known by its place.
* This action adds what ansible-core lacks: lists from a JSON list or from text split at new lines (AWX multiselect
  answers) or commas, with the items stripped; a boolean is refused as a number, a list or dict as text, infinity and
  NaN as numbers; the descent into ``elements`` and ``options`` (unknown keys, a suboption without value and default
  left out rather than set to None, so an empty dict stays empty); the extra ``rules``; messages that name the
  variable, the value's trouble and the rule, and never show a ``no_log`` value.
"""

from __future__ import annotations

import json
import math
import re

from ansible.errors import AnsibleActionFail, AnsibleError, AnsibleUndefinedVariable
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import ArgumentTypeError, ArgumentValueError, RequiredError
from ansible.plugins.action import ActionBase

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import load_private_key
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import key_belongs_to, load_certificate

ARGUMENT_SPEC = dict(
    spec=dict(type='path', required=True),
    entry_point=dict(type='str', default='main'),
    prefix=dict(type='str', default=''),
    rules=dict(type='dict', default={}),
    fail_on_problems=dict(type='bool', default=True),
)

# Keys Ansible gives a meaning in a task result: an option of that name would change how the task is shown or counted.
RESERVED_RESULT_KEYS = frozenset((
    'changed', 'failed', 'msg', 'skipped', 'skip_reason', 'diff', 'results', 'invocation', 'ansible_facts', 'problems',
    'warnings', 'deprecations', 'exception', 'unreachable', 'attempts', 'retries', 'item', 'censored', 'failed_when_result',
    'changed_when_result', 'rc', 'stdout', 'stdout_lines', 'stderr', 'stderr_lines', 'module_stdout', 'module_stderr',
))
RESERVED_RESULT_PREFIXES = ('ansible_', '_ansible_')

# Spec keys that change values or add checks this action does not apply; a spec using them is refused, not half-applied.
UNSUPPORTED_SPEC_KEYS = ('aliases', 'apply_defaults', 'fallback', 'mutually_exclusive', 'required_if', 'required_one_of',
                         'required_together', 'required_by')
# What ansible-core checks of one value; 'elements' and 'options' are descended into here.
CORE_KEYS = ('type', 'required', 'default', 'choices')
RULE_KEYS = frozenset(('min', 'max', 'pattern', 'rule', 'pem', 'passphrase', 'certificate', 'exclusive'))
NUMBER_TYPES = ('int', 'float')
TEXT_TYPES = ('str', 'path')
PEM_FILE_MAX = 1024 * 1024  # a CA's PEM is a few kB: a bigger file is the wrong file, and is not read whole

TYPE_WORDS = {
    'str': 'a string',
    'path': 'a path (text)',
    'int': 'an integer',
    'float': 'a number',
    'bool': 'a boolean (true/false, yes/no, on/off, 1/0)',
    'list': 'a list (a list, a JSON list, or items separated by commas or new lines)',
    'dict': 'a dictionary (a mapping, a JSON object, or key=value pairs separated by spaces)',
    'raw': 'a value',
    'bytes': 'a size in bytes (like 10M)',
    'bits': 'a size in bits (like 1Mb)',
    'json': 'JSON',
    'jsonarg': 'JSON',
}
SHOWN_MAX = 60
_VALUE = 'value'  # the one option of the spec ansible-core checks a value against


class _NotType(Exception):
    """The value cannot be the type its spec declares."""


def shown(value, secret):
    """A value as a message shows it: JSON, cut to SHOWN_MAX characters; "the value" when it is secret."""
    if secret:
        return 'the value'
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 3] + '...'


def is_empty(value):
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def split_list(text):
    """A list from text: a JSON list, else the lines (AWX multiselect answers), else the comma-separated items."""
    stripped = text.strip()
    if stripped.startswith('['):
        try:
            value = json.loads(stripped)
        except ValueError:
            raise _NotType() from None
        if not isinstance(value, list):
            raise _NotType()
        return value
    separator = '\n' if '\n' in stripped else ','
    return [item.strip() for item in stripped.split(separator) if item.strip()]


def prepared(kind, value):
    """The value with what ansible-core does not convert (or converts when it should not) done first."""
    if kind == 'list' and isinstance(value, str):
        return split_list(value)
    if kind == 'dict' and isinstance(value, str) and not value.strip():
        return {}
    if kind in NUMBER_TYPES and isinstance(value, bool):
        raise _NotType()  # ansible-core takes True as 1
    if kind in TEXT_TYPES and isinstance(value, (list, dict)):
        raise _NotType()  # ansible-core would give the text of its Python repr
    return value


def core_checked(spec, value, given):
    """ansible-core's conversion and checks of one value: (typed value, classes of the errors).

    A list's choices are left to its elements, which are typed first."""
    is_list = spec.get('type') == 'list'
    node = {key: spec[key] for key in CORE_KEYS if key in spec and not (is_list and key == 'choices')}
    try:
        checked = ArgumentSpecValidator({_VALUE: node}).validate({_VALUE: value} if given else {})
    except OverflowError:  # ansible-core's int conversion of "inf" does not catch it
        return value, {ArgumentTypeError}
    return checked.validated_parameters.get(_VALUE), {type(error) for error in checked.errors.errors}


def range_words(rule):
    if 'min' in rule and 'max' in rule:
        return 'from %s to %s' % (rule['min'], rule['max'])
    return 'at least %s' % rule['min'] if 'min' in rule else 'at most %s' % rule['max']


def names_of(rule_value):
    """The variable names a rule key gives: one name, or a list of them."""
    return [rule_value] if isinstance(rule_value, str) else list(rule_value or [])


def pem_file_text(path, option):
    """The text of the PEM file a path variable names; ConfigError naming the variable and the file when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(PEM_FILE_MAX + 1)
    except OSError as exc:
        raise ConfigError('%s: cannot read the file %s (%s)' % (option, path, exc.strerror or type(exc).__name__)) from None
    if len(data) > PEM_FILE_MAX:
        raise ConfigError('%s: the file %s is larger than 1 MB, which no PEM certificate or key is' % (option, path))
    return data.decode('utf-8', 'replace')


class Typing:
    """Types the variables of one spec entry point and collects every problem: the types' in the spec's order, then the rules'."""

    def __init__(self, options, prefix, rules):
        self.options = options
        self.prefix = prefix
        self.rules = rules
        self.problems = []
        self.secret_options = set()  # names (without prefix) of the variables that hold a secret value
        self.secret_seen = False  # a secret value was typed into the current variable

    # the configuration: the spec and the rules, checked before any value is read

    def config_problems(self):
        """What is wrong with the spec or the rules (the role's own mistakes), in words."""
        found = []
        for option, spec in self.options.items():
            name = option[len(self.prefix):]
            if not option.startswith(self.prefix) or not name:
                found.append('%s does not start with the prefix %s' % (option, self.prefix))
            elif name in RESERVED_RESULT_KEYS or name.startswith(RESERVED_RESULT_PREFIXES):
                found.append('%s would be returned as %s, which Ansible reserves in a task result; rename the variable'
                             % (option, name))
            found.extend(self._spec_problems(option, spec))
        for name, rule in self.rules.items():
            found.extend(self._rule_problems(name, rule))
        return found

    def _spec_problems(self, path, spec):
        if not isinstance(spec, dict):
            return ['the spec of %s is not a mapping' % path]
        found = ['the spec of %s uses %s, which role_inputs does not apply' % (path, key)
                 for key in UNSUPPORTED_SPEC_KEYS if key in spec]
        if (spec.get('type') or 'str') not in TYPE_WORDS or spec.get('elements', 'raw') not in TYPE_WORDS:
            found.append('the spec of %s has a type role_inputs does not know' % path)
        for sub, sub_spec in (spec.get('options') or {}).items():
            found.extend(self._spec_problems('%s.%s' % (path, sub), sub_spec))
        return found

    def _kind(self, name):
        """The type of an option's values the rules apply to: its type, or its elements' type for a list."""
        spec = self.options.get(self.prefix + name)
        if spec is None:
            return None
        kind = spec.get('type') or 'str'
        return spec.get('elements', 'raw') if kind == 'list' else kind

    def _rule_problems(self, name, rule):
        where = 'rules.%s' % name
        if self._kind(name) is None:
            return ['%s: the spec has no variable %s%s' % (where, self.prefix, name)]
        if not isinstance(rule, dict) or not rule or set(rule) - RULE_KEYS:
            return ['%s must be a mapping of %s' % (where, ', '.join(sorted(RULE_KEYS)))]
        kind = self._kind(name)
        found = []
        for bound in ('min', 'max'):
            if bound in rule and (kind not in NUMBER_TYPES or isinstance(rule[bound], bool)
                                  or not isinstance(rule[bound], (int, float))):
                found.append('%s.%s must be a number, for a variable of numbers' % (where, bound))
        if ('pattern' in rule) != ('rule' in rule):
            found.append('%s: pattern and rule (the pattern in words) go together' % where)
        elif 'pattern' in rule:
            if kind not in TEXT_TYPES:
                found.append('%s.pattern applies to text only' % where)
            try:
                re.compile(rule['pattern'])
            except (re.error, TypeError) as exc:
                found.append('%s.pattern is not a regular expression: %s' % (where, exc))
        if 'pem' in rule:
            found.extend(self._pem_rule_problems(where, rule, kind))
        elif 'passphrase' in rule or 'certificate' in rule:
            found.append('%s: passphrase and certificate go with pem: private_key' % where)
        if 'exclusive' in rule and (not isinstance(rule['exclusive'], str) or self._kind(rule['exclusive']) is None):
            found.append('%s.exclusive must name a variable of the spec' % where)
        return found

    def _pem_rule_problems(self, where, rule, kind):
        """A pem rule checks the text of a str variable, or the file a path variable names."""
        found = []
        if rule['pem'] not in ('certificate', 'private_key') or kind not in TEXT_TYPES:
            found.append('%s.pem must be certificate or private_key, for a variable of type str or path' % where)
        if rule['pem'] != 'private_key' and ('passphrase' in rule or 'certificate' in rule):
            found.append('%s: passphrase and certificate go with pem: private_key' % where)
        if 'passphrase' in rule and self._kind(rule['passphrase']) != 'str':
            found.append('%s.passphrase must name a variable of type str' % where)
        certificates = names_of(rule.get('certificate'))
        if 'certificate' in rule and (not certificates or not all(
                isinstance(name, str) and (self.rules.get(name) or {}).get('pem') == 'certificate' for name in certificates)):
            found.append('%s.certificate must name a variable whose rule is pem: certificate (or a list of them)' % where)
        return found

    # the values

    def typed(self, task_vars, template):
        """The typed value of every variable that has no problem, by its name without the prefix."""
        values = {}
        for option, spec in self.options.items():
            self.secret_seen = False
            value, given = self._read(option, spec, task_vars, template)
            if given is None:
                continue
            value, ok = self._node(option, spec, value, given, False)
            if ok:
                values[option[len(self.prefix):]] = value
            if self.secret_seen:
                self.secret_options.add(option[len(self.prefix):])
        self._apply_rules(values)
        return values

    def _read(self, option, spec, task_vars, template):
        """(templated value, whether one was given), or (None, None) when it cannot be templated."""
        if option not in task_vars:
            return None, False
        try:
            value = template(task_vars[option])
        except AnsibleError as exc:
            if spec.get('no_log'):
                cause = 'it uses an undefined variable' if isinstance(exc, AnsibleUndefinedVariable) else 'a template error'
                self._problem(option, 'the value cannot be templated: %s' % cause)
            else:
                self._problem(option, 'the value cannot be templated: %s' % exc.message)
            return None, None
        return value, value is not None

    def _problem(self, path, text):
        self.problems.append('%s: %s' % (path, text))

    def _node(self, path, spec, value, given, secret):
        """(typed value, True) for one value against its spec, or (None, False) after noting its problems.

        A value of None counts as not given, so the spec's default applies."""
        kind = spec.get('type') or 'str'
        secret = secret or bool(spec.get('no_log'))
        try:
            typed, errors = core_checked(spec, prepared(kind, value) if given else value, given)
            if ArgumentTypeError in errors or (kind == 'float' and isinstance(typed, float) and not math.isfinite(typed)):
                raise _NotType()
        except _NotType:
            self._problem(path, '%s is not %s' % (shown(value, secret), TYPE_WORDS[kind]))
            return None, False
        if RequiredError in errors:
            self._problem(path, 'no value was given, and it is required')
            return None, False
        if ArgumentValueError in errors:
            self._problem(path, '%s is not one of %s' % (shown(typed, secret), ', '.join(str(choice) for choice in spec['choices'])))
            return None, False
        if errors:  # a check of ansible-core's this action has no words of its own for
            self._problem(path, 'the value was refused by ansible-core (%s)' % ', '.join(sorted(error.__name__ for error in errors)))
            return None, False
        if secret and not is_empty(typed):
            self.secret_seen = True
        if kind == 'list' and isinstance(typed, list) and any(key in spec for key in ('elements', 'choices', 'options')):
            return self._elements(path, spec, typed, secret)
        if kind == 'dict' and isinstance(typed, dict) and spec.get('options'):
            return self._suboptions(path, spec['options'], typed, secret)
        return typed, True

    def _elements(self, path, spec, items, secret):
        element = {'type': spec.get('elements', 'raw')}
        element.update((key, spec[key]) for key in ('choices', 'options') if key in spec)
        typed, all_ok = [], True
        for index, item in enumerate(items):
            value, ok = self._node('%s[%d]' % (path, index), element, item, True, secret)
            typed.append(value)
            all_ok = all_ok and ok
        return (typed, True) if all_ok else (None, False)

    def _suboptions(self, path, options, given, secret):
        all_ok = True
        unknown = sorted(str(key) for key in given if key not in options)
        if unknown:
            self._problem(path, 'unknown key%s %s (the keys are %s)' % ('s' if len(unknown) > 1 else '', ', '.join(unknown),
                                                                        ', '.join(options)))
            all_ok = False
        typed = {}
        for sub, spec in options.items():
            value = given.get(sub)
            value, ok = self._node('%s.%s' % (path, sub), spec, value, value is not None, secret)
            all_ok = all_ok and ok
            if ok and value is not None:
                typed[sub] = value
        return (typed, True) if all_ok else (None, False)

    # the rules, on the typed values

    def _apply_rules(self, values):
        given = set(name for name, value in values.items() if not is_empty(value))  # before a rule takes any value out
        for name, rule in self.rules.items():
            if name not in given:
                continue
            option, value = self.prefix + name, values[name]
            if rule.get('exclusive') in given:
                self._problem(option, 'given together with %s%s: they are two ways to give the same thing, give one of them'
                              % (self.prefix, rule['exclusive']))
                values.pop(name, None)
            secret = bool(self.options[option].get('no_log'))
            items = value if isinstance(value, list) else [value]
            paths = ['%s[%d]' % (option, index) for index in range(len(items))] if isinstance(value, list) else [option]
            for path, item in zip(paths, items):
                if not is_empty(item) and not self._rule_holds(path, rule, item, secret, values):
                    values.pop(name, None)

    def _rule_holds(self, path, rule, value, secret, values):
        if ('min' in rule and value < rule['min']) or ('max' in rule and value > rule['max']):
            self._problem(path, '%s is out of range: %s' % (shown(value, secret), range_words(rule)))
            return False
        if 'pattern' in rule and not re.fullmatch(rule['pattern'], value):
            self._problem(path, '%s does not follow the rule: %s' % (shown(value, secret), rule['rule']))
            return False
        if 'pem' in rule:
            return self._pem_holds(path, rule, value, values)
        return True

    def _pem_text(self, name, path, value):
        """(the PEM text of a variable, the words that name it): its value, or for a path the content of its file."""
        if self._kind(name) != 'path':
            return value, path
        return pem_file_text(value, path), '%s (the file %s)' % (path, value)

    def _pem_holds(self, path, rule, value, values):
        passphrase_name = rule.get('passphrase')
        name = path[len(self.prefix):].split('[', 1)[0]
        try:
            text, words = self._pem_text(name, path, value)
            if rule['pem'] == 'certificate':
                load_certificate(text, words)
                return True
            key = load_private_key(text, words, values.get(passphrase_name) or None,
                                   self.prefix + passphrase_name if passphrase_name else 'a passphrase variable, which this role has not')
        except IotopsError as exc:  # its words name the variable and the rule, never the value
            self.problems.append(str(exc))
            return False
        return self._key_matches(path, key, rule.get('certificate'), values)

    def _key_matches(self, path, key, certificate_names, values):
        """Whether the key belongs to the certificate of the first of ``certificate_names`` that is given."""
        given = [name for name in names_of(certificate_names) if not is_empty(values.get(name))]
        if not given:
            return True
        try:
            text, words = self._pem_text(given[0], self.prefix + given[0], values[given[0]])
            certificate = load_certificate(text, words)
        except IotopsError:
            return True  # the certificate's own pem rule says what is wrong with it
        if key_belongs_to(certificate, key):
            return True
        self._problem(path, 'the private key does not belong to the certificate in %s%s (their public keys differ)'
                      % (self.prefix, given[0]))
        return False


def cut_extra_vars(task_vars):
    """The problem of an ``-e key=value`` whose value had spaces, or None. Ansible splits such an -e at the spaces, keeps the
    first word as the value and the rest as ``_raw_params``, silently: a reason or a name would reach the role cut."""
    leftover = task_vars.get('_raw_params')
    if not isinstance(leftover, str) or not leftover.strip():
        return None
    return ("an -e value with spaces was cut at the first space by ansible-playbook (%r was left over): quote the value, as in "
            "-e \"name='two words'\", or give JSON, as in -e '{\"name\": \"two words\"}'" % leftover)


class ActionModule(ActionBase):
    """Types and checks a role's variables; returns them by their names without the prefix, and every problem."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # it only reads
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            options = self._entry_point_options(args['spec'], args['entry_point'])
        except AnsibleActionFail as exc:
            return self._failed(result, [exc.message])
        typing = Typing(options, args['prefix'], args['rules'])
        mistakes = typing.config_problems()
        if mistakes:
            return self._failed(result, ['role_inputs: %s' % mistake for mistake in mistakes])
        values = typing.typed(task_vars, self._templar.template)
        cut = cut_extra_vars(task_vars)
        if cut:
            typing.problems.insert(0, cut)
        if typing.problems and args['fail_on_problems']:
            # a failed result is shown whole: leave the secrets out
            for name in typing.secret_options:
                values.pop(name, None)
            result.update(values)
            return self._failed(result, typing.problems)
        # without fail_on_problems the caller reports the problems with its own; the values without a problem are typed
        result.update(values)
        result.update(changed=False, problems=typing.problems)
        if typing.secret_options:
            result['_ansible_no_log'] = True  # the registered variable keeps the values; the output does not show them
        return result

    def _entry_point_options(self, path, entry_point):
        """The options of the entry point of a role's argument spec file (meta/argument_specs.yml or meta/main.yml)."""
        try:
            data = self._loader.load_from_file(self._loader.path_dwim(path))
        except AnsibleError as exc:
            raise AnsibleActionFail('role_inputs: cannot read the argument spec %s: %s' % (path, exc.message)) from None
        entry_points = data.get('argument_specs') if isinstance(data, dict) else None
        if not isinstance(entry_points, dict):
            raise AnsibleActionFail('role_inputs: %s has no argument_specs mapping' % path)
        entry = entry_points.get(entry_point)
        if not isinstance(entry, dict) or not isinstance(entry.get('options', {}), dict):
            raise AnsibleActionFail('role_inputs: %s has no entry point %s with options (it has %s)'
                                    % (path, entry_point, ', '.join(map(str, entry_points)) or 'none'))
        return entry.get('options') or {}

    @staticmethod
    def _failed(result, problems):
        result.update(changed=False, failed=True, problems=problems,
                      msg='%d problem%s: %s' % (len(problems), '' if len(problems) == 1 else 's', '; '.join(problems)))
        return result
