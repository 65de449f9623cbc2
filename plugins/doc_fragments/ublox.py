# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox Security Services: endpoint and authentication options."""

from __future__ import annotations


class ModuleDocFragment:
    """u-blox API URL and credentials."""

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the u-blox Security Services REST API, including the C(/v1) path version.
      - If not set, the value of the E(UBLOX_API_URL) environment variable is used, then the default.
    type: str
    default: https://ssapi.services.u-blox.com/v1
  api_key:
    description:
      - The APIKey from the Thingstream portal (Security Services, Access Keys), used with O(api_secret) to obtain an AuthToken.
      - If not set, the value of the E(UBLOX_API_KEY) environment variable is used.
      - Give O(api_key) and O(api_secret), or O(auth_token).
    type: str
  api_secret:
    description:
      - The APISecret created with O(api_key). It is shown once in the portal.
      - If not set, the value of the E(UBLOX_API_SECRET) environment variable is used.
      - Required together with O(api_key), from the task or the environment.
    type: str
  auth_token:
    description:
      - An AuthToken from M(iotops.provisioning.ublox_token), so a play logs in once and passes the token to later tasks
        with C(module_defaults).
      - An AuthToken is valid for one hour. When O(api_key) and O(api_secret) are also given, the module renews the token
        itself when it expires; otherwise an expired token fails the task.
      - If not set, the value of the E(UBLOX_AUTH_TOKEN) environment variable is used.
    type: str
notes:
  - u-blox tokens are renewed with the refresh token shortly before they expire, and after a 401 answer the module logs in
    again once and repeats the request.
'''

    # The feature provisioning options of ublox_device_provisioning and ublox_device.
    FEATURES = r'''
options:
  authorizations:
    description:
      - The feature authorizations to set; those left out are not changed.
    type: dict
    suboptions:
      local_dpr:
        description: Local Data Protection (C(LocalDPR)).
        type: bool
      local_c2c:
        description: Local Chip-to-Chip Security (C(LocalC2C)).
        type: bool
      local_c2c_key_pairing:
        description: Local Chip-to-Chip Security Key Pairing (C(LocalC2CKeyPairing)).
        type: bool
      ztpv1:
        description: Zero Touch Provisioning v1 (C(ZTPV1)).
        type: bool
  security_heartbeat:
    description:
      - The security heartbeat interval in seconds (network parameter C(SecurityHeartbeatInSec)), at least 1.
    type: int
'''
