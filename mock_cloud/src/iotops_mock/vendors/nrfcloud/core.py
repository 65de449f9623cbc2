"""nRF Cloud, what both hosts share: the teams, the factory of modems, the simulator settings, auth, paging and errors.

The parts of the vendor (``devices``: the device API; ``provisioning``: the Provisioning Service) get this
object and keep no state of their own: a reset of the core resets the cloud.
"""

import json
import os

import jwt

from ... import credentials
from ...common import ApiError, BadRequest, b64url_decode, b64url_encode, bearer_token, is_number, json_response
from ..base import OnState, seed_count, seed_list
from .simulator import Settings

PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
# The SDK caps device JWT lifetimes at 7 days (NRF_CLOUD_JWT_VALID_TIME_S_MAX); the mock enforces it.
DEVICE_JWT_MAX_LIFETIME = 7 * 24 * 3600

REASONS = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
           409: 'Conflict', 412: 'Precondition Failed', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error',
           502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}


class Team:
    """State of one nRF Cloud team: onboarded devices, their JWT keys, bulk-ops requests and claimed devices."""

    def __init__(self, label, tenant_id, name, api_key):
        self.label = label
        self.tenant_id = tenant_id
        self.name = name
        self.api_key = api_key
        self.devices = {}
        self.device_keys = {}
        self.bulk_ops = {}
        self.claimed = {}

    def dump(self, now):
        return {
            'tenantId': self.tenant_id,
            'name': self.name,
            'devices': [dict(device, hasPublicKey=device['id'] in self.device_keys) for device in self.devices.values()],
            'bulkOps': [{key: value for key, value in op.items() if not key.startswith('_')} for op in self.bulk_ops.values()],
            'claimedDevices': [dict(device.dump(now), hasJwtKey=device.id in self.device_keys) for device in self.claimed.values()],
        }


class NrfCore(OnState):
    """State and rules both nRF Cloud hosts share, as they do in the real service."""

    def __init__(self, state):
        super().__init__(state)
        self.settings = Settings()
        self.signing_secret = os.urandom(16)
        self.reset()

    def reset(self):
        self.teams = {}
        self.by_key = {}
        for cred in credentials.NRFCLOUD_TEAMS:
            team = Team(cred['label'], cred['tenant_id'], cred['name'], cred['api_key'])
            self.teams[team.label] = team
            self.by_key[team.api_key] = team
        self.modems = {}            # every nRF91 device the mock knows, by device id (the "factory")
        self.factory_serial = 0
        self.settings.reset()

    def error(self, status, code, message):
        """An ApiError with an explicit nRF Cloud error code (status * 100 + n)."""
        return ApiError(json_response({'code': code, 'message': message}, status))

    def team_for(self, request):
        """The team whose API key is the Bearer token, else 401."""
        team = self.by_key.get(bearer_token(request.headers.get('authorization')))
        if team is None:
            raise self.error(401, 40100, 'Unauthorized: missing or unknown API key')
        return team

    def find_device_key(self, device_id):
        for team in self.teams.values():
            key = team.device_keys.get(device_id)
            if key is not None:
                return team, key
        return None, None

    def device_from_jwt(self, token):
        """Validate a device JWT (seed 000: ES256 only, sub = device ID) and return (team, device_id)."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={'verify_signature': False})
        except jwt.PyJWTError:
            raise self.error(401, 40100, 'Unauthorized: token is neither an API key nor a JWT') from None
        alg = header.get('alg')
        if alg != 'ES256':
            raise self.error(401, 40101, 'Unauthorized: JWT algorithm %s is not supported, nRF Cloud accepts ES256 only' % alg)
        device_id = claims.get('sub')
        if not device_id and isinstance(claims.get('iss'), str) and '.' in claims['iss']:
            # Modem-generated JWTs omit sub and carry "<hardware>.<deviceId>" in iss.
            device_id = claims['iss'].split('.', 1)[1]
        if not isinstance(device_id, str) or not device_id:
            raise self.error(401, 40102, 'Unauthorized: JWT has no sub claim with the device ID')
        team, key = self.find_device_key(device_id)
        if key is None:
            raise self.error(401, 40103, 'Unauthorized: no public key is registered for device %s' % device_id)
        try:
            jwt.decode(token, key, algorithms=['ES256'],
                       options={'verify_exp': False, 'verify_iat': False, 'verify_nbf': False, 'verify_aud': False, 'verify_iss': False})
        except jwt.PyJWTError:
            raise self.error(401, 40104, 'Unauthorized: JWT signature does not verify with the public key of device %s' % device_id) from None
        exp = claims.get('exp')
        if not is_number(exp):
            raise self.error(401, 40105, 'Unauthorized: JWT has no exp claim')
        now = self.clock.now()
        if exp <= now:
            raise self.error(401, 40106, 'Unauthorized: JWT has expired')
        start = claims['iat'] if is_number(claims.get('iat')) else now
        if exp - start > DEVICE_JWT_MAX_LIFETIME:
            raise self.error(401, 40107, 'Unauthorized: JWT lifetime exceeds the maximum of 7 days')
        return team, device_id

    def page(self, request, records, sort_key=None, render=None):
        """pageLimit / pageNextToken over records sorted by id (or ``sort_key``); the token names the last key returned.
        With ``render``, ``records`` are objects and only the page's are rendered (a list of thousands stays cheap)."""
        params = request.query_params
        raw_limit = params.get('pageLimit')
        limit = PAGE_LIMIT_DEFAULT
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= PAGE_LIMIT_MAX:
                raise self.error(400, 40000, 'pageLimit must be an integer from 1 to %d' % PAGE_LIMIT_MAX)
            limit = int(raw_limit)
        if params.get('pageSort') not in (None, 'asc', 'desc'):
            raise self.error(400, 40000, 'pageSort must be asc or desc')
        descending = params.get('pageSort') == 'desc'
        sort_key = sort_key or (lambda item: item['id'])
        ordered = sorted(records, key=sort_key, reverse=descending)
        token = params.get('pageNextToken')
        if token:
            try:
                after = json.loads(b64url_decode(token))['after']
                ordered = [item for item in ordered if (sort_key(item) < after if descending else sort_key(item) > after)]
            except (ValueError, KeyError, TypeError):
                raise self.error(400, 40000, 'pageNextToken is not valid') from None
        items = ordered[:limit]
        body = {'items': [render(item) for item in items] if render else items, 'total': len(records)}
        if len(ordered) > limit:
            body['pageNextToken'] = b64url_encode(json.dumps({'after': sort_key(items[-1])}).encode())
        return body

    def team_by_ref(self, ref):
        """Find a team by label ('a'/'b'), tenantId, name or API key; default team a."""
        if ref is None:
            return self.teams[credentials.NRFCLOUD_TEAM_A_LABEL]
        for team in self.teams.values():
            if ref in (team.label, team.tenant_id, team.name, team.api_key) or str(ref).lower() == team.label:
                return team
        raise BadRequest('unknown nRF Cloud team %r' % (ref,))

    @staticmethod
    def seed_items(payload, prefix):
        """Explicit items or ``count`` generated ones (ids <prefix>-0001...)."""
        count = seed_count(payload)
        if count is not None:
            start = payload.get('start', 1)
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                raise BadRequest('start must be a non-negative integer')
            return [{'id': '%s-%04d' % (prefix, number)} for number in range(start, start + count)]
        items = seed_list(payload, 'devices')
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get('id'), str) or not item['id']:
                raise BadRequest('each device needs a non-empty string id')
        return items
