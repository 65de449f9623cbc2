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


def jwt_claims_unverified(token):
    """The claims of a JWT without checking its signature (only to read exp of a token we were given)."""
    try:
        payload = token.split('.')[1]
        payload += '=' * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')))
    except (IndexError, ValueError, UnicodeError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}
