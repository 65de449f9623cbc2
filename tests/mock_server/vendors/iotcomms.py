"""iotcomms.io provisioning API (/iotcomms/provisioning): customer-signed RS256 JWTs and SIP devices."""

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.routing import Route

from .. import credentials
from ..common import ApiError, BadRequest, bearer_token, decode_json_segment, is_number, json_response
from .base import Vendor, seed_list

PREFIX = 'iotcomms'

IAT_MAX_AGE = 3600        # "Tokens older than one hour will be rejected" (seed 004)
IAT_MAX_FUTURE = 60       # clock skew the mock tolerates for iat
EXP_MAX_AFTER_IAT = 5400  # "cannot exceed 90 minutes from the issuance time" (seed 004)

# Methods each path answers today; later issues add PUT (collection) and PATCH/DELETE (item).
COLLECTION_METHODS = ('OPTIONS', 'GET')
ITEM_METHODS = ('OPTIONS', 'GET')
WRITE_ONLY_FIELDS = ('password',)


def load_public_key(pem):
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError('the JWT public key must be an RSA key')
    return key


class Domain:
    """A provisioned tenant domain: its uploaded JWT public key and its devices."""

    def __init__(self, name, public_key):
        self.name = name
        self.public_key = public_key
        self.devices = {}

    def put_device(self, device):
        """Create or replace a device (the store API later PUT/PATCH handlers use)."""
        record = {'deviceId': device['deviceId'], 'authType': 'disabled', 'deviceType': 'alarmUnit',
                  'deviceCLI': '', 'macAddress': '', 'description': ''}
        record.update(device)
        self.devices[record['deviceId']] = record
        return record

    def delete_device(self, device_id):
        return self.devices.pop(device_id, None)

    @staticmethod
    def public(record):
        return {key: value for key, value in record.items() if key not in WRITE_ONLY_FIELDS}

    def dump(self):
        return {'devices': [self.public(record) for record in self.devices.values()]}


class Iotcomms(Vendor):
    """Every request carries a self-signed JWT; each refusal names the rule it broke."""

    name = 'iotcomms'

    def __init__(self, state):
        super().__init__(state)
        with open(credentials.IOTCOMMS_PUBLIC_KEY_PATH, 'rb') as handle:
            self.default_key = load_public_key(handle.read())
        self.domains = {}
        self.mounts = {PREFIX: [
            Route('/provisioning/device/{domain}', self.list_devices, methods=['GET']),
            Route('/provisioning/device/{domain}', self.options_collection, methods=['OPTIONS']),
            Route('/provisioning/device/{domain}/{device_id}', self.get_device, methods=['GET']),
            Route('/provisioning/device/{domain}/{device_id}', self.options_item, methods=['OPTIONS']),
        ]}
        self.reset()

    def reset(self):
        self.domains = {credentials.IOTCOMMS_DOMAIN: Domain(credentials.IOTCOMMS_DOMAIN, self.default_key)}

    def dump(self):
        return {'domains': {name: domain.dump() for name, domain in self.domains.items()}}

    def error_response(self, status, message, prefix=None):
        return json_response({'success': False, 'message': message}, status)

    # auth ------------------------------------------------------------------------------------

    def reject(self, rule, status=401):
        return ApiError(json_response({'success': False, 'message': 'JWT rejected: ' + rule}, status))

    def authorize(self, request):
        """Check the JWT against the seed 004 rules and return the domain of the path."""
        token = bearer_token(request.headers.get('authorization'))
        if not token:
            raise self.reject('no Authorization: Bearer token')
        parts = token.split('.')
        try:
            if len(parts) != 3:
                raise ValueError('not three parts')
            header = decode_json_segment(parts[0])
            claims = decode_json_segment(parts[1])
        except ValueError:
            raise self.reject('not a JWT') from None
        if header.get('alg') != 'RS256':
            raise self.reject('alg must be RS256, got %s' % header.get('alg'))
        sub = claims.get('sub')
        if not isinstance(sub, str) or not sub:
            raise self.reject('sub claim missing')
        domain = self.domains.get(sub)
        if domain is None:
            raise self.reject('sub %s is not a provisioned domain' % sub)
        try:
            jwt.PyJWS().decode(token, domain.public_key, algorithms=['RS256'])
        except jwt.PyJWTError:
            raise self.reject('signature does not verify with the public key of domain %s' % sub) from None
        now = self.clock.now()
        iat = claims.get('iat')
        if not is_number(iat):
            raise self.reject('iat claim missing')
        if iat < now - IAT_MAX_AGE:
            raise self.reject('iat is older than one hour')
        if iat > now + IAT_MAX_FUTURE:
            raise self.reject('iat is more than 60 seconds in the future')
        exp = claims.get('exp')
        if exp is not None:
            if not is_number(exp):
                raise self.reject('exp is not a number')
            if exp - iat > EXP_MAX_AFTER_IAT:
                raise self.reject('exp is more than 90 minutes after iat')
            if exp <= now:
                raise self.reject('exp is in the past')
        if sub != request.path_params['domain']:
            raise self.reject('sub %s does not match the domain of the path' % sub, status=403)
        return domain

    # devices ---------------------------------------------------------------------------------

    async def list_devices(self, request):
        domain = self.authorize(request)
        return json_response({'success': True, 'devices': [domain.public(record) for record in domain.devices.values()]})

    async def get_device(self, request):
        domain = self.authorize(request)
        record = domain.devices.get(request.path_params['device_id'])
        if record is None:
            raise self.fail(404, 'Device %s not found in domain %s' % (request.path_params['device_id'], domain.name))
        return json_response({'success': True, 'device': domain.public(record)})

    async def options_collection(self, request):
        # CORS-preflight style: no JWT needed, body {} (OpenAPI sample), Allow lists the methods.
        return json_response({}, headers={'Allow': ', '.join(COLLECTION_METHODS)})

    async def options_item(self, request):
        return json_response({}, headers={'Allow': ', '.join(ITEM_METHODS)})

    # seeding ---------------------------------------------------------------------------------

    def seed_devices(self, payload):
        domain = self.domains.get(payload.get('domain', credentials.IOTCOMMS_DOMAIN))
        if domain is None:
            raise BadRequest('unknown domain %r' % payload.get('domain'))
        added = []
        for item in seed_list(payload, 'devices'):
            if not isinstance(item, dict) or not isinstance(item.get('deviceId'), str) or not item['deviceId']:
                raise BadRequest('each device needs a non-empty string deviceId')
            added.append(domain.put_device(item)['deviceId'])
        return {'domain': domain.name, 'added': added}

    def seed_domains(self, payload):
        name = payload.get('domain')
        if not isinstance(name, str) or not name:
            raise BadRequest('domain is required')
        pem = payload.get('public_key')
        try:
            key = load_public_key(pem.encode()) if pem else self.default_key
        except (ValueError, TypeError, AttributeError) as exc:
            raise BadRequest('public_key must be an RSA public key in PEM: %s' % exc) from exc
        self.domains[name] = Domain(name, key)
        return {'added': [name]}
