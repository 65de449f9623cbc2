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

import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import IssuedTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError

AUTH_TOKEN_LIFETIME = 3600
REFRESH_TOKEN_LIFETIME = 3 * 24 * 3600
RENEW_MARGIN = 120


class UbloxTokenAuth(IssuedTokenAuth):
    """Log in with API key and secret, or use an AuthToken from ublox_token."""

    NAME, SECRETS = 'u-blox API key/secret', ('api_key', 'api_secret')
    RENEW_MARGIN, DEFAULT_LIFETIME = RENEW_MARGIN, AUTH_TOKEN_LIFETIME
    MISSING = ('u-blox credentials are missing: give api_key and api_secret (or UBLOX_API_KEY and UBLOX_API_SECRET), '
               'or auth_token (UBLOX_AUTH_TOKEN) from iotops.provisioning.ublox_token')

    def __init__(self, api_key=None, api_secret=None, auth_token=None, clock=time.time):
        super().__init__(auth_token, clock)
        self.api_key, self.api_secret = api_key, api_secret
        self._refresh_token, self._refresh_expires = None, 0

    def check_pairs(self):
        if self.api_key and not self.api_secret:
            raise ConfigError('api_secret is required with api_key (u-blox authenticates the pair): give api_secret in the task or '
                              'set UBLOX_API_SECRET to the APISecret created with this APIKey')
        if self.api_secret and not self.api_key:
            raise ConfigError('api_key is required with api_secret (u-blox authenticates the pair): give api_key in the task or '
                              'set UBLOX_API_KEY to the APIKey of this APISecret')

    @property
    def can_login(self):
        return bool(self.api_key and self.api_secret)

    def current(self, client):
        """(auth_token, refresh_token, expires_at) after logging in if needed; for ublox_token."""
        with self._lock:
            if self._token is None or self._refresh_token is None:
                self._renew(client, refresh_first=False)
            return self._token, self._refresh_token, self._expires

    def renew(self, client):
        self._renew(client, refresh_first=True)

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
        self._expires = self.expiry_of(token)
