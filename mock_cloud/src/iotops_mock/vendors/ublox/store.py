"""The state every u-blox area works on: Root CAs, devices, profiles, tags, whitelist, factory-fresh modules and their
online times. The areas (auth, ztp, tags, devices, fleet, webhooks) are given this store; they keep no state of their own
except their area's (tokens, webhook registrations)."""

from ..base import OnState


class UbloxStore(OnState):
    """One Thingstream domain."""

    def __init__(self, state):
        super().__init__(state)
        self.reset()

    def reset(self):
        self.tags = {}
        self.cas = {}
        self.devices = {}
        self.profiles = {}
        self.whitelist = {}
        self.manufactured = {}     # ROTPublicUID -> Device made at the factory that has not bootstrapped
        self.online = {}           # ROTPublicUID -> when it (re)bootstraps (None: never), from POST /_mock/online
        self.next_bootstrap = None
        self.factory_serial = 0

    def sorted_devices(self):
        return [self.devices[rot] for rot in sorted(self.devices)]

    def lookup(self, rots):
        """(devices, unknown ids) for ROTPublicUIDs, compared case-insensitively."""
        devices, unknown, seen = [], [], set()
        for rot in rots:
            device = self.devices.get(rot.lower())
            if device is None:
                unknown.append(rot)
            elif device.rot not in seen:
                seen.add(device.rot)
                devices.append(device)
        return devices, unknown

    def whitelisted(self, device):
        return self.whitelisted_since(device) is not None

    def whitelisted_since(self, device):
        """When the device's ROTPublicUID or IMEI, whichever came first, was put on the whitelist (None: neither is)."""
        keys = (('ROTPublicUID', device.rot), ('IMEI', device.imei))
        return min((self.whitelist[key] for key in keys if key in self.whitelist), default=None)

    def device_tags(self, rot):
        return sorted(tag.name for tag in self.tags.values() if rot in tag.rot_public_uids)

    def profile_tags(self, uid):
        return sorted(tag.name for tag in self.tags.values() if uid in tag.device_profile_uids)

    def now(self):
        return self.clock.now()
