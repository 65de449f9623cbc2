# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a long module run has got, for the person watching the play.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A module cannot print while it runs: Ansible shows its output only when it has ended. So the module
writes its counts to a small JSON file, and the collection's action plugin of the same name reads
that file every few seconds and shows a line in the play's output (plugin_utils/_progress_action.py).
The action names the file in the module's environment (``IOTOPS_PROGRESS_FILE``); without it a
``Progress`` does nothing, so a module run by hand, in a test or with an old action costs nothing.
``read_progress`` and ``progress_line`` are the action's side of the same file.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time

PROGRESS_FILE_ENV = 'IOTOPS_PROGRESS_FILE'
# set for a job started in the background: nobody shows its file once it has ended, so the module removes it (and the
# action's private folder) at exit; async_result removes them too, in case the job was killed
PROGRESS_REMOVE_ENV = 'IOTOPS_PROGRESS_REMOVE'
PROGRESS_FOLDER_PREFIX = 'iotops-progress-'  # the action's private folder (tempfile.mkdtemp)
PROGRESS_FILE_NAME = 'progress.json'
MIN_WRITE_INTERVAL = 0.5  # seconds: thousands of items finishing in a burst write the file a few times, not thousands


class Progress:
    """Counts of one module run - ``total``, ``done`` (finished, failed ones included), ``waiting`` (for the device),
    ``failed`` - and the ``stage`` it is in, written to the progress file when the action asked for one.

    Thread-safe: the batch runner's threads call ``add`` as each item finishes. Writes are atomic (a temporary file
    renamed over the old one, so the reader never sees half a file) and at most every MIN_WRITE_INTERVAL seconds; a
    change that falls inside that interval is written when it is over, so the file never stays behind for long.

    ``clock`` (monotonic, for the interval), ``timer`` (makes the timer of a held-back write) and ``now`` (the wall clock
    of ``updated``) are hooks for tests, which drive time by hand."""

    _current = None
    _current_lock = threading.Lock()

    def __init__(self, total, noun='devices', clock=time.monotonic, timer=threading.Timer, now=time.time):
        self.path = os.environ.get(PROGRESS_FILE_ENV) or None
        self.total = total
        self.noun = noun
        self.done = 0
        self.waiting = 0
        self.failed = 0
        self.stage = None
        self._clock, self._make_timer, self._now = clock, timer, now  # the hooks
        self._lock = threading.Lock()
        self._written_at = None
        self._timer = None

    @classmethod
    def current(cls, total=None, noun=None):
        """The one Progress of this module run, so that the batch runner and a module's own status rounds count in the
        same file; a later caller's ``total`` and ``noun`` replace the earlier ones. Written a last time at exit."""
        with cls._current_lock:
            if cls._current is None:
                cls._current = cls(total or 0, noun or 'devices')
                if cls._current.path:
                    cls._current.set()  # "0 of 1,000 devices done" from the start
                    atexit.register(cls._current.close)
            elif total is not None or noun is not None:
                cls._current.set(total=total, noun=noun)
            return cls._current

    def add(self, done=0, failed=0):
        """Count items that have finished (``done`` includes the ``failed`` ones)."""
        if not self.path:
            return
        with self._lock:
            self.done += done
            self.failed += failed
            self._changed()

    def set(self, done=None, waiting=None, failed=None, stage=None, total=None, noun=None):
        """Absolute values (for a module that reads its devices in rounds); None leaves a value as it is."""
        if not self.path:
            return
        with self._lock:
            for name, value in (('done', done), ('waiting', waiting), ('failed', failed), ('stage', stage), ('total', total),
                                ('noun', noun)):
                if value is not None:
                    setattr(self, name, value)
            self._changed()

    def close(self):
        """Write the last counts now (at the end of the run), or remove the file of a job run in the background."""
        if not self.path:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if os.environ.get(PROGRESS_REMOVE_ENV):
                remove_progress(self.path)
                self.path = None
                return
            self._write()

    def _changed(self):
        """Write now, or once MIN_WRITE_INTERVAL has passed since the last write. Called with the lock held."""
        if self._timer is not None:
            return  # a write is already due and will carry this change
        wait = 0 if self._written_at is None else self._written_at + MIN_WRITE_INTERVAL - self._clock()
        if wait <= 0:
            self._write()
            return
        self._timer = self._make_timer(wait, self._due)
        self._timer.daemon = True  # never holds up the module's exit; close() writes the last counts
        self._timer.start()

    def _due(self):
        with self._lock:
            if self._timer is None:
                return  # close() came first
            self._timer = None
            self._write()

    def _write(self):
        """Replace the file atomically. Progress is only a view: if it cannot be written, the module goes on without it."""
        if not self.path:
            return
        data = dict(total=self.total, done=self.done, waiting=self.waiting, failed=self.failed, stage=self.stage, noun=self.noun,
                    updated=self._now())
        folder = os.path.dirname(self.path) or '.'
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix='.progress-', suffix='.tmp')
        except OSError:
            self.path = None
            return
        try:
            with os.fdopen(handle, 'w', encoding='utf-8') as stream:
                json.dump(data, stream)
            os.replace(temporary, self.path)
        except OSError:
            self.path = None
            try:
                os.unlink(temporary)
            except OSError:
                pass
        self._written_at = self._clock()


# The reading side, used by the action plugin on the controller: here, beside the writer, so that the file's
# format is in one place (and testable without loading Ansible's controller code).

def progress_file(path):
    """``path`` when it is a progress file in one of the action's private folders (the only files removed), else None."""
    if not isinstance(path, str) or not os.path.isabs(path) or os.path.basename(path) != PROGRESS_FILE_NAME:
        return None
    return path if os.path.basename(os.path.dirname(path)).startswith(PROGRESS_FOLDER_PREFIX) else None


def remove_progress(path):
    """Remove a progress file and its private folder; whatever is not there is fine."""
    if progress_file(path) is None:
        return
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def read_progress(path):
    """What the module last wrote, or None before its first write."""
    try:
        with open(path, encoding='utf-8') as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def progress_line(prefix, data, elapsed):
    """``<prefix>: 420 of 1,000 devices done · 80 waiting · 2 failed · <stage> · 0:40 elapsed``."""
    if data:
        parts = ['%s of %s %s done' % (_count(data.get('done')), _count(data.get('total')), data.get('noun') or 'items'),
                 '%s waiting' % _count(data.get('waiting')), '%s failed' % _count(data.get('failed'))]
        if data.get('stage'):
            parts.append(str(data['stage']))
    else:
        parts = ['started']
    parts.append('%s elapsed' % _duration(elapsed))
    return '%s: %s' % (prefix, ' · '.join(parts))


def _count(value):
    return '{:,}'.format(value if isinstance(value, int) else 0)


def _duration(seconds):
    """``0:40``, ``12:05``, ``1:02:03``."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return '%d:%02d:%02d' % (hours, minutes, seconds) if hours else '%d:%02d' % (minutes, seconds)
