# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading PEM private keys with errors that name the option and the rule.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError


def read_key_file(path, option):
    """The bytes of a key file, or ConfigError saying why it cannot be read (never its content)."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError('%s: cannot read the key file %s (%s)' % (option, path, exc.strerror or type(exc).__name__)) from None


def load_private_key(pem, option, passphrase=None, passphrase_option='passphrase'):
    """A cryptography private key object from PEM bytes or text."""
    serialization = require('cryptography.hazmat.primitives.serialization')
    if isinstance(pem, str):
        pem = pem.encode('utf-8')
    if b'-----BEGIN' not in pem or b'PRIVATE KEY-----' not in pem:
        raise ConfigError('%s: not a PEM private key (expected a "-----BEGIN ... PRIVATE KEY-----" block)' % option)
    password = passphrase.encode('utf-8') if passphrase else None
    try:
        return serialization.load_pem_private_key(pem, password=password)
    except TypeError:
        if password is None:
            raise ConfigError('%s: the private key is encrypted; give its passphrase in %s' % (option, passphrase_option)) from None
        raise ConfigError('%s: the private key is not encrypted, but %s was given; remove it' % (option, passphrase_option)) from None
    except ValueError:
        if password is not None:
            raise ConfigError('%s: the private key could not be decrypted with %s, or it is not a valid PEM key'
                              % (option, passphrase_option)) from None
        raise ConfigError('%s: the PEM private key could not be parsed' % option) from None


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
