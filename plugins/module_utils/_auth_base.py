# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every auth scheme class provides, and the static-header scheme most of them build on.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

An auth object is created from module options, ``validate()``-d before any request, and then
called by HttpClient: ``apply()`` before each request (logging in lazily, once, thread-safe) and
``on_unauthorized()`` after a 401 (log in again and ask for one retry, or give up).
"""

from __future__ import annotations

import base64
import json
import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError


class AuthBase:
    """Interface of the auth scheme classes."""

    #: short name used in messages and docs
    NAME = 'none'

    def validate(self):
        """Raise ConfigError naming the option and the rule when the options cannot work."""

    def secrets(self):
        """Secret values given by the user, to keep out of every message."""
        return []

    def apply(self, client, headers):
        """Set the Authorization header (logging in first when needed)."""
        raise NotImplementedError

    def on_unauthorized(self, client, sent_headers):
        """Called after a 401: return True to have the request sent once more with fresh credentials."""
        return False


class StaticHeaderAuth(AuthBase):
    """A credential sent unchanged in ``Authorization``, optionally after a scheme prefix."""

    PREFIX = ''
    OPTION = 'token'
    ENV = None

    def __init__(self, token):
        self.token = token

    def validate(self):
        if not self.token:
            source = '%s (or the %s environment variable)' % (self.OPTION, self.ENV) if self.ENV else self.OPTION
            raise ConfigError('%s is required for %s authentication' % (source, self.NAME))
        if any(c.isspace() for c in self.token):
            raise ConfigError('%s must not contain whitespace (it is sent as an HTTP header value)' % self.OPTION)

    def secrets(self):
        return [self.token]

    def apply(self, client, headers):
        headers['Authorization'] = self.PREFIX + self.token


class IssuedTokenAuth(AuthBase):
    """A token the vendor issues at a login (or the user passes in from a ``<vendor>_token`` task), sent raw in
    ``Authorization``: logged in lazily, renewed ``RENEW_MARGIN`` seconds before its ``exp`` and once after a 401.
    A subclass says whether it ``can_login`` and how to ``renew`` (which sets ``_token`` and ``_expires``)."""

    RENEW_MARGIN = 300
    DEFAULT_LIFETIME = 3600  # for a token whose exp cannot be read
    SECRETS = ()  # the attributes that hold the user's secrets
    MISSING = 'credentials are missing'  # the error when there is neither a way to log in nor a token

    def __init__(self, token=None, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._token = token
        self._expires = self.expiry_of(token) if token else 0
        self.logins = 0

    def validate(self):
        self.check_pairs()
        if not (self.can_login or self._token):
            raise ConfigError(self.MISSING)

    def check_pairs(self):
        """Raise ConfigError for an option given without its partner (an email without a password)."""

    def secrets(self):
        return [getattr(self, name) for name in self.SECRETS] + [self._token]

    @property
    def can_login(self):
        raise NotImplementedError

    def renew(self, client):
        """Log in (or refresh) and set ``_token`` and ``_expires``; called with the lock held."""
        raise NotImplementedError

    def expiry_of(self, token):
        exp = jwt_claims_unverified(token).get('exp')
        return float(exp) if isinstance(exp, (int, float)) else self._clock() + self.DEFAULT_LIFETIME

    def apply(self, client, headers):
        with self._lock:
            if self._token is None or (self.can_login and self._clock() >= self._expires - self.RENEW_MARGIN):
                self.renew(client)
            headers['Authorization'] = self._token

    def on_unauthorized(self, client, sent_headers):
        with self._lock:
            if self._token != sent_headers.get('Authorization'):
                return True  # another thread already renewed it
            if not self.can_login:
                return False
            self.renew(client)
            return True


def jwt_claims_unverified(token):
    """The claims of a JWT without checking its signature (only to read exp of a token we were given)."""
    try:
        payload = token.split('.')[1]
        payload += '=' * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')))
    except (IndexError, ValueError, UnicodeError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}
