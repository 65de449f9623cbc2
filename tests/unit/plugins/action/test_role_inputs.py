# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_inputs types a role's variables the same from every source: real ansible-playbook runs of a throw-away role
(fixtures/roles/typed) with its variables given as -e key=value, -e @file (YAML and JSON), JSON -e, inventory
variables and AWX survey answers; bad values fail one task that lists every problem and never shows a secret; and a run
of the factory_onboarding role's own role_inputs task, spec, rules and defaults.

Each ansible-playbook run costs a second or two of start-up, so the runs of this file start together, once."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.iotops.provisioning.plugins.action.role_inputs import Typing

from iotops_mock.factory_ca import factory_ca_pems

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_ROLES = os.path.join(HERE, 'fixtures', 'roles')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
REAL_ROLE = os.path.join(REPO, 'roles', 'factory_onboarding')
FIXTURE_TASK = "typed : Type the fixture's variables"
SHOW_TASK = 'Show the typed values, the secrets by their SHA-256'
REAL_SECRETS = ['nrfcloud_ca_private_key', 'nrfcloud_ca_private_key_passphrase']
PASSPHRASE = 'pass phrase 7'
INVENTORY = 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n'
RESULT_LINE = re.compile(r'^(?P<status>ok|fatal): \[localhost\](?:: FAILED!)? => (?P<result>\{.*\})$')

# The fixture's variables as the tests mean them, and as role_inputs must return them from every source.
TYPED = dict(enabled=False, count=7, ratio=0.25, name='line-7', label='line-7-report', dir=os.path.expanduser('~/batches'),
             numbers=[1, 2, 3], kinds=['APP', 'MODEM'], settings=dict(retries=3, verbose=False, label='night shift'), token='',
             mode='fast', level=3, note=None, site=42)
NATIVE = dict(typed_enabled=False, typed_count=7, typed_ratio=0.25, typed_name='line-7', typed_dir='~/batches',
              typed_numbers=[1, 2, 3], typed_kinds=['APP', 'MODEM'],
              typed_settings=dict(retries=3, verbose=False, label='night shift'), typed_mode='fast', typed_site=42)
# AWX survey answers: integer and float questions give numbers, text, textarea and multiple choice give text, a multiselect
# gives a list (newer AWX) or its choices joined with new lines (older AWX).
AWX = dict(typed_enabled='false', typed_count=7, typed_ratio=0.25, typed_name='line-7', typed_dir='~/batches',
           typed_numbers='1,2,3', typed_kinds=['APP', 'MODEM'], typed_settings="retries=3 verbose=no label='night shift'",
           typed_mode='fast', typed_site=42)


def write(path, text):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return path


def source_kv(work):
    return ['-e', 'typed_enabled=false', '-e', 'typed_count=7', '-e', 'typed_ratio=0.25', '-e', 'typed_name=line-7',
            '-e', 'typed_dir=~/batches', '-e', 'typed_numbers=1,2,3', '-e', 'typed_kinds="APP, MODEM"',
            '-e', '''typed_settings="retries=3 verbose=no label='night shift'"''', '-e', 'typed_mode=fast', '-e', 'typed_site=42']


def source_vars_yml(work):
    return ['-e', '@' + write(os.path.join(work, 'vars.yml'), yaml.safe_dump(NATIVE))]


def source_vars_json(work):
    return ['-e', '@' + write(os.path.join(work, 'vars.json'), json.dumps(NATIVE))]


def source_json(work):
    """A JSON -e as a script writes it, with numbers, booleans, a list and a dict as text; in check mode."""
    answers = dict(typed_enabled='no', typed_count='7', typed_ratio='0.25', typed_name='line-7', typed_dir='~/batches',
                   typed_numbers=[1, '2', 3], typed_kinds='["APP", "MODEM"]',
                   typed_settings='{"retries": "3", "verbose": "off", "label": "night shift"}', typed_mode='fast',
                   typed_site='42')
    return ['--check', '-e', json.dumps(answers)]


def source_inventory(work):
    """An INI inventory: "false" stays text there, numbers, lists and dicts are read as Python literals."""
    write(os.path.join(work, 'inventory.ini'), INVENTORY + '\n[all:vars]\n' + '\n'.join((
        'typed_enabled=false', 'typed_count=7', 'typed_ratio=0.25', 'typed_name=line-7', 'typed_dir=~/batches',
        'typed_numbers=[1, 2, 3]', 'typed_kinds=APP,MODEM',
        "typed_settings={'retries': 3, 'verbose': 'no', 'label': 'night shift'}", 'typed_mode=fast', 'typed_site=42')) + '\n')
    return []


def source_awx_multiselect_list(work):
    return ['-e', '@' + write(os.path.join(work, 'extravars'), json.dumps(AWX))]


def source_awx_multiselect_lines(work):
    return ['-e', '@' + write(os.path.join(work, 'extravars'), json.dumps(dict(AWX, typed_kinds='APP\nMODEM')))]


SOURCES = {
    'key=value': source_kv,
    '@vars.yml': source_vars_yml,
    '@vars.json': source_vars_json,
    'JSON -e': source_json,
    'inventory': source_inventory,
    'AWX multiselect list': source_awx_multiselect_list,
    'AWX multiselect lines': source_awx_multiselect_lines,
}

# Bad values, each with its problem. ansible-core's own validation of the role's spec stops the play on the type errors
# before the role's first task, with its own words; this run turns it off (rolespec_validate) to see role_inputs' own.
BAD = dict(typed_enabled='maybe', typed_count='ten', typed_ratio='inf', typed_name='line/7', typed_dir='/srv/x',
           typed_numbers='1,x,3', typed_kinds={'APP': 1},
           typed_settings=dict(retries='many', colour='red', password=['hunter2-secret']), typed_token='bad token!',
           typed_mode='slow')
BAD_PROBLEMS = [
    'typed_enabled: "maybe" is not a boolean (true/false, yes/no, on/off, 1/0)',
    'typed_count: "ten" is not an integer',
    'typed_ratio: "inf" is not a number',
    'typed_numbers[1]: "x" is not an integer',
    'typed_kinds: {"APP": 1} is not a list (a list, a JSON list, or items separated by commas or new lines)',
    'typed_settings: unknown key colour (the keys are retries, verbose, label, password)',
    'typed_settings.retries: "many" is not an integer',
    'typed_settings.password: the value is not a string',
    'typed_mode: "slow" is not one of fast, safe',
    'typed_site: no value was given, and it is required',
    'typed_name: "line/7" does not follow the rule: 1 to 32 letters, digits or dashes',
    'typed_token: the value does not follow the rule: 8 or more letters, digits or dashes',
]


def play(work, role, validate=True):
    """A play of one role on localhost: as playbooks name it (ansible-core validates the spec first), or without that."""
    if validate:
        plays = [{'hosts': 'localhost', 'gather_facts': False, 'roles': [{'role': role}]}]
    else:
        plays = [{'hosts': 'localhost', 'gather_facts': False,
                  'tasks': [{'ansible.builtin.include_role': {'name': role, 'rolespec_validate': False}}]}]
    return write(os.path.join(work, 'play.yml'), json.dumps(plays))


def ansible_playbook(work, collections_root, roles_path, playbook, args):
    """rc and output of ``ansible-playbook -v`` on the inventory in ``work`` (inventory.ini, written if missing)."""
    inventory = os.path.join(work, 'inventory.ini')
    if not os.path.exists(inventory):
        write(inventory, INVENTORY)
    env = {name: value for name, value in os.environ.items() if not name.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_ROLES_PATH=roles_path, ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_STDOUT_CALLBACK='default',
               ANSIBLE_CALLBACK_RESULT_FORMAT='json', ANSIBLE_CALLBACK_FORMAT_PRETTY='0',
               ANSIBLE_HOME=os.path.join(work, 'home'), ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'))
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-v', '-i', inventory, playbook] + args
    done = subprocess.run(command, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, timeout=120, check=False)
    return done.returncode, done.stdout


def task_result(stdout, task, status='ok'):
    """The result the default callback shows (-v, JSON on one line) for the task of that name, which ended ``status``."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith('TASK [%s]' % task))
    for line in lines[start + 1:]:
        if line.startswith('TASK ['):
            break
        match = RESULT_LINE.match(line)
        if match:
            assert match['status'] == status, line
            return json.loads(match['result'])
    raise AssertionError('no result of %s in:\n%s' % (task, stdout))


def real_inputs_task():
    """factory_onboarding's own role_inputs task."""
    with open(os.path.join(REAL_ROLE, 'tasks', 'main.yml'), encoding='utf-8') as handle:
        return next(task for task in yaml.safe_load(handle) if 'iotops.provisioning.role_inputs' in task)


def real_role(work):
    """A role with factory_onboarding's defaults and meta (spec), whose tasks are factory_onboarding's own role_inputs task
    and a debug of its result with the secrets shown as their SHA-256."""
    role = os.path.join(work, 'roles', 'factory_onboarding_inputs')
    os.makedirs(os.path.join(role, 'tasks'))
    for part in ('defaults', 'meta'):
        os.symlink(os.path.join(REAL_ROLE, part), os.path.join(role, part))
    show = {'name': SHOW_TASK, 'ansible.builtin.debug': {'msg': {
        'typed': "{{ factory_onboarding_in | dict2items | rejectattr('key', 'in', %s) | items2dict }}" % REAL_SECRETS,
        'sha256': {name: "{{ factory_onboarding_in.%s | default('') | hash('sha256') }}" % name for name in REAL_SECRETS}}}}
    write(os.path.join(role, 'tasks', 'main.yml'), json.dumps([real_inputs_task(), show]))
    return os.path.join(work, 'roles')


def real_answers(work, **changes):
    """factory_onboarding's variables as an AWX job passes them: survey answers (text, integers, a multiselect as a list and
    one as lines) and the factory CA from a credential."""
    certificate, key = factory_ca_pems('Role Inputs Test CA', PASSPHRASE)
    answers = dict(factory_onboarding_manifest=os.path.join(work, 'line-7.csv'), factory_onboarding_naocloud_enabled='false',
                   factory_onboarding_chunk_size='10', factory_onboarding_concurrency=16, factory_onboarding_wait='0',
                   factory_onboarding_wait_interval='0.5',
                   factory_onboarding_ublox_authorizations='{"local_dpr": "yes", "ztpv1": false}',
                   factory_onboarding_nrfcloud_fw_types=['APP', 'MODEM'], factory_onboarding_nrfcloud_device_tags='line-7\nnight-shift',
                   factory_onboarding_nrfcloud_ca_certificate=certificate, factory_onboarding_nrfcloud_ca_private_key=key,
                   factory_onboarding_nrfcloud_ca_private_key_passphrase=PASSPHRASE)
    answers.update(changes)
    return answers


def run_fixture(name, work, collections_root):
    args = SOURCES[name](work)
    return ansible_playbook(work, collections_root, FIXTURE_ROLES, play(work, 'typed'), args)


def run_fixture_bad(work, collections_root):
    args = ['-e', '@' + write(os.path.join(work, 'bad.json'), json.dumps(BAD))]
    return ansible_playbook(work, collections_root, FIXTURE_ROLES, play(work, 'typed', validate=False), args)


def run_fixture_cut(work, collections_root):
    """The name typed on the command line without quotes, as an operator does: ansible-playbook cuts it at the space."""
    args = source_kv(work) + ['-e', 'typed_name=line 7']
    return ansible_playbook(work, collections_root, FIXTURE_ROLES, play(work, 'typed', validate=False), args)


def run_real(work, collections_root, answers):
    roles = real_role(work)
    args = ['-e', '@' + write(os.path.join(work, 'extravars'), json.dumps(answers))]
    return ansible_playbook(work, collections_root, roles, play(work, 'factory_onboarding_inputs'), args)


@pytest.fixture(scope='module')
def runs(tmp_path_factory, collections_root):
    """Every ansible-playbook run of this file, started together: name -> (rc, output, work directory, answers)."""
    def work():
        return str(tmp_path_factory.mktemp('role-inputs'))

    good_dir, bad_dir = work(), work()
    _other_certificate, other_key = factory_ca_pems('Another CA', PASSPHRASE)
    real = {'real': (good_dir, real_answers(good_dir)),
            'real bad': (bad_dir, real_answers(bad_dir, factory_onboarding_chunk_size='0', factory_onboarding_concurrency=100,
                                               factory_onboarding_batch_name='line/7',
                                               factory_onboarding_nrfcloud_csr_attributes='CN=evil',
                                               factory_onboarding_nrfcloud_device_tags='line-7\nnight shift',
                                               factory_onboarding_nrfcloud_ca_private_key=other_key))}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: (pool.submit(run_fixture, name, path, collections_root), path, None)
                   for name, path in ((name, work()) for name in SOURCES)}
        bad = work()
        futures['bad'] = (pool.submit(run_fixture_bad, bad, collections_root), bad, BAD)
        cut = work()
        futures['cut'] = (pool.submit(run_fixture_cut, cut, collections_root), cut, None)
        for name, (path, answers) in real.items():
            futures[name] = (pool.submit(run_real, path, collections_root, answers), path, answers)
        return {name: future.result() + (path, answers) for name, (future, path, answers) in futures.items()}


@pytest.mark.parametrize('source', list(SOURCES))
def test_every_source_gives_the_same_typed_values(runs, source):
    rc, stdout, work, _answers = runs[source]
    assert rc == 0, stdout
    result = task_result(stdout, FIXTURE_TASK)
    # the defaults' templates are rendered: the label from the given name, the report directory from the playbook's
    expected = dict(TYPED, report_dir=os.path.join(work, 'reports'), changed=False, problems=[])
    assert {key: value for key, value in result.items() if key != 'failed'} == expected, stdout


def test_bad_values_fail_one_task_with_every_problem_and_no_secret(runs):
    rc, stdout, work, _answers = runs['bad']
    assert rc == 2, stdout
    assert re.search(r'^localhost\s+: .* failed=1 ', stdout, re.M) and stdout.count('fatal: ') == 1, stdout
    result = task_result(stdout, FIXTURE_TASK, 'fatal')
    assert result['problems'] == BAD_PROBLEMS, stdout
    assert result['msg'] == '12 problems: ' + '; '.join(BAD_PROBLEMS)
    # what could be typed is there anyway; what has a problem is not
    assert {key: result[key] for key in ('dir', 'label', 'report_dir', 'level', 'note')} == dict(
        dir='/srv/x', label='line/7-report', report_dir=os.path.join(work, 'reports'), level=3, note=None)
    assert not set(result) & {'enabled', 'count', 'ratio', 'name', 'numbers', 'kinds', 'settings', 'token', 'mode', 'site'}
    assert 'hunter2-secret' not in stdout and 'bad token!' not in stdout


def test_a_value_cut_at_a_space_is_refused_not_taken_short(runs):
    rc, stdout, _work, _answers = runs['cut']
    assert rc == 2, stdout
    result = task_result(stdout, FIXTURE_TASK, 'fatal')
    assert result['problems'] == ["an -e value with spaces was cut at the first space by ansible-playbook ('7' was left over): "
                                  "quote the value, as in -e \"name='two words'\", or give JSON, as in -e '{\"name\": \"two words\"}'"]


def real_spec_names():
    with open(os.path.join(REAL_ROLE, 'meta', 'argument_specs.yml'), encoding='utf-8') as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    return {name[len('factory_onboarding_'):] for name in options}


def test_the_factory_onboarding_role_types_awx_answers(runs):
    rc, stdout, work, answers = runs['real']
    assert rc == 0, stdout
    shown = task_result(stdout, 'factory_onboarding_inputs : ' + SHOW_TASK)['msg']
    typed = shown['typed']
    assert typed['problems'] == [] and 'msg' not in typed, stdout
    # every variable of the spec, by its name without the prefix (the role's task adds failed_when_result)
    assert set(typed) - {'changed', 'failed', 'failed_when_result', 'problems'} | set(REAL_SECRETS) == real_spec_names()
    assert {key: typed[key] for key in ('naocloud_enabled', 'nrfcloud_enabled', 'chunk_size', 'concurrency', 'wait',
                                        'wait_interval', 'ublox_authorizations', 'nrfcloud_fw_types', 'nrfcloud_device_tags',
                                        'batch_name', 'ublox_tag', 'iotcomms_description', 'report_dir')} == dict(
        naocloud_enabled=False, nrfcloud_enabled=True, chunk_size=10, concurrency=16, wait=0, wait_interval=0.5,
        ublox_authorizations=dict(local_dpr=True, ztpv1=False), nrfcloud_fw_types=['APP', 'MODEM'],
        nrfcloud_device_tags=['line-7', 'night-shift'], batch_name='line-7', ublox_tag='line-7', iotcomms_description='line-7',
        report_dir=os.path.join(work, 'reports'))
    # the secrets reached the registered variable unchanged, and the output shows neither them nor the role_inputs result
    assert shown['sha256'] == {name: hashlib.sha256(answers['factory_onboarding_' + name].encode()).hexdigest()
                               for name in REAL_SECRETS}
    inputs = task_result(stdout, 'factory_onboarding_inputs : ' + real_inputs_task()['name'])
    assert inputs['censored'].startswith('the output has been hidden')
    assert PASSPHRASE not in stdout and answers['factory_onboarding_nrfcloud_ca_private_key'].splitlines()[1] not in stdout


def test_the_factory_onboarding_role_refuses_what_ansible_core_lets_through(runs):
    rc, stdout, _work, answers = runs['real bad']
    assert rc == 0, stdout  # the role's task does not fail by itself: the role reports these with the manifest's problems
    typed = task_result(stdout, 'factory_onboarding_inputs : ' + SHOW_TASK)['msg']['typed']
    problems = typed['problems']
    assert not typed.get('failed') and 'msg' not in typed, stdout  # fail_on_problems: false, the role words them with its own
    assert [problem.split(':')[0] for problem in problems] == [
        'factory_onboarding_batch_name', 'factory_onboarding_chunk_size', 'factory_onboarding_concurrency',
        'factory_onboarding_nrfcloud_ca_private_key', 'factory_onboarding_nrfcloud_device_tags[1]',
        'factory_onboarding_nrfcloud_csr_attributes'], stdout
    assert problems[0].startswith('factory_onboarding_batch_name: "line/7" does not follow the rule: ')
    assert problems[1:3] == ['factory_onboarding_chunk_size: 0 is out of range: at least 1',
                             'factory_onboarding_concurrency: 100 is out of range: from 1 to 64']
    assert problems[3] == ('factory_onboarding_nrfcloud_ca_private_key: the private key does not belong to the certificate in '
                           'factory_onboarding_nrfcloud_ca_certificate (their public keys differ)')
    assert problems[5].startswith('factory_onboarding_nrfcloud_csr_attributes: "CN=evil" does not follow the rule: ')
    # a tag nRF Cloud device management refuses is found here, not when the devices are onboarded
    assert problems[4].startswith('factory_onboarding_nrfcloud_device_tags[1]: "night shift" does not follow the rule: letters')
    # the variables with a problem are left out; the secrets are shown by their SHA-256 only
    assert not set(typed) & {'batch_name', 'chunk_size', 'concurrency', 'nrfcloud_csr_attributes'}
    assert typed['naocloud_enabled'] is False and typed['nrfcloud_ca_certificate'].startswith('-----BEGIN CERTIFICATE-----')
    assert PASSPHRASE not in stdout and answers['factory_onboarding_nrfcloud_ca_private_key'].splitlines()[1] not in stdout


# The role's own mistakes, found before any value is read (no ansible-playbook needed).

@pytest.mark.parametrize('options, rules, problem', [
    ({'x_changed': {'type': 'bool'}}, {}, 'x_changed would be returned as changed, which Ansible reserves in a task result'),
    ({'x_ansible_facts_x': {}}, {}, 'would be returned as ansible_facts_x, which Ansible reserves'),
    ({'y_count': {'type': 'int'}}, {}, 'y_count does not start with the prefix x_'),
    ({'x_count': {'type': 'int', 'aliases': ['x_n']}}, {}, 'the spec of x_count uses aliases, which role_inputs does not apply'),
    ({'x_d': {'type': 'dict', 'options': {'a': {'type': 'str', 'fallback': ['env', ['A']]}}}}, {},
     'the spec of x_d.a uses fallback'),
    ({'x_count': {'type': 'int'}}, {'cnt': {'min': 1}}, 'rules.cnt: the spec has no variable x_cnt'),
    ({'x_name': {'type': 'str'}}, {'name': {'min': 1}}, 'rules.name.min must be a number, for a variable of numbers'),
    ({'x_name': {'type': 'str'}}, {'name': {'pattern': '[a-z]+'}}, 'rules.name: pattern and rule (the pattern in words) go together'),
    ({'x_count': {'type': 'int'}}, {'count': {'pattern': '[0-9]', 'rule': 'digits'}}, 'rules.count.pattern applies to text only'),
    ({'x_key': {'type': 'str'}, 'x_cert': {'type': 'str'}}, {'key': {'pem': 'private_key', 'certificate': 'cert'}},
     'rules.key.certificate must name a variable whose rule is pem: certificate'),
])
def test_mistakes_of_the_spec_or_the_rules_are_refused(options, rules, problem):
    found = Typing(options, 'x_', rules).config_problems()
    assert any(problem in text for text in found), found


def typed_alone(spec, value):
    """role_inputs' typing of one variable given as ``value``, without templating: (values, problems)."""
    typing = Typing({'x_v': spec}, 'x_', {})
    return typing.typed({'x_v': value}, lambda raw: raw), typing.problems


@pytest.mark.parametrize('spec, value, typed', [
    ({'type': 'int'}, ' 12 ', 12),
    ({'type': 'bool'}, 'OFF', False),
    ({'type': 'list', 'elements': 'int', 'choices': [1, 2]}, '[2, 1]', [2, 1]),
    ({'type': 'list', 'elements': 'dict', 'options': {'n': {'type': 'int'}, 'on': {'type': 'bool', 'default': True}}},
     '[{"n": "4"}]', [{'n': 4, 'on': True}]),
    ({'type': 'dict', 'options': {'a': {'type': 'bool'}}}, '', {}),
    ({'type': 'str'}, 7, '7'),
    ({'type': 'int', 'default': 5}, None, 5),
])
def test_conversions_ansible_core_lacks_or_that_reach_into_elements(spec, value, typed):
    assert typed_alone(spec, value) == ({'v': typed}, [])


@pytest.mark.parametrize('spec, value, problem', [
    ({'type': 'int'}, 'inf', 'x_v: "inf" is not an integer'),  # ansible-core's own conversion raises OverflowError here
    ({'type': 'int'}, True, 'x_v: true is not an integer'),
    ({'type': 'float'}, 'nan', 'x_v: "nan" is not a number'),
    ({'type': 'str'}, ['a'], 'x_v: ["a"] is not a string'),
    ({'type': 'list', 'elements': 'int'}, '[1, 2',
     'x_v: "[1, 2" is not a list (a list, a JSON list, or items separated by commas or new lines)'),
    ({'type': 'list', 'elements': 'str', 'choices': ['APP', 'MODEM']}, 'APP\nFOO', 'x_v[1]: "FOO" is not one of APP, MODEM'),
    ({'type': 'str', 'no_log': True, 'choices': ['a']}, 'hunter2', 'x_v: the value is not one of a'),
])
def test_problems_name_the_variable_the_trouble_and_the_rule(spec, value, problem):
    assert typed_alone(spec, value) == ({}, [problem])
