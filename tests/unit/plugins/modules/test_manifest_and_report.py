# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""manifest_info (checks before anything is sent) and batch_report (files, counts, mode)."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.iotops.provisioning.plugins.module_utils._report import lean_step
from ansible_collections.iotops.provisioning.plugins.modules import batch_report, manifest_info


def token(mock):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 2})['devices']


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_manifest_is_split_per_vendor(mock, run, tmp_path):
    devices = token(mock)
    path = write(tmp_path, 'batch.csv', 'serial,nrfcloud_claim_token,ublox_rot_public_uid,naocloud_mac,iotcomms_device_id\n'
                 'SN-1,%s,00020000892800AA,aa:bb:cc:00:00:01,4670001\nSN-2,%s,,,\n' % (devices[0]['claim_token'], devices[1]['claim_token']))
    result = run(manifest_info, dict(path=path))
    assert result['counts'] == dict(total=2, nrfcloud=2, ublox=1, iotcomms=1, naocloud=1)
    assert result['nrfcloud'][0] == {'claim_token': devices[0]['claim_token']}
    assert result['ublox'] == [{'rot_public_uid': '00020000892800aa'}]
    assert result['naocloud'] == [{'tracking_id': 'AA:BB:CC:00:00:01', 'name': 'SN-1'}]
    assert result['serials']['nrfcloud'][devices[1]['device_id']] == 'SN-2'


def test_yaml_manifest(run, tmp_path):
    path = write(tmp_path, 'batch.yml', 'devices:\n  - {serial: A, iotcomms_device_id: "100"}\n  - {serial: B, iotcomms_device_id: "101"}\n')
    assert run(manifest_info, dict(path=path))['iotcomms'] == [{'device_id': '100'}, {'device_id': '101'}]


def test_bad_manifests_name_row_and_rule(run, tmp_path):
    cases = [
        ('serial,naocloud_mac\nA,AA:BB\n', 'row 2: naocloud_mac'),
        ('serial,iotcomms_device_id\nA,1\nB,1\n', 'duplicates row 2'),
        ('serial,iotcomms_device_id\nA,1\nA,2\n', "serial 'A' duplicates row 2"),
        ('iotcomms_device_id\n1\n', 'serial column is missing'),
        ('serial,colour\nA,red\n', 'unknown column(s) colour'),
        ('serial,nrfcloud_claim_token\nA,bogus\n', 'not an nRF91 attestation token'),
        ('serial,ublox_imei\nA,12345\n', 'must be 15 digits'),
        ('serial\n', 'no device rows'),
    ]
    for text, rule in cases:
        result = run(manifest_info, dict(path=write(tmp_path, 'm.csv', text)))
        assert result.get('failed') and rule in result['msg'], (text, result['msg'])
    missing = run(manifest_info, dict(path=str(tmp_path / 'absent.csv')))
    assert missing['failed'] and 'cannot read the manifest' in missing['msg']


def test_report_files_counts_and_mode(run, tmp_path):
    steps = [dict(vendor='nrfcloud', step='claim', results=[dict(item='d1', changed=True), dict(item='d2', failed=True, msg='boom')]),
             dict(vendor='nrfcloud', step='onboard', results=[dict(item='d1', changed=False)]),
             dict(vendor='naocloud', step='tags', results=[], error='invalid input')]
    result = run(batch_report, dict(path=str(tmp_path / 'reports'), name='r', steps=steps, serials={'nrfcloud': {'d1': 'SN-1'}}))
    report = result['report']
    assert report['counts']['nrfcloud'] == dict(total=2, changed=1, ok=0, failed=1)
    assert [f['reason'] for f in report['failures']] == ['boom', 'invalid input']
    for key in ('json_path', 'html_path'):
        assert stat.S_IMODE(os.stat(result[key]).st_mode) == 0o600
    assert json.load(open(result['json_path']))['devices'][0]['serial'] == 'SN-1'
    html = open(result['html_path']).read()
    assert '<table>' in html and 'boom' in html and '<script' not in html
    check = run(batch_report, dict(path=str(tmp_path / 'none'), steps=steps), check_mode=True)
    assert not os.path.exists(str(tmp_path / 'none')) and check['report']['counts']


def test_report_takes_registered_runs_and_stays_small(run, tmp_path):
    """The role hands over what its looped tasks registered; the module flattens the chunks and keeps the result small."""
    devices = [dict(item='d1', changed=True), dict(item='d2', failed=True, msg='boom')]
    chunks = [dict(ansible_loop_var='item', item=['d1', 'd2'], changed=True, msg='', outcomes=devices),
              dict(ansible_loop_var='item', item=['d3'], failed=False, msg='devices[0]: claim_token is not valid'),
              dict(ansible_loop_var='item', item=[], skipped=True, outcomes=[])]
    steps = [dict(vendor='nrfcloud', step='claim', runs=chunks),
             dict(vendor='naocloud', step='tags', runs=[dict(changed=False, outcomes=[dict(item='aa:bb', changed=False)])])]
    result = run(batch_report, dict(path=str(tmp_path / 'reports'), name='r', steps=steps))
    assert result['report']['counts'] == dict(nrfcloud=dict(total=2, changed=1, ok=0, failed=1),
                                              naocloud=dict(total=1, changed=0, ok=1, failed=0))
    assert [(f['device'], f['reason']) for f in result['report']['failures']] == [
        (None, 'devices[0]: claim_token is not valid'), ('d2', 'boom')]
    assert 'devices' not in result['report']
    written = json.load(open(result['json_path']))
    assert [(d['vendor'], d['id'], d['outcome']) for d in written['devices']] == [
        ('nrfcloud', 'd1', 'changed'), ('nrfcloud', 'd2', 'failed'), ('naocloud', 'aa:bb', 'ok')]
    rows = run(batch_report, dict(path=str(tmp_path / 'reports'), name='r', steps=steps, return_devices=True))['report']['devices']
    assert [d['id'] for d in rows] == ['d1', 'd2', 'aa:bb']


def test_report_refuses_a_bad_mode_before_writing(run, tmp_path):
    target = tmp_path / 'reports'
    result = run(batch_report, dict(path=str(target), steps=[dict(vendor='nrfcloud', step='claim')], mode='rw-all'))
    assert result['failed'] and "mode: 'rw-all' is not a file mode" in result['msg']
    assert not target.exists()


def test_identities_of_one_device_make_one_row(run, tmp_path):
    """A u-blox device is whitelisted by ROTPublicUID and by IMEI: with the manifest's serials it is one device, not two."""
    path = write(tmp_path, 'batch.csv', 'serial,ublox_rot_public_uid,ublox_imei\nSN-1,0A1B2C3D4E5F6071,490154203237518\n'
                                        'SN-2,0a1b2c3d4e5f6072,\n')
    manifest = run(manifest_info, dict(path=path))
    assert manifest['serials']['ublox'] == {'0a1b2c3d4e5f6071': 'SN-1', '490154203237518': 'SN-1', '0a1b2c3d4e5f6072': 'SN-2'}
    whitelist = [dict(item='0a1b2c3d4e5f6071', type='ROTPublicUID', changed=True), dict(item='0a1b2c3d4e5f6072', type='ROTPublicUID'),
                 dict(item='490154203237518', type='IMEI', failed=True, msg='IMEI refused')]
    result = run(batch_report, dict(path=str(tmp_path / 'reports'), steps=[dict(vendor='ublox', step='whitelist', results=whitelist)],
                                    serials=manifest['serials'], return_devices=True))
    assert result['report']['counts']['ublox'] == dict(total=2, changed=0, ok=1, failed=1)
    assert [(d['id'], d['serial'], d['outcome']) for d in result['report']['devices']] == [
        ('0a1b2c3d4e5f6071', 'SN-1', 'failed'), ('0a1b2c3d4e5f6072', 'SN-2', 'ok')]


def test_the_action_keeps_only_what_the_report_shows():
    """What batch_report's action sends to the module: flattened runs, each result cut down to the report's fields."""
    certificate = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    runs = [dict(ansible_loop_var='item', item=['d1'], invocation=dict(module_args=dict(devices=['d1'])), onboarding=[certificate],
                 outcomes=[dict(item='d1', changed=True, failed=False, status='PROVISIONED', commands=[dict(kind='csr')],
                               csr=dict(pem=certificate))]),
            dict(ansible_loop_var='item', item=['d2'], msg='devices[0]: claim_token is not valid'),
            dict(ansible_loop_var='item', item=[], skipped=True)]
    lean = lean_step(dict(vendor='nrfcloud', step='claim', runs=runs, error='the step was interrupted'))
    assert lean == dict(vendor='nrfcloud', step='claim', error='the step was interrupted; devices[0]: claim_token is not valid',
                        results=[dict(item='d1', changed=True, failed=False, status='PROVISIONED')])
