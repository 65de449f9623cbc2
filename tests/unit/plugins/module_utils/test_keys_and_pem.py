# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed PEM input is refused in the words of the rule, never in the parser's (cryptography's or OpenSSL's) words.

Each case checks the message for the option, what was expected and what was given, and for the absence of every
phrase cryptography puts in its exceptions. Module runs against the mock show that nothing is sent.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_iotcomms_jwt import IotcommsJwtAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError, Redactor
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import P256_KEY, RSA_KEY, load_private_key
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import (
    FactoryCA, check_encrypted_private_key, csr_from_device, load_certificate)
from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device_info, nrfcloud_device

# What cryptography (and OpenSSL under it) write into their exceptions; none may reach a user.
PARSER_WORDS = ('deserialize', 'ASN.1', 'asn1', 'ParseError', 'MalformedFraming', 'InvalidData', 'cryptography.io', 'faq',
                'Incorrect password', 'Password was', 'Valid PEM but', 'ShortData', 'openssl')
RSA_EXPECTED = ('expected a "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY" block, RSA 2048 bits or larger; an encrypted key as a '
                '"BEGIN ENCRYPTED PRIVATE KEY" block with its passphrase in private_key_passphrase')

EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, fmt=serialization.PrivateFormat.PKCS8, password=None):
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def certificate(key, name='Test CA'):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())


def damaged(text):
    """The PEM ``text`` with its base64 body cut in the middle of a line (a copy-paste gone wrong)."""
    lines = text.strip().splitlines()
    return '\n'.join([lines[0]] + [lines[1][:37]] + lines[3:]) + '\n'


def refused(call):
    """The message of the error ``call`` raises: free of the parser's words, and whole after the collection's redaction."""
    with pytest.raises(IotopsError) as err:
        call()
    message = str(err.value)
    for words in PARSER_WORDS:
        assert words not in message, (words, message)
    assert Redactor()(message) == message, 'the redaction of messages masks part of this one'
    return message


PUBLIC_PEM = EC_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
CERT_PEM = certificate(EC_KEY)

PRIVATE_KEY_CASES = [
    ('not PEM at all', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', None,
     'private_key: not a PEM private key (' + RSA_EXPECTED + ')'),
    ('a certificate', CERT_PEM, None,
     'private_key: not a PEM private key: it holds a certificate ("BEGIN CERTIFICATE" block) (' + RSA_EXPECTED + ')'),
    ('a public key', PUBLIC_PEM, None,
     'private_key: not a PEM private key: it holds a public key ("BEGIN PUBLIC KEY" block) (' + RSA_EXPECTED + ')'),
    ('an OpenSSH key', pem(RSA_2048, serialization.PrivateFormat.OpenSSH), None,
     'private_key: an OpenSSH private key ("BEGIN OPENSSH PRIVATE KEY" block) is not a PEM private key; convert a copy with '
     'ssh-keygen -p -m PEM -f <copy> (' + RSA_EXPECTED + ')'),
    ('a damaged PKCS#8 block', damaged(pem(RSA_2048)), None,
     'private_key: the PEM private key could not be parsed: its "BEGIN PRIVATE KEY" block is not the base64 of a DER private '
     'key (damaged, cut short, or a label that does not match its content) (' + RSA_EXPECTED + ')'),
    ('a block without its END line', pem(RSA_2048).split('-----END')[0], None,
     'private_key: the PEM private key could not be parsed: its "BEGIN PRIVATE KEY" block is not the base64'),
    ('a PKCS#8 body under an RSA label', pem(RSA_2048).replace(' PRIVATE KEY', ' RSA PRIVATE KEY'), None,
     'private_key: the PEM private key could not be parsed: its "BEGIN RSA PRIVATE KEY" block is not the base64 of a DER private key '
     '(damaged, cut short, or a label that does not match its content)'),
    ('an encrypted key without passphrase', pem(RSA_2048, password='right'), None,
     'private_key: the private key is encrypted; give its passphrase in private_key_passphrase'),
    ('an encrypted key with the wrong passphrase', pem(RSA_2048, password='right'), 'wrong',
     'private_key: the private key could not be decrypted with private_key_passphrase: the passphrase is wrong, or the encrypted '
     'block is damaged'),
    ('an OpenSSL-encrypted RSA key with the wrong passphrase', pem(RSA_2048, serialization.PrivateFormat.TraditionalOpenSSL, 'right'),
     'wrong', 'private_key: the private key could not be decrypted with private_key_passphrase: the passphrase is wrong'),
    ('a plain key with a passphrase', pem(RSA_2048), 'surplus',
     'private_key: the private key is not encrypted, but private_key_passphrase was given; remove it'),
]


@pytest.mark.parametrize('given, value, passphrase, message', PRIVATE_KEY_CASES, ids=[case[0] for case in PRIVATE_KEY_CASES])
def test_private_key_messages_name_the_rule(given, value, passphrase, message):
    text = refused(lambda: load_private_key(value, 'private_key', passphrase, 'private_key_passphrase', rule=RSA_KEY))
    assert text.startswith(message), text
    assert '-----BEGIN' not in text


def test_the_rule_names_the_key_type_the_option_takes():
    text = refused(lambda: load_private_key('nothing', 'device_private_key', rule=P256_KEY))
    assert text == ('device_private_key: not a PEM private key (expected a "BEGIN PRIVATE KEY" or "BEGIN EC PRIVATE KEY" block, '
                    'EC P-256 (prime256v1); an encrypted key as a "BEGIN ENCRYPTED PRIVATE KEY" block with its passphrase in passphrase)')


def test_every_key_form_that_is_valid_still_loads():
    for value, passphrase in ((pem(RSA_2048), None), (pem(RSA_2048, serialization.PrivateFormat.TraditionalOpenSSL), None),
                              (pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL), None), (pem(RSA_2048, password='pw'), 'pw'),
                              (pem(RSA_2048, serialization.PrivateFormat.TraditionalOpenSSL, 'pw'), 'pw'), (CERT_PEM + pem(EC_KEY), None)):
        assert load_private_key(value, 'k', passphrase) is not None


def test_the_iotcomms_signing_key_message_says_rsa_2048(creds):
    text = refused(lambda: IotcommsJwtAuth(creds.IOTCOMMS_DOMAIN, private_key=CERT_PEM).validate())
    assert text.endswith('(' + RSA_EXPECTED + ')'), text


# certificates, CSRs, encrypted keys for devices, the factory CA -----------------------------------------------------

def test_certificate_messages_name_the_rule():
    text = refused(lambda: load_certificate(damaged(CERT_PEM), 'ca_certificate'))
    assert text == ('ca_certificate: the PEM certificate does not parse: its "BEGIN CERTIFICATE" block is not the base64 of a DER '
                    'X.509 certificate (damaged or cut short, or its END line is missing)')
    assert 'the PEM certificate does not parse' in refused(lambda: load_certificate(CERT_PEM.split('-----END')[0], 'ca_certificate'))
    text = refused(lambda: load_certificate(pem(EC_KEY), 'ca_certificate'))
    assert text == ('ca_certificate must be a PEM certificate ("-----BEGIN CERTIFICATE-----" block); it holds a private key '
                    '("BEGIN PRIVATE KEY" block)')
    assert refused(lambda: load_certificate('MIIB...', 'ca_certificate')) == \
        'ca_certificate must be a PEM certificate ("-----BEGIN CERTIFICATE-----" block)'


def test_encrypted_device_key_messages():
    text = refused(lambda: check_encrypted_private_key(CERT_PEM, 'pw', 'commands[0] (clientPrivateKey): content'))
    assert text.endswith('as the clientPrivateKey command requires; it holds a certificate ("BEGIN CERTIFICATE" block)'), text
    text = refused(lambda: check_encrypted_private_key(pem(EC_KEY, password='right'), 'wrong', 'content'))
    assert text.startswith('content: the private key could not be decrypted with password: the passphrase is wrong'), text
    text = refused(lambda: check_encrypted_private_key(damaged(pem(EC_KEY, password='right')), 'right', 'content'))
    assert text.startswith('content: the private key could not be decrypted with password'), text


def test_factory_ca_key_messages():
    cert, key = certificate(EC_KEY), pem(EC_KEY, password='ca-pass')
    text = refused(lambda: FactoryCA(cert, key, 'not-it'))
    assert text.startswith('sign_csr.ca_private_key: the private key could not be decrypted with sign_csr.ca_private_key_passphrase')
    text = refused(lambda: FactoryCA(cert, key))
    assert text == 'sign_csr.ca_private_key: the private key is encrypted; give its passphrase in sign_csr.ca_private_key_passphrase'
    text = refused(lambda: FactoryCA(cert, damaged(pem(EC_KEY))))
    assert text.startswith('sign_csr.ca_private_key: the PEM private key could not be parsed: its "BEGIN PRIVATE KEY" block')
    assert 'expected a "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY" or "BEGIN EC PRIVATE KEY" block, an RSA or EC key' in text


def test_csr_from_a_device_that_does_not_parse():
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'dev')]))
           .sign(EC_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    assert csr_from_device(csr).subject.rfc4514_string() == 'CN=dev'
    text = refused(lambda: csr_from_device(damaged(csr)))
    assert text == ('the CSR the device returned does not parse: its "BEGIN CERTIFICATE REQUEST" block is not the base64 of a DER '
                    'PKCS#10 request (damaged or cut short)')
    text = refused(lambda: csr_from_device('bm90IGEgQ1NS.c2ln'))
    assert text.startswith('the CSR the device returned does not parse: it is not a DER PKCS#10 request'), text


# in modules, before any request -------------------------------------------------------------------------------------

def test_module_messages_for_a_certificate_given_as_a_key_and_a_key_given_as_a_certificate(mock, creds, run, monkeypatch):
    for name in ('IOTCOMMS_PRIVATE_KEY_PATH', 'IOTCOMMS_PRIVATE_KEY', 'NRFCLOUD_API_KEY'):
        monkeypatch.delenv(name, raising=False)
    result = run(iotcomms_device_info, dict(api_url=mock.url + '/iotcomms', domain=creds.IOTCOMMS_DOMAIN, private_key=CERT_PEM))
    assert result['failed'] and result['msg'] == (
        'private_key: not a PEM private key: it holds a certificate ("BEGIN CERTIFICATE" block) (' + RSA_EXPECTED + ')')
    result = run(nrfcloud_device, dict(api_url=mock.url + '/nrfcloud/v1', api_key=creds.NRFCLOUD_TEAM_A_API_KEY,
                                       devices=[dict(device_id='dev-1', certificate=pem(EC_KEY))]))
    assert result['failed'] and ('certificate must be a PEM certificate ("-----BEGIN CERTIFICATE-----" block); it holds a private '
                                 'key ("BEGIN PRIVATE KEY" block)') in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0


# u-blox --------------------------------------------------------------------------------------------------------------

def test_ublox_missing_half_of_the_key_pair_names_its_variable():
    with pytest.raises(ConfigError) as err:
        UbloxTokenAuth(api_key='an-api-key').validate()
    assert str(err.value) == ('api_secret is required with api_key (u-blox authenticates the pair): give api_secret in the task or set '
                              'UBLOX_API_SECRET to the APISecret created with this APIKey')
    with pytest.raises(ConfigError) as err:
        UbloxTokenAuth(api_secret='an-api-secret').validate()
    assert str(err.value) == ('api_key is required with api_secret (u-blox authenticates the pair): give api_key in the task or set '
                              'UBLOX_API_KEY to the APIKey of this APISecret')
