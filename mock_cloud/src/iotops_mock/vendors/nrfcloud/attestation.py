"""nRF91 modem identity: attestation tokens (AT%ATTESTTOKEN), IMEIs and AT%KEYGEN output.

A token is ``base64url(CBOR body) "." base64url(COSE_Sign1)``. The body is the modem's device
identity message ``[1, <16-byte device UUID>, <device type>, <16-byte modem firmware UUID>]``:
element 1 is what Nordic's ``modem_credentials_parser.get_device_uuid`` reads, and the device
id is that UUID written 8-4-4-4-12 in lower case. The COSE signatures are placeholders (no
mock verifies them); their structure is the one Nordic's parser decodes.
"""

import hashlib
import uuid

import cbor2

from ...common import b64url_decode, b64url_encode

MSG_DEVICE_IDENTITY = 1       # "Device identity message v1"
PAYLOAD_CSR = 9               # "CSR_msg_v1" in the COSE payload of a KEYGEN answer
COSE_SIGN1_TAG = 18
COSE_ALG_ES256 = -7
# Device type codes of the nRF91x1 modems (claiming needs an nRF91x1, api/nrfcloud.md §2.1).
DEVICE_TYPES = {4: 'nRF9161 LACA', 5: 'nRF9131 LACA', 6: 'nRF9151 LACA'}
DEFAULT_DEVICE_TYPE = 6
# A made-up modem firmware build; the seed devices all run it.
FIRMWARE_UUID = uuid.uuid5(uuid.NAMESPACE_URL, 'mock:nrf91x1-modem-firmware-2.0.2').bytes
FACTORY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, 'mock:nrfcloud-factory')


def format_uuid(raw):
    """16 bytes -> 8-4-4-4-12 lower-case hex (the nRF Cloud device id)."""
    return str(uuid.UUID(bytes=bytes(raw)))


def _placeholder_signature(data):
    """64 bytes shaped like an ES256 signature (r || s); nothing verifies it."""
    return hashlib.sha256(b'mock-r' + data).digest() + hashlib.sha256(b'mock-s' + data).digest()


def cose_sign1(payload=None):
    """A COSE_Sign1 structure (tag 18) with an ES256 protected header and a placeholder signature."""
    protected = cbor2.dumps({1: COSE_ALG_ES256})
    signed = protected + (payload or b'')
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, _placeholder_signature(signed)]))


def make_attestation_token(uuid_bytes, device_type=DEFAULT_DEVICE_TYPE, firmware_uuid=FIRMWARE_UUID):
    """The AT%ATTESTTOKEN answer of a modem whose device UUID is ``uuid_bytes`` (16 bytes)."""
    uuid_bytes = bytes(uuid_bytes)
    if len(uuid_bytes) != 16:
        raise ValueError('a device UUID is 16 bytes')
    body = cbor2.dumps([MSG_DEVICE_IDENTITY, uuid_bytes, device_type, bytes(firmware_uuid)])
    return '%s.%s' % (b64url_encode(body), b64url_encode(cose_sign1()))


def parse_attestation_token(token):
    """``{"device_id", "uuid", "device_type", "firmware_id"}`` of a token; ValueError when it is not one."""
    if not isinstance(token, str) or token.count('.') != 1:
        raise ValueError('claimToken is not an attestation token: expected <base64url CBOR>.<base64url COSE>')
    body_text, cose_text = token.split('.')
    try:
        body = cbor2.loads(b64url_decode(body_text))
        cbor2.loads(b64url_decode(cose_text))
    except (ValueError, cbor2.CBORError) as exc:
        raise ValueError('claimToken is not an attestation token: its parts are not base64url CBOR') from exc
    if not isinstance(body, list) or len(body) < 2 or not isinstance(body[1], bytes) or len(body[1]) != 16:
        raise ValueError('claimToken is not an attestation token: element 1 of its CBOR body must be the 16-byte device UUID')
    device_type = body[2] if len(body) > 2 else None
    firmware = body[3] if len(body) > 3 and isinstance(body[3], bytes) and len(body[3]) == 16 else None
    return {
        'device_id': format_uuid(body[1]),
        'uuid': body[1],
        'device_type': DEVICE_TYPES.get(device_type, 'Unknown:%s' % (device_type,)),
        'firmware_id': format_uuid(firmware) if firmware else None,
    }


def luhn_digit(digits):
    """Check digit of an IMEI body (14 digits)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def make_imei(prefix, serial):
    """A 15-digit IMEI: ``prefix``, the serial number zero-padded to 14 digits, and the Luhn digit."""
    body = prefix + str(serial).zfill(14 - len(prefix))
    if len(body) != 14 or not body.isdigit():
        raise ValueError('serial %s does not fit after IMEI prefix %s' % (serial, prefix))
    return body + luhn_digit(body)


def imei_for(uuid_bytes):
    """A stable made-up IMEI for a device seen only through its token (TAC 35, digits from the UUID)."""
    number = int.from_bytes(hashlib.sha256(bytes(uuid_bytes)).digest()[:8], 'big') % 10 ** 12
    return make_imei('35', number)


def factory_uuid(serial):
    """The device UUID of the ``serial``-th device made by the seed (same after every reset)."""
    return uuid.uuid5(FACTORY_NAMESPACE, 'device-%d' % serial).bytes


def keygen_output(csr_der, uuid_bytes, sec_tag):
    """AT%KEYGEN output: ``base64url(DER CSR) "." base64url(COSE_Sign1)``.

    The COSE payload is ``[9, <device UUID>, <CBOR sec tag>, <SHA-256 of the CSR>, <nonce>]``, as
    Nordic's ``parse_keygen_output`` decodes it.
    """
    digest = hashlib.sha256(csr_der).digest()
    payload = cbor2.dumps([PAYLOAD_CSR, bytes(uuid_bytes), cbor2.dumps(sec_tag), digest, digest[:16]])
    return '%s.%s' % (b64url_encode(csr_der), b64url_encode(cose_sign1(payload)))
