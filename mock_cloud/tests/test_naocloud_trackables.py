"""NAO Cloud tracking tags: JSON:API create/list/filters/update/delete, batch replace with a 303 background job, sites writes."""

import pytest

from iotops_mock import credentials

SITE = credentials.NAOCLOUD_SITES[0]['id']
BASE = '/naocloud/api/v2'
TAGS = BASE + '/sites/%d/nao_trackables' % SITE
KEY = {'Authorization': credentials.NAOCLOUD_API_KEY}


@pytest.fixture
def api(mock, http):
    def call(method, path, **kwargs):
        headers = dict(KEY, **kwargs.pop('headers', {}))
        return http.request(method, mock.url + path, headers=headers, allow_redirects=False, **kwargs)
    return call


def create(api, name, mac, **extra):
    return api('POST', TAGS, json={'nao_trackable': dict(name=name, tracking_id=mac, **extra)})


def test_create_is_jsonapi_and_201(api):
    response = create(api, 'My tag', 'aa:bb:cc:44:55:66', category='forklift')
    assert response.status_code == 201
    data = response.json()['data']
    assert data['type'] == 'nao_trackable' and isinstance(data['id'], str)
    assert data['attributes']['id'] == int(data['id'])
    assert data['attributes']['tracking_id'] == 'AA:BB:CC:44:55:66' == data['attributes']['mac_address']
    assert data['attributes']['category'] == 'forklift' and data['attributes']['is_active'] is True
    assert data['relationships']['site']['data'] == {'id': str(SITE), 'type': 'site'}
    assert data['links']['self'].endswith('/nao_trackables/%s' % data['id'])


@pytest.mark.parametrize('body, pointer, words', [
    ({'nao_trackable': {'name': 'x', 'tracking_id': 'AA:BB:CC:44:55'}}, 'tracking_id', 'not a MAC address'),
    ({'nao_trackable': {'name': 'x', 'tracking_id': 'AA-BB-CC-44-55-66'}}, 'tracking_id', 'not a MAC address'),
    ({'nao_trackable': {'tracking_id': 'AA:BB:CC:44:55:66'}}, 'name', "Name can't be blank"),
    ({'nao_trackable': {'name': 'x'}}, 'tracking_id', "can't be blank"),
    ({'nao_trackable': {'name': 'x', 'tracking_id': 'AA:BB:CC:44:55:66', 'id': 5}}, 'id', 'client-generated ids'),
    ({'nao_trackable': {'name': 'x', 'tracking_id': 'AA:BB:CC:44:55:66', 'colour': 'red'}}, 'colour', 'unpermitted'),
    ({'trackable': {'name': 'x'}}, None, 'param is missing'),
])
def test_create_422(api, body, pointer, words):
    response = api('POST', TAGS, json=body)
    assert response.status_code == 422
    errors = response.json()['errors']
    assert any(words in error['detail'] for error in errors), errors
    assert all(error['status'] == '422' and error['title'] == 'Unprocessable Entity' for error in errors)
    if pointer:
        assert {'pointer': '/data/attributes/' + pointer} in [error.get('source') for error in errors]


def test_duplicate_tracking_id_is_422_per_site(api):
    assert create(api, 'a', 'AA:BB:CC:00:00:01').status_code == 201
    again = create(api, 'b', 'aa:bb:cc:00:00:01')
    assert again.status_code == 422 and 'already been taken' in again.json()['errors'][0]['detail']
    other_site = api('POST', BASE + '/sites/102/nao_trackables', json={'nao_trackable': {'name': 'a', 'tracking_id': 'AA:BB:CC:00:00:01'}})
    assert other_site.status_code == 201


def test_format_errors(api):
    assert api('POST', TAGS, data='{bad', headers={'Content-Type': 'application/json'}).status_code == 400
    assert api('POST', TAGS, data='name=x', headers={'Content-Type': 'application/x-www-form-urlencoded'}).status_code == 406
    assert api('GET', TAGS, headers={'Accept': 'text/html'}).status_code == 406
    assert api('GET', TAGS, headers={'Accept': 'application/vnd.api+json'}).status_code == 200
    assert api('PATCH', TAGS + '/1').status_code == 405
    assert api('GET', BASE + '/sites/999/nao_trackables').status_code == 404


def test_list_filters_and_pages(mock, api):
    mock.admin.seed('naocloud', 'trackables', {'site_id': SITE, 'count': 60})
    create(api, 'Forklift 1', 'AA:BB:CC:00:00:F1', category='forklift')
    create(api, 'Forklift 2', 'AA:BB:CC:00:00:F2', category='forklift', is_active=False)
    body = api('GET', TAGS).json()
    assert body['meta']['pagination'] == {'current': 1, 'records': 62} and len(body['data']) == 25 and 'next' in body['links']

    def macs(params):
        response = api('GET', TAGS, params=params)
        assert response.status_code == 200, response.text
        return [item['attributes']['tracking_id'] for item in response.json()['data']]

    assert macs({'categories': 'forklift'}) == ['AA:BB:CC:00:00:F1', 'AA:BB:CC:00:00:F2']
    assert macs({'tracking_ids': 'aa:bb:cc:00:00:f2,AA:BB:CC:00:00:F1'}) == ['AA:BB:CC:00:00:F1', 'AA:BB:CC:00:00:F2']
    assert macs({'filter[tracking_id_eq]': 'aa:bb:cc:00:00:f1'}) == ['AA:BB:CC:00:00:F1']
    assert macs({'filter[tracking_id_in][]': ['AA:BB:CC:00:00:F1', 'AA:BB:CC:00:00:F2']}) == ['AA:BB:CC:00:00:F1', 'AA:BB:CC:00:00:F2']
    assert macs({'filter[name_eq]': 'Forklift 2'}) == ['AA:BB:CC:00:00:F2']
    assert macs({'filter[is_active_eq]': 'false'}) == ['AA:BB:CC:00:00:F2']
    assert macs({'filter[tracking_id_or_name_in]': 'Forklift 1,AA:BB:CC:00:00:F2'}) == ['AA:BB:CC:00:00:F1', 'AA:BB:CC:00:00:F2']
    assert macs({'categories': 'forklift', 'filter[name_eq]': 'Forklift 1'}) == ['AA:BB:CC:00:00:F1']
    first = api('GET', TAGS, params={'ids': '1,2'}).json()['data']
    assert [item['id'] for item in first] == ['1', '2']
    assert api('GET', TAGS, params={'filter[colour_eq]': 'red'}).status_code == 422
    # the next link keeps the filters
    body = api('GET', TAGS, params={'filter[is_active_eq]': 'true', 'page[size]': 50}).json()
    assert body['meta']['pagination']['records'] == 61 and 'filter[is_active_eq]=true' in body['links']['next']


def test_update_keeps_left_out_attributes_and_delete_is_204(api):
    tag = create(api, 'a', 'AA:BB:CC:00:00:01', category='forklift').json()['data']
    path = TAGS + '/' + tag['id']
    response = api('PUT', path, json={'nao_trackable': {'name': 'renamed'}})
    assert response.status_code == 200
    attributes = response.json()['data']['attributes']
    assert attributes['name'] == 'renamed' and attributes['category'] == 'forklift'
    create(api, 'b', 'AA:BB:CC:00:00:02')
    taken = api('PUT', path, json={'nao_trackable': {'tracking_id': 'AA:BB:CC:00:00:02'}})
    assert taken.status_code == 422
    assert api('PUT', path, json={'nao_trackable': {'tracking_id': 'bad'}}).status_code == 422
    deleted = api('DELETE', path)
    assert deleted.status_code == 204 and deleted.content == b''
    assert api('GET', path).status_code == 404 and api('DELETE', path).status_code == 404


@pytest.mark.parametrize('method', ['PUT', 'POST'])
def test_batch_replaces_all_through_a_303_job(mock, api, http, method):
    keep = create(api, 'keep', 'AA:BB:CC:00:00:01', category='forklift').json()['data']
    create(api, 'drop', 'AA:BB:CC:00:00:02')
    response = api(method, TAGS + '/batch', json={'nao_trackables': [
        {'name': 'kept and renamed', 'tracking_id': 'aa:bb:cc:00:00:01'},
        {'name': 'new', 'tracking_id': 'AA:BB:CC:00:00:03', 'category': 'pallet'}]})
    assert response.status_code == 303
    assert response.headers['content-type'].startswith('text/html')
    location = response.headers['Location']
    assert location == mock.url + BASE + '/background_jobs/48145'
    job = http.get(location, headers=KEY).json()['data']
    assert job['type'] == 'job_watcher' and job['id'] == '48145'
    assert job['attributes']['status'] == 'In progress' and job['attributes']['has_finished'] is False
    assert job['attributes']['message'] is None
    # nothing changes before the job has finished
    assert len(api('GET', TAGS).json()['data']) == 2
    mock.admin.advance_clock(1)
    job = http.get(location, headers=KEY).json()['data']['attributes']
    assert (job['status'], job['message'], job['has_finished']) == ('success', 'success', True)
    assert set(job) == {'id', 'name', 'description', 'status', 'message', 'created_at', 'updated_at', 'has_finished'}
    tags = {item['attributes']['tracking_id']: item['attributes'] for item in api('GET', TAGS).json()['data']}
    assert sorted(tags) == ['AA:BB:CC:00:00:01', 'AA:BB:CC:00:00:03']
    assert tags['AA:BB:CC:00:00:01']['id'] == keep['attributes']['id']
    assert tags['AA:BB:CC:00:00:01']['name'] == 'kept and renamed' and tags['AA:BB:CC:00:00:01']['category'] == 'forklift'


def test_batch_validation_fails_the_job_atomically(mock, api, http):
    create(api, 'keep', 'AA:BB:CC:00:00:01')
    response = api('PUT', TAGS + '/batch', json={'nao_trackables': [
        {'name': 'ok', 'tracking_id': 'AA:BB:CC:00:00:05'},
        {'name': 'bad', 'tracking_id': 'AA:BB:CC'},
        {'name': 'twice', 'tracking_id': 'aa:bb:cc:00:00:05'}]})
    assert response.status_code == 303
    mock.admin.advance_clock(1)
    job = http.get(response.headers['Location'], headers=KEY).json()['data']['attributes']
    assert job['status'] == 'failure' and job['has_finished'] is True
    assert 'tag 2: Tracking id "AA:BB:CC" is not a MAC address' in job['message']
    assert 'tag 3: Tracking id AA:BB:CC:00:00:05 is also tag 1' in job['message']
    assert [item['attributes']['name'] for item in api('GET', TAGS).json()['data']] == ['keep']


def test_batch_shape_and_forced_job_failure(mock, api, http):
    assert api('PUT', TAGS + '/batch', json={'nao_trackables': {'name': 'x'}}).status_code == 422
    assert api('PUT', TAGS + '/batch', json={'tags': []}).status_code == 422
    mock.admin.seed('naocloud', 'job_failure', {'message': 'Missing graph or indoor area. Please add.'})
    response = api('PUT', TAGS + '/batch', json={'nao_trackables': []})
    mock.admin.advance_clock(1)
    job = http.get(response.headers['Location'], headers=KEY).json()['data']['attributes']
    assert (job['status'], job['message']) == ('failure', 'Missing graph or indoor area. Please add.')
    assert api('GET', BASE + '/background_jobs/1').status_code == 404


def test_requests_follows_the_303_to_the_job(mock, http):
    response = http.put(mock.url + TAGS + '/batch', json={'nao_trackables': []}, headers=KEY)
    assert response.status_code == 200 and response.history[0].status_code == 303
    assert response.json()['data']['type'] == 'job_watcher'
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['naocloud GET /api/v2/background_jobs/{job_id}'] == 1
    assert endpoints['naocloud PUT /api/v2/sites/{site_id}/nao_trackables/batch'] == 1


def test_jobs_need_auth(api, http, mock):
    assert http.get(mock.url + BASE + '/background_jobs/48145').status_code == 401


def test_site_create_and_update(api):
    created = api('POST', BASE + '/sites', json={'site': {'name': 'Hall 3', 'latitude': 48.1, 'longitude': 11.6}})
    assert created.status_code == 201
    site = created.json()['data']
    assert site['type'] == 'site' and site['attributes']['name'] == 'Hall 3'
    updated = api('PUT', BASE + '/sites/' + site['id'], json={'site': {'name': 'Hall 3b'}})
    assert updated.status_code == 200 and updated.json()['data']['attributes']['latitude'] == 48.1
    bad = api('POST', BASE + '/sites', json={'site': {'name': '', 'latitude': 91, 'longitude': 11}})
    assert bad.status_code == 422 and len(bad.json()['errors']) == 2
    assert api('GET', BASE + '/sites/%s/nao_trackables' % site['id']).json()['data'] == []
