# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JWT the collection signs itself with the customer's private key (iotcomms.io RS256; any ES256 scheme is a subclass too).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Claims ``sub`` (the subject: a tenant domain, a device id), ``iat`` (now, on the controller's clock) and ``exp``
(``iat`` + lifetime). One renewal rule and one 401 rule for every such scheme:

- renewal: a token is usable for its lifetime, or for ``MAX_AGE`` seconds after ``iat`` when the vendor refuses older
  tokens; a new one is minted once less than a sixth of that usable life, and at most ``RENEW_MARGIN``, is left (so a
  long run never sends a token the vendor would find too old, and a short-lived token is not re-minted on every request);
- 401: the token is minted again once and the request retried once (HttpClient retries once); if another thread
  re-minted meanwhile, the request is retried with that token.
"""

from __future__ import annotations

import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import AuthBase
from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import ANY_KEY, load_private_key, read_key_file

RENEW_MARGIN = 10 * 60


class SelfSignedJwtAuth(AuthBase):
    """Mints the JWT lazily, once per run, and again only by the renewal rule or after a 401 (see the module docstring).

    A subclass sets ``ALGORITHM``, ``KEY_RULE`` and ``MAX_AGE``, checks its options in ``validate_options`` and the key's
    type in ``check_key``."""

    NAME = 'self-signed JWT'
    ALGORITHM = None
    KEY_RULE = ANY_KEY
    MAX_AGE = None  # seconds after iat the vendor still takes a token; None: until its exp
    KEY_OPTION, KEY_PATH_OPTION, PASSPHRASE_OPTION = 'private_key', 'private_key_path', 'private_key_passphrase'

    def __init__(self, subject, private_key_path=None, private_key=None, passphrase=None, lifetime=600, clock=time.time):
        self.subject, self.lifetime, self._clock = subject, lifetime, clock
        self.private_key_path, self.private_key_pem, self.passphrase = private_key_path, private_key, passphrase
        self._key = self._token = None
        self._issued = 0
        self._lock = threading.Lock()

    # -- hooks -----------------------------------------------------------------------------------------
    def validate_options(self):
        """Raise ConfigError for a missing subject, a lifetime out of the vendor's range, no key or two keys."""

    def check_key(self, key, option):
        """Raise ConfigError when ``key`` cannot sign ``ALGORITHM``."""

    # -- the scheme --------------------------------------------------------------------------------------
    def validate(self):
        self.validate_options()
        if self.private_key_path:
            pem, option = read_key_file(self.private_key_path, self.KEY_PATH_OPTION), self.KEY_PATH_OPTION
        else:
            pem, option = self.private_key_pem, self.KEY_OPTION
        key = load_private_key(pem, option, self.passphrase, self.PASSPHRASE_OPTION, rule=self.KEY_RULE)
        self.check_key(key, option)
        self._key = key

    def secrets(self):
        return [self.private_key_pem, self.passphrase]

    def renew_after(self):
        """Seconds after iat from which the token is minted again (the one renewal rule)."""
        usable = min(self.lifetime, self.MAX_AGE or self.lifetime)
        return usable - min(RENEW_MARGIN, usable // 6)

    def token(self, client=None):
        """The current token, minted first when there is none or it is due for renewal."""
        with self._lock:
            if self._token is None or self._clock() - self._issued >= self.renew_after():
                self._mint(client)
            return self._token

    def apply(self, client, headers):
        headers['Authorization'] = 'Bearer ' + self.token(client)

    def on_unauthorized(self, client, sent_headers):
        with self._lock:
            if 'Bearer ' + (self._token or '') == sent_headers.get('Authorization'):
                self._mint(client)
            return True

    def _mint(self, client):
        if self._key is None:
            self.validate()
        jwt = require('jwt')
        now = int(self._clock())
        self._token = jwt.encode({'sub': self.subject, 'iat': now, 'exp': now + self.lifetime}, self._key, algorithm=self.ALGORITHM)
        self._issued = now
        if client is not None:
            client.redact.add(self._token)
