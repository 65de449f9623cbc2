# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner of ublox_device (u-blox onboarding), with data alone: what each device needs (whitelist, tags, features),
what its device profile needs, and the phase each device is in.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import (
    BOOTSTRAPPED, FEATURES_APPLIED, FEATURES_PENDING, NEEDS_ATTENTION, TAGGED, WAITING_FOR_BOOTSTRAP, WHITELISTED)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import (
    effective_features, features_differ, normalize_imei, normalize_rot, provisioning_view, tag_key)

ONBOARD = 'onboard'      # the plan of a device that gets a write: whitelisted, tagged or features set
UPDATE = 'update'        # the plan of the device profile that gets a write
INFO = ('CORE', 'PROVISIONING')
FEATURES_SET = 'features set (applied at the next heartbeat)'
ALLOCATED = 'it bootstrapped before it was on the whitelist, so u-blox gave it no feature authorizations (ALLOCATED)'
ALLOCATED_REMEDY = ('It is on the whitelist now, but u-blox only activates a device when it bootstraps on the whitelist. Have the '
                    'device bootstrap again (a factory reset of the module, see its u-blox documentation), then run the job again.')


class Device:
    """What the module knows about one device, and (in a real run) what was done for it."""

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


def validate_device(device):
    """One ``devices`` item: an identity, each well formed (normalised in place)."""
    if not device.rot and not device.imei:
        raise ConfigError('give rot_public_uid or imei (or both)')
    if device.rot:
        device.rot = normalize_rot(device.rot, 'rot_public_uid')
    if device.imei:
        device.imei = normalize_imei(device.imei, 'imei')


class Goal:
    """What the task asks of every device: ``tags`` (as given, sorted by key), ``names`` (the same tags as u-blox spells
    the ones it has), and the features (``auths``, ``heartbeat``)."""

    def __init__(self, tags, auths, heartbeat, names=None):
        self.tags = list(tags)
        self.names = list(self.tags if names is None else names)
        self.auths = auths
        self.heartbeat = heartbeat

    @property
    def features(self):
        return bool(self.auths) or self.heartbeat is not None

    def lacks_tags(self, tags):
        return any(tag_key(tag) not in tags for tag in self.tags)

    def lacks_features(self, features):
        return self.features and features_differ(features, self.auths, self.heartbeat)

    def featured(self, features):
        """``features`` once the requested ones are set."""
        return effective_features(dict(authorizations=self.auths, security_heartbeat=self.heartbeat), features)

    def tagged(self, tags):
        """``tags`` (keys) once the task's tags are assigned."""
        return set(tags) | set(tag_key(name) for name in self.names)


def whitelist_action(entries):
    return 'whitelisted by %s' % ' and '.join(kind for kind, dummy in sorted(entries))


def tag_action(names):
    return 'tagged %s' % ', '.join(names)


def view(goal, listed, bootstrapped, tags, features):
    """The managed fields of a device for --diff."""
    result = dict(whitelisted=sorted(kind for kind, dummy in listed), bootstrapped=bootstrapped)
    if goal.tags:
        result['tags'] = sorted(tag for tag in goal.tags if tag_key(tag) in tags)
    if goal.features and features is not None:
        result['features'] = features
    return result


def device_view(device, goal):
    return view(goal, device.listed, device.bootstrapped, device.tags, device.features)


def phase(device, goal, failure):
    if failure:
        return NEEDS_ATTENTION
    if not device.rot:
        return WHITELISTED
    if not device.bootstrapped:
        return WAITING_FOR_BOOTSTRAP
    if goal.features:
        return FEATURES_PENDING if features_differ(device.applied, goal.auths, goal.heartbeat) else FEATURES_APPLIED
    return TAGGED if goal.tags else BOOTSTRAPPED


def report(device, goal, actions, failure=None, remedy=None):
    """A device's outcome fields besides changed and failed; ``msg`` (and ``remedy``) when it needs a person."""
    result = dict(actions=list(actions), bootstrapped=device.bootstrapped if device.rot else None)
    if device.bootstrapped:
        result['state'] = device.state
    if failure:
        result['msg'] = failure
        if remedy:
            result['remedy'] = remedy
    result['phase'] = phase(device, goal, failure)
    return result


def plan_device(device, goal):
    """What one device needs, from what was read: the whitelist entries it lacks, and once it has bootstrapped ACTIVATED,
    the task's tags and features. A device that bootstrapped ALLOCATED needs a person. No request."""
    entries = device.wanted_entries() - device.listed
    failure = ALLOCATED if device.state == 'ALLOCATED' else None
    tag = device.bootstrapped and not failure and goal.lacks_tags(device.tags)
    features = bool(device.bootstrapped and not failure and goal.lacks_features(device.features))
    actions = [whitelist_action(entries)] if entries else []
    actions += [tag_action(goal.names)] if tag else []
    actions += [FEATURES_SET] if features else []
    after = view(goal, device.listed | device.wanted_entries(), device.bootstrapped, goal.tagged(device.tags) if tag else device.tags,
                 goal.featured(device.features) if features else device.features)
    return Plan(device.item, ONBOARD if actions else NO_CHANGE, before=device_view(device, goal), after=after,
                result=report(device, goal, actions, failure, ALLOCATED_REMEDY if failure else None),
                device=device, entries=entries, tag=tag, features=features, failure=failure)


def plan_profile(uid, desired, tags, goal, tag_profile):
    """What device profile ``uid`` needs: its bootstrap provisioning (``desired``, a provisioning_view) set to the task's
    features, and (``tag_profile``) the task's tags besides its ``tags`` (keys). No request."""
    features = bool(goal.lacks_features(desired))
    tag = bool(tag_profile and goal.lacks_tags(tags))
    after = dict(bootstrap_provisioning=goal.featured(desired) if features else desired, tags=sorted(goal.tagged(tags) if tag else tags))
    result = dict(uid=uid, bootstrap_provisioning_set=features, tagged=list(goal.names) if tag else [])
    return Plan('device profile %s' % uid, UPDATE if features or tag else NO_CHANGE, before=dict(bootstrap_provisioning=desired, tags=sorted(tags)),
                after=after, result=result, features=features, tag=tag)


def check_profile_needed(devices, goal, uid):
    """Before any write: features for devices that have not bootstrapped can only go through their device profile."""
    waiting = [device.item for device in devices if not device.bootstrapped]
    if waiting and goal.features and uid is None:
        raise ConfigError('device_profile_uid is required: %d device(s) have not bootstrapped yet (%s%s), and u-blox gives '
                          'features to such devices only through the bootstrap provisioning of their device profile'
                          % (len(waiting), ', '.join(waiting[:5]), ', ...' if len(waiting) > 5 else ''))
