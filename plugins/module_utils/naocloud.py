# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud client (API v2): JSON:API bodies, ``page[number]`` pagination, ``{"errors": [...]}`` errors.

Auth: an OAuth2 access token (Bearer) or a session JWT (raw) when ``access_token`` is given,
else a session opened with email/password, else the API key sent raw.

Resources: sites, and the BLE tracking tags of a site (``nao_trackables``): create, list with
filters, update (PUT keeps the attributes left out), delete, and the batch that replaces every
tag of the site and answers with a 303 background job (``_naocloud_jobs``).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_api_key import NaoCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_oauth2 import NaoCloudOAuth2Auth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_session import NaoCloudSessionAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import MAX_PAGES
from ansible_collections.iotops.provisioning.plugins.module_utils._naocloud_jobs import wait_for_job
from ansible_collections.iotops.provisioning.plugins.module_utils._module import (
    credential_env_fallback, credentials_from_environment, http_client, new_redactor, validate_connection, validate_url)

VENDOR = 'naocloud'
DEFAULT_API_URL = 'https://www.nao-cloud.com/api/v2'

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['NAOCLOUD_API_URL'])),
    # the credentials come from the environment as a whole, only when the task gives none (credentials_from_environment)
    api_key=dict(type='str', no_log=True, fallback=(credential_env_fallback, ['NAOCLOUD_API_KEY'])),
    email=dict(type='str', fallback=(credential_env_fallback, ['NAOCLOUD_EMAIL'])),
    password=dict(type='str', no_log=True, fallback=(credential_env_fallback, ['NAOCLOUD_PASSWORD'])),
    access_token=dict(type='str', no_log=True, fallback=(credential_env_fallback, ['NAOCLOUD_ACCESS_TOKEN'])),
    access_token_type=dict(type='str', default='oauth2', choices=['oauth2', 'session'],
                           fallback=(env_fallback, ['NAOCLOUD_ACCESS_TOKEN_TYPE'])),
)


CREDENTIAL_OPTIONS = ('api_key', 'email', 'password', 'access_token')


def naocloud_pages(fetch, page_size=100, concurrency=1):
    """NAO Cloud (JSON:API): ``page[number]`` and ``page[size]``; a ``links.next`` while more pages follow.

    The first page's ``meta.pagination.records`` tells how many pages there are: the others are then read side by side
    (``concurrency`` at a time), not a round trip after the other. Without it the pages are followed by ``links.next``."""
    first = fetch({'page[number]': 1, 'page[size]': page_size}) or {}
    data = first.get('data') or []
    records = ((first.get('meta') or {}).get('pagination') or {}).get('records')
    if concurrency > 1 and data and (first.get('links') or {}).get('next') and isinstance(records, int) and records > len(data):
        pages = min(-(-records // page_size), MAX_PAGES)
        items = list(data)
        for body in map_concurrently(lambda number: fetch({'page[number]': number, 'page[size]': page_size}) or {},
                                     range(2, pages + 1), concurrency):
            items.extend(body.get('data') or [])
        return items
    return _pages_in_turn(fetch, page_size, first)


def _pages_in_turn(fetch, page_size, first):
    """The pages one after the other, from the first (read already) while ``links.next`` says more follow."""
    items = []
    for number in range(1, MAX_PAGES + 1):
        body = first if number == 1 else (fetch({'page[number]': number, 'page[size]': page_size}) or {})
        data = body.get('data') or []
        items.extend(data)
        links = body.get('links') or {}
        records = ((body.get('meta') or {}).get('pagination') or {}).get('records')
        if not data or not links.get('next') or (isinstance(records, int) and len(items) >= records):
            return items
    raise IotopsError('NAO Cloud list did not end after %d pages' % MAX_PAGES)


def normalize_mac(value):
    """A tag's tracking_id (its MAC address) as NAO Cloud documents it: ``AA:BB:CC:DD:EE:FF``."""
    return value.replace('-', ':').upper()


def trackable_filters(tracking_ids=None, categories=None, name=None):
    """The list filters of ``GET /sites/{id}/nao_trackables`` as query parameters (None: no filter)."""
    filters = {}
    if tracking_ids is not None:
        filters['tracking_ids'] = ','.join(normalize_mac(mac) for mac in tracking_ids)
    if categories is not None:
        filters['categories'] = ','.join(categories)
    if name is not None:
        filters['filter[name_eq]'] = name
    return filters or None


def batch_entry(tag):
    """A tag of the batch that replaces every tag of a site: its managed attributes, no category when it has none."""
    entry = {key: tag.get(key) for key in ('name', 'tracking_id', 'category')}
    if entry['category'] is None:
        del entry['category']
    return entry


def parse_error(body):
    """``{"errors": [{"status", "title", "detail"}]}``; several errors are joined."""
    if isinstance(body, dict) and isinstance(body.get('errors'), list):
        codes, texts = [], []
        for error in body['errors']:
            if isinstance(error, dict):
                codes.append(str(error.get('code') or error.get('status') or ''))
                texts.append(' - '.join(_error_part(error[k]) for k in ('title', 'detail', 'source') if error.get(k)))
            else:
                texts.append(str(error))
        return ', '.join(c for c in codes if c) or None, '; '.join(t for t in texts if t) or None
    if isinstance(body, dict):
        return None, body.get('message') or body.get('error')
    return None, body if isinstance(body, str) else None


def _error_part(value):
    """A JSON:API error member as text; ``source`` is shown as its pointer or parameter."""
    if isinstance(value, dict):
        where = value.get('pointer') or value.get('parameter')
        return 'at %s' % where if where else str(value)
    return str(value)


def flatten(item):
    """A JSON:API item as one dict: its attributes, with ``id`` as an integer when it is one."""
    flat = dict((item or {}).get('attributes') or {})
    raw = flat.get('id', (item or {}).get('id'))
    try:
        flat['id'] = int(raw)
    except (TypeError, ValueError):
        flat['id'] = raw
    return flat


def select_auth(params, need_session=False):
    """The auth object for the options given; ``need_session`` (naocloud_token) always opens a session."""
    api_key, email, password = params.get('api_key'), params.get('email'), params.get('password')
    token, token_type = params.get('access_token'), params.get('access_token_type')
    if need_session:
        if not (api_key or email):
            raise ConfigError('naocloud_token opens a session with api_key (NAOCLOUD_API_KEY) or with email and password '
                              '(NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD); none was given')
        return NaoCloudSessionAuth(api_key=None if email else api_key, email=email, password=password)
    if token and token_type == 'oauth2':
        return NaoCloudOAuth2Auth(token)
    if token or email or password:
        return NaoCloudSessionAuth(api_key=api_key, email=email, password=password, session_token=token)
    return NaoCloudApiKeyAuth(api_key)


class NaoCloudClient:
    """Calls of the NAO Cloud API v2."""

    def __init__(self, http, concurrency=1):
        self.http = http
        self.concurrency = concurrency  # the pages of a list after the first are read this many at a time

    def request(self, method, path, **kwargs):
        return self.http.request(method, path, **kwargs)

    def list_all(self, path, params=None, page_size=100):
        """Every ``data`` item of a paginated JSON:API list."""
        def fetch(paging):
            query = dict(params or {})
            query.update(paging)
            return self.request('GET', path, params=query).body
        return naocloud_pages(fetch, page_size=page_size, concurrency=self.concurrency)

    def get(self, path):
        """The flat resource at ``path``, or None if there is none (or the user cannot see it)."""
        try:
            body = self.request('GET', path).body
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return flatten((body or {}).get('data'))

    def create(self, path, kind, attributes, find):
        """``POST`` of ``{kind: attributes}``; NAO Cloud assigns the id. After an unknown outcome ``find()`` looks the
        resource up (it was created) or returns None (it was not: safe to send again)."""
        body = self.request('POST', path, json_body={kind: attributes}, expect=(200, 201), verify_write=find).body
        return flatten((body or {}).get('data'))

    def update(self, path, kind, attributes):
        """``PUT`` of ``{kind: attributes}`` with only the attributes to change (NAO Cloud keeps the others); after an unknown
        outcome the resource is read back and holds them, or the PUT is sent again."""
        def verify_write():
            found = self.get(path)
            return found if found is not None and all(found.get(k) == v for k, v in attributes.items()) else None
        body = self.request('PUT', path, json_body={kind: attributes}, verify_write=verify_write).body
        return flatten((body or {}).get('data'))

    # sites -----------------------------------------------------------------------------------------

    @staticmethod
    def site_path(site_id):
        return '/sites/%s' % quote(str(site_id), safe='')

    def list_sites(self):
        return [flatten(item) for item in self.list_all('/sites')]

    def get_site(self, site_id):
        """One site, or None if there is no such site (or the user cannot see it)."""
        return self.get(self.site_path(site_id))

    def create_site(self, attributes):
        """``POST /sites`` with ``{"site": {name, latitude, longitude}}``. After an unknown outcome the site is looked up by
        its name (a site is only created when none has that name)."""
        return self.create('/sites', 'site', attributes,
                           lambda: next((site for site in self.list_sites() if site.get('name') == attributes['name']), None))

    def update_site(self, site_id, attributes):
        """``PUT /sites/{id}`` with only the attributes to change."""
        return self.update(self.site_path(site_id), 'site', attributes)

    # tracking tags ---------------------------------------------------------------------------------

    @staticmethod
    def trackables_path(site_id, *parts):
        return '/'.join([NaoCloudClient.site_path(site_id), 'nao_trackables'] + [quote(str(part), safe='') for part in parts])

    def list_trackables(self, site_id, filters=None):
        """Every tag of the site (all pages), as flat dicts; ``filters`` are the API's query parameters (``trackable_filters``)."""
        return [flatten(item) for item in self.list_all(self.trackables_path(site_id), params=filters)]

    def trackables_by_mac(self, site_id):
        """The site's tags by their tracking_id as ``AA:BB:CC:DD:EE:FF`` (one list, every page); tags without one are left out."""
        return dict((normalize_mac(tag['tracking_id']), tag) for tag in self.list_trackables(site_id) if tag.get('tracking_id'))

    def find_trackable(self, site_id, tracking_id):
        found = self.list_trackables(site_id, {'filter[tracking_id_eq]': tracking_id})
        return found[0] if found else None

    def get_trackable(self, site_id, trackable_id):
        return self.get(self.trackables_path(site_id, trackable_id))

    def create_trackable(self, site_id, attributes):
        """``POST /sites/{id}/nao_trackables``; after an unknown outcome the tag is looked up by its tracking_id."""
        return self.create(self.trackables_path(site_id), 'nao_trackable', attributes,
                           lambda: self.find_trackable(site_id, attributes['tracking_id']))

    def update_trackable(self, site_id, trackable_id, attributes):
        """``PUT`` with only the attributes to change (NAO Cloud keeps the others)."""
        return self.update(self.trackables_path(site_id, trackable_id), 'nao_trackable', attributes)

    def delete_trackable(self, site_id, trackable_id):
        def verify_write():
            return {} if self.get_trackable(site_id, trackable_id) is None else None
        self.request('DELETE', self.trackables_path(site_id, trackable_id), expect=(200, 202, 204), verify_write=verify_write)

    def replace_trackables(self, site_id, tags, timeout=300.0, interval=1.0, sleep=time.sleep):
        """Make the site hold exactly ``tags`` (name, tracking_id, category) with the batch endpoint, and wait for its background job.

        The batch replaces every tag of the site. A 303 leads to a background job that is polled until it
        finished; a failed job raises with the job's message.
        """
        path = self.trackables_path(site_id, 'batch')
        tags = [batch_entry(tag) for tag in tags]
        wanted = {tag['tracking_id']: tag for tag in tags}

        def verify_write():
            # The same batch sent twice gives the same tags, so "not applied yet" is always safe to resend.
            held = {tag.get('tracking_id'): tag for tag in self.list_trackables(site_id)}
            if held.keys() != wanted.keys():
                return None
            if any(any(held[mac].get(k) != v for k, v in tag.items()) for mac, tag in wanted.items()):
                return None
            return {'data': None}

        response = self.request('PUT', path, json_body={'nao_trackables': list(tags)}, expect=(200, 201, 202, 204, 303),
                                verify_write=verify_write)
        if response.recovered:
            return None
        job = wait_for_job(self, response, 'PUT %s' % path, timeout=timeout, interval=interval, sleep=sleep)
        if job is None and response.status not in (200, 201, 204):
            raise IotopsError('naocloud PUT %s: HTTP %s without a background job to follow' % (path, response.status))
        return job


def naocloud_client(module, need_session=False, register_runtime_secrets=True, concurrency=1):
    """Validate the NAO Cloud options of ``module`` and return a client; no request is sent yet."""
    params = module.params
    credentials_from_environment(module, ARGSPEC, CREDENTIAL_OPTIONS)
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = select_auth(params, need_session)
    if isinstance(auth, NaoCloudApiKeyAuth) and not params.get('api_key'):
        raise ConfigError('NAO Cloud credentials are missing: give api_key (NAOCLOUD_API_KEY), email and password '
                          '(NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD), or access_token (NAOCLOUD_ACCESS_TOKEN)')
    auth.validate()
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, new_redactor(module, register_runtime_secrets), concurrency)
    # A 303 See Other (background job) is not followed by requests: the job id is taken from Location and the
    # job is read from api_url, so the credentials never go to a host that a response names.
    http.session.get_redirect_target = _no_redirect
    return NaoCloudClient(http, concurrency)


def _no_redirect(response):  # pylint: disable=unused-argument
    """``requests.Session.get_redirect_target`` that never redirects."""
    return None
