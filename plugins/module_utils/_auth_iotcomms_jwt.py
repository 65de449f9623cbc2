# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms.io: a JWT the customer signs with its own RSA key, RS256 (seed 004).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Claims: ``sub`` = the tenant domain, ``iat`` = now (the platform refuses tokens older than one
hour), ``exp`` at most 90 minutes after ``iat``. Minting, renewal (50 minutes after ``iat`` with the
default lifetime) and the 401 rule are those of every self-signed JWT (``_auth_jwt``).
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_jwt import SelfSignedJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import RSA_KEY, require_rsa

MAX_LIFETIME = 90 * 60
MAX_AGE = 60 * 60


class IotcommsJwtAuth(SelfSignedJwtAuth):
    """The tenant domain's RS256 JWT."""

    NAME = 'iotcomms.io RS256 JWT'
    ALGORITHM = 'RS256'
    KEY_RULE = RSA_KEY
    MAX_AGE = MAX_AGE

    def __init__(self, domain, private_key_path=None, private_key=None, passphrase=None, lifetime=MAX_LIFETIME, **kwargs):
        super().__init__(domain, private_key_path=private_key_path, private_key=private_key, passphrase=passphrase, lifetime=lifetime,
                         **kwargs)

    @property
    def domain(self):
        return self.subject

    def validate_options(self):
        if not self.domain:
            raise ConfigError('domain is required (IOTCOMMS_DOMAIN): it is the tenant domain, e.g. customer47.prod-eu-north-1.iotcomms.io, '
                              'and the sub claim of the JWT')
        if self.private_key_path and self.private_key_pem:
            raise ConfigError('private_key_path and private_key are mutually exclusive: give the signing key once')
        if not (self.private_key_path or self.private_key_pem):
            raise ConfigError('an RS256 signing key is required: give private_key_path (IOTCOMMS_PRIVATE_KEY_PATH) '
                              'or private_key (IOTCOMMS_PRIVATE_KEY)')
        # MAX_LIFETIME is read here, at run time: a test lets the module sign a token the platform refuses
        if not isinstance(self.lifetime, int) or not 60 <= self.lifetime <= MAX_LIFETIME:
            raise ConfigError('jwt_lifetime must be an integer from 60 to %d seconds: iotcomms.io refuses an exp more than '
                              '90 minutes after iat' % MAX_LIFETIME)

    def check_key(self, key, option):
        require_rsa(key, option)
