# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the unit tests: the collection importable (see pytest.ini) and the mock server on loopback.

The tests talk real HTTP to the mock server; nothing in ``requests`` is mocked.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import tempfile

import pytest
from iotops_mock import credentials as mock_credentials
from iotops_mock.client import MockServer


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pytest.ini puts this (git-ignored) directory on the import path: ansible_collections/iotops/provisioning in it is a
# link to the checkout, so the collection imports under its own name wherever the checkout lies.
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, '.build', 'collections')


def _link_collection():
    """Create ``.build/collections/ansible_collections/iotops/provisioning`` -> this checkout, once."""
    parent = os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'iotops')
    link = os.path.join(parent, 'provisioning')
    os.makedirs(parent, exist_ok=True)
    if not os.path.exists(link):
        try:
            # relative, so that the link survives a moved checkout
            os.symlink(os.path.relpath(REPO_ROOT, parent), link)
        except FileExistsError:  # another xdist worker was first
            pass
    # the directory may not have existed when pytest put it on the path, and the import system remembers that
    importlib.invalidate_caches()


_link_collection()


@pytest.fixture(scope='session')
def collections_root():
    """The directory that holds ansible_collections/iotops/provisioning (for ANSIBLE_COLLECTIONS_PATH)."""
    return COLLECTIONS_ROOT


@pytest.fixture(scope='session', autouse=True)
def private_tmpdir(tmp_path_factory):
    """$TMPDIR of the tests and of every process they start (ansible-playbook, AnsiballZ payloads, the progress action's
    folders) is a directory under pytest's own, which pytest.ini has removed after a green run: nothing is left in the
    machine's temporary directory, not even by a process a test kills on purpose."""
    path = tmp_path_factory.mktemp('tmp')
    patch = pytest.MonkeyPatch()
    patch.setenv('TMPDIR', str(path))
    patch.setattr(tempfile, 'tempdir', None)  # tempfile reads TMPDIR again
    yield path
    patch.undo()


@pytest.fixture(scope='session')
def mock_server(tmp_path_factory):
    """One mock server for the whole test session (HTTP and HTTPS)."""
    server = MockServer(str(tmp_path_factory.mktemp('mock')))
    server.start()
    yield server
    routes = [route['key'] for route in server.admin.routes()]
    _api_coverage().merge(API_CALLS, dict(routes=routes, callers=server.admin.counters()['callers']))
    server.stop()


# Which module called which endpoint of this process's mock (and, on the xdist controller, of every worker's).
API_CALLS = {}


def _api_coverage():
    """tests/unit/api_coverage.py, imported through the collection's own name (tests/unit is not on the import path)."""
    return importlib.import_module('ansible_collections.iotops.provisioning.tests.unit.api_coverage')


def pytest_sessionfinish(session):
    """Hand this worker's API calls to the xdist controller; on the controller (or without xdist) write or check
    docs/api-coverage.md when IOTOPS_API_COVERAGE says so (the test command's unit session checks it)."""
    workeroutput = getattr(session.config, 'workeroutput', None)
    if workeroutput is not None:
        workeroutput['api_calls'] = API_CALLS  # plain dicts, which execnet carries as they are
        return
    mode = os.environ.get('IOTOPS_API_COVERAGE')
    if mode not in ('write', 'check') or not API_CALLS:
        return
    api_coverage = _api_coverage()
    text = api_coverage.render(API_CALLS)
    path = os.path.join(REPO_ROOT, api_coverage.DOC)
    if mode == 'write':
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        return
    with open(path, encoding='utf-8') as handle:
        current = handle.read()
    if current != text:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin('terminalreporter')
        reporter.write_line('%s is not what this run of the unit tests found: run them with IOTOPS_API_COVERAGE=write and '
                            'commit the file' % api_coverage.DOC, red=True)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: merge the API calls a worker saw."""
    calls = getattr(node, 'workeroutput', {}).get('api_calls')
    if calls:
        _api_coverage().merge(API_CALLS, calls)


@pytest.fixture
def mock(mock_server):
    """The mock server, reset to its seeded state before the test."""
    mock_server.admin.reset()
    return mock_server


@pytest.fixture
def creds():
    """The mock's made-up test credentials."""
    return mock_credentials


# The connection options of each cloud's modules that reach the mock at ``url`` with its made-up credentials.
MOCK_CONNECTIONS = {
    'nrfcloud': lambda url: dict(api_url=url + '/nrfcloud/v1', provisioning_api_url=url + '/nrfcloud-provisioning/v1',
                                 api_key=mock_credentials.NRFCLOUD_TEAM_A_API_KEY),
    'ublox': lambda url: dict(api_url=url + '/ublox/v1', api_key=mock_credentials.UBLOX_API_KEY,
                              api_secret=mock_credentials.UBLOX_API_SECRET),
    'iotcomms': lambda url: dict(api_url=url + '/iotcomms', domain=mock_credentials.IOTCOMMS_DOMAIN,
                                 private_key_path=mock_credentials.IOTCOMMS_PRIVATE_KEY_PATH),
    'naocloud': lambda url: dict(api_url=url + '/naocloud/api/v2', api_key=mock_credentials.NAOCLOUD_API_KEY),
}


@pytest.fixture
def mock_args(mock):
    """``mock_args(vendor, **options)`` -> a module's arguments: the connection options of ``vendor`` (nrfcloud, ublox,
    iotcomms, naocloud) for the mock (reset, as ``mock``) and its made-up credentials, then ``options``, which win
    (``api_key=None`` gives no API key)."""
    def arguments(vendor, **options):
        return dict(MOCK_CONNECTIONS[vendor](mock.url), **options)
    return arguments


class ModuleExit(Exception):
    """What a module printed when it exited."""

    def __init__(self, result):
        super().__init__(json.dumps(result))
        self.result = result


def run_module(module, args, check_mode=False, diff=False, capsys=None):
    """Run a module's main() in this process with ``args`` and return its JSON result.

    Real HTTP to the mock: only the module's input is injected (patch_module_args), as ansible-playbook would.
    The module's output is read from ``capsys``; without it (outside a test function: a module-scoped fixture) from a
    redirected sys.stdout.
    """
    # pylint: disable-next=import-outside-toplevel
    from ansible.module_utils.testing import patch_module_args
    args = dict(args)
    args['_ansible_check_mode'] = check_mode
    args['_ansible_diff'] = diff
    args.setdefault('_ansible_remote_tmp', tempfile.gettempdir())
    args.setdefault('_ansible_keep_remote_files', False)
    args.setdefault('_ansible_module_name', module.__name__.rsplit('.', 1)[-1])  # as ansible-playbook names the task's action
    printed = io.StringIO()
    redirect = contextlib.redirect_stdout(printed) if capsys is None else contextlib.nullcontext()
    with _as_a_module(), patch_module_args(args), redirect:
        with pytest.raises(SystemExit):
            module.main()
    out = printed.getvalue() if capsys is None else capsys.readouterr().out
    return json.loads(out[out.index('{'):])


@contextlib.contextmanager
def _as_a_module():
    """Run a module's main() as a module process would: importing any controller code (an action plugin) in the pytest
    process marks it as the controller, and modules then send their warnings to the display instead of their result."""
    try:
        from ansible.module_utils import _internal  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19
        yield
        return
    before = getattr(_internal, 'is_controller', False)
    _internal.is_controller = False
    try:
        yield
    finally:
        _internal.is_controller = before


@pytest.fixture
def run(capsys):
    """``run(module, args, check_mode=False, diff=False)`` -> the module's result dict."""
    def runner(module, args, check_mode=False, diff=False):
        return run_module(module, args, check_mode=check_mode, diff=diff, capsys=capsys)
    return runner
