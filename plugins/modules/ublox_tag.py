#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage u-blox tags and their assignment to devices and device profiles."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_tag
short_description: Manage u-blox tags and which devices and device profiles carry them
version_added: 0.1.0
description:
  - Makes u-blox Security Services tags present or absent, and assigns them to devices (ROTPublicUIDs) and device
    profiles (DeviceProfileUIDs). Other u-blox calls (provisioning, device certificates, device info) can then name
    devices by tag.
  - Tag names are case-insensitive at u-blox, so V(Line-1) and V(line-1) are the same tag.
  - The current members of each tag are read once (every page) and compared, so only the missing assignments are added
    and only the unwanted ones removed, each in one call per tag.
  - A tag that is still assigned cannot be deleted; with O(tags[].force=true) the module unassigns it first.
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
      - The diff shows the tag's state and, for the member lists the task manages, the members before and after.
options:
  tags:
    description:
      - The tags, one entry each. Each name may appear once (compared case-insensitively).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The tag name. Up to 255 characters; letters, digits and symbols except C(^), C(`), C(~), C(<), C(>), C("), C({),
            C(}), C(|), C(,) and C(\).
        type: str
        required: true
      state:
        description:
          - Whether the tag exists. Defaults to the module's O(state).
        type: str
        choices: [present, absent]
      rot_public_uids:
        description:
          - Devices (ROTPublicUIDs, 1 to 16 hexadecimal digits) to assign the tag to, remove it from, or make its exact
            device set, depending on O(tags[].assignment).
          - Leaving it out leaves the tag's devices alone. With O(tags[].assignment=exclusive), an empty list removes the
            tag from every device.
          - Devices that u-blox does not know fail the task before anything is changed.
        type: list
        elements: str
      device_profile_uids:
        description:
          - Device profiles (DeviceProfileUIDs) to assign the tag to, remove it from, or make its exact profile set,
            like O(tags[].rot_public_uids).
        type: list
        elements: str
      assignment:
        description:
          - V(add) assigns the tag to the listed devices and profiles and keeps the others.
          - V(remove) removes the tag from the listed devices and profiles.
          - V(exclusive) makes the listed ones exactly the tag's members, removing it from the others.
          - Defaults to the module's O(assignment).
        type: str
        choices: [add, remove, exclusive]
      force:
        description:
          - With O(tags[].state=absent), unassign the tag from every device and profile before deleting it. Without it,
            deleting a tag that is still assigned fails that item. Defaults to the module's O(force).
        type: bool
  state:
    description:
      - The default of O(tags[].state).
    type: str
    choices: [present, absent]
    default: present
  assignment:
    description:
      - The default of O(tags[].assignment).
    type: str
    choices: [add, remove, exclusive]
    default: add
  force:
    description:
      - The default of O(tags[].force).
    type: bool
    default: false
seealso:
  - module: iotops.provisioning.ublox_device_info
  - module: iotops.provisioning.ublox_device_certificate
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Tag the devices of production line 1, exactly these
  iotops.provisioning.ublox_tag:
    tags:
      - name: line-1
        assignment: exclusive
        rot_public_uids: "{{ line1_devices }}"

- name: Tag a device profile, and add two devices to a second tag
  iotops.provisioning.ublox_tag:
    tags:
      - name: sara-r5-fleet
        device_profile_uids:
          - AgbCtixjwqLjwV3VWpfPyz
      - name: pilot
        rot_public_uids:
          - "0002000089280087"
          - "135700008928c093"

- name: Take two devices out of the pilot
  iotops.provisioning.ublox_tag:
    assignment: remove
    tags:
      - name: pilot
        rot_public_uids:
          - "135700008928c093"

- name: Delete tags, unassigning them first
  iotops.provisioning.ublox_tag:
    state: absent
    force: true
    concurrency: 2
    tags:
      - name: pilot
      - name: line-0
        force: false
'''

RETURN = r'''
outcomes:
  description: One entry per item of O(tags), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The tag name as given.
      type: str
      sample: line-1
    changed:
      description: Whether the tag or its assignments changed (or would, in check mode).
      type: bool
    failed:
      description: Whether this item failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: What went wrong.
      type: str
      returned: on failure
    state:
      description: The state of the tag after the task.
      type: str
    created:
      description: Whether the tag was created.
      type: bool
    deleted:
      description: Whether the tag was deleted.
      type: bool
    added_rot_public_uids:
      description: Devices the tag was assigned to.
      type: list
      elements: str
    removed_rot_public_uids:
      description: Devices the tag was removed from.
      type: list
      elements: str
    added_device_profile_uids:
      description: Device profiles the tag was assigned to.
      type: list
      elements: str
    removed_device_profile_uids:
      description: Device profiles the tag was removed from.
      type: list
      elements: str
    rot_public_uid_count:
      description: How many devices carry the tag after the task, when the task manages its devices or deletes it.
      type: int
      returned: when known
summary:
  description: Counts of the items.
  returned: always
  type: dict
  sample: {total: 1, changed: 1, ok: 0, failed: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, require_unique, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils import _ublox_tags as rules
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, item_outcome, tag_key, ublox_client

TAG_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent']),
    rot_public_uids=dict(type='list', elements='str'),
    device_profile_uids=dict(type='list', elements='str'),
    assignment=dict(type='str', choices=['add', 'remove', 'exclusive']),
    force=dict(type='bool'),
)


class TagModule(ResourceModule):
    """Reads every tag, then the members of the tags the task manages or deletes; creates, assigns, removes, deletes."""

    items_option = noun = 'tags'
    item_defaults = ('state', 'assignment', 'force')
    existing = members = {}  # by tag_key: u-blox's records and (devices, profiles) of the tags read; set by read

    def key(self, item):
        return item['name']

    def unique_key(self, item):
        return None  # names are compared case-insensitively in validate, before the other rules (as u-blox compares them)

    def validate(self, items):
        if not items:
            raise ConfigError('tags is empty; give at least one tag')
        require_unique(items, 'tags', lambda item: tag_key(item['name']))
        validate_items(items, 'tags', rules.validate_tag, label=rules.short_name)

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.existing = self.client.tags()
        # the members of the existing tags this task manages or deletes: read once, every page
        with_members = [item for item in items if tag_key(item['name']) in self.existing and any(rules.member_lists(item))]
        found = map_concurrently(self.read_members, with_members, self.params['concurrency'])
        self.members = dict((tag_key(item['name']), members) for item, members in zip(with_members, found))
        self.check_additions(items)

    def read_members(self, item):
        name = self.existing[tag_key(item['name'])]['TagName']
        devices, profiles = rules.member_lists(item)
        return (self.client.devices_with_tags([name]) if devices else set(),
                self.client.profiles_with_tags([name]) if profiles else set())

    def check_additions(self, items):
        """Every device and profile to assign must exist: checked before the first write."""
        adds = dict((item['name'], rules.additions(item, *self.members_of(item))) for item in items)
        if any(rots for rots, _profiles in adds.values()):
            known = self.client.device_ids()
            validate_items(items, 'tags', lambda item: rules.check_known_devices(adds[item['name']][0], known), label=self.key)
        if any(profiles for _rots, profiles in adds.values()):
            known_profiles = self.client.device_profiles()
            validate_items(items, 'tags', lambda item: rules.check_known_profiles(adds[item['name']][1], known_profiles), label=self.key)

    def members_of(self, item):
        return self.members.get(tag_key(item['name']), (set(), set()))

    def plan(self, item):
        return rules.plan_tag(item, self.existing.get(tag_key(item['name'])), *self.members_of(item))

    def apply(self, plan):
        name = plan.data['name']
        if plan.action == rules.DELETE:
            if any(plan.data['unassign']):
                self.client.remove_tag(name, *plan.data['unassign'])
            self.client.delete_tag(name)
            return None
        if plan.action == rules.CREATE:
            self.client.create_tag(name)
        if any(plan.data['add']):
            self.client.assign_tags([name], *plan.data['add'])
        if any(plan.data['remove']):
            self.client.remove_tag(name, *plan.data['remove'])
        return None

    def outcomes(self, results):
        return [item_outcome(result) for result in results]


def main():
    run_module(TagModule, ARGSPEC, **BATCH_ARGSPEC,
               tags=dict(type='list', elements='dict', required=True, options=TAG_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               assignment=dict(type='str', choices=['add', 'remove', 'exclusive'], default='add'),
               force=dict(type='bool', default=False))


if __name__ == '__main__':
    main()
