"""u-blox Security Services (/ublox/v1): every call is POST + JSON (seed 002, api §A).

Implemented: authenticate/refresh; ZTP Root CAs (create, update, get, delete, CRL, devices, PoP);
device certificate actions (renew, update, delete, revoke, transfer); tags (create, get, delete,
assign, remove); devices (list, ROTPublicUIDs by profile or tag, info, whitelist, provisioning);
device profiles (get, bootstrap provisioning); notification webhooks.

Admin seeds (``POST /_mock/seed/ublox/<kind>``): ``tags``, ``device_profiles``, ``devices``
(already bootstrapped), ``bootstrap`` (devices bootstrapping now: events, bootstrap provisioning),
``manufactured`` (factory-fresh modules: unknown to the API until they bootstrap at the online
time ``POST /_mock/online`` gives them) and ``heartbeat`` (the next security heartbeat of some or
all devices: desired properties and certificate actions take effect, notifications are POSTed to
the registered webhooks).
"""

import asyncio
import functools
import re
import secrets
import string
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.routing import Route

from .. import credentials
from ..common import BadRequest, json_response, read_json, shown, utc_iso
from .base import Vendor, seed_count, seed_list
from .ublox_devices import (
    DAY,
    Device,
    DeviceProfile,
    ProvisioningError,
    event,
    heartbeat,
    issue_certificate,
    parse_provisioning,
    rootca_expiry_events,
)
from .ublox_pki import RootCA
from .ublox_webhooks import NOTIFICATION_TYPES, Webhooks, url_problem

PREFIX = 'ublox'

AUTH_TOKEN_LIFETIME = 3600            # exp - iat of the seed's sample AuthToken
REFRESH_TOKEN_LIFETIME = 3 * 24 * 3600  # "The RefreshToken can be used for 3 days" (seed 002)
PAGE_SIZE = 100
TAG_NAME_MAX = 255
# Seed 002 /tag/create; the list has an empty item between | and , which we read as a lost backslash.
TAG_FORBIDDEN = '^`~<>"{}|\\,'
ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_M0ckP00l1'
AUDIENCE = 'm0ck4ud13nc3cl13nt1d0000000'

CA_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]{1,45}$')    # seed 002: <= 45 chars, letters, digits, _ - .
CA_LIMIT = 15                                         # api §A.6: up to 15 private CAs per Thingstream domain
CA_VALIDITY = (1825, 3650)
DEVICE_VALIDITY = (30, 3650)
RENEW_BEFORE = (1, 365)
REGISTRATION_CODE_MAX = 64                            # it becomes an X.509 CommonName (upper bound 64)
ROT_RE = re.compile(r'^[0-9a-f]{1,16}$')              # 8-byte root-of-trust UID as hex (api §A.5)
IMEI_RE = re.compile(r'^[0-9]{15}$')
INFO_OPTIONS = ('CORE', 'PROVISIONING', 'ZTP')
DEVICE_FILTERS = ('ALL', 'WHITELISTED', 'BLACKLISTED')
UNATTRIBUTED = 'UNATTRIBUTED DEVICE PROFILE'
SUCCESS = {'message': 'Success'}
SEEDED_PREFIX = '0002'          # generated ROTPublicUIDs: <prefix><12 hex digits>
MANUFACTURED_PREFIX = '0003'
MANUFACTURED_FIELDS = ('ROTPublicUID', 'IMEI', 'DeviceSerialNumber', 'DeviceProfileUID')


class Tag:
    """A u-blox tag and what it is assigned to."""

    def __init__(self, name, created):
        self.name = name
        self.created = created
        self.rot_public_uids = set()
        self.device_profile_uids = set()

    def public(self):
        return {'TagName': self.name, 'CreatedDate': utc_iso(self.created)}

    def dump(self):
        return dict(self.public(), ROTPublicUIDs=sorted(self.rot_public_uids), DeviceProfileUIDs=sorted(self.device_profile_uids))


def tag_key(name):
    """Tag names are case-insensitive (seed 002)."""
    return name.casefold()


def luhn_digit(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


class Ublox(Vendor):
    """Tokens are server-issued, so they are looked up in memory instead of re-verified."""

    name = 'ublox'

    def __init__(self, state):
        super().__init__(state)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_urlsafe(32)
        self.user_sub = str(uuid.uuid4())
        self.auth_tokens = {}
        self.refresh_tokens = {}
        self.tags = {}
        self.cas = {}
        self.devices = {}
        self.profiles = {}
        self.whitelist = {}
        self.manufactured = {}     # ROTPublicUID -> Device made at the factory that has not bootstrapped
        self.online = {}           # ROTPublicUID -> when it (re)bootstraps (None: never), from POST /_mock/online
        self.next_bootstrap = None
        self.factory_serial = 0
        self.webhooks = Webhooks()
        self.auth_routes = frozenset({('POST', '/v1/authenticate'), ('POST', '/v1/refreshauthtoken')})
        routes = [
            ('/authenticate', self.authenticate),
            ('/refreshauthtoken', self.refresh),
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
            ('/tag/create', self.tag_create),
            ('/tag/get', self.tag_get),
            ('/tag/delete', self.tag_delete),
            ('/tag/assign', self.tag_assign),
            ('/tag/remove', self.tag_remove),
            ('/device/list/get', self.device_list_get),
            ('/device/rotpublicuid/get', self.rotpublicuid_get),
            ('/device/info/get', self.device_info_get),
            ('/device/whitelist/add', self.whitelist_add),
            ('/device/whitelist/get', self.whitelist_get),
            ('/device/provisioning/set', self.provisioning_set),
            ('/device/provisioning/get', self.provisioning_get),
            ('/device/provisioning/delete', self.provisioning_delete),
            ('/deviceprofile/get', self.deviceprofile_get),
            ('/deviceprofile/bootstrapprovisioning/set', self.bootstrap_set),
            ('/deviceprofile/bootstrapprovisioning/get', self.bootstrap_get),
            ('/deviceprofile/bootstrapprovisioning/delete', self.bootstrap_delete),
            ('/notification/webhook/create', self.webhook_create),
            ('/notification/webhook/update', self.webhook_update),
            ('/notification/webhook/delete', self.webhook_delete),
            ('/notification/webhook/get', self.webhook_get),
        ]
        self.mounts = {PREFIX: [Route('/v1' + path, self.after_due_bootstraps(handler), methods=['POST'])
                                for path, handler in routes]}
        self.reset()

    def reset(self):
        self.auth_tokens = {}
        self.refresh_tokens = {}
        self.tags = {}
        self.cas = {}
        self.devices = {}
        self.profiles = {}
        self.whitelist = {}
        self.manufactured = {}
        self.online = {}
        self.next_bootstrap = None
        self.factory_serial = 0
        self.webhooks.reset()

    def dump(self):
        return {
            'tags': [tag.dump() for tag in self.tags.values()],
            'authTokens': len(self.auth_tokens),
            'refreshTokens': len(self.refresh_tokens),
            'rootCAs': [dict(self.ca_public(ca), RevokedSerialNumbers=sorted(ca.revoked)) for ca in self.cas.values()],
            'deviceProfiles': [dict(profile.public(self.profile_tags(profile.uid)),
                                    BootstrapProvisioning=profile.bootstrap.public()) for profile in self.profiles.values()],
            'devices': [self.device_public(device, INFO_OPTIONS) for device in self.sorted_devices()],
            'whitelist': [self.whitelist_entry(entry) for entry in self.whitelist.items()],
            'manufactured': [dict(self.manufactured_view(device), onlineAt=self.online.get(rot),
                                  waitingFor=self.state.online.waiting_for(self.name, rot))
                             for rot, device in sorted(self.manufactured.items())],
            'rebootstraps': [{'ROTPublicUID': rot, 'onlineAt': at, 'waitingFor': self.state.online.waiting_for(self.name, rot)}
                             for rot, at in sorted(self.online.items()) if rot in self.devices],
            'webhooks': self.webhooks.dump(),
        }

    def error_response(self, status, message, prefix=None):
        return json_response({'message': message}, status)

    def category(self, method, template):
        # Every u-blox call is a POST; the ones ending in /get only read.
        if (method, template) in self.auth_routes:
            return 'auth'
        if method in ('GET', 'HEAD', 'OPTIONS') or template.endswith('/get'):
            return 'read'
        return 'write'

    # request helpers ---------------------------------------------------------------------------

    async def body(self, request, required=()):
        """JSON object body with the required string fields, else 400 Bad Request."""
        try:
            data = await read_json(request, empty={})
        except ValueError:
            raise self.fail(400, 'Bad Request') from None
        if not isinstance(data, dict):
            raise self.fail(400, 'Bad Request')
        for field in required:
            if not isinstance(data.get(field), str) or not data[field]:
                raise self.fail(400, 'Bad Request')
        return data

    async def authed_body(self, request, required=()):
        self.check_auth(request)
        return await self.body(request, required)

    def bad(self, rule):
        return self.fail(400, 'Bad Request. ' + rule)

    def not_found(self, what):
        return self.fail(404, 'Not Found. ' + what)

    def str_list(self, data, key, required=False):
        """``data[key]`` as a non-empty list of non-empty strings; None when absent and not required."""
        value = data.get(key)
        if value is None:
            if required:
                raise self.bad('%s is required' % key)
            return None
        if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
            raise self.bad('%s must be a list of 1 to N non-empty strings' % key)
        return value

    def int_field(self, data, key, bounds, required=True):
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not bounds[0] <= value <= bounds[1]:
            raise self.bad('%s must be an integer from %d to %d' % (key, bounds[0], bounds[1]))
        return value

    def page(self, data, items, key, render=lambda item: item):
        """One page of ``items`` (100 per page) in the u-blox paging envelope."""
        number = data.get('PageNumber', 1)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise self.bad('PageNumber must be a positive integer')
        chunk = items[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
        return json_response({key: [render(item) for item in chunk], 'PageNumber': number, 'PageSize': PAGE_SIZE,
                              'TotalRecords': len(items)})

    def now(self):
        return self.clock.now()

    # auth ------------------------------------------------------------------------------------

    def issue_auth_token(self):
        now = int(self.clock.now())
        claims = {
            'sub': self.user_sub,
            'aud': AUDIENCE,
            'event_id': str(uuid.uuid4()),
            'token_use': 'id',
            'auth_time': now,
            'iss': ISSUER,
            'cognito:username': credentials.UBLOX_API_KEY,
            'exp': now + AUTH_TOKEN_LIFETIME,
            'iat': now,
        }
        token = jwt.encode(claims, self.signing_key, algorithm='RS256', headers={'kid': self.key_id})
        self.auth_tokens[token] = (self.state.tokens.issue(), claims['exp'])
        return token

    def check_auth(self, request):
        """Accept ``Authorization: <AuthToken>`` raw (u-blox sample) and ``Bearer <AuthToken>`` (spec)."""
        header = request.headers.get('authorization', '')
        token = header[7:].strip() if header[:7].lower() == 'bearer ' else header.strip()
        record = self.auth_tokens.get(token)
        if record is None or not self.state.tokens.alive(record[0]) or record[1] <= self.clock.now():
            raise self.fail(401, 'Unauthorized')

    async def authenticate(self, request):
        data = await self.body(request, ('APIKey', 'APISecret'))
        if data['APIKey'] != credentials.UBLOX_API_KEY or data['APISecret'] != credentials.UBLOX_API_SECRET:
            raise self.fail(401, 'Not Authorized.')
        refresh = secrets.token_urlsafe(96)
        self.refresh_tokens[refresh] = (self.state.tokens.issue(), self.clock.now() + REFRESH_TOKEN_LIFETIME)
        return json_response({'AuthToken': self.issue_auth_token(), 'RefreshToken': refresh})

    async def refresh(self, request):
        data = await self.body(request, ('APIKey', 'RefreshToken'))
        record = self.refresh_tokens.get(data['RefreshToken'])
        if (data['APIKey'] != credentials.UBLOX_API_KEY or record is None
                or not self.state.tokens.alive(record[0], refresh=True) or record[1] <= self.clock.now()):
            raise self.fail(401, 'Not Authorized.')
        return json_response({'AuthToken': self.issue_auth_token()})

    # Root CAs --------------------------------------------------------------------------------

    @staticmethod
    def ca_public(ca):
        return {'CAName': ca.name, 'CACertificateValidity': ca.ca_validity, 'DeviceCertificateValidity': ca.device_validity,
                'RenewBeforeExpiration': ca.renew_before, 'Certificate': ca.pem, 'CreatedDate': utc_iso(ca.created),
                'ExpirationDate': utc_iso(ca.expires)}

    def ca_named(self, name, field='CAName'):
        ca = self.cas.get(name) if isinstance(name, str) else None
        if ca is None:
            raise self.not_found('%s does not exist' % field)
        return ca

    def check_ca_name(self, name, field='CAName'):
        if not isinstance(name, str) or not CA_NAME_RE.match(name):
            raise self.bad('%s is required: up to 45 characters, only alphabets, numbers, underscores, dashes and dots' % field)

    async def rootca_create(self, request):
        data = await self.authed_body(request)
        name = data.get('CAName')
        self.check_ca_name(name)
        ca_validity = self.int_field(data, 'CACertificateValidity', CA_VALIDITY)
        device_validity = self.int_field(data, 'DeviceCertificateValidity', DEVICE_VALIDITY)
        renew_before = self.int_field(data, 'RenewBeforeExpiration', RENEW_BEFORE, required=False)
        if device_validity > ca_validity:
            raise self.bad('DeviceCertificateValidity cannot be greater than CACertificateValidity')
        if name in self.cas:
            raise self.bad('CAName already exists')
        if len(self.cas) >= CA_LIMIT:
            raise self.bad('Limit reached: a Thingstream domain can have up to %d Root CAs' % CA_LIMIT)
        ca = RootCA(name, ca_validity, device_validity, renew_before, self.now())
        self.cas[name] = ca
        body = {'CAName': name, 'CACertificateValidity': ca_validity, 'DeviceCertificateValidity': device_validity,
                'Certificate': ca.pem, 'CreatedDate': utc_iso(ca.created)}
        if renew_before is not None:
            body['RenewBeforeExpiration'] = renew_before
        return json_response(body)

    async def rootca_update(self, request):
        data = await self.authed_body(request)
        self.check_ca_name(data.get('CAName'))
        renew_before = self.int_field(data, 'RenewBeforeExpiration', RENEW_BEFORE)
        ca = self.ca_named(data['CAName'])
        ca.renew_before = renew_before
        return json_response(SUCCESS)

    async def rootca_get(self, request):
        data = await self.authed_body(request)
        if data.get('CAName') is not None:
            cas = [self.ca_named(data['CAName'])]
        else:
            cas = list(self.cas.values())
        return self.page(data, cas, 'CAs', self.ca_public)

    async def rootca_delete(self, request):
        data = await self.authed_body(request, ('CAName',))
        ca = self.ca_named(data['CAName'])
        profiles = sorted(profile.uid for profile in self.profiles.values() if profile.ca_name == ca.name)
        if profiles:
            raise self.fail(400, 'Request aborted. This Root CA is linked to device profile(s): %s' % shown(profiles))
        devices = [device.rot for device in self.devices.values()
                   if (device.cert is not None and device.cert.ca_name == ca.name)
                   or (device.pending is not None and device.pending['CAName'] == ca.name)]
        if devices:
            raise self.fail(400, 'Request aborted. This Root CA is set in current or desired properties of %d device(s): %s'
                            % (len(devices), shown(devices)))
        del self.cas[ca.name]
        return json_response(SUCCESS)

    async def rootca_crl_get(self, request):
        data = await self.authed_body(request)
        names = self.str_list(data, 'CANames')
        cas = [self.ca_named(name) for name in names] if names else list(self.cas.values())
        now = self.now()
        return json_response({'CRLs': [{'CAName': ca.name, 'CRL': ca.crl_pem(now), 'RevokedSerialNumbers': sorted(ca.revoked)}
                                       for ca in cas]})

    async def rootca_device_get(self, request):
        data = await self.authed_body(request, ('CAName',))
        ca = self.ca_named(data['CAName'])
        holders = [device for device in self.sorted_devices() if device.cert is not None and device.cert.ca_name == ca.name]

        def render(device):
            return {'ROTPublicUID': device.rot, 'CertificateSerialNumber': device.cert.serial,
                    'ExpirationDate': utc_iso(device.cert.expires), 'Revoked': device.cert.serial in ca.revoked}
        return self.page(data, holders, 'Devices', render)

    async def rootca_pop(self, request):
        data = await self.authed_body(request, ('CAName', 'RegistrationCode'))
        ca = self.ca_named(data['CAName'])
        code = data['RegistrationCode']
        if len(code) > REGISTRATION_CODE_MAX:
            raise self.bad('RegistrationCode can only be %d characters long' % REGISTRATION_CODE_MAX)
        return json_response({'CAName': ca.name, 'PoPCertificate': ca.pop_certificate(code, self.now())})

    # device certificates -----------------------------------------------------------------------

    def sorted_devices(self):
        return [self.devices[rot] for rot in sorted(self.devices)]

    def holders(self, data, ca):
        """Devices named by ROTPublicUIDs and/or SerialNumbers that hold a certificate from ``ca``."""
        rots = self.str_list(data, 'ROTPublicUIDs')
        serials = self.str_list(data, 'SerialNumbers')
        if not rots and not serials:
            raise self.bad('ROTPublicUIDs or SerialNumbers is required')
        found = {}
        invalid = [rot for rot in rots or () if not self.holds(self.devices.get(rot.lower()), ca)]
        if invalid:
            raise self.bad('Invalid ROTPublicUIDs (no device certificate from %s): %s' % (ca.name, shown(invalid)))
        for rot in rots or ():
            found[rot.lower()] = self.devices[rot.lower()]
        bad_serials = []
        for serial in serials or ():
            device = self.devices.get(ca.issued.get(serial.lower(), ''))
            if not self.holds(device, ca) or device.cert.serial != serial.lower():
                bad_serials.append(serial)
            else:
                found[device.rot] = device
        if bad_serials:
            raise self.bad('Invalid SerialNumbers (not the current certificate of a device from %s): %s' % (ca.name, shown(bad_serials)))
        return list(found.values())

    @staticmethod
    def holds(device, ca):
        return device is not None and device.cert is not None and device.cert.ca_name == ca.name

    def refuse_if_updating(self, devices):
        busy = [device.rot for device in devices if device.update_in_progress()]
        if busy:
            raise self.bad('Device certificate update is still on-going for ROTPublicUIDs: %s' % shown(busy))

    def set_pending(self, devices, action, ca_name, validity=None, **extra):
        now = self.now()
        for device in devices:
            device.pending = dict(extra, Action=action, CAName=ca_name, CertificateValidity=validity, Phase=1, ModifiedDate=now)
        return json_response(SUCCESS)

    async def cert_renew(self, request):
        data = await self.authed_body(request)
        self.check_ca_name(data.get('CAName'))
        validity = self.int_field(data, 'DeviceCertificateValidity', DEVICE_VALIDITY)
        ca = self.ca_named(data['CAName'])
        devices = self.holders(data, ca)
        self.refuse_if_updating(devices)
        return self.set_pending(devices, 'RENEW', ca.name, validity)

    async def cert_update(self, request):
        data = await self.authed_body(request)
        self.check_ca_name(data.get('CAName'))
        ca = self.ca_named(data['CAName'])
        devices = self.holders(data, ca)
        self.refuse_if_updating(devices)
        return self.set_pending(devices, 'UPDATE', ca.name)

    async def cert_delete(self, request):
        data = await self.authed_body(request)
        rots = self.str_list(data, 'ROTPublicUIDs', required=True)
        devices, unknown = self.lookup(rots)
        if unknown:
            raise self.bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
        self.refuse_if_updating(devices)
        bare = [device.rot for device in devices if device.cert is None]
        if bare:
            raise self.bad('ROTPublicUIDs hold no device certificate: %s' % shown(bare))
        now = self.now()
        for device in devices:
            device.pending = {'Action': 'DELETE', 'CAName': device.cert.ca_name, 'CertificateValidity': None, 'Phase': 1,
                              'ModifiedDate': now}
        return json_response(SUCCESS)

    async def cert_revoke(self, request):
        data = await self.authed_body(request)
        self.check_ca_name(data.get('CAName'))
        ca = self.ca_named(data['CAName'])
        rot, serial = data.get('ROTPublicUID'), data.get('SerialNumber')
        if not (isinstance(rot, str) and rot) and not (isinstance(serial, str) and serial):
            raise self.bad('ROTPublicUID or SerialNumber is required')
        if isinstance(rot, str) and rot:
            device = self.devices.get(rot.lower())
            if not self.holds(device, ca):
                raise self.bad('Invalid ROTPublicUID (no device certificate from %s): %s' % (ca.name, rot))
            serial = device.cert.serial
        else:
            serial = serial.lower()
            if serial not in ca.issued:
                raise self.bad('Invalid SerialNumber (not issued by %s): %s' % (ca.name, serial))
            device = self.devices.get(ca.issued[serial])
        if device is not None:
            self.refuse_if_updating([device])
        if serial in ca.revoked:
            raise self.bad('Device certificate %s is already revoked' % serial)
        ca.revoked[serial] = self.now()
        return json_response(SUCCESS)

    async def cert_transfer(self, request):
        data = await self.authed_body(request)
        self.check_ca_name(data.get('FromCA'), 'FromCA')
        self.check_ca_name(data.get('ToCA'), 'ToCA')
        source = self.ca_named(data['FromCA'], 'FromCA')
        target = self.ca_named(data['ToCA'], 'ToCA')
        if source is target:
            raise self.bad('FromCA and ToCA must differ')
        rots = self.str_list(data, 'ROTPublicUIDs', required=True)
        invalid = [rot for rot in rots if not self.holds(self.devices.get(rot.lower()), source)]
        if invalid:
            raise self.bad('Invalid ROTPublicUIDs (no device certificate from %s): %s' % (source.name, shown(invalid)))
        devices = [self.devices[rot.lower()] for rot in rots]
        self.refuse_if_updating(devices)
        return self.set_pending(devices, 'TRANSFER', target.name, FromCA=source.name)

    # tags ------------------------------------------------------------------------------------

    @staticmethod
    def tag_name_problem(name):
        """Why a TagName breaks the seed 002 rules, or None."""
        if not isinstance(name, str) or not name:
            return 'TagName is required'
        if len(name) > TAG_NAME_MAX:
            return 'TagName can only be %d characters long' % TAG_NAME_MAX
        for char in name:
            if char in TAG_FORBIDDEN:
                return 'TagName must not contain the symbol %s' % char
            if ord(char) < 32 or ord(char) == 127:
                return 'TagName must not contain control characters'
        return None

    def add_tag(self, name):
        problem = self.tag_name_problem(name)
        if problem:
            raise self.fail(400, 'Bad Request. ' + problem)
        if tag_key(name) in self.tags:
            # Tag names are case-insensitive, so "Downtown" duplicates "downtown".
            raise self.fail(400, 'Bad Request. TagName already exists')
        tag = Tag(name, self.clock.now())
        self.tags[tag_key(name)] = tag
        return tag

    def tags_named(self, names):
        missing = [name for name in names if tag_key(name) not in self.tags]
        if missing:
            raise self.bad('Invalid TagNames: %s' % shown(missing))
        return [self.tags[tag_key(name)] for name in names]

    def device_tags(self, rot):
        return sorted(tag.name for tag in self.tags.values() if rot in tag.rot_public_uids)

    def profile_tags(self, uid):
        return sorted(tag.name for tag in self.tags.values() if uid in tag.device_profile_uids)

    async def tag_create(self, request):
        data = await self.authed_body(request)
        self.add_tag(data.get('TagName'))
        return json_response(SUCCESS)

    async def tag_get(self, request):
        data = await self.authed_body(request)
        return self.page(data, list(self.tags.values()), 'Tags', Tag.public)

    async def tag_delete(self, request):
        data = await self.authed_body(request, ('TagName',))
        tag = self.tags.get(tag_key(data['TagName']))
        if tag is None:
            raise self.fail(404, 'Not Found. TagName does not exist')
        if tag.rot_public_uids or tag.device_profile_uids:
            raise self.fail(400, 'Request aborted. This tag is currently assigned to ROTPublicUID(s)')
        del self.tags[tag_key(tag.name)]
        return json_response(SUCCESS)

    def assignment_targets(self, data, wildcard):
        rots = self.str_list(data, 'ROTPublicUIDs')
        profiles = self.str_list(data, 'DeviceProfileUIDs')
        if not rots and not profiles:
            raise self.bad('ROTPublicUIDs or DeviceProfileUIDs is required')
        if wildcard and rots == ['*']:
            rots = '*'
        elif rots:
            rots = [rot.lower() for rot in rots]
        if wildcard and profiles == ['*']:
            profiles = '*'
        return rots or [], profiles or []

    async def tag_assign(self, request):
        data = await self.authed_body(request)
        tags = self.tags_named(self.str_list(data, 'TagNames', required=True))
        rots, profiles = self.assignment_targets(data, wildcard=False)
        unknown = [rot for rot in rots if rot not in self.devices]
        if unknown:
            raise self.bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
        unknown = [uid for uid in profiles if uid not in self.profiles]
        if unknown:
            raise self.bad('Invalid DeviceProfileUIDs: %s' % shown(unknown))
        for tag in tags:
            tag.rot_public_uids.update(rots)
            tag.device_profile_uids.update(profiles)
        return json_response(SUCCESS)

    async def tag_remove(self, request):
        data = await self.authed_body(request)
        names = self.str_list(data, 'TagNames', required=True)
        rots, profiles = self.assignment_targets(data, wildcard=True)
        # "{*}" in TagNames removes every tag from the given devices; unknown combinations are ignored.
        tags = list(self.tags.values()) if names == ['*'] else [self.tags[tag_key(n)] for n in names if tag_key(n) in self.tags]
        for tag in tags:
            if rots == '*':
                tag.rot_public_uids.clear()
            else:
                tag.rot_public_uids.difference_update(rots)
            if profiles == '*':
                tag.device_profile_uids.clear()
            else:
                tag.device_profile_uids.difference_update(profiles)
        return json_response(SUCCESS)

    # devices ---------------------------------------------------------------------------------

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

    def tagged(self, names):
        tags = self.tags_named(names)
        rots = set()
        for tag in tags:
            rots.update(tag.rot_public_uids)
        return [self.devices[rot] for rot in sorted(rots) if rot in self.devices]

    def selected(self, data, serials=False):
        """Devices named by ROTPublicUIDs, TagNames (and DeviceSerialNumbers); unknown ROTPublicUIDs give 400."""
        rots = self.str_list(data, 'ROTPublicUIDs')
        names = self.str_list(data, 'TagNames')
        device_serials = self.str_list(data, 'DeviceSerialNumbers') if serials else None
        if not rots and not names and not device_serials:
            raise self.bad('ROTPublicUIDs or TagNames%s is required' % (' or DeviceSerialNumbers' if serials else ''))
        found = {}
        if rots:
            devices, unknown = self.lookup(rots)
            if unknown:
                raise self.bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
            found.update((device.rot, device) for device in devices)
        if names:
            found.update((device.rot, device) for device in self.tagged(names))
        if device_serials:
            wanted = set(device_serials)
            found.update((device.rot, device) for device in self.devices.values() if device.device_serial in wanted)
        return [found[rot] for rot in sorted(found)]

    def device_public(self, device, options):
        result = {'ROTPublicUID': device.rot}
        if 'CORE' in options:
            result['Core'] = device.core(self.device_tags(device.rot))
        if 'PROVISIONING' in options:
            result['Provisioning'] = device.provisioning()
        if 'ZTP' in options:
            ca = self.cas.get(device.cert.ca_name) if device.cert is not None else None
            result['ZTP'] = device.ztp(ca.revoked if ca is not None else {})
        return result

    async def device_list_get(self, request):
        data = await self.authed_body(request)
        kind = data.get('Filter', 'ALL')
        if kind not in DEVICE_FILTERS:
            raise self.bad('Filter must be one of %s' % ', '.join(DEVICE_FILTERS))
        devices = self.sorted_devices()
        if kind == 'WHITELISTED':
            devices = [device for device in devices if self.whitelisted(device)]
        elif kind == 'BLACKLISTED':
            devices = [device for device in devices if device.blacklisted]
        return self.page(data, devices, 'ROTPublicUIDs', lambda device: device.rot)

    async def rotpublicuid_get(self, request):
        data = await self.authed_body(request)
        profile = data.get('DeviceProfileUID')
        names = self.str_list(data, 'TagNames')
        if not names and not (isinstance(profile, str) and profile):
            raise self.bad('DeviceProfileUID or TagNames is required')
        devices = self.tagged(names) if names else self.sorted_devices()
        if isinstance(profile, str) and profile:
            wanted = None if profile == UNATTRIBUTED else profile
            devices = [device for device in devices if device.profile_uid == wanted]
        return self.page(data, devices, 'ROTPublicUIDs', lambda device: device.rot)

    async def device_info_get(self, request):
        data = await self.authed_body(request)
        options = data.get('Options') or list(INFO_OPTIONS)
        if not isinstance(options, list) or any(option not in INFO_OPTIONS for option in options):
            raise self.bad('Options items must be CORE, PROVISIONING or ZTP')
        rots = self.str_list(data, 'ROTPublicUIDs')
        if rots:
            # Unknown ROTPublicUIDs are left out of the answer instead of failing the whole read.
            data = dict(data, ROTPublicUIDs=[rot for rot in rots if rot.lower() in self.devices] or None)
            if data['ROTPublicUIDs'] is None and not data.get('TagNames') and not data.get('DeviceSerialNumbers'):
                return json_response({'DeviceInfo': []})
        devices = self.selected(data, serials=True)
        return json_response({'DeviceInfo': [self.device_public(device, options) for device in devices]})

    @staticmethod
    def whitelist_entry(entry):
        (kind, ident), created = entry
        return {'Id': ident, 'Type': kind, 'CreatedDate': utc_iso(created)}

    async def whitelist_add(self, request):
        data = await self.authed_body(request)
        rots = self.str_list(data, 'ROTPublicUIDs')
        imeis = self.str_list(data, 'IMEIs')
        action = data.get('Action', 'ADD')
        if action not in ('ADD', 'DELETE'):
            raise self.bad('Action must be ADD or DELETE')
        if not rots and not imeis:
            raise self.bad('ROTPublicUIDs or IMEIs is required')
        bad_rots = [rot for rot in rots or () if not ROT_RE.match(rot.lower())]
        if bad_rots:
            raise self.bad('Invalid ROTPublicUIDs: %s' % shown(bad_rots))
        bad_imeis = [imei for imei in imeis or () if not IMEI_RE.match(imei)]
        if bad_imeis:
            raise self.bad('Invalid IMEIs: %s' % shown(bad_imeis))
        keys = [('ROTPublicUID', rot.lower()) for rot in rots or ()] + [('IMEI', imei) for imei in imeis or ()]
        now = self.now()
        for key in keys:
            if action == 'ADD':
                self.whitelist.setdefault(key, now)
            else:
                self.whitelist.pop(key, None)
        if action == 'ADD':
            # devices that wait to be whitelisted start their countdown now; this call does not bootstrap them, the next
            # one does at their online time (an after of 0: at once), and they find themselves on the whitelist then
            self.state.online.notice(self, now)
        return json_response(SUCCESS)

    async def whitelist_get(self, request):
        data = await self.authed_body(request)
        return self.page(data, list(self.whitelist.items()), 'DeviceWhitelist', self.whitelist_entry)  # renders only the page

    async def provisioning_set(self, request):
        data = await self.authed_body(request)
        devices = self.selected(data)
        try:
            auths, network = parse_provisioning(data.get('Provisioning'))
        except ProvisioningError as exc:
            raise self.bad(str(exc)) from None
        now = self.now()
        for device in devices:
            device.desired.merge(auths, network, now)
        return json_response(SUCCESS)

    async def provisioning_get(self, request):
        data = await self.authed_body(request)
        devices = self.selected(data)
        return json_response([{'ROTPublicUID': device.rot, 'DesiredProperties': device.desired.public()} for device in devices])

    async def provisioning_delete(self, request):
        data = await self.authed_body(request)
        for device in self.selected(data):
            device.desired.clear()
        return json_response(SUCCESS)

    # device profiles -------------------------------------------------------------------------

    def profile_named(self, data):
        uid = data.get('DeviceProfileUID')
        profile = self.profiles.get(uid) if isinstance(uid, str) else None
        if profile is None:
            raise self.not_found('DeviceProfileUID does not exist')
        return profile

    async def deviceprofile_get(self, request):
        data = await self.authed_body(request)
        names = self.str_list(data, 'TagNames')
        profile_name = data.get('ProfileName')
        if names and profile_name is not None:
            raise self.bad('TagNames and ProfileName are mutually exclusive')
        profiles = list(self.profiles.values())
        if names:
            tags = self.tags_named(names)
            uids = set().union(*(tag.device_profile_uids for tag in tags))
            profiles = [profile for profile in profiles if profile.uid in uids]
        elif profile_name is not None:
            profiles = [profile for profile in profiles if profile.name == profile_name]  # case-sensitive (seed 002)
        return self.page(data, profiles, 'DeviceProfiles', lambda profile: profile.public(self.profile_tags(profile.uid)))

    async def bootstrap_set(self, request):
        data = await self.authed_body(request, ('DeviceProfileUID',))
        profile = self.profile_named(data)
        try:
            auths, network = parse_provisioning(data.get('Provisioning'))
        except ProvisioningError as exc:
            raise self.bad(str(exc)) from None
        profile.bootstrap.merge(auths, network, self.now())
        return json_response(SUCCESS)

    async def bootstrap_get(self, request):
        data = await self.authed_body(request, ('DeviceProfileUID',))
        profile = self.profile_named(data)
        return json_response({'DeviceProfileUID': profile.uid, 'DesiredProperties': profile.bootstrap.public()})

    async def bootstrap_delete(self, request):
        data = await self.authed_body(request, ('DeviceProfileUID',))
        self.profile_named(data).bootstrap.clear()
        return json_response(SUCCESS)

    # notification webhooks ---------------------------------------------------------------------

    async def webhook_create(self, request):
        data = await self.authed_body(request)
        problem = url_problem(data.get('NotificationURL'))
        if problem:
            raise self.bad(problem)
        token = data.get('AuthorizationToken')
        if not isinstance(token, str) or not token:
            raise self.bad('AuthorizationToken is required')
        kind = data.get('NotificationType')
        if kind not in NOTIFICATION_TYPES:
            raise self.bad('NotificationType must be one of %s' % ', '.join(NOTIFICATION_TYPES))
        if self.webhooks.find(data['NotificationURL'], kind):
            raise self.bad('NotificationURL is already registered for %s' % kind)
        self.webhooks.hooks.append({'url': data['NotificationURL'], 'token': token, 'type': kind, 'created': self.now()})
        return json_response(SUCCESS)

    async def webhook_update(self, request):
        data = await self.authed_body(request, ('NotificationURL', 'AuthorizationToken'))
        hooks = self.webhooks.find(data['NotificationURL'])
        if not hooks:
            raise self.not_found('NotificationURL does not exist')
        for hook in hooks:
            hook['token'] = data['AuthorizationToken']
        return json_response(SUCCESS)

    async def webhook_delete(self, request):
        data = await self.authed_body(request, ('NotificationURL',))
        if not self.webhooks.find(data['NotificationURL']):
            raise self.not_found('NotificationURL does not exist')
        self.webhooks.hooks = [hook for hook in self.webhooks.hooks if hook['url'] != data['NotificationURL']]
        return json_response(SUCCESS)

    async def webhook_get(self, request):
        await self.authed_body(request)
        return json_response(self.webhooks.public())

    async def notify(self, events):
        """Deliver ``events`` to the matching hooks from a worker thread; returns the delivery log entries."""
        targets = self.webhooks.targets(events)
        if not targets:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.webhooks.deliver, targets, self.now())

    # seeding ---------------------------------------------------------------------------------

    def seed_tags(self, payload):
        added = []
        for item in seed_list(payload, 'tags'):
            item = {'TagName': item} if isinstance(item, str) else item
            if not isinstance(item, dict):
                raise BadRequest('each tag is a name or {"TagName", "ROTPublicUIDs"?}')
            problem = self.tag_name_problem(item.get('TagName'))
            if problem or tag_key(item['TagName']) in self.tags:
                raise BadRequest(problem or 'tag %s already exists' % item['TagName'])
            tag = self.add_tag(item['TagName'])
            tag.rot_public_uids.update(rot.lower() for rot in item.get('ROTPublicUIDs', []))
            tag.device_profile_uids.update(item.get('DeviceProfileUIDs', []))
            added.append(tag.name)
        return {'added': added}

    def seed_device_profiles(self, payload):
        added = []
        for item in seed_list(payload, 'profiles'):
            if not isinstance(item, dict):
                raise BadRequest('each profile is {"DeviceProfileUID"?, "ProfileName"?, "CAName"?}')
            uid = item.get('DeviceProfileUID') or ''.join(secrets.choice(string.ascii_letters + string.digits) for dummy in range(22))
            if uid in self.profiles:
                raise BadRequest('device profile %s already exists' % uid)
            ca_name = item.get('CAName')
            if ca_name is not None and ca_name not in self.cas:
                raise BadRequest('CAName %s does not exist' % ca_name)
            self.profiles[uid] = DeviceProfile(uid, item.get('ProfileName') or uid, ca_name, self.now())
            added.append(uid)
        return {'added': added}

    def device_specs(self, payload, prefix, first_free):
        """Device seed items from ``devices`` or ``count`` (+ ``start`` and shared fields). An item without a
        ROTPublicUID gets ``<prefix><12 hex digits>``, numbered from ``start`` (default ``first_free``)."""
        start = first_free
        if 'devices' in payload:
            items = seed_list(payload, 'devices')
        else:
            count = seed_count(payload)
            if count is None:
                raise BadRequest('give devices or count')
            start = payload.get('start', first_free)
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                raise BadRequest('start must be a non-negative integer')
            shared = {key: value for key, value in payload.items() if key not in ('count', 'start')}
            items = [shared] * count
        if not all(isinstance(item, dict) for item in items):
            raise BadRequest('each device is an object')
        return [dict(item, ROTPublicUID=item.get('ROTPublicUID') or '%s%012x' % (prefix, start + index))
                for index, item in enumerate(items)]

    def make_device(self, item):
        rot = item['ROTPublicUID'].lower() if isinstance(item['ROTPublicUID'], str) else ''
        if not ROT_RE.match(rot):
            raise BadRequest('ROTPublicUID %s is not 1 to 16 hex digits' % item['ROTPublicUID'])
        if rot in self.devices or rot in self.manufactured:
            raise BadRequest('device %s already exists' % rot)
        imei = item.get('IMEI')
        if imei is None:
            body = '35%012d' % (int(rot, 16) % 10 ** 12)
            imei = body + luhn_digit(body)
        profile_uid = item.get('DeviceProfileUID')
        if profile_uid is not None and profile_uid not in self.profiles:
            raise BadRequest('DeviceProfileUID %s does not exist' % profile_uid)
        now = self.now()
        device = Device(rot, now, imei=imei, device_serial=item.get('DeviceSerialNumber') or 'SN-%s' % rot[-8:],
                        profile_uid=profile_uid, state=item.get('State', 'ACTIVATED'), blacklisted=bool(item.get('IsBlacklisted')))
        for name in item.get('TagNames', []):
            if tag_key(name) not in self.tags:
                raise BadRequest('tag %s does not exist' % name)
        ca_name = item.get('CAName')
        if ca_name is not None:
            ca = self.cas.get(ca_name)
            if ca is None:
                raise BadRequest('CAName %s does not exist' % ca_name)
            issue_certificate(device, ca, None, now)
            if item.get('ExpiresInDays') is not None or item.get('IssuedDaysAgo') is not None:
                issued = now - float(item.get('IssuedDaysAgo', 0)) * DAY
                expires = now + float(item['ExpiresInDays']) * DAY if item.get('ExpiresInDays') is not None else device.cert.expires
                device.cert.issued, device.cert.expires = issued, min(expires, ca.expires)
                device.cert.validity = int(round((device.cert.expires - issued) / DAY))
            if item.get('Revoked'):
                ca.revoked[device.cert.serial] = now
        return device, item.get('TagNames', [])

    def make_devices(self, specs):
        """(device, tag names) for each spec, all checked before any is stored."""
        made = [self.make_device(item) for item in specs]
        if len({device.rot for device, dummy in made}) != len(made):
            raise BadRequest('ROTPublicUIDs repeat')
        return made

    def add_devices(self, payload):
        made = self.make_devices(self.device_specs(payload, SEEDED_PREFIX, len(self.devices)))
        for device, tags in made:
            self.devices[device.rot] = device
            for name in tags:
                self.tags[tag_key(name)].rot_public_uids.add(device.rot)
        return [device for device, dummy in made]

    def seed_devices(self, payload):
        """Devices that bootstrapped earlier: no events."""
        return {'added': [device.rot for device in self.add_devices(payload)]}

    def bootstrap(self, device, at):
        """``device`` bootstraps at ``at`` (seed 002): ACTIVATED with the profile's bootstrap provisioning and a certificate
        from the profile's Root CA if it is on the whitelist, else ALLOCATED without features. Returns the events."""
        device.bootstrapped = device.last_seen = at
        device.state = 'ACTIVATED' if self.whitelisted(device) else 'ALLOCATED'
        events = [event('DEVICE_BOOTSTRAP_EVENT', at, device.bootstrap_payload(), device.rot)]
        profile = self.profiles.get(device.profile_uid)
        if device.state != 'ACTIVATED' or profile is None:
            return events
        if profile.bootstrap:
            device.desired.merge({name: state for name, (state, dummy) in profile.bootstrap.auths.items()},
                                 {name: value for name, (value, dummy) in profile.bootstrap.network.items()}, at)
            events.extend(heartbeat(device, self.cas, at))
        if profile.ca_name in self.cas and device.cert is None:
            events.append(issue_certificate(device, self.cas[profile.ca_name], None, at))
        return events

    async def seed_bootstrap(self, payload):
        """Devices bootstrapping now, without being manufactured first."""
        devices = self.add_devices(payload)
        now = self.now()
        events = [evt for device in devices for evt in self.bootstrap(device, now)]
        deliveries = await self.notify(events)
        return {'added': [device.rot for device in devices], 'events': [evt['EventType'] for evt in events],
                'deliveries': deliveries}

    # factory-fresh devices and their online time ----------------------------------------------------

    def seed_manufactured(self, payload):
        """Modules made at the factory: unknown to every API call until they bootstrap (never, until POST /_mock/online)."""
        specs = self.device_specs(payload, MANUFACTURED_PREFIX, self.factory_serial)
        for item in specs:
            unknown = sorted(set(item) - set(MANUFACTURED_FIELDS))
            if unknown:
                raise BadRequest('a manufactured device takes only %s; got %s' % (', '.join(MANUFACTURED_FIELDS), ', '.join(unknown)))
            if 'IMEI' in item and not (isinstance(item['IMEI'], str) and IMEI_RE.match(item['IMEI'])):
                raise BadRequest('IMEI of %s must be a string of 15 digits' % item['ROTPublicUID'])
        made = [device for device, dummy in self.make_devices(specs)]
        self.factory_serial += len(made)
        for device in made:
            self.manufactured[device.rot] = device
        return {'added': [device.rot for device in made], 'devices': [self.manufactured_view(device) for device in made]}

    @staticmethod
    def manufactured_view(device):
        return {'ROTPublicUID': device.rot, 'IMEI': device.imei, 'DeviceSerialNumber': device.device_serial,
                'DeviceProfileUID': device.profile_uid}

    def online_problems(self, rots, rebootstrap):
        """Why POST /_mock/online cannot time these ROTPublicUIDs (an empty list when it can)."""
        unknown, bootstrapped, not_allocated = [], [], []
        for rot in rots:
            device = self.devices.get(rot.lower())
            if device is None:
                if rot.lower() not in self.manufactured:
                    unknown.append(rot)
            elif not rebootstrap:
                bootstrapped.append(rot)
            elif device.state != 'ALLOCATED':
                not_allocated.append(rot)
        problems = []
        if unknown:
            problems.append('unknown ublox ROTPublicUIDs (make them with /_mock/seed/ublox/manufactured): %s' % shown(unknown))
        if bootstrapped:
            problems.append('ublox devices already bootstrapped: %s (give "rebootstrap": true to bootstrap an ALLOCATED device '
                            'again)' % shown(bootstrapped))
        if not_allocated:
            problems.append('only an ALLOCATED ublox device can bootstrap again; not ALLOCATED: %s' % shown(not_allocated))
        return problems

    def set_online(self, times):
        """Bootstrap times ({ROTPublicUID: mock-clock time, or None for never or not until its event}); a bootstrapped
        device listed here bootstraps again (``online_problems`` has let only ALLOCATED ones through, and only with
        ``rebootstrap``)."""
        self.online.update((rot.lower(), at) for rot, at in times.items())
        self.plan_next_bootstrap()

    def event_times(self, rots):
        """When each of these devices was first on the whitelist, for the countdowns of ``"since": "whitelisted"``;
        devices not on it are left out."""
        times = {}
        for rot in rots:
            device = self.manufactured.get(rot) or self.devices.get(rot)
            at = self.whitelisted_since(device) if device is not None else None
            if at is not None:
                times[rot] = at
        return times

    def plan_next_bootstrap(self):
        """The earliest online time to come, so that a request with nothing due costs one comparison."""
        self.next_bootstrap = min((at for at in self.online.values() if at is not None), default=None)

    async def catch_up(self):
        """Bootstrap every device whose online time has passed, at that time, in time order; deliver the events."""
        now = self.now()
        if self.next_bootstrap is None or self.next_bootstrap > now:
            return
        due = sorted((at, rot) for rot, at in self.online.items() if at is not None and at <= now)
        events = []
        for at, rot in due:
            # every API request catches up first, so the whitelist and profiles are still as they were at ``at``
            del self.online[rot]
            device = self.manufactured.pop(rot, None) or self.devices[rot]
            self.devices[rot] = device
            events.extend(self.bootstrap(device, at))
        self.plan_next_bootstrap()
        await self.notify(events)

    def after_due_bootstraps(self, handler):
        """A route endpoint that lets due devices bootstrap before ``handler`` answers."""
        @functools.wraps(handler)
        async def endpoint(request):
            await self.catch_up()
            return await handler(request)
        return endpoint

    async def seed_heartbeat(self, payload):
        """The next security heartbeat of the given devices (all by default)."""
        rots = payload.get('ROTPublicUIDs')
        if rots is None:
            devices = self.sorted_devices()
        else:
            if not isinstance(rots, list):
                raise BadRequest('ROTPublicUIDs must be a list')
            devices, unknown = self.lookup(rots)
            if unknown:
                raise BadRequest('unknown ROTPublicUIDs: %s' % shown(unknown))
        errors = payload.get('errors') or {}
        if not isinstance(errors, dict):
            raise BadRequest('errors must be {ROTPublicUID: message}')
        errors = {rot.lower(): message for rot, message in errors.items()}
        count = payload.get('count', 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
            raise BadRequest('count must be an integer from 1 to 10')
        events = []
        for dummy in range(count):
            now = self.now()
            for device in devices:
                events.extend(heartbeat(device, self.cas, now, errors.get(device.rot)))
            events.extend(rootca_expiry_events(self.cas, self.devices, now))
        deliveries = await self.notify(events)
        return {'devices': len(devices), 'events': [evt['EventType'] for evt in events], 'deliveries': deliveries}
