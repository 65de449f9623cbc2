#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log in to u-blox Security Services once and return the AuthToken for later tasks."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_token
short_description: Log in to u-blox Security Services and return an AuthToken
version_added: 0.1.0
description:
  - Authenticates the u-blox O(api_key) and O(api_secret) with C(/authenticate) and returns the AuthToken (valid one hour)
    and the RefreshToken (valid three days).
  - Use it once at the start of a play and pass RV(auth_token) to the other u-blox modules with C(module_defaults), so a play
    with many tasks logs in once instead of once per task.
  - The task output is hidden as with C(no_log), because the result holds the tokens; the registered variable holds them.
  - Logging in changes nothing in the account, so the module always reports C(changed=false).
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
    details:
      - Logging in changes no state, so the module logs in and returns a token in check mode too; later tasks of a
        C(--check) run can use it.
  diff_mode:
    support: none
seealso:
  - name: u-blox Security Services REST API
    description: The API reference, including /authenticate and /refreshauthtoken.
    link: https://api.services.u-blox.com/
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
# In a play on localhost (ansible_python_interpreter: "{{ ansible_playbook_python }}").
- name: Log in to u-blox (api_key and api_secret come from UBLOX_API_KEY and UBLOX_API_SECRET)
  iotops.provisioning.ublox_token:
  register: ublox_login

- name: Use the token in every u-blox task of this block
  module_defaults:
    group/iotops.provisioning.ublox:
      auth_token: "{{ ublox_login.auth_token }}"
  block:
    - name: Show when the token expires
      ansible.builtin.debug:
        msg: "AuthToken valid until {{ ublox_login.expires_at }}"

- name: Log in with explicit credentials from a vault, through a TLS-inspecting proxy's CA
  iotops.provisioning.ublox_token:
    api_key: "{{ vault_ublox_api_key }}"
    api_secret: "{{ vault_ublox_api_secret }}"
    ca_path: /etc/pki/corporate-ca.pem
    timeout: 10
  register: ublox_login
'''

RETURN = r'''
auth_token:
  description: The AuthToken, for the O(auth_token) option of the other u-blox modules.
  returned: success
  type: str
  sample: eyJraWQiOiJ...
refresh_token:
  description: The RefreshToken, valid for three days.
  returned: success
  type: str
  sample: eyJjdHkiOiJ...
expires_at:
  description: When the AuthToken expires, in ISO 8601 UTC.
  returned: success
  type: str
  sample: '2026-11-22T16:14:35Z'
expires_in:
  description: Seconds from now until the AuthToken expires.
  returned: success
  type: int
  sample: 3600
'''

import time

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import iso_utc
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, ublox_client


class Token(InfoModule):
    """Logs in (changes nothing in u-blox) and returns the tokens; the tokens are the result, so they are not no_log."""

    def validate(self):
        if not (self.params.get('api_key') and self.params.get('api_secret')):
            raise ConfigError('ublox_token logs in with api_key and api_secret (or UBLOX_API_KEY and UBLOX_API_SECRET); both are required')

    def connect(self):
        return ublox_client(self.module, register_runtime_secrets=False)

    def read(self):
        token, refresh_token, expires = self.client.auth.current(self.client.http)
        return dict(auth_token=token, refresh_token=refresh_token, expires_at=iso_utc(expires), expires_in=max(0, int(expires - time.time())))


def main():
    run_module(Token, ARGSPEC)


if __name__ == '__main__':
    main()
