"""u-blox ZTP: Root CAs (/ztp/rootca/create, update, get, delete, crl/get, device/get, popcertificate/generate) and the
device certificate actions (/ztp/devicecertificate/renew, update, delete, revoke, rootca/transfer), which devices carry
out at their next heartbeat (``fleet``)."""

import re

from ...common import json_response, shown, utc_iso
from .api import SUCCESS, bad, fail, not_found, page, str_list, int_field
from .pki import RootCA

CA_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]{1,45}$')    # seed 002: <= 45 chars, letters, digits, _ - .
CA_LIMIT = 15                                         # api §A.6: up to 15 private CAs per Thingstream domain
CA_VALIDITY = (1825, 3650)
DEVICE_VALIDITY = (30, 3650)
RENEW_BEFORE = (1, 365)
REGISTRATION_CODE_MAX = 64                            # it becomes an X.509 CommonName (upper bound 64)


class Ztp:
    """Root CAs and device certificates of the domain."""

    def __init__(self, store, auth):
        self.store = store
        self.auth = auth

    def routes(self):
        return [
            ('/ztp/rootca/create', self.rootca_create),
            ('/ztp/rootca/update', self.rootca_update),
            ('/ztp/rootca/get', self.rootca_get),
            ('/ztp/rootca/delete', self.rootca_delete),
            ('/ztp/rootca/crl/get', self.rootca_crl_get),
            ('/ztp/rootca/device/get', self.rootca_device_get),
            ('/ztp/rootca/popcertificate/generate', self.rootca_pop),
            ('/ztp/devicecertificate/renew', self.cert_renew),
            ('/ztp/devicecertificate/update', self.cert_update),
            ('/ztp/devicecertificate/delete', self.cert_delete),
            ('/ztp/devicecertificate/revoke', self.cert_revoke),
            ('/ztp/devicecertificate/rootca/transfer', self.cert_transfer),
        ]

    @staticmethod
    def ca_public(ca):
        return {'CAName': ca.name, 'CACertificateValidity': ca.ca_validity, 'DeviceCertificateValidity': ca.device_validity,
                'RenewBeforeExpiration': ca.renew_before, 'Certificate': ca.pem, 'CreatedDate': utc_iso(ca.created),
                'ExpirationDate': utc_iso(ca.expires)}

    def ca_named(self, name, field='CAName'):
        ca = self.store.cas.get(name) if isinstance(name, str) else None
        if ca is None:
            raise not_found('%s does not exist' % field)
        return ca

    def check_ca_name(self, name, field='CAName'):
        if not isinstance(name, str) or not CA_NAME_RE.match(name):
            raise bad('%s is required: up to 45 characters, only alphabets, numbers, underscores, dashes and dots' % field)

    async def ca_body(self, request):
        """The body of an authenticated call whose CAName must be well-formed (whether that CA exists is ``ca_named``'s)."""
        data = await self.auth.authed_body(request)
        self.check_ca_name(data.get('CAName'))
        return data

    async def rootca_create(self, request):
        data = await self.auth.authed_body(request)
        name = data.get('CAName')
        self.check_ca_name(name)
        ca_validity = int_field(data, 'CACertificateValidity', CA_VALIDITY)
        device_validity = int_field(data, 'DeviceCertificateValidity', DEVICE_VALIDITY)
        renew_before = int_field(data, 'RenewBeforeExpiration', RENEW_BEFORE, required=False)
        if device_validity > ca_validity:
            raise bad('DeviceCertificateValidity cannot be greater than CACertificateValidity')
        if name in self.store.cas:
            raise bad('CAName already exists')
        if len(self.store.cas) >= CA_LIMIT:
            raise bad('Limit reached: a Thingstream domain can have up to %d Root CAs' % CA_LIMIT)
        ca = RootCA(name, ca_validity, device_validity, renew_before, self.store.now())
        self.store.cas[name] = ca
        body = {'CAName': name, 'CACertificateValidity': ca_validity, 'DeviceCertificateValidity': device_validity,
                'Certificate': ca.pem, 'CreatedDate': utc_iso(ca.created)}
        if renew_before is not None:
            body['RenewBeforeExpiration'] = renew_before
        return json_response(body)

    async def rootca_update(self, request):
        data = await self.ca_body(request)
        renew_before = int_field(data, 'RenewBeforeExpiration', RENEW_BEFORE)
        ca = self.ca_named(data['CAName'])
        ca.renew_before = renew_before
        return json_response(SUCCESS)

    async def rootca_get(self, request):
        data = await self.auth.authed_body(request)
        if data.get('CAName') is not None:
            cas = [self.ca_named(data['CAName'])]
        else:
            cas = list(self.store.cas.values())
        return page(data, cas, 'CAs', self.ca_public)

    async def rootca_delete(self, request):
        data = await self.auth.authed_body(request, ('CAName',))
        ca = self.ca_named(data['CAName'])
        profiles = sorted(profile.uid for profile in self.store.profiles.values() if profile.ca_name == ca.name)
        if profiles:
            raise fail(400, 'Request aborted. This Root CA is linked to device profile(s): %s' % shown(profiles))
        devices = [device.rot for device in self.store.devices.values()
                   if (device.cert is not None and device.cert.ca_name == ca.name)
                   or (device.pending is not None and device.pending['CAName'] == ca.name)]
        if devices:
            raise fail(400, 'Request aborted. This Root CA is set in current or desired properties of %d device(s): %s'
                            % (len(devices), shown(devices)))
        del self.store.cas[ca.name]
        return json_response(SUCCESS)

    async def rootca_crl_get(self, request):
        data = await self.auth.authed_body(request)
        names = str_list(data, 'CANames')
        cas = [self.ca_named(name) for name in names] if names else list(self.store.cas.values())
        now = self.store.now()
        return json_response({'CRLs': [{'CAName': ca.name, 'CRL': ca.crl_pem(now), 'RevokedSerialNumbers': sorted(ca.revoked)}
                                       for ca in cas]})

    async def rootca_device_get(self, request):
        data = await self.auth.authed_body(request, ('CAName',))
        ca = self.ca_named(data['CAName'])
        holders = [device for device in self.store.sorted_devices() if device.cert is not None and device.cert.ca_name == ca.name]

        def render(device):
            return {'ROTPublicUID': device.rot, 'CertificateSerialNumber': device.cert.serial,
                    'ExpirationDate': utc_iso(device.cert.expires), 'Revoked': device.cert.serial in ca.revoked}
        return page(data, holders, 'Devices', render)

    async def rootca_pop(self, request):
        data = await self.auth.authed_body(request, ('CAName', 'RegistrationCode'))
        ca = self.ca_named(data['CAName'])
        code = data['RegistrationCode']
        if len(code) > REGISTRATION_CODE_MAX:
            raise bad('RegistrationCode can only be %d characters long' % REGISTRATION_CODE_MAX)
        return json_response({'CAName': ca.name, 'PoPCertificate': ca.pop_certificate(code, self.store.now())})

    def holders(self, data, ca):
        """Devices named by ROTPublicUIDs and/or SerialNumbers that hold a certificate from ``ca``."""
        rots = str_list(data, 'ROTPublicUIDs')
        serials = str_list(data, 'SerialNumbers')
        if not rots and not serials:
            raise bad('ROTPublicUIDs or SerialNumbers is required')
        found = {}
        invalid = [rot for rot in rots or () if not self.holds(self.store.devices.get(rot.lower()), ca)]
        if invalid:
            raise bad('Invalid ROTPublicUIDs (no device certificate from %s): %s' % (ca.name, shown(invalid)))
        for rot in rots or ():
            found[rot.lower()] = self.store.devices[rot.lower()]
        bad_serials = []
        for serial in serials or ():
            device = self.store.devices.get(ca.issued.get(serial.lower(), ''))
            if not self.holds(device, ca) or device.cert.serial != serial.lower():
                bad_serials.append(serial)
            else:
                found[device.rot] = device
        if bad_serials:
            raise bad('Invalid SerialNumbers (not the current certificate of a device from %s): %s' % (ca.name, shown(bad_serials)))
        return list(found.values())

    @staticmethod
    def holds(device, ca):
        return device is not None and device.cert is not None and device.cert.ca_name == ca.name

    def refuse_if_updating(self, devices):
        busy = [device.rot for device in devices if device.update_in_progress()]
        if busy:
            raise bad('Device certificate update is still on-going for ROTPublicUIDs: %s' % shown(busy))

    def set_pending(self, devices, action, ca_name, validity=None, **extra):
        now = self.store.now()
        for device in devices:
            device.pending = dict(extra, Action=action, CAName=ca_name, CertificateValidity=validity, Phase=1, ModifiedDate=now)
        return json_response(SUCCESS)

    def pend_holders(self, data, ca, action, validity=None):
        """Give ``action`` to the devices ``data`` names that hold a certificate from ``ca`` (none may be mid-update)."""
        devices = self.holders(data, ca)
        self.refuse_if_updating(devices)
        return self.set_pending(devices, action, ca.name, validity)

    async def cert_renew(self, request):
        data = await self.ca_body(request)
        validity = int_field(data, 'DeviceCertificateValidity', DEVICE_VALIDITY)
        return self.pend_holders(data, self.ca_named(data['CAName']), 'RENEW', validity)

    async def cert_update(self, request):
        data = await self.ca_body(request)
        return self.pend_holders(data, self.ca_named(data['CAName']), 'UPDATE')

    async def cert_delete(self, request):
        data = await self.auth.authed_body(request)
        rots = str_list(data, 'ROTPublicUIDs', required=True)
        devices, unknown = self.store.lookup(rots)
        if unknown:
            raise bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
        self.refuse_if_updating(devices)
        bare = [device.rot for device in devices if device.cert is None]
        if bare:
            raise bad('ROTPublicUIDs hold no device certificate: %s' % shown(bare))
        now = self.store.now()
        for device in devices:
            device.pending = {'Action': 'DELETE', 'CAName': device.cert.ca_name, 'CertificateValidity': None, 'Phase': 1,
                              'ModifiedDate': now}
        return json_response(SUCCESS)

    async def cert_revoke(self, request):
        data = await self.ca_body(request)
        ca = self.ca_named(data['CAName'])
        rot, serial = data.get('ROTPublicUID'), data.get('SerialNumber')
        if not (isinstance(rot, str) and rot) and not (isinstance(serial, str) and serial):
            raise bad('ROTPublicUID or SerialNumber is required')
        if isinstance(rot, str) and rot:
            device = self.store.devices.get(rot.lower())
            if not self.holds(device, ca):
                raise bad('Invalid ROTPublicUID (no device certificate from %s): %s' % (ca.name, rot))
            serial = device.cert.serial
        else:
            serial = serial.lower()
            if serial not in ca.issued:
                raise bad('Invalid SerialNumber (not issued by %s): %s' % (ca.name, serial))
            device = self.store.devices.get(ca.issued[serial])
        if device is not None:
            self.refuse_if_updating([device])
        if serial in ca.revoked:
            raise bad('Device certificate %s is already revoked' % serial)
        ca.revoked[serial] = self.store.now()
        return json_response(SUCCESS)

    async def cert_transfer(self, request):
        data = await self.auth.authed_body(request)
        self.check_ca_name(data.get('FromCA'), 'FromCA')
        self.check_ca_name(data.get('ToCA'), 'ToCA')
        source = self.ca_named(data['FromCA'], 'FromCA')
        target = self.ca_named(data['ToCA'], 'ToCA')
        if source is target:
            raise bad('FromCA and ToCA must differ')
        rots = str_list(data, 'ROTPublicUIDs', required=True)
        invalid = [rot for rot in rots if not self.holds(self.store.devices.get(rot.lower()), source)]
        if invalid:
            raise bad('Invalid ROTPublicUIDs (no device certificate from %s): %s' % (source.name, shown(invalid)))
        devices = [self.store.devices[rot.lower()] for rot in rots]
        self.refuse_if_updating(devices)
        return self.set_pending(devices, 'TRANSFER', target.name, FromCA=source.name)
