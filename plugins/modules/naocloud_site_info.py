#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the NAO Cloud sites the user can see."""

from __future__ import annotations

DOCUMENTATION = r'''
module: naocloud_site_info
short_description: Read NAO Cloud sites
version_added: 0.1.0
description:
  - Returns one site (O(site_id)) or every site the user can see (all pages of C(GET /sites)), optionally only those with a
    given O(name).
  - Use it to find the O(iotops.provisioning.naocloud_trackable#module:site_id) of a site by its name.
extends_documentation_fragment:
  - iotops.provisioning.naocloud
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_naocloud
options:
  site_id:
    description:
      - The id of the site to read. An unknown id gives an empty RV(sites) list, not an error.
    type: int
  name:
    description:
      - Only the sites with exactly this name.
    type: str
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
seealso:
  - module: iotops.provisioning.naocloud_trackable
  - module: iotops.provisioning.naocloud_trackable_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read every site (API key from NAOCLOUD_API_KEY)
  iotops.provisioning.naocloud_site_info:
  delegate_to: localhost
  register: nao_sites

- name: Find the warehouse by its name, with a session opened by e-mail and password
  iotops.provisioning.naocloud_site_info:
    api_url: https://www.nao-cloud.com/api/v2
    email: "{{ nao_operator_email }}"
    password: "{{ vault_nao_operator_password }}"
    name: Mock Warehouse
  delegate_to: localhost
  register: warehouse

- name: Read one site with an OAuth2 access token
  iotops.provisioning.naocloud_site_info:
    access_token: "{{ nao_oauth_token }}"
    site_id: 101
  delegate_to: localhost
'''

RETURN = r'''
sites:
  description: The sites, each as its JSON:API attributes with C(id) as an integer.
  returned: always
  type: list
  elements: dict
  sample: [{"id": 101, "name": "Mock Factory Hall", "latitude": 48.1374, "longitude": 11.5755}]
count:
  description: How many sites RV(sites) holds.
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import ARGSPEC, naocloud_client


class SiteInfo(InfoModule):
    """One site (a GET of it) or every site the user can see, optionally by name."""

    def connect(self):
        return naocloud_client(self.module)

    def read(self):
        if self.params['site_id'] is not None:
            site = self.client.get_site(self.params['site_id'])
            sites = [site] if site is not None else []
        else:
            sites = self.client.list_sites()
        if self.params['name'] is not None:
            sites = [site for site in sites if site.get('name') == self.params['name']]
        return dict(sites=sites, count=len(sites))


def main():
    run_module(SiteInfo, ARGSPEC, required_together=[('email', 'password')], site_id=dict(type='int'), name=dict(type='str'))


if __name__ == '__main__':
    main()
