"""NAO Cloud tracking tags (/api/v2/sites/{site_id}/nao_trackables): list with filters, get, create, update, delete, and
batches that run as 303 background jobs (/api/v2/background_jobs/{job_id})."""

import re

from starlette.responses import Response
from starlette.routing import Route

from ... import credentials
from ...common import BadRequest, json_response, utc_iso
from ..base import seed_count, seed_list
from .model import (FILTER_ATTRIBUTES, JOB_BASE_SECONDS, JOB_ITEM_SECONDS, Invalid, Job, check_trackable_attributes, fail,
                    unprocessable)


class Trackables:
    """The tracking tag and background job calls; tags and jobs live in the core, a tag's site is found by ``sites``."""

    def __init__(self, core, sites):
        self.core = core
        self.site_api = sites

    def routes(self):
        trackables = '/api/v2/sites/{site_id}/nao_trackables'
        return [
            # batch before the item route: "batch" would otherwise be taken for an id
            Route(trackables + '/batch', self.batch_trackables, methods=['PUT', 'POST']),
            Route(trackables, self.list_trackables, methods=['GET']),
            Route(trackables, self.create_trackable, methods=['POST']),
            Route(trackables + '/{trackable_id}', self.get_trackable, methods=['GET']),
            Route(trackables + '/{trackable_id}', self.update_trackable, methods=['PUT']),
            Route(trackables + '/{trackable_id}', self.delete_trackable, methods=['DELETE']),
            Route('/api/v2/background_jobs/{job_id}', self.get_job, methods=['GET']),
        ]

    @staticmethod
    def trackable_item(record, url):
        attributes = {key: value for key, value in record.items() if key != 'site_id'}
        return {'id': str(record['id']), 'type': 'nao_trackable', 'attributes': attributes,
                'relationships': {'site': {'data': {'id': str(record['site_id']), 'type': 'site'}}},
                'links': {'self': str(url.replace(query='')).rstrip('?')}}

    def find_trackable(self, request, site):
        raw = request.path_params['trackable_id']
        record = self.core.trackables[site['id']].get(int(raw)) if raw.isdigit() else None
        if record is None:
            raise fail(404, 'Trackable %s not found in site %d' % (raw, site['id']))
        return record

    def new_trackable(self, site_id, attributes):
        now = utc_iso(self.core.clock.now())
        mac = attributes['tracking_id'].upper()
        record = {'id': self.core.next_trackable_id, 'site_id': site_id, 'name': attributes['name'], 'tracking_id': mac,
                  'category': attributes.get('category'), 'is_active': attributes.get('is_active', True), 'battery': None,
                  'mac_address': mac, 'adv_id_full': None, 'loc_updated_at': None, 'new_batteries_at': None,
                  'estimated_end_of_life': None, 'created_at': now, 'updated_at': now}
        self.core.next_trackable_id += 1
        self.core.trackables[site_id][record['id']] = record
        return record

    def apply_update(self, record, attributes):
        for key, value in attributes.items():
            record[key] = value.upper() if key == 'tracking_id' else value
        record['mac_address'] = record['tracking_id']
        record['updated_at'] = utc_iso(self.core.clock.now())

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
                    raise fail(422, 'unknown filter %s; filterable: %s with _eq, or _in[]' % (key, ', '.join(FILTER_ATTRIBUTES)))
                attribute = match.group(1)
                values = params.getlist(key) if match.group(2) == 'in' else [params[key]]
                wanted = set(upper_if_mac(attribute, values))
                records = [r for r in records if as_text(r, attribute) in wanted]
        return records

    async def list_trackables(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        site = self.site_api.find_site(request)
        return self.core.paged(request, self.filtered(request, self.core.trackables[site['id']]), self.trackable_item)

    async def get_trackable(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        site = self.site_api.find_site(request)
        return self.core.single(self.trackable_item(self.find_trackable(request, site), request.url))

    async def create_trackable(self, request):
        self.core.check_auth(request)
        site = self.site_api.find_site(request)
        attributes = await self.core.body(request, 'nao_trackable')
        try:
            check_trackable_attributes(attributes, creating=True)
            if self.duplicate(self.core.trackables[site['id']], attributes['tracking_id']):
                raise Invalid([('tracking_id', 'Tracking id %s has already been taken in site %d'
                                % (attributes['tracking_id'].upper(), site['id']))])
        except Invalid as exc:
            raise unprocessable(exc) from None
        record = self.new_trackable(site['id'], attributes)
        url = request.url.replace(path='%s/%d' % (request.url.path, record['id']))
        return self.core.single(self.trackable_item(record, url), status=201)

    async def update_trackable(self, request):
        self.core.check_auth(request)
        site = self.site_api.find_site(request)
        record = self.find_trackable(request, site)
        attributes = await self.core.body(request, 'nao_trackable')
        try:
            check_trackable_attributes(attributes, creating=False)
            if 'tracking_id' in attributes and self.duplicate(self.core.trackables[site['id']], attributes['tracking_id'], record['id']):
                raise Invalid([('tracking_id', 'Tracking id %s has already been taken in site %d'
                                % (attributes['tracking_id'].upper(), site['id']))])
        except Invalid as exc:
            raise unprocessable(exc) from None
        self.apply_update(record, attributes)
        return self.core.single(self.trackable_item(record, request.url))

    async def delete_trackable(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        site = self.site_api.find_site(request)
        record = self.find_trackable(request, site)
        del self.core.trackables[site['id']][record['id']]
        return Response(status_code=204)

    async def batch_trackables(self, request):
        """Replace every tag of the site; answered with 303 to a background job (api §C.5, §C.6)."""
        self.core.check_auth(request)
        site = self.site_api.find_site(request)
        items = await self.core.body(request, 'nao_trackables')
        if not isinstance(items, list):
            raise unprocessable(Invalid([(None, 'nao_trackables must be an array of tags')]))
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
            tags = self.core.trackables[site_id]
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

    def start_job(self, work, size):
        now = self.core.clock.now()
        forced = self.core.job_failures.pop(0) if self.core.job_failures else None
        job = Job(self.core.next_job_id, now, now + JOB_BASE_SECONDS + JOB_ITEM_SECONDS * size, work, forced)
        self.core.next_job_id += 1
        self.core.jobs[job.id] = job
        return job

    async def get_job(self, request):
        self.core.check_auth(request)
        self.core.check_format(request)
        raw = request.path_params['job_id']
        job = self.core.jobs.get(int(raw)) if raw.isdigit() else None
        if job is None:
            raise fail(404, 'Background job %s not found' % raw)
        item = job.item()
        item['links'] = {'self': str(request.url.replace(query=''))}
        return json_response({'data': item})

    def seed_trackables(self, payload):
        """{"site_id": 101, "count": N} (tags seed-00001 with made-up MACs) or {"site_id", "trackables": [{name, tracking_id, category}]}."""
        site_id = payload.get('site_id', credentials.NAOCLOUD_SITES[0]['id'])
        if site_id not in self.core.sites:
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
            if self.duplicate(self.core.trackables[site_id], item['tracking_id']):
                raise BadRequest('duplicate tracking_id %s' % item['tracking_id'])
            added.append(self.new_trackable(site_id, item)['id'])
        return {'site_id': site_id, 'added': added}

    def seed_job_failure(self, payload):
        """The next background job fails with ``message`` (to test how clients report a job failure)."""
        message = payload.get('message')
        if not isinstance(message, str) or not message:
            raise BadRequest('message is required')
        self.core.job_failures.append(message)
        return {'pending_failures': len(self.core.job_failures)}
