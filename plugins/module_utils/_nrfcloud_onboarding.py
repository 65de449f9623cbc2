# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud device management: the plan of one device, and bulk onboarding followed to its end.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

``plan_device`` decides from data alone (the item and the device record read, or None); ``BulkOnboarding`` sends one
bulk request per ROWS_PER_REQUEST devices and follows all of them in one poll loop, with a result per device.
"""

from __future__ import annotations

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError, OutcomeUnknownError
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import ONBOARDED, REMOVED
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import BULK_DONE, ROWS_PER_REQUEST

FIRST_POLL_DELAY = 0.2  # the first wait between status reads; small batches are done by then
BULK_TIMEOUT = 300      # seconds a bulk onboarding may take before its devices are reported failed (re-run to settle them)
BULK_INTERVAL = 2.0     # seconds between two reads of a bulk operation still running, after the first
ONBOARD, UPDATE, DELETE = 'onboarded', 'updated', 'deleted'
FW_TYPES = ['APP', 'MODEM', 'BOOT', 'SOFTDEVICE', 'BOOTLOADER', 'MDM_FULL']
TAG = re.compile(r'^[a-zA-Z0-9_.@:#-]+$')
SUB_TYPE = re.compile(r'^[a-zA-Z0-9_.,@/:#-]{0,799}$')
# the onboarding fields of a device (nrfcloud_device's devices[], nrfcloud_provisioning's onboard), as module options
FIELDS_SPEC = dict(
    sub_type=dict(type='str', default=''),
    fw_types=dict(type='list', elements='str', choices=FW_TYPES, default=['APP', 'MODEM']),
    tags=dict(type='list', elements='str'),
)


def validate_fields(fields, prefix=''):
    """The onboarding fields nRF Cloud checks (``sub_type``, ``tags``) of a device or of nrfcloud_provisioning's onboard."""
    if not SUB_TYPE.match(fields.get('sub_type') or ''):
        raise ConfigError('%ssub_type must be at most 799 of letters, digits and _ . , @ / : # -' % prefix)
    for tag in fields.get('tags') or []:
        if not TAG.match(tag):
            raise ConfigError('%stag %r may only hold letters, digits and _ . @ : # -' % (prefix, tag))


def view(device):
    """The managed fields of a device (an item or a record of the cloud), for diff."""
    return dict(name=device.get('name'), tags=sorted(device.get('tags') or []), sub_type=device.get('subType', device.get('sub_type')),
                fw_types=sorted(device.get('fw_types') or (device.get('firmware') or {}).get('supports') or []))


def changes(device, current):
    """The fields of ``current`` (the cloud's record) that the item sets differently: name and tags."""
    found = {}
    if device.get('name') is not None and device['name'] != current.get('name'):
        found['name'] = device['name']
    if device.get('tags') is not None and sorted(device['tags']) != sorted(current.get('tags') or []):
        found['tags'] = device['tags']
    return found


def plan_device(device, current):
    """The Plan of one item against the cloud's record (None: not onboarded)."""
    key = device['device_id']
    if device['state'] == 'absent':
        if current is None:
            return Plan(key, result=dict(phase=REMOVED))
        return Plan(key, DELETE, before=view(current), after=None, result=dict(phase=REMOVED))
    if current is None:
        return Plan(key, ONBOARD, before=None, after=view(device), result=dict(phase=ONBOARDED), device=device)
    found = changes(device, current)
    if not found:
        return Plan(key, NO_CHANGE, result=dict(phase=ONBOARDED))
    return Plan(key, UPDATE, before=view(current), after=view(dict(current, **found)), result=dict(phase=ONBOARDED),
                changes=found, current=current)


class BulkOnboarding:
    """Onboard devices in bulk; ``results`` is {device_id: dict(failed, msg, bulk_ops_request_id)} once ``run`` returned."""

    def __init__(self, client, timeout, interval):
        self.client = client
        self.timeout = timeout
        self.interval = interval
        self.results = {}

    def run(self, devices):
        pending = {}
        for start in range(0, len(devices), ROWS_PER_REQUEST):
            chunk = devices[start:start + ROWS_PER_REQUEST]
            try:
                pending[self.client.onboard_devices(chunk)] = chunk
            except OutcomeUnknownError as exc:
                self._settle_unknown(chunk, exc)
            except IotopsError as exc:
                for device in chunk:
                    self.results[device['device_id']] = dict(failed=True, msg=exc.msg)
        self._follow(pending)
        return self.results

    def _settle_unknown(self, chunk, exc):
        """After an unknown outcome, whatever is onboarded now was onboarded; the rest is reported, not re-sent."""
        now = set(d['id'] for d in self.client.list_devices())
        for device in chunk:
            if device['device_id'] in now:
                self.results[device['device_id']] = {}
            else:
                self.results[device['device_id']] = dict(failed=True, msg='%s; re-run the task to onboard it' % exc.msg)

    def _follow(self, pending):
        def all_settled():
            for request_id in list(pending):
                operation = self.client.bulk_operation(request_id)
                if operation.get('status') in BULK_DONE:
                    self._settle(request_id, pending.pop(request_id), operation)
            return not pending

        if pending:
            poll_until(all_settled, self.timeout, self.interval, first=FIRST_POLL_DELAY)
        for request_id, chunk in pending.items():
            for device in chunk:
                self.results[device['device_id']] = dict(
                    failed=True, bulk_ops_request_id=request_id,
                    msg='bulk operation %s did not finish within %s s; re-run the task' % (request_id, self.timeout))

    def _settle(self, request_id, chunk, operation):
        errors = self.client.bulk_row_errors(operation, len(chunk)) if operation.get('status') == 'FAILED' else {}
        if errors:
            # a row refused because the device is onboarded now was onboarded by another job on the account since this run
            # read the list (nRF Cloud has no "onboard unless there"): the device is where the run takes it
            now = set(d['id'] for d in self.client.list_devices())
            errors = dict((index, text) for index, text in errors.items() if chunk[index]['device_id'] not in now)
        for index, device in enumerate(chunk):
            outcome = dict(bulk_ops_request_id=request_id)
            if index in errors:
                outcome.update(failed=True, msg='onboarding row rejected: %s' % errors[index])
            self.results[device['device_id']] = outcome
