# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nRF Cloud rotation planner, with data alone: command histories in, a decision per device out."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_rotation import (
    plan_rotation, rotation_cost, rotations_left)

NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Planner Test CA')])


def csr_and_certificate(days_left, key=None):
    """(CSR command response value, certificate PEM) for a device key; the certificate expires ``days_left`` from NOW."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'device')])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    der = csr.public_bytes(serialization.Encoding.DER)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(CA_NAME).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=400))
            .not_valid_after(NOW + datetime.timedelta(days=days_left)).sign(CA_KEY, hashes.SHA256()))
    return base64.urlsafe_b64encode(der).decode().rstrip('='), cert.public_bytes(serialization.Encoding.PEM).decode()


def history(days_left, padding=0, csr_matches=True, with_csr=True, last_status='SUCCEEDED'):
    """An onboarded device's history: ``padding`` config commands, then CSR, client certificate, finished."""
    csr_value, pem = csr_and_certificate(days_left)
    if not csr_matches:
        csr_value = csr_and_certificate(days_left)[0]
    commands = [dict(request={'config': {'k%d' % n: 'v'}}, status='SUCCEEDED') for n in range(padding)]
    if with_csr:
        commands.append(dict(request={'certificateSigningRequest': {'secTag': 7, 'attributes': 'CN=device', 'keyUsage': '101010000'}},
                             status='SUCCEEDED', response={'certificateSigningRequest': {'csr': csr_value}}))
    commands.append(dict(request={'clientCertificate': {'secTag': 7, 'content': pem}}, status='SUCCEEDED'))
    commands.append(dict(request={'finished': {}}, status=last_status))
    return commands


def plan(commands, within=30, policy='renew', warn=1):
    return plan_rotation(commands, NOW.timestamp(), within, policy, warn_rotations_left=warn)


def test_outside_the_window_is_left_with_its_expiry():
    result = plan(history(45))
    assert (result.action, result.due, result.failure, result.attention) == ('none', False, None, None)
    assert result.old_expiry.startswith('2027-01-18') and 'outside the 30-day window' in result.reason


@pytest.mark.parametrize('policy, cost', [('renew', 2), ('rekey', 3)])
def test_due_rotates_with_the_policy_and_its_cost(policy, cost):
    result = plan(history(10), policy=policy)
    assert (result.action, result.policy, result.due, result.sec_tag) == (policy, policy, True, 7)
    assert 'expires on 2026-12-14 (in 10 days)' in result.reason
    assert rotation_cost(policy) == cost and result.attention is None


def test_expired_certificate_is_due():
    result = plan(history(-3))
    assert result.action == 'renew' and 'expired on 2026-12-01' in result.reason


def test_no_csr_for_the_current_key_means_rekey():
    for commands in (history(10, csr_matches=False), history(10, with_csr=False)):
        result = plan(commands, policy='renew')
        assert result.action == 'rekey' and 'cannot be renewed' in result.reason


def test_a_rotation_that_does_not_fit_is_refused_with_the_recovery():
    result = plan(history(10, padding=16))          # 19 commands: a renew needs 2 more
    assert result.action == 'none' and result.failure and result.remedy
    assert 'used 19 of the 20' in result.failure and 'recover_nrfcloud_devices.yml' in result.remedy


def test_rekey_that_does_not_fit_falls_back_to_renew_and_warns():
    result = plan(history(10, padding=15), policy='rekey')  # 18 used: rekey needs 3, renew 2
    assert (result.action, result.policy) == ('renew', 'renew') and 'a new key pair would exceed' in result.reason
    assert result.attention == '20 of the 20 provisioning commands used after this rotation: its next rotation will not fit'
    assert result.failure is None


def test_warns_before_the_last_rotations():
    assert plan(history(10, padding=11)).attention is None                         # 14 + 2 = 16 used: 2 left, warned at 1
    warned = plan(history(10, padding=13))                                          # 16 + 2 = 18 used: 1 left
    assert warned.attention and '18 of the 20 provisioning commands used after this rotation: 1 more renew rotation fits' == warned.attention
    outside = plan(history(90, padding=16))                                        # 19 used, not due: next one will not fit
    assert outside.action == 'none' and outside.attention == '19 of the 20 provisioning commands used: its next rotation will not fit'
    assert plan(history(10, padding=13), warn=0).attention is None


def test_an_unfinished_or_pending_history_is_carried_on_not_rotated_again():
    assert plan(history(10, last_status='PENDING')).action == 'continue'


def test_no_certificate_yet_is_not_a_rotation():
    commands = [dict(request={'certificateSigningRequest': {'secTag': 7}}, status='SUCCEEDED', response={})]
    result = plan(commands)
    assert result.action == 'none' and result.due is None and 'no client certificate' in result.reason


def test_rotations_left():
    assert rotations_left(3, 'renew') == 8 and rotations_left(3, 'rekey') == 5 and rotations_left(20, 'renew') == 0
    assert rotations_left(3, 'renew', server_certificate=True) == 5
