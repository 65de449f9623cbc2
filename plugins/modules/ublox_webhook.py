#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage u-blox Security Services notification webhooks."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_webhook
short_description: Manage u-blox Security Services notification webhooks
version_added: 0.2.0
description:
  - Registers your HTTPS endpoints with u-blox Security Services, which then POSTs the devices' events to them as JSON,
    with the endpoint's authorization token in the C(Authorization) header.
  - u-blox has six notification types. V(DEVICE_BOOTSTRAP_EVENT) when a device bootstraps;
    V(DEVICE_PROPERTIES_CHANGE_EVENT) when desired properties (feature authorizations, network parameters) become
    current on a device; V(DEVICE_ERRORS_EVENT) when a device fails to act on a command; V(DEVICE_CERTIFICATE_RENEWAL_EVENT)
    when a device certificate is renewed; V(DEVICE_CERTIFICATE_EXPIRATION_EVENT) 60, 30 and 7 days before a device
    certificate expires; V(ROOTCA_EXPIRATION_EVENT) 180, 90, 60, 30, 7 and 0 days before a Root CA expires.
  - Each entry of O(webhooks) is one URL and the notification types it receives. u-blox keeps one registration per URL and
    type; the registrations are read once, compared, and only the missing ones are created.
  - u-blox deletes every registration of a URL at once. Taking some types away from a URL that keeps others therefore
    deletes the URL and creates the kept registrations again, with O(webhooks[].authorization_token); events of that URL
    that happen between the two calls are not delivered.
  - u-blox never returns a webhook's authorization token, so a token cannot be compared. It is sent when a registration is
    created, and to every existing URL of the task with O(update_token=always).
  - Only https URLs are accepted, as u-blox requires; anything else fails the task before any request.
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows, per URL, whether it is registered and for which notification types; never the token.
options:
  webhooks:
    description:
      - The webhooks, one entry per URL. Each URL may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      url:
        description:
          - The endpoint u-blox calls (u-blox C(NotificationURL)). A fully qualified https URL, compared with the
            registered ones as written.
          - Put no credentials in the URL (a C(user:password@) part is refused); give them in
            O(webhooks[].authorization_token).
        type: str
        required: true
      notification_types:
        description:
          - The events this URL receives, any of V(DEVICE_BOOTSTRAP_EVENT), V(DEVICE_PROPERTIES_CHANGE_EVENT),
            V(DEVICE_ERRORS_EVENT), V(DEVICE_CERTIFICATE_RENEWAL_EVENT), V(DEVICE_CERTIFICATE_EXPIRATION_EVENT) and
            V(ROOTCA_EXPIRATION_EVENT).
          - Required with O(webhooks[].state=present); types the URL has besides these are kept (see O(exclusive)).
          - With O(webhooks[].state=absent), only these types are taken away from the URL; without it the URL loses
            every registration.
        type: list
        elements: str
      authorization_token:
        description:
          - What u-blox sends in the C(Authorization) header of each call to this URL, for example V(Bearer <token>).
          - Required with O(webhooks[].state=present). With O(webhooks[].state=absent) it is needed only when the URL
            keeps some of its types (they are created again).
        type: str
      state:
        description:
          - Whether the URL is registered for O(webhooks[].notification_types). Defaults to the module's O(state).
        type: str
        choices: [present, absent]
  state:
    description:
      - The default of O(webhooks[].state).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - When V(true), the task gives every registration of the notification types its present entries name. Other URLs
        registered for those types lose them, and a URL left without any type is deleted.
      - Types the task does not name are left alone. A URL outside the task that also has such types cannot lose only some
        of its registrations (its token is unknown), so the task then fails before any change and says what to do.
    type: bool
    default: false
  update_token:
    description:
      - V(on_create) sends O(webhooks[].authorization_token) only with the registrations the task creates, so a second
        run changes nothing.
      - V(always) also sends it to every URL of the task that is already registered (one update call per URL), which
        reports a change on every run.
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - Events are delivered by u-blox from the moment a registration exists; the module does not test the endpoint.
seealso:
  - module: iotops.provisioning.ublox_device_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Send bootstraps and errors to the operations endpoint
  iotops.provisioning.ublox_webhook:
    webhooks:
      - url: https://ops.example.com/ublox/events
        notification_types:
          - DEVICE_BOOTSTRAP_EVENT
          - DEVICE_ERRORS_EVENT
        authorization_token: "Bearer {{ ops_webhook_token }}"

- name: Certificate and Root CA expiry go to the PKI team and nowhere else; set the tokens again
  iotops.provisioning.ublox_webhook:
    exclusive: true
    update_token: always
    concurrency: 2
    webhooks:
      - url: https://pki.example.com/hooks/ublox
        notification_types:
          - DEVICE_CERTIFICATE_RENEWAL_EVENT
          - DEVICE_CERTIFICATE_EXPIRATION_EVENT
          - ROOTCA_EXPIRATION_EVENT
        authorization_token: "Bearer {{ pki_webhook_token }}"

- name: Stop sending errors to the operations endpoint (it keeps its bootstraps), and remove an old endpoint
  iotops.provisioning.ublox_webhook:
    state: absent
    webhooks:
      - url: https://ops.example.com/ublox/events
        notification_types:
          - DEVICE_ERRORS_EVENT
        authorization_token: "Bearer {{ ops_webhook_token }}"
      - url: https://old.example.com/ublox
      - url: https://staging.example.com/ublox
        state: present
        notification_types:
          - DEVICE_PROPERTIES_CHANGE_EVENT
        authorization_token: "Bearer {{ staging_webhook_token }}"
'''

RETURN = r'''
summary:
  description: Counts of the items (the URLs), by outcome.
  returned: always
  type: dict
  sample: {total: 1, changed: 1, ok: 0, failed: 0}
outcomes:
  description: One entry per item of O(webhooks), in the same order, then one per URL that O(exclusive=true) changed.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The URL.
      type: str
      sample: https://ops.example.com/ublox/events
    changed:
      description: Whether the URL's registrations or token changed (or would, in check mode).
      type: bool
    failed:
      description: Whether this item failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: What went wrong.
      type: str
      returned: on failure
    url:
      description: The URL.
      type: str
    state:
      description: V(present) when the URL has a registration after the task, else V(absent).
      type: str
    notification_types:
      description: The notification types the URL is registered for after the task.
      type: list
      elements: str
    added_notification_types:
      description: The types registered for the URL by the task.
      type: list
      elements: str
    removed_notification_types:
      description: The types the URL lost.
      type: list
      elements: str
    token_updated:
      description: Whether the URL's existing registrations got the token of the task (O(update_token=always), or kept
        registrations created again).
      type: bool
    action:
      description: What was sent for the URL. V(create), V(update) (the token), V(replace) (delete the URL, create its kept
        registrations again), V(delete) or V(none).
      type: str
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils import _ublox_webhooks as hooks
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, ublox_client

WEBHOOK_SPEC = dict(
    url=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent']),
    notification_types=dict(type='list', elements='str'),
    authorization_token=dict(type='str', no_log=True),
)


class WebhookModule(ResourceModule):
    """Reads every registration once; creates, updates the token of, deletes and re-creates registrations per URL."""

    items_option = noun = 'webhooks'

    def __init__(self, module):
        super().__init__(module)
        self.current = {}             # {url: set of types}; set by read
        self.scope = frozenset()      # the types exclusive=true makes exact
        self.implied = []             # the URLs outside the task that exclusive=true changes; set by read

    def key(self, item):
        return hooks.shown_url(item['url'])

    def unique_key(self, item):
        return item['url']

    def validate(self, items):
        if not items:
            raise ConfigError('webhooks is empty; give at least one webhook')

    def validate_item(self, item):
        hooks.validate_webhook(item)

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.current = hooks.read_webhooks(self.client)
        self.scope = hooks.exclusive_scope(items) if self.params['exclusive'] else frozenset()
        self.implied = hooks.implied_removals(items, self.current, self.scope)
        # a URL that would lose some registrations and keep others needs its token: every URL is checked before any write
        validate_items(items, 'webhooks', self.check_recreate, label=self.key)
        validate_items(self.implied, 'exclusive', self.check_recreate, label=self.key)

    def check_recreate(self, item):
        hooks.check_recreate(item, self.current.get(item['url'], set()), self.scope)

    def implied_items(self, items):
        return self.implied

    def plan(self, item):
        return hooks.plan_webhook(item, self.current.get(item['url'], set()), self.scope, self.params['update_token'])

    def apply(self, plan):
        hooks.apply_webhook(self.client, plan)


def main():
    run_module(WebhookModule, ARGSPEC, **BATCH_ARGSPEC,
               webhooks=dict(type='list', elements='dict', required=True, options=WEBHOOK_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               exclusive=dict(type='bool', default=False),
               update_token=dict(type='str', choices=['on_create', 'always'], default='on_create'))


if __name__ == '__main__':
    main()
