# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An execution environment with this collection from its tarball: the release session runs `ansible-builder create`
and then the dependency step of the build (galaxy install + ansible-builder's introspect) without containers. It must
yield the collection's requirements.txt and bindep.txt, as meta/execution-environment.yml says."""

from __future__ import annotations

import os


def entries(path):
    """The requirement lines of a pip or bindep file, without comments."""
    with open(path, encoding='utf-8') as handle:
        return [line.split('#', 1)[0].strip() for line in handle if line.split('#', 1)[0].strip()]


def test_the_containerfile_installs_the_collection_and_collects_its_requirements(ee_dir):
    with open(os.path.join(ee_dir, 'context', 'Containerfile'), encoding='utf-8') as handle:
        containerfile = handle.read()
    for step in ('ansible-galaxy collection install', 'introspect.py introspect', '/output/scripts/assemble'):
        assert step in containerfile
    with open(os.path.join(ee_dir, 'context', '_build', 'requirements.yml'), encoding='utf-8') as handle:
        assert 'iotops-provisioning-' in handle.read()


def test_the_dependency_step_yields_the_collections_requirements(ee_dir, collection):
    python = entries(os.path.join(ee_dir, 'src', 'requirements.txt'))
    system = entries(os.path.join(ee_dir, 'src', 'bindep.txt'))
    assert {'requests', 'PyJWT', 'cryptography'} <= set(python)
    assert python == entries(os.path.join(collection, 'requirements.txt'))
    assert system == entries(os.path.join(collection, 'bindep.txt'))
