# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox Security Services: APIKey/APISecret -> AuthToken (1 h) + RefreshToken (3 days) (seed 002).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The AuthToken goes raw in ``Authorization`` as u-blox's own sample client sends it. It is renewed
shortly before its ``exp`` with /refreshauthtoken, falling back to /authenticate when the refresh
token is refused. A 401 forces one renewal and one retry of the request.
"""

from __future__ import annotations

import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import AuthBase, jwt_claims_unverified
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError

AUTH_TOKEN_LIFETIME = 3600
REFRESH_TOKEN_LIFETIME = 3 * 24 * 3600
RENEW_MARGIN = 120


class UbloxTokenAuth(AuthBase):
    """Log in with API key and secret, or use an AuthToken from ublox_token."""

    NAME = 'u-blox API key/secret'

    def __init__(self, api_key=None, api_secret=None, auth_token=None, clock=time.time):
        self.api_key = api_key
        self.api_secret = api_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token = auth_token
        self._token_expires = self._expiry_of(auth_token) if auth_token else 0
        self._refresh_token = None
        self._refresh_expires = 0
        self.logins = 0

    def validate(self):
        if self.api_key and not self.api_secret:
            raise ConfigError('api_secret is required with api_key (u-blox authenticates the pair): give api_secret in the task or '
                              'set UBLOX_API_SECRET to the APISecret created with this APIKey')
        if self.api_secret and not self.api_key:
            raise ConfigError('api_key is required with api_secret (u-blox authenticates the pair): give api_key in the task or '
                              'set UBLOX_API_KEY to the APIKey of this APISecret')
        if not (self.api_key or self._token):
            raise ConfigError('u-blox credentials are missing: give api_key and api_secret (or UBLOX_API_KEY and UBLOX_API_SECRET), '
                              'or auth_token (UBLOX_AUTH_TOKEN) from iotops.provisioning.ublox_token')

    def secrets(self):
        return [self.api_key, self.api_secret, self._token]

    @property
    def can_login(self):
        return bool(self.api_key and self.api_secret)

    def _expiry_of(self, token):
        exp = jwt_claims_unverified(token).get('exp')
        return float(exp) if isinstance(exp, (int, float)) else self._clock() + AUTH_TOKEN_LIFETIME

    def apply(self, client, headers):
        with self._lock:
            if self._token is None or (self.can_login and self._clock() >= self._token_expires - RENEW_MARGIN):
                self._renew(client)
            headers['Authorization'] = self._token

    def on_unauthorized(self, client, sent_headers):
        with self._lock:
            if self._token != sent_headers.get('Authorization'):
                return True  # another thread already renewed it
            if not self.can_login:
                return False
            self._renew(client, refresh_first=True)
            return True

    def current(self, client):
        """(auth_token, refresh_token, expires_at) after logging in if needed; for ublox_token."""
        with self._lock:
            if self._token is None or self._refresh_token is None:
                self._renew(client, refresh_first=False)
            return self._token, self._refresh_token, self._token_expires

    def _renew(self, client, refresh_first=True):
        if not self.can_login:
            raise ConfigError('the u-blox auth_token has expired or was refused and no api_key/api_secret were given to log in again')
        now = self._clock()
        if refresh_first and self._refresh_token and now < self._refresh_expires - RENEW_MARGIN:
            try:
                body = client.request('POST', '/refreshauthtoken', json_body={'APIKey': self.api_key, 'RefreshToken': self._refresh_token},
                                      expect=(200,), authenticated=False, read_only=True).body
                self._set_token(client, body['AuthToken'])
                return
            except (ApiError, KeyError, TypeError):
                pass  # refused or malformed: log in again below
        body = client.request('POST', '/authenticate', json_body={'APIKey': self.api_key, 'APISecret': self.api_secret},
                              expect=(200,), authenticated=False, read_only=True).body
        try:
            self._set_token(client, body['AuthToken'])
            self._refresh_token = body['RefreshToken']
        except (KeyError, TypeError):
            raise ApiError(client.vendor, 'POST', '/authenticate', 200, message='the answer holds no AuthToken/RefreshToken') from None
        client.redact.add(self._refresh_token)
        self._refresh_expires = now + REFRESH_TOKEN_LIFETIME
        self.logins += 1

    def _set_token(self, client, token):
        client.redact.add(token)
        self._token = token
        self._token_expires = self._expiry_of(token)
