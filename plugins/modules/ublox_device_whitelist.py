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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import exit_batch
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import ARGSPEC, normalize_imei, normalize_rot, ublox_client

KINDS = (('rot_public_uids', 'ROTPublicUID'), ('imeis', 'IMEI'))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC,
            rot_public_uids=dict(type='list', elements='str'),
            imeis=dict(type='list', elements='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            exclusive=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        if params['rot_public_uids'] is None and params['imeis'] is None:
            raise ConfigError('give rot_public_uids or imeis (or both)')
        if params['exclusive'] and params['state'] == 'absent':
            raise ConfigError('exclusive only applies to state=present')
        wanted = {}
        problems = []
        for option, kind in KINDS:
            if params[option] is None:
                continue
            if params[option] == [] and not params['exclusive']:
                raise ConfigError('%s is empty; leave it out, or use exclusive=true to remove every %s entry' % (option, kind))
            normalize = normalize_rot if kind == 'ROTPublicUID' else normalize_imei
            values = set()
            for index, value in enumerate(params[option]):
                try:
                    values.add(normalize(value, '%s[%d]' % (option, index)))
                except ConfigError as exc:
                    problems.append(exc.msg)
            wanted[kind] = values
        if problems:
            raise ConfigError('invalid input, nothing was changed: %s' % '; '.join(problems[:20]))

        client = ublox_client(module)
        current = {'ROTPublicUID': set(), 'IMEI': set()}
        for kind, value in client.whitelist_entries():
            if kind in current:
                current[kind].add(value)

        add = {kind: set() for dummy, kind in KINDS}
        remove = {kind: set() for dummy, kind in KINDS}
        for kind, values in wanted.items():
            if params['state'] == 'present':
                add[kind] = values - current[kind]
                if params['exclusive']:
                    remove[kind] = current[kind] - values
            else:
                remove[kind] = values & current[kind]

        results = []
        for option, kind in KINDS:
            for value in sorted(wanted.get(kind, ())):
                if value in add[kind]:
                    status = 'added'
                elif value in remove[kind]:
                    status = 'removed'
                else:
                    status = 'present' if params['state'] == 'present' else 'absent'
                results.append(dict(item=value, type=kind, changed=status in ('added', 'removed'), failed=False, status=status))
            for value in sorted(remove[kind] - wanted.get(kind, set())):
                results.append(dict(item=value, type=kind, changed=True, failed=False, status='removed'))

        def send(write, entries):
            if not (entries['ROTPublicUID'] or entries['IMEI']):
                return None
            try:
                write(entries['ROTPublicUID'], entries['IMEI'])
            except IotopsError as exc:
                return client.http.redact(exc.msg)
            return None

        if not module.check_mode:
            for write, entries, status in ((client.whitelist_add, add, 'added'), (client.whitelist_remove, remove, 'removed')):
                error = send(write, entries)
                if error:
                    for result in results:
                        if result['status'] == status:
                            result.update(changed=False, failed=True, msg=error)

        for result in results:
            if result['changed']:
                result['diff'] = dict(before=dict(whitelisted=result['status'] == 'removed'),
                                      after=dict(whitelisted=result['status'] == 'added'))
        view = {'ROTPublicUID': 'rot_public_uids', 'IMEI': 'imeis'}
        extra = dict(added={view[kind]: sorted(values) for kind, values in add.items()},
                     removed={view[kind]: sorted(values) for kind, values in remove.items()})
        exit_batch(module, results, noun='whitelist entries', **extra)

    run(module, work)


if __name__ == '__main__':
    main()
