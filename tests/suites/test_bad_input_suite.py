# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad-input suite: one table of malformed inputs across every module of the collection and the onboarding role.

Each case runs the module in-process against the mock (the unit tests' ``run`` fixture; real HTTP) or the role with
``ansible-playbook``. It must fail with a message that holds the expected words (the input it names and the rule
it states), and the mock must have counted zero write calls.

The table in docs/bad-input.md is generated from this suite's run:
``IOTOPS_WRITE_DOCS=1 python -m pytest tests/suites/test_bad_input_suite.py``. Without that variable the suite
checks that the committed table is up to date.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import re
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from . import harness
from .conftest import run_module
# the mock's modem model (importing harness puts tests/ on the import path)
from iotops_mock.vendors.nrfcloud.attestation import make_attestation_token, parse_attestation_token

DOC = os.path.join(harness.ROOT, 'docs', 'bad-input.md')
VENDOR_ENV = ('NRFCLOUD_', 'UBLOX_', 'IOTCOMMS_', 'NAOCLOUD_', 'IOTOPS_')


# --------------------------------------------------------------------------- materials


def _pem_key(key, password=None):
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def _certificate(subject_key, common_name, issuer_key=None, issuer_name=None, ca=False):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name).public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=365)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    return builder.sign(issuer_key or subject_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


class Materials:
    """Keys, certificates and files the cases need; made once per suite run, all made up."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = _certificate(self.ca_key, 'Bad Input Suite CA', ca=True)
        self.ca_key_pem = _pem_key(self.ca_key)
        self.ca_key_encrypted = _pem_key(self.ca_key, 'ca-passphrase')
        self.other_ca_cert = _certificate(ec.generate_private_key(ec.SECP256R1()), 'Another CA', ca=True)
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_key_pem = _pem_key(self.rsa_key)
        self.rsa_1024_pem = _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=1024))
        self.ec_key_pem = _pem_key(ec.generate_private_key(ec.SECP256R1()))
        self.ec_key_encrypted = _pem_key(ec.generate_private_key(ec.SECP256R1()), 'right-password')
        self.rsa_device_cert = _certificate(self.rsa_key, 'rsa-device', self.ca_key, x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, 'Bad Input Suite CA')]))
        self.p384_device_cert = _certificate(ec.generate_private_key(ec.SECP384R1()), 'p384-device')
        self.broken_cert = '-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'
        self.broken_key = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n'
        self.openssh_key = self.rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                      serialization.NoEncryption()).decode()
        self.ca_public_key = self.ca_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.missing_file = os.path.join(directory, 'no-such-key.pem')
        self.a_directory = os.path.join(directory, 'keys.d')
        os.makedirs(self.a_directory, exist_ok=True)
        self.ec_key_file = self.write('ec-key.pem', self.ec_key_pem)
        self.broken_key_file = self.write('broken-key.pem', self.broken_key)
        self.a_file = self.write('a-file', 'not a directory\n')

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
            handle.write(text)
        return path

    def manifest(self, name, text):
        return self.write(name, text)


class Context:
    """What a case's argument builder sees: the vendors' connection options, the materials, the mock."""

    def __init__(self, mock, creds, materials):
        self.mock = mock
        self.creds = creds
        self.m = materials
        self._token = None

    def nrfcloud(self, **args):
        base = dict(api_url=self.mock.url + '/nrfcloud/v1', provisioning_api_url=self.mock.url + '/nrfcloud-provisioning/v1',
                    api_key=self.creds.NRFCLOUD_TEAM_A_API_KEY)
        return dict(base, **args)

    def ublox(self, **args):
        return dict(dict(api_url=self.mock.url + '/ublox/v1', api_key=self.creds.UBLOX_API_KEY, api_secret=self.creds.UBLOX_API_SECRET),
                    **args)

    def iotcomms(self, **args):
        return dict(dict(api_url=self.mock.url + '/iotcomms', domain=self.creds.IOTCOMMS_DOMAIN,
                         private_key_path=self.creds.IOTCOMMS_PRIVATE_KEY_PATH), **args)

    def naocloud(self, **args):
        return dict(dict(api_url=self.mock.url + '/naocloud/api/v2', api_key=self.creds.NAOCLOUD_API_KEY), **args)

    @property
    def claim_token(self):
        """The attestation token of a factory-fresh nRF91 (the same device after every reset of the mock)."""
        if self._token is None:
            self._token = self.mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]['claim_token']
        return self._token

    def device(self, **extra):
        return [dict(claim_token=self.claim_token, **extra)]

    @property
    def second_claim_token(self):
        """Another attestation token of the same modem, as it prints one after a modem firmware update."""
        return make_attestation_token(parse_attestation_token(self.claim_token)['uuid'], firmware_uuid=uuid.uuid4().bytes)


# --------------------------------------------------------------------------- the table

ROLE = 'role factory_onboarding'


class Case:
    """One row: the module (or ROLE), a short description of the bad input, the arguments, the words the message must hold."""

    def __init__(self, module, what, args, words, ident=None):
        self.module = module
        self.what = what
        self.args = args
        self.words = words
        self.ident = ident or '%s: %s' % (module, what)


def nrf_cmd(*commands):
    return lambda c: c.nrfcloud(devices=c.device(), commands=list(commands))


def sign(**sign_csr):
    return lambda c: c.nrfcloud(devices=c.device(), commands=[dict(kind='certificateSigningRequest')], sign_csr=sign_csr)


GOOD_CA = dict(name='good.example.com', ca_validity_days=1825, device_certificate_validity_days=365)
MANIFEST_HEADER = 'serial,nrfcloud_claim_token,ublox_rot_public_uid,ublox_imei,iotcomms_device_id,naocloud_mac\n'
# a bad IMEI check digit (490154203237517: the Luhn digit of 49015420323751 is 8) next to a good row
BAD_CHECK_DIGIT = MANIFEST_HEADER + ('SN-1,,0a1b2c3d4e5f6071,490154203237517,4670001,AA:BB:CC:00:00:01\n'
                                     'SN-2,,0a1b2c3d4e5f6072,490154203237518,4670002,AA:BB:CC:00:00:02\n')
# five problems in three rows: a check digit, a MAC of five pairs, a ROTPublicUID and a serial twice, a device id with a dash first
FIVE_PROBLEMS = MANIFEST_HEADER + ('SN-1,,0a1b2c3d4e5f6071,490154203237517,4670001,AA:BB:CC:00:00:01\n'
                                   'SN-2,,0A1B2C3D4E5F6071,,4670002,AA:BB:CC:00:01\n'
                                   'SN-1,,,,-3,\n')

CASES = [
    # nrfcloud_provisioning ------------------------------------------------------------------------
    Case('nrfcloud_provisioning_rule', 'a rule with neither name nor id', lambda c: c.nrfcloud(rules=[dict(tags=['line-1'])]),
         ['rules[0]', 'name or id is required']),
    Case('nrfcloud_provisioning_rule', 'a tag with a comma',
         lambda c: c.nrfcloud(rules=[dict(name='r', tags=['line-1,line-2'], commands=[dict(kind='finished')])]),
         ["tags[0] 'line-1,line-2'", 'without a comma']),
    Case('nrfcloud_provisioning_rule', '21 commands',
         lambda c: c.nrfcloud(rules=[dict(name='r', tags=['t'], commands=[dict(kind='clientPrivateKeyGeneration')] * 21)]),
         ['rules[0] (r)', 'commands must list 1 to 20 commands']),
    Case('nrfcloud_provisioning_rule', 'cloudAccessKeyGeneration with content',
         lambda c: c.nrfcloud(rules=[dict(name='r', tags=['t'], commands=[dict(kind='cloudAccessKeyGeneration', content='x')])]),
         ['commands[0] (cloudAccessKeyGeneration)', 'content does not apply to a cloudAccessKeyGeneration command']),
    Case('nrfcloud_provisioning_rule', 'finished before another command',
         lambda c: c.nrfcloud(rules=[dict(name='r', tags=['t'], commands=[dict(kind='finished'), dict(kind='clientPrivateKeyGeneration')])]),
         ['commands[0] (finished)', 'finished must be the last command']),
    Case('nrfcloud_provisioning_rule', 'a new rule without commands', lambda c: c.nrfcloud(rules=[dict(name='New rule', tags=['t'])]),
         ['rules[0] (New rule)', 'commands is required to create the rule']),
    Case('nrfcloud_provisioning_rule', 'an id the team has no rule for', lambda c: c.nrfcloud(rules=[dict(id='no-such-rule', active=False)]),
         ['no provisioning rule with id no-such-rule']),
    Case('nrfcloud_provisioning_recovery', 'min_commands_left 0',
         lambda c: c.nrfcloud(devices=c.device(), min_commands_left=0), ['min_commands_left must be from 1 to 20']),
    Case('nrfcloud_provisioning_recovery', 'recover empty', lambda c: c.nrfcloud(devices=c.device(), recover=[]),
         ['recover must name at least one of error, blocked, full']),
    Case('nrfcloud_provisioning_recovery', 'a device with neither claim_token nor device_id',
         lambda c: c.nrfcloud(devices=[dict(tags=['line-1'])]), ['devices[0]', 'device_id or claim_token is required']),
    Case('nrfcloud_provisioning_recovery', 'claim_token that is not an attestation token',
         lambda c: c.nrfcloud(devices=[dict(claim_token='not-a-token')]), ['devices[0]', 'claim_token is not an nRF91 attestation token']),
    Case('nrfcloud_provisioning', 'claim_token that is not an attestation token',
         lambda c: c.nrfcloud(devices=[dict(claim_token='not-a-token')]), ['devices[0]', 'claim_token is not an nRF91 attestation token']),
    Case('nrfcloud_provisioning', 'a device with neither claim_token nor device_id',
         lambda c: c.nrfcloud(devices=[dict(tags=['line-1'])]), ['devices[0]', 'device_id or claim_token is required']),
    Case('nrfcloud_provisioning', 'sec_tag -1 (out of range)', nrf_cmd(dict(kind='clientPrivateKeyGeneration', sec_tag=-1)),
         ['commands[0] (clientPrivateKeyGeneration)', 'sec_tag -1 is out of range', 'integers from 0 to 2147483647']),
    Case('nrfcloud_provisioning', 'sec_tag 2147483648 (out of range)', nrf_cmd(dict(kind='certificateSigningRequest', sec_tag=2147483648)),
         ['sec_tag 2147483648 is out of range', 'integers from 0 to 2147483647']),
    Case('nrfcloud_provisioning', 'key_usage of 5 bits', nrf_cmd(dict(kind='certificateSigningRequest', key_usage='10101')),
         ["key_usage '10101'", 'string of 9 bits']),
    Case('nrfcloud_provisioning', 'CSR attributes that set CN', nrf_cmd(dict(kind='certificateSigningRequest', attributes='O=X,CN=evil')),
         ['commands[0] (certificateSigningRequest)', 'attributes must not set CN']),
    Case('nrfcloud_provisioning', 'CSR attributes that are not KEY=value', nrf_cmd(dict(kind='certificateSigningRequest', attributes='Example')),
         ["attributes must be comma-separated KEY=value pairs, got 'Example'"]),
    Case('nrfcloud_provisioning', 'serverCertificate PEM that does not parse', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='serverCertificate', content=c.m.broken_cert)]),
        ['commands[0] (serverCertificate): content', 'the PEM certificate does not parse', 'is not the base64 of a DER X.509 certificate']),
    Case('nrfcloud_provisioning', 'clientCertificate without content', nrf_cmd(dict(kind='clientCertificate')),
         ['commands[0] (clientCertificate)', 'content (the PEM certificate) is required']),
    Case('nrfcloud_provisioning', 'clientPrivateKey that is not encrypted', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='clientPrivateKey', content=c.m.ec_key_pem, password='pw-1234')]),
        ['commands[0] (clientPrivateKey): content must be an encrypted PEM private key (a "BEGIN ENCRYPTED PRIVATE KEY" block)',
         'it holds a private key ("BEGIN PRIVATE KEY" block)']),
    Case('nrfcloud_provisioning', 'clientPrivateKey that is a certificate', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='clientPrivateKey', content=c.m.ca_cert, password='pw-1234')]),
        ['commands[0] (clientPrivateKey): content must be an encrypted PEM private key', 'it holds a certificate ("BEGIN CERTIFICATE" block)']),
    Case('nrfcloud_provisioning', 'clientPrivateKey with the wrong password', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='clientPrivateKey', content=c.m.ec_key_encrypted, password='wrong-password')]),
        ['commands[0] (clientPrivateKey): content', 'could not be decrypted with password']),
    Case('nrfcloud_provisioning', 'clientPrivateKey without password', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='clientPrivateKey', content=c.m.ec_key_encrypted)]),
        ['commands[0] (clientPrivateKey): content', 'password is required to inject an encrypted private key']),
    Case('nrfcloud_provisioning', 'preSharedKey secret that is not hexadecimal',
         nrf_cmd(dict(kind='preSharedKey', identity='psk-id', secret='not-hex!')),
         ['commands[0] (preSharedKey)', 'secret is required and must be hexadecimal digits']),
    Case('nrfcloud_provisioning', 'preSharedKey without identity', nrf_cmd(dict(kind='preSharedKey', secret='00aa')),
         ['commands[0] (preSharedKey)', 'identity (the PSK identity) is required']),
    Case('nrfcloud_provisioning', 'config command without config', nrf_cmd(dict(kind='config')),
         ['commands[0] (config)', 'config (a dictionary of settings for the provisioning client) is required']),
    Case('nrfcloud_provisioning', 'finished before another command', nrf_cmd(dict(kind='finished'), dict(kind='config', config={'a': 'b'})),
         ['commands[0] (finished): finished must be the last command']),
    Case('nrfcloud_provisioning', 'sec_tag on a finished command', nrf_cmd(dict(kind='finished', sec_tag=5)),
         ['commands[0] (finished): sec_tag does not apply to a finished command']),
    Case('nrfcloud_provisioning', '21 commands for one device', nrf_cmd(*[dict(kind='clientPrivateKeyGeneration', sec_tag=n) for n in range(21)]),
         ['commands: 21 commands given', 'at most 20 per device']),
    Case('nrfcloud_provisioning', 'unknown command kind', nrf_cmd(dict(kind='selfDestruct')),
         ['kind', 'selfDestruct', 'must be one of']),
    Case('nrfcloud_provisioning', 'unknown state', lambda c: c.nrfcloud(devices=c.device(), state='gone'),
         ['state', 'must be one of: present, absent', 'gone']),
    Case('nrfcloud_provisioning', 'sign_csr without a CA private key', lambda c: c.nrfcloud(
        devices=c.device(), sign_csr=dict(ca_certificate=c.m.ca_cert)), ['sign_csr: ca_private_key or ca_private_key_path is required']),
    Case('nrfcloud_provisioning', 'sign_csr with a CA key of another certificate', lambda c: sign(
        ca_certificate=c.m.other_ca_cert, ca_private_key=c.m.ca_key_pem)(c),
        ['sign_csr.ca_private_key does not belong to sign_csr.ca_certificate']),
    Case('nrfcloud_provisioning', 'sign_csr CA certificate that is not PEM', lambda c: sign(
        ca_certificate='MIIB...', ca_private_key=c.m.ca_key_pem)(c), ['sign_csr.ca_certificate must be a PEM certificate']),
    Case('nrfcloud_provisioning', 'sign_csr CA private key that does not parse', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key=c.m.broken_key)(c),
        ['sign_csr.ca_private_key: the PEM private key could not be parsed', 'its "BEGIN PRIVATE KEY" block is not the base64 of a DER private key',
         'expected a "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY" or "BEGIN EC PRIVATE KEY" block']),
    Case('nrfcloud_provisioning', 'sign_csr CA private key that is a public key', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key=c.m.ca_public_key)(c),
        ['sign_csr.ca_private_key: not a PEM private key: it holds a public key ("BEGIN PUBLIC KEY" block)']),
    Case('nrfcloud_provisioning', 'sign_csr CA key file that does not exist', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key_path=c.m.missing_file)(c), ['ca_private_key_path', 'cannot read the key file']),
    Case('nrfcloud_provisioning', 'sign_csr CA key file that is a directory', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key_path=c.m.a_directory)(c), ['ca_private_key_path', 'cannot read the key file']),
    Case('nrfcloud_provisioning', 'sign_csr encrypted CA key without passphrase', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key=c.m.ca_key_encrypted)(c),
        ['sign_csr.ca_private_key: the private key is encrypted', 'sign_csr.ca_private_key_passphrase']),
    Case('nrfcloud_provisioning', 'sign_csr encrypted CA key with the wrong passphrase', lambda c: sign(
        ca_certificate=c.m.ca_cert, ca_private_key=c.m.ca_key_encrypted, ca_private_key_passphrase='not-it')(c),
        ['sign_csr.ca_private_key: the private key could not be decrypted with sign_csr.ca_private_key_passphrase']),
    Case('nrfcloud_provisioning', 'sign_csr validity_days 0', lambda c: sign(ca_certificate=c.m.ca_cert, ca_private_key=c.m.ca_key_pem,
                                                                             validity_days=0)(c),
         ['sign_csr.validity_days must be from 1 to 36500, got 0']),
    Case('nrfcloud_provisioning', 'finished listed together with sign_csr', lambda c: c.nrfcloud(
        devices=c.device(), commands=[dict(kind='certificateSigningRequest'), dict(kind='finished')],
        sign_csr=dict(ca_certificate=c.m.ca_cert, ca_private_key=c.m.ca_key_pem)), ['do not list finished together with sign_csr']),
    Case('nrfcloud_provisioning', 'wait_timeout -1', lambda c: c.nrfcloud(devices=c.device(), wait_for='PROVISIONED', wait_timeout=-1),
         ['wait_timeout must be 0 or more seconds, got -1']),
    Case('nrfcloud_provisioning', 'concurrency 65', lambda c: c.nrfcloud(devices=c.device(), concurrency=65),
         ['concurrency must be from 1 to 64, got 65']),
    Case('nrfcloud_provisioning', 'the same device twice', lambda c: c.nrfcloud(devices=c.device() + c.device()),
         ['devices[1]', 'each resource may appear once per task']),
    Case('nrfcloud_provisioning', 'missing API key', lambda c: c.nrfcloud(devices=c.device(), api_key=None),
         ['api_key', 'is required for', 'authentication']),
    Case('nrfcloud_provisioning', 'API key with whitespace', lambda c: c.nrfcloud(devices=c.device(), api_key='a1a1 acc3'),
         ['api_key must not contain whitespace']),

    # nrfcloud_device ------------------------------------------------------------------------------
    Case('nrfcloud_device', 'device_id with a space', lambda c: c.nrfcloud(devices=[dict(device_id='has space', certificate=c.m.p384_device_cert)]),
         ["devices[0] (has space): device_id 'has space' must be 1 to 128 letters"]),
    Case('nrfcloud_device', 'certificate that is not PEM', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1', certificate='not a pem')]),
         ['devices[0] (dev-1): certificate must be a PEM certificate']),
    Case('nrfcloud_device', 'certificate that is a private key', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1', certificate=c.m.ec_key_pem)]),
         ['devices[0] (dev-1): certificate must be a PEM certificate', 'it holds a private key ("BEGIN PRIVATE KEY" block)']),
    Case('nrfcloud_device', 'certificate with an RSA key (ES256 needs EC P-256)', lambda c: c.nrfcloud(
        devices=[dict(device_id='dev-1', certificate=c.m.rsa_device_cert)]),
        ['devices[0] (dev-1): certificate (its public key)', 'EC P-256', 'required for ES256', 'RSA']),
    Case('nrfcloud_device', 'certificate with an EC P-384 key', lambda c: c.nrfcloud(
        devices=[dict(device_id='dev-1', certificate=c.m.p384_device_cert)]),
        ['devices[0] (dev-1): certificate (its public key)', 'EC P-256', 'secp384r1']),
    Case('nrfcloud_device', 'tag with a space', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1', tags=['line 7'])]),
         ["devices[0] (dev-1): tag 'line 7' may only hold letters, digits"]),
    Case('nrfcloud_device', 'sub_type of 800 characters', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1', sub_type='s' * 800)]),
         ['devices[0] (dev-1): sub_type must be at most 799']),
    Case('nrfcloud_device', 'unknown firmware type', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1', fw_types=['FIRMWARE'])]),
         ['fw_types', 'must be one or more of', 'FIRMWARE']),
    Case('nrfcloud_device', 'a new device without certificate', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1')]),
         ['devices[0] (dev-1): certificate is required to onboard a device that is not onboarded yet']),

    # nrfcloud_claim ------------------------------------------------------------------------------
    Case('nrfcloud_claim', 'claim token that is not an attestation token', lambda c: c.nrfcloud(devices=[dict(claim_token='bm90IGNib3I.eA')]),
         ['devices[0]: claim_token is not an nRF91 attestation token', 'give device_id as well']),
    Case('nrfcloud_claim', 'claim token with a line break', lambda c: c.nrfcloud(devices=[dict(claim_token=c.claim_token + '\n')]),
         ['devices[0]: claim_token (sha256:', 'must be the AT%ATTESTTOKEN output', 'no blank or line break']),
    Case('nrfcloud_claim', 'device_id of another device than the token', lambda c: c.nrfcloud(
        devices=c.device(device_id='00000000-0000-0000-0000-000000000001')), ['is not the device of claim_token', 'whose device UUID is']),
    Case('nrfcloud_claim', 'neither claim_token nor device_id', lambda c: c.nrfcloud(devices=[dict(tags=['line-7'])]),
         ['devices[0]: device_id or claim_token is required']),
    Case('nrfcloud_claim', 'a device to claim without its token', lambda c: c.nrfcloud(devices=[dict(device_id='dev-1')]),
         ['devices[0] (dev-1): the device is not claimed by this team and no claim_token was given to claim it']),
    Case('nrfcloud_claim', 'provisioning tag with a comma', lambda c: c.nrfcloud(devices=c.device(tags=['nrf-cloud-onboarding,line-7'])),
         ["tags: 'nrf-cloud-onboarding,line-7' must be 1 to 128 letters", 'a comma would split it in the bulk CSV']),
    Case('nrfcloud_claim', 'default tag with a space', lambda c: c.nrfcloud(devices=c.device(), tags=['line 7']),
         ["tags: 'line 7' must be 1 to 128 letters"]),
    Case('nrfcloud_claim', 'the same device twice', lambda c: c.nrfcloud(devices=c.device() + c.device()),
         ['devices[1]', 'each resource may appear once per task']),
    Case('nrfcloud_claim', 'bulk_threshold -1', lambda c: c.nrfcloud(devices=c.device(), bulk_threshold=-1),
         ['bulk_threshold must be 0 or more, got -1']),
    Case('nrfcloud_claim', 'bulk_interval 0', lambda c: c.nrfcloud(devices=c.device(), bulk_interval=0),
         ['bulk_interval more than 0 seconds']),

    # info modules of nRF Cloud -----------------------------------------------------------------------
    Case('nrfcloud_device_info', 'api_url that is not http(s)', lambda c: c.nrfcloud(api_url='ftp://api.example.invalid/v1'),
         ["api_url must be an http:// or https:// URL, got 'ftp://api.example.invalid/v1'"]),
    Case('nrfcloud_device_info', 'timeout 0', lambda c: c.nrfcloud(timeout=0), ['timeout must be greater than 0 seconds']),
    Case('nrfcloud_provisioning_info', 'unknown status', lambda c: c.nrfcloud(status='DONE'), ['status', 'must be one of', 'DONE']),
    Case('nrfcloud_provisioning_info', 'retries 50', lambda c: c.nrfcloud(retries=50), ['retries must be from 0 to 20, got 50']),

    # u-blox ----------------------------------------------------------------------------------------
    Case('ublox_webhook', 'an http:// URL', lambda c: c.ublox(webhooks=[dict(
        url='http://ops.example.com/ublox', notification_types=['DEVICE_BOOTSTRAP_EVENT'], authorization_token='Bearer t')]),
        ['webhooks[0] (http://ops.example.com/ublox)', 'is not an https URL', 'only https endpoints are accepted']),
    Case('ublox_webhook', 'an unknown notification type', lambda c: c.ublox(webhooks=[dict(
        url='https://ops.example.com/ublox', notification_types=['DEVICE_REBOOT_EVENT'], authorization_token='Bearer t')]),
        ["'DEVICE_REBOOT_EVENT' is not a u-blox notification type", 'ROOTCA_EXPIRATION_EVENT']),
    Case('ublox_webhook', 'the same URL twice', lambda c: c.ublox(webhooks=[dict(
        url='https://ops.example.com/ublox', notification_types=['DEVICE_BOOTSTRAP_EVENT'], authorization_token='Bearer t')] * 2),
        ['webhooks[1]', 'is also webhooks[0]', 'once per task']),
    Case('ublox_webhook', 'state=present without a token', lambda c: c.ublox(webhooks=[dict(
        url='https://ops.example.com/ublox', notification_types=['DEVICE_ERRORS_EVENT'])]),
        ['webhooks[0] (https://ops.example.com/ublox)', 'authorization_token is required with state=present']),
    Case('ublox_webhook', 'a password in the URL', lambda c: c.ublox(webhooks=[dict(
        url='https://ops:pa55@ops.example.com/', notification_types=['DEVICE_ERRORS_EVENT'], authorization_token='Bearer t')]),
        ['webhooks[0] (https://***@ops.example.com/)', 'give them in authorization_token']),
    Case('ublox_rootca', 'CA name with a space and "!"', lambda c: c.ublox(cas=[dict(GOOD_CA, name='acme ca!')]),
         ["cas[0] (acme ca!): name 'acme ca!' contains", 'only letters, digits, underscores, dashes and dots']),
    Case('ublox_rootca', 'CA name of 46 characters', lambda c: c.ublox(cas=[dict(GOOD_CA, name='a' * 46)]),
         ['has 46 characters', 'at most 45 characters']),
    Case('ublox_rootca', 'ca_validity_days 1000', lambda c: c.ublox(cas=[dict(GOOD_CA, ca_validity_days=1000)]),
         ['ca_validity_days is 1000', 'must be from 1825 to 3650 days']),
    Case('ublox_rootca', 'device certificates that outlive the CA', lambda c: c.ublox(
        cas=[dict(GOOD_CA, device_certificate_validity_days=2000)]),
        ['device_certificate_validity_days (2000) is greater than ca_validity_days (1825)']),
    Case('ublox_rootca', 'renew_before_expiration_days 400', lambda c: c.ublox(cas=[dict(GOOD_CA, renew_before_expiration_days=400)]),
         ['renew_before_expiration_days is 400', 'from 1 to 365 days']),
    Case('ublox_rootca', 'PoP registration code of 65 characters', lambda c: c.ublox(
        cas=[dict(GOOD_CA, pop_registration_code='9' * 65, pop_certificate_path=os.path.join(c.m.dir, 'pop.pem'))]),
        ['pop_registration_code has 65 characters', 'must have 1 to 64']),
    Case('ublox_rootca', 'file mode that is not a mode', lambda c: c.ublox(
        cas=[dict(GOOD_CA, certificate_path=os.path.join(c.m.dir, 'ca.pem'), mode='rw-r--r--')]),
        ["mode: 'rw-r--r--' is not a file mode", "octal as a quoted string ('0644')"]),
    Case('ublox_rootca', 'certificate_path in a directory that does not exist', lambda c: c.ublox(
        cas=[dict(GOOD_CA, certificate_path=os.path.join(c.m.dir, 'nowhere', 'ca.pem'))]),
        ['certificate_path: the directory', 'does not exist']),
    Case('ublox_rootca_info', 'CA name with "/"', lambda c: c.ublox(name='a/b'), ["name 'a/b' contains '/'"]),
    Case('ublox_tag', 'tag name with "|"', lambda c: c.ublox(tags=[dict(name='line|1')]),
         ["tags[0] (line|1): name 'line|1' contains '|'", 'must not contain any of']),
    Case('ublox_tag', 'tag name of 256 characters', lambda c: c.ublox(tags=[dict(name='t' * 256)]),
         ['has 256 characters', 'can only be 255 characters long']),
    Case('ublox_tag', 'ROTPublicUID that is not hexadecimal', lambda c: c.ublox(tags=[dict(name='ok', rot_public_uids=['0002000089280087', 'not-hex'])]),
         ["rot_public_uids: 'not-hex' is not a ROTPublicUID", '1 to 16 hexadecimal digits']),
    Case('ublox_tag', 'unknown assignment', lambda c: c.ublox(tags=[dict(name='ok')], assignment='replace'),
         ['assignment', 'must be one of: add, remove, exclusive', 'replace']),
    Case('ublox_device_certificate', 'renew without renew_within_days', lambda c: c.ublox(action='renew', ca_name='good.example.com'),
         ['renew_within_days is required with action=renew']),
    Case('ublox_device_certificate', 'validity_days 5000', lambda c: c.ublox(action='renew', ca_name='good.example.com',
                                                                             renew_within_days=30, validity_days=5000),
         ['validity_days is 5000', 'must be from 30 to 3650 days']),
    Case('ublox_device_certificate', 'revoke without devices', lambda c: c.ublox(action='revoke', ca_name='good.example.com'),
         ['action=revoke needs the devices', 'rot_public_uids, serial_numbers or tags']),
    Case('ublox_device_certificate', 'issued_before that is not a date', lambda c: c.ublox(
        action='update', ca_name='good.example.com', issued_before='last tuesday'), ["issued_before: 'last tuesday' is not an ISO 8601 date"]),
    Case('ublox_device_certificate', 'serial number that is not hexadecimal', lambda c: c.ublox(
        action='revoke', ca_name='good.example.com', serial_numbers=['12:ZZ']), ["serial_numbers: '12:ZZ' is not a certificate serial number"]),
    Case('ublox_device_certificate', 'transfer to the same CA', lambda c: c.ublox(
        action='transfer', ca_name='good.example.com', from_ca='good.example.com'), ['from_ca and ca_name are both good.example.com']),
    Case('ublox_device_certificate', 'unknown action', lambda c: c.ublox(action='reissue'), ['action', 'must be one of', 'reissue']),
    Case('ublox_device_whitelist', 'IMEI with a wrong Luhn digit', lambda c: c.ublox(imeis=['862618583984361']),
         ["imeis[0]: '862618583984361' is not an IMEI", 'Luhn check digit']),
    Case('ublox_device_whitelist', 'IMEI of 14 digits', lambda c: c.ublox(imeis=['86261858398436']),
         ["'86261858398436' is not an IMEI", 'exactly 15 digits']),
    Case('ublox_device_whitelist', 'ROTPublicUID of 17 digits', lambda c: c.ublox(rot_public_uids=['00020000892800871']),
         ["'00020000892800871' is not a ROTPublicUID", '1 to 16 hexadecimal digits']),
    Case('ublox_device_whitelist', 'neither UIDs nor IMEIs', lambda c: c.ublox(state='present'), ['give rot_public_uids or imeis']),
    Case('ublox_device_provisioning', 'security_heartbeat 0', lambda c: c.ublox(rot_public_uids=['0002000089280087'], security_heartbeat=0),
         ['security_heartbeat is 0', 'at least 1']),
    Case('ublox_device_provisioning', 'device profile together with devices', lambda c: c.ublox(
        rot_public_uids=['01'], device_profile_uid='AgbCtixjwqLjwV3VWpfPyz', authorizations=dict(ztpv1=True)),
        ['device_profile_uid cannot be combined with rot_public_uids or tags']),
    Case('ublox_device_provisioning', 'state=present without anything to provision', lambda c: c.ublox(rot_public_uids=['01']),
         ['state=present needs authorizations', 'or security_heartbeat']),
    Case('ublox_device', 'a device with neither ROTPublicUID nor IMEI', lambda c: c.ublox(devices=[{}]),
         ['devices[0]', 'give rot_public_uid or imei']),
    Case('ublox_device', 'IMEI with a wrong check digit', lambda c: c.ublox(devices=[{'imei': '351358811234560'}]),
         ["'351358811234560' is not an IMEI", 'Luhn check digit']),
    Case('ublox_device', 'ROTPublicUID of 17 digits', lambda c: c.ublox(devices=[{'rot_public_uid': '00020000892800871'}]),
         ['is not a ROTPublicUID', '1 to 16 hexadecimal digits']),
    Case('ublox_device', 'the same device twice', lambda c: c.ublox(devices=[{'rot_public_uid': '01'}, {'rot_public_uid': '01'}]),
         ['each resource may appear once per task']),
    Case('ublox_device', 'tag name with a comma', lambda c: c.ublox(devices=[{'rot_public_uid': '01'}], tags=['line,7']),
         ['tags:', 'must not contain any of']),
    Case('ublox_device', 'tag_device_profile without a device profile', lambda c: c.ublox(devices=[{'rot_public_uid': '01'}], tags=['t'],
                                                                                          tag_device_profile=True),
         ['tag_device_profile needs device_profile_uid and tags']),
    Case('ublox_device', 'security_heartbeat 0', lambda c: c.ublox(devices=[{'rot_public_uid': '01'}], security_heartbeat=0),
         ['security_heartbeat is 0', 'at least 1']),
    Case('ublox_device', 'wait_timeout -1', lambda c: c.ublox(devices=[{'rot_public_uid': '01'}], wait_timeout=-1),
         ['wait_timeout must be 0 or more seconds']),
    Case('ublox_device', 'features for devices still to bootstrap without their device profile',
         lambda c: c.ublox(devices=[{'rot_public_uid': '0003aaaaaaaaaaaa'}], authorizations={'local_dpr': True}),
         ['device_profile_uid is required', 'have not bootstrapped yet']),
    Case('ublox_device_info', 'empty options', lambda c: c.ublox(options=[]), ['options is empty']),
    Case('ublox_device_info', 'unknown option name', lambda c: c.ublox(options=['CORE', 'SECRETS']), ['options', 'must be one or more of', 'SECRETS']),
    Case('ublox_token', 'api_key without api_secret', lambda c: c.ublox(api_secret=None),
         ['ublox_token logs in with api_key and api_secret', 'both are required']),
    Case('ublox_rootca_info', 'api_key without api_secret', lambda c: c.ublox(api_secret=None),
         ['api_secret is required with api_key', 'set UBLOX_API_SECRET']),
    Case('ublox_tag', 'api_secret without api_key', lambda c: c.ublox(tags=[dict(name='ok')], api_key=None),
         ['api_key is required with api_secret', 'set UBLOX_API_KEY']),
    Case('ublox_token', 'retry_max_wait 4000', lambda c: c.ublox(retry_max_wait=4000), ['retry_max_wait must be from 0 to 3600 seconds, got 4000']),
    Case('ublox_tag', 'empty list of tags', lambda c: c.ublox(tags=[]), ['tags is empty; give at least one tag']),

    Case('ublox_e2e_key_rotation', 'days 0', lambda c: c.ublox(rot_public_uids=['01'], type='AUTOMATIC', days=0),
         ['days is 0', 'u-blox rotates E2E keys every 1 to 30 days']),
    Case('ublox_e2e_key_rotation', 'days 31', lambda c: c.ublox(rot_public_uids=['01'], type='AUTOMATIC', days=31),
         ['days is 31', 'every 1 to 30 days']),
    Case('ublox_e2e_key_rotation', 'days with CONTINUOUS', lambda c: c.ublox(rot_public_uids=['01'], type='CONTINUOUS', days=7),
         ['days applies only to type=AUTOMATIC']),
    Case('ublox_e2e_key_rotation', 'unknown policy type', lambda c: c.ublox(rot_public_uids=['01'], type='WEEKLY'),
         ['type', 'must be one of: CONTINUOUS, AUTOMATIC', 'WEEKLY']),
    Case('ublox_e2e_key_rotation', 'neither devices nor tags', lambda c: c.ublox(type='CONTINUOUS'), ['give rot_public_uids or tags']),
    Case('ublox_device_security_info', 'notifications from 2020', lambda c: c.ublox(checks=['notifications'], from_date='2020-01-01'),
         ['from_date goes back to 2020-01-01', 'notifications (checks notifications) only from the last 180 days']),
    Case('ublox_device_security_info', 'usage of 61 days', lambda c: c.ublox(checks=['usage'], since_days=61),
         ['since_days goes back to', 'usage (checks usage) only from the last 60 days']),
    Case('ublox_device_security_info', 'notifications without a period', lambda c: c.ublox(checks=['notifications']),
         ['checks notifications needs from_date or since_days']),
    Case('ublox_device_security_info', 'unknown check', lambda c: c.ublox(checks=['clone', 'firmware']),
         ['checks', 'must be one or more of', 'firmware']),
    Case('ublox_device_security_info', 'from_date that is not a date', lambda c: c.ublox(from_date='last week'),
         ["from_date is 'last week'", 'ISO 8601']),

    # iotcomms.io -------------------------------------------------------------------------------------
    Case('iotcomms_device', 'MAC address of five pairs', lambda c: c.iotcomms(devices=[dict(device_id='d1', mac_address='00:11:22:33:44')]),
         ["devices[0] (d1): mac_address '00:11:22:33:44' is not a MAC address", 'six hex pairs']),
    Case('iotcomms_device', 'device_id with a space', lambda c: c.iotcomms(devices=[dict(device_id='has space')]),
         ["device_id 'has space' is not a valid iotcomms.io device id", '1 to 64 letters']),
    Case('iotcomms_device', 'device_id of 65 characters', lambda c: c.iotcomms(devices=[dict(device_id='9' * 65)]),
         ['is not a valid iotcomms.io device id', '1 to 64 letters']),
    Case('iotcomms_device', 'auth_type credentials without password', lambda c: c.iotcomms(devices=[dict(device_id='d1', auth_type='credentials')]),
         ['devices[0] (d1): password is required with auth_type=credentials']),
    Case('iotcomms_device', 'password of 5 characters', lambda c: c.iotcomms(devices=[dict(device_id='d1', auth_type='credentials', password='short')]),
         ['devices[0] (d1): password must be 8 to 128 characters long, got 5']),
    Case('iotcomms_device', 'unknown auth_type', lambda c: c.iotcomms(devices=[dict(device_id='d1', auth_type='radius')]),
         ['auth_type', 'must be one of', 'radius']),
    Case('iotcomms_device', 'device_type with a space', lambda c: c.iotcomms(devices=[dict(device_id='d1', device_type='alarm unit')]),
         ["devices[0] (d1): device_type 'alarm unit' is not a device type name"]),
    Case('iotcomms_device', 'device_cli with letters', lambda c: c.iotcomms(devices=[dict(device_id='d1', device_cli='call-me')]),
         ["device_cli 'call-me' is not a calling line identity", '2 to 20 digits']),
    Case('iotcomms_device', 'description of 256 characters', lambda c: c.iotcomms(devices=[dict(device_id='d1', description='x' * 256)]),
         ['description is 256 characters long', 'at most 255']),
    Case('iotcomms_device', 'settings that set authType', lambda c: c.iotcomms(devices=[dict(device_id='d1', settings={'authType': 'deviceid'})]),
         ['settings.authType: authType is a field of its own']),
    Case('iotcomms_device', 'the same device twice', lambda c: c.iotcomms(devices=[dict(device_id='d1'), dict(device_id='d1')]),
         ["devices[1]: 'd1' is also devices[0]", 'each resource may appear once per task']),
    Case('iotcomms_device', 'missing domain', lambda c: c.iotcomms(devices=[dict(device_id='d1')], domain=None),
         ['domain is required (IOTCOMMS_DOMAIN)']),
    Case('iotcomms_device', 'private key file that does not exist', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.m.missing_file), ['private_key_path: cannot read the key file']),
    Case('iotcomms_device', 'private key file that is a directory', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.m.a_directory), ['private_key_path: cannot read the key file', 'directory']),
    Case('iotcomms_device', 'private key file that does not parse', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.m.broken_key_file),
        ['private_key_path: the PEM private key could not be parsed', 'is not the base64 of a DER private key', 'RSA 2048 bits or larger']),
    Case('iotcomms_device', 'private key that is not PEM', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=None, private_key='not a key'),
        ['private_key: not a PEM private key (expected a "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY" block, RSA 2048 bits or larger']),
    Case('iotcomms_device', 'private key that is a certificate', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=None, private_key=c.m.ca_cert),
        ['private_key: not a PEM private key: it holds a certificate ("BEGIN CERTIFICATE" block)', 'RSA 2048 bits or larger']),
    Case('iotcomms_device', 'private key in OpenSSH format', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=None, private_key=c.m.openssh_key),
        ['private_key: an OpenSSH private key ("BEGIN OPENSSH PRIVATE KEY" block) is not a PEM private key', 'ssh-keygen -p -m PEM']),
    Case('iotcomms_device', 'EC P-256 key (ES256) where RS256 needs RSA', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.m.ec_key_file),
        ['private_key_path: an RSA private key is required for RS256, got an EC secp256r1 key']),
    Case('iotcomms_device', 'RSA key of 1024 bits', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=None, private_key=c.m.rsa_1024_pem),
        ['private_key: the RSA key has 1024 bits; RS256 needs at least 2048']),
    Case('iotcomms_device', 'encrypted key without passphrase', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH),
        ['private_key_path: the private key is encrypted; give its passphrase in private_key_passphrase']),
    Case('iotcomms_device', 'encrypted key with the wrong passphrase', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key_path=c.creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH, private_key_passphrase='not-it'),
        ['private_key_path: the private key could not be decrypted with private_key_passphrase']),
    Case('iotcomms_device', 'private_key and private_key_path together', lambda c: c.iotcomms(
        devices=[dict(device_id='d1')], private_key=c.m.rsa_key_pem), ['private_key_path and private_key are mutually exclusive']),
    Case('iotcomms_device', 'jwt_lifetime of 100000 s', lambda c: c.iotcomms(devices=[dict(device_id='d1')], jwt_lifetime=100000),
         ['jwt_lifetime must be an integer from 60 to', '90 minutes']),
    Case('iotcomms_device', 'bulk_threshold -1', lambda c: c.iotcomms(devices=[dict(device_id='d1')], bulk_threshold=-1),
         ['bulk_threshold must be 0', 'got -1']),
    Case('iotcomms_device_info', 'no signing key at all', lambda c: c.iotcomms(private_key_path=None),
         ['an RS256 signing key is required', 'private_key_path (IOTCOMMS_PRIVATE_KEY_PATH)']),

    # NAO Cloud ----------------------------------------------------------------------------------------
    Case('naocloud_trackable', 'tracking_id of five pairs', lambda c: c.naocloud(site_id=101, trackables=[dict(tracking_id='AA:BB:CC:00:00', name='x')]),
         ["trackables[0] (AA:BB:CC:00:00): tracking_id 'AA:BB:CC:00:00' is not a MAC address"]),
    Case('naocloud_trackable', 'tracking_id with a non-hex digit', lambda c: c.naocloud(
        site_id=101, trackables=[dict(tracking_id='GG:BB:CC:00:00:01', name='x')]), ["tracking_id 'GG:BB:CC:00:00:01' is not a MAC address"]),
    Case('naocloud_trackable', 'the same tag twice (case and separator differ)', lambda c: c.naocloud(
        site_id=101, trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='x'), dict(tracking_id='aa-bb-cc-00-00-01', name='y')]),
        ['trackables[1]', 'each resource may appear once per task']),
    Case('naocloud_trackable', 'blank name', lambda c: c.naocloud(site_id=101, trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='  ')]),
         ['trackables[0] (AA:BB:CC:00:00:01): name must be 1 to 255 characters and not blank']),
    Case('naocloud_trackable', 'category of 256 characters', lambda c: c.naocloud(
        site_id=101, trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='x', category='c' * 256)]),
        ['category is 256 characters long', 'at most 255']),
    Case('naocloud_trackable', 'site_id 0', lambda c: c.naocloud(site_id=0, trackables=[]), ['site_id must be a positive NAO Cloud site id, got 0']),
    Case('naocloud_trackable', 'job_timeout 0', lambda c: c.naocloud(site_id=101, trackables=[], job_timeout=0),
         ['job_timeout must be more than 0']),
    Case('naocloud_trackable', 'no credentials', lambda c: c.naocloud(site_id=101, trackables=[], api_key=None),
         ['NAO Cloud credentials are missing', 'api_key (NAOCLOUD_API_KEY)']),
    Case('naocloud_trackable', 'email without password', lambda c: c.naocloud(
        site_id=101, trackables=[], api_key=None, email='operator@example.com'), ['email', 'password']),
    Case('naocloud_trackable_info', 'tracking_ids that are not MACs', lambda c: c.naocloud(site_id=101, tracking_ids=['nope']),
         ["tracking_ids: 'nope' is not a MAC address"]),
    Case('naocloud_trackable_info', 'category with a comma', lambda c: c.naocloud(site_id=101, categories=['a,b']),
         ['categories: a category with a comma cannot be filtered']),
    Case('naocloud_trackable_info', 'OAuth2 access_token with a line break', lambda c: c.naocloud(
        site_id=101, api_key=None, access_token='c8d45405bd86\nd73713254cda'), ['access_token must not contain whitespace']),
    Case('naocloud_site_info', 'email without password', lambda c: c.naocloud(api_key=None, email='operator@example.com'),
         ['parameters are required together: email, password']),
    Case('naocloud_token', 'no credentials', lambda c: c.naocloud(api_key=None),
         ['naocloud_token opens a session with api_key (NAOCLOUD_API_KEY) or with email and password']),
    Case('naocloud_token', 'api_url without scheme', lambda c: c.naocloud(api_url='www.nao-cloud.com/api/v2'),
         ["api_url must be an http:// or https:// URL, got 'www.nao-cloud.com/api/v2'"]),

    # naocloud_site and the whitelist's upload form ------------------------------------------------------
    Case('naocloud_site', 'blank name', lambda c: c.naocloud(sites=[dict(name='  ', latitude=48.1, longitude=11.5)]),
         ['sites[0]', "name must not be blank; NAO Cloud refuses a site without a name (Name can't be blank)"]),
    Case('naocloud_site', 'neither name nor id', lambda c: c.naocloud(sites=[dict(latitude=48.1, longitude=11.5)]),
         ['sites[0]: give name or id']),
    Case('naocloud_site', 'latitude 91', lambda c: c.naocloud(sites=[dict(name='Hall', latitude=91.0, longitude=11.5)]),
         ['sites[0] (Hall): latitude must be a number of degrees from -90 to 90, got 91.0']),
    Case('naocloud_site', 'longitude -180.5', lambda c: c.naocloud(sites=[dict(name='Hall', latitude=48.1, longitude=-180.5)]),
         ['longitude must be a number of degrees from -180 to 180, got -180.5']),
    Case('naocloud_site', 'id 0', lambda c: c.naocloud(sites=[dict(id=0, name='Hall')]), ['id must be a positive NAO Cloud site id, got 0']),
    Case('naocloud_site', 'the same site twice', lambda c: c.naocloud(sites=[dict(name='Hall', latitude=1.0, longitude=1.0), dict(name='Hall')]),
         ["sites[1]: 'Hall' is also sites[0]; each resource may appear once per task"]),
    Case('naocloud_site', 'a new site without coordinates', lambda c: c.naocloud(sites=[dict(name='New hall', latitude=48.1)]),
         ["latitude and longitude are required to create a site: NAO Cloud has no site named 'New hall'"]),
    Case('naocloud_site', 'an id the user cannot see', lambda c: c.naocloud(sites=[dict(id=999, name='Hall')]),
         ['NAO Cloud has no site 999 that this user can see', 'NAO Cloud assigns the ids of new sites']),
    Case('naocloud_site', 'one site by id and by name', lambda c: c.naocloud(sites=[dict(id=101, latitude=1.0), dict(name='Mock Factory Hall')]),
         ["sites[1]: 'site 101' is also sites[0]"]),
    Case('naocloud_site', 'state absent (no delete)', lambda c: c.naocloud(sites=[dict(name='Mock Warehouse', state='absent')]),
         ['state', 'sites']),
    Case('ublox_device_whitelist', 'upload csv with IMEIs only', lambda c: c.ublox(imeis=['862618583984360'], upload='csv'),
         ['upload=csv needs rot_public_uids', 'the only Type of the u-blox CSV file is ROTPublicUID']),
    Case('ublox_device_whitelist', 'unknown upload form', lambda c: c.ublox(rot_public_uids=['0002000089280087'], upload='xml'),
         ['upload', 'must be one of', 'xml']),

    # manifest_info and batch_report ---------------------------------------------------------------------
    Case('manifest_info', 'manifest with the same serial twice', lambda c: dict(path=c.m.manifest(
        'dup-serial.csv', 'serial,iotcomms_device_id\nSN-1,4670001\nSN-1,4670002\n')), ["row 3: serial 'SN-1' duplicates row 2"]),
    Case('manifest_info', 'manifest with the same device twice', lambda c: dict(path=c.m.manifest(
        'dup-device.csv', 'serial,naocloud_mac\nSN-1,AA:BB:CC:00:00:01\nSN-2,aa:bb:cc:00:00:01\n')),
        ["row 3: naocloud_mac 'AA:BB:CC:00:00:01' duplicates row 2"]),
    Case('manifest_info', 'manifest without the serial column', lambda c: dict(path=c.m.manifest(
        'no-serial.csv', 'iotcomms_device_id\n4670001\n')), ['the serial column is missing']),
    Case('manifest_info', 'manifest with an unknown column', lambda c: dict(path=c.m.manifest(
        'colour.csv', 'serial,colour\nSN-1,red\n')), ['unknown column(s) colour', 'the manifest columns are serial']),
    Case('manifest_info', 'manifest with a bad IMEI', lambda c: dict(path=c.m.manifest(
        'imei.csv', 'serial,ublox_imei\nSN-1,12345\n')), ["row 2: ublox_imei '12345' must be 15 digits"]),
    Case('manifest_info', 'manifest with a bad claim token', lambda c: dict(path=c.m.manifest(
        'token.csv', 'serial,nrfcloud_claim_token\nSN-1,bogus\n')), ['row 2: nrfcloud_claim_token is not an nRF91 attestation token']),
    Case('manifest_info', 'manifest with a ROTPublicUID of 15 digits', lambda c: dict(path=c.m.manifest(
        'uid.csv', 'serial,ublox_rot_public_uid\nSN-1,000200008928008\n')), ["row 2: ublox_rot_public_uid '000200008928008' must be 16 hexadecimal"]),
    Case('manifest_info', 'manifest with an IMEI whose check digit is wrong', lambda c: dict(path=c.m.manifest(
        'luhn.csv', 'serial,ublox_imei\nSN-1,490154203237517\n')),
        ["row 2: ublox_imei '490154203237517' is not an IMEI", 'the 15th digit is the Luhn check digit of the first 14; expected 8']),
    Case('manifest_info', 'manifest with a MAC of 12 bare hexadecimal digits', lambda c: dict(path=c.m.manifest(
        'bare-mac.csv', 'serial,naocloud_mac\nSN-1,aabbcc000001\n')),
        ["row 2: naocloud_mac 'aabbcc000001' must be a MAC address", 'separated by colons or by dashes, in any case']),
    Case('manifest_info', 'manifest with a MAC of mixed separators', lambda c: dict(path=c.m.manifest(
        'mixed-mac.csv', 'serial,iotcomms_device_id,iotcomms_mac\nSN-1,4670001,AA:BB-CC:00:00:01\n')),
        ["row 2: iotcomms_mac 'AA:BB-CC:00:00:01' must be a MAC address", 'as iotcomms_device and naocloud_trackable take it']),
    Case('manifest_info', 'manifest with a serial of 65 characters', lambda c: dict(path=c.m.manifest(
        'long-serial.csv', 'serial,iotcomms_device_id\n%s,4670001\n' % ('S' * 65))),
        ['serial', 'has 65 characters; a serial is at most 64 printable characters']),
    Case('manifest_info', 'manifest with a tab in a serial', lambda c: dict(path=c.m.manifest(
        'tab-serial.csv', 'serial,iotcomms_device_id\n"SN\t1",4670001\n')), ["row 2: serial 'SN\\t1' contains a control character"]),
    Case('manifest_info', 'manifest with an iotcomms device id that starts with a dash', lambda c: dict(path=c.m.manifest(
        'dash-id.csv', 'serial,iotcomms_device_id\nSN-1,-4670001\n')),
        ["row 2: iotcomms_device_id '-4670001' must be 1 to 64 letters", 'starting with a letter or digit']),
    Case('manifest_info', 'manifest with an iotcomms_mac but no iotcomms device id', lambda c: dict(path=c.m.manifest(
        'lone-mac.csv', 'serial,iotcomms_mac\nSN-1,00:11:22:33:44:55\n')), ['row 2: iotcomms_mac is given without iotcomms_device_id']),
    Case('manifest_info', 'manifest with one MAC on two devices (iotcomms_mac and naocloud_mac)', lambda c: dict(path=c.m.manifest(
        'mac-twice.csv', 'serial,iotcomms_device_id,iotcomms_mac,naocloud_mac\nSN-1,4670001,aa:bb:cc:00:00:01,\nSN-2,4670002,,AA-BB-CC-00-00-01\n')),
        ["row 3: naocloud_mac 'AA:BB:CC:00:00:01' duplicates the iotcomms_mac of row 2 (a MAC address belongs to one device)"]),
    Case('manifest_info', 'manifest with two tokens of one nRF device', lambda c: dict(path=c.m.manifest(
        'token-twice.csv', 'serial,nrfcloud_claim_token\nSN-1,%s\nSN-2,%s\n' % (c.claim_token, c.second_claim_token))),
        ['row 3: nrfcloud_claim_token is a token of nRF Cloud device', 'like the token of row 2 (two tokens of one device)']),
    Case('manifest_info', 'manifest with five problems in three rows', lambda c: dict(path=c.m.manifest('five.csv', FIVE_PROBLEMS)),
         ['the manifest has 5 problem(s), nothing was sent', "row 2: ublox_imei '490154203237517' is not an IMEI",
          "row 3: naocloud_mac 'AA:BB:CC:00:01' must be a MAC address", "row 3: ublox_rot_public_uid '0a1b2c3d4e5f6071' duplicates row 2",
          "row 4: iotcomms_device_id '-3' must be", "row 4: serial 'SN-1' duplicates row 2"]),
    Case('manifest_info', 'manifest without device rows', lambda c: dict(path=c.m.manifest('empty.csv', 'serial\n')),
         ['the manifest has no device rows']),
    Case('manifest_info', 'YAML manifest that is a string', lambda c: dict(path=c.m.manifest('text.yml', 'just text\n')),
         ['path: a YAML manifest must be a list of mappings']),
    Case('manifest_info', 'manifest file that does not exist', lambda c: dict(path=c.m.missing_file.replace('.pem', '.csv')),
         ['path: cannot read the manifest', 'No such file or directory']),
    Case('manifest_info', 'manifest of unknown format', lambda c: dict(path=c.m.a_file), ['path: cannot tell the manifest format', 'set format']),
    Case('batch_report', 'step without vendor', lambda c: dict(path=os.path.join(c.m.dir, 'report-no-vendor'), steps=[dict(step='claim')]),
         ['missing required arguments: vendor', 'steps']),
    Case('batch_report', 'report directory that is a file', lambda c: dict(path=c.m.a_file, steps=[dict(vendor='nrfcloud', step='claim')]),
         ['path', 'a-file']),
    Case('batch_report', 'mode that is not a mode', lambda c: dict(path=os.path.join(c.m.dir, 'report-bad-mode'), mode='bogus',
                                                                   steps=[dict(vendor='nrfcloud', step='claim')]),
         ['mode', "'bogus'", 'octal', 'symbolic']),

    # the role against bad manifests --------------------------------------------------------------------
    Case(ROLE, 'manifest with the same device twice', lambda c: c.m.manifest(
        'role-dup.csv', MANIFEST_HEADER + 'SN-1,,,,4670001,AA:BB:CC:00:00:01\nSN-2,,,,4670001,AA:BB:CC:00:00:02\n'),
        ["row 3: iotcomms_device_id '4670001' duplicates row 2", 'nothing was sent']),
    Case(ROLE, 'manifest with an IMEI whose check digit is wrong', lambda c: c.m.manifest('role-luhn.csv', BAD_CHECK_DIGIT),
         ["row 2: ublox_imei '490154203237517' is not an IMEI", 'the Luhn check digit of the first 14; expected 8', 'nothing was sent']),
    Case(ROLE, 'manifest without the serial column', lambda c: c.m.manifest(
        'role-no-serial.csv', 'iotcomms_device_id,naocloud_mac\n4670001,AA:BB:CC:00:00:01\n'),
        ['the serial column is missing', 'nothing was sent']),
    Case(ROLE, 'manifest with a malformed MAC', lambda c: c.m.manifest(
        'role-mac.csv', 'serial,naocloud_mac\nSN-1,AA:BB:CC:00:01\n'),
        ["row 2: naocloud_mac 'AA:BB:CC:00:01' must be a MAC address", 'nothing was sent']),
]


# --------------------------------------------------------------------------- the test


class Outcome:
    """What one case did: the module's result (the role's error as a failed result), and what the mock counted."""

    def __init__(self, case, result, counters, written):
        self.case = case
        self.result = result
        self.message = result.get('msg') or ''
        self.counters = counters
        self.written = written  # files batch_report wrote before it refused the input

    def as_required(self):
        return bool(self.result.get('failed') and all(words in self.message for words in self.case.words)
                    and not self.written and self.counters['by_category']['write'] == 0)


class Outcomes:
    """Each case run at most once per module, when a test first needs it: the case's own test reads its outcome, the docs
    check reads them all (and runs those not run yet), so every test passes alone and in any order."""

    def __init__(self, mock, materials, workdir):
        self.mock = mock
        self.materials = materials
        self.workdir = workdir
        self.started = time.monotonic()
        self.done = {}

    def of(self, case):
        if case.ident not in self.done:
            with pytest.MonkeyPatch.context() as patch:
                for name in list(os.environ):
                    if name.startswith(VENDOR_ENV):
                        patch.delenv(name)
                self.done[case.ident] = self.run(case)
        return self.done[case.ident]

    def run(self, case):
        self.mock.admin.reset()
        args = case.args(Context(self.mock, harness.credentials, self.materials))
        self.mock.admin.reset_counters()
        if case.module == ROLE:
            result = dict(failed=True, msg=run_role(case, self.mock, args, self.workdir))
        else:
            module = importlib.import_module('ansible_collections.iotops.provisioning.plugins.modules.' + case.module)
            try:
                result = run_module(module, dict((k, v) for k, v in args.items() if v is not None))
            except Exception as exc:  # pylint: disable=broad-except
                # under ansible-playbook this is a MODULE FAILURE with a traceback, not a message naming the input
                result = dict(failed=True, msg='the module crashed: %s: %s' % (type(exc).__name__, exc))
        written = []
        if case.module == 'batch_report' and os.path.isdir(args['path']):
            written = os.listdir(args['path'])
        return Outcome(case, result, self.mock.admin.counters(), written)


@pytest.fixture(scope='module')
def materials(workdir):
    return Materials(workdir)


@pytest.fixture(scope='module')
def outcomes(mock_server, materials, workdir):
    return Outcomes(mock_server, materials, workdir)


def relative_dates(message, today):
    """A date that a module worked out from today - as many days back as the message says, give or take one (u-blox's
    180 days of notifications) - as its distance from today, so that the committed table does not go out of date with the
    calendar; the dates of the inputs and the examples stay."""
    spans = set(int(n) for n in re.findall(r'\b(\d+) days\b', message))

    def word(match):
        days = (today - datetime.date.fromisoformat(match.group(0))).days
        if not spans & {days - 1, days, days + 1}:
            return match.group(0)
        return '<today - %d days>' % days
    return re.sub(r'\b20\d\d-[01]\d-[0-3]\d\b', word, message)


def render(outcomes):
    rows = []
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for case in CASES:
        outcome = outcomes.of(case)
        message = outcome.message.replace(outcomes.workdir, '<tmp>').replace(harness.TESTS_DIR, '<tests>')
        message = relative_dates(message, today)
        message = re.sub(r'\s+', ' ', message).replace('|', '\\|')
        verdict = 'yes' if outcome.as_required() else '**no**'
        rows.append('| %s | %s | %s | %s |' % (case.module, case.what.replace('|', '\\|'), message, verdict))
    modules = len(set(c.module for c in CASES)) - 1
    return '\n'.join([
        '# Bad input: what each module says',
        '',
        '<!-- Generated by tests/suites/test_bad_input_suite.py (IOTOPS_WRITE_DOCS=1); do not edit by hand. -->',
        '',
        'Every module checks its whole input before the first write (most before the first request) and names the input',
        'and the rule it breaks. The suite runs each row below against the mock server, checks the message for the',
        'expected words, and checks that the mock counted zero write calls. %d inputs across %d modules and the'
        % (len(CASES), modules),
        'factory_onboarding role (run with ansible-playbook against a bad manifest).',
        '',
        '',
        'The last column says whether the module behaved as required: refused the input with a message that holds',
        'the expected words, and wrote nothing. A **no** is a bug of the collection, reported to be fixed.',
        '',
        '| module | input | message | as required |',
        '|---|---|---|---|',
    ] + rows) + '\n'


def run_role(case, mock, manifest, workdir):
    inventory = harness.write_inventory(os.path.join(workdir, 'bad-input-inventory.json'), {
        'factory_onboarding_manifest': manifest, 'factory_onboarding_batch_name': 'bad-input',
        'factory_onboarding_report_dir': os.path.join(workdir, 'reports'), 'factory_onboarding_naocloud_site_id': harness.SITE_ID})
    result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')], harness.ansible_env(mock, workdir),
                                  workdir, 'bad-input-role', timeout=120)
    assert result.rc != 0, (case.ident, result.stdout[-2000:])
    found = re.findall(r'^fatal: \[localhost\]: FAILED! => (.*)$', result.stdout, re.M)
    assert found, (case.ident, result.stdout[-2000:])
    return json.loads(found[-1])['msg']  # the role's one error comes after the module's own (ignored) failure


@pytest.mark.parametrize('case', CASES, ids=[c.ident for c in CASES])
def test_bad_input_is_refused_before_any_write(outcomes, case):
    outcome = outcomes.of(case)
    assert outcome.result.get('failed'), (case.ident, outcome.result)
    for words in case.words:
        assert words in outcome.message, (case.ident, words, outcome.message)
    assert not outcome.written, (case.ident, 'files were written before the input was refused', outcome.written)
    assert outcome.counters['by_category']['write'] == 0, (case.ident, outcome.counters['endpoints'])


def test_docs_table_is_current(outcomes):
    """The committed table equals what the cases produce (every case is run here if its own test has not run it yet).
    With IOTOPS_WRITE_DOCS=1 the table is written instead."""
    text = render(outcomes)
    modules = sorted(set(c.module for c in CASES))
    failing = [case for case in CASES if not outcomes.of(case).as_required()]
    print('\nBad-input suite: %d malformed inputs across %d modules and the role in %.0f s; %d refused as expected before any write, %d not'
          % (len(CASES), len(modules) - 1, time.monotonic() - outcomes.started, len(CASES) - len(failing), len(failing)))
    for case in failing:
        print('  NOT AS EXPECTED: %s: %s' % (case.ident, outcomes.of(case).message))
    if os.environ.get('IOTOPS_WRITE_DOCS') == '1':
        with open(DOC, 'w', encoding='utf-8') as handle:
            handle.write(text)
        print('\nwrote %s (%d cases)' % (os.path.relpath(DOC, harness.ROOT), len(CASES)))
        return
    with open(DOC, encoding='utf-8') as handle:
        committed = handle.read()
    assert committed == text, ('docs/bad-input.md is out of date; regenerate it with '
                               'IOTOPS_WRITE_DOCS=1 python -m pytest tests/suites/test_bad_input_suite.py')
