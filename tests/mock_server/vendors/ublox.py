"""u-blox Security Services (/ublox/v1): authenticate, refresh, tags; every call is POST + JSON."""

import secrets
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.routing import Route

from .. import credentials
from ..common import BadRequest, json_response, read_json, utc_iso
from .base import Vendor, seed_list

PREFIX = 'ublox'

AUTH_TOKEN_LIFETIME = 3600            # exp - iat of the seed's sample AuthToken
REFRESH_TOKEN_LIFETIME = 3 * 24 * 3600  # "The RefreshToken can be used for 3 days" (seed 002)
PAGE_SIZE = 100
TAG_NAME_MAX = 255
# Seed 002 /tag/create; the list has an empty item between | and , which we read as a lost backslash.
TAG_FORBIDDEN = '^`~<>"{}|\\,'
ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_M0ckP00l1'
AUDIENCE = 'm0ck4ud13nc3cl13nt1d0000000'


class Tag:
    """A u-blox tag; assignments are kept for the later assign/remove endpoints."""

    def __init__(self, name, created):
        self.name = name
        self.created = created
        self.rot_public_uids = set()
        self.device_profile_uids = set()

    def public(self):
        return {'TagName': self.name, 'CreatedDate': utc_iso(self.created)}

    def dump(self):
        return dict(self.public(), ROTPublicUIDs=sorted(self.rot_public_uids), DeviceProfileUIDs=sorted(self.device_profile_uids))


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
        self.auth_routes = frozenset({('POST', '/v1/authenticate'), ('POST', '/v1/refreshauthtoken')})
        self.mounts = {PREFIX: [
            Route('/v1/authenticate', self.authenticate, methods=['POST']),
            Route('/v1/refreshauthtoken', self.refresh, methods=['POST']),
            Route('/v1/tag/create', self.tag_create, methods=['POST']),
            Route('/v1/tag/get', self.tag_get, methods=['POST']),
            Route('/v1/tag/delete', self.tag_delete, methods=['POST']),
        ]}
        self.reset()

    def reset(self):
        self.auth_tokens = {}
        self.refresh_tokens = {}
        self.tags = {}

    def dump(self):
        return {
            'tags': [tag.dump() for tag in self.tags.values()],
            'authTokens': len(self.auth_tokens),
            'refreshTokens': len(self.refresh_tokens),
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

    # auth ------------------------------------------------------------------------------------

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
        if name.lower() in self.tags:
            # Tag names are case-insensitive, so "Downtown" duplicates "downtown".
            raise self.fail(400, 'Bad Request. TagName already exists')
        tag = Tag(name, self.clock.now())
        self.tags[name.lower()] = tag
        return tag

    async def tag_create(self, request):
        self.check_auth(request)
        data = await self.body(request)
        self.add_tag(data.get('TagName'))
        return json_response({'message': 'Success'})

    async def tag_get(self, request):
        self.check_auth(request)
        data = await self.body(request)
        number = data.get('PageNumber', 1)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise self.fail(400, 'Bad Request. PageNumber must be a positive integer')
        tags = list(self.tags.values())
        chunk = tags[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
        return json_response({'Tags': [tag.public() for tag in chunk], 'PageNumber': number,
                              'PageSize': PAGE_SIZE, 'TotalRecords': len(tags)})

    async def tag_delete(self, request):
        self.check_auth(request)
        data = await self.body(request, ('TagName',))
        tag = self.tags.get(data['TagName'].lower())
        if tag is None:
            raise self.fail(404, 'Not Found. TagName does not exist')
        if tag.rot_public_uids or tag.device_profile_uids:
            raise self.fail(400, 'Request aborted. This tag is currently assigned to ROTPublicUID(s)')
        del self.tags[tag.name.lower()]
        return json_response({'message': 'Success'})

    # seeding ---------------------------------------------------------------------------------

    def seed_tags(self, payload):
        added = []
        for item in seed_list(payload, 'tags'):
            item = {'TagName': item} if isinstance(item, str) else item
            if not isinstance(item, dict):
                raise BadRequest('each tag is a name or {"TagName", "ROTPublicUIDs"?}')
            problem = self.tag_name_problem(item.get('TagName'))
            if problem or item['TagName'].lower() in self.tags:
                raise BadRequest(problem or 'tag %s already exists' % item['TagName'])
            tag = self.add_tag(item['TagName'])
            tag.rot_public_uids.update(item.get('ROTPublicUIDs', []))
            tag.device_profile_uids.update(item.get('DeviceProfileUIDs', []))
            added.append(tag.name)
        return {'added': added}
