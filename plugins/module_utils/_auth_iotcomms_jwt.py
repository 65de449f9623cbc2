# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms.io: a JWT the customer signs with its own RSA key, RS256 (seed 004).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Claims: ``sub`` = the tenant domain, ``iat`` = now (the platform refuses tokens older than one
hour), ``exp`` at most 90 minutes after ``iat``. A new token is minted when the current one
is 50 minutes old, so long runs never send a token the platform would find too old.
"""

from __future__ import annotations

import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import AuthBase
from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import RSA_KEY, load_private_key, read_key_file, require_rsa

MAX_LIFETIME = 90 * 60
MAX_AGE = 60 * 60
REMINT_AGE = 50 * 60


class IotcommsJwtAuth(AuthBase):
    """Mints the RS256 JWT lazily, once per run, and again only when it gets old or is refused."""

    NAME = 'iotcomms.io RS256 JWT'

    def __init__(self, domain, private_key_path=None, private_key=None, passphrase=None, lifetime=MAX_LIFETIME, clock=time.time):
        self.domain = domain
        self.private_key_path = private_key_path
        self.private_key_pem = private_key
        self.passphrase = passphrase
        self.lifetime = lifetime
        self._clock = clock
        self._key = None
        self._token = None
        self._issued = 0
        self._lock = threading.Lock()

    def validate(self):
        if not self.domain:
            raise ConfigError('domain is required (IOTCOMMS_DOMAIN): it is the tenant domain, e.g. customer47.prod-eu-north-1.iotcomms.io, '
                              'and the sub claim of the JWT')
        if self.private_key_path and self.private_key_pem:
            raise ConfigError('private_key_path and private_key are mutually exclusive: give the signing key once')
        if not (self.private_key_path or self.private_key_pem):
            raise ConfigError('an RS256 signing key is required: give private_key_path (IOTCOMMS_PRIVATE_KEY_PATH) '
                              'or private_key (IOTCOMMS_PRIVATE_KEY)')
        if not isinstance(self.lifetime, int) or not 60 <= self.lifetime <= MAX_LIFETIME:
            raise ConfigError('jwt_lifetime must be an integer from 60 to %d seconds: iotcomms.io refuses an exp more than '
                              '90 minutes after iat' % MAX_LIFETIME)
        if self.private_key_path:
            pem, option = read_key_file(self.private_key_path, 'private_key_path'), 'private_key_path'
        else:
            pem, option = self.private_key_pem, 'private_key'
        key = load_private_key(pem, option, self.passphrase, 'private_key_passphrase', rule=RSA_KEY)
        require_rsa(key, option)
        self._key = key

    def secrets(self):
        return [self.private_key_pem, self.passphrase]

    def _mint(self, client):
        if self._key is None:
            self.validate()
        jwt = require('jwt')
        now = int(self._clock())
        self._token = jwt.encode({'sub': self.domain, 'iat': now, 'exp': now + self.lifetime}, self._key, algorithm='RS256')
        self._issued = now
        client.redact.add(self._token)

    def apply(self, client, headers):
        with self._lock:
            if self._token is None or self._clock() - self._issued >= min(REMINT_AGE, self.lifetime - 60):
                self._mint(client)
            headers['Authorization'] = 'Bearer ' + self._token

    def on_unauthorized(self, client, sent_headers):
        with self._lock:
            if 'Bearer ' + (self._token or '') != sent_headers.get('Authorization'):
                return True
            self._mint(client)
            return True
