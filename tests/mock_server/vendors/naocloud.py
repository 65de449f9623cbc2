"""NAO Cloud API v2 (/naocloud/api/v2): API key, session JWT and OAuth2 auth; JSON:API sites."""

import secrets
import uuid

import jwt
from starlette.routing import Route

from .. import credentials
from ..common import BadRequest, json_response, read_json, utc_iso
from .base import Vendor, seed_count, seed_list

PREFIX = 'naocloud'

SESSION_LIFETIME = 24 * 3600  # "The token validity is usually 24 hours" (seed 001)
PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100

TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
          406: 'Not Acceptable', 409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
          500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}


class NaoCloud(Vendor):
    """One user; sessions are server-issued JWTs looked up in memory."""

    name = 'naocloud'

    def __init__(self, state):
        super().__init__(state)
        self.jwt_secret = secrets.token_bytes(32)
        self.sessions = {}
        self.sites = {}
        self.next_site_id = 1
        self.auth_routes = frozenset({('POST', '/api/v2/sessions')})
        self.mounts = {PREFIX: [
            Route('/api/v2/sessions', self.create_session, methods=['POST']),
            Route('/api/v2/sites', self.list_sites, methods=['GET']),
            Route('/api/v2/sites/{site_id}', self.get_site, methods=['GET']),
        ]}
        self.reset()

    def reset(self):
        self.sessions = {}
        self.sites = {}
        for site in credentials.NAOCLOUD_SITES:
            self.sites[site['id']] = dict(site)
        self.next_site_id = max(self.sites) + 1

    def dump(self):
        return {'sites': list(self.sites.values()), 'sessions': len(self.sessions)}

    def error_response(self, status, message, prefix=None):
        title = TITLES.get(status, 'Error')
        return json_response({'errors': [{'status': str(status), 'title': title, 'detail': message or title}]}, status)

    # auth ------------------------------------------------------------------------------------

    def check_auth(self, request):
        """API key or session JWT raw in Authorization; OAuth2 access token as Bearer (seed 001)."""
        header = request.headers.get('authorization')
        if not header:
            raise self.fail(401, 'Authorization header is missing')
        if header[:7].lower() == 'bearer ':
            if header[7:].strip() != credentials.NAOCLOUD_ACCESS_TOKEN:
                raise self.fail(401, 'Invalid OAuth2 access token')
            return
        token = header.strip()
        if token == credentials.NAOCLOUD_API_KEY:
            return
        record = self.sessions.get(token)
        if record is None:
            raise self.fail(401, 'Invalid API key or JWT')
        if not self.state.tokens.alive(record[0]) or record[1] <= self.clock.now():
            raise self.fail(401, 'JWT has expired')

    async def create_session(self, request):
        try:
            body = await read_json(request, empty={})
        except ValueError:
            raise self.fail(400, 'Request body is not valid JSON') from None
        session = body.get('session') if isinstance(body, dict) else None
        if session is not None:
            if (not isinstance(session, dict) or session.get('email') != credentials.NAOCLOUD_EMAIL
                    or session.get('password') != credentials.NAOCLOUD_PASSWORD):
                raise self.fail(401, 'Invalid email or password')
        elif request.headers.get('authorization', '').strip() != credentials.NAOCLOUD_API_KEY:
            raise self.fail(401, 'Sessions need the API key in Authorization or {"session": {"email", "password"}}')
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

    # sites -----------------------------------------------------------------------------------

    @staticmethod
    def site_item(site, url):
        return {'id': str(site['id']), 'type': 'site', 'attributes': dict(site),
                'links': {'self': str(url.replace(query='')).rstrip('?')}}

    def page_param(self, request, name, default, maximum=None):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1 or (maximum and int(raw) > maximum):
            limit = ' from 1 to %d' % maximum if maximum else ' of at least 1'
            raise self.fail(400, '%s must be an integer%s' % (name, limit))
        return int(raw)

    async def list_sites(self, request):
        self.check_auth(request)
        number = self.page_param(request, 'page[number]', 1)
        size = self.page_param(request, 'page[size]', PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
        sites = list(self.sites.values())
        chunk = sites[(number - 1) * size:number * size]

        def link(page):
            return str(request.url.replace(query='page[number]=%d&page[size]=%d' % (page, size)))

        base = request.url.replace(query='')
        links = {'self': link(number), 'current': link(number)}
        if number * size < len(sites):
            links['next'] = link(number + 1)
        items = [self.site_item(site, base.replace(path='%s/%d' % (base.path, site['id']))) for site in chunk]
        return json_response({
            'data': items,
            'meta': {'pagination': {'current': number, 'records': len(sites)}, 'resource_count': len(items)},
            'links': links,
        })

    async def get_site(self, request):
        self.check_auth(request)
        raw = request.path_params['site_id']
        site = self.sites.get(int(raw)) if raw.isdigit() else None
        if site is None:
            raise self.fail(404, 'Site %s not found' % raw)
        item = self.site_item(site, request.url)
        return json_response({'data': item, 'links': item['links']})

    # seeding ---------------------------------------------------------------------------------

    def seed_sites(self, payload):
        count = seed_count(payload)
        items = [{'name': 'Mock Site %d' % n} for n in range(1, count + 1)] if count else seed_list(payload, 'sites')
        added = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get('name'), str):
                raise BadRequest('each site needs a name')
            site = {'id': self.next_site_id, 'name': item['name'],
                    'latitude': item.get('latitude', 48.0), 'longitude': item.get('longitude', 11.0)}
            self.sites[site['id']] = site
            self.next_site_id += 1
            added.append(site['id'])
        return {'added': added}
