"""The nRF Cloud vendor: the device API host (/nrfcloud/v1) and the Provisioning Service host (/nrfcloud-provisioning/v1)
built from parts that share one ``NrfCore`` (teams, modems, simulator settings, auth, paging)."""

from ...common import json_response
from ..base import Vendor
from .core import REASONS, NrfCore
from .devices import DeviceApi
from .provisioning import ProvisioningService, is_dry_run
from .rules import ProvisioningRules

PREFIX = 'nrfcloud'
PROVISIONING_PREFIX = 'nrfcloud-provisioning'


class NrfCloud(Vendor):
    """Both nRF Cloud hosts share the team state, as they do in the real service."""

    name = 'nrfcloud'
    core_class = NrfCore

    def __init__(self, state):
        super().__init__(state)
        self.devices = DeviceApi(self.core)
        self.provisioning = ProvisioningService(self.core, self.devices)
        # provisioning rules and tags: a device claimed with a tag of an active rule gets the rule's commands
        self.rules = ProvisioningRules(self.core)
        self.provisioning.on_claim.append(self.rules.apply_rules)
        self.parts = (self.devices, self.provisioning, self.rules)
        # the Provisioning Service runs the devices' timeline (claims, online times, commands) and has the admin route
        self.timeline = self.provisioning
        self.mounts = {PREFIX: self.devices.routes(), PROVISIONING_PREFIX: self.provisioning.routes() + self.rules.routes()}

    def set_simulator_defaults(self, **settings):
        """Simulator timings that also survive a reset (the CLI's --nrf-connect-delay)."""
        return self.core.settings.update(settings, defaults=True)

    def dump(self):
        """The teams as they are; the admin API calls ``catch_up`` first."""
        now = self.clock.now()
        teams = self.core.teams
        owners = {device_id: label for label, team in teams.items() for device_id in team.claimed}
        factory = [{'device_id': device_id, 'imei': modem.imei, 'claimedBy': owners.get(device_id), 'onlineAt': modem.online_at,
                    'waitingFor': self.state.online.waiting_for(self.name, device_id)}
                   for device_id, modem in self.core.modems.items()]
        return {'teams': {label: team.dump(now) for label, team in teams.items()}, 'simulator': dict(self.core.settings.values),
                'factory': factory, 'provisioningRules': self.rules.dump()}

    def query_variant(self, method, key, category, query):
        # the claim dry run stores nothing: a read, counted apart from the claims (api/nrfcloud.md §2.1)
        if method == 'POST' and key.endswith(' /v1/claimed-devices') and is_dry_run(query):
            return key + '?dryrun=true', 'read'
        return key, category

    def error_response(self, status, message, prefix=None):
        return json_response({'code': status * 100, 'message': message or REASONS.get(status, 'Error')}, status)

    def admin_routes(self):
        return self.provisioning.admin_routes()
