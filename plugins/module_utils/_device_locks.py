# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-device write locks shared by the jobs of one machine, for a vendor API without an atomic "append if absent".

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

nRF Cloud appends provisioning commands to a history that cannot be edited, and has no conditional write: two jobs on
the same batch at once (an AWX schedule firing while the last run still works) would each read a history, each decide
the same missing command, and both append it. So every write to a device is made while holding the device's lock file,
and each lock file keeps a generation, raised by every write made under it. A run notes the generation before it reads
a device; if it has moved by the time the run holds the lock, another job wrote meanwhile and the run reads the device
again before deciding. Without contention this costs no request at all.

The lock files live in IOTOPS_LOCK_DIR (default: a directory of the user in the system's temporary directory), one
directory per account (a hash of the API URL and key, never the key). Jobs on different machines share nothing unless
IOTOPS_LOCK_DIR is a shared file system with working ``flock`` locks; docs/concurrency.md says what narrows the race then.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile

LOCK_DIR_ENV = 'IOTOPS_LOCK_DIR'


def default_lock_dir():
    return os.environ.get(LOCK_DIR_ENV) or os.path.join(tempfile.gettempdir(), 'iotops-locks-%d' % os.getuid())


def account_name(*parts):
    """A directory name for an account: a one-way hash of what identifies it (URL and key)."""
    return hashlib.sha256('\0'.join(str(p or '') for p in parts).encode('utf-8')).hexdigest()[:24]


class DeviceLocks:
    """The lock files of one account's devices; ``generation`` before reading, ``writing`` around every write."""

    def __init__(self, account, directory=None):
        self.directory = os.path.join(directory or default_lock_dir(), account)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)

    def _path(self, device_id):
        return os.path.join(self.directory, hashlib.sha256(device_id.encode('utf-8')).hexdigest()[:32])

    def generation(self, device_id):
        """The number of writes made to the device under its lock so far (0 when none)."""
        try:
            with open(self._path(device_id), 'rb') as handle:
                return _read_generation(handle)
        except FileNotFoundError:
            return 0

    @contextlib.contextmanager
    def writing(self, device_id, seen):
        """Hold the device's lock; yields True when another job wrote to it since generation ``seen`` (read it again).

        The generation is raised on the way out, whatever happened: a write that failed half-way may still have landed."""
        with open(self._path(device_id), 'a+b') as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                current = _read_generation(handle)
                yield current != seen
            finally:
                handle.seek(0)
                handle.truncate()
                handle.write(str(current + 1).encode('ascii'))
                handle.flush()
                fcntl.flock(handle, fcntl.LOCK_UN)


def _read_generation(handle):
    text = handle.read().strip()
    return int(text) if text.isdigit() else 0
