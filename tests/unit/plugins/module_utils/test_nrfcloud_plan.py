# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_provisioning's planner with data alone (no server): a device spec and the history read in, its plan, its
prediction for check mode, its diff and where it stands out."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import build_request
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_provisioning import (
    BLOCKED_REMEDY, ERROR_REMEDY, PROVISION, SETTLE, SIGN, STATUS_ORDER, STUCK, UNCLAIM, Device, budget_failure, csr_ready,
    csr_to_sign, diff_view, follow_groups, history_after, needs_following, phase, plan_device, plan_item, rotation_view,
    settle_step, settled, signed_tail, stuck_failure)
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_rotation import RECOVERY_REMEDY
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import (
    AWAITING_COMMANDS, CLAIMED, CSR_SIGNED, NEEDS_ATTENTION, PROVISIONED, WAITING_FOR_DEVICE)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE
from ansible_collections.iotops.provisioning.plugins.modules.nrfcloud_provisioning import validate_rotate

NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Plan Test CA')])
SIGN_CSR = dict(description='Client certificate signed by the factory CA', server_certificate=None, validity_days=3650)
WITH_SERVER = dict(SIGN_CSR, server_certificate='-----BEGIN CERTIFICATE-----\nserver\n-----END CERTIFICATE-----')
ROTATE = dict(within_days=30, policy='renew', description='Certificate rotation', csr_attributes=None, warn_rotations_left=1)
CSR_SPEC = dict(kind='certificateSigningRequest', description='Generate CSR', sec_tag=7, attributes='O=Factory')
TARGETS = STATUS_ORDER['PROVISIONED']


def key_material(days_left):
    """(CSR value as the device returns it, certificate PEM) of one device key; the certificate expires ``days_left`` from NOW."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'dev-1')])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(CA_NAME).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=400))
            .not_valid_after(NOW + datetime.timedelta(days=days_left)).sign(CA_KEY, hashes.SHA256()))
    der = csr.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(der).decode().rstrip('='), cert.public_bytes(serialization.Encoding.PEM).decode()


def command(request, status='SUCCEEDED', description=None, response=None):
    return dict(id='c-%d' % abs(hash((str(request), description))), request=request, status=status, description=description,
                response=response)


def csr_command(status='SUCCEEDED', csr_value=None, response=None, description='Generate CSR'):
    if response is None and csr_value is not None:
        response = {'certificateSigningRequest': {'csr': csr_value}}
    return command(build_request(CSR_SPEC, 'dev-1'), status, description, response)


def certificate_command(pem='PEM', status='SUCCEEDED', description=SIGN_CSR['description']):
    return command({'clientCertificate': {'secTag': 7, 'content': pem}}, status, description)


def finished_command(status='SUCCEEDED'):
    return command({'finished': {}}, status, 'Provisioning finished')


def provisioned_history(days_left=400, padding=0, status='SUCCEEDED'):
    """A device the module provisioned: ``padding`` config commands, then its CSR, client certificate and finished."""
    csr_value, pem = key_material(days_left)
    padded = [command({'config': {'k%d' % n: 'v'}}, description='pad %d' % n) for n in range(padding)]
    return padded + [csr_command(csr_value=csr_value), certificate_command(pem), finished_command(status)]


def device(history=(), claimed=True, status='PROVISIONED', commands=(CSR_SPEC,), state='present', claim_token=None):
    """A Device as the module has it after ``read``: its spec validated, its record and history read."""
    found = Device(dict(device_id='dev-1', claim_token=claim_token, commands=list(commands), state=state), 'present', None)
    found.desired = [(build_request(c, found.device_id), c.get('description')) for c in found.commands]
    found.claimed, found.status, found.history = claimed, (status if claimed else None), list(history)
    return found


def no_reread():
    raise AssertionError('the history was read again')


def plan(found, sign='sign_csr', rotate=None, reread=no_reread):
    """plan_item with the default sign_csr, or ``sign`` (None: no signing)."""
    return plan_item(found, SIGN_CSR if sign == 'sign_csr' else sign, rotate, NOW.timestamp(), reread)


def kinds(entries):
    return [entry.split(':')[0] for entry in entries]


# -- absent ---------------------------------------------------------------------------------------------

def test_an_absent_claimed_device_is_unclaimed_and_one_not_claimed_is_left():
    gone = plan(device(state='absent', history=provisioned_history()))
    assert (gone.action, gone.before, gone.after) == (UNCLAIM, dict(claimed=True), dict(claimed=False))
    assert gone.data['device'].result['unclaimed'] and gone.data['device'].result['changed']
    assert gone.outcome()['diff'] == dict(before=dict(claimed=True), after=dict(claimed=False))
    left = plan(device(state='absent', claimed=False))
    assert left.action == NO_CHANGE and not left.data['device'].result['unclaimed']
    assert left.outcome() == dict(action=NO_CHANGE, changed=False, failed=False)


# -- a device not yet claimed; one claimed that never connected -------------------------------------------

def test_a_device_not_yet_claimed_is_claimed_and_gets_its_csr_and_waits_for_the_device():
    found = device(claimed=False, claim_token='token')
    result = plan(found)
    assert result.action == PROVISION and result.data['history'] == []
    assert result.before == dict(claimed=False, commands=[])
    assert result.after == dict(claimed=True, commands=['certificateSigningRequest: Generate CSR'])
    assert found.result['claimed'] and found.result['changed'] and not found.result['certificate_signed']
    assert found.result['commands_added'] == [dict(kind='certificateSigningRequest', description='Generate CSR')]
    assert found.missing == [(build_request(CSR_SPEC, 'dev-1'), 'Generate CSR')] and found.needs_signing
    # the prediction cannot count on the device running its CSR: it waits for the device
    assert phase(found) == WAITING_FOR_DEVICE and needs_following(found, TARGETS)
    assert result.outcome()['diff'] == dict(before=result.before, after=result.after)


def test_a_claimed_device_without_commands_is_claimed_and_nothing_else():
    found = device(commands=(), status='AWAITING', history=())
    result = plan(found, sign=None)
    assert result.action == NO_CHANGE and result.before == result.after == dict(claimed=True, commands=[])
    assert phase(found) == AWAITING_COMMANDS and not needs_following(found, ())
    found.status = None
    assert phase(found) == CLAIMED


def test_a_claimed_device_that_never_connected_waits_and_nothing_is_appended_again():
    found = device(history=[csr_command(status='PENDING')], status='AWAITING')
    result = plan(found)
    assert result.action == NO_CHANGE and found.missing == [] and found.needs_signing
    assert not csr_ready(found) and found.result['commands_added'] == []
    assert phase(found) == WAITING_FOR_DEVICE
    # a real run still follows it: it signs the CSR as soon as the device has run it
    assert needs_following(found, ()) and settle_step(found) == SIGN and settled(found, TARGETS) is False
    assert csr_to_sign(found, found.history) is None and found.failure is None
    assert csr_to_sign(found, []) is None


# -- CSR done / failed -------------------------------------------------------------------------------------

def test_a_csr_the_device_has_run_is_signed_straight_away_in_the_prediction():
    csr_value, _pem = key_material(400)
    found = device(history=[csr_command(csr_value=csr_value)], status='AWAITING')
    result = plan(found)
    assert csr_ready(found) and result.action == PROVISION
    assert found.result['certificate_signed'] and found.result['commands_added'] == []
    assert kinds(result.after['commands']) == ['certificateSigningRequest', 'clientCertificate', 'finished']
    assert kinds(result.before['commands']) == ['certificateSigningRequest']
    assert phase(found) == CSR_SIGNED
    assert csr_to_sign(found, found.history) is found.history[0]
    # with a server certificate, it comes between the client certificate and finished
    with_server = device(history=[csr_command(csr_value=csr_value)], status='AWAITING')
    after = plan(with_server, sign=WITH_SERVER).after['commands']
    assert kinds(after) == ['certificateSigningRequest', 'clientCertificate', 'serverCertificate', 'finished']


def test_a_failed_csr_fails_the_device_with_the_devices_own_words():
    found = device(history=[csr_command(status='FAILED', response={'message': 'modem error -8'})], status='AWAITING')
    assert csr_to_sign(found, found.history) is None
    assert found.failure == 'the device failed its CSR command: modem error -8' and found.remedy == ERROR_REMEDY
    assert phase(found) == NEEDS_ATTENTION and settle_step(found) == SETTLE and settled(found, TARGETS) is True


def test_after_signing_the_device_waits_for_its_certificate_commands():
    found = device(history=[csr_command(csr_value=key_material(400)[0]), certificate_command(status='PENDING'),
                            finished_command('PENDING')], status='AWAITING')
    found.needs_signing, found.signed = True, True
    assert phase(found) == CSR_SIGNED and settle_step(found) == SETTLE
    found.signed = False
    found.needs_signing = False
    assert phase(found) == CSR_SIGNED  # a pending client certificate: the CSR was signed by an earlier run
    found.history = [csr_command(csr_value='x'), command({'config': {'a': 'b'}}, status='PENDING')]
    assert phase(found) == WAITING_FOR_DEVICE
    found.history, found.status = provisioned_history(), None  # ran everything, the status not read yet
    assert phase(found) == WAITING_FOR_DEVICE


# -- a certificate already installed -------------------------------------------------------------------------

def test_a_provisioned_device_needs_nothing_and_is_not_followed():
    found = device(history=provisioned_history())
    result = plan(found)
    assert result.action == NO_CHANGE and not result.changes and result.before == result.after
    assert kinds(result.before['commands']) == ['certificateSigningRequest', 'clientCertificate', 'finished']
    assert found.missing == [] and not found.needs_signing and found.result == Device.fresh_result()
    assert phase(found) == PROVISIONED and not needs_following(found, TARGETS)
    assert follow_groups([found], TARGETS) == ([], [])
    assert result.outcome() == dict(action=NO_CHANGE, changed=False, failed=False)


def test_a_run_that_stopped_after_the_certificate_appends_what_it_left_out():
    history = provisioned_history()[:2]  # CSR and client certificate, no finished
    found = device(history=history, status='AWAITING')
    result = plan(found)
    assert [d for _r, d in found.missing] == ['Provisioning finished'] and result.action == PROVISION
    with_server = device(history=history, status='AWAITING')
    plan(with_server, sign=WITH_SERVER)
    assert [list(r)[0] for r, _d in with_server.missing] == ['serverCertificate', 'finished']


def test_finished_is_appended_again_after_a_new_command_so_that_it_stays_last():
    found = device(history=provisioned_history(), commands=(CSR_SPEC, dict(kind='config', config={'a': 'b'}, description='cfg')))
    plan(found)
    assert [list(r)[0] for r, _d in found.missing] == ['config', 'finished']


# -- the 20-command budget ------------------------------------------------------------------------------------

def test_the_budget_counts_the_history_and_refuses_past_20():
    assert budget_failure(18, 2) is None
    assert budget_failure(15, 6) == ('this would make 21 commands (15 already in its history, 6 to add); nRF Cloud allows at '
                                     'most 20 per claimed device and has no API to delete or reset them')


def test_a_device_at_the_limit_is_refused_with_the_recovery_remedy():
    history = [command({'clientPrivateKeyGeneration': {'secTag': n}}, description='k%d' % n) for n in range(18)]
    found = device(history=history, status='AWAITING')  # CSR + the certificate commands it brings: 3 more
    with pytest.raises(IotopsError, match=r'21 commands \(18 already in its history, 3 to add\)'):
        plan(found)
    assert found.remedy == RECOVERY_REMEDY and phase(found) == NEEDS_ATTENTION
    assert found.before == diff_view(True, history) and found.result['commands_added'] == []
    fits = device(history=history[:17], status='AWAITING')
    assert plan(fits).action == PROVISION and fits.failure is None


# -- ERROR and BLOCKED ----------------------------------------------------------------------------------------

def test_a_blocked_device_is_refused_without_a_write():
    found = device(history=[csr_command(status='PENDING')], status='BLOCKED')
    with pytest.raises(IotopsError, match='BLOCKED'):
        plan(found)
    assert found.remedy == BLOCKED_REMEDY and found.result['commands_added'] == []


def test_a_device_in_error_names_its_failed_command_reading_the_history_again_only_when_needed():
    failed = command({'config': {'a': 'b'}}, status='FAILED', response={'error': 'bad config'})
    found = device(history=[failed], status='ERROR', commands=())
    assert settle_step(found) == STUCK
    with pytest.raises(IotopsError, match='^the device is in ERROR: its config command failed: bad config$'):
        plan(found, sign=None)
    assert found.remedy == ERROR_REMEDY
    later = device(history=[csr_command(status='PENDING')], status='ERROR')
    stuck_failure(later, lambda: [csr_command(status='FAILED', response='modem error')])
    assert later.failure == 'the device is in ERROR: its certificateSigningRequest command failed: modem error'
    unknown = device(history=[], status='ERROR')
    stuck_failure(unknown, lambda: [])
    assert unknown.failure == 'the device is in ERROR (no failed command in its history)' and unknown.remedy == ERROR_REMEDY


# -- status rounds ---------------------------------------------------------------------------------------------

def test_settled_depends_on_the_target_and_on_the_status_when_the_run_wrote():
    found = device(history=provisioned_history(), status='AWAITING')
    assert settled(found, ()) is True and settled(found, TARGETS) is False
    found.status = 'PROVISIONED'
    assert settled(found, TARGETS) is True
    found.status_at_write = 'PROVISIONED'
    assert settled(found, TARGETS) is None  # only the history tells whether its new commands ran
    assert settle_step(found) == SETTLE


def test_follow_groups_wait_for_what_the_run_changed_and_look_once_at_an_earlier_rotation():
    written = device(history=provisioned_history(), status='AWAITING')
    written.result['changed'] = True
    there = device(history=provisioned_history())
    earlier = device(history=[csr_command(status='PENDING')], status='AWAITING')
    plan_device(earlier, SIGN_CSR, ROTATE, NOW.timestamp())
    assert earlier.rotation.action == 'continue' and 'signs its CSR' in earlier.rotation.reason
    assert follow_groups([written, there, earlier], TARGETS) == ([written], [earlier])
    assert follow_groups([there], ()) == ([], [])


# -- rotation ---------------------------------------------------------------------------------------------------

def test_a_renewal_signs_a_new_certificate_for_the_key_it_has_without_waiting():
    found = device(history=provisioned_history(days_left=10), commands=())
    result = plan(found, rotate=ROTATE)
    assert found.rotation.action == 'renew' and found.renew and found.needs_signing and found.missing == []
    assert result.action == PROVISION and found.result['certificate_signed']
    assert kinds(result.after['commands'])[3:] == ['clientCertificate', 'finished']
    view = rotation_view(found, SIGN_CSR, 'renew', predicted_expiry=NOW.timestamp() + 86400)
    assert view['action'] == 'renew' and view['due'] is True and view['new_expiry'] == '2026-12-05T00:00:00Z'
    assert (view['commands_left'], view['rotations_left'], view['new_expiry_pending']) == (15, 7, False)
    assert phase(found) == CSR_SIGNED


def test_a_real_run_reports_the_expiry_of_the_certificate_it_signed():
    found = device(history=provisioned_history(days_left=10), commands=())
    plan(found, rotate=ROTATE)
    found.predicted, found.signed = False, True
    found.result['certificate'] = dict(not_after='2036-12-02T00:00:00Z')
    found.history = found.history + [certificate_command(status='PENDING'), finished_command('PENDING')]
    view = rotation_view(found, SIGN_CSR, 'renew', predicted_expiry=NOW.timestamp())
    assert view['new_expiry'] == '2036-12-02T00:00:00Z' and view['commands_left'] == 15


def test_a_rekey_appends_a_csr_and_waits_for_the_device_to_run_it():
    found = device(history=provisioned_history(days_left=10), commands=())
    result = plan(found, rotate=dict(ROTATE, policy='rekey', csr_attributes='O=Factory'))
    assert found.rotation.action == 'rekey' and found.needs_signing and not found.renew
    assert found.missing == [({'certificateSigningRequest': {'secTag': 7, 'attributes': 'CN=dev-1,O=Factory', 'keyUsage': '101010000'}},
                              'Certificate rotation: CSR')]
    assert result.action == PROVISION and not found.result['certificate_signed']
    assert kinds(result.after['commands'])[3:] == ['certificateSigningRequest']
    view = rotation_view(found, SIGN_CSR, 'rekey')
    assert view['new_expiry_pending'] and view['new_expiry'] is None
    assert (view['commands_left'], view['rotations_left']) == (14, 4)  # 4 used + CSR + the 2 certificate commands to come
    assert phase(found) == WAITING_FOR_DEVICE


def test_a_rotation_that_fills_the_budget_warns_and_one_past_it_is_refused():
    found = device(history=provisioned_history(days_left=10, padding=14), commands=())
    plan(found, rotate=dict(ROTATE, policy='rekey'))
    assert found.rotation.action == 'rekey'
    view = rotation_view(found, SIGN_CSR, 'rekey')
    assert view['attention'].endswith('its next rotation will not fit') and view['remedy'] == RECOVERY_REMEDY
    # with one more command in its history a new key pair would not fit: it is renewed on its current key
    squeezed = device(history=provisioned_history(days_left=10, padding=15), commands=())
    plan(squeezed, rotate=dict(ROTATE, policy='rekey'))
    assert squeezed.rotation.action == 'renew' and 'a new key pair would exceed' in squeezed.rotation.reason
    full = device(history=provisioned_history(days_left=10, padding=16), commands=())
    with pytest.raises(IotopsError, match='it has used 19 of the 20 provisioning commands'):
        plan(full, rotate=ROTATE)
    assert full.remedy == RECOVERY_REMEDY and full.rotation.action == 'none'
    assert rotation_view(full, SIGN_CSR, 'renew')['commands_left'] == 1 and 'attention' not in rotation_view(full, SIGN_CSR, 'renew')


def test_a_certificate_outside_the_window_is_left_alone():
    found = device(history=provisioned_history(days_left=90), commands=())
    result = plan(found, rotate=ROTATE)
    assert result.action == NO_CHANGE and found.rotation.action == 'none' and not found.needs_signing
    view = rotation_view(found, SIGN_CSR, 'renew')
    assert view['due'] is False and view['old_expiry'].startswith('2027-03-04') and (view['commands_left'], view['rotations_left']) == (17, 8)


def test_a_certificate_that_does_not_parse_asks_for_attention_and_a_garbled_csr_means_rekey():
    history = provisioned_history(days_left=10)
    broken = device(history=[history[0], certificate_command('not a certificate'), history[2]], commands=())
    assert plan(broken, rotate=ROTATE).action == NO_CHANGE and broken.rotation.due is None
    view = rotation_view(broken, SIGN_CSR, 'renew')
    assert view['attention'] == 'the client certificate in its history does not parse' and view['remedy'].startswith('Rotate it by hand')
    garbled = device(history=[csr_command(csr_value='garbage')] + history[1:], commands=())
    plan(garbled, rotate=ROTATE)
    assert garbled.rotation.action == 'rekey' and 'cannot be renewed' in garbled.rotation.reason


def test_an_unfinished_rotation_is_carried_on_before_a_new_one():
    found = device(history=provisioned_history(days_left=10)[:2], commands=())
    plan(found, rotate=ROTATE)
    assert found.rotation.action == 'continue' and 'appends finished' in found.rotation.reason
    assert [d for _r, d in found.missing] == ['Provisioning finished']


def test_a_device_not_yet_claimed_is_not_rotated():
    found = device(claimed=False, commands=(), history=())
    plan(found, rotate=ROTATE)
    assert found.rotation is None and found.result['claimed']


# -- the prediction and what a real run leaves ------------------------------------------------------------------

def test_history_after_adds_the_signed_tail_only_for_a_prediction():
    csr_value, _pem = key_material(400)
    found = device(history=[csr_command(csr_value=csr_value)], status='AWAITING')
    plan(found)
    assert len(history_after(found, SIGN_CSR)) == 3
    found.predicted = False  # a real run: what it read is what it reports
    assert history_after(found, SIGN_CSR) == found.history and phase(found) == WAITING_FOR_DEVICE


def test_signed_tail_and_diff_view():
    tail = signed_tail(WITH_SERVER, 9, 'CERT')
    assert tail == [({'clientCertificate': {'secTag': 9, 'content': 'CERT'}}, SIGN_CSR['description']),
                    ({'serverCertificate': {'secTag': 9, 'content': WITH_SERVER['server_certificate']}}, 'Server certificate'),
                    ({'finished': {}}, 'Provisioning finished')]
    assert diff_view(False, [dict(request={'finished': {}})]) == dict(claimed=False, commands=['finished: '])


def test_device_takes_the_module_defaults_unless_it_sets_its_own():
    found = Device(dict(device_id='d', commands=None), 'absent', [dict(kind='finished')])
    assert (found.state, found.commands, found.tags) == ('absent', [dict(kind='finished')], [])
    own = Device(dict(device_id='d', commands=[], state='present', tags=['t']), 'absent', [dict(kind='finished')])
    assert (own.state, own.commands, own.tags) == ('present', [], ['t'])


# -- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('rotate, sign, commands, message', [
    (ROTATE, None, False, 'rotate needs sign_csr'),
    (ROTATE, SIGN_CSR, True, 'mutually exclusive'),
    (dict(ROTATE, within_days=-1), SIGN_CSR, False, 'within_days must be 0 or more'),
    (dict(ROTATE, within_days=3650), SIGN_CSR, False, 'is not less than sign_csr.validity_days'),
    (dict(ROTATE, warn_rotations_left=-1), SIGN_CSR, False, 'warn_rotations_left must be 0 or more'),
    (dict(ROTATE, csr_attributes='CN=evil'), SIGN_CSR, False, 'must not set CN'),
])
def test_rotate_options_are_checked_before_any_request(rotate, sign, commands, message):
    with pytest.raises(ConfigError, match=message):
        validate_rotate(rotate, sign, commands)


def test_good_rotate_options_pass():
    validate_rotate(dict(ROTATE, csr_attributes='O=Factory'), SIGN_CSR, False)
