# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates, CSRs and a factory CA, with ``cryptography`` in the module's own process.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A batch of CSRs is signed in one module run: the CA key is loaded once and never leaves the
controller, and no task per certificate is needed.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._deps import require
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import holds, load_private_key, pem_labels


def _x509():
    return require('cryptography.x509')


def load_certificate(pem, option):
    """A certificate object from PEM text, or ConfigError naming the option and the rule (never the parser's words)."""
    if not isinstance(pem, str) or '-----BEGIN CERTIFICATE-----' not in pem:
        labels = pem_labels(pem)
        instead = '; it holds %s' % holds(labels) if labels else ''
        raise ConfigError('%s must be a PEM certificate ("-----BEGIN CERTIFICATE-----" block)%s' % (option, instead))
    try:
        return _x509().load_pem_x509_certificate(pem.encode('utf-8'))
    except ValueError:
        raise ConfigError('%s: the PEM certificate does not parse: its "BEGIN CERTIFICATE" block is not the base64 of a DER X.509 '
                          'certificate (damaged or cut short, or its END line is missing)' % option) from None


def certificate_pem(cert):
    serialization = require('cryptography.hazmat.primitives.serialization')
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def certificate_summary(cert):
    """The fields a report shows about a certificate (no key material)."""
    return dict(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number='%x' % cert.serial_number,
        not_before=cert.not_valid_before_utc.strftime('%Y-%m-%dT%H:%M:%SZ'),
        not_after=cert.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ'),
    )


def check_encrypted_private_key(pem, password, option):
    """nRF Cloud injects client private keys only as encrypted PEM that the password opens."""
    if not isinstance(pem, str) or '-----BEGIN ENCRYPTED PRIVATE KEY-----' not in pem:
        labels = pem_labels(pem)
        instead = '; it holds %s' % holds(labels) if labels else ''
        raise ConfigError('%s must be an encrypted PEM private key (a "BEGIN ENCRYPTED PRIVATE KEY" block), as the '
                          'clientPrivateKey command requires%s' % (option, instead))
    if not password:
        raise ConfigError('%s: password is required to inject an encrypted private key' % option)
    load_private_key(pem, option, password, passphrase_option='password')


def csr_from_device(value):
    """The CSR a device returned: AT%KEYGEN output (base64url DER CSR, optionally "." COSE), base64 DER, or PEM."""
    x509 = _x509()
    if not isinstance(value, str) or not value.strip():
        raise IotopsError('the device returned no CSR')
    value = value.strip()
    if '-----BEGIN CERTIFICATE REQUEST-----' in value:
        try:
            csr = x509.load_pem_x509_csr(value.encode('utf-8'))
        except ValueError:
            raise IotopsError('the CSR the device returned does not parse: its "BEGIN CERTIFICATE REQUEST" block is not the base64 of '
                              'a DER PKCS#10 request (damaged or cut short)') from None
    else:
        body = value.split('.')[0]
        try:
            der = base64.urlsafe_b64decode(body + '=' * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise IotopsError('the CSR the device returned is neither PEM nor base64url DER') from None
        try:
            csr = x509.load_der_x509_csr(der)
        except ValueError:
            raise IotopsError('the CSR the device returned does not parse: it is not a DER PKCS#10 request (AT%KEYGEN prints the '
                              'base64url DER request, optionally followed by "." and a COSE signature)') from None
    if not csr.is_signature_valid:
        raise IotopsError('the CSR the device returned has an invalid signature')
    return csr


def csr_pem(csr):
    serialization = require('cryptography.hazmat.primitives.serialization')
    return csr.public_bytes(serialization.Encoding.PEM).decode('ascii')


def same_public_key(first, second):
    """Whether two holders of a public key (certificates, CSRs, private keys) hold the same one."""
    serialization = require('cryptography.hazmat.primitives.serialization')

    def spki(holder):
        return holder.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    return spki(first) == spki(second)


def key_belongs_to(certificate, private_key):
    """Whether ``private_key`` is the key of ``certificate`` (the same public key)."""
    return same_public_key(certificate, private_key)


class FactoryCA:
    """A CA certificate and its key, loaded once, that signs device CSRs."""

    def __init__(self, certificate, private_key, passphrase=None, option='sign_csr'):
        self.certificate = load_certificate(certificate, '%s.ca_certificate' % option)
        self.key = load_private_key(private_key, '%s.ca_private_key' % option, passphrase, '%s.ca_private_key_passphrase' % option)
        if not key_belongs_to(self.certificate, self.key):
            raise ConfigError('%s.ca_private_key does not belong to %s.ca_certificate (the public keys differ)' % (option, option))

    def not_after(self, days, now):
        """When a certificate signed at ``now`` (a UTC datetime) for ``days`` expires: never after the CA itself."""
        return min(now + datetime.timedelta(days=days), self.certificate.not_valid_after_utc)

    def sign(self, csr, days, now=None):
        """A certificate for the CSR's subject and key, issued by this CA, valid ``days`` from ``now`` (seconds since the
        epoch, by default the controller's clock; modules pass the cloud's, see _http.ServerClock)."""
        x509 = _x509()
        hashes = require('cryptography.hazmat.primitives.hashes')
        now = datetime.datetime.fromtimestamp(time.time() if now is None else now, datetime.timezone.utc)
        not_after = self.not_after(days, now)
        builder = (x509.CertificateBuilder()
                   .subject_name(csr.subject)
                   .issuer_name(self.certificate.subject)
                   .public_key(csr.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate device clock skew
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False))
        return builder.sign(self.key, hashes.SHA256())
