"""NAO Cloud API v2 (/naocloud/api/v2): API key, session JWT and OAuth2 auth; JSON:API sites, tracking tags
("nao_trackables") and 303 background jobs."""

import re
import secrets
import uuid
from urllib.parse import quote

import jwt
from starlette.responses import Response
from starlette.routing import Route

from .. import credentials
from ..common import ApiError, BadRequest, is_number, json_response, read_json, utc_iso
from .base import Vendor, seed_count, seed_list

PREFIX = 'naocloud'

SESSION_LIFETIME = 24 * 3600  # "The token validity is usually 24 hours" (seed 001)
PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100

TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
          406: 'Not Acceptable', 409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
          500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}

# Tracking tags (docs/mock-assumptions.md, NAO Cloud rows).
MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$')
NAME_MAX = 255
CATEGORY_MAX = 255
TRACKABLE_WRITABLE = ('name', 'tracking_id', 'category', 'is_active')
FILTER_ATTRIBUTES = ('tracking_id', 'is_active', 'category', 'name', 'battery')
JOB_BASE_SECONDS = 0.2       # a background job takes this long on the mock clock ...
JOB_ITEM_SECONDS = 0.001     # ... plus this per tag of a batch
JOB_IN_PROGRESS = 'In progress'  # the casing of the vendor's example (api §C.5)
JSON_TYPES = ('application/json', 'application/vnd.api+json')


class Invalid(ValueError):
    """A 422: ``errors`` is a list of (attribute or None, detail)."""

    def __init__(self, errors):
        super().__init__('; '.join(detail for _attr, detail in errors))
        self.errors = errors


def check_mac(value):
    if not isinstance(value, str) or not MAC_RE.match(value):
        return 'Tracking id %s is not a MAC address of the form AA:BB:CC:DD:EE:FF' % _show(value)
    return None


def _show(value):
    return '"%s"' % value if isinstance(value, str) else str(value)


def check_trackable_attributes(attributes, creating):
    """422 problems of a nao_trackable body (all of them, as Rails validations report)."""
    errors = []
    if not isinstance(attributes, dict):
        raise Invalid([(None, 'param is missing or the value is empty: nao_trackable')])
    for key in attributes:
        if key == 'id':
            errors.append(('id', 'Id is assigned by NAO Cloud; client-generated ids are not accepted'))
        elif key not in TRACKABLE_WRITABLE:
            errors.append((key, 'found unpermitted parameter: %s' % key))
    if creating or 'name' in attributes:
        name = attributes.get('name')
        if not isinstance(name, str) or not name.strip():
            errors.append(('name', "Name can't be blank"))
        elif len(name) > NAME_MAX:
            errors.append(('name', 'Name is too long (maximum is %d characters)' % NAME_MAX))
    if creating or 'tracking_id' in attributes:
        if attributes.get('tracking_id') in (None, ''):
            errors.append(('tracking_id', "Tracking id can't be blank"))
        else:
            problem = check_mac(attributes.get('tracking_id'))
            if problem:
                errors.append(('tracking_id', problem))
    if 'category' in attributes:
        category = attributes['category']
        if category is not None and (not isinstance(category, str) or len(category) > CATEGORY_MAX):
            errors.append(('category', 'Category must be a string of at most %d characters, or null' % CATEGORY_MAX))
    if 'is_active' in attributes and not isinstance(attributes['is_active'], bool):
        errors.append(('is_active', 'Is active must be true or false'))
    if errors:
        raise Invalid(errors)


class Job:
    """A background job (type ``job_watcher``): "In progress" until its time on the mock clock has come."""

    def __init__(self, job_id, created, finish_at, work, forced_failure=None):
        self.id = job_id
        self.created = created
        self.finish_at = finish_at
        self.work = work
        self.forced_failure = forced_failure
        self.status = JOB_IN_PROGRESS
        self.message = None
        self.updated = created

    def settle(self, now):
        if self.status != JOB_IN_PROGRESS or now < self.finish_at:
            return
        if self.forced_failure is not None:
            self.status, self.message = 'failure', self.forced_failure
        else:
            try:
                self.work()
            except Invalid as exc:
                self.status, self.message = 'failure', 'Validation failed: %s' % exc
            else:
                self.status, self.message = 'success', 'success'
        self.updated = self.finish_at

    def item(self):
        return {'id': str(self.id), 'type': 'job_watcher', 'attributes': {
            'id': self.id, 'name': None, 'description': None, 'status': self.status, 'message': self.message,
            'created_at': utc_iso(self.created), 'updated_at': utc_iso(self.updated),
            'has_finished': self.status != JOB_IN_PROGRESS}}


class NaoCloud(Vendor):
    """One user; sessions are server-issued JWTs looked up in memory."""

    name = 'naocloud'

    def __init__(self, state):
        super().__init__(state)
        self.jwt_secret = secrets.token_bytes(32)
        self.sessions = {}
        self.sites = {}
        self.trackables = {}
        self.jobs = {}
        self.next_site_id = 1
        self.next_trackable_id = 1
        self.next_job_id = 1
        self.job_failures = []
        self.auth_routes = frozenset({('POST', '/api/v2/sessions')})
        trackables = '/api/v2/sites/{site_id}/nao_trackables'
        self.mounts = {PREFIX: [
            Route('/api/v2/sessions', self.create_session, methods=['POST']),
            Route('/api/v2/sites', self.list_sites, methods=['GET']),
            Route('/api/v2/sites', self.create_site, methods=['POST']),
            Route('/api/v2/sites/{site_id}', self.get_site, methods=['GET']),
            Route('/api/v2/sites/{site_id}', self.update_site, methods=['PUT']),
            # batch before the item route: "batch" would otherwise be taken for an id
            Route(trackables + '/batch', self.batch_trackables, methods=['PUT', 'POST']),
            Route(trackables, self.list_trackables, methods=['GET']),
            Route(trackables, self.create_trackable, methods=['POST']),
            Route(trackables + '/{trackable_id}', self.get_trackable, methods=['GET']),
            Route(trackables + '/{trackable_id}', self.update_trackable, methods=['PUT']),
            Route(trackables + '/{trackable_id}', self.delete_trackable, methods=['DELETE']),
            Route('/api/v2/background_jobs/{job_id}', self.get_job, methods=['GET']),
        ]}
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

    def dump(self):
        self.settle()
        return {'sites': list(self.sites.values()), 'sessions': len(self.sessions),
                'trackables': {str(site_id): list(tags.values()) for site_id, tags in self.trackables.items()},
                'jobs': [job.item()['attributes'] for job in self.jobs.values()]}

    def error_response(self, status, message, prefix=None):
        title = TITLES.get(status, 'Error')
        return json_response({'errors': [{'status': str(status), 'title': title, 'detail': message or title}]}, status)

    def unprocessable(self, invalid):
        errors = []
        for attribute, detail in invalid.errors:
            error = {'status': '422', 'title': TITLES[422], 'detail': detail}
            if attribute:
                error['source'] = {'pointer': '/data/attributes/%s' % attribute}
            errors.append(error)
        return self.fail_with(json_response({'errors': errors}, 422))

    @staticmethod
    def fail_with(response):
        return ApiError(response)

    def settle(self):
        now = self.clock.now()
        for job in self.jobs.values():
            job.settle(now)

    # request format --------------------------------------------------------------------------

    def check_format(self, request):
        """406 when the client does not accept JSON, or sends a body that is not declared JSON (api §C.7)."""
        accept = request.headers.get('accept')
        if accept and not any(kind in accept for kind in JSON_TYPES + ('*/*', 'application/*')):
            raise self.fail(406, 'The API answers only application/json or application/vnd.api+json; Accept was %s' % accept)
        if request.method in ('POST', 'PUT'):
            content_type = request.headers.get('content-type', '')
            if content_type and not any(kind in content_type for kind in JSON_TYPES):
                raise self.fail(406, 'The request body must be JSON (Content-Type application/json); got %s' % content_type)

    async def body(self, request, wrapper):
        self.check_format(request)
        try:
            body = await read_json(request)
        except ValueError:
            raise self.fail(400, 'Request body is not valid JSON') from None
        if not isinstance(body, dict) or wrapper not in body:
            raise self.unprocessable(Invalid([(None, 'param is missing or the value is empty: %s' % wrapper)]))
        return body[wrapper]

    # auth ------------------------------------------------------------------------------------

    def check_auth(self, request):
        """API key or session JWT raw in Authorization; OAuth2 access token as Bearer (seed 001)."""
        header = request.headers.get('authorization')
        if not header:
            raise self.fail(401, 'Authorization header is missing')
        if header[:7].lower() == 'bearer ':
            if header[7:].strip() != credentials.NAOCLOUD_ACCESS_TOKEN:
                raise self.fail(401, 'Invalid OAuth2 access token')
            self.settle()
            return
        token = header.strip()
        if token == credentials.NAOCLOUD_API_KEY:
            self.settle()
            return
        record = self.sessions.get(token)
        if record is None:
            raise self.fail(401, 'Invalid API key or JWT')
        if not self.state.tokens.alive(record[0]) or record[1] <= self.clock.now():
            raise self.fail(401, 'JWT has expired')
        self.settle()

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

    # JSON:API helpers ------------------------------------------------------------------------

    def page_param(self, request, name, default, maximum=None):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1 or (maximum and int(raw) > maximum):
            limit = ' from 1 to %d' % maximum if maximum else ' of at least 1'
            raise self.fail(400, '%s must be an integer%s' % (name, limit))
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

    # sites -----------------------------------------------------------------------------------

    @staticmethod
    def site_item(site, url):
        return {'id': str(site['id']), 'type': 'site', 'attributes': dict(site),
                'links': {'self': str(url.replace(query='')).rstrip('?')}}

    def find_site(self, request):
        raw = request.path_params['site_id']
        site = self.sites.get(int(raw)) if raw.isdigit() else None
        if site is None:
            raise self.fail(404, 'Site %s not found' % raw)
        return site

    async def list_sites(self, request):
        self.check_auth(request)
        self.check_format(request)
        return self.paged(request, list(self.sites.values()), self.site_item)

    async def get_site(self, request):
        self.check_auth(request)
        self.check_format(request)
        return self.single(self.site_item(self.find_site(request), request.url))

    @staticmethod
    def check_site_attributes(attributes, creating):
        errors = []
        if not isinstance(attributes, dict):
            raise Invalid([(None, 'param is missing or the value is empty: site')])
        for key in attributes:
            if key not in ('name', 'latitude', 'longitude'):
                errors.append((key, 'found unpermitted parameter: %s' % key))
        if creating or 'name' in attributes:
            if not isinstance(attributes.get('name'), str) or not attributes['name'].strip():
                errors.append(('name', "Name can't be blank"))
        for key, limit in (('latitude', 90), ('longitude', 180)):
            if creating or key in attributes:
                value = attributes.get(key)
                if not is_number(value) or not -limit <= value <= limit:
                    errors.append((key, '%s must be a number from -%d to %d' % (key.capitalize(), limit, limit)))
        if errors:
            raise Invalid(errors)

    async def create_site(self, request):
        self.check_auth(request)
        attributes = await self.body(request, 'site')
        try:
            self.check_site_attributes(attributes, creating=True)
        except Invalid as exc:
            raise self.unprocessable(exc) from None
        site = {'id': self.next_site_id, 'name': attributes['name'], 'latitude': attributes['latitude'],
                'longitude': attributes['longitude']}
        self.next_site_id += 1
        self.sites[site['id']] = site
        self.trackables[site['id']] = {}
        url = request.url.replace(path='%s/%d' % (request.url.path, site['id']))
        return self.single(self.site_item(site, url), status=201)

    async def update_site(self, request):
        self.check_auth(request)
        site = self.find_site(request)
        attributes = await self.body(request, 'site')
        try:
            self.check_site_attributes(attributes, creating=False)
        except Invalid as exc:
            raise self.unprocessable(exc) from None
        site.update(attributes)
        return self.single(self.site_item(site, request.url))

    # tracking tags ---------------------------------------------------------------------------

    @staticmethod
    def trackable_item(record, url):
        attributes = {key: value for key, value in record.items() if key != 'site_id'}
        return {'id': str(record['id']), 'type': 'nao_trackable', 'attributes': attributes,
                'relationships': {'site': {'data': {'id': str(record['site_id']), 'type': 'site'}}},
                'links': {'self': str(url.replace(query='')).rstrip('?')}}

    def find_trackable(self, request, site):
        raw = request.path_params['trackable_id']
        record = self.trackables[site['id']].get(int(raw)) if raw.isdigit() else None
        if record is None:
            raise self.fail(404, 'Trackable %s not found in site %d' % (raw, site['id']))
        return record

    def new_trackable(self, site_id, attributes):
        now = utc_iso(self.clock.now())
        mac = attributes['tracking_id'].upper()
        record = {'id': self.next_trackable_id, 'site_id': site_id, 'name': attributes['name'], 'tracking_id': mac,
                  'category': attributes.get('category'), 'is_active': attributes.get('is_active', True), 'battery': None,
                  'mac_address': mac, 'adv_id_full': None, 'loc_updated_at': None, 'new_batteries_at': None,
                  'estimated_end_of_life': None, 'created_at': now, 'updated_at': now}
        self.next_trackable_id += 1
        self.trackables[site_id][record['id']] = record
        return record

    def apply_update(self, record, attributes):
        for key, value in attributes.items():
            record[key] = value.upper() if key == 'tracking_id' else value
        record['mac_address'] = record['tracking_id']
        record['updated_at'] = utc_iso(self.clock.now())

    @staticmethod
    def duplicate(tags, tracking_id, except_id=None):
        tracking_id = tracking_id.upper()
        return any(tag['tracking_id'] == tracking_id and tag['id'] != except_id for tag in tags.values())

    def filtered(self, request, tags):
        """The filters of api §C.6: ids, tracking_ids, categories and Ransack ``filter[...]`` predicates."""
        params = request.query_params
        records = list(tags.values())

        def split(name):
            return [part.strip() for part in params[name].split(',') if part.strip()]

        def upper_if_mac(attribute, values):
            return [value.upper() for value in values] if attribute == 'tracking_id' else values

        def as_text(record, attribute):
            value = record.get(attribute)
            if isinstance(value, bool):
                return 'true' if value else 'false'
            return None if value is None else str(value)

        for key in params:
            if key.startswith('page['):
                continue
            if key == 'ids':
                wanted = set(split(key))
                records = [r for r in records if str(r['id']) in wanted]
            elif key == 'tracking_ids':
                wanted = set(v.upper() for v in split(key))
                records = [r for r in records if r['tracking_id'] in wanted]
            elif key == 'categories':
                wanted = set(split(key))
                records = [r for r in records if r.get('category') in wanted]
            elif key == 'filter[tracking_id_or_name_in]':
                wanted = set(split(key))
                records = [r for r in records if r['tracking_id'] in {v.upper() for v in wanted} or r['name'] in wanted]
            else:
                match = re.match(r'^filter\[(\w+?)_(eq|in)\](\[\])?$', key)
                if not match or match.group(1) not in FILTER_ATTRIBUTES or (match.group(2) == 'in') != bool(match.group(3)):
                    raise self.fail(422, 'unknown filter %s; filterable: %s with _eq, or _in[]' % (key, ', '.join(FILTER_ATTRIBUTES)))
                attribute = match.group(1)
                values = params.getlist(key) if match.group(2) == 'in' else [params[key]]
                wanted = set(upper_if_mac(attribute, values))
                records = [r for r in records if as_text(r, attribute) in wanted]
        return records

    async def list_trackables(self, request):
        self.check_auth(request)
        self.check_format(request)
        site = self.find_site(request)
        return self.paged(request, self.filtered(request, self.trackables[site['id']]), self.trackable_item)

    async def get_trackable(self, request):
        self.check_auth(request)
        self.check_format(request)
        site = self.find_site(request)
        return self.single(self.trackable_item(self.find_trackable(request, site), request.url))

    async def create_trackable(self, request):
        self.check_auth(request)
        site = self.find_site(request)
        attributes = await self.body(request, 'nao_trackable')
        try:
            check_trackable_attributes(attributes, creating=True)
            if self.duplicate(self.trackables[site['id']], attributes['tracking_id']):
                raise Invalid([('tracking_id', 'Tracking id %s has already been taken in site %d'
                                % (attributes['tracking_id'].upper(), site['id']))])
        except Invalid as exc:
            raise self.unprocessable(exc) from None
        record = self.new_trackable(site['id'], attributes)
        url = request.url.replace(path='%s/%d' % (request.url.path, record['id']))
        return self.single(self.trackable_item(record, url), status=201)

    async def update_trackable(self, request):
        self.check_auth(request)
        site = self.find_site(request)
        record = self.find_trackable(request, site)
        attributes = await self.body(request, 'nao_trackable')
        try:
            check_trackable_attributes(attributes, creating=False)
            if 'tracking_id' in attributes and self.duplicate(self.trackables[site['id']], attributes['tracking_id'], record['id']):
                raise Invalid([('tracking_id', 'Tracking id %s has already been taken in site %d'
                                % (attributes['tracking_id'].upper(), site['id']))])
        except Invalid as exc:
            raise self.unprocessable(exc) from None
        self.apply_update(record, attributes)
        return self.single(self.trackable_item(record, request.url))

    async def delete_trackable(self, request):
        self.check_auth(request)
        self.check_format(request)
        site = self.find_site(request)
        record = self.find_trackable(request, site)
        del self.trackables[site['id']][record['id']]
        return Response(status_code=204)

    async def batch_trackables(self, request):
        """Replace every tag of the site; answered with 303 to a background job (api §C.5, §C.6)."""
        self.check_auth(request)
        site = self.find_site(request)
        items = await self.body(request, 'nao_trackables')
        if not isinstance(items, list):
            raise self.unprocessable(Invalid([(None, 'nao_trackables must be an array of tags')]))
        site_id = site['id']

        def replace_all():
            errors, seen = [], {}
            for index, item in enumerate(items):
                try:
                    check_trackable_attributes(item, creating=True)
                except Invalid as exc:
                    errors.extend((None, 'tag %d: %s' % (index + 1, detail)) for _attr, detail in exc.errors)
                    continue
                mac = item['tracking_id'].upper()
                if mac in seen:
                    errors.append((None, 'tag %d: Tracking id %s is also tag %d' % (index + 1, mac, seen[mac] + 1)))
                seen[mac] = index
            if errors:
                raise Invalid(errors)
            tags = self.trackables[site_id]
            by_mac = {tag['tracking_id']: tag for tag in tags.values()}
            for tag in list(tags.values()):
                if tag['tracking_id'] not in seen:
                    del tags[tag['id']]
            for item in items:
                existing = by_mac.get(item['tracking_id'].upper())
                if existing is not None:
                    self.apply_update(existing, item)
                else:
                    self.new_trackable(site_id, item)

        job = self.start_job(replace_all, len(items))
        location = str(request.url.replace(path=request.url.path.split('/sites/')[0] + '/background_jobs/%d' % job.id, query=''))
        html = '<html><body>You are being <a href="%s">redirected</a>.</body></html>' % location
        return Response(html, status_code=303, media_type='text/html', headers={'Location': location})

    # background jobs -------------------------------------------------------------------------

    def start_job(self, work, size):
        now = self.clock.now()
        forced = self.job_failures.pop(0) if self.job_failures else None
        job = Job(self.next_job_id, now, now + JOB_BASE_SECONDS + JOB_ITEM_SECONDS * size, work, forced)
        self.next_job_id += 1
        self.jobs[job.id] = job
        return job

    async def get_job(self, request):
        self.check_auth(request)
        self.check_format(request)
        raw = request.path_params['job_id']
        job = self.jobs.get(int(raw)) if raw.isdigit() else None
        if job is None:
            raise self.fail(404, 'Background job %s not found' % raw)
        item = job.item()
        item['links'] = {'self': str(request.url.replace(query=''))}
        return json_response({'data': item})

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
            self.trackables[site['id']] = {}
            self.next_site_id += 1
            added.append(site['id'])
        return {'added': added}

    def seed_trackables(self, payload):
        """{"site_id": 101, "count": N} (tags seed-00001 with made-up MACs) or {"site_id", "trackables": [{name, tracking_id, category}]}."""
        site_id = payload.get('site_id', credentials.NAOCLOUD_SITES[0]['id'])
        if site_id not in self.sites:
            raise BadRequest('unknown site_id %r' % site_id)
        count = seed_count(payload)
        if count:
            items = [{'name': 'seed-%05d' % n, 'tracking_id': 'AA:BB:%s' % ':'.join(re.findall('..', '%08X' % n))}
                     for n in range(1, count + 1)]
        else:
            items = seed_list(payload, 'trackables')
        added = []
        for item in items:
            try:
                check_trackable_attributes(item, creating=True)
            except Invalid as exc:
                raise BadRequest(str(exc)) from None
            if self.duplicate(self.trackables[site_id], item['tracking_id']):
                raise BadRequest('duplicate tracking_id %s' % item['tracking_id'])
            added.append(self.new_trackable(site_id, item)['id'])
        return {'site_id': site_id, 'added': added}

    def seed_job_failure(self, payload):
        """The next background job fails with ``message`` (to test how clients report a job failure)."""
        message = payload.get('message')
        if not isinstance(message, str) or not message:
            raise BadRequest('message is required')
        self.job_failures.append(message)
        return {'pending_failures': len(self.job_failures)}
