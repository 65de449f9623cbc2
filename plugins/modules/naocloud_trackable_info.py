#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the BLE tracking tags of a NAO Cloud site."""

from __future__ import annotations

DOCUMENTATION = r'''
module: naocloud_trackable_info
short_description: Read the BLE tracking tags of a NAO Cloud site
version_added: 0.1.0
description:
  - Returns the tracking tags (C(nao_trackables)) of a site, every page of C(GET /sites/{site_id}/nao_trackables).
  - The filters are applied by NAO Cloud (C(tracking_ids), C(categories), C(filter[name_eq])); several filters must all match.
extends_documentation_fragment:
  - iotops.provisioning.naocloud
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.info_module
  - iotops.provisioning.attributes.actiongroup_naocloud
options:
  site_id:
    description:
      - The id of the site.
    type: int
    required: true
  tracking_ids:
    description:
      - Only the tags with one of these MAC addresses (colons or dashes, any case).
    type: list
    elements: str
  categories:
    description:
      - Only the tags of one of these categories.
    type: list
    elements: str
  name:
    description:
      - Only the tags with exactly this name.
    type: str
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
  - NAO Cloud requires the user to be site creator, site admin or tracking manager of the site.
seealso:
  - module: iotops.provisioning.naocloud_trackable
  - module: iotops.provisioning.naocloud_site_info
  - name: Getting meta-data on tags, zones and alerts
    description: The tag list of the NAO Cloud API and its filters.
    link: https://polestar.zohodesk.com/portal/en/kb/articles/getting-meta-data-on-tags-zones-and-alerts
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read every tag of the factory hall (API key from NAOCLOUD_API_KEY)
  iotops.provisioning.naocloud_trackable_info:
    site_id: 101
  delegate_to: localhost
  register: hall_tags

- name: Read the forklift tags among two MAC addresses, with an explicit API key
  iotops.provisioning.naocloud_trackable_info:
    api_url: https://www.nao-cloud.com/api/v2
    api_key: "{{ vault_nao_api_key }}"
    site_id: 101
    tracking_ids:
      - "AA:BB:CC:00:00:01"
      - "aa-bb-cc-00-00-02"
    categories:
      - forklift
  delegate_to: localhost

- name: Find a tag by its name
  iotops.provisioning.naocloud_trackable_info:
    site_id: 101
    name: Forklift 1
  delegate_to: localhost
'''

RETURN = r'''
trackables:
  description:
    - The tags, each as its JSON:API attributes with C(id) as an integer (C(tracking_id), C(name), C(category), C(is_active),
      C(battery), C(mac_address), C(adv_id_full), C(loc_updated_at), C(new_batteries_at), C(estimated_end_of_life), ...).
  returned: always
  type: list
  elements: dict
  sample: [{"id": 17, "name": "Forklift 1", "tracking_id": "AA:BB:CC:00:00:01", "category": "forklift", "is_active": true}]
count:
  description: How many tags RV(trackables) holds.
  returned: always
  type: int
  sample: 1
'''

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import ARGSPEC, naocloud_client, trackable_filters

MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$')


class TrackableInfo(InfoModule):
    """The site's tags (every page), filtered by NAO Cloud."""

    def validate(self):
        params = self.params
        if params['tracking_ids'] is not None:
            bad = [mac for mac in params['tracking_ids'] if not MAC_RE.match(mac or '')]
            if bad:
                raise ConfigError('tracking_ids: %s %s not a MAC address (AA:BB:CC:DD:EE:FF, colons or dashes)'
                                  % (', '.join(repr(mac) for mac in bad), 'is' if len(bad) == 1 else 'are'))
        if params['categories'] is not None and any(',' in category for category in params['categories']):
            raise ConfigError('categories: a category with a comma cannot be filtered (NAO Cloud separates categories by commas)')

    def connect(self):
        return naocloud_client(self.module)

    def read(self):
        params = self.params
        if [] in (params['tracking_ids'], params['categories']):
            tags = []  # an empty filter list matches nothing
        else:
            filters = trackable_filters(tracking_ids=params['tracking_ids'], categories=params['categories'], name=params['name'])
            tags = self.client.list_trackables(params['site_id'], filters)
        return dict(trackables=tags, count=len(tags))


def main():
    run_module(TrackableInfo, ARGSPEC, required_together=[('email', 'password')], site_id=dict(type='int', required=True),
               tracking_ids=dict(type='list', elements='str'), categories=dict(type='list', elements='str'), name=dict(type='str'))


if __name__ == '__main__':
    main()
