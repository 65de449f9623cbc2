# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lazy imports of the optional Python libraries, with a clear error when one is missing.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

PyJWT and cryptography are imported only by the code paths that need them, so a module that
never signs anything does not pay their import time.
"""

from __future__ import annotations

import importlib

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError

# import name -> (distribution name for pip, the project's documentation)
LIBRARIES = {
    'requests': ('requests', 'https://requests.readthedocs.io/'),
    'jwt': ('PyJWT', 'https://pyjwt.readthedocs.io/'),
    'cryptography': ('cryptography', 'https://cryptography.io/'),
}


class MissingLibraryError(IotopsError):
    """A Python library the task needs is not installed where the module runs."""

    def __init__(self, import_name, exc):
        dist, url = LIBRARIES.get(import_name, (import_name, None))
        super().__init__(missing_required_lib(dist, url=url), exception=repr(exc))
        self.library = dist


def require(import_name):
    """Import a module by name or raise MissingLibraryError (turned into missing_required_lib text by the module)."""
    try:
        return importlib.import_module(import_name)
    except ImportError as exc:
        raise MissingLibraryError(import_name.split('.')[0], exc) from None
