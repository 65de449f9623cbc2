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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec, run
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import (
    BOOTSTRAPPED, FEATURES_APPLIED, FEATURES_PENDING, NEEDS_ATTENTION, TAGGED, WAITING_FOR_BOOTSTRAP, WHITELISTED, outcome_phase)
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.module_utils._progress import Progress
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, exit_batch, require_unique, validate_concurrency, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    ARGSPEC,
    AUTHORIZATIONS,
    check_profile_uid,
    effective_features,
    features_differ,
    normalize_imei,
    normalize_rot,
    provisioning_view,
    requested_features,
    tag_key,
    tag_name_problem,
    ublox_client,
)

DEVICE_SPEC = dict(rot_public_uid=dict(type='str'), imei=dict(type='str'))
AUTH_SPEC = {option: dict(type='bool') for option in AUTHORIZATIONS}
INFO = ('CORE', 'PROVISIONING')
FIRST_POLL = 1.0
ALLOCATED_REMEDY = ('It is on the whitelist now, but u-blox only activates a device when it bootstraps on the whitelist. Have the '
                    'device bootstrap again (a factory reset of the module, see its u-blox documentation), then run the job again.')


class Device:
    """What the module knows and decides about one device."""

    def __init__(self, spec):
        self.rot = spec.get('rot_public_uid')
        self.imei = spec.get('imei')
        self.listed = set()      # whitelist entries it has: ('ROTPublicUID', rot), ('IMEI', imei)
        self.info = None         # its /device/info/get record once it has bootstrapped
        self.tags = set()        # tag keys it carries
        self.features = None     # effective features {authorizations, security_heartbeat}
        self.applied = None      # current (applied) features
        self.actions = []
        self.failure = None
        self.remedy = None
        self.before = None

    @property
    def item(self):
        return self.rot or self.imei

    @property
    def bootstrapped(self):
        return self.info is not None

    @property
    def state(self):
        return ((self.info or {}).get('Core') or {}).get('State')

    def wanted_entries(self):
        return set(entry for entry in (('ROTPublicUID', self.rot), ('IMEI', self.imei)) if entry[1])

    def take_info(self, record):
        self.info = record
        core = record.get('Core') or {}
        self.tags = set(tag_key(name) for name in core.get('TagNames') or [])
        provisioning = record.get('Provisioning') or {}
        self.applied = provisioning_view(provisioning.get('CurrentProperties'))
        self.features = effective_features(provisioning_view(provisioning.get('DesiredProperties')), self.applied)


class Onboarding:
    """Validate, read, plan and write for the whole list; follow the devices that bootstrap during the run."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.devices = [Device(spec) for spec in self.params['devices']]
        self.auths, self.heartbeat = requested_features(self.params['authorizations'], self.params['security_heartbeat'])
        self.tags = []
        self.client = None
        self.existing_tags = {}
        self.profile = None      # {'uid', 'desired', 'tags'} when device_profile_uid is given
        self.profile_before = None

    # 1. validate ------------------------------------------------------------------------------

    def validate(self):
        params = self.params
        validate_concurrency(params)
        if not self.devices:
            raise ConfigError('devices is empty; give at least one device')
        validate_items(self.devices, 'devices', self._validate_device, label=lambda d: d.item)
        require_unique(self.devices, 'devices', lambda d: d.rot or None)
        require_unique(self.devices, 'devices', lambda d: d.imei or None)
        problems = [problem for problem in (tag_name_problem(tag) for tag in params['tags']) if problem]
        if problems:
            raise ConfigError('tags: %s' % '; '.join(problems))
        self.tags = sorted(set(params['tags']), key=tag_key)
        if params['device_profile_uid'] is not None:
            params['device_profile_uid'] = check_profile_uid(params['device_profile_uid'], 'device_profile_uid')
        if params['tag_device_profile'] and (params['device_profile_uid'] is None or not self.tags):
            raise ConfigError('tag_device_profile needs device_profile_uid and tags')
        if self.heartbeat is not None and self.heartbeat < 1:
            raise ConfigError('security_heartbeat is %d; it is an interval in seconds and must be at least 1' % self.heartbeat)
        if params['wait_timeout'] < 0:
            raise ConfigError('wait_timeout must be 0 or more seconds, got %s' % params['wait_timeout'])
        if params['wait_interval'] <= 0:
            raise ConfigError('wait_interval must be greater than 0, got %s' % params['wait_interval'])

    @staticmethod
    def _validate_device(device):
        if not device.rot and not device.imei:
            raise ConfigError('give rot_public_uid or imei (or both)')
        if device.rot:
            device.rot = normalize_rot(device.rot, 'rot_public_uid')
        if device.imei:
            device.imei = normalize_imei(device.imei, 'imei')

    # 2. read ----------------------------------------------------------------------------------

    def read(self):
        self.client = ublox_client(self.module, concurrency=self.params['concurrency'])
        listed = self.client.whitelist_entries()
        for device in self.devices:
            device.listed = device.wanted_entries() & listed
        self.read_devices([d for d in self.devices if d.rot])
        if self.tags:
            self.existing_tags = self.client.tags()
        uid = self.params['device_profile_uid']
        if uid is not None and (self.auths or self.heartbeat is not None or self.params['tag_device_profile']):
            self.profile = dict(uid=uid, desired=self.client.bootstrap_provisioning(uid), tags=set())
            if self.params['tag_device_profile'] and any(tag_key(t) in self.existing_tags for t in self.tags):
                named = [self.existing_tags[tag_key(t)]['TagName'] for t in self.tags if tag_key(t) in self.existing_tags]
                self.profile['tags'] = set(tag_key(t) for t in named if uid in self.client.profiles_with_tags([t]))

    def read_devices(self, devices):
        """Device info (CORE, PROVISIONING) of ``devices``; those u-blox does not know have not bootstrapped."""
        records = self.client.device_info([d.rot for d in devices], options=INFO, concurrency=self.params['concurrency'])
        for device in devices:
            if device.rot in records:
                device.take_info(records[device.rot])

    # 3. plan ----------------------------------------------------------------------------------

    def check_profile_needed(self):
        """Before any write: features for devices that have not bootstrapped can only go through their device profile."""
        waiting = [d.item for d in self.devices if not d.bootstrapped]
        if waiting and (self.auths or self.heartbeat is not None) and self.params['device_profile_uid'] is None:
            raise ConfigError('device_profile_uid is required: %d device(s) have not bootstrapped yet (%s%s), and u-blox gives '
                              'features to such devices only through the bootstrap provisioning of their device profile'
                              % (len(waiting), ', '.join(waiting[:5]), ', ...' if len(waiting) > 5 else ''))

    def needs_tags(self, device):
        return device.bootstrapped and not device.failure and any(tag_key(t) not in device.tags for t in self.tags)

    def needs_features(self, device):
        if not (self.auths or self.heartbeat is not None) or not device.bootstrapped or device.failure:
            return False
        return features_differ(device.features, self.auths, self.heartbeat)

    def profile_needs_features(self):
        return (self.profile is not None and (self.auths or self.heartbeat is not None)
                and features_differ(self.profile['desired'], self.auths, self.heartbeat))

    def profile_needs_tags(self):
        return self.profile is not None and self.params['tag_device_profile'] and any(tag_key(t) not in self.profile['tags'] for t in self.tags)

    # 4. write ---------------------------------------------------------------------------------

    def write_all(self):
        """Device profile, whitelist, then the bootstrapped devices; one call per kind of change.

        The profile comes first: a device may bootstrap the moment it is on the whitelist, and it takes the features its
        profile has then."""
        if self.profile_needs_features():
            self.set_profile_features()
        if self.profile_needs_tags():
            self.tag_profile()
        self.whitelist([d for d in self.devices if d.wanted_entries() - d.listed])
        self.advance_bootstrapped([d for d in self.devices if d.bootstrapped])

    def advance_bootstrapped(self, devices):
        for device in devices:
            if device.state == 'ALLOCATED' and not device.failure:
                device.failure = 'it bootstrapped before it was on the whitelist, so u-blox gave it no feature authorizations (ALLOCATED)'
                device.remedy = ALLOCATED_REMEDY
        self.tag_devices([d for d in devices if self.needs_tags(d)])
        self.set_device_features([d for d in devices if self.needs_features(d)])

    def write(self, call, *args):
        """One write, ``call(*args)`` (a client method); in check mode nothing is sent, and the run goes on as if it had been."""
        if not self.check_mode:
            call(*args)

    def send(self, devices, action, call, *args):
        """One write for ``devices``; a refusal fails those devices with u-blox's own words. ``action(device)`` says what
        was done for a device. True when it was sent (or would be, in check mode)."""
        try:
            self.write(call, *args)
        except IotopsError as exc:
            message = self.client.http.redact(exc.msg)
            for device in devices:
                device.failure = device.failure or message
            return False
        for device in devices:
            device.actions.append(action(device))
        return True

    def whitelist(self, devices):
        entries = set()
        for device in devices:
            entries |= device.wanted_entries() - device.listed
        if not entries:
            return
        rots = sorted(value for kind, value in entries if kind == 'ROTPublicUID')
        imeis = sorted(value for kind, value in entries if kind == 'IMEI')

        def action(device):
            return 'whitelisted by %s' % ' and '.join(kind for kind, dummy in sorted(device.wanted_entries() - device.listed))
        if self.send(devices, action, self.client.whitelist_add, rots, imeis):
            for device in devices:
                device.listed |= device.wanted_entries()

    def set_profile_features(self):
        self.write(self.client.set_bootstrap_provisioning, self.profile['uid'], self.auths, self.heartbeat)
        self.profile['features_set'] = True
        self.profile['desired'] = effective_features(dict(authorizations=self.auths, security_heartbeat=self.heartbeat),
                                                     self.profile['desired'])

    def ensure_tags(self):
        """Create the tags that do not exist yet (once); a tag another run created meanwhile is taken as it is."""
        for tag in self.tags:
            key = tag_key(tag)
            if key in self.existing_tags:
                continue
            try:
                self.write(self.client.create_tag, tag)
            except ApiError:
                if key not in self.client.tags():
                    raise
                # created by someone else since the read: it is there, which is what we want
            self.existing_tags[key] = {'TagName': tag}

    def tag_profile(self):
        uid = self.profile['uid']
        self.ensure_tags()
        names = [self.existing_tags[tag_key(t)]['TagName'] for t in self.tags]
        self.write(self.client.assign_tags, names, (), [uid])
        self.profile['tagged'] = names
        self.profile['tags'] |= set(tag_key(t) for t in names)

    def tag_devices(self, devices):
        if not devices:
            return
        self.ensure_tags()
        names = [self.existing_tags[tag_key(t)]['TagName'] for t in self.tags]
        rots = sorted(d.rot for d in devices)
        if self.send(devices, lambda device: 'tagged %s' % ', '.join(names), self.client.assign_tags, names, rots):
            for device in devices:
                device.tags |= set(tag_key(n) for n in names)

    def set_device_features(self, devices):
        if not devices:
            return
        rots = sorted(d.rot for d in devices)
        if self.send(devices, lambda device: 'features set (applied at the next heartbeat)', self.client.set_provisioning, rots, self.auths,
                     self.heartbeat):
            for device in devices:
                device.features = effective_features(dict(authorizations=self.auths, security_heartbeat=self.heartbeat), device.features)

    # 5. wait for devices to bootstrap -----------------------------------------------------------

    def follow(self):
        """Read the waiting devices until they have bootstrapped or wait_timeout is over; move on each one that did."""
        progress = Progress.current(len(self.devices))

        def all_there():
            waiting = [d for d in self.devices if d.rot and not d.bootstrapped and not d.failure]
            if waiting:
                self.read_devices(waiting)
                self.advance_bootstrapped([d for d in waiting if d.bootstrapped])
            left = [d for d in self.devices if d.rot and not d.bootstrapped and not d.failure]
            progress.set(done=len(self.devices) - len(left), waiting=len(left), failed=sum(1 for d in self.devices if d.failure),
                         stage='waiting for devices to bootstrap')
            return not left

        if self.params['wait_timeout'] > 0 and not self.check_mode:
            poll_until(all_there, self.params['wait_timeout'], self.params['wait_interval'],
                       first=min(FIRST_POLL, self.params['wait_interval']))

    # 6. report --------------------------------------------------------------------------------

    def phase(self, device):
        if device.failure:
            return NEEDS_ATTENTION
        if not device.rot:
            return WHITELISTED
        if not device.bootstrapped:
            return WAITING_FOR_BOOTSTRAP
        if self.auths or self.heartbeat is not None:
            return FEATURES_PENDING if features_differ(device.applied, self.auths, self.heartbeat) else FEATURES_APPLIED
        return TAGGED if self.tags else BOOTSTRAPPED

    def view(self, device):
        """The managed fields of a device for --diff."""
        view = dict(whitelisted=sorted(kind for kind, dummy in device.listed), bootstrapped=device.bootstrapped)
        if self.tags:
            view['tags'] = sorted(t for t in self.tags if tag_key(t) in device.tags)
        if (self.auths or self.heartbeat is not None) and device.features is not None:
            view['features'] = device.features
        return view

    def outcome(self, device):
        result = dict(item=device.item, changed=bool(device.actions), failed=bool(device.failure), actions=device.actions,
                      bootstrapped=device.bootstrapped if device.rot else None)
        if device.bootstrapped:
            result['state'] = device.state
        if device.failure:
            result['msg'] = device.failure
            if device.remedy:
                result['remedy'] = device.remedy
        if device.actions:
            result['diff'] = dict(before=device.before, after=self.view(device))
        return outcome_phase(result, self.phase(device))

    def run(self):
        self.validate()
        self.read()
        self.check_profile_needed()
        for device in self.devices:
            device.before = self.view(device)
        if self.profile is not None:
            self.profile_before = self.profile_view()
        self.write_all()
        self.follow()
        results = [self.outcome(device) for device in self.devices]
        # the devices still to bootstrap, as ``devices`` items for a later task (only the ROTPublicUID: they are whitelisted)
        waiting = [dict(rot_public_uid=d.rot) for d, r in zip(self.devices, results) if r['phase'] == WAITING_FOR_BOOTSTRAP]
        if self.profile is None:
            exit_batch(self.module, results, noun='devices', waiting_devices=waiting)
            return
        profile = dict(uid=self.profile['uid'], bootstrap_provisioning_set=bool(self.profile.get('features_set')),
                       tagged=self.profile.get('tagged', []))
        changed = profile['bootstrap_provisioning_set'] or bool(profile['tagged'])
        diff = {}
        if changed:
            diff['device profile %s' % profile['uid']] = dict(before=self.profile_before, after=self.profile_view())
        exit_batch(self.module, results, noun='devices', changed=changed, diff=diff, device_profile=profile, waiting_devices=waiting)

    def profile_view(self):
        return dict(bootstrap_provisioning=self.profile['desired'], tags=sorted(self.profile['tags']))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            ARGSPEC, **BATCH_ARGSPEC,
            devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
            device_profile_uid=dict(type='str'),
            tags=dict(type='list', elements='str', default=[]),
            tag_device_profile=dict(type='bool', default=False),
            authorizations=dict(type='dict', options=AUTH_SPEC),
            security_heartbeat=dict(type='int'),
            wait_timeout=dict(type='int', default=0),
            wait_interval=dict(type='float', default=10.0),
        ),
        supports_check_mode=True,
    )
    run(module, Onboarding(module).run)


if __name__ == '__main__':
    main()
