# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_rootca's rules and planners with data alone (no server): what each Root CA needs, given u-blox's record of it,
what keeps it (for a delete) and the task's files."""

from __future__ import annotations

import datetime
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_rootca import (
    check_against,
    check_limit,
    local_files,
    mode_differs,
    plan_ca,
    plan_removal,
    validate_ca,
)
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import CA_LIMIT

CA = 'devices.example.com'
CODE = '930783746273459058465786283467236543874968549'


def item(**fields):
    base = dict(name=CA, state='present', ca_validity_days=None, device_certificate_validity_days=None, renew_before_expiration_days=None,
                certificate_path=None, pop_registration_code=None, pop_certificate_path=None, mode=None)
    base.update(fields)
    return base


def certificate(subject, issuer=None, key=None, issuer_key=None):
    """A PEM certificate with common name ``subject``, self-signed unless ``issuer`` (name, key) is given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    issuer_name, signer = (issuer, issuer_key) if issuer else (subject, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, issuer_name)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(signer, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key


CA_PEM, CA_KEY = certificate(CA)
POP_PEM, _POP_KEY = certificate(CODE, issuer=CA, issuer_key=CA_KEY)
RECORD = {'CAName': CA, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 365, 'RenewBeforeExpiration': 30,
          'Certificate': CA_PEM, 'CreatedDate': '2026-04-20T19:00:36Z', 'ExpirationDate': '2036-04-18T19:00:36Z'}
NOBODY = dict(device_profiles=[], holders=0, devices={})


def files(certificate=None, pop=None, certificate_mode=False, pop_mode=False):
    found = {}
    if certificate is not None:
        found['certificate_path'] = dict(content=certificate, mode_differs=certificate_mode)
    if pop is not None:
        found['pop_certificate_path'] = dict(content=pop, mode_differs=pop_mode)
    return found


def test_a_new_root_ca_is_created_and_its_files_written_and_pop_generated():
    wanted = item(ca_validity_days=3650, device_certificate_validity_days=365, renew_before_expiration_days=30,
                  certificate_path='ca.pem', pop_registration_code=CODE, pop_certificate_path='pop.pem')
    plan = plan_ca(wanted, None, files(certificate='', pop=''))
    assert (plan.item, plan.action) == (CA, 'create')
    assert plan.result['actions'] == ['created', 'wrote certificate_path', 'generated PoP certificate']
    assert plan.result['ca']['certificate'] is None and plan.result['ca']['ca_validity_days'] == 3650  # check mode knows no PEM yet
    assert 'pop_certificate' not in plan.result
    assert plan.before == dict(state='absent')
    assert plan.after == dict(state='present', ca_validity_days=3650, device_certificate_validity_days=365, renew_before_expiration_days=30)
    assert plan.data['pop'] == dict(generate=CODE, actions=['generated PoP certificate']) and plan.data['options'] is wanted
    assert plan.outcome()['changed'] and plan.outcome()['diff']['before'] == dict(state='absent')


def test_an_unchanged_root_ca_needs_nothing_and_keeps_its_files():
    plan = plan_ca(item(ca_validity_days=3650, renew_before_expiration_days=30, certificate_path='ca.pem'), RECORD,
                   files(certificate=CA_PEM.strip() + '\n'))
    assert plan.action == 'none' and plan.result['actions'] == [] and plan.result['ca']['certificate'] == CA_PEM
    assert plan.outcome() == dict(plan.result, action='none', changed=False, failed=False)


def test_renew_policy_is_updated_in_place_and_left_alone_when_not_given():
    plan = plan_ca(item(renew_before_expiration_days=90), RECORD)
    assert plan.action == 'update' and plan.result['actions'] == ['updated renew_before_expiration_days']
    assert plan.before['renew_before_expiration_days'] == 30 and plan.after['renew_before_expiration_days'] == 90
    assert plan.result['ca']['renew_before_expiration_days'] == 90 and plan.data['ca']['Certificate'] == CA_PEM
    assert plan_ca(item(), RECORD).action == 'none'
    assert plan_ca(item(renew_before_expiration_days=30), RECORD).action == 'none'


def test_a_drifted_file_or_mode_is_rewritten_without_touching_u_blox():
    drifted = plan_ca(item(certificate_path='ca.pem'), RECORD, files(certificate='tampered\n'))
    assert drifted.action == 'files' and drifted.changes and drifted.result['actions'] == ['wrote certificate_path']
    assert drifted.before == drifted.after
    mode = plan_ca(item(certificate_path='ca.pem', mode='0600'), RECORD, files(certificate=CA_PEM.strip() + '\n', certificate_mode=True))
    assert mode.action == 'files' and mode.result['actions'] == ['wrote certificate_path']


def test_a_pop_certificate_of_this_root_ca_for_the_same_code_is_kept():
    wanted = item(pop_registration_code=CODE, pop_certificate_path='pop.pem')
    kept = plan_ca(wanted, RECORD, files(pop=POP_PEM))
    assert kept.action == 'none' and kept.result['pop_certificate'] == POP_PEM and kept.data['pop']['kept'] == POP_PEM
    mode = plan_ca(dict(wanted, mode='0600'), RECORD, files(pop=POP_PEM, pop_mode=True))
    assert mode.action == 'files' and mode.result['actions'] == ['set mode of pop_certificate_path']
    other_code = plan_ca(dict(wanted, pop_registration_code='new-code'), RECORD, files(pop=POP_PEM))
    assert other_code.result['actions'] == ['generated PoP certificate'] and 'pop_certificate' not in other_code.result
    other_ca, _key = certificate(CODE)  # self-signed: not issued by this Root CA
    assert plan_ca(wanted, RECORD, files(pop=other_ca)).data['pop'] == dict(generate=CODE, actions=['generated PoP certificate'])
    assert plan_ca(wanted, RECORD, files(pop='not a certificate')).result['actions'] == ['generated PoP certificate']


def test_removal_deletes_a_root_ca_nothing_keeps():
    absent = plan_removal(item(state='absent'), None)
    assert absent.action == 'none' and absent.result == dict(state='absent', actions=[], waiting=False, status='absent')
    plan = plan_removal(item(state='absent'), RECORD, NOBODY)
    assert plan.action == 'delete' and plan.result == dict(state='absent', actions=['deleted'], waiting=False, status='deleted')
    assert plan.before['state'] == 'present' and plan.after == dict(state='absent')


def test_a_root_ca_linked_to_a_device_profile_fails_with_or_without_waiting():
    users = dict(NOBODY, device_profiles=['AgbCtixjwqLjwV3VWpfPyz'])
    for wait in (False, True):
        with pytest.raises(ConfigError, match=r'linked to device profile\(s\) AgbCtixjwqLjwV3VWpfPyz.*Thingstream portal'):
            plan_removal(item(state='absent'), RECORD, users, wait_for_devices=wait)


def test_holders_fail_the_item_or_keep_the_root_ca_waiting():
    users = dict(NOBODY, holders=3)
    with pytest.raises(ConfigError, match=r'3 device\(s\) hold a certificate signed by it.*action=transfer'):
        plan_removal(item(state='absent'), RECORD, users)
    kept = plan_removal(item(state='absent'), RECORD, users, wait_for_devices=True)
    assert kept.action == 'none' and kept.result['status'] == 'kept' and kept.result['waiting'] and kept.result['state'] == 'present'
    assert kept.result['in_use'] == dict(holders=3, devices=[]) and kept.result['reason'].startswith('3 device(s) hold a certificate')
    assert kept.outcome()['changed'] is False and 'diff' not in kept.outcome()


def test_devices_whose_desired_properties_name_the_root_ca_are_each_explained():
    actions = ['UPDATE', 'TRANSFER', 'DELETE', None, 'UPDATE', 'UPDATE', 'UPDATE']
    devices = {'0002%012x' % n: {'DesiredProperties': {'Action': action}} for n, action in enumerate(actions)}
    kept = plan_removal(item(state='absent'), RECORD, dict(NOBODY, devices=devices), wait_for_devices=True)
    reasons = [device['reason'] for device in kept.result['in_use']['devices']]
    assert reasons[0].startswith('update to a new key pair pending') and reasons[1] == 'transfer to %s pending until its next security heartbeat' % CA
    assert reasons[2] == 'delete pending until its next security heartbeat' and reasons[3] == 'holds a certificate from %s' % CA
    assert kept.result['reason'].startswith('7 device(s) have it in their desired certificate properties (0002000000000000: ')
    assert '; and 2 more)' in kept.result['reason']


def test_the_state_read_checks_creation_needs_fixed_validities_and_the_limit():
    check_against(item(state='absent'), None)
    check_against(item(ca_validity_days=3650, device_certificate_validity_days=365), None)
    with pytest.raises(ConfigError, match='does not exist yet and ca_validity_days and device_certificate_validity_days are required'):
        check_against(item(), None)
    with pytest.raises(ConfigError, match='does not exist yet and device_certificate_validity_days is required'):
        check_against(item(ca_validity_days=3650), None)
    check_against(item(ca_validity_days=3650, device_certificate_validity_days=365), RECORD)
    with pytest.raises(ConfigError, match='device_certificate_validity_days is 30 but the existing Root CA has 365.*cannot change'):
        check_against(item(device_certificate_validity_days=30), RECORD)
    existing = dict(('ca-%02d' % n, {}) for n in range(CA_LIMIT - 1))
    check_limit([item(name='new-1'), item(name='ca-00'), item(name='gone', state='absent')], existing)
    with pytest.raises(ConfigError, match=r'creating new-1, new-2 would make 16 Root CAs.*up to 15 \(14 exist\)'):
        check_limit([item(name='new-1'), item(name='new-2')], existing)


def test_validate_names_each_bad_input(tmp_path):
    validate_ca(item(ca_validity_days=3650, device_certificate_validity_days=3650, pop_registration_code=CODE,
                     pop_certificate_path=str(tmp_path / 'pop.pem'), mode='u=rw,go='))
    bad = [
        (item(name='bad name'), "name 'bad name' contains ' '"),
        (item(state='absent', certificate_path='x', mode='0600'), 'certificate_path, mode can only be used with state=present'),
        (item(ca_validity_days=100), 'ca_validity_days is 100; the Root CA validity (CACertificateValidity) must be from 1825 to 3650 days'),
        (item(device_certificate_validity_days=10), 'must be from 30 to 3650 days'),
        (item(renew_before_expiration_days=0), 'RenewBeforeExpiration must be from 1 to 365 days'),
        (item(ca_validity_days=1825, device_certificate_validity_days=3650), 'cannot outlive their Root CA'),
        (item(pop_registration_code='x' * 65, pop_certificate_path='p'), 'pop_registration_code has 65 characters; it must have 1 to 64'),
        (item(pop_registration_code=' ', pop_certificate_path='p'), 'pop_registration_code has 1 characters'),
        (item(pop_registration_code=CODE), 'pop_registration_code needs pop_certificate_path'),
        (item(pop_certificate_path='p'), 'pop_certificate_path needs pop_registration_code'),
        (item(mode='rwx'), "mode: 'rwx' is not a file mode"),
        (item(certificate_path=str(tmp_path / 'missing' / 'ca.pem')), 'certificate_path: the directory'),
        (item(certificate_path=str(tmp_path)), 'is a directory; give the path of a file'),
    ]
    for given, message in bad:
        with pytest.raises(ConfigError) as caught:
            validate_ca(given)
        assert message in caught.value.msg, given


def test_local_files_and_mode_differs_read_without_changing(tmp_path):
    path = tmp_path / 'ca.pem'
    path.write_text('pem\n')
    os.chmod(path, 0o644)
    assert not mode_differs(AnsibleModule, str(path), '0644') and not mode_differs(AnsibleModule, str(path), 'u=rw,go=r')
    assert mode_differs(AnsibleModule, str(path), '0600') and mode_differs(AnsibleModule, str(path), 'u=rw,go=')
    assert mode_differs(AnsibleModule, str(path), 0o600) and not mode_differs(AnsibleModule, str(path), None)
    assert not mode_differs(AnsibleModule, str(tmp_path / 'missing.pem'), '0600')  # written anyway
    assert os.stat(path).st_mode & 0o777 == 0o644
    found = local_files(AnsibleModule, item(certificate_path=str(path), pop_certificate_path=str(tmp_path / 'pop.pem'), mode='0600'))
    assert found == dict(certificate_path=dict(content='pem\n', mode_differs=True),
                         pop_certificate_path=dict(content=None, mode_differs=False))
    assert local_files(AnsibleModule, item()) == {}
