# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX / Automation Controller credential types in docs/awx/ against the modules.

1. Their injected environment variables are exactly the environment fallbacks of the vendor's
   credential and URL options (vendor ARGSPEC), secrets are secret fields, defaults agree. The
   fifth type, the factory CA, injects exactly the variables the roles' defaults read, each file
   by the path of a file injector.
2. Rendered the way the controller renders them (sandboxed Jinja, empty fields left out, the
   file injectors written to 0600 files), the environment logs a module in to the mock, and the
   factory CA's files pass the roles' own checks of the CA.
3. docs/awx/register_credential_types.yml registers them with awx.awx.credential_type, run
   against a small stand-in for the controller API (check mode sends no write; a real run
   sends the files' inputs and injectors unchanged; a second run changes nothing). This part
   needs the awx.awx collection, which is not a dependency of this one: the nox session
   `release` unpacks it from the `ansible` package into a scratch directory, points
   IOTOPS_AWX_COLLECTIONS_PATH at it and runs these tests; the unit session runs the others.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from iotops_mock.factory_ca import factory_ca_pems

from ansible_collections.iotops.provisioning.plugins.action.role_inputs import Typing
from ansible_collections.iotops.provisioning.plugins.module_utils import iotcomms, naocloud, nrfcloud, ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._module import CONNECTION_ARGSPEC
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC
from ansible_collections.iotops.provisioning.plugins.modules import (
    iotcomms_device_info, naocloud_site_info, nrfcloud_device_info, ublox_rootca_info,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX_DIR = os.path.join(REPO_ROOT, 'docs', 'awx')
PLAYBOOK = os.path.join(AWX_DIR, 'register_credential_types.yml')

VENDOR_ARGSPECS = {'nrfcloud': nrfcloud.ARGSPEC, 'ublox': ublox.ARGSPEC, 'iotcomms': iotcomms.ARGSPEC, 'naocloud': naocloud.ARGSPEC}
# The factory CA of the roles that sign nRF Cloud CSRs: its variables are the defaults of these roles, not module fallbacks.
CA_TYPE = 'factory_ca'
CA_ROLES = ('factory_onboarding', 'certificate_rotation')
TYPES = sorted(list(VENDOR_ARGSPECS) + [CA_TYPE])
ENV_LOOKUP = re.compile(r"lookup\('ansible\.builtin\.env', '([A-Z0-9_]+)'")
# Secrets a type delivers as a file instead: the option holding the content -> the path variable.
DELIVERED_AS_FILE = {'IOTCOMMS_PRIVATE_KEY': 'IOTCOMMS_PRIVATE_KEY_PATH'}
# What the controller accepts in a field of `inputs` (AWX docs/credentials/custom_credential_types.md).
FIELD_KEYS = {'id', 'label', 'type', 'help_text', 'format', 'secret', 'multiline', 'choices', 'default', 'ask_at_runtime'}

JINJA = ImmutableSandboxedEnvironment()


def fallbacks(spec):
    """{env name: (option, option spec)} of an argument spec's env_fallback options."""
    found = {}
    for option, option_spec in spec.items():
        fallback = option_spec.get('fallback')
        if fallback:
            for name in fallback[1]:
                found[name] = (option, option_spec)
    return found


def load(vendor):
    with open(os.path.join(AWX_DIR, 'credential_type_%s.yml' % vendor), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def fields_of(ctype):
    return {field['id']: field for field in ctype['inputs']['fields']}


def variables(template):
    return meta.find_undeclared_variables(JINJA.parse(template))


class _Tower:
    """The ``tower`` namespace of the controller's injector templates."""


def write_private(path, text):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
        handle.write(text)
    return path


def render(ctype, inputs, workdir):
    """The environment the controller gives a job for a credential with these inputs.

    As AWX's CredentialType.inject_credential: empty inputs are left out of the namespace, each file injector is written to a
    0600 file first and its path is ``tower.filename`` (one file, ``template``) or ``tower.filename.<name>``
    (``template.<name>``, several files).
    """
    tower = _Tower()
    namespace = {'tower': tower}
    namespace.update((key, value) for key, value in inputs.items() if value != '')
    for label, template in ctype['injectors'].get('file', {}).items():
        name = label.partition('.')[2]
        path = write_private(os.path.join(str(workdir), 'awx-env-%s-%s' % (ctype['name'].replace(' ', '-'), name or 'file')),
                             JINJA.from_string(template).render(**namespace))
        if name:
            if not isinstance(getattr(tower, 'filename', None), _Tower):
                tower.filename = _Tower()
            setattr(tower.filename, name, path)
        else:
            tower.filename = path
    return {name: JINJA.from_string(template).render(**namespace) for name, template in ctype['injectors'].get('env', {}).items()}


def role_env_names(role):
    """The environment variables a role's defaults read."""
    with open(os.path.join(REPO_ROOT, 'roles', role, 'defaults', 'main.yml'), encoding='utf-8') as handle:
        return set(ENV_LOOKUP.findall(handle.read()))


@pytest.fixture(params=sorted(VENDOR_ARGSPECS))
def vendor(request):
    return request.param


@pytest.mark.parametrize('name', TYPES)
def test_one_file_per_type_and_the_shape_the_controller_accepts(name):
    assert sorted(entry for entry in os.listdir(AWX_DIR) if entry.startswith('credential_type_')) == \
        sorted('credential_type_%s.yml' % entry for entry in TYPES)
    ctype = load(name)
    assert set(ctype) == {'name', 'description', 'kind', 'inputs', 'injectors'}
    assert ctype['kind'] == 'cloud' and ctype['name'].startswith('iotops ')
    assert set(ctype['inputs']) <= {'fields', 'required'}
    ids = [field['id'] for field in ctype['inputs']['fields']]
    assert len(ids) == len(set(ids)), 'duplicate field ids'
    for field in ctype['inputs']['fields']:
        assert set(field) <= FIELD_KEYS, field
        assert field['type'] == 'string' and field['label'] and field['help_text']
        if 'choices' in field:
            assert field.get('default') in field['choices']
    assert set(ctype['inputs'].get('required', [])) <= set(ids)
    assert set(ctype['injectors']) <= {'env', 'file'}
    files = list(ctype['injectors'].get('file', {}))
    # the controller's two forms, never mixed: one file (template) or several (template.<name>)
    assert files in ([], ['template']) or all(re.fullmatch(r'template\.[a-z_]+', label) for label in files), files
    # every template names only fields of the type (and tower.filename with a file injector)
    allowed = set(ids) | ({'tower'} if files else set())
    for template in list(ctype['injectors']['env'].values()) + list(ctype['injectors'].get('file', {}).values()):
        assert variables(template) <= allowed, template


def test_names_of_the_types_and_their_variables_do_not_collide():
    types = [load(name) for name in TYPES]
    assert len({ctype['name'] for ctype in types}) == len(types)
    seen = set()
    for ctype in types:
        names = set(ctype['injectors']['env'])
        assert not names & seen, 'two types inject the same variable: one would override the other on a job template'
        seen |= names


def test_injected_variables_are_exactly_the_vendor_fallbacks(vendor):
    ctype = load(vendor)
    injected = set(ctype['injectors']['env'])
    vendor_names = set(fallbacks(VENDOR_ARGSPECS[vendor]))
    # every injected name is a fallback of an option of this vendor
    assert injected <= vendor_names, 'not a fallback of any %s option: %s' % (vendor, sorted(injected - vendor_names))
    # every credential/URL fallback of the vendor is injected (or delivered as a file)
    missing = {name for name in vendor_names - injected if DELIVERED_AS_FILE.get(name) not in injected}
    assert not missing, 'options of %s that a credential cannot set: %s' % (vendor, sorted(missing))
    # the connection options are per job, not per vendor credential (two types would fight over them)
    shared = set(fallbacks(CONNECTION_ARGSPEC)) | set(fallbacks(BATCH_ARGSPEC))
    assert not injected & shared
    assert not any(name.startswith('ANSIBLE_') for name in injected)


def test_each_variable_carries_its_field_with_the_option_rules(vendor):
    ctype = load(vendor)
    fields = fields_of(ctype)
    names = fallbacks(VENDOR_ARGSPECS[vendor])
    for env_name, template in ctype['injectors']['env'].items():
        option, spec = names[env_name]
        if env_name in DELIVERED_AS_FILE.values():
            assert template.replace(' ', '') == '{{tower.filename}}'
            continue
        (field_id,) = variables(template)
        field = fields[field_id]
        assert field_id == option, 'field %s feeds option %s' % (field_id, option)
        assert bool(field.get('secret')) == bool(spec.get('no_log')), '%s: secret must match no_log' % field_id
        if 'choices' in spec:
            assert field['choices'] == spec['choices']
        if spec.get('default') is not None:
            # the form is prefilled with the module default, and an emptied field still injects it
            assert field['default'] == spec['default']
            assert JINJA.from_string(template).render(tower=_Tower()) == spec['default']
        else:
            assert JINJA.from_string(template).render(tower=_Tower()) == ''
    for env_name, path_name in DELIVERED_AS_FILE.items():
        if env_name in names:
            option = names[env_name][0]
            (template,) = ctype['injectors']['file'].values()
            (field_id,) = variables(template)
            assert field_id == option and fields[field_id].get('secret') and fields[field_id].get('multiline')
            assert path_name in ctype['injectors']['env']


def test_the_factory_ca_injects_what_the_roles_read_and_its_files_by_path():
    """The roles' defaults read the CA's paths and passphrase from the environment: exactly the variables the type injects
    (IOTOPS_REPORT_DIR is the job's, not a credential's). Each PEM is a file injector whose path is injected, the key secret."""
    ctype = load(CA_TYPE)
    fields = fields_of(ctype)
    injected = set(ctype['injectors']['env'])
    for role in CA_ROLES:
        assert role_env_names(role) - {'IOTOPS_REPORT_DIR'} == injected, role
    files = ctype['injectors']['file']
    assert sorted(files) == ['template.ca_certificate', 'template.ca_private_key']
    for label, template in files.items():
        (field_id,) = variables(template)
        assert 'template.' + field_id == label and fields[field_id].get('multiline')
        paths = [name for name, env in ctype['injectors']['env'].items() if env.replace(' ', '') == '{{tower.filename.%s}}' % field_id]
        assert len(paths) == 1, 'the path of the %s file is injected once' % field_id
    assert fields['ca_private_key'].get('secret') and fields['ca_private_key_passphrase'].get('secret')
    assert not fields['ca_certificate'].get('secret')  # a certificate is public: the controller may show it
    assert ctype['inputs']['required'] == ['ca_certificate', 'ca_private_key']
    assert JINJA.from_string(ctype['injectors']['env']['IOTOPS_FACTORY_CA_PRIVATE_KEY_PASSPHRASE']).render(tower=_Tower()) == ''


def role_ca_typing(role, env):
    """role_inputs' typing of a role's factory CA variables as the role's defaults give them from the injected environment."""
    with open(os.path.join(REPO_ROOT, 'roles', role, 'meta', 'argument_specs.yml'), encoding='utf-8') as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    with open(os.path.join(REPO_ROOT, 'roles', role, 'tasks', 'main.yml'), encoding='utf-8') as handle:
        task = next(task for task in yaml.safe_load(handle) if 'iotops.provisioning.role_inputs' in task)
    prefix = task['iotops.provisioning.role_inputs']['prefix']
    names = {'IOTOPS_FACTORY_CA_CERTIFICATE_PATH': 'nrfcloud_ca_certificate_path',
             'IOTOPS_FACTORY_CA_PRIVATE_KEY_PATH': 'nrfcloud_ca_private_key_path',
             'IOTOPS_FACTORY_CA_PRIVATE_KEY_PASSPHRASE': 'nrfcloud_ca_private_key_passphrase'}
    ca_options = {prefix + name: options[prefix + name] for name in list(names.values()) + ['nrfcloud_ca_certificate', 'nrfcloud_ca_private_key']}
    rules = {name: rule for name, rule in task['iotops.provisioning.role_inputs']['rules'].items() if prefix + name in ca_options}
    typing = Typing(ca_options, prefix, rules)
    assert typing.config_problems() == []
    task_vars = {prefix + names[env_name]: value for env_name, value in env.items()}
    task_vars.update({prefix + 'nrfcloud_ca_certificate': '', prefix + 'nrfcloud_ca_private_key': ''})
    return typing.typed(task_vars, lambda raw: raw), typing.problems


@pytest.mark.parametrize('role', CA_ROLES)
def test_the_factory_ca_files_pass_the_roles_checks(tmp_path, role):
    """A credential of the type, rendered as the controller does: 0600 files whose paths the role's check of the CA takes
    (the key opened with the passphrase, belonging to the certificate); without the passphrase, or with a path that does
    not exist, the problem names the variable and never shows the key."""
    certificate, key = factory_ca_pems('AWX Test Factory CA', 'ca pass phrase 7')
    ctype = load(CA_TYPE)
    env = render(ctype, dict(ca_certificate=certificate, ca_private_key=key, ca_private_key_passphrase='ca pass phrase 7'), tmp_path)
    for name in ('IOTOPS_FACTORY_CA_CERTIFICATE_PATH', 'IOTOPS_FACTORY_CA_PRIVATE_KEY_PATH'):
        assert oct(os.stat(env[name]).st_mode & 0o777) == '0o600'
    with open(env['IOTOPS_FACTORY_CA_PRIVATE_KEY_PATH'], encoding='ascii') as handle:
        assert handle.read() == key
    values, problems = role_ca_typing(role, env)
    assert problems == [] and values['nrfcloud_ca_private_key_path'] == env['IOTOPS_FACTORY_CA_PRIVATE_KEY_PATH']
    prefix = role + '_'
    values, problems = role_ca_typing(role, render(ctype, dict(ca_certificate=certificate, ca_private_key=key), tmp_path))
    assert problems == ['%snrfcloud_ca_private_key_path (the file %s): the private key is encrypted; give its passphrase in '
                        '%snrfcloud_ca_private_key_passphrase' % (prefix, env['IOTOPS_FACTORY_CA_PRIVATE_KEY_PATH'], prefix)]
    gone = dict(env, IOTOPS_FACTORY_CA_CERTIFICATE_PATH=str(tmp_path / 'no-such-ca.pem'))
    values, problems = role_ca_typing(role, gone)
    assert problems == ['%snrfcloud_ca_certificate_path: cannot read the file %s (No such file or directory)'
                        % (prefix, tmp_path / 'no-such-ca.pem')]
    assert not any(line in ' '.join(problems) for line in key.splitlines()[1:-1])


# ----------------------------------------------------------------------------- with the mock

def _inputs(vendor, mock, creds, variant):
    urls = mock.api_urls()
    if vendor == 'nrfcloud':
        return dict(api_key=creds.NRFCLOUD_TEAM_A_API_KEY, api_url=urls['NRFCLOUD_API_URL'],
                    provisioning_api_url=urls['NRFCLOUD_PROVISIONING_API_URL'])
    if vendor == 'ublox':
        return dict(api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET, auth_token='', api_url=urls['UBLOX_API_URL'])
    if vendor == 'iotcomms':
        with open(creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH if variant == 'encrypted' else creds.IOTCOMMS_PRIVATE_KEY_PATH,
                  encoding='ascii') as handle:
            key = handle.read()
        return dict(domain=creds.IOTCOMMS_DOMAIN, private_key=key, api_url=urls['IOTCOMMS_API_URL'],
                    private_key_passphrase=creds.IOTCOMMS_KEY_PASSPHRASE if variant == 'encrypted' else '')
    inputs = dict(api_key='', email='', password='', access_token='', access_token_type='', api_url=urls['NAOCLOUD_API_URL'])
    if variant == 'login':
        inputs.update(email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD)
    elif variant == 'oauth2':
        inputs.update(access_token=creds.NAOCLOUD_ACCESS_TOKEN)
    else:
        inputs.update(api_key=creds.NAOCLOUD_API_KEY)
    return inputs


INFO_MODULES = {'nrfcloud': nrfcloud_device_info, 'ublox': ublox_rootca_info, 'iotcomms': iotcomms_device_info,
                'naocloud': naocloud_site_info}


@pytest.mark.parametrize('vendor, variant', [('nrfcloud', ''), ('ublox', ''), ('iotcomms', ''), ('iotcomms', 'encrypted'),
                                             ('naocloud', 'api_key'), ('naocloud', 'login'), ('naocloud', 'oauth2')])
def test_the_injected_environment_logs_a_module_in(mock, creds, run, monkeypatch, tmp_path, vendor, variant):
    """A job with only the credential: the task sets no credential option at all."""
    ctype = load(vendor)
    inputs = _inputs(vendor, mock, creds, variant)
    env = render(ctype, inputs, tmp_path)
    for name in set(fallbacks(VENDOR_ARGSPECS[vendor])):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if vendor == 'iotcomms':
        assert oct(os.stat(env['IOTCOMMS_PRIVATE_KEY_PATH']).st_mode & 0o777) == '0o600'
    result = run(INFO_MODULES[vendor], {})
    assert not result.get('failed'), result.get('msg')
    assert mock.admin.counters()['by_category']['write'] == 0
    text = json.dumps(result)
    secret_fields = [field['id'] for field in ctype['inputs']['fields'] if field.get('secret')]
    for field_id in secret_fields:
        if inputs.get(field_id):
            assert inputs[field_id] not in text, '%s leaked into the result' % field_id


# ----------------------------------------------------------------------------- the registration playbook

class _Controller(BaseHTTPRequestHandler):
    """Just enough of /api/v2/credential_types/ for awx.awx.credential_type; writes are recorded."""

    server_version = 'stand-in'

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        return json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)) or b'{}')

    def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
        store = self.server.store
        url = urlsplit(self.path)
        store['requests'].append(('GET', url.path))
        if url.path != '/api/v2/credential_types/':
            return self._send(404, {'detail': 'Not found.'})
        name = parse_qs(url.query).get('name', [None])[0]
        results = [item for item in store['types'].values() if name is None or item['name'] == name]
        return self._send(200, {'count': len(results), 'next': None, 'previous': None, 'results': results})

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        store = self.server.store
        store['requests'].append(('POST', self.path))
        if self.path != '/api/v2/credential_types/':
            return self._send(405, {'detail': 'Method not allowed.'})
        item = self._body()
        item_id = len(store['types']) + 1
        item.update(id=item_id, type='credential_type', url='/api/v2/credential_types/%d/' % item_id)
        store['types'][item_id] = item
        return self._send(201, item)

    def do_PATCH(self):  # noqa: N802  pylint: disable=invalid-name
        store = self.server.store
        store['requests'].append(('PATCH', self.path))
        item_id = int(self.path.rstrip('/').rsplit('/', 1)[-1])
        store['types'][item_id].update(self._body())
        return self._send(200, store['types'][item_id])

    def do_DELETE(self):  # noqa: N802  pylint: disable=invalid-name
        self.server.store['requests'].append(('DELETE', self.path))
        return self._send(405, {'detail': 'Method not allowed.'})


@pytest.fixture
def controller():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Controller)
    server.store = {'types': {}, 'requests': []}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def awx_collections_path():
    path = os.environ.get('IOTOPS_AWX_COLLECTIONS_PATH')
    if not path:
        pytest.skip('needs the awx.awx collection: set IOTOPS_AWX_COLLECTIONS_PATH (hacking/test-all.sh release does)')
    assert os.path.isdir(os.path.join(path, 'ansible_collections', 'awx', 'awx')), \
        'IOTOPS_AWX_COLLECTIONS_PATH=%s holds no ansible_collections/awx/awx' % path
    return path


def register(controller, tmp_path, check=False):
    """Run the registration playbook against the stand-in; the per-vendor results of its task."""
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=awx_collections_path(), ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_HOME=str(tmp_path / 'home'),
               CONTROLLER_HOST='http://127.0.0.1:%d' % controller.server_address[1], CONTROLLER_OAUTH_TOKEN='stand-in-token',
               CONTROLLER_VERIFY_SSL='true')
    for name in ('CONTROLLER_USERNAME', 'CONTROLLER_PASSWORD', 'TOWER_HOST', 'TOWER_USERNAME', 'TOWER_PASSWORD', 'TOWER_OAUTH_TOKEN'):
        env.pop(name, None)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), PLAYBOOK,
               '-e', 'ansible_python_interpreter=%s' % sys.executable] + (['--check'] if check else [])
    proc = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # "changed: [localhost] => (item=nrfcloud)"
    return {item: status == 'changed' for status, item in re.findall(r'^(ok|changed): \[localhost\] => \(item=(\w+)\)', proc.stdout, re.M)}


def writes(controller):
    return [request for request in controller.store['requests'] if request[0] != 'GET']


def test_registration_check_mode_sends_no_write(controller, tmp_path):
    results = register(controller, tmp_path, check=True)
    assert sorted(results) == TYPES
    assert all(results.values())
    assert not writes(controller)
    assert len(controller.store['requests']) == len(TYPES)  # one lookup by name per type


def test_registration_sends_the_files_unchanged_and_converges(controller, tmp_path):
    results = register(controller, tmp_path)
    assert sorted(results) == TYPES and all(results.values())
    assert len(writes(controller)) == len(TYPES)
    stored = {item['name']: item for item in controller.store['types'].values()}
    for name in TYPES:
        ctype = load(name)
        item = stored[ctype['name']]
        # the controller's templates arrive as written ({{ api_key }}), not rendered by Ansible
        assert item['inputs'] == ctype['inputs'] and item['injectors'] == ctype['injectors']
        assert item['kind'] == 'cloud' and item['description'] == ctype['description'] and item['managed'] is False
    controller.store['requests'].clear()
    for check in (False, True):
        results = register(controller, tmp_path, check=check)
        assert results and not any(results.values())
    assert not writes(controller)
