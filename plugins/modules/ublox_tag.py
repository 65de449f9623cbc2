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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC,
    exit_batch,
    require_unique,
    run_items,
    validate_concurrency,
    validate_items,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ALL,
    ARGSPEC,
    check_profile_uid,
    normalize_rot,
    tag_key,
    tag_name_problem,
    ublox_client,
)

TAG_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent']),
    rot_public_uids=dict(type='list', elements='str'),
    device_profile_uids=dict(type='list', elements='str'),
    assignment=dict(type='str', choices=['add', 'remove', 'exclusive']),
    force=dict(type='bool'),
)


def validate_static(item):
    problem = tag_name_problem(item['name'])
    if problem:
        raise ConfigError('name %s' % problem)
    if item['state'] == 'absent':
        given = [option for option in ('rot_public_uids', 'device_profile_uids') if item[option] is not None]
        if given:
            raise ConfigError('%s can only be used with state=present' % ', '.join(given))
        return
    if item['rot_public_uids'] is not None:
        item['rot_public_uids'] = sorted(set(normalize_rot(rot, 'rot_public_uids') for rot in item['rot_public_uids']))
    if item['device_profile_uids'] is not None:
        item['device_profile_uids'] = sorted(set(check_profile_uid(uid) for uid in item['device_profile_uids']))
    if item['assignment'] != 'exclusive':
        empty = [option for option in ('rot_public_uids', 'device_profile_uids') if item[option] == []]
        if empty:
            raise ConfigError('%s is empty; with assignment=%s there is nothing to do (use assignment=exclusive and an empty list '
                              'to remove the tag from every member)' % (', '.join(empty), item['assignment']))


def short_name(item):
    """The item's name for messages, cut short when it is too long to be a tag name anyway."""
    name = item.get('name')
    return name[:40] + '...' if isinstance(name, str) and len(name) > 40 else name


def member_changes(wanted, current, assignment):
    """(to add, to remove) for one member list; ``wanted`` None means the list is not managed."""
    if wanted is None:
        return [], []
    wanted = set(wanted)
    if assignment == 'add':
        return sorted(wanted - current), []
    if assignment == 'remove':
        return [], sorted(wanted & current)
    return sorted(wanted - current), sorted(current - wanted)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC,
            tags=dict(type='list', elements='dict', required=True, options=TAG_SPEC),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            assignment=dict(type='str', choices=['add', 'remove', 'exclusive'], default='add'),
            force=dict(type='bool', default=False),
            **BATCH_ARGSPEC),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        validate_concurrency(params)
        items = params['tags']
        if not items:
            raise ConfigError('tags is empty; give at least one tag')
        for item in items:
            for option in ('state', 'assignment', 'force'):
                if item[option] is None:
                    item[option] = params[option]
        require_unique(items, 'tags', lambda item: tag_key(item['name']) if isinstance(item['name'], str) else item['name'])
        validate_items(items, 'tags', validate_static, label=short_name)

        client = ublox_client(module, concurrency=params['concurrency'])
        existing = client.tags()

        # Members of the existing tags this task manages or deletes: read once, every page.
        def needs_members(item):
            if tag_key(item['name']) not in existing:
                return False
            return item['state'] == 'absent' or item['rot_public_uids'] is not None or item['device_profile_uids'] is not None

        def read_members(item):
            name = existing[tag_key(item['name'])]['TagName']
            rots = client.devices_with_tags([name]) if item['state'] == 'absent' or item['rot_public_uids'] is not None else set()
            profiles = (client.profiles_with_tags([name])
                        if item['state'] == 'absent' or item['device_profile_uids'] is not None else set())
            return rots, profiles

        with_members = [item for item in items if needs_members(item)]
        members = {}
        for item, found in zip(with_members, map_concurrently(read_members, with_members, params['concurrency'])):
            members[tag_key(item['name'])] = found

        plans = {}
        for item in items:
            key = tag_key(item['name'])
            rots, profiles = members.get(key, (set(), set()))
            add_rots, del_rots = member_changes(item['rot_public_uids'], rots, item['assignment'])
            add_profiles, del_profiles = member_changes(item['device_profile_uids'], profiles, item['assignment'])
            plans[key] = dict(rots=rots, profiles=profiles, add_rots=add_rots, del_rots=del_rots, add_profiles=add_profiles,
                              del_profiles=del_profiles)

        # Every device and profile to assign must exist: checked before the first write.
        if any(plan['add_rots'] for plan in plans.values()):
            known = client.device_ids()

            def known_devices(item):
                unknown = [rot for rot in plans[tag_key(item['name'])]['add_rots'] if rot not in known]
                if unknown:
                    raise ConfigError('rot_public_uids: u-blox knows no device %s (%d unknown); a tag can only be assigned to devices '
                                      'that have bootstrapped' % (', '.join(unknown[:10]), len(unknown)))
            validate_items(items, 'tags', known_devices, label=lambda item: item['name'])
        if any(plan['add_profiles'] for plan in plans.values()):
            profiles_known = client.device_profiles()

            def known_profiles(item):
                unknown = [uid for uid in plans[tag_key(item['name'])]['add_profiles'] if uid not in profiles_known]
                if unknown:
                    raise ConfigError('device_profile_uids: u-blox knows no device profile %s' % ', '.join(unknown[:10]))
            validate_items(items, 'tags', known_profiles, label=lambda item: item['name'])

        def present(item, plan, result):
            name = item['name']
            if tag_key(name) not in existing:
                result['created'] = True
                if not module.check_mode:
                    client.create_tag(name)
            if (plan['add_rots'] or plan['add_profiles']) and not module.check_mode:
                client.assign_tags([name], plan['add_rots'], plan['add_profiles'])
            if (plan['del_rots'] or plan['del_profiles']) and not module.check_mode:
                client.remove_tag(name, plan['del_rots'], plan['del_profiles'])
            result.update(added_rot_public_uids=plan['add_rots'], removed_rot_public_uids=plan['del_rots'],
                          added_device_profile_uids=plan['add_profiles'], removed_device_profile_uids=plan['del_profiles'])
            if item['rot_public_uids'] is not None:
                result['rot_public_uid_count'] = len((plan['rots'] | set(plan['add_rots'])) - set(plan['del_rots']))
            return bool(result.get('created') or plan['add_rots'] or plan['del_rots'] or plan['add_profiles'] or plan['del_profiles'])

        def absent(item, plan, result):
            key = tag_key(item['name'])
            if key not in existing:
                return False
            name = existing[key]['TagName']
            if plan['rots'] or plan['profiles']:
                if not item['force']:
                    raise ConfigError('tag %s is still assigned to %d device(s) and %d device profile(s); u-blox only deletes tags that '
                                      'are not assigned. Set force=true to unassign it first'
                                      % (name, len(plan['rots']), len(plan['profiles'])))
                result.update(removed_rot_public_uids=sorted(plan['rots']), removed_device_profile_uids=sorted(plan['profiles']))
                if not module.check_mode:
                    client.remove_tag(name, ALL if plan['rots'] else (), ALL if plan['profiles'] else ())
            result['deleted'] = True
            result['rot_public_uid_count'] = 0
            if not module.check_mode:
                client.delete_tag(name)
            return True

        def diff_view(item, exists, rots, profiles):
            view = dict(state='present' if exists else 'absent')
            if item['rot_public_uids'] is not None or (item['state'] == 'absent' and rots):
                view['rot_public_uids'] = sorted(rots)
            if item['device_profile_uids'] is not None or (item['state'] == 'absent' and profiles):
                view['device_profile_uids'] = sorted(profiles)
            return view

        def worker(item):
            key = tag_key(item['name'])
            plan = plans[key]
            result = dict(state=item['state'], created=False, deleted=False, added_rot_public_uids=[], removed_rot_public_uids=[],
                          added_device_profile_uids=[], removed_device_profile_uids=[])
            before = diff_view(item, key in existing, plan['rots'], plan['profiles'])
            if item['state'] == 'present':
                changed = present(item, plan, result)
                after = diff_view(item, True, (plan['rots'] | set(plan['add_rots'])) - set(plan['del_rots']),
                                  (plan['profiles'] | set(plan['add_profiles'])) - set(plan['del_profiles']))
            else:
                changed = absent(item, plan, result)
                after = dict(state='absent')
            result['changed'] = changed
            result['diff'] = dict(before=before, after=after)
            return result

        results = run_items(module, items, worker, key=lambda item: item['name'], redact=client.http.redact, noun='tags')
        exit_batch(module, results, noun='tags')

    run(module, work)


if __name__ == '__main__':
    main()
