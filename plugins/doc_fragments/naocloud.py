# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud: endpoint and the three authentication methods."""

from __future__ import annotations


class ModuleDocFragment:
    """NAO Cloud API URL and credentials."""

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the NAO Cloud REST API, including C(/api/v2).
      - If not set, the value of the E(NAOCLOUD_API_URL) environment variable is used, then the default.
    type: str
    default: https://www.nao-cloud.com/api/v2
  api_key:
    description:
      - The user's API key (C(auth_token) on the NAO Cloud My Profile page), sent as it is in the C(Authorization) header.
        NAO Cloud recommends it for backends.
      - If not set, the value of the E(NAOCLOUD_API_KEY) environment variable is used.
    type: str
  email:
    description:
      - E-mail address of a NAO Cloud user; with O(password), the module opens a session and uses its JWT.
      - If not set, the value of the E(NAOCLOUD_EMAIL) environment variable is used.
    type: str
  password:
    description:
      - Password of the user named by O(email).
      - If not set, the value of the E(NAOCLOUD_PASSWORD) environment variable is used.
    type: str
  access_token:
    description:
      - A token obtained elsewhere - an OAuth2 access token, or a session JWT from M(iotops.provisioning.naocloud_token);
        O(access_token_type) says which.
      - If not set, the value of the E(NAOCLOUD_ACCESS_TOKEN) environment variable is used.
      - When given, it is used instead of O(api_key) and O(email). With O(access_token_type=session) and O(api_key) or O(email)
        also given, an expired session is renewed.
    type: str
  access_token_type:
    description:
      - V(oauth2) sends O(access_token) as C(Bearer) token; V(session) sends it as it is, like NAO Cloud session JWTs.
      - If not set, the value of the E(NAOCLOUD_ACCESS_TOKEN_TYPE) environment variable is used, then V(oauth2).
    type: str
    choices: [oauth2, session]
    default: oauth2
'''
