"""u-blox Security Services (/ublox/v1): every call is POST + JSON (seed 002, api §A).

The vendor is built from one object per area, each given the store (and the areas it calls) explicitly:
``auth`` (authenticate, refresh), ``ztp`` (Root CAs, device certificate actions), ``tags``, ``devices`` (devices,
whitelist, provisioning, device profiles), ``webhooks`` (notification webhooks and their deliveries), ``fleet``
(the simulated modules: seeds, bootstrap at their online time, heartbeats), ``security`` (clone, suspicious, activity,
notification and usage reads, from the fleet's events) and ``e2e`` (the E2E key rotation policy).
"""

import functools

from starlette.routing import Route

from ..base import Vendor
from .api import error_response
from .auth import Auth
from .devices import INFO_OPTIONS, Devices
from .e2e import KeyRotation
from .fleet import Fleet
from .security import Security
from .store import UbloxStore
from .tags import Tags
from .webhooks import Notifications
from .ztp import Ztp

PREFIX = 'ublox'


class Ublox(Vendor):
    """One Thingstream domain behind the u-blox API."""

    name = 'ublox'
    core_class = UbloxStore

    def __init__(self, state):
        super().__init__(state)
        self.auth = Auth(self.core)
        self.tagging = Tags(self.core, self.auth)
        self.ztp = Ztp(self.core, self.auth)
        self.notifications = Notifications(self.core, self.auth)
        self.devices = Devices(self.core, self.auth, self.tagging)
        self.security = Security(self.core, self.auth, self.devices)
        self.e2e = KeyRotation(self.core, self.auth, self.devices)
        self.fleet = Fleet(self.core, self.notifications, self.security)
        self.parts = (self.auth, self.tagging, self.ztp, self.devices, self.notifications, self.fleet, self.security, self.e2e)
        self.timeline = self.fleet      # the simulated modules: online times, bootstraps, heartbeats
        self.auth_routes = frozenset({('POST', '/v1/authenticate'), ('POST', '/v1/refreshauthtoken')})
        routes = self.auth.routes() + self.ztp.routes() + self.tagging.routes() + self.devices.routes() + self.notifications.routes()
        routes += self.security.routes() + self.e2e.routes()
        self.mounts = {PREFIX: [Route('/v1' + path, self.after_due_bootstraps(handler), methods=['POST']) for path, handler in routes]}

    def dump(self):
        store, waiting_for = self.core, self.state.online.waiting_for
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
            'security': self.security.dump(),
        }

    def error_response(self, status, message, prefix=None):
        return error_response(status, message)

    def reads(self, method, template):
        # Every u-blox call is a POST; the ones ending in /get only read.
        return super().reads(method, template) or template.endswith('/get')

    def after_due_bootstraps(self, handler):
        """A route endpoint that lets due devices bootstrap before ``handler`` answers."""
        @functools.wraps(handler)
        async def endpoint(request):
            await self.fleet.catch_up()
            return await handler(request)
        return endpoint
