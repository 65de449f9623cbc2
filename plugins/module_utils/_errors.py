# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions and secret redaction shared by the collection.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import re
import threading

MASK = '********'

# Shapes that are secret whatever their value: bearer credentials, JWTs and PEM private keys.
_GENERIC_SECRET_PATTERNS = (
    (re.compile(r'(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+'), r'\g<1>' + MASK),
    (re.compile(r'\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*'), MASK),
    (re.compile(r'-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)', re.S), MASK),
)


class Redactor:
    """Removes known secret values and secret-shaped strings from text.

    Every message that may reach a user (exceptions, warnings, per-item
    results) passes through one of these. ``on_add`` lets a module mirror
    secrets learnt at run time (tokens) into ``AnsibleModule.no_log_values``.
    """

    def __init__(self, on_add=None):
        self._secrets = set()
        self._lock = threading.Lock()
        self._on_add = on_add

    def add(self, value):
        """Remember a secret value; values shorter than 4 characters are ignored (they would mask ordinary text)."""
        if value is None:
            return
        value = str(value)
        if len(value) < 4:
            return
        with self._lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
        if self._on_add is not None:
            self._on_add(value)

    def __call__(self, text):
        if text is None:
            return text
        text = str(text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _GENERIC_SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class IotopsError(Exception):
    """Base error: ``msg`` is safe to show, ``details`` goes into the module result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class ConfigError(IotopsError):
    """Bad or missing input, detected before any request was sent."""


class RequestError(IotopsError):
    """A request that did not succeed: ``vendor``, ``method`` and ``path``, which ``details['error']`` holds too."""

    def __init__(self, text, vendor, method, path, **error):
        super().__init__(text, error=dict(vendor=vendor, method=method, path=path, **error))
        self.vendor = vendor
        self.method = method
        self.path = path


class ApiError(RequestError):
    """The vendor answered with an error status."""

    def __init__(self, vendor, method, path, status, code=None, message=None, redact=None):
        redact = redact or Redactor()
        message = redact(message) if message else None
        text = '%s %s %s failed: HTTP %s' % (vendor, method, path, status)
        if code not in (None, ''):
            text += ', vendor code %s' % redact(code)
        if message:
            text += ': %s' % message
        super().__init__(text, vendor, method, path, status=status, code=code, message=message)
        self.status = status
        self.code = code
        self.vendor_message = message


class TransportError(RequestError):
    """The request could not be completed (connection, TLS, timeout)."""

    def __init__(self, vendor, method, path, reason, redact=None):
        redact = redact or Redactor()
        reason = redact(reason)
        super().__init__('%s %s %s could not be completed: %s' % (vendor, method, path, reason), vendor, method, path,
                         status=None, reason=reason)
        self.reason = reason


class OutcomeUnknownError(TransportError):
    """A write was sent but no answer came back, and nothing could tell whether it was applied."""
