#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage the u-blox device whitelist."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device_whitelist
short_description: Add devices to or remove them from the u-blox device whitelist
version_added: 0.1.0
description:
  - Manages the u-blox Security Services device whitelist by ROTPublicUID and by IMEI. A device that bootstraps while it is
    on the whitelist is ACTIVATED and gets the feature authorizations of its device profile; one that is not is ALLOCATED
    without them.
  - The whitelist is read once (every page), and the missing entries are added in one call and the unwanted ones removed
    in one call.
  - Devices do not need to exist yet - whitelisting before the first bootstrap is the usual order.
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.connection
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - For each entry added or removed, whether it was whitelisted before and after.
options:
  rot_public_uids:
    description:
      - Devices by ROTPublicUID (1 to 16 hexadecimal digits; compared in lowercase).
    type: list
    elements: str
  imeis:
    description:
      - Devices by IMEI (15 digits, the last one the Luhn check digit).
    type: list
    elements: str
  state:
    description:
      - V(present) adds the listed devices, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also remove every whitelist entry that is not listed. Only the kinds given are managed - with
        only O(rot_public_uids), IMEI entries are kept. An empty list with O(exclusive=true) empties that kind.
    type: bool
    default: false
notes:
  - u-blox also accepts the whitelist as a CSV upload; the module always sends JSON.
seealso:
  - module: iotops.provisioning.ublox_device_provisioning
  - module: iotops.provisioning.ublox_device_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Whitelist the devices of today's batch before they bootstrap
  iotops.provisioning.ublox_device_whitelist:
    rot_public_uids: "{{ batch | map(attribute='rot_public_uid') }}"
    imeis: "{{ batch | map(attribute='imei') }}"

- name: The whitelist holds exactly these ROTPublicUIDs (IMEI entries untouched)
  iotops.provisioning.ublox_device_whitelist:
    rot_public_uids:
      - "0002000089280087"
      - "135700008928c093"
    exclusive: true

- name: Take a returned device off the whitelist
  iotops.provisioning.ublox_device_whitelist:
    state: absent
    imeis:
      - "862618583984360"
'''

RETURN = r'''
outcomes:
  description: One entry per whitelist entry the task looked at (listed, or removed by O(exclusive)).
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The ROTPublicUID or IMEI.
      type: str
      sample: "0002000089280087"
    type:
      description: V(ROTPublicUID) or V(IMEI).
      type: str
    changed:
      description: Whether the entry was added or removed.
      type: bool
    failed:
      description: Whether the call for this entry failed.
      type: bool
    status:
      description: V(added), V(removed), V(present) or V(absent) (already as wanted).
      type: str
added:
  description: What was added (or would be, in check mode).
  returned: always
  type: dict
  sample: {rot_public_uids: ["0002000089280087"], imeis: []}
removed:
  description: What was removed (or would be, in check mode).
  returned: always
  type: dict
  sample: {rot_public_uids: [], imeis: ["862618583984360"]}
summary:
  description: Counts of the entries.
  returned: always
  type: dict
  sample: {total: 2, changed: 1, ok: 1, failed: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    MAX_REPORTED_ERRORS, NO_CHANGE, Plan, ResourceModule, run_module, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, normalize_imei, normalize_rot, ublox_client

KINDS = (('rot_public_uids', 'ROTPublicUID'), ('imeis', 'IMEI'))
NORMALIZE = {'ROTPublicUID': normalize_rot, 'IMEI': normalize_imei}
ADD = 'add'
REMOVE = 'remove'


def check_options(params):
    """The rules of the options as a whole, before the entries are looked at."""
    if params['rot_public_uids'] is None and params['imeis'] is None:
        raise ConfigError('give rot_public_uids or imeis (or both)')
    if params['exclusive'] and params['state'] == 'absent':
        raise ConfigError('exclusive only applies to state=present')
    for option, kind in KINDS:
        if params[option] == [] and not params['exclusive']:
            raise ConfigError('%s is empty; leave it out, or use exclusive=true to remove every %s entry' % (option, kind))


def entry_rule(kind, option):
    """One entry's check for validate_items, which names the entry itself (``imeis[1]: ...``)."""
    def check(value):
        try:
            NORMALIZE[kind](value, option)
        except ConfigError as exc:
            raise ConfigError(exc.msg[len(option) + 2:]) from None  # the rule, without the option's name
    return check


def wanted_entries(params):
    """{kind: set of normalised values} of the kinds given; every bad entry of both kinds is named in one error."""
    wanted, problems = {}, []
    for option, kind in KINDS:
        if params[option] is None:
            continue
        try:
            validate_items(params[option], option, entry_rule(kind, option))
        except ConfigError as exc:
            problems.extend(exc.details['problems'])
            continue
        wanted[kind] = set(NORMALIZE[kind](value, option) for value in params[option])
    if problems:
        more = len(problems) - MAX_REPORTED_ERRORS
        raise ConfigError('invalid input, nothing was changed: %s%s' % ('; '.join(problems[:MAX_REPORTED_ERRORS]),
                                                                        '; and %d more' % more if more > 0 else ''), problems=problems)
    return wanted


def changes(wanted, current, state, exclusive):
    """(add, remove), each {kind: set of values}: with state=present the listed entries that are missing (and with
    ``exclusive`` every other entry of the kinds given: the whitelist becomes exactly the list), with state=absent the
    listed entries that are there. Kinds not given are left alone."""
    add = dict((kind, set()) for dummy, kind in KINDS)
    remove = dict((kind, set()) for dummy, kind in KINDS)
    for kind, values in wanted.items():
        have = current.get(kind, set())
        if state == 'present':
            add[kind] = values - have
            if exclusive:
                remove[kind] = have - values
        else:
            remove[kind] = values & have
    return add, remove


def plan_entry(item, add, remove, state):
    """One whitelist entry (``{type, value}``), given the ``changes``; no request."""
    kind, value = item['type'], item['value']
    if value in add[kind]:
        action, status = ADD, 'added'
    elif value in remove[kind]:
        action, status = REMOVE, 'removed'
    else:
        action, status = NO_CHANGE, 'present' if state == 'present' else 'absent'
    return Plan(value, action, before=dict(whitelisted=status == 'removed'), after=dict(whitelisted=status == 'added'),
                result=dict(type=kind, status=status))


def entries_of(plans):
    """{kind: set of values} of the plans."""
    entries = dict((kind, set()) for dummy, kind in KINDS)
    for plan in plans:
        entries[plan.result['type']].add(plan.item)
    return entries


class WhitelistModule(ResourceModule):
    """Reads the whitelist once (every page); adds the missing entries in one call and removes the unwanted ones in one."""

    noun = 'whitelist entries'

    def __init__(self, module):
        super().__init__(module)
        self.wanted = {}
        self.add = self.remove = None

    def items(self):
        return []  # the entries, with those an exclusive list removes, are known after reading: implied_items

    def key(self, item):
        return item['value']

    def validate(self, items):
        check_options(self.params)
        self.wanted = wanted_entries(self.params)

    def connect(self):
        return ublox_client(self.module)

    def read(self, items):
        current = dict((kind, set()) for dummy, kind in KINDS)
        for kind, value in self.client.whitelist_entries():
            if kind in current:
                current[kind].add(value)
        self.add, self.remove = changes(self.wanted, current, self.params['state'], self.params['exclusive'])
        self.extra.update(added=dict((option, sorted(self.add[kind])) for option, kind in KINDS),
                          removed=dict((option, sorted(self.remove[kind])) for option, kind in KINDS))

    def implied_items(self, items):
        entries = []
        for dummy, kind in KINDS:
            listed = self.wanted.get(kind, set())
            entries += [dict(type=kind, value=value) for value in sorted(listed) + sorted(self.remove[kind] - listed)]
        return entries

    def plan(self, item):
        return plan_entry(item, self.add, self.remove, self.params['state'])

    def apply_all(self, plans):
        results = {}
        for write, action in ((self.client.whitelist_add, ADD), (self.client.whitelist_remove, REMOVE)):
            chosen = [plan for plan in plans if plan.action == action]
            if not chosen:
                continue
            entries = entries_of(chosen)
            try:
                write(entries['ROTPublicUID'], entries['IMEI'])
            except IotopsError as exc:
                failure = dict(changed=False, failed=True, msg=self.client.http.redact(exc.msg))
                results.update((plan.item, dict(failure)) for plan in chosen)
        return results

    def outcomes(self, results):
        for result in results:
            result.pop('action', None)  # outcomes report status (added, removed, present, absent)
        return results


def main():
    run_module(WhitelistModule, ARGSPEC,
               rot_public_uids=dict(type='list', elements='str'),
               imeis=dict(type='list', elements='str'),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               exclusive=dict(type='bool', default=False))


if __name__ == '__main__':
    main()
