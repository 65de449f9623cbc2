# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading PEM private keys with errors that name the option and the rule.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The parser's own words ("Could not deserialize key data ... ASN.1 ...", "MalformedFraming") tell an
operator nothing, so every failure is said as the rule the value breaks: which PEM block was
expected, what the value holds instead (by its BEGIN label only, never its content), and which
option carries the passphrase. Blocks are named as "BEGIN <label>" without the dashes: the
redaction of every message masks text that looks like the start of a PEM private key.
"""

from __future__ import annotations

import re

from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError

# The PEM labels of private keys that cryptography's load_pem_private_key reads (RFC 7468 and OpenSSL's older ones).
PRIVATE_KEY_LABELS = ('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'DSA PRIVATE KEY')
_BEGIN = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----')
# What other PEM blocks hold, for the message that says what was given instead of a private key.
_OTHER_BLOCKS = {
    'CERTIFICATE': 'a certificate',
    'CERTIFICATE REQUEST': 'a certificate signing request',
    'PUBLIC KEY': 'a public key',
    'RSA PUBLIC KEY': 'a public key',
}


class KeyRule:
    """The private keys an option takes: the key type in words and the unencrypted PEM blocks that hold one."""

    def __init__(self, words, labels):
        self.words = words
        self.labels = labels

    def expected(self, passphrase_option):
        blocks = ' or '.join('"BEGIN %s"' % label for label in self.labels)
        return 'expected a %s block, %s; an encrypted key as a "BEGIN ENCRYPTED PRIVATE KEY" block with its passphrase in %s' % (
            blocks, self.words, passphrase_option)


ANY_KEY = KeyRule('an RSA or EC key', ('PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'))
RSA_KEY = KeyRule('RSA 2048 bits or larger', ('PRIVATE KEY', 'RSA PRIVATE KEY'))
P256_KEY = KeyRule('EC P-256 (prime256v1)', ('PRIVATE KEY', 'EC PRIVATE KEY'))


def pem_labels(data):
    """The BEGIN labels of the PEM blocks in ``data`` (text or bytes), in order; [] when it holds no PEM block."""
    if isinstance(data, bytes):
        data = data.decode('ascii', 'replace')
    return _BEGIN.findall(data) if isinstance(data, str) else []


def holds(labels):
    """What the PEM blocks ``labels`` hold, in words, e.g. 'a certificate ("BEGIN CERTIFICATE" block)'."""
    first = labels[0]
    what = 'a private key' if first.endswith('PRIVATE KEY') else _OTHER_BLOCKS.get(first, 'a PEM block')
    return '%s ("BEGIN %s" block)' % (what, first)


def read_key_file(path, option):
    """The bytes of a key file, or ConfigError saying why it cannot be read (never its content)."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError('%s: cannot read the key file %s (%s)' % (option, path, exc.strerror or type(exc).__name__)) from None


def load_private_key(pem, option, passphrase=None, passphrase_option='passphrase', rule=ANY_KEY):
    """A cryptography private key object from PEM bytes or text; ConfigError in the words of ``rule`` otherwise."""
    serialization = require('cryptography.hazmat.primitives.serialization')
    exceptions = require('cryptography.exceptions')
    if isinstance(pem, str):
        pem = pem.encode('utf-8')
    expected = rule.expected(passphrase_option)
    labels = pem_labels(pem)
    keys = [label for label in labels if label in PRIVATE_KEY_LABELS]
    if not keys:
        if 'OPENSSH PRIVATE KEY' in labels:
            raise ConfigError('%s: an OpenSSH private key ("BEGIN OPENSSH PRIVATE KEY" block) is not a PEM private key; convert a '
                              'copy with ssh-keygen -p -m PEM -f <copy> (%s)' % (option, expected))
        if labels:
            raise ConfigError('%s: not a PEM private key: it holds %s (%s)' % (option, holds(labels), expected))
        raise ConfigError('%s: not a PEM private key (%s)' % (option, expected))
    encrypted = keys[0] == 'ENCRYPTED PRIVATE KEY' or b'Proc-Type: 4,ENCRYPTED' in pem
    password = passphrase.encode('utf-8') if passphrase else None
    try:
        return serialization.load_pem_private_key(pem, password=password)
    except TypeError:
        if password is None:
            raise ConfigError('%s: the private key is encrypted; give its passphrase in %s' % (option, passphrase_option)) from None
        raise ConfigError('%s: the private key is not encrypted, but %s was given; remove it' % (option, passphrase_option)) from None
    except exceptions.UnsupportedAlgorithm:
        raise ConfigError('%s: the private key uses a key type or cipher that cryptography on the controller cannot read (%s)'
                          % (option, expected)) from None
    except ValueError:
        if encrypted and password is not None:
            raise ConfigError('%s: the private key could not be decrypted with %s: the passphrase is wrong, or the encrypted '
                              'block is damaged' % (option, passphrase_option)) from None
        raise ConfigError('%s: the PEM private key could not be parsed: its "BEGIN %s" block is not the base64 of a DER '
                          'private key (damaged, cut short, or a label that does not match its content) (%s)'
                          % (option, keys[0], expected)) from None


def require_rsa(key, option, minimum_bits=2048):
    rsa = require('cryptography.hazmat.primitives.asymmetric.rsa')
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError('%s: an RSA private key is required for RS256, got %s' % (option, key_type_name(key)))
    if key.key_size < minimum_bits:
        raise ConfigError('%s: the RSA key has %d bits; RS256 needs at least %d' % (option, key.key_size, minimum_bits))


def require_p256(key, option):
    """An EC P-256 key (private or public), the only kind nRF Cloud accepts for ES256."""
    curve = getattr(key, 'curve', None)
    if curve is None or curve.name != 'secp256r1':
        kind = 'public key' if 'Public' in type(key).__name__ else 'private key'
        raise ConfigError('%s: an EC P-256 (prime256v1) %s is required for ES256, got %s' % (option, kind, key_type_name(key)))


def key_type_name(key):
    """A readable key type, e.g. "an RSA 2048-bit key" or "an EC secp384r1 key"."""
    curve = getattr(key, 'curve', None)
    if curve is not None:
        return 'an EC %s key' % curve.name
    size = getattr(key, 'key_size', None)
    name = type(key).__name__.replace('PrivateKey', '').replace('PublicKey', '').lstrip('_')
    return 'an %s %s-bit key' % (name, size) if size else 'an %s key' % name
