# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's findings with data alone: stuck, expiring, drift, clones, suspicious and silent devices."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._fleet_audit import audit
from ansible_collections.iotops.provisioning.plugins.modules import fleet_audit_findings

NOW = 1780000000.0  # 2026-05-28T20:26:40Z
HOURS_AGO_30 = '2026-05-27T14:26:40Z'
HOURS_AGO_2 = '2026-05-28T18:26:40Z'
DAYS_AGO_10 = '2026-05-18T20:26:40Z'

NRF = ['nrf-%d' % n for n in range(1, 6)]
ROTS = ['00000000000000a%d' % n for n in range(1, 6)]


def manifest(rows):
    devices = [dict(serial=serial, **ids) for serial, ids in rows]
    serials = dict(nrfcloud={}, ublox={}, iotcomms={}, naocloud={})
    for device in devices:
        for column, cloud in (('nrfcloud_device_id', 'nrfcloud'), ('ublox_rot_public_uid', 'ublox'), ('iotcomms_device_id', 'iotcomms'),
                              ('naocloud_mac', 'naocloud')):
            if column in device:
                serials[cloud][device[column]] = device['serial']
    return dict(devices=devices, serials=serials)


def nrf_device(ident, status='PROVISIONED', claimed=HOURS_AGO_30):
    return dict(id=ident, status=status, claimedAt=claimed)


def ublox_device(rot, state='ACTIVATED', bootstrap=HOURS_AGO_30, seen=HOURS_AGO_2):
    return dict(rot_public_uid=rot, state=state, bootstrap_date=bootstrap, last_seen=seen)


def findings_by_id(findings):
    return dict((f['id'], (f['findings'], f['reason'])) for f in findings)


def run_audit(reads, rows, stuck_hours=24, not_seen_days=7):
    return audit(reads, manifest(rows), NOW, 30, stuck_hours, not_seen_days)


def test_nrfcloud_stuck_since_its_claim_against_the_threshold():
    rows = [('SN-%d' % n, dict(nrfcloud_device_id=ident)) for n, ident in enumerate(NRF[:4], 1)]
    claimed = dict(devices=[nrf_device(NRF[0]), nrf_device(NRF[1], 'ERROR'), nrf_device(NRF[2], 'BLOCKED', HOURS_AGO_2),
                            nrf_device(NRF[3], 'AWAITING')])
    dummy, findings, counts = run_audit(dict(nrfcloud_claimed=claimed), rows)
    found = findings_by_id(findings)
    assert set(found) == {NRF[1], NRF[3]}  # BLOCKED for 2 hours only: not yet
    assert found[NRF[1]] == (['stuck'], 'ERROR for 30.0 hours (since its claim)')
    assert counts['stuck'] == 2 and counts['devices'] == 2
    dummy, findings, dummy2 = run_audit(dict(nrfcloud_claimed=claimed), rows, stuck_hours=0)
    assert set(findings_by_id(findings)) == {NRF[1], NRF[2], NRF[3]}


def test_a_newer_command_time_counts_before_the_claim():
    """The history read of the stuck devices (nrfcloud_stuck, command views) says since when: 2 hours, not 10 days."""
    rows = [('SN-1', dict(nrfcloud_device_id=NRF[0])), ('SN-2', dict(nrfcloud_device_id=NRF[1]))]
    claimed = dict(devices=[nrf_device(NRF[0], 'ERROR', DAYS_AGO_10), nrf_device(NRF[1], 'ERROR', DAYS_AGO_10)])
    stuck = dict(devices=[dict(id=NRF[0], commands=[dict(created_at=DAYS_AGO_10, updated_at=HOURS_AGO_2)]),
                          dict(id=NRF[1], commands=[dict(created_at=DAYS_AGO_10, updated_at=HOURS_AGO_30)])])
    dummy, findings, dummy2 = run_audit(dict(nrfcloud_claimed=claimed, nrfcloud_stuck=stuck), rows)
    assert findings_by_id(findings) == {NRF[1]: (['stuck'], 'ERROR for 30.0 hours (since its last command)')}
    # without the history read: since the claim
    dummy, findings, dummy2 = run_audit(dict(nrfcloud_claimed=claimed), rows)
    assert findings_by_id(findings)[NRF[0]] == (['stuck'], 'ERROR for 10 days (since its claim)')


def test_expiring_certificates_are_those_the_modules_returned():
    rows = [('SN-1', dict(nrfcloud_device_id=NRF[0], ublox_rot_public_uid=ROTS[0])), ('SN-2', dict(ublox_rot_public_uid=ROTS[1]))]
    reads = dict(nrfcloud_claimed=dict(devices=[nrf_device(NRF[0])]),
                 nrfcloud_expiring=dict(devices=[dict(id=NRF[0], client_certificate=dict(not_after='2026-06-01T00:00:00Z'))]),
                 ublox_devices=dict(devices=[ublox_device(ROTS[0]), ublox_device(ROTS[1])]),
                 ublox_expiring=dict(devices=[dict(rot_public_uid=ROTS[1], certificate=dict(expiration_date='2026-06-02T00:00:00Z'))]))
    steps, findings, counts = run_audit(reads, rows)
    found = findings_by_id(findings)
    assert found[NRF[0]] == (['expiring'], 'client certificate expires 2026-06-01T00:00:00Z')
    assert found[ROTS[1]] == (['expiring'], 'device certificate expires 2026-06-02T00:00:00Z')
    assert counts['expiring'] == 2 and counts['devices'] == 2
    assert [step['vendor'] for step in steps] == ['nrfcloud', 'ublox', 'iotcomms', 'naocloud']


def phases(steps, vendor):
    step = next(step for step in steps if step['vendor'] == vendor)
    return dict((outcome['item'], (outcome['phase'], outcome['failed'], outcome['waiting'])) for outcome in step['results'])


def test_a_renewal_on_its_way_waits_for_the_heartbeat_and_is_no_finding():
    rows = [('SN-1', dict(ublox_rot_public_uid=ROTS[0]))]
    expiring = dict(rot_public_uid=ROTS[0], certificate=dict(expiration_date='2026-06-02T00:00:00Z'),
                    pending_certificate_action=dict(action='RENEW'))
    steps, findings, counts = run_audit(dict(ublox_devices=dict(devices=[ublox_device(ROTS[0])]), ublox_expiring=dict(devices=[expiring])), rows)
    assert findings == [] and counts['expiring'] == 0
    assert phases(steps, 'ublox')[ROTS[0]] == ('renewal pending (next heartbeat)', False, True)


def test_a_decommissioned_device_is_gone_not_drift_and_its_old_clone_report_is_no_finding():
    """Its u-blox record stays (u-blox has no device delete) with a revoked certificate; every other cloud forgot it."""
    rows = [('SN-1', dict(ublox_rot_public_uid=ROTS[0], iotcomms_device_id='4670001')),
            ('SN-2', dict(ublox_rot_public_uid=ROTS[1], iotcomms_device_id='4670002'))]
    reads = dict(ublox_devices=dict(devices=[ublox_device(ROTS[0]), ublox_device(ROTS[1])]),
                 ublox_expiring=dict(devices=[dict(rot_public_uid=ROTS[0], certificate=dict(revoked=True))]),
                 ublox_security=dict(clones=[dict(rot_public_uid=ROTS[0])], suspicious=[], activity=None),
                 iotcomms_devices=dict(devices=[dict(deviceId='4670002')]))
    steps, findings, counts = run_audit(reads, rows)
    assert findings == []
    assert phases(steps, 'ublox')[ROTS[0]] == ('out of service (certificate revoked)', False, False)
    assert phases(steps, 'iotcomms')['4670001'] == ('gone (decommissioned)', False, False)
    retired = [(step['vendor'], outcome['item']) for step in steps for outcome in step['results'] if outcome.get('out_of_service')]
    assert sorted(retired) == [('iotcomms', '4670001'), ('ublox', ROTS[0])]  # the report counts them apart, not as healthy
    # the same record, while another cloud still knows the device, is drift there: decommissioning was not finished
    reads['iotcomms_devices'] = dict(devices=[dict(deviceId='4670001'), dict(deviceId='4670002')])
    reads['naocloud_trackables'] = dict(trackables=[])
    rows[0][1]['naocloud_mac'] = 'AA:BB:CC:00:00:01'
    steps, findings, counts = run_audit(reads, rows)
    assert [(f['id'], f['reason']) for f in findings] == [('AA:BB:CC:00:00:01', 'missing in NAO Cloud (present in iotcomms.io)')]


def test_drift_per_identity_column_and_a_ublox_module_not_bootstrapped_waits():
    rows = [('SN-1', dict(nrfcloud_device_id=NRF[0], iotcomms_device_id='4710001', naocloud_mac='AA:00:00:00:00:01')),
            ('SN-2', dict(nrfcloud_device_id=NRF[1], ublox_rot_public_uid=ROTS[1], iotcomms_device_id='4710002'))]
    reads = dict(nrfcloud_claimed=dict(devices=[nrf_device(NRF[1])]),
                 nrfcloud_onboarded=dict(devices=[dict(id=NRF[1])]),
                 ublox_devices=dict(devices=[]),
                 iotcomms_devices=dict(devices=[dict(deviceId='4710001'), dict(deviceId='4710002')]),
                 naocloud_trackables=dict(trackables=[dict(tracking_id='aa:00:00:00:00:01')]))
    steps, findings, counts = run_audit(reads, rows)
    found = findings_by_id(findings)
    assert set(found) == {NRF[0]}
    assert found[NRF[0]][1] == 'missing in nRF Cloud (present in iotcomms.io, NAO Cloud)'
    ublox = next(step for step in steps if step['vendor'] == 'ublox')['results']
    assert ublox == [dict(item=ROTS[1], changed=False, failed=False, phase='waiting for bootstrap', waiting=True, findings=[])]
    assert counts['drift'] == 1


def test_provisioned_but_not_in_device_management_is_drift():
    reads = dict(nrfcloud_claimed=dict(devices=[nrf_device(NRF[0])]), nrfcloud_onboarded=dict(devices=[]))
    dummy, findings, dummy2 = run_audit(reads, [('SN-1', dict(nrfcloud_device_id=NRF[0]))])
    assert findings_by_id(findings)[NRF[0]][0] == ['drift']


def test_clones_suspicious_and_silent_devices_in_one_row():
    rows = [('SN-%d' % n, dict(ublox_rot_public_uid=rot)) for n, rot in enumerate(ROTS[:4], 1)]
    security = dict(clones=[dict(rot_public_uid=ROTS[0].upper())], suspicious=[dict(rot_public_uid=ROTS[1])],
                    activity=[dict(rot_public_uid=ROTS[0], last_seen=DAYS_AGO_10), dict(rot_public_uid=ROTS[1], last_seen=HOURS_AGO_2),
                              dict(rot_public_uid=ROTS[2], last_seen=None), dict(rot_public_uid=ROTS[3], last_seen=HOURS_AGO_2)])
    reads = dict(ublox_devices=dict(devices=[ublox_device(rot) for rot in ROTS[:4]]), ublox_security=security)
    steps, findings, counts = run_audit(reads, rows)
    found = findings_by_id(findings)
    assert found[ROTS[0]] == (['clone', 'not_seen'], 'reported as a clone by u-blox; not seen for 10 days (last seen %s)' % DAYS_AGO_10)
    assert found[ROTS[1]][0] == ['suspicious'] and found[ROTS[2]] == (['not_seen'], 'never seen by u-blox')
    assert ROTS[3] not in found
    assert (counts['clone'], counts['suspicious'], counts['not_seen'], counts['devices'], counts['findings']) == (1, 1, 2, 3, 4)
    outcome = next(o for o in steps[1]['results'] if o['item'] == ROTS[0])
    assert outcome['failed'] and outcome['remedy'].startswith('Treat it as compromised')


def test_without_the_security_read_last_seen_comes_from_the_device_information():
    reads = dict(ublox_devices=dict(devices=[ublox_device(ROTS[0], seen=DAYS_AGO_10)]), ublox_security=dict(skipped=True))
    dummy, findings, dummy2 = run_audit(reads, [('SN-1', dict(ublox_rot_public_uid=ROTS[0]))])
    assert findings_by_id(findings)[ROTS[0]][0] == ['not_seen']


def test_the_security_modules_own_not_seen_judgement_wins():
    """ublox_device_security_info judged not_seen on u-blox's clock: its list counts, not the controller's clock."""
    rows = [('SN-1', dict(ublox_rot_public_uid=ROTS[0])), ('SN-2', dict(ublox_rot_public_uid=ROTS[1]))]
    security = dict(clones=[], suspicious=[], not_seen=[ROTS[1]],
                    activity=[dict(rot_public_uid=ROTS[0], last_seen=DAYS_AGO_10), dict(rot_public_uid=ROTS[1], last_seen=HOURS_AGO_2)])
    reads = dict(ublox_devices=dict(devices=[ublox_device(rot) for rot in ROTS[:2]]), ublox_security=security)
    dummy, findings, dummy2 = run_audit(reads, rows)
    assert findings_by_id(findings) == {ROTS[1]: (['not_seen'], 'not seen for more than 7 days (last seen %s)' % HOURS_AGO_2)}


def test_allocated_ublox_modules_are_stuck():
    reads = dict(ublox_devices=dict(devices=[ublox_device(ROTS[0], state='ALLOCATED')]))
    dummy, findings, dummy2 = run_audit(reads, [('SN-1', dict(ublox_rot_public_uid=ROTS[0]))])
    assert findings_by_id(findings)[ROTS[0]] == (['stuck'], 'ALLOCATED (bootstrapped without being whitelisted) for 30.0 hours')


def test_a_failed_read_is_a_failed_step_and_a_skipped_one_is_not_judged():
    reads = dict(nrfcloud_claimed=dict(failed=True, msg='nrfcloud GET /v1/claimed-devices failed: HTTP 503'), iotcomms_devices=dict(skipped=True))
    steps, findings, counts = run_audit(reads, [('SN-1', dict(nrfcloud_device_id=NRF[0], iotcomms_device_id='1'))])
    assert steps[0]['error'] == 'nrfcloud GET /v1/claimed-devices failed: HTTP 503' and steps[0]['results'] == []
    assert findings == [] and counts['read_errors'] == 1


@pytest.mark.parametrize('params, words', [
    (dict(reads=dict(nrfcloud=dict())), 'reads: nrfcloud not known'),
    (dict(reads=dict(nrfcloud_claimed='x')), 'reads.nrfcloud_claimed must be a registered module result'),
    (dict(expiry_days=-1), 'expiry_days is -1'),
    (dict(stuck_hours=-0.5), 'stuck_hours is -0.5'),
    (dict(not_seen_days=-1.0), 'not_seen_days is -1.0'),
])
def test_bad_input_is_refused(params, words):
    options = dict(manifest={}, reads={}, expiry_days=30, stuck_hours=24.0, not_seen_days=7.0, now=None)
    options.update(params)
    with pytest.raises(Exception, match=words):
        fleet_audit_findings.validate(options)


def test_a_device_no_cloud_knows_is_one_finding_not_one_per_cloud():
    """Decommissioned without a u-blox identity (or never onboarded), still in the manifest: one finding that says both."""
    rows = [('SN-1', dict(nrfcloud_device_id=NRF[0], iotcomms_device_id='4720001', naocloud_mac='AA:00:00:00:00:01')),
            ('SN-2', dict(nrfcloud_device_id=NRF[1], ublox_rot_public_uid=ROTS[1], iotcomms_device_id='4720002'))]
    reads = dict(nrfcloud_claimed=dict(devices=[]), ublox_devices=dict(devices=[]), iotcomms_devices=dict(devices=[]),
                 naocloud_trackables=dict(trackables=[]))
    steps, findings, counts = run_audit(reads, rows)
    assert [(f['serial'], f['cloud'], f['reason']) for f in findings] == [
        ('SN-1', 'nrfcloud', 'in none of the clouds read (nRF Cloud, iotcomms.io, NAO Cloud)'),
        ('SN-2', 'nrfcloud', 'in none of the clouds read (nRF Cloud, u-blox, iotcomms.io)')]
    assert all('take it out of the manifest' in f['remedy'] for f in findings)
    assert counts['devices'] == 2 and counts['drift'] == 2
    assert phases(steps, 'iotcomms')['4720001'] == ('missing', False, False)
    assert phases(steps, 'ublox')[ROTS[1]] == ('waiting for bootstrap', False, True)


def test_a_whitelisted_module_that_does_not_bootstrap_is_stuck_after_the_threshold_on_ubloxs_clock():
    """u-blox's clock (cloud_time) is 30 hours past the controller's: the module whitelisted 'now' on the controller's
    clock has waited 30 hours on u-blox's, which is what counts."""
    rows = [('SN-1', dict(ublox_rot_public_uid=ROTS[0])), ('SN-2', dict(ublox_rot_public_uid=ROTS[1])),
            ('SN-3', dict(ublox_rot_public_uid=ROTS[2]))]
    whitelist = [dict(type='ROTPublicUID', id=ROTS[0], created_date='2026-05-28T20:26:40Z'),
                 dict(type='ROTPublicUID', id=ROTS[1], created_date='2026-05-30T00:26:40Z')]
    reads = dict(ublox_devices=dict(devices=[], whitelist=whitelist, cloud_time='2026-05-30T02:26:40Z'))
    steps, findings, counts = run_audit(reads, rows)
    found = findings_by_id(findings)
    assert found[ROTS[0]] == (['stuck'], 'waiting for its bootstrap for 30.0 hours (whitelisted 2026-05-28T20:26:40Z)')
    assert found[ROTS[2]] == (['drift'], 'neither whitelisted nor bootstrapped in u-blox')
    assert ROTS[1] not in found
    assert phases(steps, 'ublox')[ROTS[1]] == ('waiting for bootstrap', False, True)
    # without the whitelist read, a module u-blox does not know only waits
    steps, findings, counts = run_audit(dict(ublox_devices=dict(devices=[])), rows)
    assert findings == [] and all(phase == ('waiting for bootstrap', False, True) for phase in phases(steps, 'ublox').values())
