"""Private CA and a loopback server certificate for the mock's HTTPS listener, made with cryptography."""

import datetime
import fcntl
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .common import write_atomic

CA_CERT = 'mock-ca.pem'
CA_KEY = 'mock-ca-key.pem'
LOCK = '.mock-ca.lock'
CA_DAYS = 365
SERVER_DAYS = 30


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _load_ca(tls_dir):
    """The CA already in tls_dir if it is usable for another day, else None."""
    try:
        with open(os.path.join(tls_dir, CA_CERT), 'rb') as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(os.path.join(tls_dir, CA_KEY), 'rb') as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=1) or cert.public_key() != key.public_key():
        return None
    return cert, key


def _make_ca(tls_dir):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'iotops mock'),
                      x509.NameAttribute(NameOID.COMMON_NAME, 'iotops mock server test CA')])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_atomic(os.path.join(tls_dir, CA_KEY), _key_pem(key), mode=0o600)
    write_atomic(os.path.join(tls_dir, CA_CERT), cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _make_server_cert(ca_cert, ca_key):
    """A fresh key and certificate for 127.0.0.1 and localhost, as one PEM (key first)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                    x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM)


def server_tls(tls_dir):
    """Return (absolute CA path, server SSLContext).

    The CA in tls_dir is reused when valid (under a lock), so a CA path handed to clients stays
    right when several mocks share a directory; the server certificate is new at every start and
    never left on disk.
    """
    tls_dir = os.path.abspath(tls_dir)
    os.makedirs(tls_dir, exist_ok=True)
    with open(os.path.join(tls_dir, LOCK), 'a+b') as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        ca_cert, ca_key = _load_ca(tls_dir) or _make_ca(tls_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fd, chain_path = tempfile.mkstemp(dir=tls_dir, prefix='.mock-server-', suffix='.pem')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(_make_server_cert(ca_cert, ca_key))
        context.load_cert_chain(chain_path)
    finally:
        os.unlink(chain_path)
    return os.path.join(tls_dir, CA_CERT), context
