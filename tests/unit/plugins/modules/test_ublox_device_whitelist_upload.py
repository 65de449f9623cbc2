# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_whitelist's CSV upload against the mock: the mock's whitelist and how many requests a batch took."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_whitelist

IMEI = '862618583984360'
ENDPOINT = 'ublox POST /v1/device/whitelist/add'


def rots(count, start=0):
    return ['%016x' % (0xa0000000 + n) for n in range(start, start + count)]


def whitelist(mock):
    return set((entry['Type'], entry['Id']) for entry in mock.admin.state()['ublox']['whitelist'])


def counters(mock):
    found = mock.admin.counters()
    return found['endpoints'].get(ENDPOINT, 0), found['by_category']['write']


def test_a_factory_batch_takes_one_request_and_converges(mock, run, ublox_args):
    batch = rots(3000)
    args = ublox_args(rot_public_uids=batch, imeis=[IMEI])
    check = run(ublox_device_whitelist, args, check_mode=True)
    assert check['changed'] and check['upload'] == dict(form='csv', requests=2) and check['summary']['changed'] == 3001
    assert counters(mock) == (0, 0) and whitelist(mock) == set()
    first = run(ublox_device_whitelist, args, diff=True)
    assert first['changed'] and first['upload'] == dict(form='csv', requests=2) and first['summary']['changed'] == 3001
    assert first['diff']['after'][batch[0]] == {'whitelisted': True}
    assert whitelist(mock) == set(('ROTPublicUID', rot) for rot in batch) | {('IMEI', IMEI)}
    assert counters(mock) == (2, 2)  # 3000 ROTPublicUIDs in one CSV file, the IMEI in one JSON call
    mock.admin.reset_counters()
    again = run(ublox_device_whitelist, args)
    assert again['changed'] is False and again['upload'] == dict(form='none', requests=0) and counters(mock) == (0, 0)


def test_exclusive_adds_and_removes_in_one_upload(mock, run, ublox_args):
    old, new = rots(150), rots(150, start=1000)
    run(ublox_device_whitelist, ublox_args(rot_public_uids=old + new[:50], imeis=[IMEI]))
    mock.admin.reset_counters()
    args = ublox_args(rot_public_uids=new, exclusive=True)
    check = run(ublox_device_whitelist, args, check_mode=True)
    assert check['added']['rot_public_uids'] == new[50:] and check['removed']['rot_public_uids'] == old
    assert check['upload'] == dict(form='csv', requests=1) and counters(mock) == (0, 0)
    result = run(ublox_device_whitelist, args)
    assert result['summary']['changed'] == 250 and counters(mock) == (1, 1)
    assert whitelist(mock) == set(('ROTPublicUID', rot) for rot in new) | {('IMEI', IMEI)}  # IMEI entries untouched
    assert run(ublox_device_whitelist, args)['changed'] is False and counters(mock) == (1, 1)


def test_upload_json_and_csv_force_the_form(mock, run, ublox_args):
    forced_json = run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(200), upload='json'))
    assert forced_json['upload'] == dict(form='json', requests=1) and counters(mock)[0] == 1
    mock.admin.reset_counters()
    forced_csv = run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(2, start=500), upload='csv', state='present'))
    assert forced_csv['upload'] == dict(form='csv', requests=1) and counters(mock)[0] == 1
    gone = run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(2, start=500), upload='csv', state='absent'))
    assert gone['changed'] and gone['summary']['changed'] == 2 and len(whitelist(mock)) == 200


def test_a_refused_upload_fails_its_entries_and_keeps_the_json_call(mock, run, ublox_args):
    mock.admin.add_fault(vendor='ublox', path='/device/whitelist/add$', kind='status', status=400, message='CSV rejected', count=1)
    result = run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(120), imeis=[IMEI]))
    assert result['failed'] and result['summary']['failed'] == 120 and result['summary']['changed'] == 1
    assert whitelist(mock) == {('IMEI', IMEI)}
    assert run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(120), imeis=[IMEI]))['summary']['changed'] == 120


def test_upload_csv_without_rotpublicuids_is_refused_before_any_request(mock, run, ublox_args):
    result = run(ublox_device_whitelist, ublox_args(imeis=[IMEI], upload='csv'))
    assert result['failed'] and 'upload=csv needs rot_public_uids' in result['msg']
    assert mock.admin.counters()['by_category']['write'] == 0


def test_an_upload_whose_answer_is_lost_is_verified_by_reading_the_whitelist(mock, run, ublox_args):
    mock.admin.add_fault(vendor='ublox', path='/device/whitelist/add$', kind='drop_after')
    result = run(ublox_device_whitelist, ublox_args(rot_public_uids=rots(150)))
    assert result['changed'] and result['summary']['failed'] == 0 and counters(mock)[0] == 1
    assert len(whitelist(mock)) == 150
