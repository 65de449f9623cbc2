# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A made-up factory CA for the demo, the benchmark and the test suites: the CA whose key signs the CSRs
the mock's nRF91 devices return (``sign_csr`` of nrfcloud_provisioning)."""

from __future__ import annotations

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def factory_ca_pems(common_name, passphrase=None):
    """A self-signed P-256 CA: returns (certificate PEM, private key PEM), the key encrypted when a ``passphrase`` is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA256()))
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode())


def write_factory_ca(workdir, common_name, passphrase=None):
    """The same CA written to ``workdir``: returns (certificate path, private key path); the key file is mode 0600."""
    cert_pem, key_pem = factory_ca_pems(common_name, passphrase)
    cert_path, key_path = os.path.join(workdir, 'factory-ca.pem'), os.path.join(workdir, 'factory-ca.key')
    with open(cert_path, 'w', encoding='ascii') as handle:
        handle.write(cert_pem)
    with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='ascii') as handle:
        handle.write(key_pem)
    return cert_path, key_path
