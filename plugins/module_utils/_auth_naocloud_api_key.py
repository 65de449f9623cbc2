# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud API key: the user's auth_token sent raw in `Authorization`, no scheme (seed 001).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import StaticHeaderAuth


class NaoCloudApiKeyAuth(StaticHeaderAuth):
    """The API key; the document prefers it for backends."""

    NAME, OPTION, ENV = 'NAO Cloud API key', 'api_key', 'NAOCLOUD_API_KEY'
