"""The simulated nRF91 devices: timing on the mock clock, real CSRs, certificate checks, statuses, failures."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotops_mock.common import b64url_decode

from .helpers import nrf_key
from .test_nrfcloud_commands import SEC_TAG, post, self_signed
from .test_nrfcloud_provisioning import CLAIMED, claim, factory, team_state


@pytest.fixture
def instant(mock):
    """Devices connect and run commands without delay."""
    mock.admin.nrfcloud_simulator(connect_delay=0, command_delay=0)


@pytest.fixture
def device(mock, http):
    dev = factory(mock)[0]
    claim(http, mock, dev)
    return dev


def run(http, mock, device, request, description=None):
    response = post(http, mock, device['device_id'], request, description)
    assert response.status_code == 201, response.text
    return response.json()['id']


def command(http, mock, device, command_id):
    return http.get(mock.url + CLAIMED + '/%s/provisioning/%s' % (device['device_id'], command_id), headers=nrf_key()).json()


def status(http, mock, device):
    return http.get(mock.url + CLAIMED + '/' + device['device_id'], headers=nrf_key()).json()['status']


def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = self_signed('mock factory CA', key)
    return x509.load_pem_x509_certificate(pem.encode()), key


def sign(csr, ca_cert, ca_key):
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject).public_key(csr.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def csr_of(response, field='csr'):
    keygen = response['certificateSigningRequest'][field]
    der, cose = keygen.split('.')
    assert cose
    return x509.load_der_x509_csr(b64url_decode(der))


def test_timing_on_the_mock_clock(mock, http, device):
    mock.admin.nrfcloud_simulator(connect_delay=10, command_delay=5)
    first = run(http, mock, device, {'config': {'a': '1'}})
    second = run(http, mock, device, {'config': {'b': '2'}})
    assert status(http, mock, device) == 'READY'
    assert command(http, mock, device, first)['status'] == 'PENDING'
    mock.admin.advance_clock(10.5)
    assert status(http, mock, device) == 'PROVISIONING'
    assert command(http, mock, device, first)['status'] == 'IN_PROGRESS'
    assert command(http, mock, device, second)['status'] == 'PENDING'
    mock.admin.advance_clock(5)
    assert command(http, mock, device, first)['status'] == 'SUCCEEDED'
    assert command(http, mock, device, second)['status'] == 'IN_PROGRESS'
    mock.admin.advance_clock(5)
    done = command(http, mock, device, second)
    assert done['status'] == 'SUCCEEDED' and done['response'] == {'config': {}}
    assert status(http, mock, device) == 'AWAITING'


def test_default_timings(mock, http, device):
    assert mock.admin.nrfcloud_simulator() == {'connect_delay': 0.5, 'command_delay': 0.1, 'bulk_delay': 0.2, 'csr_field': 'csr'}
    command_id = run(http, mock, device, {'finished': {}})
    assert command(http, mock, device, command_id)['status'] == 'PENDING'
    mock.admin.advance_clock(0.61)
    assert command(http, mock, device, command_id)['status'] == 'SUCCEEDED'
    assert status(http, mock, device) == 'PROVISIONED'


def test_csr_is_real_pkcs10(mock, http, device, instant):
    command_id = run(http, mock, device, {'certificateSigningRequest': {
        'secTag': SEC_TAG, 'attributes': 'O=Nordic Semiconductor,L=Trondheim,C=no', 'keyUsage': '101010000'}})
    result = command(http, mock, device, command_id)
    assert result['status'] == 'SUCCEEDED'
    csr = csr_of(result['response'])
    assert csr.is_signature_valid
    assert isinstance(csr.public_key(), ec.EllipticCurvePublicKey) and csr.public_key().curve.name == 'secp256r1'
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == device['device_id']
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == 'Nordic Semiconductor'
    usage = csr.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and usage.key_agreement and not usage.key_cert_sign
    # the device keeps the key: the state shows its public half at that secTag
    held = team_state(mock)['claimedDevices'][0]['keys'][str(SEC_TAG)]
    assert held == csr.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert status(http, mock, device) == 'AWAITING'


def test_csr_keeps_given_cn_and_message_field(mock, http, device, instant):
    mock.admin.nrfcloud_simulator(csr_field='message')
    command_id = run(http, mock, device, {'certificateSigningRequest': {'secTag': 5, 'attributes': 'CN=custom-id'}})
    response = command(http, mock, device, command_id)['response']
    assert 'csr' not in response['certificateSigningRequest']
    csr = csr_of(response, 'message')
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == 'custom-id'


def test_full_flow_to_provisioned(mock, http, device, instant):
    csr_id = run(http, mock, device, {'certificateSigningRequest': {'secTag': SEC_TAG, 'attributes': '', 'keyUsage': '101010000'}})
    csr = csr_of(command(http, mock, device, csr_id)['response'])
    ca_cert, ca_key = make_ca()
    client = sign(csr, ca_cert, ca_key)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    ids = [run(http, mock, device, {'clientCertificate': {'secTag': SEC_TAG, 'content': client}}),
           run(http, mock, device, {'serverCertificate': {'secTag': SEC_TAG, 'content': ca_pem}}),
           run(http, mock, device, {'finished': {}})]
    assert [command(http, mock, device, command_id)['status'] for command_id in ids] == ['SUCCEEDED'] * 3
    assert status(http, mock, device) == 'PROVISIONED'
    state = team_state(mock)['claimedDevices'][0]
    assert state['status'] == 'PROVISIONED'
    assert state['certificates'][str(SEC_TAG)] == {'clientCertificate': client, 'serverCertificate': ca_pem}
    assert [item['status'] for item in state['commands']] == ['SUCCEEDED'] * 4
    # new commands after PROVISIONED: the device connects again and runs them; no finished -> AWAITING
    mock.admin.nrfcloud_simulator(connect_delay=30)
    run(http, mock, device, {'config': {'x': 'y'}})
    assert status(http, mock, device) == 'PROVISIONED'
    mock.admin.advance_clock(30.01)
    assert status(http, mock, device) == 'AWAITING'
    run(http, mock, device, {'finished': {}})
    mock.admin.advance_clock(30.01)
    assert status(http, mock, device) == 'PROVISIONED'
    assert team_state(mock)['claimedDevices'][0]['config'] == {'x': 'y'}


def test_client_certificate_key_mismatch(mock, http, device, instant):
    run(http, mock, device, {'clientPrivateKeyGeneration': {'secTag': SEC_TAG}})
    bad = run(http, mock, device, {'clientCertificate': {'secTag': SEC_TAG, 'content': self_signed('other key')}})
    later = run(http, mock, device, {'finished': {}})
    failed = command(http, mock, device, bad)
    assert failed['status'] == 'FAILED'
    assert failed['response'] == {'message': 'certificate does not match the key at secTag %d' % SEC_TAG}
    assert command(http, mock, device, later)['status'] == 'PENDING'
    assert status(http, mock, device) == 'ERROR'
    assert str(SEC_TAG) not in team_state(mock)['claimedDevices'][0]['certificates']


def test_client_certificate_without_key(mock, http, device, instant):
    cert = self_signed('any')
    command_id = run(http, mock, device, {'clientCertificate': {'secTag': 99, 'content': cert}})
    assert command(http, mock, device, command_id)['status'] == 'SUCCEEDED'
    assert team_state(mock)['claimedDevices'][0]['certificates']['99'] == {'clientCertificate': cert}


def test_key_generation_kinds(mock, http, device, instant):
    first = command(http, mock, device, run(http, mock, device, {'clientPrivateKeyGeneration': {'secTag': 1}}))
    assert first['response']['clientPrivateKeyGeneration']['publicKey'].startswith('-----BEGIN PUBLIC KEY-----')
    assert not team_state(mock)['claimedDevices'][0]['hasJwtKey']
    second = command(http, mock, device, run(http, mock, device, {'cloudAccessKeyGeneration': {'secTag': 2}}))
    assert second['response']['cloudAccessKeyGeneration']['publicKey'].startswith('-----BEGIN PUBLIC KEY-----')
    state = team_state(mock)['claimedDevices'][0]
    assert state['hasJwtKey'] and set(state['keys']) == {'1', '2'}


def test_psk_and_private_key_stored(mock, http, device, instant):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b'pw')).decode()
    run(http, mock, device, {'clientPrivateKey': {'secTag': 3, 'content': pem, 'password': 'pw'}})
    run(http, mock, device, {'preSharedKey': {'secTag': 4, 'identity': 'id-1', 'secret': 'abcd'}})
    state = team_state(mock)['claimedDevices'][0]
    assert state['keys']['3'] == key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert state['pskIdentities'] == {'4': 'id-1'}
    assert state['status'] == 'AWAITING'


def test_contradicting_key_usage_fails_on_the_device(mock, http, device, instant):
    command_id = run(http, mock, device, {'certificateSigningRequest': {'secTag': 1, 'keyUsage': '100000010'}})
    result = command(http, mock, device, command_id)
    assert result['status'] == 'FAILED' and 'keyAgreement' in result['response']['message']
    assert status(http, mock, device) == 'ERROR'


def test_failure_injection(mock, http, device, instant):
    answer = mock.admin.seed('nrfcloud-provisioning', 'failures', {'device_id': device['device_id'], 'kind': 'serverCertificate'})
    assert answer['kind'] == 'serverCertificate'
    ok = run(http, mock, device, {'config': {'a': 'b'}})
    bad = run(http, mock, device, {'serverCertificate': {'secTag': 1, 'content': self_signed()}})
    finished = run(http, mock, device, {'finished': {}})
    assert command(http, mock, device, ok)['status'] == 'SUCCEEDED'
    failed = command(http, mock, device, bad)
    assert failed['status'] == 'FAILED' and 'injected' in failed['response']['message']
    assert command(http, mock, device, finished)['status'] == 'PENDING'
    assert status(http, mock, device) == 'ERROR'
    listed = http.get(mock.url + CLAIMED, params={'status': 'ERROR'}, headers=nrf_key()).json()
    assert [item['id'] for item in listed['items']] == [device['device_id']]


def test_failure_injection_rules(mock):
    for payload in ({'device_id': 'nobody', 'kind': 'finished'}, {'kind': 'finished'}):
        assert mock.admin.session.post(mock.url + '/_mock/seed/nrfcloud-provisioning/failures', json=payload).status_code == 400


def test_block_while_running(mock, http, device):
    mock.admin.nrfcloud_simulator(connect_delay=0, command_delay=10)
    command_id = run(http, mock, device, {'config': {'a': 'b'}})
    assert command(http, mock, device, command_id)['status'] == 'IN_PROGRESS'
    http.post(mock.url + CLAIMED + '/%s/block' % device['device_id'], headers=nrf_key())
    assert command(http, mock, device, command_id)['status'] == 'PENDING'
    mock.admin.advance_clock(60)
    assert command(http, mock, device, command_id)['status'] == 'PENDING'
    http.post(mock.url + CLAIMED + '/%s/unblock' % device['device_id'], headers=nrf_key())
    mock.admin.advance_clock(10.01)
    assert command(http, mock, device, command_id)['status'] == 'SUCCEEDED'


def test_simulator_admin(mock):
    assert mock.admin.nrfcloud_simulator(command_delay=1)['command_delay'] == 1
    for payload in ({'connect_delay': -1}, {'csr_field': 'pem'}, {'speed': 1}, {'bulk_delay': 'x'}):
        assert mock.admin.session.post(mock.url + '/_mock/nrfcloud/simulator', json=payload).status_code == 400
    mock.admin.reset()
    assert mock.admin.nrfcloud_simulator()['command_delay'] == 0.1
    assert mock.admin.state()['nrfcloud']['simulator']['connect_delay'] == 0.5


def test_commands_run_together_end_with_finished(mock, http, device, instant):
    """Commands that all run at the same instant (after an unblock) still end PROVISIONED."""
    base = mock.url + CLAIMED + '/' + device['device_id']
    http.post(base + '/block', headers=nrf_key())
    for request in ({'config': {'a': 'b'}}, {'clientPrivateKeyGeneration': {'secTag': 1}}, {'finished': {}}):
        run(http, mock, device, request)
    http.post(base + '/unblock', headers=nrf_key())
    assert status(http, mock, device) == 'PROVISIONED'


def test_a_csr_made_at_the_append_replaces_the_key_only_when_it_runs(mock, http, device):
    """The key pair and CSR of a CSR command are made when it is appended (the status read that runs a batch's commands
    does not hold the event loop for them), but the device holds the new key only once the command has run: until then the
    key made by an earlier command stays, and the CSR the command returns is of the key the device holds after it."""
    mock.admin.nrfcloud_simulator(connect_delay=10, command_delay=1)
    first = run(http, mock, device, {'clientPrivateKeyGeneration': {'secTag': SEC_TAG}})
    mock.admin.advance_clock(11.5)
    assert command(http, mock, device, first)['status'] == 'SUCCEEDED'
    earlier = team_state(mock)['claimedDevices'][0]['keys'][str(SEC_TAG)]
    csr_id = run(http, mock, device, {'certificateSigningRequest': {'secTag': SEC_TAG, 'attributes': 'O=Line 7'}})
    assert command(http, mock, device, csr_id)['status'] in ('PENDING', 'IN_PROGRESS')
    assert team_state(mock)['claimedDevices'][0]['keys'][str(SEC_TAG)] == earlier
    mock.admin.advance_clock(12)
    result = command(http, mock, device, csr_id)
    assert result['status'] == 'SUCCEEDED'
    held = team_state(mock)['claimedDevices'][0]['keys'][str(SEC_TAG)]
    pem = csr_of(result['response']).public_key().public_bytes(serialization.Encoding.PEM,
                                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert held == pem and held != earlier
