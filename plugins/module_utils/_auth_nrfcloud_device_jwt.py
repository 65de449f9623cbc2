# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud device JWT: ES256 only, `sub` = device id, short lifetime (seed 000).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

PyJWT writes ES256 signatures as raw r||s (JOSE), which is what nRF Cloud verifies;
a DER signature would be refused.
"""

from __future__ import annotations

import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import AuthBase
from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import P256_KEY, load_private_key, require_p256

MAX_LIFETIME = 7 * 24 * 3600  # the nRF Connect SDK's own cap
RENEW_MARGIN = 30


class NrfCloudDeviceJwtAuth(AuthBase):
    """Mints a JWT for one device with its private key and renews it shortly before it expires."""

    NAME = 'nRF Cloud device JWT'

    def __init__(self, device_id, private_key, passphrase=None, lifetime=600, clock=time.time):
        self.device_id = device_id
        self.private_key_pem = private_key
        self.passphrase = passphrase
        self.lifetime = lifetime
        self._clock = clock
        self._key = None
        self._token = None
        self._expires = 0
        self._lock = threading.Lock()

    def validate(self):
        if not self.device_id:
            raise ConfigError('device_id is required: it is the sub claim of the device JWT')
        if not isinstance(self.lifetime, int) or not 1 <= self.lifetime <= MAX_LIFETIME:
            raise ConfigError('jwt_lifetime must be an integer from 1 to %d seconds (7 days)' % MAX_LIFETIME)
        key = load_private_key(self.private_key_pem, 'device_private_key', self.passphrase, 'device_private_key_passphrase', rule=P256_KEY)
        require_p256(key, 'device_private_key')
        self._key = key

    def secrets(self):
        return [self.private_key_pem, self.passphrase]

    def token(self, client=None):
        with self._lock:
            now = int(self._clock())
            if self._token is None or now >= self._expires - RENEW_MARGIN:
                if self._key is None:
                    self.validate()
                jwt = require('jwt')
                self._expires = now + self.lifetime
                self._token = jwt.encode({'sub': self.device_id, 'iat': now, 'exp': self._expires}, self._key, algorithm='ES256')
                if client is not None:
                    client.redact.add(self._token)
            return self._token

    def apply(self, client, headers):
        headers['Authorization'] = 'Bearer ' + self.token(client)
