"""u-blox ZTP on the mock: Root CAs that are real X.509 CA certificates, PoP certificates and CRLs.

The CA keys are EC P-256 and live only in memory. Certificate times follow the mock clock, so a
test that moves the clock forward sees the certificates age.
"""

import datetime
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ORGANIZATION = 'Mock Thingstream domain'
POP_DAYS = 365
CRL_NEXT_UPDATE_DAYS = 7


def utc(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)


def new_serial():
    """A device certificate serial number as u-blox shows it: lowercase hex (seed 002 sample: 31-32 digits)."""
    return '%032x' % (secrets.randbits(127) | (1 << 120))


def _key_usage(cert_sign):
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


class RootCA:
    """A ZTP Root CA: the /ztp/rootca/create fields plus its key, certificate and revocation list."""

    def __init__(self, name, ca_validity, device_validity, renew_before, now):
        self.name = name
        self.ca_validity = ca_validity
        self.device_validity = device_validity
        self.renew_before = renew_before
        self.created = now
        self.expires = now + ca_validity * 86400
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                                  x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.subject).issuer_name(self.subject).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc(now)).not_valid_after(utc(self.expires))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM).decode('ascii')
        self.revoked = {}   # serial (hex) -> revocation time
        self.issued = {}    # serial (hex) -> ROTPublicUID, every device certificate this CA signed
        self.expiry_notified = set()

    def pop_certificate(self, registration_code, now):
        """A Proof-of-Possession certificate: subject CN = the registration code, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        not_after = min(now + POP_DAYS * 86400, self.expires)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, registration_code)]))
            .issuer_name(self.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc(now)).not_valid_after(utc(not_after))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')

    def crl_pem(self, now):
        """A CRL signed by this CA that lists every revoked device certificate."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.subject)
            .last_update(utc(now))
            .next_update(utc(now + CRL_NEXT_UPDATE_DAYS * 86400))
            .add_extension(x509.CRLNumber(len(self.revoked) + 1), critical=False)
        )
        for serial, when in sorted(self.revoked.items()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(utc(when)).build())
        crl = builder.sign(self.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM).decode('ascii')
