# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection tarball holds: every source file, none of a work tree's left-overs (the release session
plants them in the copy it builds from: build_ignore must keep them out), and no private key at all (the mock and
its test keys are not shipped)."""

from __future__ import annotations

import os
import re
import tarfile

import pytest

# top-level names that are tools, tests or left-overs of a work tree, never content
LEFT_OUT_TOPS = {'.venv', '.build', '.demo', '.ansible', '.git', '.github', '.ci', '.cache', '.pytest_cache', '.coverage',
                 '.nox', 'htmlcov', 'extensions', 'hacking', 'benchmarks', 'requirements-dev.txt', 'mock_cloud',
                 'pytest.ini', 'noxfile.py', 'antsibull-nox.toml'}
LEFT_OUT_DIRS = ('tests/output', 'tests/unit', 'tests/suites', 'tests/release')
CONTENT_TOPS = ('plugins', 'roles', 'playbooks', 'docs', 'meta', 'changelogs')
REQUIRED = ('MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'requirements.txt', 'bindep.txt')
PRIVATE_KEY = re.compile(rb'-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{40,}')


@pytest.fixture(scope='module')
def files(tarball):
    with tarfile.open(tarball) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def is_left_out(name):
    parts = name.split('/')
    return (parts[0] in LEFT_OUT_TOPS or name.startswith(LEFT_OUT_DIRS) or '__pycache__' in parts
            or '.pytest_cache' in parts or name.endswith(('.pyc', '.tar.gz')))


def test_no_left_over_in_the_tarball(files):
    assert sorted(name for name in files if is_left_out(name)) == []


def test_every_source_file_is_in_the_tarball(files, collection):
    missing = []
    for top in CONTENT_TOPS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(collection, top)):
            dirnames[:] = [d for d in dirnames if d not in ('__pycache__', '.pytest_cache', 'tests')]
            missing += [rel for rel in (os.path.relpath(os.path.join(dirpath, f), collection) for f in filenames) if rel not in files]
    missing += [rel for rel in REQUIRED if rel not in files]
    assert missing == []
    assert len(files) > 100


def test_no_private_key_in_the_tarball(files):
    assert [name for name, data in sorted(files.items()) if PRIVATE_KEY.search(data)] == []
