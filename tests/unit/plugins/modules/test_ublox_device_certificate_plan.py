# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_certificate's planner with data alone (no server): what each device needs, given its device-info record
and u-blox's clock."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import DAY, parse_date
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_certificate import (
    holder_cas, plan_device, plan_serial, renewal_validity, transfer_groups, validate)

CA = 'devices.example.com'
OTHER = 'test.example.com'
NOW = parse_date('2026-06-01T00:00:00Z')
ROT = '0002000089280087'
ROTATION_KEYS = ('policy', 'old_expiry', 'new_expiry', 'new_expiry_pending', 'due', 'waiting')


def params(action, **options):
    """The module's options as AnsibleModule hands them over, checked and normalised by ``validate``."""
    values = dict(action=action, ca_name=CA, from_ca=None, rot_public_uids=[ROT], serial_numbers=None, tags=None,
                  renew_within_days=None, issued_before=None, validity_days=None, include_revoked=False, concurrency=8)
    values.update(options)
    validate(values)
    return values


def stamp(days):
    """NOW + days, as u-blox writes dates."""
    return datetime.datetime.fromtimestamp(NOW + days * DAY, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def record(ca=CA, expires_in=10, issued_ago=300, revoked=False, serial='73068c914de40ccaee84e03a66b4858', pending=None, pending_ca=None,
           certificate=True):
    current = {}
    if certificate:
        current = dict(CAName=ca, CertificateSerialNumber=serial, CertificateValidity=365, IssuedDate=stamp(-issued_ago),
                       ExpirationDate=stamp(expires_in), Revoked=revoked)
    desired = dict(Action=pending, CAName=pending_ca or ca, CertificateValidity=365) if pending else {}
    return dict(ZTP=dict(CurrentProperties=current, DesiredProperties=desired))


def test_renew_within_the_window_is_sent_with_the_pending_action_as_the_diff():
    plan = plan_device(params('renew', renew_within_days=30), ROT, record(expires_in=10), NOW)
    assert (plan.item, plan.action, plan.changes) == (ROT, 'renew', True)
    assert plan.result['status'] == 'acted' and 'reason' not in plan.result
    assert dict((key, plan.result[key]) for key in ROTATION_KEYS) == dict(
        policy='renew', old_expiry=stamp(10), new_expiry=None, new_expiry_pending=True, due=True, waiting=False)
    assert plan.before['pending_certificate_action'] is None
    assert plan.after['pending_certificate_action'] == dict(action='RENEW', ca_name=CA)
    assert plan.before['certificate'] == plan.after['certificate'] == plan.result['certificate']
    outcome = plan.outcome()
    assert outcome['changed'] and not outcome['failed'] and outcome['diff'] == dict(before=plan.before, after=plan.after)


def test_the_window_is_measured_on_the_injected_clock():
    window = params('renew', renew_within_days=30)
    assert plan_device(window, ROT, record(expires_in=30), NOW).changes  # the last day of the window is in it
    outside = plan_device(window, ROT, record(expires_in=31), NOW)
    assert outside.action == 'none' and outside.result['status'] == 'done'
    assert outside.result['reason'] == 'expires in 31 days, not within 30'
    assert (outside.result['due'], outside.result['new_expiry_pending'], outside.result['waiting']) == (False, False, False)
    assert outside.outcome() == dict(outside.result, action='none', changed=False, failed=False)  # no diff without a change
    # the same certificate a day later is due: "now" decides, not the controller's clock
    assert plan_device(window, ROT, record(expires_in=31), NOW + DAY).changes
    assert plan_device(window, ROT, record(expires_in=-3), NOW).changes  # an expired certificate is due too


def test_a_due_revoked_certificate_is_not_renewed_but_flagged_unless_include_revoked():
    plan = plan_device(params('renew', renew_within_days=30), ROT, record(expires_in=-1, revoked=True), NOW)
    assert plan.action == 'none' and plan.result['status'] == 'skipped' and 'is revoked' in plan.result['reason']
    assert plan.result['due'] is True and plan.result['new_expiry_pending'] is False
    assert 'is revoked and expired on' in plan.result['attention'] and 'not renewed' in plan.result['attention']
    assert 'rot_public_uids=[%s], include_revoked=true' % ROT in plan.result['remedy']
    later = plan_device(params('update', renew_within_days=30), ROT, record(expires_in=5, revoked=True), NOW)
    assert 'is revoked and expires on' in later.result['attention'] and 'not updated' in later.result['attention']
    allowed = plan_device(params('renew', renew_within_days=30, include_revoked=True), ROT, record(expires_in=5, revoked=True), NOW)
    assert allowed.action == 'renew' and 'attention' not in allowed.result


def test_a_pending_action_is_not_sent_again_and_another_one_is_not_replaced():
    window = params('renew', renew_within_days=30)
    pending = plan_device(window, ROT, record(pending='RENEW'), NOW)
    assert pending.action == 'none' and pending.result['status'] == 'pending' and pending.result['waiting'] is True
    assert pending.result['reason'] == 'renew pending until the next security heartbeat' and pending.result['new_expiry_pending']
    other = plan_device(window, ROT, record(pending='TRANSFER', pending_ca=OTHER), NOW)
    assert other.result['status'] == 'skipped' and other.result['reason'].startswith('TRANSFER to %s is pending' % OTHER)
    assert plan_device(window, ROT, record(ca=OTHER), NOW).result['reason'] == 'certificate is from Root CA %s' % OTHER
    none = plan_device(window, ROT, record(certificate=False), NOW)
    assert none.result['status'] == 'skipped' and none.result['due'] is None and none.result['old_expiry'] is None


def test_an_update_in_progress_makes_other_actions_wait_or_pending():
    updating = record(pending='UPDATE')
    renew = plan_device(params('renew', renew_within_days=30), ROT, updating, NOW)
    assert renew.result['status'] == 'pending' and 'the update brings a new certificate' in renew.result['reason']
    revoke = plan_device(params('revoke'), ROT, updating, NOW)
    assert revoke.result['status'] == 'waiting' and 'u-blox refuses to revoke it' in revoke.result['reason']
    assert revoke.result['waiting'] is True  # the RETURN contract: waiting is returned for V(waiting) too
    assert 'policy' not in revoke.result
    transfer = plan_device(params('transfer', ca_name=OTHER), ROT, updating, NOW)
    assert transfer.result['status'] == 'waiting' and transfer.result['reason'].endswith('transferred on the run after that')
    assert plan_device(params('transfer', ca_name=OTHER), ROT, record(pending='UPDATE', pending_ca=OTHER), NOW).result['status'] == 'pending'


def test_update_acts_on_certificates_issued_before_the_date():
    before = params('update', issued_before='2026-01-01')
    plan = plan_device(before, ROT, record(expires_in=300, issued_ago=400), NOW)
    assert plan.action == 'update' and plan.after['pending_certificate_action'] == dict(action='UPDATE', ca_name=CA)
    recent = plan_device(before, ROT, record(expires_in=300, issued_ago=10), NOW)
    assert recent.result['status'] == 'done' and recent.result['reason'].endswith('not before 2026-01-01')


def test_revoke_acts_once_and_reports_no_rotation_fields():
    revoke = params('revoke')
    plan = plan_device(revoke, ROT, record(), NOW)
    assert plan.action == 'revoke' and plan.after['pending_certificate_action'] == dict(action='REVOKE', ca_name=CA)
    assert not any(key in plan.result for key in ROTATION_KEYS)
    done = plan_device(revoke, ROT, record(revoked=True), NOW)
    assert done.result == dict(status='done', certificate=done.result['certificate'],
                               reason='certificate 73068c914de40ccaee84e03a66b4858 is already revoked')
    assert plan_device(revoke, ROT, record(certificate=False), NOW).result['reason'] == 'holds no certificate'


def test_revoke_without_ca_name_revokes_on_the_root_ca_of_each_certificate():
    revoke = params('revoke', ca_name=None)
    plan = plan_device(revoke, ROT, record(ca=OTHER), NOW)
    assert plan.action == 'revoke' and plan.after['pending_certificate_action'] == dict(action='REVOKE', ca_name=OTHER)
    assert plan_device(params('revoke'), ROT, record(ca=OTHER), NOW).result['reason'] == 'certificate is from Root CA %s' % OTHER


def test_a_serial_no_device_holds_is_revoked_by_serial_unless_the_crl_has_it():
    plan = plan_serial('abc123', revoked=set())
    assert (plan.action, plan.before, plan.after, plan.result, plan.data) == (
        'revoke', dict(revoked=False), dict(revoked=True), dict(status='acted'), dict(loose=True))
    done = plan_serial('abc123', revoked={'abc123'})
    assert done.action == 'none' and done.result == dict(status='done', reason='certificate abc123 is already revoked')


def test_transfer_moves_devices_not_yet_on_the_target_and_groups_them_by_source():
    transfer = params('transfer', ca_name=OTHER)
    plan = plan_device(transfer, ROT, record(ca=CA), NOW)
    assert plan.action == 'transfer' and plan.after['pending_certificate_action'] == dict(action='TRANSFER', ca_name=OTHER)
    assert plan.result['due'] is True and plan.result['policy'] == 'transfer'
    done = plan_device(transfer, ROT, record(ca=OTHER), NOW)
    assert done.result['status'] == 'done' and done.result['due'] is False
    assert plan_device(transfer, ROT, record(pending='TRANSFER', pending_ca=OTHER), NOW).result['status'] == 'pending'
    assert plan_device(transfer, ROT, record(pending='DELETE'), NOW).result['status'] == 'pending'
    narrowed = params('transfer', ca_name=OTHER, from_ca='third.example.com')
    assert plan_device(narrowed, ROT, record(ca=CA), NOW).result['reason'] == 'certificate is from Root CA %s, not from_ca' % CA
    plans = [plan_device(transfer, rot, record(ca=ca), NOW) for rot, ca in (('a1', CA), ('a2', 'third.example.com'), ('a3', CA))]
    assert transfer_groups(plans) == {CA: ['a1', 'a3'], 'third.example.com': ['a2']}


def test_delete_keeps_the_certificates_root_ca_in_the_diff():
    delete = params('delete', ca_name=None)
    plan = plan_device(delete, ROT, record(ca=OTHER), NOW)
    assert plan.action == 'delete' and plan.after['pending_certificate_action'] == dict(action='DELETE', ca_name=OTHER)
    assert plan_device(delete, ROT, record(certificate=False), NOW).result == dict(status='done', certificate=None, reason='holds no certificate')
    pending = plan_device(delete, ROT, record(pending='DELETE'), NOW)
    assert pending.result['status'] == 'pending' and pending.result['waiting'] is True
    assert plan_device(params('delete'), ROT, record(ca=OTHER), NOW).result['status'] == 'skipped'


def test_a_device_unknown_to_ublox_fails_and_a_failed_write_has_no_diff():
    with pytest.raises(IotopsError, match='u-blox knows no device with ROTPublicUID %s' % ROT):
        plan_device(params('revoke'), ROT, None, NOW)
    plan = plan_device(params('renew', renew_within_days=30), ROT, record(), NOW)
    outcome = plan.outcome(dict(changed=False, failed=True, status='failed', new_expiry_pending=False, msg='HTTP 500'))
    assert outcome['failed'] and not outcome['changed'] and outcome['status'] == 'failed' and 'diff' not in outcome
    assert outcome['new_expiry_pending'] is False


def test_which_root_cas_are_read_for_the_selection():
    cas = {CA: {}, OTHER: {}}
    assert holder_cas(params('renew', renew_within_days=30, rot_public_uids=None), cas) == [CA]
    assert holder_cas(params('renew', renew_within_days=30), cas) == []  # named devices: no list read
    assert holder_cas(params('revoke', serial_numbers=['AB']), cas) == [CA]
    assert holder_cas(params('revoke', ca_name=None, serial_numbers=['AB']), cas) == sorted(cas)
    assert holder_cas(params('transfer', ca_name=OTHER, from_ca=CA, rot_public_uids=None), cas) == [CA]
    assert holder_cas(params('transfer', ca_name=OTHER, rot_public_uids=None, serial_numbers=['ab']), cas) == sorted(cas)
    assert holder_cas(params('delete', ca_name=None, rot_public_uids=None, serial_numbers=['ab']), cas) == sorted(cas)


def test_the_window_must_be_shorter_than_the_renewed_validity():
    cas = {CA: {'DeviceCertificateValidity': 90}}
    assert renewal_validity(params('renew', renew_within_days=30), cas) == 90
    assert renewal_validity(params('renew', renew_within_days=30, validity_days=365), cas) == 365
    assert renewal_validity(params('update', renew_within_days=300), cas) is None
    with pytest.raises(ConfigError, match=r'renew_within_days \(90\) is not less than the validity of the renewed certificates \(90 days\)'):
        renewal_validity(params('renew', renew_within_days=90), cas)


def test_the_selection_is_normalised():
    values = params('revoke', rot_public_uids=['0002000089280087', '0002000089280087', 'ABC'], serial_numbers=[' 7A ', '7a'])
    assert values['rot_public_uids'] == ['0002000089280087', 'abc'] and values['serial_numbers'] == ['7a']
    assert params('update', issued_before='2026-01-01')['issued_before_epoch'] == parse_date('2026-01-01T00:00:00Z')


@pytest.mark.parametrize('action, options, message', [
    ('renew', {}, 'renew_within_days is required with action=renew'),
    ('update', {}, 'action=update needs renew_within_days or issued_before'),
    ('update', dict(issued_before='last tuesday'), "issued_before: 'last tuesday' is not an ISO 8601 date"),
    ('renew', dict(renew_within_days=30, validity_days=5000), 'validity_days is 5000'),
    ('renew', dict(renew_within_days=4000), 'renew_within_days is 4000; it must be from 0 to 3650 days'),
    ('revoke', dict(rot_public_uids=None), 'action=revoke needs the devices'),
    ('revoke', dict(serial_numbers=['xyz']), "serial_numbers: 'xyz' is not a certificate serial number"),
    ('revoke', dict(tags=[]), 'tags is empty'),
    ('revoke', dict(renew_within_days=3), 'renew_within_days only applies to action=renew and action=update'),
    ('delete', dict(include_revoked=True), 'include_revoked only applies'),
    ('renew', dict(ca_name=None, renew_within_days=3), 'ca_name is required with action=renew'),
    ('renew', dict(from_ca=OTHER, renew_within_days=3), 'from_ca only applies to action=transfer'),
    ('transfer', dict(from_ca=CA), 'a transfer needs two different Root CAs'),
    ('transfer', dict(ca_name=OTHER, rot_public_uids=None), 'action=transfer needs rot_public_uids, serial_numbers or tags, or from_ca'),
    ('revoke', dict(rot_public_uids=['not-hex']), "rot_public_uids: 'not-hex' is not a ROTPublicUID"),
])
def test_bad_input_is_refused_before_any_request(action, options, message):
    with pytest.raises(ConfigError) as error:
        params(action, **options)
    assert message in error.value.msg
