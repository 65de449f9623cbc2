"""u-blox Security Services (/ublox/v1): every call is POST + JSON (seed 002, api §A).

The vendor is built from one object per area, each given the store (and the areas it calls) explicitly:
``auth`` (authenticate, refresh), ``ztp`` (Root CAs, device certificate actions), ``tags``, ``devices`` (devices,
whitelist, provisioning, device profiles), ``webhooks`` (notification webhooks and their deliveries) and ``fleet``
(the simulated modules: seeds, bootstrap at their online time, heartbeats).
"""

import functools

from starlette.routing import Route

from ..base import Vendor
from .api import error_response
from .auth import Auth
from .devices import INFO_OPTIONS, Devices
from .fleet import Fleet
from .store import UbloxStore
from .tags import Tags
from .webhooks import Notifications
from .ztp import Ztp

PREFIX = 'ublox'


class Ublox(Vendor):
    """One Thingstream domain behind the u-blox API."""

    name = 'ublox'

    def __init__(self, state):
        super().__init__(state)
        self.store = UbloxStore(state)
        self.auth = Auth(self.store)
        self.tagging = Tags(self.store, self.auth)
        self.ztp = Ztp(self.store, self.auth)
        self.notifications = Notifications(self.store, self.auth)
        self.devices = Devices(self.store, self.auth, self.tagging)
        self.fleet = Fleet(self.store, self.notifications)
        self.parts = (self.auth, self.tagging, self.ztp, self.devices, self.notifications, self.fleet)
        self.auth_routes = frozenset({('POST', '/v1/authenticate'), ('POST', '/v1/refreshauthtoken')})
        routes = self.auth.routes() + self.ztp.routes() + self.tagging.routes() + self.devices.routes() + self.notifications.routes()
        self.mounts = {PREFIX: [Route('/v1' + path, self.after_due_bootstraps(handler), methods=['POST']) for path, handler in routes]}

    def reset(self):
        self.auth.reset()
        self.store.reset()
        self.notifications.reset()

    def dump(self):
        store, waiting_for = self.store, self.state.online.waiting_for
        return {
            'tags': [tag.dump() for tag in store.tags.values()],
            'authTokens': len(self.auth.auth_tokens),
            'refreshTokens': len(self.auth.refresh_tokens),
            'rootCAs': [dict(self.ztp.ca_public(ca), RevokedSerialNumbers=sorted(ca.revoked)) for ca in store.cas.values()],
            'deviceProfiles': [dict(profile.public(store.profile_tags(profile.uid)),
                                    BootstrapProvisioning=profile.bootstrap.public()) for profile in store.profiles.values()],
            'devices': [self.devices.device_public(device, INFO_OPTIONS) for device in store.sorted_devices()],
            'whitelist': [self.devices.whitelist_entry(entry) for entry in store.whitelist.items()],
            'manufactured': [dict(self.fleet.manufactured_view(device), onlineAt=store.online.get(rot), waitingFor=waiting_for(self.name, rot))
                             for rot, device in sorted(store.manufactured.items())],
            'rebootstraps': [{'ROTPublicUID': rot, 'onlineAt': at, 'waitingFor': waiting_for(self.name, rot)}
                             for rot, at in sorted(store.online.items()) if rot in store.devices],
            'webhooks': self.notifications.webhooks.dump(),
        }

    def error_response(self, status, message, prefix=None):
        return error_response(status, message)

    def category(self, method, template):
        # Every u-blox call is a POST; the ones ending in /get only read.
        if (method, template) in self.auth_routes:
            return 'auth'
        if method in ('GET', 'HEAD', 'OPTIONS') or template.endswith('/get'):
            return 'read'
        return 'write'

    # the devices' own timeline is the fleet's

    async def catch_up(self):
        await self.fleet.catch_up()

    def online_problems(self, rots, rebootstrap):
        return self.fleet.online_problems(rots, rebootstrap)

    def set_online(self, times):
        self.fleet.set_online(times)

    def event_times(self, rots):
        return self.fleet.event_times(rots)

    def after_due_bootstraps(self, handler):
        """A route endpoint that lets due devices bootstrap before ``handler`` answers."""
        @functools.wraps(handler)
        async def endpoint(request):
            await self.fleet.catch_up()
            return await handler(request)
        return endpoint
