# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_rootca and ublox_rootca_info against the mock: lifecycle, PEM files, PoP, refusals, check mode and counters."""

from __future__ import annotations

import json
import os
import stat

from cryptography import x509

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_certificate, ublox_rootca, ublox_rootca_info

CA = 'devices.example.com'


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


def counts(mock):
    return mock.admin.counters()['by_category']


def writes(mock):
    return counts(mock)['write']


def new_ca(**extra):
    item = dict(name=CA, ca_validity_days=3650, device_certificate_validity_days=365, renew_before_expiration_days=30)
    item.update(extra)
    return item


def test_create_check_mode_then_create_then_idempotent(mock, creds, run, tmp_path):
    cert_path = str(tmp_path / 'ca.pem')
    args = ublox_args(mock, creds, cas=[new_ca(certificate_path=cert_path, mode='0640')])
    check = run(ublox_rootca, args, check_mode=True, diff=True)
    assert check['changed'] is True and check['outcomes'][0]['actions'] == ['created', 'wrote certificate_path']
    assert check['diff']['before'][CA] == {'state': 'absent'}
    assert check['diff']['after'][CA]['ca_validity_days'] == 3650
    assert writes(mock) == 0 and not os.path.exists(cert_path)
    assert mock.admin.state()['ublox']['rootCAs'] == []

    created = run(ublox_rootca, args)
    assert created['changed'] is True and created['summary'] == {'total': 1, 'changed': 1, 'ok': 0, 'failed': 0, 'waiting': 0}
    ca = created['outcomes'][0]['ca']
    assert ca['renew_before_expiration_days'] == 30 and ca['expiration_date'].endswith('Z')
    pem = x509.load_pem_x509_certificate(ca['certificate'].encode())
    assert pem.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with open(cert_path) as handle:
        assert handle.read() == ca['certificate'].strip() + '\n'
    assert stat.S_IMODE(os.stat(cert_path).st_mode) == 0o640
    assert mock.admin.counters()['endpoints']['ublox POST /v1/ztp/rootca/create'] == 1

    mock.admin.reset_counters()
    again = run(ublox_rootca, args)
    assert again['changed'] is False and again['outcomes'][0]['actions'] == []
    assert counts(mock) == {'auth': 1, 'read': 1, 'write': 0}
    check_again = run(ublox_rootca, args, check_mode=True)
    assert check_again['changed'] is False


def test_file_drift_and_mode_are_repaired(mock, creds, run, tmp_path):
    cert_path = str(tmp_path / 'ca.pem')
    args = ublox_args(mock, creds, cas=[new_ca(certificate_path=cert_path)])
    run(ublox_rootca, args)
    with open(cert_path, 'w') as handle:
        handle.write('tampered\n')
    assert run(ublox_rootca, args, check_mode=True)['outcomes'][0]['actions'] == ['wrote certificate_path']
    repaired = run(ublox_rootca, args)
    assert repaired['changed'] and 'tampered' not in open(cert_path).read()
    mode_only = run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca(certificate_path=cert_path, mode='u=rw,go=')]))
    assert mode_only['changed'] and stat.S_IMODE(os.stat(cert_path).st_mode) == 0o600
    assert writes(mock) == 1  # only the first create


def test_renew_policy_is_updated_in_place(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca()]))
    mock.admin.reset_counters()
    args = ublox_args(mock, creds, cas=[dict(name=CA, renew_before_expiration_days=90)])
    check = run(ublox_rootca, args, check_mode=True, diff=True)
    assert check['changed'] and check['outcomes'][0]['actions'] == ['updated renew_before_expiration_days']
    assert check['diff']['before'][CA]['renew_before_expiration_days'] == 30
    assert check['diff']['after'][CA]['renew_before_expiration_days'] == 90
    assert writes(mock) == 0
    updated = run(ublox_rootca, args)
    assert updated['changed'] and updated['outcomes'][0]['ca']['renew_before_expiration_days'] == 90
    assert mock.admin.counters()['endpoints']['ublox POST /v1/ztp/rootca/update'] == 1
    assert mock.admin.state()['ublox']['rootCAs'][0]['RenewBeforeExpiration'] == 90
    assert run(ublox_rootca, args)['changed'] is False
    assert writes(mock) == 1


def test_changed_validity_fails_before_any_write(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca()]))
    mock.admin.reset_counters()
    cas = [new_ca(ca_validity_days=1825, renew_before_expiration_days=60),
           dict(name='other.example.com', ca_validity_days=1825, device_certificate_validity_days=30)]
    result = run(ublox_rootca, ublox_args(mock, creds, cas=cas))
    assert result['failed']
    assert 'cas[0] (devices.example.com): ca_validity_days is 1825 but the existing Root CA has 3650' in result['msg']
    assert 'cannot change the validity' in result['msg']
    assert writes(mock) == 0 and len(mock.admin.state()['ublox']['rootCAs']) == 1


def test_pop_certificate_generated_once(mock, creds, run, tmp_path):
    pop_path = str(tmp_path / 'pop.pem')
    code = '930783746273459058465786283467236543874968549'
    args = ublox_args(mock, creds, cas=[new_ca(pop_registration_code=code, pop_certificate_path=pop_path, mode='0600')])
    assert run(ublox_rootca, args, check_mode=True)['outcomes'][0]['actions'] == ['created', 'generated PoP certificate']
    first = run(ublox_rootca, args)
    pop = x509.load_pem_x509_certificate(open(pop_path, 'rb').read())
    ca = x509.load_pem_x509_certificate(first['outcomes'][0]['ca']['certificate'].encode())
    assert pop.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == code
    pop.verify_directly_issued_by(ca)
    assert first['outcomes'][0]['pop_certificate'] == open(pop_path).read()
    assert stat.S_IMODE(os.stat(pop_path).st_mode) == 0o600
    mock.admin.reset_counters()
    second = run(ublox_rootca, args)
    assert second['changed'] is False and second['outcomes'][0]['pop_certificate'] == first['outcomes'][0]['pop_certificate']
    assert writes(mock) == 0
    other_code = run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca(pop_registration_code='new-code', pop_certificate_path=pop_path)]))
    assert other_code['outcomes'][0]['actions'] == ['generated PoP certificate']
    assert mock.admin.counters()['endpoints']['ublox POST /v1/ztp/rootca/popcertificate/generate'] == 1


def test_delete_refusal_is_explained_and_delete_works(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca(), dict(name='linked.example.com', ca_validity_days=1825,
                                                                  device_certificate_validity_days=30)]))
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': 'AgbCtixjwqLjwV3VWpfPyz',
                                                               'CAName': 'linked.example.com'}]})
    args = ublox_args(mock, creds, state='absent', cas=[dict(name=CA), dict(name='linked.example.com'), dict(name='never.example.com')])
    mock.admin.reset_counters()
    check = run(ublox_rootca, args, check_mode=True)
    assert [r.get('actions') for r in check['outcomes']] == [['deleted'], None, []]
    assert [r.get('status') for r in check['outcomes']] == ['deleted', None, 'absent']
    assert writes(mock) == 0
    result = run(ublox_rootca, args)
    assert result['failed'] and result['summary'] == {'total': 3, 'changed': 1, 'ok': 1, 'failed': 1, 'waiting': 0}
    refused = result['outcomes'][1]
    # the link is found before any delete is sent: u-blox is never asked for a delete it refuses
    assert refused['failed'] and 'linked to device profile(s) AgbCtixjwqLjwV3VWpfPyz' in refused['msg']
    assert 'Thingstream portal' in refused['msg']
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/ztp/rootca/delete'] == 1
    assert mock.admin.counters()['statuses']['ublox POST /v1/ztp/rootca/delete'] == {'200': 1}
    assert [ca['CAName'] for ca in mock.admin.state()['ublox']['rootCAs']] == ['linked.example.com']


def test_delete_waits_for_devices_whose_desired_properties_name_the_ca(mock, creds, run):
    """Devices between the two heartbeats of an update hold no certificate but still need the Root CA: no delete is sent."""
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca(), dict(name='next.example.com', ca_validity_days=1825,
                                                                  device_certificate_validity_days=30)]))
    rots = ['0002%012x' % n for n in range(4)]
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID=rot, CAName=CA) for rot in rots]})
    mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID='0002%012x' % n) for n in range(4, 130)]})
    run(ublox_device_certificate, ublox_args(mock, creds, action='update', ca_name=CA, rot_public_uids=rots, renew_within_days=3650))
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': rots})   # the old certificates are gone, the new ones not yet issued
    absent = ublox_args(mock, creds, state='absent', cas=[dict(name=CA)])
    mock.admin.reset_counters()
    refused = run(ublox_rootca, absent)
    assert refused['failed'] and '4 device(s) have it in their desired certificate properties' in refused['msg']
    assert 'update to a new key pair pending until its next security heartbeat' in refused['msg']
    waiting = run(ublox_rootca, dict(absent, wait_for_devices=True))
    outcome = waiting['outcomes'][0]
    assert not waiting.get('failed') and waiting['changed'] is False and waiting['summary']['waiting'] == 1
    assert outcome['status'] == 'kept' and outcome['waiting'] and outcome['state'] == 'present'
    assert [d['rot_public_uid'] for d in outcome['in_use']['devices']] == rots and outcome['in_use']['holders'] == 0
    counters = mock.admin.counters()
    assert counters['by_category']['write'] == 0 and 'ublox POST /v1/ztp/rootca/delete' not in counters['endpoints']
    # the whole account is read once per run: 130 devices are two pages of the list and two device-info calls
    assert counters['endpoints']['ublox POST /v1/device/list/get'] == 4 and counters['endpoints']['ublox POST /v1/device/info/get'] == 4

    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': rots})   # the update ends: new certificates from CA
    mock.admin.reset_counters()
    held = run(ublox_rootca, dict(absent, wait_for_devices=True))['outcomes'][0]
    assert held['status'] == 'kept' and held['in_use'] == {'holders': 4, 'devices': []}
    assert '4 device(s) hold a certificate signed by it' in held['reason']
    # with holders the account is not read: one call counts them
    assert 'ublox POST /v1/device/list/get' not in mock.admin.counters()['endpoints']
    run(ublox_device_certificate, ublox_args(mock, creds, action='transfer', from_ca=CA, ca_name='next.example.com'))
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': rots})
    mock.admin.reset_counters()
    deleted = run(ublox_rootca, dict(absent, wait_for_devices=True))
    assert deleted['changed'] and deleted['outcomes'][0]['status'] == 'deleted' and not deleted['outcomes'][0]['waiting']
    assert mock.admin.counters()['statuses']['ublox POST /v1/ztp/rootca/delete'] == {'200': 1}
    again = run(ublox_rootca, dict(absent, wait_for_devices=True))
    assert again['changed'] is False and again['outcomes'][0]['status'] == 'absent'


def test_fifteen_ca_limit_checked_before_any_write(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[dict(name='ca-%02d' % n, ca_validity_days=1825, device_certificate_validity_days=30)
                                                   for n in range(14)]))
    mock.admin.reset_counters()
    result = run(ublox_rootca, ublox_args(mock, creds, cas=[dict(name='ca-%02d' % n, ca_validity_days=1825,
                                                                 device_certificate_validity_days=30) for n in range(14, 16)]))
    assert result['failed'] and 'up to 15' in result['msg'] and 'ca-14, ca-15' in result['msg']
    assert writes(mock) == 0


def test_rootca_info_lists_crl_and_devices_over_pages(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca(), dict(name='b.example.com', ca_validity_days=1825,
                                                                  device_certificate_validity_days=30)]))
    mock.admin.seed('ublox', 'devices', {'count': 250, 'CAName': CA})
    holders = mock.admin.state()['ublox']['devices']
    serial = holders[7]['ZTP']['CurrentProperties']['CertificateSerialNumber']
    mock.admin.reset_counters()
    listing = run(ublox_rootca_info, ublox_args(mock, creds))
    assert sorted(ca['name'] for ca in listing['cas']) == sorted([CA, 'b.example.com']) and listing['changed'] is False  # created at once: any order
    run(ublox_device_certificate, ublox_args(mock, creds, action='revoke', ca_name=CA, serial_numbers=[serial]))
    mock.admin.reset_counters()
    one = run(ublox_rootca_info, ublox_args(mock, creds, name=CA, crl=True, devices=True))
    ca = one['cas'][0]
    assert ca['crl']['revoked_serial_numbers'] == [serial] and ca['crl']['pem'].startswith('-----BEGIN X509 CRL-----')
    assert len(ca['devices']) == 250 and sum(device['revoked'] for device in ca['devices']) == 1
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/ztp/rootca/device/get'] == 3 and counts(mock)['write'] == 0
    assert run(ublox_rootca_info, ublox_args(mock, creds, name='nope.example.com'))['cas'] == []
    bad = run(ublox_rootca_info, ublox_args(mock, creds, name='bad name'))
    assert bad['failed'] and 'name' in bad['msg'] and '45 characters' in bad['msg']


def test_secrets_stay_out_of_results(mock, creds, run, tmp_path):
    result = run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca()]), diff=True)
    text = json.dumps(result)
    assert creds.UBLOX_API_SECRET not in text and 'eyJ' not in text


def test_delete_of_a_ca_devices_hold_is_refused_without_a_write(mock, creds, run):
    run(ublox_rootca, ublox_args(mock, creds, cas=[new_ca()]))
    mock.admin.seed('ublox', 'devices', {'count': 3, 'CAName': CA})
    mock.admin.reset_counters()
    for check_mode in (True, False):
        result = run(ublox_rootca, ublox_args(mock, creds, state='absent', cas=[dict(name=CA)]), check_mode=check_mode)
        assert result['failed'] and '3 device(s) hold a certificate signed by it' in result['outcomes'][0]['msg']
        assert 'action=transfer' in result['outcomes'][0]['msg']
    assert mock.admin.counters()['by_category']['write'] == 0
