# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud API key: `Authorization: Bearer <key>` on every user-level call (seed 000).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import StaticHeaderAuth


class NrfCloudApiKeyAuth(StaticHeaderAuth):
    """The team API key; a 401 means the key is wrong or revoked, so there is nothing to retry."""

    NAME, PREFIX, OPTION, ENV = 'nRF Cloud API key', 'Bearer ', 'api_key', 'NRFCLOUD_API_KEY'
