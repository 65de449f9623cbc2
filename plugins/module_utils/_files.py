# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing files idempotently (certificate PEMs, reports), with AnsibleModule's own file helpers, and checking file modes.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError

_OCTAL_MODE = re.compile(r'^0?[0-7]{3,4}$')
_SYMBOLIC_MODE = re.compile(r'^([ugoa]*[-+=]([rwxXst]*|[ugo]))(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$')


def validate_mode(mode, option):
    """A file mode as the file module takes it: octal (``'0644'``) or symbolic (``'u=rw,go=r'``)."""
    if mode is None:
        return
    if isinstance(mode, int):
        if not 0 <= mode <= 0o7777:
            raise ConfigError('%s: %r is not a file mode' % (option, mode))
        return
    if not (_OCTAL_MODE.match(str(mode)) or _SYMBOLIC_MODE.match(str(mode))):
        raise ConfigError("%s: %r is not a file mode; give it in octal as a quoted string ('0644') or in symbolic form ('u=rw,go=r')"
                          % (option, mode))


def apply_mode(path, mode):
    """Give the file ``path`` the mode ``mode`` (checked by validate_mode: an int, octal or symbolic text), as
    AnsibleModule.set_mode_if_different gives it, for code that runs without a module (an action on the controller)."""
    if mode is None:
        return
    if not isinstance(mode, int):
        try:
            mode = int(mode, 8)
        except ValueError:
            # the same conversion as AnsibleModule's (a class method: no module object is needed)
            mode = AnsibleModule._symbolic_mode_to_octal(os.lstat(path), mode)  # pylint: disable=protected-access
    if stat.S_IMODE(os.lstat(path).st_mode) != mode:
        os.chmod(path, mode)


def validate_target(path, option):
    """The directory of ``path`` must exist (the module does not create directories)."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path)) or '.'
    if not os.path.isdir(directory):
        raise ConfigError('%s: the directory %s does not exist' % (option, directory))
    if os.path.isdir(path):
        raise ConfigError('%s: %s is a directory; give the path of a file' % (option, path))


def read_text(path):
    """The file's content, or None when it does not exist or cannot be read."""
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', errors='replace')
    except OSError:
        return None


def pem_text(pem):
    """A PEM string with real newlines and one newline at the end."""
    return pem.replace('\\n', '\n').strip() + '\n'


def write_file(module, path, content, mode=None):
    """Make ``path`` hold ``content`` (text) and ``mode``; returns True if anything changed (or would, in check mode)."""
    changed = read_text(path) != content
    if changed and not module.check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        handle, tmp_path = tempfile.mkstemp(dir=directory, prefix='.iotops-', suffix='.tmp')
        try:
            with os.fdopen(handle, 'wb') as stream:
                stream.write(content.encode('utf-8'))
            module.atomic_move(tmp_path, path)
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
    return module.set_mode_if_different(path, mode, changed)


def certificate_facts(pem):
    """(subject CN, issuer DN, certificate object) of a PEM certificate, or None when it cannot be read."""
    x509 = require('cryptography.x509')
    try:
        cert = x509.load_pem_x509_certificate(pem.encode('utf-8'))
    except ValueError:
        return None
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return (names[0].value if names else None), cert.issuer, cert


def issued_by(cert, ca_pem):
    """True when ``cert`` carries a valid signature of the CA certificate ``ca_pem``."""
    x509 = require('cryptography.x509')
    try:
        ca = x509.load_pem_x509_certificate(pem_text(ca_pem).encode('utf-8'))
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError):
        return False
    except Exception:  # pylint: disable=broad-except
        # cryptography raises InvalidSignature (not a ValueError) for a signature that does not verify
        return False
    return True
