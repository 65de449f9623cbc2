#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a NAO Cloud session once and return its JWT for later tasks."""

from __future__ import annotations

DOCUMENTATION = r'''
module: naocloud_token
short_description: Open a NAO Cloud session and return its JWT
version_added: 0.1.0
description:
  - Opens a session with C(POST /sessions), authenticated by O(api_key) or by O(email) and O(password), and returns the
    session JWT (valid about 24 hours) and its expiry date.
  - Pass RV(access_token) and RV(access_token_type) to the other NAO Cloud modules with C(module_defaults), so the password
    is sent once per play.
  - The task output is hidden as with C(no_log), because the result holds the token; the registered variable holds it.
  - Opening a session changes nothing in the account, so the module always reports C(changed=false).
  - O(access_token) and O(access_token_type) are not used by this module; it always opens a new session.
extends_documentation_fragment:
  - iotops.provisioning.naocloud
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_naocloud
attributes:
  check_mode:
    support: full
    details:
      - Opening a session changes no state, so the module opens one in check mode too; later tasks of a C(--check) run can use it.
  diff_mode:
    support: none
seealso:
  - name: NAO Cloud authentication
    description: API key, session JWT and OAuth2 authentication of the NAO Cloud API v2.
    link: https://polestar.zohodesk.com/portal/en/kb/articles/2-authentication
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Log in to NAO Cloud once with the operator's e-mail and password
  iotops.provisioning.naocloud_token:
    email: "{{ nao_operator_email }}"
    password: "{{ vault_nao_operator_password }}"
  register: nao_login

- name: Use the session JWT in the NAO Cloud tasks of a block
  module_defaults:
    group/iotops.provisioning.naocloud:
      access_token: "{{ nao_login.access_token }}"
      access_token_type: "{{ nao_login.access_token_type }}"
  block:
    - name: Show when the session ends
      ansible.builtin.debug:
        msg: "NAO Cloud session valid until {{ nao_login.expires_at }}"

- name: Open a session with the API key from NAOCLOUD_API_KEY against a private NAO Cloud instance
  iotops.provisioning.naocloud_token:
    api_url: https://nao.example.com/api/v2
  register: nao_login
'''

RETURN = r'''
access_token:
  description: The session JWT, for the O(access_token) option of the other NAO Cloud modules.
  returned: success
  type: str
  sample: eyJhbGciOiJIUzI1NiJ9...
access_token_type:
  description: Always V(session); pass it as O(access_token_type) with RV(access_token).
  returned: success
  type: str
  sample: session
expires_at:
  description: When the session JWT expires, in ISO 8601 UTC.
  returned: success
  type: str
  sample: '2026-11-23T15:14:35Z'
expires_in:
  description: Seconds from now until the session JWT expires.
  returned: success
  type: int
  sample: 86400
'''

import time

from ansible_collections.iotops.provisioning.plugins.module_utils._module import iso_utc
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import ARGSPEC, naocloud_client


class Token(InfoModule):
    """Opens a session (changes nothing in NAO Cloud) and returns its JWT; the token is the result, so it is not no_log."""

    def connect(self):
        return naocloud_client(self.module, need_session=True, register_runtime_secrets=False)

    def read(self):
        token, expires = self.client.http.auth.current(self.client.http)
        return dict(access_token=token, access_token_type='session', expires_at=iso_utc(expires), expires_in=max(0, int(expires - time.time())))


def main():
    run_module(Token, ARGSPEC, required_together=[('email', 'password')])


if __name__ == '__main__':
    main()
