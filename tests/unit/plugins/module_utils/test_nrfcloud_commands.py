# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud provisioning commands with data alone: their checks, request bodies, identity in a history, and what the
history of a device says (its CSR, its certificate, what is pending, what failed)."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    COMMAND_SPEC, KIND_OPTIONS, build_request, command_kind, command_message, command_view, count_identical, csr_response,
    device_id_from_claim_token, identity, latest_client_certificate, latest_csr, latest_succeeded, option_specs,
    pending_client_certificate, pending_commands, plan_commands, public_request, split_attributes, validate_commands)

KEY = ec.generate_private_key(ec.SECP256R1())
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'dev-1')])
NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc)
CERT = (x509.CertificateBuilder().subject_name(NAME).issuer_name(NAME).public_key(KEY.public_key()).serial_number(1)
        .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=1)).sign(KEY, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM).decode())
CSR_DER = x509.CertificateSigningRequestBuilder().subject_name(NAME).sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
CSR_VALUE = base64.urlsafe_b64encode(CSR_DER).decode().rstrip('=')
ENCRYPTED_KEY = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b'right')).decode()
UUID = bytes(range(16))


def test_the_command_spec_has_every_option_once_and_hides_the_secrets():
    assert list(COMMAND_SPEC) == ['kind', 'description', 'sec_tag', 'attributes', 'key_usage', 'content', 'password', 'identity',
                                  'secret', 'config']
    assert [name for name, spec in COMMAND_SPEC.items() if spec.get('no_log')] == ['password', 'secret']
    assert COMMAND_SPEC['sec_tag'] == dict(type='int') and COMMAND_SPEC['config'] == dict(type='dict')
    assert set(n for names in KIND_OPTIONS.values() for n in names) == set(COMMAND_SPEC) - {'kind', 'description'}
    assert option_specs((('a', 'str'), ('b', 'int')), no_log=('b',)) == dict(a=dict(type='str'), b=dict(type='int', no_log=True))


def cmd(kind, **options):
    return dict(dict.fromkeys(COMMAND_SPEC), kind=kind, **options)


def test_good_commands_of_every_kind_pass():
    validate_commands([cmd('clientPrivateKeyGeneration', sec_tag=0), cmd('certificateSigningRequest', attributes='O=X', key_usage='101010000'),
                       cmd('serverCertificate', content=CERT), cmd('clientCertificate', content=CERT),
                       cmd('clientPrivateKey', content=ENCRYPTED_KEY, password='right'),
                       cmd('preSharedKey', identity='id', secret='0a1B'), cmd('config', config={'a': 1}), cmd('finished')])


@pytest.mark.parametrize('commands, message', [
    ([cmd('finished', sec_tag=5)], r'commands\[0\] \(finished\): sec_tag does not apply to a finished command \(it takes: no option\)'),
    ([cmd('config', secret='00', config={'a': 'b'})], r'secret does not apply to a config command \(it takes: config\)'),
    ([cmd('clientPrivateKeyGeneration', sec_tag=-1)], 'sec_tag -1 is out of range'),
    ([cmd('clientPrivateKeyGeneration', sec_tag=2147483648)], 'integers from 0 to 2147483647'),
    ([cmd('certificateSigningRequest', key_usage='10101')], 'key_usage .10101. must be a string of 9 bits'),
    ([cmd('certificateSigningRequest', attributes='O=X, cn=evil')], 'must not set CN'),
    ([cmd('certificateSigningRequest', attributes='O=X,nonsense')], "KEY=value pairs, got 'nonsense'"),
    ([cmd('serverCertificate')], r'content \(the PEM certificate\) is required'),
    ([cmd('clientCertificate', content='not a PEM')], 'content'),
    ([cmd('clientPrivateKey', content=ENCRYPTED_KEY, password='wrong')], 'could not be decrypted'),
    ([cmd('preSharedKey', secret='00')], 'identity .the PSK identity. is required'),
    ([cmd('preSharedKey', identity='id', secret='xyz')], 'must be hexadecimal digits'),
    ([cmd('config')], 'config .a dictionary of settings'),
    ([cmd('finished'), cmd('config', config={'a': 'b'})], r'commands\[0\] \(finished\): finished must be the last command'),
    ([cmd('clientPrivateKeyGeneration', sec_tag=n) for n in range(21)], '21 commands given; nRF Cloud allows at most 20'),
])
def test_bad_commands_are_refused_naming_the_command_and_the_rule(commands, message):
    with pytest.raises(ConfigError, match=message):
        validate_commands(commands)


def test_request_bodies_of_every_kind():
    assert build_request(cmd('clientPrivateKeyGeneration'), 'd') == {'clientPrivateKeyGeneration': {'secTag': 16842753}}
    assert build_request(cmd('certificateSigningRequest', sec_tag=0, attributes=' O = X ,, L=Y'), 'd') == {
        'certificateSigningRequest': {'secTag': 0, 'attributes': 'CN=d,O=X,L=Y', 'keyUsage': '101010000'}}
    assert build_request(cmd('clientCertificate', sec_tag=3, content='PEM'), 'd') == {'clientCertificate': {'secTag': 3, 'content': 'PEM'}}
    assert build_request(cmd('clientPrivateKey', content='K', password='p'), 'd')['clientPrivateKey'] == {
        'secTag': 16842753, 'content': 'K', 'password': 'p'}
    assert build_request(cmd('preSharedKey', identity='i', secret='00'), 'd')['preSharedKey']['secret'] == '00'
    assert build_request(cmd('config', config={'n': 1, 'b': True}), 'd') == {'config': {'n': '1', 'b': 'True'}}
    assert build_request(cmd('finished'), 'd') == {'finished': {}}
    assert split_attributes('') == []


def test_a_commands_kind_and_its_public_request():
    assert command_kind({'finished': {}}) == 'finished'
    assert command_kind({}) is None and command_kind({'a': 1, 'b': 2}) is None and command_kind(None) is None
    assert public_request({'preSharedKey': {'secTag': 1, 'identity': 'i', 'secret': '00'}}) == {'preSharedKey': {'secTag': 1, 'identity': 'i'}}
    assert public_request({}) == {}


def test_identity_ignores_secrets_the_service_does_not_return_and_line_endings():
    sent = {'clientPrivateKey': {'secTag': 1, 'content': 'K', 'password': 'p'}}
    assert identity(sent, 'key') == identity({'clientPrivateKey': {'secTag': 1}}, 'key')
    assert identity({'clientCertificate': {'content': 'A\r\nB\n'}}, None) == identity({'clientCertificate': {'content': 'A\nB'}}, '')
    assert identity(sent, 'key') != identity(sent, 'other')


def entry(request, description=None, status='SUCCEEDED', **fields):
    return dict(request=request, description=description, status=status, **fields)


def test_plan_commands_appends_what_the_history_lacks_and_keeps_finished_last():
    a, b, fin = ({'config': {'a': '1'}}, 'a'), ({'config': {'b': '1'}}, 'b'), ({'finished': {}}, 'done')
    assert plan_commands([a, b, fin], []) == [a, b, fin]
    assert plan_commands([a, b, fin], [entry(*a), entry(*b), entry(*fin)]) == []
    assert plan_commands([a, b, fin], [entry(*a), entry(*fin)]) == [b, fin]  # finished again, after b
    assert plan_commands([a, a], [entry(*a)]) == [a]  # each history entry matches one desired command
    assert plan_commands([a, b], [entry(*a)]) == [b]  # nothing asks for finished: none is added
    assert count_identical([entry(*a), entry(*a), entry(*b)], *a) == 2


def csr_entry(status='SUCCEEDED', response=None):
    return entry({'certificateSigningRequest': {'secTag': 7}}, 'CSR', status, response=response)


def test_the_csr_of_a_history_from_either_response_field():
    assert csr_response(csr_entry(response={'certificateSigningRequest': {'csr': 'X'}})) == ('X', 'csr')
    assert csr_response(csr_entry(response={'certificateSigningRequest': {'message': 'Y'}})) == ('Y', 'message')
    assert csr_response(csr_entry()) == (None, 'message')
    found = latest_csr([csr_entry(response={'certificateSigningRequest': {'message': CSR_VALUE}})])
    assert found['field'] == 'message' and found['pem'].startswith('-----BEGIN CERTIFICATE REQUEST-----')
    assert latest_csr([csr_entry(response={'certificateSigningRequest': {'csr': 'garbage'}})]) is None
    assert latest_csr([csr_entry(status='PENDING')]) is None


def test_latest_succeeded_pending_and_the_certificate_of_a_history():
    cert = entry({'clientCertificate': {'secTag': 7, 'content': CERT}})
    history = [csr_entry(), cert, entry({'clientCertificate': {'secTag': 7, 'content': 'newer'}}, status='PENDING'),
               entry({'finished': {}}, status='IN_PROGRESS')]
    assert latest_succeeded(history, 'clientCertificate') is cert and latest_succeeded(history, 'finished') is None
    assert pending_commands(history) == history[2:] and pending_client_certificate(history)
    assert not pending_client_certificate(history[:2] + history[3:])
    assert latest_client_certificate(history) == CERT and latest_client_certificate([]) is None


@pytest.mark.parametrize('response, message', [
    ({'message': 'modem error -8'}, 'modem error -8'),
    ({'error': 'E'}, 'E'),
    ({'description': 'D'}, 'D'),
    ({'code': 5}, '{"code": 5}'),
    ('plain text', 'plain text'),
    (None, 'status FAILED, no message from the device'),
    ({}, 'status FAILED, no message from the device'),
])
def test_what_the_device_answered_to_a_failed_command(response, message):
    assert command_message(dict(status='FAILED', response=response)) == message


def test_command_view_never_shows_secrets_and_stays_small_in_a_batch():
    secret = entry({'preSharedKey': {'secTag': 1, 'identity': 'i', 'secret': '00'}}, 'psk', id='c1', response={'ok': True})
    assert command_view(secret) == dict(id='c1', kind='preSharedKey', description='psk', status='SUCCEEDED', response={'ok': True},
                                        request={'preSharedKey': {'secTag': 1, 'identity': 'i'}})
    assert command_view(secret, with_request=False) == dict(id='c1', kind='preSharedKey', description='psk', status='SUCCEEDED')
    failed = dict(secret, status='FAILED')
    assert command_view(failed, with_request=False)['response'] == {'ok': True}


def token(body):
    return base64.urlsafe_b64encode(body).decode().rstrip('=') + '.signature'


def test_the_device_id_inside_an_attestation_token():
    simple = bytes([0x82, 0x01, 0x50]) + UUID
    assert device_id_from_claim_token(token(simple)) == '00010203-0405-0607-0809-0a0b0c0d0e0f'
    # item 0 may be any CBOR: a tagged map of arrays, text and a number with a one-byte length
    skipped = bytes([0x83, 0xC1, 0xA1, 0x01, 0x82, 0x63]) + b'abc' + bytes([0x18, 0x20, 0x50]) + UUID + bytes([0x00])
    assert device_id_from_claim_token(token(skipped)) == '00010203-0405-0607-0809-0a0b0c0d0e0f'


@pytest.mark.parametrize('value', [
    'not-a-token',
    token(bytes([0x82, 0x01, 0x02])),            # item 1 is no byte string
    token(bytes([0x82, 0x01, 0x44]) + UUID[:4]),  # a byte string, but no UUID
    token(bytes([0x9F, 0x01, 0x50]) + UUID),     # an indefinite array
    token(bytes([0x81, 0x01])),                  # item 1 is missing
    token(bytes([0xA1, 0x01, 0x50]) + UUID),     # a map, not an array
    None,
])
def test_a_claim_token_without_a_device_uuid_is_refused(value):
    with pytest.raises(ConfigError, match='claim_token is not an nRF91 attestation token'):
        device_id_from_claim_token(value)
