# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the unit tests: the collection on the import path and the mock server on loopback.

The tests talk real HTTP to the mock server; nothing in ``requests`` is mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTS_DIR = os.path.join(REPO_ROOT, 'tests')


def _put_collection_on_path():
    """Make ``ansible_collections.iotops.provisioning`` importable from this checkout."""
    parent = os.path.dirname(REPO_ROOT)
    if os.path.basename(parent) == 'iotops' and os.path.basename(os.path.dirname(parent)) == 'ansible_collections':
        root = os.path.dirname(os.path.dirname(parent))
    else:
        root = tempfile.mkdtemp(prefix='iotops-unit-')
        os.makedirs(os.path.join(root, 'ansible_collections', 'iotops'))
        os.symlink(REPO_ROOT, os.path.join(root, 'ansible_collections', 'iotops', 'provisioning'))
    if root not in sys.path:
        sys.path.insert(0, root)
    return root


COLLECTIONS_ROOT = _put_collection_on_path()
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=wrong-import-position
from mock_server import credentials as mock_credentials  # noqa: E402
from mock_server.client import MockServer  # noqa: E402


@pytest.fixture(scope='session')
def collections_root():
    """The directory that holds ansible_collections/iotops/provisioning (for ANSIBLE_COLLECTIONS_PATH)."""
    return COLLECTIONS_ROOT


@pytest.fixture(scope='session')
def mock_server(tmp_path_factory):
    """One mock server for the whole test session (HTTP and HTTPS)."""
    server = MockServer(str(tmp_path_factory.mktemp('mock')))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mock(mock_server):
    """The mock server, reset to its seeded state before the test."""
    mock_server.admin.reset()
    return mock_server


@pytest.fixture
def creds():
    """The mock's made-up test credentials."""
    return mock_credentials


class ModuleExit(Exception):
    """What a module printed when it exited."""

    def __init__(self, result):
        super().__init__(json.dumps(result))
        self.result = result


def run_module(module, args, check_mode=False, diff=False, capsys=None):
    """Run a module's main() in this process with ``args`` and return its JSON result.

    Real HTTP to the mock: only the module's input is injected (patch_module_args), as ansible-playbook would.
    """
    # pylint: disable-next=import-outside-toplevel
    from ansible.module_utils.testing import patch_module_args
    args = dict(args)
    args['_ansible_check_mode'] = check_mode
    args['_ansible_diff'] = diff
    args.setdefault('_ansible_remote_tmp', tempfile.gettempdir())
    args.setdefault('_ansible_keep_remote_files', False)
    with _as_a_module(), patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
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
