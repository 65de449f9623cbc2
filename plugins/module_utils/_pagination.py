# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read every page of a list, in each vendor's style.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Each helper takes a ``fetch`` callable that sends one request with the paging arguments it is
given and returns the decoded body, so the same code serves any list endpoint of the vendor.
"""

from __future__ import annotations

import math

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError

MAX_PAGES = 100000  # a guard against a server that never stops handing out pages


def ublox_pages(fetch, list_key, concurrency=4):
    """u-blox: ``PageNumber`` in the body; ``PageSize`` and ``TotalRecords`` in the answer.

    The first page tells how many pages there are, so the others are read concurrently.
    """
    first = fetch(1) or {}
    items = list(first.get(list_key) or [])
    total = first.get('TotalRecords') or 0
    size = first.get('PageSize') or len(items) or 1
    pages = min(int(math.ceil(float(total) / size)), MAX_PAGES)
    if pages <= 1:
        return items
    for body in map_concurrently(fetch, range(2, pages + 1), concurrency):
        items.extend((body or {}).get(list_key) or [])
    return items


def nrfcloud_pages(fetch, page_limit=100):
    """nRF Cloud: ``pageLimit`` and the opaque ``pageNextToken``, absent on the last page."""
    items, token, seen = [], None, set()
    for _page in range(MAX_PAGES):
        params = {'pageLimit': page_limit}
        if token:
            params['pageNextToken'] = token
        body = fetch(params) or {}
        items.extend(body.get('items') or [])
        token = body.get('pageNextToken')
        if not token:
            return items
        if token in seen:
            raise IotopsError('nRF Cloud returned the same pageNextToken twice; stopping instead of looping')
        seen.add(token)
    raise IotopsError('nRF Cloud list did not end after %d pages' % MAX_PAGES)


def naocloud_pages(fetch, page_size=100):
    """NAO Cloud (JSON:API): ``page[number]`` and ``page[size]``; a ``links.next`` while more pages follow."""
    items = []
    for number in range(1, MAX_PAGES + 1):
        body = fetch({'page[number]': number, 'page[size]': page_size}) or {}
        data = body.get('data') or []
        items.extend(data)
        links = body.get('links') or {}
        records = ((body.get('meta') or {}).get('pagination') or {}).get('records')
        if not data or not links.get('next') or (isinstance(records, int) and len(items) >= records):
            return items
    raise IotopsError('NAO Cloud list did not end after %d pages' % MAX_PAGES)
