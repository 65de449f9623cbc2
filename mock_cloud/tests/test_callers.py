"""Which module called which endpoint (docs/api-coverage.md): the User-Agent of the collection's modules, kept across a
reset; the routes the mock serves."""

from .helpers import nrf_key

ACCOUNT = '/nrfcloud/v1/account'
KEY = 'nrfcloud GET /v1/account'


def test_calls_of_the_collections_modules_are_recorded_per_module_and_survive_a_reset(mock, http):
    agent = {'User-Agent': 'iotops.provisioning (nrfcloud_device_info)'}
    for dummy in range(2):
        assert http.get(mock.url + ACCOUNT, headers=dict(nrf_key(), **agent)).status_code == 200
    http.get(mock.url + ACCOUNT, headers=dict(nrf_key(), **{'User-Agent': 'python-requests/2.32'}))
    http.get(mock.url + ACCOUNT, headers=dict(nrf_key(), **{'User-Agent': 'iotops.provisioning'}))  # no module named
    assert mock.admin.counters()['callers'][KEY] == {'nrfcloud_device_info': 2}
    mock.admin.reset()
    assert mock.admin.counters()['endpoints'] == {}
    assert mock.admin.counters()['callers'][KEY] == {'nrfcloud_device_info': 2}


def test_routes_lists_every_vendor_endpoint_with_its_category(mock):
    routes = dict((route['key'], route['category']) for route in mock.admin.routes())
    assert routes[KEY] == 'read'
    assert routes['ublox POST /v1/tag/create'] == 'write'
    assert routes['ublox POST /v1/tag/get'] == 'read'
    assert not [key for key in routes if ' HEAD ' in key or '/_mock' in key]
