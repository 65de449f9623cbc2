"""u-blox E2E key rotation policy: POST /e2e/key/rotate (seed 002 "Service APIs"). The data-plane /e2e/.../get calls
are not served.

The policy is the device's, kept on it (``Device.e2e_key_rotation``); seed 002 has no read of it, so the mock shows it in /device/info/get
PROVISIONING as ``E2EKeyRotation: {Type, Days, ModifiedDate}`` (mock assumption), where ublox_e2e_key_rotation reads it.
"Days" applies to AUTOMATIC only (default 7). When the rotation period is shorter than the device's security heartbeat,
the heartbeat is adjusted to the period: a desired SecurityHeartbeatInSec that the device takes at its next heartbeat.
"""

from ...common import json_response, utc_iso
from .api import bad, int_field
from .models import DAY

ROTATION_TYPES = ('CONTINUOUS', 'AUTOMATIC')
DAYS = (1, 30)
DEFAULT_DAYS = 7


def plural_days(days):
    return '%d day%s' % (days, '' if days == 1 else 's')


class KeyRotation:
    """/e2e/key/rotate; the policies live on the devices in the store."""

    def __init__(self, store, auth, devices):
        self.store = store
        self.auth = auth
        self.devices = devices      # selects the devices a request names (ROTPublicUIDs, TagNames)

    def routes(self):
        return [('/e2e/key/rotate', self.rotate)]

    async def rotate(self, request):
        data = await self.auth.authed_body(request)
        kind = data.get('Type')
        if kind not in ROTATION_TYPES:
            raise bad('Type must be CONTINUOUS or AUTOMATIC')
        days = int_field(data, 'Days', DAYS, required=False)
        devices = self.devices.selected(data)
        now = self.store.now()
        if kind == 'CONTINUOUS':
            for device in devices:
                device.e2e_key_rotation = {'Type': kind, 'ModifiedDate': utc_iso(now)}
            return json_response({'Message': 'The continuous rotation has been set. The key will be rotated every time E2E APIs are called.'})
        days = days or DEFAULT_DAYS
        adjusted = [device for device in devices if self.set_automatic(device, days, now)]
        message = 'The automatic rotation has been set. The key will be rotated every %s.' % plural_days(days)
        if adjusted:
            message += ' The Security heartbeat has been adjusted to %s.' % plural_days(days)
        return json_response({'Message': message})

    @staticmethod
    def set_automatic(device, days, now):
        """Set the policy; True when the device's heartbeat (desired, else current) was longer than the period and is adjusted."""
        device.e2e_key_rotation = {'Type': 'AUTOMATIC', 'Days': days, 'ModifiedDate': utc_iso(now)}
        desired = device.desired.network.get('SecurityHeartbeatInSec')
        heartbeat = desired[0] if desired else device.current_network.get('SecurityHeartbeatInSec')
        if heartbeat is None or heartbeat <= days * DAY:
            return False
        device.desired.merge({}, {'SecurityHeartbeatInSec': days * DAY}, now)
        return True
