"""u-blox: authenticate / refresh, token lifetimes and expiry, tag rules and PageNumber paging."""

import jwt
import pytest

from iotops_mock import credentials

from .helpers import ublox_login

TAG_GET = '/ublox/v1/tag/get'
TAG_CREATE = '/ublox/v1/tag/create'
TAG_DELETE = '/ublox/v1/tag/delete'


def test_authenticate_returns_cognito_like_tokens(mock, http):
    tokens = ublox_login(http, mock)
    claims = jwt.decode(tokens['AuthToken'], options={'verify_signature': False})
    assert jwt.get_unverified_header(tokens['AuthToken'])['alg'] == 'RS256'
    assert claims['token_use'] == 'id'
    assert claims['exp'] - claims['iat'] == 3600
    assert {'sub', 'aud', 'auth_time', 'iss', 'cognito:username'} <= set(claims)
    assert tokens['RefreshToken'] and tokens['RefreshToken'].count('.') != 2


@pytest.mark.parametrize('body, status, message', [
    ({'APIKey': credentials.UBLOX_API_KEY}, 400, 'Bad Request'),
    ({'APISecret': credentials.UBLOX_API_SECRET}, 400, 'Bad Request'),
    ({'APIKey': credentials.UBLOX_API_KEY, 'APISecret': 'x' * 32}, 401, 'Not Authorized.'),
    ({'APIKey': '00000000-0000-0000-0000-000000000000', 'APISecret': credentials.UBLOX_API_SECRET}, 401, 'Not Authorized.'),
])
def test_authenticate_refusals(mock, http, body, status, message):
    response = http.post(mock.url + '/ublox/v1/authenticate', json=body)
    assert response.status_code == status
    assert response.json() == {'message': message}


def test_raw_and_bearer_accepted_missing_refused(mock, http):
    token = ublox_login(http, mock)['AuthToken']
    for header in (token, 'Bearer ' + token):
        assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': header}).status_code == 200
    for headers in ({}, {'Authorization': 'garbage'}, {'Authorization': 'Bearer ' + token[:-4] + 'AAAA'}):
        response = http.post(mock.url + TAG_GET, json={}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {'message': 'Unauthorized'}


def test_auth_token_expires_and_refresh(mock, http):
    tokens = ublox_login(http, mock)
    mock.admin.advance_clock(3601)
    assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': tokens['AuthToken']}).status_code == 401
    response = http.post(mock.url + '/ublox/v1/refreshauthtoken',
                         json={'APIKey': credentials.UBLOX_API_KEY, 'RefreshToken': tokens['RefreshToken']})
    assert response.status_code == 200 and set(response.json()) == {'AuthToken'}
    assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': response.json()['AuthToken']}).status_code == 200


def test_refresh_token_lifetime_and_unknown(mock, http):
    tokens = ublox_login(http, mock)
    url = mock.url + '/ublox/v1/refreshauthtoken'
    assert http.post(url, json={'APIKey': credentials.UBLOX_API_KEY}).status_code == 400
    assert http.post(url, json={'APIKey': credentials.UBLOX_API_KEY, 'RefreshToken': 'unknown'}).status_code == 401
    mock.admin.advance_clock(3 * 86400 + 1)
    assert http.post(url, json={'APIKey': credentials.UBLOX_API_KEY, 'RefreshToken': tokens['RefreshToken']}).status_code == 401


def test_tokens_expire(mock, http):
    url = mock.url + '/ublox/v1/refreshauthtoken'
    tokens = ublox_login(http, mock)
    mock.admin.expire_tokens(refresh_tokens=False)
    assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': tokens['AuthToken']}).status_code == 401
    refreshed = http.post(url, json={'APIKey': credentials.UBLOX_API_KEY, 'RefreshToken': tokens['RefreshToken']})
    assert refreshed.status_code == 200
    assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': refreshed.json()['AuthToken']}).status_code == 200
    mock.admin.expire_tokens()
    assert http.post(url, json={'APIKey': credentials.UBLOX_API_KEY, 'RefreshToken': tokens['RefreshToken']}).status_code == 401
    # A login after the expiry works again.
    fresh = ublox_login(http, mock)['AuthToken']
    assert http.post(mock.url + TAG_GET, json={}, headers={'Authorization': fresh}).status_code == 200


@pytest.fixture
def ublox(mock, http):
    token = ublox_login(http, mock)['AuthToken']

    def call(path, body):
        return http.post(mock.url + path, json=body, headers={'Authorization': token})
    return call


@pytest.mark.parametrize('char', list('^`~<>"{}|,\\'))
def test_tag_forbidden_symbols(ublox, char):
    response = ublox(TAG_CREATE, {'TagName': 'line' + char + '1'})
    assert response.status_code == 400
    assert char in response.json()['message']


def test_tag_rules(ublox):
    assert ublox(TAG_CREATE, {'TagName': 'a' * 255}).status_code == 200
    too_long = ublox(TAG_CREATE, {'TagName': 'b' * 256})
    assert too_long.status_code == 400 and '255' in too_long.json()['message']
    assert ublox(TAG_CREATE, {}).status_code == 400
    assert ublox(TAG_CREATE, {'TagName': 'Downtown'}).status_code == 200
    duplicate = ublox(TAG_CREATE, {'TagName': 'downTOWN'})
    assert duplicate.status_code == 400 and 'exists' in duplicate.json()['message']
    assert ublox(TAG_CREATE, {'TagName': 'with space & symbols #1'}).status_code == 200


def test_tag_delete(mock, ublox):
    mock.admin.seed('ublox', 'tags', {'tags': ['free', {'TagName': 'busy', 'ROTPublicUIDs': ['00020001003ffff0']}]})
    assert ublox(TAG_DELETE, {'TagName': 'FREE'}).status_code == 200
    assert ublox(TAG_DELETE, {'TagName': 'free'}).status_code == 404
    busy = ublox(TAG_DELETE, {'TagName': 'busy'})
    assert busy.status_code == 400 and 'currently assigned' in busy.json()['message']
    names = [tag['TagName'] for tag in ublox(TAG_GET, {}).json()['Tags']]
    assert names == ['busy']


def test_tag_get_pages(mock, ublox):
    mock.admin.seed('ublox', 'tags', {'tags': ['tag-%03d' % number for number in range(250)]})
    sizes = []
    for number in (1, 2, 3, 4):
        body = ublox(TAG_GET, {'PageNumber': number}).json()
        assert body['PageNumber'] == number and body['PageSize'] == 100 and body['TotalRecords'] == 250
        sizes.append(len(body['Tags']))
    assert sizes == [100, 100, 50, 0]
    first = ublox(TAG_GET, {}).json()
    assert first['PageNumber'] == 1 and first['Tags'][0]['TagName'] == 'tag-000'
    assert first['Tags'][0]['CreatedDate'].endswith('Z')
    for bad in (0, -1, 'two', 1.5):
        assert ublox(TAG_GET, {'PageNumber': bad}).status_code == 400
