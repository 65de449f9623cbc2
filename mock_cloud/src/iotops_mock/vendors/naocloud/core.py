"""NAO Cloud, what every area shares: the sites, tags and jobs of the one user, their sessions (API key, session JWT,
OAuth2 access token), the request format rules and JSON:API paging."""

import secrets
import uuid
from urllib.parse import quote

import jwt

from ... import credentials
from ...common import json_response, read_json, utc_iso
from ..base import OnState
from .model import JSON_TYPES, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SESSION_LIFETIME, Invalid, fail, unprocessable


class NaoCore(OnState):
    """One user; sessions are server-issued JWTs looked up in memory."""

    def __init__(self, state):
        super().__init__(state)
        self.jwt_secret = secrets.token_bytes(32)
        self.reset()

    def reset(self):
        self.sessions = {}
        self.sites = {}
        for site in credentials.NAOCLOUD_SITES:
            self.sites[site['id']] = dict(site)
        self.next_site_id = max(self.sites) + 1
        self.trackables = {site_id: {} for site_id in self.sites}
        self.jobs = {}
        self.next_trackable_id = 1
        self.next_job_id = 48145  # the id of the vendor's example; any number would do
        self.job_failures = []

    def settle(self):
        now = self.clock.now()
        for job in self.jobs.values():
            job.settle(now)

    def check_format(self, request):
        """406 when the client does not accept JSON, or sends a body that is not declared JSON (api §C.7)."""
        accept = request.headers.get('accept')
        if accept and not any(kind in accept for kind in JSON_TYPES + ('*/*', 'application/*')):
            raise fail(406, 'The API answers only application/json or application/vnd.api+json; Accept was %s' % accept)
        if request.method in ('POST', 'PUT'):
            content_type = request.headers.get('content-type', '')
            if content_type and not any(kind in content_type for kind in JSON_TYPES):
                raise fail(406, 'The request body must be JSON (Content-Type application/json); got %s' % content_type)

    async def body(self, request, wrapper):
        self.check_format(request)
        try:
            body = await read_json(request)
        except ValueError:
            raise fail(400, 'Request body is not valid JSON') from None
        if not isinstance(body, dict) or wrapper not in body:
            raise unprocessable(Invalid([(None, 'param is missing or the value is empty: %s' % wrapper)]))
        return body[wrapper]

    def check_auth(self, request):
        """API key or session JWT raw in Authorization; OAuth2 access token as Bearer (seed 001)."""
        header = request.headers.get('authorization')
        if not header:
            raise fail(401, 'Authorization header is missing')
        if header[:7].lower() == 'bearer ':
            if header[7:].strip() != credentials.NAOCLOUD_ACCESS_TOKEN:
                raise fail(401, 'Invalid OAuth2 access token')
            self.settle()
            return
        token = header.strip()
        if token == credentials.NAOCLOUD_API_KEY:
            self.settle()
            return
        record = self.sessions.get(token)
        if record is None:
            raise fail(401, 'Invalid API key or JWT')
        if not self.state.tokens.alive(record[0]) or record[1] <= self.clock.now():
            raise fail(401, 'JWT has expired')
        self.settle()

    async def create_session(self, request):
        try:
            body = await read_json(request, empty={})
        except ValueError:
            raise fail(400, 'Request body is not valid JSON') from None
        session = body.get('session') if isinstance(body, dict) else None
        if session is not None:
            if (not isinstance(session, dict) or session.get('email') != credentials.NAOCLOUD_EMAIL
                    or session.get('password') != credentials.NAOCLOUD_PASSWORD):
                raise fail(401, 'Invalid email or password')
        elif request.headers.get('authorization', '').strip() != credentials.NAOCLOUD_API_KEY:
            raise fail(401, 'Sessions need the API key in Authorization or {"session": {"email", "password"}}')
        now = int(self.clock.now())
        expires = now + SESSION_LIFETIME
        token = jwt.encode({'sub': credentials.NAOCLOUD_USER_ID, 'email': credentials.NAOCLOUD_EMAIL, 'iat': now,
                            'exp': expires, 'jti': str(uuid.uuid4())}, self.jwt_secret, algorithm='HS256')
        self.sessions[token] = (self.state.tokens.issue(), expires)
        return json_response({
            'data': {'id': credentials.NAOCLOUD_USER_ID, 'type': 'session',
                     'attributes': {'email': credentials.NAOCLOUD_EMAIL, 'auth_token': credentials.NAOCLOUD_API_KEY}},
            'meta': {'jwt': token, 'expires_at': utc_iso(expires)},
        }, status=201)

    def page_param(self, request, name, default, maximum=None):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1 or (maximum and int(raw) > maximum):
            limit = ' from 1 to %d' % maximum if maximum else ' of at least 1'
            raise fail(400, '%s must be an integer%s' % (name, limit))
        return int(raw)

    def paged(self, request, records, make_item):
        """A JSON:API list answer of ``records`` with page[number]/page[size] paging; other query parameters stay in the links."""
        number = self.page_param(request, 'page[number]', 1)
        size = self.page_param(request, 'page[size]', PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
        chunk = records[(number - 1) * size:number * size]
        kept = [(key, value) for key, value in request.query_params.multi_items() if not key.startswith('page[')]

        def link(page):
            pairs = kept + [('page[number]', str(page)), ('page[size]', str(size))]
            query = '&'.join('%s=%s' % (key, quote(value, safe=',:')) for key, value in pairs)
            return str(request.url.replace(query=query))

        links = {'self': link(number), 'current': link(number)}
        if number * size < len(records):
            links['next'] = link(number + 1)
        base = request.url.replace(query='')
        items = [make_item(record, base.replace(path='%s/%d' % (base.path, record['id']))) for record in chunk]
        return json_response({
            'data': items,
            'meta': {'pagination': {'current': number, 'records': len(records)}, 'resource_count': len(items)},
            'links': links,
        })

    @staticmethod
    def single(item, status=200):
        return json_response({'data': item, 'links': item['links']}, status=status)
