#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisioning rules of the nRF Cloud Provisioning Service, and the provisioning tags they apply to."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_provisioning_rule
short_description: Manage the provisioning rules and provisioning tags of the nRF Cloud Provisioning Service
version_added: 0.2.0
description:
  - Creates, updates and deletes provisioning rules. A rule gives every device claimed with one of its O(rules[].tags) the
    rule's O(rules[].commands) - provisioning done by the cloud, with no task per device. Nordic's auto-onboarding rule
    (tag C(nrf-cloud-onboarding), see the examples) makes the device generate its keys and onboards it to nRF Cloud.
  - A rule is found by its O(rules[].name), or by O(rules[].id), the id nRF Cloud gave it (to rename a rule, or when two rules
    share a name). The module reads the team's rules and tags once, compares each rule of the task with the one the team holds,
    and sends only what differs - C(POST /provisioning-rules) to create, the whole rule with C(PUT) to update, C(DELETE) to delete.
  - The provisioning tags a present rule uses are created first when the team lacks them (C(POST /provisioning/tags)), as
    Nordic's tools do. Tags are never deleted.
  - Only the fields given are managed; a field left out keeps the rule's value. Commands compare by kind, request (write-only
    secrets aside) and description, in order.
  - A rule applies when a device is claimed. Devices claimed before the rule existed, or claimed without its tags, are not
    changed; M(iotops.provisioning.nrfcloud_provisioning) appends commands to claimed devices.
extends_documentation_fragment:
  - iotops.provisioning.nrfcloud
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_nrfcloud
attributes:
  check_mode:
    support: full
    details:
      - Reads the team's rules and tags and reports what would change; sends no write.
  diff_mode:
    support: full
    details:
      - The managed fields of each changed rule (name, description, active, tags, commands as C(kind - description)) before and after.
options:
  rules:
    description:
      - The rules, one entry per rule; one rule is a list of one. A rule may appear once per task.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The rule's name, 1 to 255 characters. Required unless O(rules[].id) is given; required to create a rule.
          - With O(rules[].id), the rule is renamed to this name.
        type: str
      id:
        description:
          - The id nRF Cloud gave the rule (the C(id) in RV(outcomes[].rule)); finds the rule instead of O(rules[].name).
        type: str
      description:
        description:
          - A description of the rule, at most 255 characters. V('') when a rule is created without one.
        type: str
      active:
        description:
          - Whether the rule applies to devices claimed from now on. V(true) when a rule is created without it.
        type: bool
      tags:
        description:
          - The provisioning tags the rule applies to, 1 to 20, each 1 to 128 characters without a comma. A device claimed with
            any of them gets the rule's commands. Required to create a rule; compared as a set.
        type: list
        elements: str
      commands:
        description:
          - The commands the rule gives each device, in order, 1 to 20. Required to create a rule.
          - A rule's C(certificateSigningRequest) has no C(CN); the device puts its own id there.
        type: list
        elements: dict
        suboptions:
          kind:
            description:
              - The command kind, as the Provisioning Service names it. C(cloudAccessKeyGeneration) makes the device generate
                the key it signs its nRF Cloud JWTs with (part of auto-onboarding).
            type: str
            required: true
            choices: [clientPrivateKeyGeneration, cloudAccessKeyGeneration, certificateSigningRequest, serverCertificate,
                      clientCertificate, clientPrivateKey, preSharedKey, config, finished]
          description:
            description:
              - A description stored with the command; devices get it with the command (the rule's name when not given).
            type: str
          sec_tag:
            description:
              - The modem security tag, an integer from 0 to 2147483647. Defaults to nRF Cloud's own tag, 16842753.
            type: int
          attributes:
            description:
              - For C(certificateSigningRequest), the subject attributes as C(KEY=value) pairs separated by commas, without C(CN).
            type: str
          key_usage:
            description:
              - For C(certificateSigningRequest), the key usage as 9 bits, as C(%KEYGEN) takes it. Defaults to C(101010000).
            type: str
          content:
            description:
              - For C(serverCertificate) and C(clientCertificate), the PEM certificate; for C(clientPrivateKey), the encrypted PEM key.
            type: str
          password:
            description:
              - For C(clientPrivateKey), the password of the encrypted key. Write-only, never shown.
            type: str
          identity:
            description:
              - For C(preSharedKey), the PSK identity.
            type: str
          secret:
            description:
              - For C(preSharedKey), the PSK as hexadecimal digits. Write-only, never shown.
            type: str
          config:
            description:
              - For C(config), the settings for the provisioning client, as a dictionary; values are sent as strings.
            type: dict
      state:
        description:
          - V(present) creates or updates the rule, V(absent) deletes it (its tags stay). Defaults to O(state).
        type: str
        choices: [present, absent]
  state:
    description:
      - The state of the rules whose O(rules[].state) is not set.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
  - The list and create calls of rules and tags are the ones Nordic's nrfcloud-utils sends; the calls that replace and delete
    one rule (C(PUT)/C(DELETE /provisioning-rules/{id})) follow the REST convention of the service, as no published source names
    them (docs/mock-assumptions.md).
  - The Provisioning Service is available to the editor, admin and owner roles.
seealso:
  - module: iotops.provisioning.nrfcloud_provisioning
  - module: iotops.provisioning.nrfcloud_provisioning_recovery
  - name: Provisioning configuration through the nRF Cloud portal
    description: Provisioning rules, commands and the 20-command limit.
    link: https://docs.nrfcloud.com/SecurityServices/ProvisioningService/ProvisioningConfiguration/ProvisioningConfigurationPortal.html
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Nordic's auto-onboarding rule - devices claimed with the tag nrf-cloud-onboarding are onboarded by the cloud (API key from NRFCLOUD_API_KEY)
  iotops.provisioning.nrfcloud_provisioning_rule:
    rules:
      - name: nRF Cloud Onboarding
        description: Onboarding rule for nRF Cloud
        tags: [nrf-cloud-onboarding]
        commands:
          - kind: clientPrivateKeyGeneration
            sec_tag: 16842753
          - kind: cloudAccessKeyGeneration
            sec_tag: 16842753
          - kind: serverCertificate
            sec_tag: 16842753
            content: "{{ lookup('ansible.builtin.file', 'nrfcloud-root-cas.pem') }}"
  delegate_to: localhost

- name: A line rule with a CSR, a PSK and the provisioning client's settings, and switch off the existing pilot rule
  iotops.provisioning.nrfcloud_provisioning_rule:
    api_key: "{{ vault_nrfcloud_api_key }}"
    provisioning_api_url: https://api.provisioning.nrfcloud.com/v1
    api_url: https://api.nrfcloud.com/v1
    concurrency: 2
    rules:
      - name: Line 1 devices
        tags: [line-1, line-1-rework]
        active: true
        commands:
          - kind: certificateSigningRequest
            description: Factory CSR
            sec_tag: 42
            attributes: O=Example,C=no
            key_usage: "101010000"
          - kind: preSharedKey
            sec_tag: 43
            identity: line-1
            secret: "{{ vault_line_psk }}"
          - kind: clientPrivateKey
            sec_tag: 44
            content: "{{ lookup('ansible.builtin.file', 'line-1-key.enc.pem') }}"
            password: "{{ vault_line_key_password }}"
          - kind: clientCertificate
            sec_tag: 44
            content: "{{ lookup('ansible.builtin.file', 'line-1-cert.pem') }}"
          - kind: config
            config:
              provisioning.interval-sec: "3600"
          - kind: finished
      - name: Pilot devices
        active: false
  delegate_to: localhost

- name: Rename a rule by its id and give it a new description
  iotops.provisioning.nrfcloud_provisioning_rule:
    rules:
      - id: "{{ rule_result.outcomes[0].rule.id }}"
        name: Line 1 devices (2026)
        description: Claimed on line 1 from 2026
  delegate_to: localhost

- name: Delete two rules (their tags stay), without the environment's proxy
  iotops.provisioning.nrfcloud_provisioning_rule:
    use_proxy: false
    validate_certs: true
    ca_path: /etc/pki/corporate-ca.pem
    timeout: 20
    retries: 8
    retry_max_wait: 120
    state: absent
    rules:
      - name: Pilot devices
      - name: Line 1 devices (2026)
  delegate_to: localhost
'''

RETURN = r'''
outcomes:
  description: One entry per rule of O(rules), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The rule's name (its id when the task gave only the id).
      type: str
      sample: nRF Cloud Onboarding
    action:
      description:
        - What was done (or, in check mode, would be done) - V(create), V(update), V(delete), V(create tags) (the rule is as
          wanted; a tag it uses was missing) or V(none).
      type: str
      sample: create
    changed:
      description: Whether the rule or its tags were (or would be) changed.
      type: bool
    failed:
      description: Whether this rule failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: Why the rule failed.
      type: str
      returned: when failed
    tags_created:
      description: The provisioning tags created (or, in check mode, that would be) for this rule.
      type: list
      elements: str
      returned: when the rule is present
      sample: [nrf-cloud-onboarding]
    rule:
      description: The rule as nRF Cloud holds it after the task (predicted in check mode, without an id for a rule not created
        yet); write-only secrets of its commands are never shown.
      type: dict
      returned: when the rule is present after the task
      sample: {"id": "4f2c9a0e-7d1b-4c3a-9e8f-0a1b2c3d4e5f", "name": "nRF Cloud Onboarding", "active": true, "tags": ["nrf-cloud-onboarding"],
               "commands": [{"request": {"clientPrivateKeyGeneration": {"secTag": 16842753}}}]}
summary:
  description: Counts of the rules in RV(outcomes).
  returned: always
  type: dict
  sample: {"total": 2, "changed": 1, "ok": 1, "failed": 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_rules import (
    CREATE, DELETE, RULE_COMMAND_SPEC, UPDATE, check_against, create_rule, create_tag, delete_rule, list_rules, list_tags, plan_rule,
    replace_rule, rule_key, shown_rule, tags_to_create, validate_rule)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client

RULE_SPEC = dict(
    name=dict(type='str'),
    id=dict(type='str'),
    description=dict(type='str'),
    active=dict(type='bool'),
    tags=dict(type='list', elements='str'),
    commands=dict(type='list', elements='dict', options=RULE_COMMAND_SPEC),
    state=dict(type='str', choices=['present', 'absent']),
)
TAG_DESCRIPTION = 'Generated tag for rule: %s'  # what Nordic's tools write


class RuleModule(ResourceModule):
    """Reads the team's rules and tags once; works rule by rule."""

    items_option = 'rules'
    noun = 'rules'

    def __init__(self, module):
        super().__init__(module)
        self.rules = []
        self.new_tags = {}

    def key(self, item):
        return rule_key(item)

    def unique_key(self, item):
        return item.get('id') or item.get('name')

    def validate_item(self, item):
        validate_rule(item)

    def connect(self):
        return nrfcloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.rules = list_rules(self.client)
        validate_items(items, self.items_option, lambda item: check_against(item, self.rules), label=self.key)
        if any(item['state'] == 'present' and item.get('tags') for item in items):
            self.new_tags = tags_to_create(items, [t.get('tag') for t in list_tags(self.client)])

    def plan(self, item):
        return plan_rule(item, self.rules, self.new_tags.get(rule_key(item), ()))

    def apply(self, plan):
        for tag in plan.data.get('tags') or []:
            create_tag(self.client, tag, TAG_DESCRIPTION % plan.data['body']['name'])
        if plan.action == DELETE:
            delete_rule(self.client, plan.data['id'])
            return None
        if plan.action == CREATE:
            return dict(rule=shown_rule(create_rule(self.client, plan.data['body'])))
        if plan.action == UPDATE:
            return dict(rule=shown_rule(replace_rule(self.client, plan.data['id'], plan.data['body']) or plan.result['rule']))
        return None


def main():
    run_module(RuleModule, ARGSPEC, **BATCH_ARGSPEC,
               rules=dict(type='list', elements='dict', required=True, options=RULE_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'))


if __name__ == '__main__':
    main()
