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
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import IssuedTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError


def parse_expiry(value):
    """Epoch seconds from an ISO 8601 date (``Z`` or offset; Python 3.11 reads both) or a number; None if unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        when = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)).timestamp()


class NaoCloudSessionAuth(IssuedTokenAuth):
    """Log in with the API key or email/password, or use a session JWT from naocloud_token."""

    NAME, SECRETS = 'NAO Cloud session JWT', ('api_key', 'password')
    RENEW_MARGIN, DEFAULT_LIFETIME = 300, 24 * 3600  # the JWT lives "usually 24 hours"
    MISSING = ('NAO Cloud credentials are missing: give api_key (NAOCLOUD_API_KEY), email and password (NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD), '
               'or access_token (NAOCLOUD_ACCESS_TOKEN)')

    def __init__(self, api_key=None, email=None, password=None, session_token=None, clock=time.time):
        super().__init__(session_token, clock)
        self.api_key, self.email, self.password = api_key, email, password

    def check_pairs(self):
        if bool(self.email) != bool(self.password):
            raise ConfigError('email and password must be given together to open a NAO Cloud session')

    @property
    def can_login(self):
        return bool(self.api_key or (self.email and self.password))

    def current(self, client):
        """(jwt, expires_at epoch) after logging in; for naocloud_token."""
        with self._lock:
            if self._token is None or self.logins == 0:
                self.renew(client)
            return self._token, self._expires

    def renew(self, client):
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
        self._expires = parse_expiry(meta.get('expires_at')) or self.expiry_of(token)
        self.logins += 1
