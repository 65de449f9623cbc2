#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud sites: create them, or update their name and coordinates."""

from __future__ import annotations

DOCUMENTATION = r'''
module: naocloud_site
short_description: Create and update NAO Cloud sites
version_added: 0.2.0
description:
  - Creates NAO Cloud sites and updates their name, latitude and longitude. A site is matched by its O(sites[].id) when the
    task gives one, else by its O(sites[].name) (exact, case-sensitive).
  - Takes one site or a list. The module reads every site the user can see once (every page of C(GET /sites)), compares each
    site with the task, and sends only what differs, O(concurrency) requests at a time over one HTTP session - C(POST /sites)
    to create (NAO Cloud assigns the id), C(PUT /sites/{id}) with only the changed attributes to update (NAO Cloud keeps the
    attributes left out).
  - Only the attributes given in the task are managed. An attribute left out keeps the value the site has.
  - The module does not delete sites, and has no C(state) option - the NAO Cloud API documentation names no delete of a site
    (only create, read and update). Delete a site in the NAO Cloud web application.
extends_documentation_fragment:
  - iotops.provisioning.naocloud
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_naocloud
attributes:
  check_mode:
    support: full
    details:
      - Reads the sites and reports what would change; sends no write. A site that would be created has no C(id) yet.
  diff_mode:
    support: full
    details:
      - The managed attributes (name, latitude, longitude) of each changed site before and after.
options:
  sites:
    description:
      - The sites, one entry per site. A single site is a list of one. Each site may appear once.
      - Every entry is checked before the first request, and the whole task is refused (nothing is changed) when one is wrong.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The name of the site, not blank. Without O(sites[].id), the site with exactly this name is updated, or created when
            there is none; a name that several sites share is refused (give the O(sites[].id)).
          - With O(sites[].id), the site's new name.
        type: str
      id:
        description:
          - The id of an existing site (see M(iotops.provisioning.naocloud_site_info)), to update it or rename it. NAO Cloud
            assigns the ids of new sites and accepts none from the client, so an id the user cannot see is refused.
        type: int
      latitude:
        description:
          - The latitude of the site in degrees, from -90 to 90. Required to create a site.
        type: float
      longitude:
        description:
          - The longitude of the site in degrees, from -180 to 180. Required to create a site.
        type: float
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
  - NAO Cloud allows two sites with the same name. The module never creates a second one - it updates the site of that name - and
    refuses a name that already names several sites.
seealso:
  - module: iotops.provisioning.naocloud_site_info
  - module: iotops.provisioning.naocloud_trackable
  - name: NAO Cloud - creating, updating and deleting resources
    description: POST to the collection, PUT keeps the attributes left out, 422 on a validation error.
    link: https://polestar.zohodesk.com/portal/en/kb/articles/5-creating-updating-and-deleting-resources
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: The factory's two halls exist where they are (API key from NAOCLOUD_API_KEY)
  iotops.provisioning.naocloud_site:
    sites:
      - name: Line 4 Hall
        latitude: 48.1391
        longitude: 11.5802
      - name: Warehouse East
        latitude: 48.1420
        longitude: 11.5900
  delegate_to: localhost

- name: Rename site 101 and move it, with a session opened by e-mail and password
  iotops.provisioning.naocloud_site:
    api_url: https://www.nao-cloud.com/api/v2
    email: "{{ nao_operator_email }}"
    password: "{{ vault_nao_operator_password }}"
    sites:
      - id: 101
        name: Factory Hall (north)
        latitude: 48.1375
  delegate_to: localhost

- name: Create the sites of a list, 4 requests at a time, with an OAuth2 access token
  iotops.provisioning.naocloud_site:
    access_token: "{{ nao_oauth_token }}"
    access_token_type: oauth2
    concurrency: 4
    sites: "{{ new_sites }}"
  delegate_to: localhost

- name: Use the session JWT of naocloud_token and the API key to renew it, directly and with patient retries
  iotops.provisioning.naocloud_site:
    api_key: "{{ vault_nao_api_key }}"
    access_token: "{{ nao_login.access_token }}"
    access_token_type: session
    use_proxy: false
    validate_certs: true
    ca_path: /etc/pki/corporate-ca.pem
    timeout: 20
    retries: 8
    retry_max_wait: 120
    sites:
      - name: Warehouse East
        longitude: 11.5905
  delegate_to: localhost
'''

RETURN = r'''
outcomes:
  description: One entry per site of O(sites), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The site's O(sites[].name), or C(#<id>) when the task names it by O(sites[].id).
      type: str
      sample: Line 4 Hall
    action:
      description: What was done (or, in check mode, would be done) - V(create), V(update) or V(none).
      type: str
      sample: create
    changed:
      description: Whether the site was (or would be) created or changed.
      type: bool
    failed:
      description: Whether this site failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: Why the site failed.
      type: str
      returned: when failed
    site:
      description: The site after the task (predicted in check mode); its C(id) is missing for a site not created yet.
      type: dict
      returned: when the site was planned
      sample: {"id": 103, "name": "Line 4 Hall", "latitude": 48.1391, "longitude": 11.5802}
summary:
  description: Counts of the sites in RV(outcomes).
  returned: always
  type: dict
  sample: {"total": 2, "changed": 1, "ok": 1, "failed": 0}
'''

import math

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, Plan, ResourceModule, require_unique, run_module, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import ARGSPEC, naocloud_client

MANAGED = ('name', 'latitude', 'longitude')
BOUNDS = (('latitude', 90), ('longitude', 180))
CREATE = 'create'
UPDATE = 'update'
NONE = 'none'

SITE_SPEC = dict(
    name=dict(type='str'),
    id=dict(type='int'),
    latitude=dict(type='float'),
    longitude=dict(type='float'),
)


def validate_site(item):
    """The rules of one site that need no request (NAO Cloud: a name that is not blank, coordinates in degrees)."""
    if item.get('name') is None and item.get('id') is None:
        raise ConfigError('give name or id: a site is matched by its id when it is given, else by its name')
    if item.get('name') is not None and not item['name'].strip():
        raise ConfigError("name must not be blank; NAO Cloud refuses a site without a name (Name can't be blank)")
    if item.get('id') is not None and item['id'] < 1:
        raise ConfigError('id must be a positive NAO Cloud site id, got %d' % item['id'])
    for option, limit in BOUNDS:
        value = item.get(option)
        if value is not None and not (math.isfinite(value) and -limit <= value <= limit):
            raise ConfigError('%s must be a number of degrees from -%d to %d, got %s' % (option, limit, limit, value))


def site_key(item):
    """The site's name in results: ``#<id>`` when the task names it by id, else its name."""
    return '#%d' % item['id'] if item.get('id') is not None else item.get('name')


def match_site(item, sites):
    """The site (a flat dict) the item names among ``sites``, or None when there is none and the item creates one;
    ConfigError when the item names no site it may create (an unknown id, a shared name, no coordinates)."""
    if item.get('id') is not None:
        found = [site for site in sites if site.get('id') == item['id']]
        if not found:
            raise ConfigError('NAO Cloud has no site %d that this user can see; leave id out to create a site (NAO Cloud assigns '
                              'the ids of new sites and accepts none from the client)' % item['id'])
        return found[0]
    found = [site for site in sites if site.get('name') == item['name']]
    if len(found) > 1:
        raise ConfigError('%d sites are named %r (ids %s); give the id of the one to manage'
                          % (len(found), item['name'], ', '.join(str(site.get('id')) for site in found)))
    if not found and (item.get('latitude') is None or item.get('longitude') is None):
        raise ConfigError('latitude and longitude are required to create a site: NAO Cloud has no site named %r, and it creates a '
                          'site only with its name, latitude and longitude' % item['name'])
    return found[0] if found else None


def managed(site):
    return {key: site.get(key) for key in MANAGED} if site else {}


def plan_site(item, have):
    """What one site of the task needs, given the site it names (``have``, None when it creates one); no request."""
    wanted = {key: item[key] for key in MANAGED if item.get(key) is not None}
    if have is None:
        return Plan(site_key(item), CREATE, before={}, after=managed(wanted), result=dict(site=dict(wanted)), attributes=wanted)
    changes = {key: value for key, value in wanted.items() if have.get(key) != value}  # 48 == 48.0: numbers compare as numbers
    site = dict(have, **changes)
    return Plan(site_key(item), UPDATE if changes else NONE, before=managed(have), after=managed(site), result=dict(site=site),
                attributes=changes, id=have.get('id'))


class SiteModule(ResourceModule):
    """Reads every site once; creates the missing ones and updates the changed ones, site by site."""

    items_option = 'sites'
    noun = 'sites'
    item_defaults = ()

    def __init__(self, module):
        super().__init__(module)
        self.matched = {}

    def key(self, item):
        return site_key(item)

    def validate_item(self, item):
        validate_site(item)

    def connect(self):
        return naocloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        sites = self.client.list_sites()

        def resolve(item):
            self.matched[site_key(item)] = match_site(item, sites)
        validate_items(items, self.items_option, resolve, label=self.key)
        # an item by id and another by name may name the same site: it would be written twice
        require_unique(items, self.items_option, key=lambda item: 'site %s' % self.matched[site_key(item)]['id']
                       if self.matched[site_key(item)] else None)

    def plan(self, item):
        return plan_site(item, self.matched[site_key(item)])

    def apply(self, plan):
        if plan.action == CREATE:
            return dict(site=self.client.create_site(plan.data['attributes']))
        return dict(site=self.client.update_site(plan.data['id'], plan.data['attributes']))


def main():
    run_module(SiteModule, ARGSPEC, required_together=[('email', 'password')], **BATCH_ARGSPEC,
               sites=dict(type='list', elements='dict', required=True, options=SITE_SPEC))


if __name__ == '__main__':
    main()
