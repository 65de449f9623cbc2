# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotcomms.io: endpoint, tenant domain and JWT signing key."""

from __future__ import annotations


class ModuleDocFragment:
    """iotcomms.io API URL, domain and RS256 key."""

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the iotcomms.io API of the region, without the C(/provisioning) path.
      - If not set, the value of the E(IOTCOMMS_API_URL) environment variable is used, then the default.
    type: str
    default: https://api.prod-eu-north-1.iotcomms.io
  domain:
    description:
      - The tenant domain, for example C(customer47.prod-eu-north-1.iotcomms.io). It is the C(sub) claim of the JWT and part of
        every API path.
      - If not set, the value of the E(IOTCOMMS_DOMAIN) environment variable is used. One of the two is required.
    type: str
  private_key_path:
    description:
      - Path on the controller of the PEM RSA private key whose public key was uploaded in the iotcomms.io web UI
        (CONFIGURATIONS, API ACCESS). The module signs an RS256 JWT with it.
      - If neither O(private_key_path) nor O(private_key) is set, the value of the E(IOTCOMMS_PRIVATE_KEY_PATH) environment
        variable is used. A key given in the task wins over the environment.
      - Mutually exclusive with O(private_key), in the task and in the environment.
    type: path
  private_key:
    description:
      - The PEM RSA private key itself, for example from a vault or an AWX credential.
      - If neither O(private_key_path) nor O(private_key) is set, the value of the E(IOTCOMMS_PRIVATE_KEY) environment variable
        is used. A key given in the task wins over the environment.
      - Mutually exclusive with O(private_key_path), in the task and in the environment.
    type: str
  private_key_passphrase:
    description:
      - The passphrase of an encrypted private key.
      - If not set, and the key comes from the environment, the value of the E(IOTCOMMS_PRIVATE_KEY_PASSPHRASE) environment variable
        is used. A key given in the task is never opened with the environment's passphrase.
    type: str
  jwt_lifetime:
    description:
      - Seconds from C(iat) to C(exp) of the JWT the module signs. iotcomms.io refuses an C(exp) more than 90 minutes after
        C(iat) and a token older than one hour, so the module signs a new token when the current one is 50 minutes old.
      - Range 60 to 5400.
    type: int
    default: 5400
'''
