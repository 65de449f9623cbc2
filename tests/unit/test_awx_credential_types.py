# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX / Automation Controller credential types in docs/awx/ against the modules.

1. Their injected environment variables are exactly the environment fallbacks of the vendor's
   credential and URL options (vendor ARGSPEC), secrets are secret fields, defaults agree.
2. Rendered the way the controller renders them (sandboxed Jinja, empty fields left out, the
   file injector written to a 0600 file), the environment logs a module in to the mock.
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


def render(ctype, inputs, workdir):
    """The environment the controller gives a job for a credential with these inputs.

    As AWX's CredentialType.inject_credential: empty inputs are left out of the namespace,
    file injectors are written to a 0600 file first and their path is ``tower.filename``.
    """
    tower = _Tower()
    namespace = {'tower': tower}
    namespace.update((key, value) for key, value in inputs.items() if value != '')
    for label, template in ctype['injectors'].get('file', {}).items():
        assert label == 'template', 'one file per type here: the single-file syntax'
        path = os.path.join(str(workdir), 'awx-env-%s' % ctype['name'].replace(' ', '-'))
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
            handle.write(JINJA.from_string(template).render(**namespace))
        tower.filename = path
    return {name: JINJA.from_string(template).render(**namespace) for name, template in ctype['injectors'].get('env', {}).items()}


@pytest.fixture(params=sorted(VENDOR_ARGSPECS))
def vendor(request):
    return request.param


def test_one_file_per_vendor_and_the_shape_the_controller_accepts(vendor):
    assert sorted(name for name in os.listdir(AWX_DIR) if name.startswith('credential_type_')) == \
        sorted('credential_type_%s.yml' % name for name in VENDOR_ARGSPECS)
    ctype = load(vendor)
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
    # every template names only fields of the type (and tower.filename with a file injector)
    allowed = set(ids) | ({'tower'} if 'file' in ctype['injectors'] else set())
    for template in list(ctype['injectors']['env'].values()) + list(ctype['injectors'].get('file', {}).values()):
        assert variables(template) <= allowed, template


def test_names_of_the_types_and_their_variables_do_not_collide():
    types = [load(vendor) for vendor in sorted(VENDOR_ARGSPECS)]
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
    assert sorted(results) == sorted(VENDOR_ARGSPECS)
    assert all(results.values())
    assert not writes(controller)
    assert len(controller.store['requests']) == len(VENDOR_ARGSPECS)  # one lookup by name per type


def test_registration_sends_the_files_unchanged_and_converges(controller, tmp_path):
    results = register(controller, tmp_path)
    assert sorted(results) == sorted(VENDOR_ARGSPECS) and all(results.values())
    assert len(writes(controller)) == len(VENDOR_ARGSPECS)
    stored = {item['name']: item for item in controller.store['types'].values()}
    for vendor in VENDOR_ARGSPECS:
        ctype = load(vendor)
        item = stored[ctype['name']]
        # the controller's templates arrive as written ({{ api_key }}), not rendered by Ansible
        assert item['inputs'] == ctype['inputs'] and item['injectors'] == ctype['injectors']
        assert item['kind'] == 'cloud' and item['description'] == ctype['description'] and item['managed'] is False
    controller.store['requests'].clear()
    for check in (False, True):
        results = register(controller, tmp_path, check=check)
        assert results and not any(results.values())
    assert not writes(controller)
