# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud session JWT from ``POST /sessions``, sent raw in ``Authorization`` (seed 001).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The session is opened with the API key in the header (no body) or with the user's email and
password in the body. The JWT is valid "usually 24 hours"; it is renewed shortly before the
expiry the response gives, and once after a 401.
"""

from __future__ import annotations

import datetime
import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import AuthBase, jwt_claims_unverified
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError

RENEW_MARGIN = 300
DEFAULT_LIFETIME = 24 * 3600


def parse_expiry(value):
    """Epoch seconds from an ISO 8601 date (``Z`` or offset) or a number; None if unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class NaoCloudSessionAuth(AuthBase):
    """Log in with the API key or email/password, or use a session JWT from naocloud_token."""

    NAME = 'NAO Cloud session JWT'

    def __init__(self, api_key=None, email=None, password=None, session_token=None, clock=time.time):
        self.api_key = api_key
        self.email = email
        self.password = password
        self._clock = clock
        self._lock = threading.Lock()
        self._token = session_token
        self._expires = self._expiry_of_token(session_token) if session_token else 0
        self.logins = 0

    def validate(self):
        if bool(self.email) != bool(self.password):
            raise ConfigError('email and password must be given together to open a NAO Cloud session')
        if not (self.api_key or self.email or self._token):
            raise ConfigError('NAO Cloud credentials are missing: give api_key (NAOCLOUD_API_KEY), email and password '
                              '(NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD), or access_token (NAOCLOUD_ACCESS_TOKEN)')

    def secrets(self):
        return [self.api_key, self.password, self._token]

    @property
    def can_login(self):
        return bool(self.api_key or (self.email and self.password))

    def _expiry_of_token(self, token):
        exp = jwt_claims_unverified(token).get('exp')
        return float(exp) if isinstance(exp, (int, float)) else self._clock() + DEFAULT_LIFETIME

    def apply(self, client, headers):
        with self._lock:
            if self._token is None or (self.can_login and self._clock() >= self._expires - RENEW_MARGIN):
                self._login(client)
            headers['Authorization'] = self._token

    def on_unauthorized(self, client, sent_headers):
        with self._lock:
            if self._token != sent_headers.get('Authorization'):
                return True
            if not self.can_login:
                return False
            self._login(client)
            return True

    def current(self, client):
        """(jwt, expires_at epoch) after logging in; for naocloud_token."""
        with self._lock:
            if self._token is None or self.logins == 0:
                self._login(client)
            return self._token, self._expires

    def _login(self, client):
        if not self.can_login:
            raise ConfigError('the NAO Cloud session token has expired or was refused and no api_key or email/password were given '
                              'to open a new session')
        if self.email:
            kwargs = dict(json_body={'session': {'email': self.email, 'password': self.password}}, headers=None)
        else:
            kwargs = dict(json_body=None, headers={'Authorization': self.api_key})
        body = client.request('POST', '/sessions', expect=(200, 201), authenticated=False, read_only=True, **kwargs).body
        meta = body.get('meta') if isinstance(body, dict) else None
        token = meta.get('jwt') if isinstance(meta, dict) else None
        if not token:
            raise ApiError(client.vendor, 'POST', '/sessions', 201, message='the answer holds no meta.jwt')
        client.redact.add(token)
        self._token = token
        self._expires = parse_expiry(meta.get('expires_at')) or self._expiry_of_token(token)
        self.logins += 1
