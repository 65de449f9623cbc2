"""u-blox authentication: POST /authenticate and /refreshauthtoken issue AuthTokens (Cognito-style RS256 JWTs) and
RefreshTokens; every other call checks its AuthToken here. Tokens are server-issued, so they are looked up in memory
instead of re-verified."""

import secrets
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ... import credentials
from ...common import json_response, read_json
from .api import fail

AUTH_TOKEN_LIFETIME = 3600            # exp - iat of the seed's sample AuthToken
REFRESH_TOKEN_LIFETIME = 3 * 24 * 3600  # "The RefreshToken can be used for 3 days" (seed 002)
ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_M0ckP00l1'
AUDIENCE = 'm0ck4ud13nc3cl13nt1d0000000'


class Auth:
    """The domain's API key, its tokens, and the request bodies of authenticated calls."""

    def __init__(self, store):
        self.store = store
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_urlsafe(32)
        self.user_sub = str(uuid.uuid4())
        self.auth_tokens = {}
        self.refresh_tokens = {}

    def reset(self):
        self.auth_tokens = {}
        self.refresh_tokens = {}

    def routes(self):
        return [('/authenticate', self.authenticate), ('/refreshauthtoken', self.refresh)]

    def issue_auth_token(self):
        now = int(self.store.clock.now())
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
        self.auth_tokens[token] = (self.store.state.tokens.issue(), claims['exp'])
        return token

    def check_auth(self, request):
        """Accept ``Authorization: <AuthToken>`` raw (u-blox sample) and ``Bearer <AuthToken>`` (spec)."""
        header = request.headers.get('authorization', '')
        token = header[7:].strip() if header[:7].lower() == 'bearer ' else header.strip()
        record = self.auth_tokens.get(token)
        if record is None or not self.store.state.tokens.alive(record[0]) or record[1] <= self.store.clock.now():
            raise fail(401, 'Unauthorized')

    async def authenticate(self, request):
        data = await self.body(request, ('APIKey', 'APISecret'))
        if data['APIKey'] != credentials.UBLOX_API_KEY or data['APISecret'] != credentials.UBLOX_API_SECRET:
            raise fail(401, 'Not Authorized.')
        refresh = secrets.token_urlsafe(96)
        self.refresh_tokens[refresh] = (self.store.state.tokens.issue(), self.store.clock.now() + REFRESH_TOKEN_LIFETIME)
        return json_response({'AuthToken': self.issue_auth_token(), 'RefreshToken': refresh})

    async def refresh(self, request):
        data = await self.body(request, ('APIKey', 'RefreshToken'))
        record = self.refresh_tokens.get(data['RefreshToken'])
        if (data['APIKey'] != credentials.UBLOX_API_KEY or record is None
                or not self.store.state.tokens.alive(record[0], refresh=True) or record[1] <= self.store.clock.now()):
            raise fail(401, 'Not Authorized.')
        return json_response({'AuthToken': self.issue_auth_token()})

    async def body(self, request, required=()):
        """JSON object body with the required string fields, else 400 Bad Request."""
        try:
            data = await read_json(request, empty={})
        except ValueError:
            raise fail(400, 'Bad Request') from None
        if not isinstance(data, dict):
            raise fail(400, 'Bad Request')
        for field in required:
            if not isinstance(data.get(field), str) or not data[field]:
                raise fail(400, 'Bad Request')
        return data

    async def authed_body(self, request, required=()):
        self.check_auth(request)
        return await self.body(request, required)
