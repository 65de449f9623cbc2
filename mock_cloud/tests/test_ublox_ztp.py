"""u-blox ZTP on the mock: Root CAs as real X.509, PoP, CRL, limits, delete refusals, certificate actions."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec


def create_ca(ublox, name='acme.example.com', ca_days=1825, device_days=365, renew=None):
    body = {'CAName': name, 'CACertificateValidity': ca_days, 'DeviceCertificateValidity': device_days}
    if renew is not None:
        body['RenewBeforeExpiration'] = renew
    return ublox('/ztp/rootca/create', body)


def test_create_returns_a_real_ca_certificate(ublox):
    response = create_ca(ublox, ca_days=3650, renew=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body['CAName'] == 'acme.example.com' and body['RenewBeforeExpiration'] == 30
    assert body['CreatedDate'].endswith('Z')
    cert = x509.load_pem_x509_certificate(body['Certificate'].encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == 'acme.example.com'
    assert cert.subject == cert.issuer
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == datetime.timedelta(days=3650)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(cert)


@pytest.mark.parametrize('body, rule', [
    ({'CAName': 'a' * 46}, 'CAName'),
    ({'CAName': 'bad name'}, 'CAName'),
    ({'CAName': 'bad/name'}, 'CAName'),
    ({'CACertificateValidity': 1824}, 'CACertificateValidity must be an integer from 1825 to 3650'),
    ({'CACertificateValidity': 3651}, 'CACertificateValidity'),
    ({'DeviceCertificateValidity': 29}, 'DeviceCertificateValidity must be an integer from 30 to 3650'),
    ({'DeviceCertificateValidity': 2000}, 'cannot be greater than CACertificateValidity'),
    ({'RenewBeforeExpiration': 0}, 'RenewBeforeExpiration must be an integer from 1 to 365'),
    ({'RenewBeforeExpiration': 366}, 'RenewBeforeExpiration'),
    ({'CACertificateValidity': '1825'}, 'CACertificateValidity'),
])
def test_create_rules(ublox, body, rule):
    request = {'CAName': 'ok-name_1.x', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365}
    request.update(body)
    response = ublox('/ztp/rootca/create', request)
    assert response.status_code == 400
    assert rule in response.json()['message']


def test_duplicate_and_fifteen_ca_limit(ublox, mock):
    assert create_ca(ublox, 'ca-0').status_code == 200
    duplicate = create_ca(ublox, 'ca-0')
    assert duplicate.status_code == 400 and 'already exists' in duplicate.json()['message']
    for index in range(1, 15):
        assert create_ca(ublox, 'ca-%d' % index).status_code == 200
    sixteenth = create_ca(ublox, 'ca-15')
    assert sixteenth.status_code == 400 and '15' in sixteenth.json()['message']
    assert len(mock.admin.state()['ublox']['rootCAs']) == 15


def test_update_get_and_unknown(ublox):
    create_ca(ublox)
    assert ublox('/ztp/rootca/update', {'CAName': 'acme.example.com', 'RenewBeforeExpiration': 90}).status_code == 200
    assert ublox('/ztp/rootca/update', {'CAName': 'acme.example.com', 'RenewBeforeExpiration': 400}).status_code == 400
    assert ublox('/ztp/rootca/update', {'CAName': 'nope', 'RenewBeforeExpiration': 9}).status_code == 404
    listing = ublox('/ztp/rootca/get', {'PageNumber': 1}).json()
    assert listing['TotalRecords'] == 1 and listing['PageSize'] == 100
    ca = listing['CAs'][0]
    assert ca['RenewBeforeExpiration'] == 90 and ca['CACertificateValidity'] == 1825 and ca['DeviceCertificateValidity'] == 365
    assert ca['ExpirationDate'].endswith('Z') and ca['Certificate'].startswith('-----BEGIN CERTIFICATE-----')
    one = ublox('/ztp/rootca/get', {'CAName': 'acme.example.com'}).json()
    assert [c['CAName'] for c in one['CAs']] == ['acme.example.com']
    assert ublox('/ztp/rootca/get', {'CAName': 'nope'}).status_code == 404


def test_pop_certificate_is_signed_by_the_ca_with_the_code_as_subject(ublox):
    ca_pem = create_ca(ublox).json()['Certificate']
    code = '930783746273459058465786283467236543874968549'
    response = ublox('/ztp/rootca/popcertificate/generate', {'CAName': 'acme.example.com', 'RegistrationCode': code})
    assert response.status_code == 200
    pop = x509.load_pem_x509_certificate(response.json()['PoPCertificate'].encode())
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert pop.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == code
    assert pop.issuer == ca.subject
    pop.verify_directly_issued_by(ca)
    assert ublox('/ztp/rootca/popcertificate/generate', {'CAName': 'acme.example.com', 'RegistrationCode': 'x' * 65}).status_code == 400
    assert ublox('/ztp/rootca/popcertificate/generate', {'CAName': 'nope', 'RegistrationCode': code}).status_code == 404
    assert ublox('/ztp/rootca/popcertificate/generate', {'CAName': 'acme.example.com'}).status_code == 400


def test_delete_refusals(ublox, mock):
    create_ca(ublox, 'linked')
    create_ca(ublox, 'in-use')
    create_ca(ublox, 'pending-target')
    create_ca(ublox, 'free')
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': 'AgbCtixjwqLjwV3VWpfPyz', 'CAName': 'linked'}]})
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '0002000000000001', 'CAName': 'in-use'}]})
    linked = ublox('/ztp/rootca/delete', {'CAName': 'linked'})
    assert linked.status_code == 400 and 'device profile' in linked.json()['message']
    in_use = ublox('/ztp/rootca/delete', {'CAName': 'in-use'})
    assert in_use.status_code == 400 and 'current or desired properties' in in_use.json()['message']
    transfer = {'FromCA': 'in-use', 'ToCA': 'pending-target', 'ROTPublicUIDs': ['0002000000000001']}
    assert ublox('/ztp/devicecertificate/rootca/transfer', transfer).status_code == 200
    pending = ublox('/ztp/rootca/delete', {'CAName': 'pending-target'})
    assert pending.status_code == 400 and 'desired' in pending.json()['message']
    assert ublox('/ztp/rootca/delete', {'CAName': 'free'}).status_code == 200
    assert ublox('/ztp/rootca/delete', {'CAName': 'free'}).status_code == 404


def seed_holders(mock, ca, count, **fields):
    devices = [dict(fields, ROTPublicUID='00020000%08x' % index, CAName=ca) for index in range(count)]
    return mock.admin.seed('ublox', 'devices', {'devices': devices})['added']


def test_rootca_devices_paged_and_crl(ublox, mock):
    ca_pem = create_ca(ublox).json()['Certificate']
    rots = seed_holders(mock, 'acme.example.com', 250)
    pages = [ublox('/ztp/rootca/device/get', {'CAName': 'acme.example.com', 'PageNumber': n}).json() for n in (1, 2, 3)]
    assert [len(p['Devices']) for p in pages] == [100, 100, 50] and pages[0]['TotalRecords'] == 250
    first = pages[0]['Devices'][0]
    assert first['ROTPublicUID'] == rots[0] and len(first['CertificateSerialNumber']) == 32 and first['Revoked'] is False
    serial = pages[1]['Devices'][5]['CertificateSerialNumber']
    assert ublox('/ztp/devicecertificate/revoke', {'CAName': 'acme.example.com', 'SerialNumber': serial}).status_code == 200
    assert ublox('/ztp/devicecertificate/revoke', {'CAName': 'acme.example.com', 'ROTPublicUID': rots[0]}).status_code == 200
    again = ublox('/ztp/devicecertificate/revoke', {'CAName': 'acme.example.com', 'ROTPublicUID': rots[0]})
    assert again.status_code == 400 and 'already revoked' in again.json()['message']
    crls = ublox('/ztp/rootca/crl/get', {'CANames': ['acme.example.com']}).json()['CRLs']
    assert len(crls) == 1 and len(crls[0]['RevokedSerialNumbers']) == 2
    crl = x509.load_pem_x509_crl(crls[0]['CRL'].encode())
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert crl.is_signature_valid(ca.public_key())
    assert {format(entry.serial_number, '032x') for entry in crl} == set(crls[0]['RevokedSerialNumbers'])
    assert ublox('/ztp/rootca/crl/get', {'CANames': ['nope']}).status_code == 404


def info(ublox, rots, options=('ZTP',)):
    body = ublox('/device/info/get', {'ROTPublicUIDs': rots, 'Options': list(options)}).json()
    return {item['ROTPublicUID']: item for item in body['DeviceInfo']}


def heartbeat(mock, rots=None, **extra):
    payload = dict(extra)
    if rots is not None:
        payload['ROTPublicUIDs'] = rots
    return mock.admin.seed('ublox', 'heartbeat', payload)


def test_renew_takes_effect_at_the_next_heartbeat(ublox, mock):
    create_ca(ublox)
    rots = seed_holders(mock, 'acme.example.com', 3, ExpiresInDays=10)
    before = info(ublox, rots)
    assert ublox('/ztp/devicecertificate/renew', {'CAName': 'acme.example.com', 'DeviceCertificateValidity': 200,
                                                  'ROTPublicUIDs': rots[:2]}).status_code == 200
    pending = info(ublox, rots)
    assert pending[rots[0]]['ZTP']['DesiredProperties']['Action'] == 'RENEW'
    assert pending[rots[0]]['ZTP']['CurrentProperties'] == before[rots[0]]['ZTP']['CurrentProperties']
    assert pending[rots[2]]['ZTP']['DesiredProperties'] == {}
    result = heartbeat(mock, rots)
    assert result['events'].count('DEVICE_CERTIFICATE_RENEWAL_EVENT') == 2
    after = info(ublox, rots)
    renewed = after[rots[0]]['ZTP']['CurrentProperties']
    assert renewed['CertificateSerialNumber'] != before[rots[0]]['ZTP']['CurrentProperties']['CertificateSerialNumber']
    assert renewed['CertificateValidity'] == 200 and after[rots[0]]['ZTP']['DesiredProperties'] == {}
    assert after[rots[2]]['ZTP'] == before[rots[2]]['ZTP']


def test_renew_and_update_rules(ublox, mock):
    create_ca(ublox)
    create_ca(ublox, 'other')
    rots = seed_holders(mock, 'acme.example.com', 2)
    serial = info(ublox, rots)[rots[0]]['ZTP']['CurrentProperties']['CertificateSerialNumber']
    wrong_ca = ublox('/ztp/devicecertificate/renew', {'CAName': 'other', 'DeviceCertificateValidity': 100, 'ROTPublicUIDs': rots})
    assert wrong_ca.status_code == 400 and 'Invalid ROTPublicUIDs' in wrong_ca.json()['message']
    assert ublox('/ztp/devicecertificate/renew', {'CAName': 'acme.example.com', 'DeviceCertificateValidity': 20,
                                                  'ROTPublicUIDs': rots}).status_code == 400
    assert ublox('/ztp/devicecertificate/renew', {'CAName': 'acme.example.com', 'DeviceCertificateValidity': 100}).status_code == 400
    by_serial = ublox('/ztp/devicecertificate/renew', {'CAName': 'acme.example.com', 'DeviceCertificateValidity': 100,
                                                       'SerialNumbers': [serial]})
    assert by_serial.status_code == 200
    assert ublox('/ztp/devicecertificate/update', {'CAName': 'acme.example.com', 'ROTPublicUIDs': rots}).status_code == 200
    busy = ublox('/ztp/devicecertificate/renew', {'CAName': 'acme.example.com', 'DeviceCertificateValidity': 100, 'ROTPublicUIDs': rots})
    assert busy.status_code == 400 and 'on-going' in busy.json()['message']
    # An update takes two heartbeats: the first removes the certificate, the second provisions a new one.
    heartbeat(mock, rots)
    assert info(ublox, rots)[rots[0]]['ZTP']['CurrentProperties'] == {}
    heartbeat(mock, rots)
    state = info(ublox, rots)[rots[0]]['ZTP']
    assert state['CurrentProperties']['CAName'] == 'acme.example.com' and state['DesiredProperties'] == {}


def test_transfer_and_delete(ublox, mock):
    create_ca(ublox, 'test-ca')
    create_ca(ublox, 'prod-ca', device_days=700)
    rots = seed_holders(mock, 'test-ca', 3)

    def transfer(source, target, devices):
        return ublox('/ztp/devicecertificate/rootca/transfer', {'FromCA': source, 'ToCA': target, 'ROTPublicUIDs': devices}).status_code
    assert transfer('prod-ca', 'test-ca', rots) == 400
    assert transfer('test-ca', 'test-ca', rots) == 400
    assert transfer('test-ca', 'missing', rots) == 404
    assert transfer('test-ca', 'prod-ca', rots[:2]) == 200
    assert ublox('/ztp/devicecertificate/delete', {'ROTPublicUIDs': rots[2:]}).status_code == 200
    assert ublox('/ztp/devicecertificate/delete', {'ROTPublicUIDs': ['ffff']}).status_code == 400
    heartbeat(mock)
    state = info(ublox, rots)
    assert state[rots[0]]['ZTP']['CurrentProperties']['CAName'] == 'prod-ca'
    assert state[rots[0]]['ZTP']['CurrentProperties']['CertificateValidity'] == 700
    assert state[rots[2]]['ZTP']['CurrentProperties'] == {}
    nothing = ublox('/ztp/devicecertificate/delete', {'ROTPublicUIDs': rots[2:]})
    assert nothing.status_code == 400 and 'no device certificate' in nothing.json()['message']
    assert ublox('/ztp/rootca/delete', {'CAName': 'test-ca'}).status_code == 200


def test_automatic_renewal_from_renew_before_expiration(ublox, mock):
    create_ca(ublox, renew=30)
    rots = seed_holders(mock, 'acme.example.com', 2)
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': 'aa', 'CAName': 'acme.example.com', 'ExpiresInDays': 20}]})
    result = heartbeat(mock)
    assert result['events'] == ['DEVICE_CERTIFICATE_RENEWAL_EVENT']
    assert info(ublox, ['aa'])['aa']['ZTP']['CurrentProperties']['CertificateValidity'] == 365
    assert all(info(ublox, rots)[rot]['ZTP']['CurrentProperties']['CertificateValidity'] == 365 for rot in rots)


def test_expiration_notices_follow_the_mock_clock(ublox, mock):
    create_ca(ublox)
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': 'bb', 'CAName': 'acme.example.com', 'ExpiresInDays': 65}]})
    assert heartbeat(mock)['events'] == []
    mock.admin.advance_clock(6 * 86400)
    assert heartbeat(mock)['events'] == ['DEVICE_CERTIFICATE_EXPIRATION_EVENT']
    assert heartbeat(mock)['events'] == []
    mock.admin.advance_clock(50 * 86400)   # 9 days left: the 30-day notice
    assert heartbeat(mock)['events'] == ['DEVICE_CERTIFICATE_EXPIRATION_EVENT']
    mock.admin.advance_clock(1650 * 86400)  # the Root CA (1825 days) now expires within 180 days
    assert 'ROOTCA_EXPIRATION_EVENT' in heartbeat(mock)['events']
