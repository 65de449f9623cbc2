# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud OAuth2: an access token obtained by the user's OAuth2 flow, sent as `Bearer` (seed 001).

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_base import StaticHeaderAuth


class NaoCloudOAuth2Auth(StaticHeaderAuth):
    """The collection does not run the browser flow; it uses the access token it is given."""

    NAME, PREFIX, OPTION, ENV = 'NAO Cloud OAuth2 access token', 'Bearer ', 'access_token', 'NAOCLOUD_ACCESS_TOKEN'
