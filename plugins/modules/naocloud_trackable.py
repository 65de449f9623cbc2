#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""BLE tracking tags ("trackables") of a NAO Cloud site: create, update, delete, or make the site hold exactly a set."""

from __future__ import annotations

DOCUMENTATION = r'''
module: naocloud_trackable
short_description: Manage the BLE tracking tags of a NAO Cloud site
version_added: 0.1.0
description:
  - Creates, updates and deletes the BLE tracking tags (C(nao_trackables)) of a NAO Cloud site. A tag is identified by its
    O(trackables[].tracking_id), the tag's Bluetooth MAC address.
  - Takes one tag or a list of thousands. The module reads the site's tags once (every page), compares each tag with the task,
    and sends only what differs, O(concurrency) requests at a time over one HTTP session - C(POST) to create, C(PUT) with only the
    changed attributes to update (NAO Cloud keeps the attributes left out), C(DELETE) to delete.
  - With O(exclusive=true) the site is made to hold exactly the tags of the task that are V(present); every other tag of the site
    is deleted. Only then does the module use the batch endpoint C(PUT /sites/{site_id}/nao_trackables/batch), which replaces
    B(all) tags of the site in one request, and waits for the background job that NAO Cloud answers with (C(303 See Other)).
    Without O(exclusive), the batch endpoint is never used, so tags the task does not name are never touched.
  - Only the attributes given in the task are managed. An attribute left out keeps the value the tag has.
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
      - Reads the site's tags and reports what would change; sends no write and starts no background job.
  diff_mode:
    support: full
    details:
      - The managed attributes (name, tracking_id, category) of each changed tag before and after, keyed by tracking_id.
options:
  site_id:
    description:
      - The id of the NAO Cloud site that holds the tags; see M(iotops.provisioning.naocloud_site_info).
    type: int
    required: true
  trackables:
    description:
      - The tags, one entry per tag. A single tag is a list of one. Each O(trackables[].tracking_id) may appear once.
      - With O(exclusive=true), an empty list deletes every tag of the site.
    type: list
    elements: dict
    required: true
    suboptions:
      tracking_id:
        description:
          - The tag's MAC address, six hex pairs separated by colons or dashes, in any case. It is sent and compared as
            C(AA:BB:CC:DD:EE:FF), the form NAO Cloud documents.
        type: str
        required: true
      name:
        description:
          - The name of the tag, 1 to 255 characters. Required to create a tag.
        type: str
      category:
        description:
          - The category of the tag, at most 255 characters; an empty string removes the category.
        type: str
      state:
        description:
          - V(present) creates or updates the tag, V(absent) deletes it. If not set, the module's O(state) applies.
        type: str
        choices: [present, absent]
  state:
    description:
      - The state of the tags whose O(trackables[].state) is not set.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - V(true) makes the site hold exactly the V(present) tags of O(trackables) and deletes every other tag of the site, with one
        request to the batch endpoint that replaces all tags of the site, followed by its background job.
      - For a tag of the site that the task keeps but whose O(trackables[].category) is not given, the module sends the category the
        tag has, so the replacement does not lose it.
      - V(false) works tag by tag and never touches a tag the task does not name.
    type: bool
    default: false
  job_timeout:
    description:
      - How many seconds to wait for the background job of an O(exclusive=true) change. A job that takes longer goes on in NAO
        Cloud; the task fails and a later run reads the result first.
    type: float
    default: 300
  job_poll_interval:
    description:
      - Seconds between two reads of the background job.
    type: float
    default: 1
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
  - NAO Cloud requires the user to be site creator, site admin or tracking manager of the site.
seealso:
  - module: iotops.provisioning.naocloud_trackable_info
  - module: iotops.provisioning.naocloud_site_info
  - module: iotops.provisioning.naocloud_token
  - name: NAO Cloud tags commissioning
    description: Creating tags one by one and by batch.
    link: https://polestar.zohodesk.com/portal/en/kb/articles/tags-commissioning
  - name: NAO Cloud asynchronous processing
    description: The 303 See Other answer and the background job it leads to.
    link: https://polestar.zohodesk.com/portal/en/kb/articles/7-asynchronous-processing
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Commission three tags on the factory hall (API key from NAOCLOUD_API_KEY)
  iotops.provisioning.naocloud_trackable:
    site_id: 101
    trackables:
      - tracking_id: "AA:BB:CC:00:00:01"
        name: Forklift 1
        category: forklift
      - tracking_id: "aa-bb-cc-00-00-02"
        name: Forklift 2
        category: forklift
      - tracking_id: "AA:BB:CC:00:00:03"
        name: Pallet jack 1
  delegate_to: localhost

- name: Make the warehouse hold exactly the tags of the inventory, with a session opened by e-mail and password
  iotops.provisioning.naocloud_trackable:
    api_url: https://www.nao-cloud.com/api/v2
    email: "{{ nao_operator_email }}"
    password: "{{ vault_nao_operator_password }}"
    site_id: 102
    exclusive: true
    job_timeout: 600
    job_poll_interval: 2
    trackables: "{{ inventory_tags }}"
  delegate_to: localhost

- name: Retire a tag and rename another, with an OAuth2 access token, 4 requests at a time
  iotops.provisioning.naocloud_trackable:
    access_token: "{{ nao_oauth_token }}"
    access_token_type: oauth2
    concurrency: 4
    site_id: 101
    state: absent
    trackables:
      - tracking_id: "AA:BB:CC:00:00:03"
      - tracking_id: "AA:BB:CC:00:00:02"
        name: Forklift 2 (spare)
        state: present
  delegate_to: localhost

- name: Commission a tag directly, without the environment's proxy, with patient retries
  iotops.provisioning.naocloud_trackable:
    site_id: 101
    use_proxy: false
    validate_certs: true
    ca_path: /etc/pki/corporate-ca.pem
    timeout: 20
    retries: 8
    retry_max_wait: 120
    trackables:
      - tracking_id: "AA:BB:CC:00:00:10"
        name: Crane 1
  delegate_to: localhost

- name: Use the session JWT of naocloud_token and the API key to renew it
  iotops.provisioning.naocloud_trackable:
    api_key: "{{ vault_nao_api_key }}"
    access_token: "{{ nao_login.access_token }}"
    access_token_type: session
    site_id: 101
    trackables:
      - tracking_id: "AA:BB:CC:00:00:01"
        category: ""
  delegate_to: localhost
'''

RETURN = r'''
outcomes:
  description:
    - One entry per tag of O(trackables), in the same order; with O(exclusive=true), then one entry per other tag of the site that
      was (or would be) deleted.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The tracking_id of the tag, as C(AA:BB:CC:DD:EE:FF).
      type: str
      sample: 'AA:BB:CC:00:00:01'
    action:
      description: What was done (or, in check mode, would be done) - V(create), V(update), V(delete) or V(none).
      type: str
      sample: create
    changed:
      description: Whether the tag was (or would be) changed.
      type: bool
    failed:
      description: Whether this tag failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: Why the tag failed.
      type: str
      returned: when failed
    phase:
      description:
        - V(registered), V(deleted), or V(needs attention) when it failed
      type: str
      sample: registered
    waiting:
      description: Whether the next step is the device's own (a later run moves it on); not a failure.
      type: bool
    trackable:
      description: The tag after the task (predicted in check mode and for O(exclusive=true)); its C(id) is missing for a tag
        not created yet.
      type: dict
      returned: when the tag is present after the task
      sample: {"id": 17, "name": "Forklift 1", "tracking_id": "AA:BB:CC:00:00:01", "category": "forklift", "is_active": true}
summary:
  description: Counts of the tags in RV(outcomes).
  returned: always
  type: dict
  sample: {"total": 3, "changed": 1, "ok": 2, "failed": 0}
job:
  description: The background job of an O(exclusive=true) change, as NAO Cloud reports it when it finished.
  returned: when a batch was sent
  type: dict
  sample: {"id": 48145, "status": "success", "message": "success", "has_finished": true}
'''

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import NAOCLOUD_ACTIONS, phases_by_action
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, Plan, ResourceModule, run_module, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import ARGSPEC, naocloud_client, normalize_mac

MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$')
NAME_MAX = 255
CATEGORY_MAX = 255
MANAGED = ('name', 'tracking_id', 'category')
CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'
NONE = 'none'

TRACKABLE_SPEC = dict(
    tracking_id=dict(type='str', required=True),
    name=dict(type='str'),
    category=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
)


def validate_trackable(item):
    mac = item['tracking_id']
    if not MAC_RE.match(mac or ''):
        raise ConfigError('tracking_id %r is not a MAC address: NAO Cloud tags are identified by six hex pairs separated by colons '
                          '(AA:BB:CC:DD:EE:FF; dashes and lower case are accepted and converted)' % mac)
    if item['state'] == 'absent':
        return
    name = item.get('name')
    if name is not None and (not name.strip() or len(name) > NAME_MAX):
        raise ConfigError('name must be 1 to %d characters and not blank, got %r' % (NAME_MAX, name))
    category = item.get('category')
    if category is not None and len(category) > CATEGORY_MAX:
        raise ConfigError('category is %d characters long; NAO Cloud takes at most %d' % (len(category), CATEGORY_MAX))


def tag_key(item):
    """The tag's name in results: its tracking_id as AA:BB:CC:DD:EE:FF once it is a MAC address, else as given."""
    mac = item.get('tracking_id') or ''
    return normalize_mac(mac) if MAC_RE.match(mac) else mac


def wanted_attributes(item):
    """The attributes the task manages: name and category only when given; '' as category means none."""
    wanted = {}
    if item.get('name') is not None:
        wanted['name'] = item['name']
    if item.get('category') is not None:
        wanted['category'] = item['category'] or None
    return wanted


def managed(tag):
    return {key: tag.get(key) for key in MANAGED} if tag else {}


def plan_trackable(item, have):
    """What one tag of the task needs, given the tag the site holds (``have``, None if there is none); no request."""
    mac = tag_key(item)
    if item['state'] == 'absent':
        return Plan(mac, DELETE if have else NONE, before=managed(have), after={}, id=(have or {}).get('id'))
    wanted = wanted_attributes(item)
    if have is None:
        attributes = dict(wanted, tracking_id=mac)
        if attributes.get('category') is None:
            attributes.pop('category', None)
        tag = dict({'category': None}, **attributes)
        return Plan(mac, CREATE, before={}, after=managed(tag), result=dict(trackable=tag), attributes=attributes, tag=tag, spec=item)
    changes = {key: value for key, value in wanted.items() if have.get(key) != value}
    tag = dict(have, **changes)
    return Plan(mac, UPDATE if changes else NONE, before=managed(have), after=managed(tag), result=dict(trackable=tag),
                attributes=changes, id=have.get('id'), tag=tag)


def check_creatable(item, have):
    """A tag the site does not hold yet needs a name; known only after the read, still before any write."""
    if item['state'] == 'present' and have is None and not item.get('name'):
        raise ConfigError('name is required to create a tag: the site has no tag %s, and NAO Cloud refuses a tag without a name'
                          % tag_key(item))


class TrackableModule(ResourceModule):
    """Reads the site's tags once; works tag by tag, or (``exclusive``) replaces every tag of the site with one batch.

    With ``exclusive``, ``implied_items`` adds an ``absent`` item for each tag of the site the task does not name, so the base plans,
    reports and diffs those deletions like any other item, and every plan goes to ``apply_all``, which sends the one batch."""

    items_option = 'trackables'
    noun = 'tags'

    def __init__(self, module):
        super().__init__(module)
        self.current = {}

    def key(self, item):
        return tag_key(item)

    def validate(self, items):
        params = self.params
        if not 0 < params['job_timeout'] <= 86400:
            raise ConfigError('job_timeout must be more than 0 and at most 86400 seconds, got %s' % params['job_timeout'])
        if not 0 < params['job_poll_interval'] <= 60:
            raise ConfigError('job_poll_interval must be more than 0 and at most 60 seconds, got %s' % params['job_poll_interval'])
        if params['site_id'] < 1:
            raise ConfigError('site_id must be a positive NAO Cloud site id, got %d' % params['site_id'])

    def validate_item(self, item):
        validate_trackable(item)

    def connect(self):
        return naocloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.current = self.client.trackables_by_mac(self.params['site_id'])
        validate_items(items, self.items_option, lambda item: check_creatable(item, self.current.get(tag_key(item))), label=self.key)

    def implied_items(self, items):
        if not self.params['exclusive']:
            return []
        named = set(tag_key(item) for item in items)
        return [dict(tracking_id=mac, state='absent') for mac in self.current if mac not in named]

    def plan(self, item):
        return plan_trackable(item, self.current.get(tag_key(item)))

    def applies(self, plan):
        return plan.changes or self.params['exclusive']

    def apply_all(self, plans):
        if not self.params['exclusive']:
            return super().apply_all(plans)
        if not any(plan.changes for plan in plans):
            return {}
        site_id, present = self.params['site_id'], [plan for plan in plans if 'tag' in plan.data]
        job = self.client.replace_trackables(site_id, [plan.data['tag'] for plan in present], timeout=self.params['job_timeout'],
                                             interval=self.params['job_poll_interval'])
        if job is not None:
            self.extra['job'] = job
        after = self.client.trackables_by_mac(site_id)
        return dict((plan.item, dict(trackable=after.get(plan.item, plan.data['tag']))) for plan in present)

    def apply(self, plan):
        site_id = self.params['site_id']
        if plan.action == DELETE:
            return self.client.delete_trackable(site_id, plan.data['id'])
        if plan.action == CREATE:
            try:
                return dict(trackable=self.client.create_trackable(site_id, plan.data['attributes']))
            except ApiError as exc:
                if exc.status != 422:
                    raise
                return self.created_meanwhile(plan, exc)
        return dict(trackable=self.client.update_trackable(site_id, plan.data['id'], plan.data['attributes']))

    def created_meanwhile(self, plan, refusal):
        """NAO Cloud refused the tag because the site holds its tracking id now: another job on the site (a line sharing it,
        or the same batch twice) registered it since the read. From here on it is that tag: updated where it differs."""
        have = self.client.find_trackable(self.params['site_id'], plan.item)
        if have is None:
            raise refusal
        again = plan_trackable(plan.data['spec'], have)
        if again.action == UPDATE:
            return dict(trackable=self.client.update_trackable(self.params['site_id'], again.data['id'], again.data['attributes']))
        return dict(trackable=have)

    def outcomes(self, results):
        return phases_by_action(results, NAOCLOUD_ACTIONS)


def main():
    run_module(TrackableModule, ARGSPEC, required_together=[('email', 'password')], **BATCH_ARGSPEC,
               site_id=dict(type='int', required=True),
               trackables=dict(type='list', elements='dict', required=True, options=TRACKABLE_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               exclusive=dict(type='bool', default=False),
               job_timeout=dict(type='float', default=300.0),
               job_poll_interval=dict(type='float', default=1.0))


if __name__ == '__main__':
    main()
