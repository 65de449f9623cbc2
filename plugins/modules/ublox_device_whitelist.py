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
    in one call, or, for a long list of ROTPublicUIDs, sent as the CSV file u-blox also accepts (see O(upload)).
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
  upload:
    description:
      - How the ROTPublicUID changes are sent to C(/device/whitelist/add). IMEIs always go as JSON, because the CSV file of
        u-blox carries only the C(Type) C(ROTPublicUID).
      - V(json) sends the ROTPublicUIDs in the JSON body, one call for the entries to add and one for those to remove.
      - V(csv) uploads them as a CSV file (C(Content-Type application/octet-stream), header row C(Id,Type,Action), one row per
        device with C(ADD) or C(DELETE)), so the additions and removals go in one request, at most 10000 rows per request (a
        batch of 25000 devices takes 3). Needs O(rot_public_uids).
      - V(auto) uses the CSV file from 100 ROTPublicUID changes (a page of the u-blox lists) on, and JSON below that. A
        factory batch of thousands of devices goes in one request (or one per 10000).
    type: str
    choices: [auto, json, csv]
    default: auto
notes:
  - Idempotence and check mode do not depend on O(upload) - the whitelist is read first, and only the changes are sent.
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

- name: Whitelist a day's production (thousands of devices) in one CSV upload
  iotops.provisioning.ublox_device_whitelist:
    rot_public_uids: "{{ lookup('ansible.builtin.file', 'batch-0424.txt').splitlines() }}"
    upload: csv

- name: Whitelist the spare devices with the JSON body, however long the list
  iotops.provisioning.ublox_device_whitelist:
    rot_public_uids: "{{ spare_devices }}"
    upload: json

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
upload:
  description:
    - How the changes went (or, in check mode, would go) to u-blox - C(form) is the form of the ROTPublicUID changes (V(csv),
      V(json), or V(none) when no ROTPublicUID changes), C(requests) the number of write requests.
  returned: always
  type: dict
  sample: {form: csv, requests: 1}
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
# upload=auto: from this many ROTPublicUID changes (a page of the u-blox lists) they go as one CSV file
CSV_THRESHOLD = 100
# rows of one CSV upload: a factory batch of thousands goes in one request, a bigger one in a few
CSV_MAX_ROWS = 10000


def check_options(params):
    """The rules of the options as a whole, before the entries are looked at."""
    if params['rot_public_uids'] is None and params['imeis'] is None:
        raise ConfigError('give rot_public_uids or imeis (or both)')
    if params['exclusive'] and params['state'] == 'absent':
        raise ConfigError('exclusive only applies to state=present')
    for option, kind in KINDS:
        if params[option] == [] and not params['exclusive']:
            raise ConfigError('%s is empty; leave it out, or use exclusive=true to remove every %s entry' % (option, kind))
    if params.get('upload') == 'csv' and params['rot_public_uids'] is None:
        raise ConfigError('upload=csv needs rot_public_uids: the only Type of the u-blox CSV file is ROTPublicUID, so IMEIs always '
                          'go as JSON; leave upload out (auto) or give rot_public_uids')


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


def rot_form(upload, count):
    """'csv' or 'json': the form of ``count`` ROTPublicUID changes with the ``upload`` option (IMEIs always go as JSON)."""
    return 'csv' if upload == 'csv' or (upload == 'auto' and count >= CSV_THRESHOLD) else 'json'


def write_requests(upload, add, remove):
    """The write requests that make the changes ``add`` and ``remove`` ({kind: set}), in the order they are sent; no request. Each is
    ``dict(form=csv|json, add={kind: set}, remove={kind: set})``: CSV uploads of at most CSV_MAX_ROWS ROTPublicUID rows (additions
    and removals together), then one JSON call for the entries to add and one for those to remove (IMEIs, and the ROTPublicUIDs
    when they go as JSON)."""
    rots = sorted((rot, ADD) for rot in add['ROTPublicUID']) + sorted((rot, REMOVE) for rot in remove['ROTPublicUID'])
    csv_rows = rots if rots and rot_form(upload, len(rots)) == 'csv' else []
    requests = []
    for start in range(0, len(csv_rows), CSV_MAX_ROWS):
        chunk = csv_rows[start:start + CSV_MAX_ROWS]
        requests.append(dict(form='csv', add=dict(ROTPublicUID=set(rot for rot, action in chunk if action == ADD), IMEI=set()),
                             remove=dict(ROTPublicUID=set(rot for rot, action in chunk if action == REMOVE), IMEI=set())))
    for action, entries in ((ADD, add), (REMOVE, remove)):
        json_entries = dict(ROTPublicUID=set() if csv_rows else set(entries['ROTPublicUID']), IMEI=set(entries['IMEI']))
        if json_entries['ROTPublicUID'] or json_entries['IMEI']:
            empty = dict(ROTPublicUID=set(), IMEI=set())
            requests.append(dict(form='json', add=json_entries if action == ADD else empty, remove=empty if action == ADD else json_entries))
    return requests


def upload_summary(requests):
    """The module's ``upload`` result: the form of the ROTPublicUID changes and how many write requests make the changes."""
    forms = [request['form'] for request in requests if request['add']['ROTPublicUID'] or request['remove']['ROTPublicUID']]
    return dict(form=forms[0] if forms else 'none', requests=len(requests))


def request_entries(request):
    """The ``(type, value)`` of every entry a write request carries (they fail together)."""
    return set((kind, value) for side in (request['add'], request['remove']) for kind, values in side.items() for value in values)


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
        self.requests = []

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
        self.requests = write_requests(self.params['upload'], self.add, self.remove)
        self.extra.update(added=dict((option, sorted(self.add[kind])) for option, kind in KINDS),
                          removed=dict((option, sorted(self.remove[kind])) for option, kind in KINDS),
                          upload=upload_summary(self.requests))

    def implied_items(self, items):
        entries = []
        for dummy, kind in KINDS:
            listed = self.wanted.get(kind, set())
            entries += [dict(type=kind, value=value) for value in sorted(listed) + sorted(self.remove[kind] - listed)]
        return entries

    def plan(self, item):
        return plan_entry(item, self.add, self.remove, self.params['state'])

    def apply_all(self, plans):
        """Send the write requests planned in ``read``; the entries of a request that fails fail together."""
        results = {}
        for request in self.requests:
            try:
                self.send(request)
            except IotopsError as exc:
                failure = dict(changed=False, failed=True, msg=self.client.http.redact(exc.msg))
                carried = request_entries(request)
                results.update((plan.item, dict(failure)) for plan in plans if (plan.result['type'], plan.item) in carried)
        return results

    def send(self, request):
        add, remove = request['add'], request['remove']
        if request['form'] == 'csv':
            self.client.whitelist_upload(add['ROTPublicUID'], remove['ROTPublicUID'])
        elif add['ROTPublicUID'] or add['IMEI']:
            self.client.whitelist_add(add['ROTPublicUID'], add['IMEI'])
        else:
            self.client.whitelist_remove(remove['ROTPublicUID'], remove['IMEI'])

    def outcomes(self, results):
        for result in results:
            result.pop('action', None)  # outcomes report status (added, removed, present, absent)
        return results


def main():
    run_module(WhitelistModule, ARGSPEC,
               rot_public_uids=dict(type='list', elements='str'),
               imeis=dict(type='list', elements='str'),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               exclusive=dict(type='bool', default=False),
               upload=dict(type='str', choices=['auto', 'json', 'csv'], default='auto'))


if __name__ == '__main__':
    main()
