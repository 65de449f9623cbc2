# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_tag's rules and planner, with data alone: what one tag needs, given u-blox's record of it and its members.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ALL, check_profile_uid, normalize_rot, tag_name_problem

CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'
MEMBER_OPTIONS = ('rot_public_uids', 'device_profile_uids')
SHOWN_UNKNOWN = 10


def validate_tag(item):
    """Rules that need no state (seed 002 /tag/create); normalises the member lists (sorted, no duplicates)."""
    problem = tag_name_problem(item['name'])
    if problem:
        raise ConfigError('name %s' % problem)
    if item['state'] == 'absent':
        given = [option for option in MEMBER_OPTIONS if item[option] is not None]
        if given:
            raise ConfigError('%s can only be used with state=present' % ', '.join(given))
        return
    if item['rot_public_uids'] is not None:
        item['rot_public_uids'] = sorted(set(normalize_rot(rot, 'rot_public_uids') for rot in item['rot_public_uids']))
    if item['device_profile_uids'] is not None:
        item['device_profile_uids'] = sorted(set(check_profile_uid(uid) for uid in item['device_profile_uids']))
    if item['assignment'] != 'exclusive':
        empty = [option for option in MEMBER_OPTIONS if item[option] == []]
        if empty:
            raise ConfigError('%s is empty; with assignment=%s there is nothing to do (use assignment=exclusive and an empty list '
                              'to remove the tag from every member)' % (', '.join(empty), item['assignment']))


def short_name(item):
    """The item's name for messages, cut short when it is too long to be a tag name anyway."""
    name = item.get('name')
    return name[:40] + '...' if isinstance(name, str) and len(name) > 40 else name


def member_lists(item):
    """(devices, profiles): whether the task needs the tag's current devices and its profiles (those it manages; both
    for a tag to delete)."""
    absent = item['state'] == 'absent'
    return absent or item['rot_public_uids'] is not None, absent or item['device_profile_uids'] is not None


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


def additions(item, rots, profiles):
    """(devices, profiles) the task assigns the tag to; they must be known to u-blox before the first write."""
    return (member_changes(item['rot_public_uids'], rots, item['assignment'])[0],
            member_changes(item['device_profile_uids'], profiles, item['assignment'])[0])


def check_known_devices(rots, known):
    unknown = [rot for rot in rots if rot not in known]
    if unknown:
        raise ConfigError('rot_public_uids: u-blox knows no device %s (%d unknown); a tag can only be assigned to devices '
                          'that have bootstrapped' % (', '.join(unknown[:SHOWN_UNKNOWN]), len(unknown)))


def check_known_profiles(uids, known):
    unknown = [uid for uid in uids if uid not in known]
    if unknown:
        raise ConfigError('device_profile_uids: u-blox knows no device profile %s' % ', '.join(unknown[:SHOWN_UNKNOWN]))


def member_view(item, exists, rots, profiles):
    """The tag as the diff shows it: its state, and the member lists the task manages (or deletes)."""
    view = dict(state='present' if exists else 'absent')
    if item['rot_public_uids'] is not None or (item['state'] == 'absent' and rots):
        view['rot_public_uids'] = sorted(rots)
    if item['device_profile_uids'] is not None or (item['state'] == 'absent' and profiles):
        view['device_profile_uids'] = sorted(profiles)
    return view


def plan_tag(item, record, rots=frozenset(), profiles=frozenset()):
    """What one tag of the task needs, given u-blox's ``record`` of it (None: there is no such tag) and its current
    members (those read: the lists the task manages); no request. A tag to delete that is still assigned needs
    ``force``, or the item fails (ConfigError)."""
    rots, profiles = set(rots), set(profiles)
    before = member_view(item, record is not None, rots, profiles)
    result = dict(state=item['state'], created=False, deleted=False, added_rot_public_uids=[], removed_rot_public_uids=[],
                  added_device_profile_uids=[], removed_device_profile_uids=[])
    if item['state'] == 'absent':
        return _plan_delete(item, record, rots, profiles, before, result)
    add_rots, del_rots = member_changes(item['rot_public_uids'], rots, item['assignment'])
    add_profiles, del_profiles = member_changes(item['device_profile_uids'], profiles, item['assignment'])
    result.update(created=record is None, added_rot_public_uids=add_rots, removed_rot_public_uids=del_rots,
                  added_device_profile_uids=add_profiles, removed_device_profile_uids=del_profiles)
    rots_after = (rots | set(add_rots)) - set(del_rots)
    if item['rot_public_uids'] is not None:
        result['rot_public_uid_count'] = len(rots_after)
    action = CREATE if record is None else UPDATE if add_rots or del_rots or add_profiles or del_profiles else NO_CHANGE
    after = member_view(item, True, rots_after, (profiles | set(add_profiles)) - set(del_profiles))
    return Plan(item['name'], action, before=before, after=after, result=result, name=item['name'],
                add=(add_rots, add_profiles), remove=(del_rots, del_profiles))


def _plan_delete(item, record, rots, profiles, before, result):
    if record is None:
        return Plan(item['name'], NO_CHANGE, before=before, after=dict(state='absent'), result=result)
    name = record['TagName']
    if rots or profiles:
        if not item['force']:
            raise ConfigError('tag %s is still assigned to %d device(s) and %d device profile(s); u-blox only deletes tags that '
                              'are not assigned. Set force=true to unassign it first' % (name, len(rots), len(profiles)))
        result.update(removed_rot_public_uids=sorted(rots), removed_device_profile_uids=sorted(profiles))
    result.update(deleted=True, rot_public_uid_count=0)
    return Plan(item['name'], DELETE, before=before, after=dict(state='absent'), result=result, name=name,
                unassign=(ALL if rots else (), ALL if profiles else ()))
