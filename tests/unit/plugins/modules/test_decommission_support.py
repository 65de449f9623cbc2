# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the decommission role needs from the modules it shares: manifest_info's rows given as data, its selection by serial and
its nRF Cloud device ids; the decommission report's words (removed, already gone, pending until the heartbeat); and a u-blox
certificate deletion that is sent reported as waiting for the device's heartbeat."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._report import build, lean_step
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import parse_date
from ansible_collections.iotops.provisioning.plugins.modules import manifest_info
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_certificate import plan_device, validate

ROT = '0002000089280087'
NOW = parse_date('2026-06-01T00:00:00Z')
ROWS = [dict(serial='SN-1', ublox_rot_public_uid='0002000089280087', ublox_imei='490154203237518', naocloud_mac='aa-bb-cc-00-00-01'),
        dict(serial='SN-2', iotcomms_device_id=4670000002),
        dict(serial='SN-3', iotcomms_device_id='4670000003')]


def tokens(mock, count):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


# manifest_info ----------------------------------------------------------------------------------------------

def test_rows_given_as_data_are_checked_and_split_like_a_manifest(run):
    result = run(manifest_info, dict(rows=ROWS))
    assert not result.get('failed'), result
    assert result['counts'] == dict(total=3, nrfcloud=0, ublox=1, iotcomms=2, naocloud=1)
    assert result['ublox'] == [dict(rot_public_uid=ROT, imei='490154203237518')]
    assert result['iotcomms'] == [dict(device_id='4670000002'), dict(device_id='4670000003')]  # a number in YAML is read as text
    assert result['naocloud'] == [dict(tracking_id='AA:BB:CC:00:00:01', name='SN-1')]
    assert result['nrfcloud_devices'] == []


def test_select_keeps_the_named_devices_and_checks_the_whole_manifest(run, mock):
    token = tokens(mock, 1)[0]
    rows = ROWS + [dict(serial='SN-4', nrfcloud_claim_token=token['claim_token'])]
    result = run(manifest_info, dict(rows=rows, select=['SN-4', 'SN-1']))
    assert [d['serial'] for d in result['devices']] == ['SN-1', 'SN-4']
    assert result['nrfcloud_devices'] == [dict(device_id=token['device_id'])]
    assert result['serials']['nrfcloud'] == {token['device_id']: 'SN-4'} and result['iotcomms'] == []
    # a bad row outside the selection still fails the manifest: the file is one batch
    bad = run(manifest_info, dict(rows=ROWS + [dict(serial='SN-5', ublox_imei='490154203237517')], select=['SN-1'],
                                  fail_on_problems=False))
    assert bad['problems'] == ["row 4: ublox_imei '490154203237517' is not an IMEI: the 15th digit is the Luhn check digit of the "
                               "first 14; expected 8"]


def test_a_serial_not_in_the_manifest_is_a_problem_and_nothing_is_returned(run):
    result = run(manifest_info, dict(rows=ROWS, select=['SN-1', 'SN-9', 'SN-8'], fail_on_problems=False))
    assert result['problems'] == ["select: serial 'SN-9' is not in the manifest", "select: serial 'SN-8' is not in the manifest"]
    assert 'devices' not in result
    failed = run(manifest_info, dict(rows=ROWS, select=['SN-9']))
    assert failed['failed'] and 'select: 1 serial(s) not in the manifest: SN-9' in failed['msg']


@pytest.mark.parametrize('args, message', [
    (dict(), 'one of the following is required: path, rows'),
    (dict(path='batch.csv', rows=ROWS), 'parameters are mutually exclusive: path|rows'),
    (dict(rows=[]), 'rows is empty'),
    (dict(rows=[dict(serial='SN-1', colour='red')]), 'unknown column(s) colour'),
])
def test_rows_and_path_rules(run, args, message):
    result = run(manifest_info, args)
    assert result['failed'] and message in result['msg'], result['msg']


# the decommission report ------------------------------------------------------------------------------------

def step(vendor, name, *outcomes):
    return lean_step(dict(vendor=vendor, step=name, runs=[dict(outcomes=list(outcomes))]))


def test_decommission_cells_say_removed_already_gone_pending_or_needs_attention():
    serials = dict(nrfcloud={'n1': 'SN-1', 'n2': 'SN-2'}, ublox={'u1': 'SN-1', 'u2': 'SN-2', 'i2': 'SN-2'}, iotcomms={'s2': 'SN-2'})
    steps = [
        step('nrfcloud', 'unclaim', dict(item='n1', changed=True, phase='unclaimed'), dict(item='n2', changed=False, phase='unclaimed')),
        step('nrfcloud', 'delete', dict(item='n1', changed=False, phase='removed'), dict(item='n2', changed=False, phase='removed')),
        step('ublox', 'revoke', dict(item='u1', changed=True, status='acted'), dict(item='u2', changed=False, status='done')),
        # the certificate deletion waits for the heartbeat; the whitelist step after it does not undo that
        step('ublox', 'delete', dict(item='u1', changed=True, status='acted', waiting=True),
             dict(item='u2', changed=False, status='pending', waiting=True)),
        step('ublox', 'whitelist', dict(item='u1', changed=True, status='removed'), dict(item='i2', changed=False, status='absent')),
        step('iotcomms', 'delete', dict(item='s2', changed=False, failed=True, msg='iotcomms.io DELETE failed: HTTP 500')),
    ]
    report = build(steps, serials, 'decommissioned', 'decommission')
    rows = dict((row['serial'], dict((cloud, cell['phase']) for cloud, cell in row['clouds'].items())) for row in report['devices'])
    assert rows == {'SN-1': {'nrfcloud': 'removed', 'ublox': 'pending (next heartbeat)'},
                    'SN-2': {'nrfcloud': 'already gone', 'ublox': 'pending (next heartbeat)', 'iotcomms': 'needs attention'}}
    assert (report['verdict']['waiting'], report['verdict']['needs_attention'], report['complete']) == (1, 1, False)
    done = build([steps[0], steps[1]], serials, 'decommissioned', 'decommission')
    assert done['complete'] and done['verdict']['text'] == '2 of 2 decommissioned'


def test_a_batch_report_keeps_its_words():
    """The decommission words apply to kind=decommission only."""
    steps = [step('ublox', 'whitelist', dict(item='u1', changed=True, status='removed'))]
    assert build(steps, {}, 'done', 'batch')['devices'][0]['clouds']['ublox']['phase'] == 'removed'
    steps = [step('ublox', 'whitelist', dict(item='u1', changed=False, status='absent'))]
    assert build(steps, {}, 'done', 'batch')['devices'][0]['clouds']['ublox']['phase'] == 'not present'


# ublox_device_certificate -----------------------------------------------------------------------------------

def test_a_certificate_deletion_sent_waits_for_the_heartbeat():
    params = dict(action='delete', ca_name=None, from_ca=None, rot_public_uids=[ROT], serial_numbers=None, tags=None,
                  renew_within_days=None, issued_before=None, validity_days=None, include_revoked=False, concurrency=8)
    validate(params)
    held = dict(ZTP=dict(CurrentProperties=dict(CAName='devices.example.com', CertificateSerialNumber='ab', Revoked=True),
                         DesiredProperties={}))
    plan = plan_device(params, ROT, held, NOW)
    assert plan.action == 'delete' and plan.result['status'] == 'acted' and plan.result['waiting'] is True
    revoke = dict(params, action='revoke', ca_name='devices.example.com')
    unrevoked = dict(ZTP=dict(CurrentProperties=dict(held['ZTP']['CurrentProperties'], Revoked=False)))
    assert 'waiting' not in plan_device(revoke, ROT, unrevoked, NOW).result
