"""nRF Cloud Provisioning Service: attestation tokens, claiming (JSON, dry run, CSV), claimed devices, block/unblock."""

import base64
import os

import cbor2
import pytest

from iotops_mock import credentials
from iotops_mock.common import b64url_encode
from iotops_mock.vendors.nrfcloud import make_attestation_token
from iotops_mock.vendors.nrfcloud.attestation import luhn_digit, parse_attestation_token

from .helpers import nrf_key

PROV = '/nrfcloud-provisioning/v1'
CLAIMED = PROV + '/claimed-devices'


def factory(mock, count=1, **extra):
    """Seed ``count`` devices at the factory; returns [{device_id, imei, claim_token}]."""
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', dict(count=count, **extra))['devices']


def claim(http, mock, device, team='a', tags=None, expect=201):
    body = {'claimToken': device['claim_token']}
    if tags is not None:
        body['tags'] = tags
    response = http.post(mock.url + CLAIMED, json=body, headers=nrf_key(team))
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def team_state(mock, team='a'):
    return mock.admin.state()['nrfcloud']['teams'][team]


def writes(mock):
    return mock.admin.counters()['by_category']['write']


# attestation tokens -------------------------------------------------------------------------------

def test_seeded_tokens_are_attestation_tokens(mock):
    devices = factory(mock, 3, imei_prefix='3516')
    assert len({device['device_id'] for device in devices}) == 3
    for device in devices:
        assert len(device['imei']) == 15 and device['imei'].startswith('3516')
        assert device['imei'][-1] == luhn_digit(device['imei'][:14])
        assert parse_attestation_token(device['claim_token'])['device_id'] == device['device_id']
    # deterministic: the same devices after a reset
    mock.admin.reset()
    assert factory(mock, 3, imei_prefix='3516') == devices


def test_make_attestation_token_shape():
    raw = os.urandom(16)
    token = make_attestation_token(raw)
    body, cose = token.split('.')
    assert '=' not in token
    decoded = cbor2.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))
    assert decoded[0] == 1 and decoded[1] == raw and len(decoded[3]) == 16
    assert cose


def test_seed_validation(mock):
    for payload in ({'count': 0}, {'count': 1, 'imei_prefix': 'x1'}, {'count': 1, 'imei_prefix': '123456789'}):
        response = mock.admin.session.post(mock.url + '/_mock/seed/nrfcloud-provisioning/attestation-tokens', json=payload)
        assert response.status_code == 400


# claiming -------------------------------------------------------------------------------------------

def test_claim_returns_record(mock, http):
    device = factory(mock)[0]
    record = claim(http, mock, device, tags=['line-1'])
    assert record['id'] == device['device_id']
    assert record['imei'] == device['imei']
    assert record['ownerId'] == credentials.NRFCLOUD_TEAM_A_TENANT_ID
    assert record['ownershipStatus'] == 'IDENTIFIED' and record['status'] == 'READY'
    assert record['tags'] == ['line-1'] and record['deviceType'] == 'nRF9151 LACA'
    assert len(record['firmwareId']) == 36 and record['claimedAt'].endswith('Z')
    assert team_state(mock)['claimedDevices'][0]['id'] == device['device_id']


def test_claim_any_wellformed_token(mock, http):
    raw = bytes(range(16))
    record = claim(http, mock, {'claim_token': make_attestation_token(raw)})
    assert record['id'] == '00010203-0405-0607-0809-0a0b0c0d0e0f'
    assert len(record['imei']) == 15 and record['imei'].isdigit()


def test_claim_twice_and_by_other_team(mock, http):
    device = factory(mock)[0]
    claim(http, mock, device)
    again = http.post(mock.url + CLAIMED, json={'claimToken': device['claim_token']}, headers=nrf_key('a'))
    assert again.status_code == 409
    assert again.json() == {'code': 40901, 'message': 'Device %s is already claimed' % device['device_id']}
    other = http.post(mock.url + CLAIMED, json={'claimToken': device['claim_token']}, headers=nrf_key('b'))
    assert other.status_code == 409 and other.json()['code'] == 40902
    assert 'claimed by another team' in other.json()['message']
    assert team_state(mock, 'b')['claimedDevices'] == []


@pytest.mark.parametrize('token', [
    'not-a-token',
    'a.b.c',
    b64url_encode(b'\xff\xfe') + '.' + b64url_encode(cbor2.dumps([])),
    b64url_encode(cbor2.dumps([1, b'short'])) + '.' + b64url_encode(cbor2.dumps([])),
    b64url_encode(cbor2.dumps({'a': 1})) + '.' + b64url_encode(cbor2.dumps([])),
])
def test_claim_malformed_token(mock, http, token):
    response = http.post(mock.url + CLAIMED, json={'claimToken': token}, headers=nrf_key())
    assert response.status_code == 400
    assert 'not an attestation token' in response.json()['message']
    assert team_state(mock)['claimedDevices'] == []


def test_claim_body_rules(mock, http):
    device = factory(mock)[0]
    for body in ({}, {'claimToken': 5}, {'claimToken': device['claim_token'], 'tags': 'x'},
                 {'claimToken': device['claim_token'], 'tags': ['']}, {'claimToken': device['claim_token'], 'extra': 1}):
        response = http.post(mock.url + CLAIMED, json=body, headers=nrf_key())
        assert response.status_code == 400, body
        assert response.json()['code'] == 40000
    assert http.post(mock.url + CLAIMED, data='{', headers=dict(nrf_key(), **{'Content-Type': 'application/json'})).status_code == 400
    assert http.post(mock.url + CLAIMED, json={'claimToken': device['claim_token']}).status_code == 401


def test_dryrun(mock, http):
    device = factory(mock)[0]
    url = mock.url + CLAIMED + '?dryrun=true'
    response = http.post(url, json={'claimToken': device['claim_token']}, headers=nrf_key())
    assert response.status_code == 202 and response.content == b''
    assert team_state(mock)['claimedDevices'] == []
    claim(http, mock, device)
    response = http.post(url, json={'claimToken': device['claim_token']}, headers=nrf_key())
    assert response.status_code == 409 and response.json()['code'] == 40901
    response = http.post(url, json={'claimToken': device['claim_token']}, headers=nrf_key('b'))
    assert response.status_code == 409 and response.json()['code'] == 40902
    response = http.post(url, json={'claimToken': 'junk'}, headers=nrf_key())
    assert response.status_code == 400 and 'not an attestation token' in response.json()['message']


def test_bulk_claim_csv(mock, http):
    devices = factory(mock, 3)
    claim(http, mock, devices[2])
    rows = '"%s","a,b"\n"%s"\n"%s"\n"junk"\n' % (devices[0]['claim_token'], devices[1]['claim_token'], devices[2]['claim_token'])
    response = http.post(mock.url + CLAIMED, data=rows, headers=dict(nrf_key(), **{'Content-Type': 'text/csv'}))
    assert response.status_code == 200
    body = response.json()
    assert body['claimedIds'] == [devices[0]['device_id'], devices[1]['device_id']]
    assert [(item['index'], item['code']) for item in body['failed']] == [(2, 40901), (3, 40000)]
    claimed = {item['id']: item for item in team_state(mock)['claimedDevices']}
    assert claimed[devices[0]['device_id']]['tags'] == ['a', 'b']
    assert claimed[devices[1]['device_id']]['tags'] == []


def test_bulk_claim_utils_header_and_limits(mock, http):
    device = factory(mock)[0]
    headers = dict(nrf_key(), contentType='text/csv')   # what nrfcloud-utils sends instead of Content-Type
    response = http.post(mock.url + CLAIMED, data='"%s"\n' % device['claim_token'], headers=headers)
    assert response.status_code == 200 and response.json() == {'claimedIds': [device['device_id']], 'failed': []}
    assert http.post(mock.url + CLAIMED, data='', headers=headers).status_code == 400
    too_many = '"x"\n' * 1001
    response = http.post(mock.url + CLAIMED, data=too_many, headers=headers)
    assert response.status_code == 400 and '1000' in response.json()['message']


# claimed devices --------------------------------------------------------------------------------------

def test_list_filter_and_paging(mock, http):
    devices = factory(mock, 5)
    for number, device in enumerate(devices):
        claim(http, mock, device, tags=['line-1', 'even'] if number % 2 == 0 else ['line-1'])
    http.post(mock.url + CLAIMED + '/%s/block' % devices[0]['device_id'], headers=nrf_key())
    body = http.get(mock.url + CLAIMED, params={'tags': 'line-1,even'}, headers=nrf_key()).json()
    assert {item['id'] for item in body['items']} == {devices[0]['device_id'], devices[2]['device_id'], devices[4]['device_id']}
    body = http.get(mock.url + CLAIMED, params={'status': 'BLOCKED'}, headers=nrf_key()).json()
    assert [item['id'] for item in body['items']] == [devices[0]['device_id']] and body['total'] == 1
    body = http.get(mock.url + CLAIMED, params={'status': 'READY', 'tags': 'even'}, headers=nrf_key()).json()
    assert body['total'] == 2
    assert http.get(mock.url + CLAIMED, params={'status': 'DONE'}, headers=nrf_key()).status_code == 400
    seen, token = [], None
    while True:
        params = {'pageLimit': 2}
        if token:
            params['pageNextToken'] = token
        page = http.get(mock.url + CLAIMED, params=params, headers=nrf_key()).json()
        seen.extend(item['id'] for item in page['items'])
        token = page.get('pageNextToken')
        if not token:
            break
    assert seen == sorted(device['device_id'] for device in devices)
    assert http.get(mock.url + CLAIMED, headers=nrf_key('b')).json() == {'items': [], 'total': 0}


def test_get_and_unclaim(mock, http):
    device = factory(mock)[0]
    claim(http, mock, device)
    url = mock.url + CLAIMED + '/' + device['device_id']
    assert http.get(url, headers=nrf_key()).json()['id'] == device['device_id']
    assert http.get(url, headers=nrf_key('b')).status_code == 404
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': device['device_id']}]})
    assert http.delete(url, headers=nrf_key('b')).status_code == 404
    response = http.delete(url, headers=nrf_key())
    assert response.status_code == 204
    missing = http.get(url, headers=nrf_key())
    assert missing.status_code == 404 and missing.json()['code'] == 40400
    assert http.delete(url, headers=nrf_key()).status_code == 404
    # unclaiming also removes the device from device management; the other team may claim it now
    assert http.get(mock.url + '/nrfcloud/v1/devices/' + device['device_id'], headers=nrf_key()).status_code == 404
    claim(http, mock, device, team='b')


def test_block_unblock(mock, http):
    mock.admin.nrfcloud_simulator(connect_delay=0, command_delay=0)
    device = factory(mock)[0]
    claim(http, mock, device)
    base = mock.url + CLAIMED + '/' + device['device_id']
    assert http.post(base + '/block', headers=nrf_key()).status_code == 202
    assert http.get(base, headers=nrf_key()).json()['status'] == 'BLOCKED'
    command = http.post(base + '/provisioning', json={'request': {'clientPrivateKeyGeneration': {'secTag': 7}}}, headers=nrf_key()).json()
    assert http.get(base + '/provisioning/' + command['id'], headers=nrf_key()).json()['status'] == 'PENDING'
    assert http.get(base, headers=nrf_key()).json()['status'] == 'BLOCKED'
    assert http.post(base + '/unblock', headers=nrf_key()).status_code == 202
    assert http.get(base + '/provisioning/' + command['id'], headers=nrf_key()).json()['status'] == 'SUCCEEDED'
    assert http.get(base, headers=nrf_key()).json()['status'] == 'AWAITING'
    # unblock returns the device to the status it had
    http.post(base + '/block', headers=nrf_key())
    http.post(base + '/unblock', headers=nrf_key())
    assert http.get(base, headers=nrf_key()).json()['status'] == 'AWAITING'
    assert http.post(mock.url + CLAIMED + '/nope/block', headers=nrf_key()).status_code == 404


def test_seeded_claimed_devices_keep_working(mock, http):
    mock.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'devices': [{'id': 'x-1', 'status': 'PROVISIONED', 'imei': '1'}]})
    record = http.get(mock.url + CLAIMED + '/x-1', headers=nrf_key()).json()
    assert record['status'] == 'PROVISIONED' and record['imei'] == '1'


def test_claim_counts_as_write(mock, http):
    device = factory(mock)[0]
    mock.admin.reset_counters()
    claim(http, mock, device)
    http.get(mock.url + CLAIMED, headers=nrf_key())
    counters = mock.admin.counters()
    assert counters['endpoints']['nrfcloud-provisioning POST /v1/claimed-devices'] == 1
    assert counters['by_category'] == {'auth': 0, 'read': 1, 'write': 1}
