"""NAO Cloud sites (/api/v2/sites): list, get, create, update."""

from starlette.routing import Route

from ...common import BadRequest, is_number
from ..base import seed_count, seed_list
from .model import Invalid, fail, unprocessable


class Sites:
    """The site calls; the sites live in the core."""

    def __init__(self, core):
        self.core = core

    def routes(self):
        return [
            Route('/api/v2/sites', self.list_sites, methods=['GET']),
            Route('/api/v2/sites', self.create_site, methods=['POST']),
            Route('/api/v2/sites/{site_id}', self.get_site, methods=['GET']),
            Route('/api/v2/sites/{site_id}', self.update_site, methods=['PUT']),
        ]

    @staticmethod
    def site_item(site, url):
        return {'id': str(site['id']), 'type': 'site', 'attributes': dict(site),
                'links': {'self': str(url.replace(query='')).rstrip('?')}}

    def find_site(self, request):
        raw = request.path_params['site_id']
        site = self.core.sites.get(int(raw)) if raw.isdigit() else None
        if site is None:
            raise fail(404, 'Site %s not found' % raw)
        return site

    async def list_sites(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        return self.core.paged(request, list(self.core.sites.values()), self.site_item)

    async def get_site(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        return self.core.single(self.site_item(self.find_site(request), request.url))

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
        self.core.check_auth(request)
        attributes = await self.core.body(request, 'site')
        try:
            self.check_site_attributes(attributes, creating=True)
        except Invalid as exc:
            raise unprocessable(exc) from None
        site = {'id': self.core.next_site_id, 'name': attributes['name'], 'latitude': attributes['latitude'],
                'longitude': attributes['longitude']}
        self.core.next_site_id += 1
        self.core.sites[site['id']] = site
        self.core.trackables[site['id']] = {}
        url = request.url.replace(path='%s/%d' % (request.url.path, site['id']))
        return self.core.single(self.site_item(site, url), status=201)

    async def update_site(self, request):
        self.core.check_auth(request)
        site = self.find_site(request)
        attributes = await self.core.body(request, 'site')
        try:
            self.check_site_attributes(attributes, creating=False)
        except Invalid as exc:
            raise unprocessable(exc) from None
        site.update(attributes)
        return self.core.single(self.site_item(site, request.url))

    def seed_sites(self, payload):
        count = seed_count(payload)
        items = [{'name': 'Mock Site %d' % n} for n in range(1, count + 1)] if count else seed_list(payload, 'sites')
        added = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get('name'), str):
                raise BadRequest('each site needs a name')
            site = {'id': self.core.next_site_id, 'name': item['name'],
                    'latitude': item.get('latitude', 48.0), 'longitude': item.get('longitude', 11.0)}
            self.core.sites[site['id']] = site
            self.core.trackables[site['id']] = {}
            self.core.next_site_id += 1
            added.append(site['id'])
        return {'added': added}
