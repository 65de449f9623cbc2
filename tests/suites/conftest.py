# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the trust suites: the unit tests' fixtures (one mock server for the session, ``mock``, ``creds``,
``run``, the private $TMPDIR), plus a scratch directory per suite.

The unit tests' conftest.py is loaded from its file (tests/unit is not a package), so both places share one
definition of the mock and of the in-process module runner.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from . import harness

_SPEC = importlib.util.spec_from_file_location('iotops_unit_conftest', os.path.join(harness.TESTS_DIR, 'unit', 'conftest.py'))
_UNIT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_UNIT)

# the unit tests' fixtures, under the same names
collections_root = _UNIT.collections_root
private_tmpdir = _UNIT.private_tmpdir
mock_server = _UNIT.mock_server
mock = _UNIT.mock
creds = _UNIT.creds
run = _UNIT.run
# the in-process module runner itself, for module-scoped fixtures (no capsys there)
run_module = _UNIT.run_module


@pytest.fixture(scope='module')
def workdir(request):
    """A private scratch directory for one suite module; kept when IOTOPS_SUITES_KEEP=1 (to read the playbook logs)."""
    path = harness.new_workdir(request.module.__name__.rsplit('.', 1)[-1])
    yield path
    if os.environ.get('IOTOPS_SUITES_KEEP') == '1':
        print('\nkept the work directory %s' % path)
    else:
        shutil.rmtree(path, ignore_errors=True)
