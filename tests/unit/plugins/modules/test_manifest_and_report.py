# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""manifest_info (checks before anything is sent); batch_report has its own tests in test_batch_report.py."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import manifest_info


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
