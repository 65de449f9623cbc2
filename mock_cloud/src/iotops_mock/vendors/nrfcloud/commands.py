"""Provisioning commands of the nRF Cloud Provisioning Service: validation and public views.

The kinds and their fields are seed 003's; ``cloudAccessKeyGeneration`` is from api/nrfcloud.md §2.3.
Each rule broken gives a ValueError whose text names the field and the rule.
"""

import copy
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

MAX_COMMANDS = 20             # seed 003: "up to 20 commands for a single claimed device"
MAX_DESCRIPTION = 255
SEC_TAG_MAX = 2147483647
DEFAULT_KEY_USAGE = '101010000'   # nrfcloud-utils' default
KEY_USAGE_RE = re.compile(r'^[01]{9}$')
HEX_RE = re.compile(r'^[0-9a-fA-F]+$')

# kind -> (required fields, optional fields)
KINDS = {
    'clientPrivateKeyGeneration': (('secTag',), ()),
    'cloudAccessKeyGeneration': (('secTag',), ()),
    'certificateSigningRequest': (('secTag',), ('attributes', 'keyUsage')),
    'serverCertificate': (('secTag', 'content'), ()),
    'clientCertificate': (('secTag', 'content'), ()),
    'clientPrivateKey': (('secTag', 'content', 'password'), ()),
    'preSharedKey': (('secTag', 'identity', 'secret'), ()),
    'config': ((), ()),
    'finished': ((), ()),
}
# Write-only fields: never in an answer or the state dump.
SECRET_FIELDS = {'clientPrivateKey': ('content', 'password'), 'preSharedKey': ('secret',)}

# CSR subject attributes the modem's %KEYGEN takes.
ATTRIBUTES = {
    'C': NameOID.COUNTRY_NAME, 'ST': NameOID.STATE_OR_PROVINCE_NAME, 'L': NameOID.LOCALITY_NAME,
    'O': NameOID.ORGANIZATION_NAME, 'OU': NameOID.ORGANIZATIONAL_UNIT_NAME, 'CN': NameOID.COMMON_NAME,
    'emailAddress': NameOID.EMAIL_ADDRESS, 'serialNumber': NameOID.SERIAL_NUMBER,
}
KEY_USAGE_BITS = ('digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment', 'key_agreement',
                  'key_cert_sign', 'crl_sign', 'encipher_only', 'decipher_only')


def validate_command(body):
    """Check a CreateProvisioningCommand body; returns the command kind."""
    if not isinstance(body, dict):
        raise ValueError('the body must be a JSON object {"description"?, "request"}')
    unknown = sorted(set(body) - {'description', 'request'})
    if unknown:
        raise ValueError('unknown field %s: a command has only description and request' % ', '.join(unknown))
    description = body.get('description')
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise ValueError('description must be a string of at most %d characters' % MAX_DESCRIPTION)
    request = body.get('request')
    if not isinstance(request, dict) or len(request) != 1:
        raise ValueError('request must be an object with exactly one command kind (%s)' % ', '.join(KINDS))
    kind = next(iter(request))
    if kind not in KINDS:
        raise ValueError('request.%s is not a command kind; expected one of %s' % (kind, ', '.join(KINDS)))
    params = request[kind]
    where = 'request.%s' % kind
    if not isinstance(params, dict):
        raise ValueError('%s must be an object' % where)
    if kind == 'config':
        _check_config(params, where)
        return kind
    required, optional = KINDS[kind]
    unknown = sorted(set(params) - set(required) - set(optional))
    if unknown:
        allowed = ', '.join(required + optional) or 'no fields'
        raise ValueError('%s has unknown field %s; it takes %s' % (where, ', '.join(unknown), allowed))
    missing = [name for name in required if name not in params]
    if missing:
        raise ValueError('%s.%s is required' % (where, missing[0]))
    if 'secTag' in params:
        check_sec_tag(params['secTag'], where + '.secTag')
    CHECKS.get(kind, _no_check)(params, where)
    return kind


def check_sec_tag(value, where):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SEC_TAG_MAX:
        raise ValueError('%s must be an integer from 0 to %d (a modem security tag)' % (where, SEC_TAG_MAX))


def _no_check(params, where):
    return None


def _check_config(params, where):
    if not params:
        raise ValueError('%s must set at least one key' % where)
    for key, value in params.items():
        if not key or not isinstance(value, str):
            raise ValueError('%s.%s must be a string (config values are strings)' % (where, key))


def _check_csr(params, where):
    parse_attributes(params.get('attributes', ''), where + '.attributes')
    usage = params.get('keyUsage', DEFAULT_KEY_USAGE)
    if not isinstance(usage, str) or not KEY_USAGE_RE.match(usage):
        raise ValueError('%s.keyUsage must be exactly 9 characters of 0 and 1 (the %%KEYGEN key usage bit string)' % where)


def _check_certificate(params, where):
    load_certificates(params['content'], where + '.content')


def _check_private_key(params, where):
    content, password = params['content'], params['password']
    if not isinstance(password, str) or not password:
        raise ValueError('%s.password must be a non-empty string' % where)
    if not isinstance(content, str) or not content.strip().startswith('-----BEGIN ENCRYPTED PRIVATE KEY-----'):
        raise ValueError('%s.content must be an encrypted PEM private key (-----BEGIN ENCRYPTED PRIVATE KEY-----)' % where)
    load_private_key(content, password, where)


def _check_psk(params, where):
    if not isinstance(params['identity'], str) or not params['identity']:
        raise ValueError('%s.identity must be a non-empty string' % where)
    if not isinstance(params['secret'], str) or not HEX_RE.match(params['secret']):
        raise ValueError('%s.secret must be a non-empty string of hexadecimal digits' % where)


def _check_finished(params, where):
    if params:
        raise ValueError('%s takes no fields' % where)


CHECKS = {
    'certificateSigningRequest': _check_csr,
    'serverCertificate': _check_certificate,
    'clientCertificate': _check_certificate,
    'clientPrivateKey': _check_private_key,
    'preSharedKey': _check_psk,
    'finished': _check_finished,
}


def parse_attributes(text, where='attributes'):
    """``"O=Acme,L=Oslo,C=no,CN=id"`` -> [x509.NameAttribute] in the order given."""
    if not isinstance(text, str):
        raise ValueError('%s must be a string like "O=...,L=...,C=no"' % where)
    result = []
    for part in filter(None, (piece.strip() for piece in text.split(','))):
        name, sep, value = part.partition('=')
        if not sep or not value or name.strip() not in ATTRIBUTES:
            raise ValueError('%s: %r is not NAME=value with NAME one of %s' % (where, part, ', '.join(ATTRIBUTES)))
        try:
            result.append(x509.NameAttribute(ATTRIBUTES[name.strip()], value.strip()))
        except ValueError as exc:
            raise ValueError('%s: %s (%s)' % (where, part, exc)) from exc
    return result


def key_usage(bits):
    """x509.KeyUsage of a %KEYGEN bit string, or None when no bit is set; ValueError if the bits contradict."""
    if '1' not in bits:
        return None
    flags = {name: bit == '1' for name, bit in zip(KEY_USAGE_BITS, bits)}
    if (flags['encipher_only'] or flags['decipher_only']) and not flags['key_agreement']:
        raise ValueError('keyUsage %s sets encipherOnly or decipherOnly without keyAgreement' % bits)
    return x509.KeyUsage(**flags)


def load_certificates(content, where='content'):
    if not isinstance(content, str):
        raise ValueError('%s must be a PEM certificate string' % where)
    try:
        certificates = x509.load_pem_x509_certificates(content.encode())
    except ValueError as exc:
        raise ValueError('%s must be a PEM certificate that parses: %s' % (where, exc)) from exc
    if not certificates:
        raise ValueError('%s must be a PEM certificate that parses' % where)
    return certificates


def load_private_key(content, password, where='content'):
    try:
        return serialization.load_pem_private_key(content.encode(), password=password.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError('%s must be an encrypted PEM private key that decrypts with the password given' % where) from exc


def kind_of(command):
    return next(iter(command['request']))


def public_request(request):
    """The request as sent, minus the write-only secret fields."""
    result = copy.deepcopy(request)
    for kind, fields in SECRET_FIELDS.items():
        if kind in result:
            for field in fields:
                result[kind].pop(field, None)
    return result
