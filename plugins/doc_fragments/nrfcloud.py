# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nordic nRF Cloud: endpoints and API key."""

from __future__ import annotations


class ModuleDocFragment:
    """nRF Cloud API URLs and team API key."""

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the nRF Cloud device and account REST API, including C(/v1).
      - If not set, the value of the E(NRFCLOUD_API_URL) environment variable is used, then the default.
    type: str
    default: https://api.nrfcloud.com/v1
  provisioning_api_url:
    description:
      - Base URL of the nRF Cloud Provisioning Service (claiming and provisioning commands), including C(/v1).
      - If not set, the value of the E(NRFCLOUD_PROVISIONING_API_URL) environment variable is used, then the default.
    type: str
    default: https://api.provisioning.nrfcloud.com/v1
  api_key:
    description:
      - The API key of the nRF Cloud team, sent as a C(Bearer) token. API keys differ per user and per team.
      - If not set, the value of the E(NRFCLOUD_API_KEY) environment variable is used. One of the two is required.
    type: str
'''
