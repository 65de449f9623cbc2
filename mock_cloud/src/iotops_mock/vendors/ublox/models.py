"""u-blox simulated devices and device profiles, and what a security heartbeat does to them.

A device keeps its *current* properties (what is applied) and its *desired* properties (what the
API asked for). Nothing desired takes effect until the device's next security heartbeat, which
tests trigger with ``POST /_mock/seed/ublox/heartbeat`` (seed 002: "Provisioning will happen on
the devices' next security heartbeat"; the certificate actions likewise).
"""

from ...common import utc_iso
from .pki import new_serial

AUTHORIZATIONS = ('LocalDPR', 'LocalC2C', 'LocalC2CKeyPairing', 'ZTPV1')
AUTH_STATES = ('ENABLED', 'DISABLED')
DEFAULT_HEARTBEAT = 86400
CERT_EXPIRY_NOTICES = (60, 30, 7)               # seed 002 DEVICE_CERTIFICATE_EXPIRATION_EVENT
ROOTCA_EXPIRY_NOTICES = (180, 90, 60, 30, 7, 0)  # seed 002 ROOTCA_EXPIRATION_EVENT
DAY = 86400


class ProvisioningError(ValueError):
    """A Provisioning object that breaks the rules; the text goes after "Bad Request. "."""


def parse_provisioning(value):
    """Validate a ``Provisioning`` object: {"Authorizations": [{"Name", "State"}], "NetworkParameters": {"SecurityHeartbeatInSec"}}.

    Returns (authorizations {name: state}, network {name: value}).
    """
    if not isinstance(value, dict):
        raise ProvisioningError('Provisioning is required')
    unknown = set(value) - {'Authorizations', 'NetworkParameters'}
    if unknown:
        raise ProvisioningError('Provisioning has unknown fields: %s' % ', '.join(sorted(unknown)))
    auths = {}
    for item in value.get('Authorizations') or []:
        if not isinstance(item, dict) or item.get('Name') not in AUTHORIZATIONS:
            raise ProvisioningError('Authorizations[].Name must be one of %s' % ', '.join(AUTHORIZATIONS))
        if item.get('State') not in AUTH_STATES:
            raise ProvisioningError('Authorizations[].State must be ENABLED or DISABLED')
        auths[item['Name']] = item['State']
    network = {}
    params = value.get('NetworkParameters') or {}
    if not isinstance(params, dict) or set(params) - {'SecurityHeartbeatInSec'}:
        raise ProvisioningError('NetworkParameters can only hold SecurityHeartbeatInSec')
    if 'SecurityHeartbeatInSec' in params:
        beat = params['SecurityHeartbeatInSec']
        if not isinstance(beat, int) or isinstance(beat, bool) or beat < 1:
            raise ProvisioningError('SecurityHeartbeatInSec must be a positive integer (seconds)')
        network['SecurityHeartbeatInSec'] = beat
    if not auths and not network:
        raise ProvisioningError('Provisioning must set Authorizations or NetworkParameters')
    return auths, network


class Desired:
    """Desired feature authorizations and network parameters, each with the date it was set."""

    def __init__(self):
        self.auths = {}    # name -> (state, modified)
        self.network = {}  # name -> (value, modified)

    def merge(self, auths, network, now):
        for name, state in auths.items():
            self.auths[name] = (state, now)
        for name, value in network.items():
            self.network[name] = (value, now)

    def clear(self):
        self.auths = {}
        self.network = {}

    def __bool__(self):
        return bool(self.auths or self.network)

    def public(self):
        result = {}
        if self.auths:
            result['Authorizations'] = [{'Name': name, 'State': state, 'ModifiedDate': utc_iso(when)}
                                        for name, (state, when) in sorted(self.auths.items())]
        if self.network:
            result['NetworkParameters'] = {name: value for name, (value, dummy) in self.network.items()}
        return result


class Certificate:
    """The device certificate a device holds: issuing Root CA, serial, dates."""

    def __init__(self, ca_name, serial, issued, expires, validity):
        self.ca_name = ca_name
        self.serial = serial
        self.issued = issued
        self.expires = expires
        self.validity = validity


class DeviceProfile:
    """A device profile (made in the Thingstream portal; seeded on the mock), optionally linked to a Root CA."""

    def __init__(self, uid, name, ca_name, created):
        self.uid = uid
        self.name = name
        self.ca_name = ca_name
        self.created = created
        self.bootstrap = Desired()

    def public(self, tags):
        result = {'DeviceProfileUID': self.uid, 'ProfileName': self.name, 'CreatedDate': utc_iso(self.created),
                  'TagNames': tags}
        if self.ca_name:
            result['CAName'] = self.ca_name
        return result


class Device:
    """A device that has bootstrapped with the service."""

    def __init__(self, rot, now, imei=None, device_serial=None, profile_uid=None, type_number='SARA-R510M8S-01B-00',
                 state='ACTIVATED', blacklisted=False):
        self.rot = rot
        self.imei = imei
        self.device_serial = device_serial
        self.profile_uid = profile_uid
        self.type_number = type_number
        try:
            self.rot_serial = str(int(rot[-8:], 16))
        except ValueError:
            self.rot_serial = rot
        self.state = state
        self.blacklisted = blacklisted
        self.bootstrapped = now
        self.last_seen = now
        self.current_auths = {}   # name -> (state, synced)
        self.current_network = {'SecurityHeartbeatInSec': DEFAULT_HEARTBEAT}
        self.desired = Desired()
        self.cert = None
        self.pending = None       # {'Action', 'CAName', 'CertificateValidity', 'Phase', 'ModifiedDate'}
        self.expiry_notified = set()
        self.e2e_key_rotation = None  # {'Type', 'Days' (AUTOMATIC), 'ModifiedDate'}: the /e2e/key/rotate policy (e2e.py)

    # views --------------------------------------------------------------------------------

    def core(self, tags):
        return {
            'IMEI': self.imei, 'DeviceSerialNumber': self.device_serial, 'DeviceProfileUID': self.profile_uid,
            'TypeNumber': self.type_number, 'RotVersion': '1', 'SerialNumber': self.rot_serial, 'Version': '12',
            'State': self.state, 'IsBlacklisted': self.blacklisted, 'BootstrapDate': utc_iso(self.bootstrapped),
            'LastSeen': utc_iso(self.last_seen), 'TagNames': tags,
        }

    def current_properties(self):
        result = {'NetworkParameters': dict(self.current_network)}
        if self.current_auths:
            result['Authorizations'] = [{'Name': name, 'State': state, 'SyncDate': utc_iso(when)}
                                        for name, (state, when) in sorted(self.current_auths.items())]
        return result

    def provisioning(self):
        result = {'DesiredProperties': self.desired.public(), 'CurrentProperties': self.current_properties()}
        if self.e2e_key_rotation is not None:
            # seed 002 has no read of the policy: the mock shows it here (docs/mock-assumptions.md)
            result['E2EKeyRotation'] = dict(self.e2e_key_rotation)
        return result

    def ztp(self, revoked):
        current = {}
        if self.cert is not None:
            current = {'CAName': self.cert.ca_name, 'CertificateSerialNumber': self.cert.serial,
                       'CertificateValidity': self.cert.validity, 'IssuedDate': utc_iso(self.cert.issued),
                       'ExpirationDate': utc_iso(self.cert.expires), 'Revoked': self.cert.serial in revoked}
        desired = {}
        if self.pending is not None:
            desired = {'Action': self.pending['Action'], 'CAName': self.pending['CAName'],
                       'ModifiedDate': utc_iso(self.pending['ModifiedDate'])}
            if self.pending.get('CertificateValidity'):
                desired['CertificateValidity'] = self.pending['CertificateValidity']
        return {'CurrentProperties': current, 'DesiredProperties': desired}

    def bootstrap_payload(self):
        return {'RotVersion': '1', 'SerialNumber': self.rot_serial, 'Version': '12', 'DeviceSerialNumber': self.device_serial,
                'IMEI': self.imei, 'DeviceProfileUID': self.profile_uid, 'TypeNumber': self.type_number,
                'IsBlacklisted': self.blacklisted}

    def update_in_progress(self):
        return self.pending is not None and self.pending['Action'] == 'UPDATE'


def event(event_type, now, payload, rot=None):
    result = {'EventType': event_type, 'Timestamp': utc_iso(now), 'Payload': payload}
    if rot is not None:
        result = dict({'ROTPublicUID': rot}, **result)
    return result


def issue_certificate(device, ca, validity, now):
    """Put a new certificate from ``ca`` on the device; its validity never goes past the Root CA's expiry."""
    validity = validity or ca.device_validity
    expires = min(now + validity * DAY, ca.expires)
    serial = new_serial()
    ca.issued[serial] = device.rot
    device.cert = Certificate(ca.name, serial, now, expires, int(round((expires - now) / DAY)))
    device.expiry_notified = set()
    return event('DEVICE_CERTIFICATE_RENEWAL_EVENT', now, {
        'CertificateAuthorityName': ca.name, 'CertificateSerialNumber': serial,
        'CertificateValidity': device.cert.validity, 'ExpirationDate': utc_iso(expires)}, device.rot)


def heartbeat(device, cas, now, error=None):
    """One security heartbeat of ``device``: apply what is desired, renew, notify. Returns the events."""
    events = []
    device.last_seen = now
    if error:
        # The device failed to act on the server's commands: nothing desired is applied.
        return [event('DEVICE_ERRORS_EVENT', now, {'Error': error}, device.rot)]
    if device.desired:
        before = device.desired.public()
        for name, (state, dummy) in device.desired.auths.items():
            device.current_auths[name] = (state, now)
        for name, (value, dummy) in device.desired.network.items():
            device.current_network[name] = value
        device.desired.clear()
        events.append(event('DEVICE_PROPERTIES_CHANGE_EVENT', now, {
            'DesiredProperties': before, 'CurrentProperties': device.current_properties()}, device.rot))
    pending = device.pending
    if pending is not None:
        action = pending['Action']
        ca = cas.get(pending['CAName'])
        if action == 'DELETE':
            device.cert = None
            device.pending = None
        elif action == 'UPDATE' and pending.get('Phase', 1) == 1:
            # First heartbeat of an update: the old certificate and key pair are removed (seed 002).
            device.cert = None
            pending['Phase'] = 2
        elif ca is None:
            device.pending = None
            events.append(event('DEVICE_ERRORS_EVENT', now, {'Error': 'Root CA %s no longer exists' % pending['CAName']},
                                device.rot))
        else:
            events.append(issue_certificate(device, ca, pending.get('CertificateValidity'), now))
            device.pending = None
    elif device.cert is not None:
        ca = cas.get(device.cert.ca_name)
        # Automatic renewal set by RenewBeforeExpiration on the Root CA (/ztp/rootca/update).
        if ca is not None and ca.renew_before and device.cert.expires - now <= ca.renew_before * DAY:
            events.append(issue_certificate(device, ca, None, now))
    if device.cert is not None:
        days_left = (device.cert.expires - now) / DAY
        for notice in CERT_EXPIRY_NOTICES:
            if days_left <= notice and notice not in device.expiry_notified:
                device.expiry_notified.add(notice)
                if notice == min(n for n in CERT_EXPIRY_NOTICES if days_left <= n):
                    events.append(event('DEVICE_CERTIFICATE_EXPIRATION_EVENT', now, {
                        'CertificateAuthorityName': device.cert.ca_name, 'CertificateSerialNumber': device.cert.serial,
                        'DaysToExpiration': notice, 'ExpirationDate': utc_iso(device.cert.expires)}, device.rot))
    return events


def rootca_expiry_events(cas, devices, now):
    """ROOTCA_EXPIRATION_EVENT for each notice day a Root CA has reached since the last check."""
    events = []
    for ca in cas.values():
        days_left = (ca.expires - now) / DAY
        due = [notice for notice in ROOTCA_EXPIRY_NOTICES if days_left <= notice and notice not in ca.expiry_notified]
        if not due:
            continue
        ca.expiry_notified.update(due)
        count = sum(1 for device in devices.values() if device.cert is not None and device.cert.ca_name == ca.name)
        events.append(event('ROOTCA_EXPIRATION_EVENT', now, {
            'CertificateAuthorityName': ca.name, 'DaysToExpiration': min(due), 'ExpirationDate': utc_iso(ca.expires),
            'ProvisionedDevicesCount': count}))
    return events
