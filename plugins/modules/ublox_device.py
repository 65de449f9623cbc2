#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring u-blox devices into service, before or after they bootstrap: whitelist, tags and feature provisioning."""

from __future__ import annotations

DOCUMENTATION = r'''
module: ublox_device
short_description: Bring u-blox devices into service before or after they bootstrap - whitelist, tags, feature provisioning
version_added: 0.1.0
description:
  - Puts each device on the u-blox whitelist (by ROTPublicUID and by IMEI, whichever are given). A device bootstraps
    C(ACTIVATED), with the feature authorizations of its device profile, only when it is on the whitelist at that moment;
    otherwise it bootstraps C(ALLOCATED) without features (u-blox C(/device/whitelist/add)).
  - Factory-fresh devices have not bootstrapped yet, and u-blox refuses tags and feature provisioning for devices it does not
    know. For them the module uses u-blox's path for new devices - the bootstrap provisioning of their device profile
    (O(device_profile_uid); "Provisioning will happen when the device bootstraps") and, with O(tag_device_profile), the tags
    on the device profile - and reports them as C(waiting for bootstrap). That is not a failure - run the task again later
    and it moves on the devices that have bootstrapped since.
  - For devices that have bootstrapped, assigns the O(tags) to the device and sets the feature provisioning on the device,
    which u-blox applies at the device's next security heartbeat.
  - Each device gets a phase, in plain words - C(whitelisted), C(waiting for bootstrap), C(bootstrapped), C(tagged),
    C(features pending (next heartbeat)), C(features applied), or C(needs attention) with the reason and what to do.
  - Reads the whitelist, the tags and the devices of the list once, and sends one call per kind of change for the whole list.
  - To take devices out of service use M(iotops.provisioning.ublox_device_whitelist) with O(iotops.provisioning.ublox_device_whitelist#module:state=absent),
    M(iotops.provisioning.ublox_tag) and M(iotops.provisioning.ublox_device_provisioning).
extends_documentation_fragment:
  - iotops.provisioning.ublox
  - iotops.provisioning.ublox.features
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_ublox
attributes:
  check_mode:
    support: full
    details:
      - Reads, plans and predicts the phase of every device; sends no write and does not wait.
  diff_mode:
    support: full
    details:
      - Per device, whether it is whitelisted, has bootstrapped, its tags among O(tags) and its effective features, before and after;
        the device profile's bootstrap provisioning and tags under the key C(device profile <uid>).
options:
  devices:
    description:
      - The devices; one device is a list of one. Each needs a ROTPublicUID or an IMEI, or both.
    type: list
    elements: dict
    required: true
    suboptions:
      rot_public_uid:
        description:
          - The device's ROTPublicUID, 1 to 16 hexadecimal digits (the 8-byte root-of-trust UID).
          - Without it the device can only be whitelisted (by IMEI) - tags and device-level features need the ROTPublicUID,
            and the module cannot see whether the device has bootstrapped.
        type: str
      imei:
        description:
          - The device's IMEI, 15 digits whose last digit is the Luhn check digit of the first 14.
        type: str
  device_profile_uid:
    description:
      - The device profile the devices are sealed with (for example V(AgbCtixjwqLjwV3VWpfPyz)), from the Thingstream portal.
      - Its bootstrap provisioning is set to O(authorizations) and O(security_heartbeat), so that devices that have not
        bootstrapped get them when they do. The bootstrap provisioning applies to every new device of the profile, not only
        to this list.
      - Required with O(authorizations) or O(security_heartbeat) when a device of the list has not bootstrapped yet, and with
        O(tag_device_profile).
    type: str
  tags:
    description:
      - Tags to assign to every device that has bootstrapped (created when missing). Tags it carries besides these are kept.
    type: list
    elements: str
    default: []
  tag_device_profile:
    description:
      - Assign O(tags) to O(device_profile_uid) as well (u-blox C(/tag/assign) with C(DeviceProfileUIDs)).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait, within this run, for devices that have not bootstrapped yet. Devices that bootstrap in that time are
        tagged and provisioned in the same run; the others stay C(waiting for bootstrap). V(0) does not wait.
      - Not done in check mode.
    type: int
    default: 0
  wait_interval:
    description:
      - Seconds between two reads of the waiting devices while waiting.
    type: float
    default: 10
seealso:
  - module: iotops.provisioning.ublox_device_whitelist
  - module: iotops.provisioning.ublox_tag
  - module: iotops.provisioning.ublox_device_provisioning
  - module: iotops.provisioning.ublox_device_info
  - name: u-blox Security Services API
    description: Device profiles, whitelist, provisioning and tags.
    link: https://www.u-blox.com/en/product/iot-security-service
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Whitelist today's batch, tag it, and give it Local Data Protection - now or when each device bootstraps
  iotops.provisioning.ublox_device:
    devices:
      - rot_public_uid: "0002000089280087"
        imei: "351358811234563"
      - rot_public_uid: "135700008928c093"
    device_profile_uid: AgbCtixjwqLjwV3VWpfPyz
    tags: [batch-2026-48]
    authorizations:
      local_dpr: true
  register: ublox_batch

- name: List the devices that have not bootstrapped yet
  ansible.builtin.debug:
    msg: "{{ ublox_batch.outcomes | selectattr('waiting') | map(attribute='item') | list }}"

- name: Wait up to ten minutes for the devices powered on at the line to bootstrap, checking every 30 seconds
  iotops.provisioning.ublox_device:
    devices: "{{ batch_devices }}"
    device_profile_uid: AgbCtixjwqLjwV3VWpfPyz
    tags: [batch-2026-48]
    tag_device_profile: true
    security_heartbeat: 3600
    wait_timeout: 600
    wait_interval: 30
    concurrency: 8

- name: Whitelist devices known only by IMEI
  iotops.provisioning.ublox_device:
    devices:
      - imei: "351358811234563"
'''

RETURN = r'''
outcomes:
  description: One entry per device, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device's ROTPublicUID, or its IMEI when no ROTPublicUID was given.
      type: str
      sample: "0002000089280087"
    changed:
      description: Whether anything was written for the device (or would be, in check mode).
      type: bool
    failed:
      description: Whether the device needs a person; RV(outcomes[].msg) says why and RV(outcomes[].remedy) what to do.
      type: bool
    msg:
      description: Why the device needs attention.
      type: str
      returned: when failed
    remedy:
      description: What a person should do about it.
      type: str
      returned: when failed
    phase:
      description:
        - Where the device stands - V(whitelisted), V(waiting for bootstrap), V(bootstrapped), V(tagged),
          V(features pending (next heartbeat)), V(features applied) or V(needs attention).
      type: str
      sample: waiting for bootstrap
    waiting:
      description: Whether the next step is the device's (it has not bootstrapped or not had its heartbeat yet).
      type: bool
    actions:
      description: What this run did (or would do) for the device, in words.
      type: list
      elements: str
      sample: [whitelisted by ROTPublicUID, tagged batch-2026-48]
    bootstrapped:
      description: Whether the device has bootstrapped (C(null) when only its IMEI is known).
      type: bool
    state:
      description: The device's u-blox state once bootstrapped, V(ACTIVATED) or V(ALLOCATED).
      type: str
      returned: when the device has bootstrapped
device_profile:
  description: What the run did for O(device_profile_uid).
  returned: when O(device_profile_uid) is given
  type: dict
  sample: {uid: AgbCtixjwqLjwV3VWpfPyz, bootstrap_provisioning_set: true, tagged: []}
waiting_devices:
  description:
    - The devices that have not bootstrapped yet, as O(devices) items, for a later task that follows them (for example with
      O(wait_timeout)).
  returned: always
  type: list
  elements: dict
  sample: [{rot_public_uid: "0002000089280087"}]
summary:
  description: Counts of the devices by outcome, and how many wait for the device.
  returned: always
  type: dict
  sample: {total: 60, changed: 60, ok: 0, failed: 0, waiting: 45}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import WAITING_FOR_BOOTSTRAP, outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.module_utils._progress import Progress
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, NO_CHANGE, ResourceModule, require_unique, run_module, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_onboarding import (
    ALLOCATED_REMEDY, FEATURES_SET, INFO, ONBOARD, Device, Goal, check_profile_needed, device_view, plan_device, plan_profile, report,
    tag_action, validate_device, whitelist_action)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    AUTHORIZATIONS,
    check_profile_uid,
    requested_features,
    tag_key,
    tag_name_problem,
    ublox_client,
)

DEVICE_SPEC = dict(rot_public_uid=dict(type='str'), imei=dict(type='str'))
AUTH_SPEC = {option: dict(type='bool') for option in AUTHORIZATIONS}
FIRST_POLL = 1.0


def validate_options(params, heartbeat):
    """The module's own options (after the devices); returns the tags, sorted by key."""
    problems = [problem for problem in (tag_name_problem(tag) for tag in params['tags']) if problem]
    if problems:
        raise ConfigError('tags: %s' % '; '.join(problems))
    tags = sorted(set(params['tags']), key=tag_key)
    if params['device_profile_uid'] is not None:
        params['device_profile_uid'] = check_profile_uid(params['device_profile_uid'], 'device_profile_uid')
    if params['tag_device_profile'] and (params['device_profile_uid'] is None or not tags):
        raise ConfigError('tag_device_profile needs device_profile_uid and tags')
    if heartbeat is not None and heartbeat < 1:
        raise ConfigError('security_heartbeat is %d; it is an interval in seconds and must be at least 1' % heartbeat)
    if params['wait_timeout'] < 0:
        raise ConfigError('wait_timeout must be 0 or more seconds, got %s' % params['wait_timeout'])
    if params['wait_interval'] <= 0:
        raise ConfigError('wait_interval must be greater than 0, got %s' % params['wait_interval'])
    return tags


class Onboarding(ResourceModule):
    """Reads the whitelist, the tags and the devices once; plans each device (``plan_device``); a real run then sends one call
    per kind of change for the whole list and follows the devices that bootstrap during the run (``apply_all``)."""

    items_option = noun = 'devices'
    item_defaults = ()

    def __init__(self, module):
        super().__init__(module)
        auths, heartbeat = requested_features(self.params['authorizations'], self.params['security_heartbeat'])
        self.goal = Goal((), auths, heartbeat)
        self.devices = []
        self.existing_tags = {}
        self.profile = None      # the Plan of device_profile_uid, when the task sets its features or tags

    # 1. validate ------------------------------------------------------------------------------

    def items(self):
        self.devices = [Device(spec) for spec in self.params['devices']]
        return self.devices

    def key(self, item):
        return item.item

    def validate(self, items):
        if not items:
            raise ConfigError('devices is empty; give at least one device')
        validate_items(items, 'devices', validate_device, label=self.key)
        require_unique(items, 'devices', lambda d: d.rot or None)
        require_unique(items, 'devices', lambda d: d.imei or None)
        self.goal.tags = self.goal.names = validate_options(self.params, self.goal.heartbeat)

    def connect(self):
        return ublox_client(self.module, concurrency=self.params['concurrency'])

    # 2. read ----------------------------------------------------------------------------------

    def read(self, items):
        listed = self.client.whitelist_entries()
        for device in items:
            device.listed = device.wanted_entries() & listed
        self.read_devices([d for d in items if d.rot])
        if self.goal.tags:
            self.existing_tags = self.client.tags()
            self.goal.names = [self.existing_tags.get(tag_key(t), {'TagName': t})['TagName'] for t in self.goal.tags]
        self.read_profile()
        check_profile_needed(items, self.goal, self.params['device_profile_uid'])

    def read_devices(self, devices):
        """Device info (CORE, PROVISIONING) of ``devices``; those u-blox does not know have not bootstrapped."""
        records = self.client.device_info([d.rot for d in devices], options=INFO, concurrency=self.params['concurrency'])
        for device in devices:
            if device.rot in records:
                device.take_info(records[device.rot])

    def read_profile(self):
        uid, tag_profile = self.params['device_profile_uid'], self.params['tag_device_profile']
        if uid is None or not (self.goal.features or tag_profile):
            return
        desired, tags = self.client.bootstrap_provisioning(uid), set()
        named = [self.existing_tags[tag_key(t)]['TagName'] for t in self.goal.tags if tag_key(t) in self.existing_tags]
        if tag_profile and named:
            tags = set(tag_key(t) for t in named if uid in self.client.profiles_with_tags([t]))
        self.profile = plan_profile(uid, desired, tags, self.goal, tag_profile)

    # 3. plan ----------------------------------------------------------------------------------

    def plan(self, item):
        return plan_device(item, self.goal)

    def applies(self, plan):
        return True  # a real run follows every device, also those with nothing to write yet

    # 4. apply: the device profile, the whitelist, then the bootstrapped devices ---------------------

    def apply_all(self, plans):
        """One call per kind of change. The profile comes first: a device may bootstrap the moment it is on the whitelist,
        and it takes the features its profile has then."""
        if self.profile is not None:
            self.write_profile(self.profile)
        self.whitelist([plan for plan in plans if plan.data['entries']])
        self.advance([plan for plan in plans if plan.data['device'].bootstrapped])
        self.follow()
        applied = {}
        for plan in plans:
            device = plan.data['device']
            plan.action = ONBOARD if device.actions else NO_CHANGE
            plan.after = device_view(device, self.goal)
            applied[plan.item] = report(device, self.goal, device.actions, device.failure, device.remedy)
        return applied

    def write_profile(self, plan):
        uid = self.params['device_profile_uid']
        if plan.data['features']:
            self.client.set_bootstrap_provisioning(uid, self.goal.auths, self.goal.heartbeat)
        if plan.data['tag']:
            self.ensure_tags()
            self.client.assign_tags(self.goal.names, (), [uid])

    def send(self, devices, call, *args):
        """One write for ``devices``; a refusal fails those devices with u-blox's own words. True when it was sent."""
        try:
            call(*args)
        except IotopsError as exc:
            for device in devices:
                device.failure = device.failure or self.redact(exc.msg)
            return False
        return True

    def whitelist(self, plans):
        entries = set()
        for plan in plans:
            entries |= plan.data['entries']
        if not entries:
            return
        rots = sorted(value for kind, value in entries if kind == 'ROTPublicUID')
        imeis = sorted(value for kind, value in entries if kind == 'IMEI')
        if self.send([plan.data['device'] for plan in plans], self.client.whitelist_add, rots, imeis):
            for plan in plans:
                device = plan.data['device']
                device.actions.append(whitelist_action(plan.data['entries']))
                device.listed |= device.wanted_entries()

    def advance(self, plans):
        """Tag and set the features of bootstrapped devices as planned; one that bootstrapped ALLOCATED needs a person."""
        for plan in plans:
            device = plan.data['device']
            if plan.data['failure'] and not device.failure:
                device.failure, device.remedy = plan.data['failure'], ALLOCATED_REMEDY
        self.tag_devices([p.data['device'] for p in plans if p.data['tag'] and not p.data['device'].failure])
        self.set_device_features([p.data['device'] for p in plans if p.data['features'] and not p.data['device'].failure])

    def ensure_tags(self):
        """Create the tags that do not exist yet (once); a tag another run created meanwhile is taken as it is."""
        for tag in self.goal.tags:
            key = tag_key(tag)
            if key in self.existing_tags:
                continue
            try:
                self.client.create_tag(tag)
            except ApiError:
                if key not in self.client.tags():
                    raise
                # created by someone else since the read: it is there, which is what we want
            self.existing_tags[key] = {'TagName': tag}

    def tag_devices(self, devices):
        if not devices:
            return
        self.ensure_tags()
        names = self.goal.names
        if self.send(devices, self.client.assign_tags, names, sorted(d.rot for d in devices)):
            for device in devices:
                device.actions.append(tag_action(names))
                device.tags = self.goal.tagged(device.tags)

    def set_device_features(self, devices):
        if not devices:
            return
        if self.send(devices, self.client.set_provisioning, sorted(d.rot for d in devices), self.goal.auths, self.goal.heartbeat):
            for device in devices:
                device.actions.append(FEATURES_SET)
                device.features = self.goal.featured(device.features)

    # 5. wait for devices to bootstrap -----------------------------------------------------------

    def follow(self):
        """Read the waiting devices until they have bootstrapped or wait_timeout is over; move on each one that did."""
        progress = Progress.current(len(self.devices))

        def all_there():
            waiting = [d for d in self.devices if d.rot and not d.bootstrapped and not d.failure]
            if waiting:
                self.read_devices(waiting)
                self.advance([plan_device(d, self.goal) for d in waiting if d.bootstrapped])
            left = [d for d in self.devices if d.rot and not d.bootstrapped and not d.failure]
            progress.set(done=len(self.devices) - len(left), waiting=len(left), failed=sum(1 for d in self.devices if d.failure),
                         stage='waiting for devices to bootstrap')
            return not left

        if self.params['wait_timeout'] > 0:
            poll_until(all_there, self.params['wait_timeout'], self.params['wait_interval'],
                       first=min(FIRST_POLL, self.params['wait_interval']))

    # 6. report --------------------------------------------------------------------------------

    def outcomes(self, results):
        rots = dict((device.item, device.rot) for device in self.devices)
        for result in results:
            result.pop('action', None)  # ``actions`` says what was done
            result['failed'] = bool(result.get('failed') or 'msg' in result)  # a device that needs a person has a msg
            outcome_phase(result, result.get('phase'))
        # the devices still to bootstrap, as ``devices`` items for a later task (only the ROTPublicUID: they are whitelisted)
        self.extra['waiting_devices'] = [dict(rot_public_uid=rots[r['item']]) for r in results if r['phase'] == WAITING_FOR_BOOTSTRAP]
        if self.profile is not None:
            plan = self.profile
            self.extra.update(device_profile=plan.result, changed=plan.changes,
                              diff={plan.item: dict(before=plan.before, after=plan.after)} if plan.changes else {})
        return results


def main():
    run_module(Onboarding, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               device_profile_uid=dict(type='str'),
               tags=dict(type='list', elements='str', default=[]),
               tag_device_profile=dict(type='bool', default=False),
               authorizations=dict(type='dict', options=AUTH_SPEC),
               security_heartbeat=dict(type='int'),
               wait_timeout=dict(type='int', default=0),
               wait_interval=dict(type='float', default=10.0))


if __name__ == '__main__':
    main()
