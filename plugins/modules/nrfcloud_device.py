#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Onboard devices to nRF Cloud device management with their certificates, name and tag them, delete them."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_device
short_description: Onboard devices to nRF Cloud with their certificates, set name and tags, delete
version_added: 0.1.0
description:
  - Onboards devices to nRF Cloud device management with their device certificate (signed by your own CA), through the bulk
    CSV call C(POST /v1/devices), and follows the bulk operation to its end, reporting each row's error.
  - Sets the name and the tags of onboarded devices, sending C(If-Match) with the device version so a concurrent change is
    never overwritten (the device is read again and compared after an HTTP 412).
  - Deletes devices.
  - Reads the team's device list once (all pages) to decide; a second run with the same input sends no write.
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
      - Sends no write; RV(outcomes[].action) tells what the real run would do.
  diff_mode:
    support: full
    details:
      - Shows name, tags, sub type and firmware types of each changed device, before and after.
options:
  devices:
    description:
      - The devices; one device is a list of one. At most 1000 rows go into one bulk request; longer lists are split.
    type: list
    elements: dict
    required: true
    suboptions:
      device_id:
        description:
          - The device id, 1 to 128 letters, digits, C(:), C(_) or C(-). Nordic recommends the device UUID.
        type: str
        required: true
      certificate:
        description:
          - The device certificate, PEM, with the device's EC P-256 (ES256) public key. Required to onboard a device that is not
            onboarded yet; not compared afterwards (nRF Cloud does not return it).
        type: str
      sub_type:
        description:
          - The device sub type; a sub type containing C(gateway) gives the device gateway permissions. Set at onboarding.
        type: str
        default: ''
      fw_types:
        description:
          - The firmware types the device supports for FOTA. Set at onboarding.
        type: list
        elements: str
        choices: [APP, MODEM, BOOT, SOFTDEVICE, BOOTLOADER, MDM_FULL]
        default: [APP, MODEM]
      tags:
        description:
          - The device's tags; each is letters, digits and the characters C(_.@:#-). Replaces all tags of the device when given.
        type: list
        elements: str
      name:
        description:
          - The device's friendly name, for example its IMEI.
        type: str
      state:
        description:
          - V(present) onboards the device or updates it; V(absent) deletes it. Defaults to O(state).
        type: str
        choices: [present, absent]
  state:
    description: The default O(devices[].state).
    type: str
    choices: [present, absent]
    default: present
  bulk_timeout:
    description: Seconds to wait for the bulk onboarding operations to finish.
    type: int
    default: 300
  bulk_interval:
    description:
      - The longest wait in seconds between two reads of the bulk operations' status (all of them in one round).
      - The first read comes 0.2 s after the upload and the wait doubles from there up to this value, so a small batch is
        not held up by a long interval.
    type: float
    default: 2
seealso:
  - module: iotops.provisioning.nrfcloud_device_info
  - module: iotops.provisioning.nrfcloud_provisioning
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Onboard the devices provisioned by iotops.provisioning.nrfcloud_provisioning (registered as provisioned)
  iotops.provisioning.nrfcloud_device:
    devices: "{{ provisioned.onboarding }}"

- name: Onboard one gateway with a name and tags
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        certificate: "{{ lookup('ansible.builtin.file', 'device.crt') }}"
        sub_type: gateway
        fw_types: [APP, MODEM, BOOT]
        name: "351358811234567"
        tags: [line-7, batch-2026-47]
    bulk_timeout: 120
    bulk_interval: 5

- name: Retag devices (replaces their tags)
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        tags: [line-7, shipped]

- name: Delete devices returned from the field
  iotops.provisioning.nrfcloud_device:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    state: absent
'''

RETURN = r'''
outcomes:
  description: One entry per device, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device id.
      type: str
    changed:
      description: Whether the device was onboarded, updated or deleted.
      type: bool
    failed:
      description: Whether this device failed; RV(outcomes[].msg) says why (for onboarding, the bulk operation's row error).
      type: bool
    msg:
      description: The reason of a failure.
      type: str
      returned: when failed
    phase:
      description:
        - V(onboarded) (in nRF Cloud device management), V(removed), or V(needs attention) when it failed
      type: str
      sample: onboarded
    waiting:
      description: Whether the next step is the device's own (a later run moves it on); not a failure.
      type: bool
    action:
      description: V(onboarded), V(updated), V(deleted) or V(none).
      type: str
    bulk_ops_request_id:
      description: The bulk operation that onboarded the device.
      type: str
      returned: when onboarded
summary:
  description: Counts of devices by outcome.
  returned: always
  type: dict
  sample: {total: 3, changed: 1, ok: 2, failed: 0}
'''

import csv
import io
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError, OutcomeUnknownError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import require_p256
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import ONBOARDED, REMOVED, outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, exit_batch, require_unique, run_items, validate_concurrency, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import load_certificate
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client

FW_TYPES = ['APP', 'MODEM', 'BOOT', 'SOFTDEVICE', 'BOOTLOADER', 'MDM_FULL']
DEVICE_ID = re.compile(r'^[a-z0-9:_-]{1,128}$', re.I)
TAG = re.compile(r'^[a-zA-Z0-9_.@:#-]+$')
SUB_TYPE = re.compile(r'^[a-zA-Z0-9_.,@/:#-]{0,799}$')
ROWS_PER_REQUEST = 1000
BULK_DONE = ('SUCCEEDED', 'FAILED')
FIRST_POLL_DELAY = 0.2  # the first wait between status reads; small batches are done by then
ROW_ERROR = re.compile(r'^\[(\d+)\]:\s*(.*)$', re.S)

DEVICE_SPEC = dict(
    device_id=dict(type='str', required=True),
    certificate=dict(type='str'),
    sub_type=dict(type='str', default=''),
    fw_types=dict(type='list', elements='str', choices=FW_TYPES, default=['APP', 'MODEM']),
    tags=dict(type='list', elements='str'),
    name=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
)


def validate_device(device):
    if not DEVICE_ID.match(device['device_id']):
        raise ConfigError('device_id %r must be 1 to 128 letters, digits, ":", "_" or "-"' % device['device_id'])
    if not SUB_TYPE.match(device['sub_type'] or ''):
        raise ConfigError('sub_type must be at most 799 of letters, digits and _ . , @ / : # -')
    for tag in device.get('tags') or []:
        if not TAG.match(tag):
            raise ConfigError('tag %r may only hold letters, digits and _ . @ : # -' % tag)
    if device.get('certificate'):
        cert = load_certificate(device['certificate'], 'certificate')
        require_p256(cert.public_key(), 'certificate (its public key)')


def view(device):
    """The managed fields of a device, for diff."""
    return dict(name=device.get('name'), tags=sorted(device.get('tags') or []), sub_type=device.get('subType', device.get('sub_type')),
                fw_types=sorted(device.get('fw_types') or (device.get('firmware') or {}).get('supports') or []))


def csv_rows(devices):
    """The onboarding CSV: deviceId,subType,tags,fwTypes,"certificate PEM" (tags and types pipe-separated)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    for device in devices:
        writer.writerow([device['device_id'], device['sub_type'] or '', '|'.join(device.get('tags') or []),
                         '|'.join(device['fw_types']), device['certificate'].strip() + '\n'])
    return out.getvalue()


class Onboarder:
    """Validate, read the device list once, onboard in bulk, update and delete per device."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.devices = []
        for spec in self.params['devices']:
            device = dict(spec)
            device['state'] = device.get('state') or self.params['state']
            self.devices.append(device)
        self.client = None
        self.existing = {}
        self.onboarding = {}  # device_id -> outcome dict

    def run(self):
        validate_concurrency(self.params)
        validate_items(self.devices, 'devices', validate_device, label=lambda d: d.get('device_id'))
        require_unique(self.devices, 'devices', lambda d: d['device_id'])
        self.client = nrfcloud_client(self.module, concurrency=self.params['concurrency'])
        self.existing = dict((d['id'], d) for d in self.client.list_all('/devices'))
        to_onboard = [d for d in self.devices if d['state'] == 'present' and d['device_id'] not in self.existing]

        def needs_certificate(device):
            if not device.get('certificate'):
                raise ConfigError('certificate is required to onboard a device that is not onboarded yet')
        validate_items(to_onboard, 'devices', needs_certificate, label=lambda d: d['device_id'])
        if to_onboard and not self.module.check_mode:
            self.onboard(to_onboard)
        results = run_items(self.module, self.devices, self.converge, key=lambda d: d['device_id'])
        for result in results:
            outcome_phase(result, result.get('phase'))
        exit_batch(self.module, results, noun='devices')

    # onboarding: one bulk request per 1000 rows, one poll loop for all of them -------------------

    def onboard(self, devices):
        pending = {}
        for start in range(0, len(devices), ROWS_PER_REQUEST):
            chunk = devices[start:start + ROWS_PER_REQUEST]
            try:
                body = self.client.request('POST', '/devices', data=csv_rows(chunk).encode('utf-8'),
                                           headers={'Content-Type': 'text/csv'}, expect=(200, 202)).body
            except OutcomeUnknownError as exc:
                self._settle_unknown(chunk, exc)
                continue
            except IotopsError as exc:
                for device in chunk:
                    self.onboarding[device['device_id']] = dict(failed=True, msg=exc.msg)
                continue
            pending[body['bulkOpsRequestId']] = chunk
        self._follow(pending)

    def _settle_unknown(self, chunk, exc):
        """After an unknown outcome, whatever is onboarded now was onboarded; the rest is reported, not re-sent."""
        now = set(d['id'] for d in self.client.list_all('/devices'))
        for device in chunk:
            if device['device_id'] in now:
                self.onboarding[device['device_id']] = dict(changed=True)
            else:
                self.onboarding[device['device_id']] = dict(failed=True, msg='%s; re-run the task to onboard it' % exc.msg)

    def _follow(self, pending):
        def all_settled():
            for request_id in list(pending):
                body = self.client.request('GET', '/bulk-ops-requests/%s' % request_id).body
                if body.get('status') in BULK_DONE:
                    self._settle(request_id, pending.pop(request_id), body)
            return not pending

        if pending:
            poll_until(all_settled, self.params['bulk_timeout'], self.params['bulk_interval'], first=FIRST_POLL_DELAY)
        for request_id, chunk in pending.items():
            for device in chunk:
                self.onboarding[device['device_id']] = dict(
                    failed=True, bulk_ops_request_id=request_id,
                    msg='bulk operation %s did not finish within %s s; re-run the task' % (request_id, self.params['bulk_timeout']))

    def _settle(self, request_id, chunk, body):
        errors = {}
        if body.get('status') == 'FAILED':
            errors = self._row_errors(body, len(chunk))
        for index, device in enumerate(chunk):
            outcome = dict(bulk_ops_request_id=request_id)
            if index in errors:
                outcome.update(failed=True, msg='onboarding row rejected: %s' % errors[index])
            else:
                outcome.update(changed=True)
            self.onboarding[device['device_id']] = outcome

    def _row_errors(self, body, rows):
        url = body.get('errorSummaryUrl')
        if not url:
            return dict((i, 'the bulk operation failed without an error summary') for i in range(rows))
        # a pre-signed URL: it carries its own authorisation, and the API key must not be sent elsewhere
        summary = self.client.request('GET', url, authenticated=False).body or {}
        errors = {}
        for entry in summary.get('errors') or []:
            match = ROW_ERROR.match(str(entry))
            if match:
                errors[int(match.group(1))] = match.group(2)
        return errors or dict((i, '; '.join(str(e) for e in summary.get('errors') or []) or 'failed') for i in range(rows))

    # per device ------------------------------------------------------------------------------

    def converge(self, device):
        device_id = device['device_id']
        current = self.existing.get(device_id)
        if device['state'] == 'absent':
            if current is None:
                return dict(action='none', phase=REMOVED)
            if not self.module.check_mode:
                self._delete(device_id)
            return dict(changed=True, action='deleted', phase=REMOVED, diff=dict(before=view(current), after=None))
        if current is None:
            outcome = dict(self.onboarding.get(device_id) or dict(changed=True))
            outcome.update(action='onboarded', phase=ONBOARDED)
            if outcome.get('failed'):
                raise IotopsError(outcome['msg'])
            if device.get('name') and not self.module.check_mode:
                self._put(device_id, 'name', [device['name']], None)
            outcome['diff'] = dict(before=None, after=view(device))
            return outcome
        changes = self._changes(device, current)
        if not changes:
            return dict(action='none', phase=ONBOARDED)
        if not self.module.check_mode:
            self._update(device_id, changes, current)
        after = dict(current, **dict(changes))
        return dict(changed=True, action='updated', phase=ONBOARDED, diff=dict(before=view(current), after=view(after)))

    @staticmethod
    def _changes(device, current):
        changes = {}
        if device.get('name') is not None and device['name'] != current.get('name'):
            changes['name'] = device['name']
        if device.get('tags') is not None and sorted(device['tags']) != sorted(current.get('tags') or []):
            changes['tags'] = device['tags']
        return changes

    def _update(self, device_id, changes, current):
        """PUT each changed field with If-Match; after a 412 read the device again and retry once if it still differs."""
        fields = [f for f in ('name', 'tags') if f in changes]
        for position, field in enumerate(fields):
            value = [changes[field]] if field == 'name' else changes[field]
            try:
                self._put(device_id, field, value, (current.get('$meta') or {}).get('version'))
            except ApiError as exc:
                if exc.status != 412:
                    raise
                current = self.client.request('GET', '/devices/%s' % device_id).body
                if self._changes({field: changes[field]}, current):
                    self._put(device_id, field, value, (current.get('$meta') or {}).get('version'))
            if position + 1 < len(fields):
                current = self.client.request('GET', '/devices/%s' % device_id).body  # the version moved on

    def _put(self, device_id, field, body, version):
        headers = {'If-Match': str(version)} if version is not None else None
        self.client.request('PUT', '/devices/%s/%s' % (device_id, field), json_body=body, headers=headers, expect=(200, 202, 204),
                            verify_write=lambda: self._applied(device_id, field, body))

    def _applied(self, device_id, field, body):
        current = self.client.request('GET', '/devices/%s' % device_id).body
        if field == 'name':
            return current if current.get('name') == body[0] else None
        return current if sorted(current.get('tags') or []) == sorted(body) else None

    def _delete(self, device_id):
        def gone():
            try:
                self.client.request('GET', '/devices/%s' % device_id)
            except ApiError as exc:
                if exc.status == 404:
                    return {}
                raise
            return None
        self.client.request('DELETE', '/devices/%s' % device_id, expect=(200, 202, 204), verify_write=gone)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC, **BATCH_ARGSPEC,
            devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            bulk_timeout=dict(type='int', default=300),
            bulk_interval=dict(type='float', default=2.0),
        ),
        supports_check_mode=True,
    )
    run(module, Onboarder(module).run)


if __name__ == '__main__':
    main()
