#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIP devices of an iotcomms.io tenant domain: create, change with one minimal JSON Patch, delete."""

from __future__ import annotations

DOCUMENTATION = r'''
module: iotcomms_device
short_description: Manage the SIP devices of an iotcomms.io tenant domain
version_added: 0.1.0
description:
  - Creates, changes and deletes SIP devices (for example alarm units) of an iotcomms.io tenant domain through the Provisioning API.
    A device's SIP address is C(sip:<device_id>@<domain>).
  - Takes one device or a list of thousands. The module reads the domain's device list once, compares each device with the task,
    and then sends only what differs, O(concurrency) requests at a time over one HTTP session.
  - A new device is created with C(PUT /provisioning/device/{domain}), the device id in the body. A changed device gets one
    RFC 6902 JSON Patch (C(PATCH /provisioning/device/{domain}/{deviceId})) holding one operation per changed field and none for
    an unchanged field. A device to remove is deleted with C(DELETE).
  - When at least O(bulk_threshold) devices are to be created, they are created by one bulk CSV job
    (C(PUT /provisioning/device/{domain}/bulk/{bulkId})) whose status is polled until it is done, instead of one request each.
  - Only the fields given in the task are managed. A field left out keeps the value the device has.
  - The module signs its own RS256 JWT once per run with the domain's private key (see O(private_key_path)).
    When iotcomms.io refuses the JWT, the error names the rule it broke (signature, older than one hour, C(exp) more than
    90 minutes after C(iat)) and what to check.
extends_documentation_fragment:
  - iotops.provisioning.iotcomms
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_iotcomms
attributes:
  check_mode:
    support: full
    details:
      - Reads the device list and reports what would change; sends no write.
  diff_mode:
    support: full
    details:
      - The managed fields of each changed device before and after, keyed by device id. The password is never shown.
options:
  devices:
    description:
      - The devices, one entry per device. A single device is a list of one.
      - Each device id may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      device_id:
        description:
          - The device id, the user part of the device's SIP address; often a phone number. Quote numbers in YAML.
          - 1 to 64 letters, digits and C(.) C(_) C(~) C(+) C(-), starting with a letter or a digit.
          - It identifies the device and cannot be changed; to rename a device, delete it and create the new one.
        type: str
        required: true
        aliases: [deviceId]
      state:
        description:
          - V(present) creates or updates the device, V(absent) deletes it.
          - If not set, the module's O(state) applies.
        type: str
        choices: [present, absent]
      auth_type:
        description:
          - How the device authenticates its SIP registration (C(authType)). V(disabled) (no SIP authentication, for example the
            Cloud SIP UA), V(deviceid) (the device id is the credential) or V(credentials) (SIP digest with O(devices[].password)).
          - A new device without it gets V(disabled).
        type: str
        choices: [disabled, deviceid, credentials]
        aliases: [authType]
      password:
        description:
          - The SIP password of a device with O(devices[].auth_type=credentials); required then. 8 to 128 characters.
          - iotcomms.io never returns it, so the module cannot compare it. O(update_password) says when it is sent.
        type: str
      device_type:
        description:
          - The device type (C(deviceType)), for example V(alarmUnit). Letters and digits, starting with a letter.
          - A new device without it gets V(alarmUnit).
        type: str
        aliases: [deviceType]
      device_cli:
        description:
          - The calling line identity (C(deviceCLI)), a phone number of 2 to 20 digits with an optional leading C(+).
          - An empty string clears it.
        type: str
        aliases: [deviceCLI]
      mac_address:
        description:
          - The device's MAC address (C(macAddress)). Six hex pairs separated by colons or dashes, in any case; it is sent and
            compared as C(AA:BB:CC:DD:EE:FF).
          - An empty string clears it.
        type: str
        aliases: [macAddress]
      description:
        description:
          - Free text, at most 255 characters. An empty string clears it.
        type: str
      settings:
        description:
          - >-
            Further device properties as iotcomms.io names them, nested objects included, for example
            C({"authorized": {"domain": "partner.example.com"}}).
          - Only the members given are managed, at any depth; a member with the value V(null) is removed from the device.
          - Property names are letters, digits and C(_), starting with a letter, and must not be one of the options above.
        type: dict
  state:
    description:
      - The state of the devices whose O(devices[].state) is not set.
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description:
      - V(on_create) sends O(devices[].password) only when the device is created (and when its O(devices[].auth_type) changes to
        V(credentials), which needs a password). A later change of the password in the task is not noticed, because iotcomms.io
        never returns the password. This keeps a second run free of writes.
      - V(always) also sends the password of every existing device that has one in the task, as one C(add /password) operation.
        Such a device is reported C(changed) on every run.
    type: str
    choices: [on_create, always]
    default: on_create
  bulk_threshold:
    description:
      - When this many devices or more are to be created, they are created by one bulk CSV job instead of one request each.
        V(0) never uses the bulk endpoint.
      - Devices whose O(devices[].settings) hold values other than text (numbers, booleans, lists) are always created one by one,
        because CSV cells are text.
    type: int
    default: 200
  bulk_timeout:
    description:
      - How many seconds to wait for a bulk job to finish. A job that takes longer goes on in iotcomms.io; its devices are
        reported as failed and a later run of the task creates only what is still missing.
    type: float
    default: 600
notes:
  - "The module runs on the controller (C(delegate_to: localhost)); the JWT is signed there."
  - Changes are sent as C(application/json) JSON Patch documents. A device whose patch cannot be applied fails alone; the other
    devices are still worked.
seealso:
  - module: iotops.provisioning.iotcomms_device_info
  - name: iotcomms.io API overview
    description: Tenant domains, the RS256 JWT and the JSON Patch convention of the iotcomms.io REST API.
    link: https://iotcomms.io/developer/documentation/general/api_overview
  - name: iotcomms.io Provisioning API
    description: The device resource and the bulk CSV endpoint.
    link: https://iotcomms.io/developer/documentation/apis/provisioning
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Provision the alarm units of a building (key and domain from IOTCOMMS_PRIVATE_KEY_PATH and IOTCOMMS_DOMAIN)
  iotops.provisioning.iotcomms_device:
    devices:
      - device_id: "4670001"
        auth_type: credentials
        password: "{{ vault_sip_passwords['4670001'] }}"
        device_type: alarmUnit
        device_cli: "+46700000001"
        mac_address: "00:1a:2b:3c:4d:01"
        description: Entrance, building 7
      - device_id: "4670002"
        auth_type: deviceid
        description: Lift, building 7
        settings:
          authorized:
            domain: partner.example.com
  delegate_to: localhost

- name: Onboard a factory batch from a manifest, 16 requests at a time, with an explicit domain and key
  iotops.provisioning.iotcomms_device:
    api_url: https://api.prod-eu-north-1.iotcomms.io
    domain: customer47.prod-eu-north-1.iotcomms.io
    private_key_path: /etc/iotops/iotcomms-api.pem
    jwt_lifetime: 3600
    concurrency: 16
    bulk_threshold: 100
    bulk_timeout: 900
    devices: "{{ manifest.devices | map('combine', {'device_type': 'alarmUnit'}) | list }}"
  delegate_to: localhost
  register: onboarding

- name: Rotate SIP passwords (always sends the password; each device reports changed)
  iotops.provisioning.iotcomms_device:
    private_key: "{{ vault_iotcomms_private_key }}"
    private_key_passphrase: "{{ vault_iotcomms_key_passphrase }}"
    update_password: always
    devices:
      - device_id: "4670001"
        auth_type: credentials
        password: "{{ vault_new_sip_passwords['4670001'] }}"
  delegate_to: localhost

- name: Provision through a TLS-inspecting proxy, with its CA and patient retries
  iotops.provisioning.iotcomms_device:
    ca_path: /etc/pki/corporate-ca.pem
    validate_certs: true
    use_proxy: true
    timeout: 20
    retries: 8
    retry_max_wait: 120
    devices:
      - device_id: "4670010"
        description: Boiler room
  delegate_to: localhost

- name: Retire two devices and drop a setting of a third
  iotops.provisioning.iotcomms_device:
    state: absent
    devices:
      - device_id: "4670001"
      - device_id: "4670002"
      - device_id: "4670003"
        state: present
        settings:
          authorized: null
  delegate_to: localhost
'''

RETURN = r'''
outcomes:
  description: One entry per device of O(devices), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device id.
      type: str
      sample: '4670001'
    action:
      description: What was done (or, in check mode, would be done) - V(create), V(update), V(delete) or V(none).
      type: str
      sample: update
    changed:
      description: Whether the device was (or would be) changed.
      type: bool
    failed:
      description: Whether this device failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: Why the device failed.
      type: str
      returned: when failed
    phase:
      description:
        - V(created), V(updated), V(up to date), V(deleted), or V(needs attention) when it failed
      type: str
      sample: up to date
    waiting:
      description: Whether the next step is the device's own (a later run moves it on); not a failure.
      type: bool
    patch:
      description: The JSON Patch operations of an update; the value of a password operation is masked.
      type: list
      elements: dict
      returned: when O(devices[].state=present) and the device exists
      sample: [{"op": "replace", "path": "/description", "value": "Lift, building 7"}]
    bulk_id:
      description: The bulk job that created the device.
      type: str
      returned: when the device was created by a bulk job
      sample: iotops-5f0c8a3e9d2b4c1aa0e1f2d3
    device:
      description: The device as iotcomms.io holds it after the task (predicted in check mode); never the password.
      type: dict
      returned: when O(devices[].state=present)
      sample: {"deviceId": "4670001", "authType": "credentials", "deviceType": "alarmUnit", "deviceCLI": "+46700000001",
               "macAddress": "00:1A:2B:3C:4D:01", "description": "Entrance, building 7"}
summary:
  description: Counts of the devices.
  returned: always
  type: dict
  contains:
    total:
      description: Devices in O(devices).
      type: int
    changed:
      description: Devices created, updated or deleted.
      type: int
    ok:
      description: Devices that already were as the task says.
      type: int
    failed:
      description: Devices that failed.
      type: int
  sample: {"total": 3, "changed": 1, "ok": 2, "failed": 0}
bulk:
  description: The status of the bulk job, if one was used.
  returned: when a bulk job was used
  type: dict
  sample: {"bulkId": "iotops-5f0c8a3e9d2b4c1aa0e1f2d3", "state": "completed", "total": 500, "created": 500, "failed": 0}
'''

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._jsonpatch import apply_managed, make_patch, without_none
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import IOTCOMMS_ACTIONS, phases_by_action
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, Plan, ResourceModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.iotcomms import ARGSPEC, bulk_row_errors, iotcomms_client, new_bulk_id

# option -> iotcomms.io field
FIELDS = (('device_id', 'deviceId'), ('auth_type', 'authType'), ('device_type', 'deviceType'), ('device_cli', 'deviceCLI'),
          ('mac_address', 'macAddress'), ('description', 'description'))
RESERVED = frozenset([field for _option, field in FIELDS] + ['password'])
DEVICE_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$')
DEVICE_TYPE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]{0,63}$')
DEVICE_CLI_RE = re.compile(r'^\+?[0-9]{2,20}$')
MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$')
PROPERTY_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,63}$')
PASSWORD_MIN = 8
PASSWORD_MAX = 128
DESCRIPTION_MAX = 255
MASK = '********'
EMPTY_BY_DEFAULT = ('deviceCLI', 'macAddress', 'description')
CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'
NONE = 'none'

DEVICE_SPEC = dict(
    device_id=dict(type='str', required=True, aliases=['deviceId']),
    state=dict(type='str', choices=['present', 'absent']),
    auth_type=dict(type='str', choices=['disabled', 'deviceid', 'credentials'], aliases=['authType']),
    password=dict(type='str', no_log=True),
    device_type=dict(type='str', aliases=['deviceType']),
    device_cli=dict(type='str', aliases=['deviceCLI']),
    mac_address=dict(type='str', aliases=['macAddress']),
    description=dict(type='str'),
    settings=dict(type='dict'),
)


def validate_device(item):
    """Raise ConfigError naming the option, the value's problem and the iotcomms.io rule."""
    device_id = item['device_id']
    if not DEVICE_ID_RE.match(device_id or ''):
        raise ConfigError('device_id %r is not a valid iotcomms.io device id: 1 to 64 letters, digits and . _ ~ + -, starting with a '
                          'letter or digit (it is the user part of the SIP address sip:<device_id>@<domain>)' % device_id)
    if item['state'] == 'absent':
        return
    password = item.get('password')
    if item.get('auth_type') == 'credentials' and not password:
        raise ConfigError('password is required with auth_type=credentials: iotcomms.io authenticates such a device by SIP digest')
    if password is not None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ConfigError('password must be %d to %d characters long, got %d' % (PASSWORD_MIN, PASSWORD_MAX, len(password)))
    device_type = item.get('device_type')
    if device_type is not None and not DEVICE_TYPE_RE.match(device_type):
        raise ConfigError('device_type %r is not a device type name: letters and digits, starting with a letter (e.g. alarmUnit)'
                          % device_type)
    cli = item.get('device_cli')
    if cli and not DEVICE_CLI_RE.match(cli):
        raise ConfigError('device_cli %r is not a calling line identity: 2 to 20 digits with an optional leading +, or empty' % cli)
    mac = item.get('mac_address')
    if mac and not MAC_RE.match(mac):
        raise ConfigError('mac_address %r is not a MAC address: six hex pairs separated by colons or dashes (AA:BB:CC:DD:EE:FF), '
                          'or empty' % mac)
    description = item.get('description')
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise ConfigError('description is %d characters long; iotcomms.io takes at most %d' % (len(description), DESCRIPTION_MAX))
    for name in item.get('settings') or {}:
        if name in RESERVED:
            raise ConfigError('settings.%s: %s is a field of its own; set it with its option, not in settings' % (name, name))
        if not PROPERTY_RE.match(str(name)):
            raise ConfigError('settings.%s: property names are letters, digits and _, starting with a letter' % name)


def desired_fields(item):
    """The device fields the task manages, as iotcomms.io names them (no password)."""
    wanted = {}
    for option, field in FIELDS:
        value = item.get(option)
        if value is not None:
            wanted[field] = value
    if wanted.get('macAddress'):
        wanted['macAddress'] = wanted['macAddress'].replace('-', ':').upper()
    wanted.update(item.get('settings') or {})
    return wanted


def public(device):
    return {key: value for key, value in (device or {}).items() if key != 'password'}


def mask_ops(ops):
    return [dict(op, value=MASK) if op.get('path') == '/password' and 'value' in op else op for op in ops]


def bulk_eligible(body):
    """CSV cells are text: only a device whose values are all text goes into a bulk job.

    An empty cell means "not given", so an empty string is only safe where it is the default of a new device.
    """
    def text_leaves(value):
        if isinstance(value, dict):
            return bool(value) and all('.' not in str(key) and text_leaves(item) for key, item in value.items())
        return isinstance(value, str) and value != ''
    for key, value in body.items():
        if isinstance(value, str) and value == '' and key in EMPTY_BY_DEFAULT:
            continue
        if not text_leaves(value):
            return False
    return True


def plan_device(item, have, update_password='on_create'):
    """What one device of the task needs, given the device iotcomms.io holds (``have``, None if there is none); no request."""
    device_id = item['device_id']
    if item['state'] == 'absent':
        return Plan(device_id, DELETE if have is not None else NONE, before=public(have) if have is not None else None, after={})
    wanted = desired_fields(item)
    password = item.get('password')
    if have is None:
        body = without_none(dict(wanted, deviceId=device_id))
        if password:
            body['password'] = password
        after = _with_defaults(wanted)
        return Plan(device_id, CREATE, before={}, after=after, result=dict(device=after), body=body, spec=item)
    current = public(have)
    ops = make_patch(current, wanted)
    switching = wanted.get('authType') == 'credentials' and have.get('authType') != 'credentials'
    if password and (update_password == 'always' or switching):
        ops.append({'op': 'add', 'path': '/password', 'value': password})
    device = apply_managed(current, wanted)
    return Plan(device_id, UPDATE if ops else NONE, before=_managed(current, wanted), after=_managed(device, wanted),
                result=dict(device=device, patch=mask_ops(ops)), ops=ops, wanted=wanted)


def _managed(device, wanted):
    return {key: device.get(key) for key in wanted if key in device}


def _with_defaults(wanted):
    device = {'authType': 'disabled', 'deviceType': 'alarmUnit', 'deviceCLI': '', 'macAddress': '', 'description': ''}
    device.update(without_none(wanted))
    return device


def bulk_results(plans, bulk_id, status):
    """The result fields of each device of a finished bulk job, by device id: its row error, or created."""
    errors = bulk_row_errors(bulk_id, status)
    results = {}
    for plan in plans:
        if plan.item in errors or status.get('state') == 'failed':
            results[plan.item] = dict(changed=False, failed=True, bulk_id=bulk_id, msg=errors.get(plan.item) or 'bulk job %s failed' % bulk_id)
        else:
            results[plan.item] = dict(bulk_id=bulk_id)
    return results


class DeviceModule(ResourceModule):
    """Reads the domain's device list once; creates (one by one or by a bulk CSV job), patches and deletes."""

    items_option = noun = 'devices'

    def __init__(self, module):
        super().__init__(module)
        self.current = {}

    def key(self, item):
        return item.get('device_id')

    def validate(self, items):
        if self.params['bulk_threshold'] < 0:
            raise ConfigError('bulk_threshold must be 0 (never use the bulk endpoint) or a positive number of devices, got %d'
                              % self.params['bulk_threshold'])
        if not 0 < self.params['bulk_timeout'] <= 86400:
            raise ConfigError('bulk_timeout must be more than 0 and at most 86400 seconds, got %s' % self.params['bulk_timeout'])

    def validate_item(self, item):
        validate_device(item)

    def connect(self):
        return iotcomms_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.current = self.client.devices_by_id()

    def plan(self, item):
        return plan_device(item, self.current.get(item['device_id']), self.params['update_password'])

    def apply_all(self, plans):
        creates = [plan for plan in plans if plan.action == CREATE and bulk_eligible(plan.data['body'])]
        threshold = self.params['bulk_threshold']
        done = {}
        if threshold and len(creates) >= threshold:
            done = self.bulk_create(creates)
        done.update(super().apply_all([plan for plan in plans if plan.item not in done]))
        return done

    def bulk_create(self, plans):
        """Create ``plans`` with one bulk CSV job; the result fields of each, by device id."""
        bulk_id = new_bulk_id()
        try:
            status = self.client.bulk_create(bulk_id, [plan.data['body'] for plan in plans], self.params['bulk_timeout'])
        except IotopsError as exc:
            self.extra['bulk'] = dict(bulkId=bulk_id, state='unknown')
            failure = dict(changed=False, failed=True, bulk_id=bulk_id, msg='bulk job %s: %s' % (bulk_id, exc.msg))
            return dict((plan.item, dict(failure)) for plan in plans)
        self.extra['bulk'] = status
        results = bulk_results(plans, bulk_id, status)
        for plan in plans:
            # a row refused because the device exists now: another job created it meanwhile (see created_meanwhile)
            if results.get(plan.item, {}).get('failed') and self.client.get_device(plan.item) is not None:
                try:
                    results[plan.item] = dict(self.created_meanwhile(plan, None), bulk_id=bulk_id)
                except IotopsError as exc:
                    results[plan.item].update(msg='%s; then: %s' % (results[plan.item]['msg'], self.redact(exc.msg)))
        return results

    def apply(self, plan):
        if plan.action == DELETE:
            return self.client.delete_device(plan.item)
        if plan.action == CREATE:
            try:
                device = public(self.client.create_device(plan.data['body'])) or plan.result['device']
            except ApiError as exc:
                if exc.status != 409:
                    raise
                return self.created_meanwhile(plan, exc)
            plan.after = _managed(device, plan.after)
            return dict(device=device)
        return self.update(plan)

    def update(self, plan):
        wanted = plan.data['wanted']
        sent = self.client.patch_device(plan.item, plan.data['ops'], verify=lambda found: not make_patch(public(found), wanted))
        return dict(device=public(sent) or plan.result['device'])

    def created_meanwhile(self, plan, conflict):
        """iotcomms.io has the device although it had not when the run read the domain: another job on the domain created
        it since. From here on it is the device that exists: patched by delta where it differs, left alone where not."""
        have = self.client.get_device(plan.item)
        if have is None:
            raise conflict
        again = plan_device(plan.data['spec'], have, self.params['update_password'])
        if again.action == UPDATE:
            return self.update(again)
        return dict(device=again.result['device'])

    def outcomes(self, results):
        return phases_by_action(results, IOTCOMMS_ACTIONS)


def main():
    run_module(DeviceModule, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               state=dict(type='str', choices=['present', 'absent'], default='present'),
               update_password=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
               bulk_threshold=dict(type='int', default=200),
               bulk_timeout=dict(type='float', default=600.0))


if __name__ == '__main__':
    main()
