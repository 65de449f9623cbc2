# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each vendor's pagination style read to the end against the mock, each record exactly once."""

from __future__ import annotations

import time

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_naocloud_api_key import NaoCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import nrfcloud_pages
from ansible_collections.iotops.provisioning.plugins.module_utils import naocloud, nrfcloud, ublox


def test_ublox_pages_read_concurrently_after_the_first(mock, creds):
    names = ['page-tag-%03d' % i for i in range(250)]
    mock.admin.seed('ublox', 'tags', {'tags': names})
    http = HttpClient('ublox', mock.url + '/ublox/v1', auth=UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET),
                      error_parser=ublox.parse_error)
    tags = ublox.UbloxClient(http, http.auth).list_all('/tag/get', 'Tags')
    got = [t['TagName'] for t in tags]
    assert sorted(got) == sorted(set(got)) and set(names) <= set(got)
    assert mock.admin.counters()['endpoints']['ublox POST /v1/tag/get'] == 3


def test_nrfcloud_page_tokens(mock, creds):
    mock.admin.seed('nrfcloud', 'devices', {'team': 'a', 'count': 230})
    http = HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY),
                      error_parser=nrfcloud.parse_error)
    client = nrfcloud.NrfCloudClient(http, mock.url + '/nrfcloud-provisioning/v1')
    items = client.list_all('/devices', page_limit=100)
    ids = [d['id'] for d in items]
    assert len(ids) == 230 and len(set(ids)) == 230
    assert mock.admin.counters()['endpoints']['nrfcloud GET /v1/devices'] == 3
    assert client.list_all('/claimed-devices', service='provisioning') == []


def test_nrfcloud_repeated_token_stops():
    with pytest.raises(IotopsError):
        nrfcloud_pages(lambda params: {'items': [1], 'pageNextToken': 'same'})


def test_naocloud_page_numbers(mock, creds):
    mock.admin.seed('naocloud', 'sites', {'count': 57})
    http = HttpClient('naocloud', mock.url + '/naocloud/api/v2', auth=NaoCloudApiKeyAuth(creds.NAOCLOUD_API_KEY),
                      error_parser=naocloud.parse_error)
    sites = naocloud.NaoCloudClient(http).list_all('/sites', page_size=25)
    ids = [s['id'] for s in sites]
    assert len(ids) == 57 + len(creds.NAOCLOUD_SITES) and len(set(ids)) == len(ids)
    assert mock.admin.counters()['endpoints']['naocloud GET /api/v2/sites'] == 3


def test_naocloud_pages_after_the_first_are_read_side_by_side(mock, creds):
    """The first page's meta.pagination.records tells how many pages follow: they are read 4 at a time, in page order, each
    once; a list of one page is one request."""
    mock.admin.seed('naocloud', 'sites', {'count': 157})
    http = HttpClient('naocloud', mock.url + '/naocloud/api/v2', auth=NaoCloudApiKeyAuth(creds.NAOCLOUD_API_KEY),
                      error_parser=naocloud.parse_error, pool_size=4)
    mock.admin.add_fault(vendor='naocloud', method='GET', path='/sites$', kind='latency', seconds=0.3, count=None)
    mock.admin.reset_counters()
    started = time.monotonic()
    sites = naocloud.NaoCloudClient(http, concurrency=4).list_all('/sites', page_size=25)
    took = time.monotonic() - started
    sequential = [s['id'] for s in naocloud.NaoCloudClient(http).list_all('/sites', page_size=25)]
    assert [s['id'] for s in sites] == sequential and len(sequential) == 157 + len(creds.NAOCLOUD_SITES)
    pages = -(-len(sequential) // 25)
    assert mock.admin.counters()['endpoints']['naocloud GET /api/v2/sites'] == 2 * pages
    # the first page, then the other pages-1 in ceil((pages-1)/4) rounds of 0.3 s, not pages rounds
    assert took < 0.3 * (1 + -(-(pages - 1) // 4)) + 0.5, took
