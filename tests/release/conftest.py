# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release checks look at what the `release` nox session built: the tarball, the collection copy it was built
from and the execution environment's build context. The session passes them in the environment."""

from __future__ import annotations

import os

import pytest


def _given(name):
    value = os.environ.get(name)
    if not value or not os.path.exists(value):
        raise pytest.UsageError('%s is not set or does not exist: these checks run in the release session '
                                '(bash hacking/test-all.sh release)' % name)
    return value


@pytest.fixture(scope='session')
def tarball():
    return _given('IOTOPS_RELEASE_TARBALL')


@pytest.fixture(scope='session')
def collection():
    """The copy the tarball was built from (with the left-overs the session planted in it, which build_ignore keeps out)."""
    return _given('IOTOPS_RELEASE_COLLECTION')


@pytest.fixture(scope='session')
def ee_dir():
    return _given('IOTOPS_RELEASE_EE')
