"""nRF Cloud provisioning commands: each kind's rules, the 20-command limit, write-only secrets, listing."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .helpers import nrf_key
from .test_nrfcloud_provisioning import CLAIMED, claim, factory, team_state, writes

SEC_TAG = 16842753


def self_signed(common_name='mock root', key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def encrypted_key(password='s3cret'):
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(password.encode())).decode()


@pytest.fixture
def device(mock, http):
    dev = factory(mock)[0]
    claim(http, mock, dev)
    return dev


def post(http, mock, device_id, request, description=None, team='a'):
    body = {'request': request}
    if description is not None:
        body['description'] = description
    return http.post(mock.url + CLAIMED + '/%s/provisioning' % device_id, json=body, headers=nrf_key(team))


def valid_requests():
    return [
        {'clientPrivateKeyGeneration': {'secTag': SEC_TAG}},
        {'cloudAccessKeyGeneration': {'secTag': SEC_TAG}},
        {'certificateSigningRequest': {'secTag': SEC_TAG, 'attributes': 'O=Nordic Semiconductor,L=Trondheim,C=no', 'keyUsage': '101010000'}},
        {'serverCertificate': {'secTag': SEC_TAG, 'content': self_signed() + self_signed('second')}},
        {'clientCertificate': {'secTag': 42, 'content': self_signed()}},
        {'clientPrivateKey': {'secTag': 43, 'content': encrypted_key(), 'password': 's3cret'}},
        {'preSharedKey': {'secTag': 44, 'identity': 'psk_id', 'secret': '1946017E17C20001FF5F160021480119'}},
        {'config': {'cloud.url': 'mqtt://xxx.nrfcloud.com', 'provisioning.interval-sec': '3600'}},
        {'finished': {}},
    ]


def test_every_kind_accepted_and_echoed(mock, http, device):
    sent = valid_requests()
    ids = []
    for number, request in enumerate(sent):
        response = post(http, mock, device['device_id'], request, description='step %d' % number)
        assert response.status_code == 201, response.text
        assert set(response.json()) == {'id'}
        ids.append(response.json()['id'])
    listed = http.get(mock.url + CLAIMED + '/%s/provisioning' % device['device_id'], headers=nrf_key()).json()
    assert listed['total'] == 9 and [item['id'] for item in listed['items']] == ids
    for item, request in zip(listed['items'], sent):
        kind = next(iter(request))
        expected = {kind: dict(request[kind])}
        for secret in ('password', 'content'):
            if kind == 'clientPrivateKey':
                expected[kind].pop(secret)
        if kind == 'preSharedKey':
            expected[kind].pop('secret')
        assert item['request'] == expected
        assert item['description'].startswith('step ')
        assert item['status'] in ('PENDING', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED')
        assert item['createdAt'].endswith('Z') and item['updatedAt'].endswith('Z')
    one = http.get(mock.url + CLAIMED + '/%s/provisioning/%s' % (device['device_id'], ids[5]), headers=nrf_key()).json()
    assert one['request'] == {'clientPrivateKey': {'secTag': 43}}
    # write-only secrets are not in the state dump either
    text = str(team_state(mock))
    assert 's3cret' not in text and '1946017E17C20001FF5F160021480119' not in text and 'ENCRYPTED PRIVATE KEY' not in text


def test_description_optional(mock, http, device):
    command_id = post(http, mock, device['device_id'], {'finished': {}}).json()['id']
    command = http.get(mock.url + CLAIMED + '/%s/provisioning/%s' % (device['device_id'], command_id), headers=nrf_key()).json()
    assert 'description' not in command


BAD = [
    ({}, 'exactly one command kind'),
    ({'finished': {}, 'config': {'a': 'b'}}, 'exactly one command kind'),
    ({'reboot': {}}, 'not a command kind'),
    ({'clientPrivateKeyGeneration': {}}, 'secTag is required'),
    ({'clientPrivateKeyGeneration': {'secTag': -1}}, 'secTag must be an integer from 0 to 2147483647'),
    ({'clientPrivateKeyGeneration': {'secTag': 2147483648}}, 'secTag must be an integer from 0 to 2147483647'),
    ({'clientPrivateKeyGeneration': {'secTag': '16842753'}}, 'secTag must be an integer'),
    ({'clientPrivateKeyGeneration': {'secTag': True}}, 'secTag must be an integer'),
    ({'clientPrivateKeyGeneration': {'secTag': 1, 'extra': 1}}, 'unknown field extra'),
    ({'certificateSigningRequest': {'secTag': 1, 'keyUsage': '10101'}}, 'keyUsage must be exactly 9 characters of 0 and 1'),
    ({'certificateSigningRequest': {'secTag': 1, 'keyUsage': '10101000x'}}, 'keyUsage must be exactly 9 characters'),
    ({'certificateSigningRequest': {'secTag': 1, 'attributes': 'O'}}, 'attributes'),
    ({'certificateSigningRequest': {'secTag': 1, 'attributes': 'XX=1'}}, 'attributes'),
    ({'certificateSigningRequest': {'secTag': 1, 'attributes': 'C=Norway'}}, 'attributes'),
    ({'serverCertificate': {'secTag': 1, 'content': 'not a pem'}}, 'content must be a PEM certificate'),
    ({'clientCertificate': {'secTag': 1}}, 'content is required'),
    ({'clientCertificate': {'secTag': 1, 'content': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'}}, 'PEM certificate'),
    ({'clientPrivateKey': {'secTag': 1, 'content': 'x', 'password': 'p'}}, 'encrypted PEM private key'),
    ({'clientPrivateKey': {'secTag': 1, 'content': encrypted_key('right'), 'password': 'wrong'}}, 'decrypts with the password'),
    ({'clientPrivateKey': {'secTag': 1, 'content': encrypted_key(), 'password': ''}}, 'password must be a non-empty string'),
    ({'preSharedKey': {'secTag': 1, 'identity': '', 'secret': 'ab'}}, 'identity must be a non-empty string'),
    ({'preSharedKey': {'secTag': 1, 'identity': 'id', 'secret': 'xyz'}}, 'secret must be a non-empty string of hexadecimal digits'),
    ({'config': {'a': 1}}, 'config values are strings'),
    ({'config': {}}, 'at least one key'),
    ({'config': 'a=b'}, 'must be an object'),
    ({'finished': {'now': True}}, 'takes no fields'),
]


@pytest.mark.parametrize('request_body,rule', BAD, ids=[str(number) for number in range(len(BAD))])
def test_command_rules(mock, http, device, request_body, rule):
    mock.admin.reset_counters()
    response = post(http, mock, device['device_id'], request_body)
    assert response.status_code == 400, request_body
    assert response.json()['code'] == 40000
    assert rule in response.json()['message']
    assert team_state(mock)['claimedDevices'][0]['commands'] == []


def test_plain_private_key_refused(mock, http, device):
    plain = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    response = post(http, mock, device['device_id'], {'clientPrivateKey': {'secTag': 1, 'content': plain, 'password': 'p'}})
    assert response.status_code == 400 and 'ENCRYPTED PRIVATE KEY' in response.json()['message']


def test_body_rules(mock, http, device):
    url = mock.url + CLAIMED + '/%s/provisioning' % device['device_id']
    for body in ({'request': {'finished': {}}, 'description': 'x' * 256}, {'request': {'finished': {}}, 'extra': 1},
                 {'request': {'finished': {}}, 'description': 5}, [], {'description': 'only'}):
        response = http.post(url, json=body, headers=nrf_key())
        assert response.status_code == 400, body
    assert http.post(url, json={'request': {'finished': {}}, 'description': 'x' * 255}, headers=nrf_key()).status_code == 201
    assert post(http, mock, 'not-claimed', {'finished': {}}).status_code == 404
    assert post(http, mock, device['device_id'], {'finished': {}}, team='b').status_code == 404


def test_twenty_commands_at_most(mock, http, device):
    for number in range(20):
        assert post(http, mock, device['device_id'], {'config': {'step': str(number)}}).status_code == 201
    before = writes(mock)
    response = post(http, mock, device['device_id'], {'finished': {}})
    assert response.status_code == 400
    assert response.json() == {'code': 40010, 'message': response.json()['message']}
    assert 'a device can have at most 20 provisioning commands' in response.json()['message']
    assert writes(mock) == before + 1
    assert len(team_state(mock)['claimedDevices'][0]['commands']) == 20
    listed = http.get(mock.url + CLAIMED + '/%s/provisioning' % device['device_id'], params={'pageLimit': 100}, headers=nrf_key()).json()
    assert listed['total'] == 20 and len(listed['items']) == 20 and 'pageNextToken' not in listed


def test_command_list_paging_keeps_creation_order(mock, http, device):
    ids = [post(http, mock, device['device_id'], {'config': {'n': str(number)}}).json()['id'] for number in range(7)]
    url = mock.url + CLAIMED + '/%s/provisioning' % device['device_id']
    seen, token = [], None
    while True:
        params = {'pageLimit': 3}
        if token:
            params['pageNextToken'] = token
        page = http.get(url, params=params, headers=nrf_key()).json()
        assert page['total'] == 7
        seen.extend(item['id'] for item in page['items'])
        token = page.get('pageNextToken')
        if not token:
            break
    assert seen == ids
    assert http.get(url, params={'pageLimit': 101}, headers=nrf_key()).status_code == 400
    missing = http.get(url + '/00000000-0000-0000-0000-000000000000', headers=nrf_key())
    assert missing.status_code == 404 and missing.json()['code'] == 40400
