"""NAO Cloud: API key / session JWT / OAuth2 auth, sessions, JSON:API sites and page[] paging."""

import datetime

import pytest

from iotops_mock import credentials

from .helpers import nao_session

SITES = '/naocloud/api/v2/sites'


def test_sites_with_each_auth_scheme(mock, http):
    jwt_token = nao_session(http, mock)['meta']['jwt']
    for header in (credentials.NAOCLOUD_API_KEY, jwt_token, 'Bearer ' + credentials.NAOCLOUD_ACCESS_TOKEN):
        response = http.get(mock.url + SITES, headers={'Authorization': header})
        assert response.status_code == 200, header
        assert [item['attributes']['name'] for item in response.json()['data']] == [site['name'] for site in credentials.NAOCLOUD_SITES]


@pytest.mark.parametrize('header', [
    None,
    'wrong-key',
    'Bearer ' + credentials.NAOCLOUD_API_KEY,           # API keys go raw, not as Bearer
    credentials.NAOCLOUD_ACCESS_TOKEN,                   # OAuth2 tokens go as Bearer
    'Bearer ' + '0' * 64,
])
def test_refused(mock, http, header):
    response = http.get(mock.url + SITES, headers={'Authorization': header} if header else {})
    assert response.status_code == 401
    error = response.json()['errors'][0]
    assert error['status'] == '401' and error['title'] == 'Unauthorized' and error['detail']


def test_session_by_api_key_and_by_password(mock, http):
    by_key = nao_session(http, mock)
    assert by_key['data']['type'] == 'session'
    assert by_key['data']['id'] == credentials.NAOCLOUD_USER_ID
    assert by_key['data']['attributes'] == {'email': credentials.NAOCLOUD_EMAIL, 'auth_token': credentials.NAOCLOUD_API_KEY}
    expires = datetime.datetime.strptime(by_key['meta']['expires_at'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    left = expires - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(hours=23, minutes=59) < left <= datetime.timedelta(hours=24)
    url = mock.url + '/naocloud/api/v2/sessions'
    by_password = http.post(url, json={'session': {'email': credentials.NAOCLOUD_EMAIL, 'password': credentials.NAOCLOUD_PASSWORD}})
    assert by_password.status_code == 201
    assert http.post(url, json={'session': {'email': credentials.NAOCLOUD_EMAIL, 'password': 'wrong'}}).status_code == 401
    assert http.post(url).status_code == 401
    assert http.post(url, data='{not json', headers={'Authorization': credentials.NAOCLOUD_API_KEY}).status_code == 400


def test_session_jwt_lifetime_and_expire(mock, http):
    token = nao_session(http, mock)['meta']['jwt']
    mock.admin.advance_clock(24 * 3600 + 1)
    assert http.get(mock.url + SITES, headers={'Authorization': token}).status_code == 401
    token = nao_session(http, mock)['meta']['jwt']
    assert http.get(mock.url + SITES, headers={'Authorization': token}).status_code == 200
    mock.admin.expire_tokens()
    assert http.get(mock.url + SITES, headers={'Authorization': token}).status_code == 401
    # The API key is not a server-issued token and keeps working.
    assert http.get(mock.url + SITES, headers={'Authorization': credentials.NAOCLOUD_API_KEY}).status_code == 200


def test_sites_pages(mock, http):
    mock.admin.seed('naocloud', 'sites', {'count': 58})  # 60 with the two seeded sites
    headers = {'Authorization': credentials.NAOCLOUD_API_KEY}
    url, pages, ids = mock.url + SITES, 0, []
    while url:
        body = http.get(url, headers=headers).json()
        pages += 1
        assert body['meta']['pagination'] == {'current': pages, 'records': 60}
        assert body['meta']['resource_count'] == len(body['data'])
        assert body['links']['current'] == body['links']['self']
        ids.extend(item['id'] for item in body['data'])
        url = body['links'].get('next')
    assert pages == 3 and len(set(ids)) == 60
    assert all(isinstance(item_id, str) for item_id in ids)
    body = http.get(mock.url + SITES, params={'page[size]': 100}, headers=headers).json()
    assert len(body['data']) == 60 and 'next' not in body['links']
    for params in ({'page[size]': 101}, {'page[size]': 0}, {'page[number]': 0}, {'page[number]': 'x'}):
        response = http.get(mock.url + SITES, params=params, headers=headers)
        assert response.status_code == 400 and response.json()['errors'][0]['status'] == '400'


def test_get_site(mock, http):
    headers = {'Authorization': credentials.NAOCLOUD_API_KEY}
    first = credentials.NAOCLOUD_SITES[0]
    body = http.get(mock.url + SITES + '/%d' % first['id'], headers=headers).json()
    assert body['data']['id'] == str(first['id']) and body['data']['type'] == 'site'
    assert body['data']['attributes'] == first
    for missing in ('999999', 'abc'):
        response = http.get(mock.url + SITES + '/' + missing, headers=headers)
        assert response.status_code == 404 and response.json()['errors'][0]['status'] == '404'
