"""The nRF Cloud vendor: the device API host (/nrfcloud/v1) and the Provisioning Service host (/nrfcloud-provisioning/v1)
built from parts that share one ``NrfCore`` (teams, modems, simulator settings, auth, paging)."""

from ...common import json_response
from ..base import Vendor
from .core import REASONS, NrfCore
from .devices import DeviceApi
from .provisioning import ProvisioningService

PREFIX = 'nrfcloud'
PROVISIONING_PREFIX = 'nrfcloud-provisioning'


class NrfCloud(Vendor):
    """Both nRF Cloud hosts share the team state, as they do in the real service."""

    name = 'nrfcloud'

    def __init__(self, state):
        super().__init__(state)
        self.core = NrfCore(state)
        self.devices = DeviceApi(self.core)
        self.provisioning = ProvisioningService(self.core, self.devices)
        self.parts = (self.devices, self.provisioning)
        self.mounts = {PREFIX: self.devices.routes(), PROVISIONING_PREFIX: self.provisioning.routes()}

    def reset(self):
        self.core.reset()

    def set_simulator_defaults(self, **settings):
        """Simulator timings that also survive a reset (the CLI's --nrf-connect-delay)."""
        return self.core.settings.update(settings, defaults=True)

    async def catch_up(self):
        """Bring every bulk-ops request and claimed device up to the mock clock (devices that came online connect)."""
        now = self.clock.now()
        for team in self.core.teams.values():
            self.devices.settle(team, now)
            self.provisioning.advance_team(team, now)

    def dump(self):
        """The teams as they are; the admin API calls ``catch_up`` first."""
        now = self.clock.now()
        teams = self.core.teams
        owners = {device_id: label for label, team in teams.items() for device_id in team.claimed}
        factory = [{'device_id': device_id, 'imei': modem.imei, 'claimedBy': owners.get(device_id), 'onlineAt': modem.online_at,
                    'waitingFor': self.state.online.waiting_for(self.name, device_id)}
                   for device_id, modem in self.core.modems.items()]
        return {'teams': {label: team.dump(now) for label, team in teams.items()}, 'simulator': dict(self.core.settings.values),
                'factory': factory}

    def error_response(self, status, message, prefix=None):
        return json_response({'code': status * 100, 'message': message or REASONS.get(status, 'Error')}, status)

    # the device timing of POST /_mock/online and the simulator's admin route are the Provisioning Service's

    def online_problems(self, device_ids, rebootstrap):
        return self.provisioning.online_problems(device_ids, rebootstrap)

    def set_online(self, times):
        self.provisioning.set_online(times)

    def event_times(self, device_ids):
        return self.provisioning.event_times(device_ids)

    def admin_routes(self):
        return self.provisioning.admin_routes()
