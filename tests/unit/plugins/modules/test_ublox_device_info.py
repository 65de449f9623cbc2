# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_info's expires_within_days: the rule with data alone, then against the mock (on the cloud's clock)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_info, ublox_device_whitelist, ublox_rootca
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import expires_within, parse_date
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_info import root_ca

CA = 'devices.example.com'
DAY = 86400
NOW = 1780000000.0  # 2026-05-28T20:26:40Z


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


@pytest.mark.parametrize('certificate, within', [
    (dict(expiration_date='2026-06-07T20:26:40Z'), True),       # 10 days left
    (dict(expiration_date='2026-06-27T20:26:40Z'), True),       # exactly 30 days: within
    (dict(expiration_date='2026-06-27T20:26:41Z'), False),      # a second more
    (dict(expiration_date='2026-05-01T00:00:00Z'), True),       # expired
    (dict(expiration_date='2026-06-07T20:26:40Z', revoked=True), True),
    (dict(expiration_date=None), True),                         # no expiry given: the renewal acts on it
    (None, False),                                              # no certificate
])
def test_the_rule_with_data_alone(certificate, within):
    assert expires_within(certificate, 30, NOW) is within


def fleet():
    """ROTPublicUID -> days left: due in 5 and 25 days, revoked in 10, expired 3 days ago, a year, and none."""
    days = {'00a1': 5, '00a2': 25, '00a3': 10, '00a4': -3, '00a5': 360}
    devices = [dict(ROTPublicUID=rot, CAName=CA, ExpiresInDays=left, IssuedDaysAgo=5, Revoked=rot == '00a3', TagNames=['fleet'])
               for rot, left in days.items()]
    devices.append(dict(ROTPublicUID='00a6', TagNames=['fleet']))
    return devices


@pytest.fixture
def seeded(mock, creds, run):
    assert run(ublox_rootca, ublox_args(mock, creds, cas=[dict(name=CA, ca_validity_days=3650, device_certificate_validity_days=365)]))['changed']
    mock.admin.seed('ublox', 'tags', {'tags': ['fleet']})
    mock.admin.seed('ublox', 'devices', {'devices': fleet()})
    return mock


def rots(result):
    return [device['rot_public_uid'] for device in result['devices']]


def test_the_root_ca_is_the_certificates_or_the_pending_actions():
    assert root_ca(dict(certificate=dict(ca_name='a'), pending_certificate_action=dict(ca_name='b'))) == 'a'
    assert root_ca(dict(certificate=None, pending_certificate_action=dict(action='UPDATE', ca_name='b'))) == 'b'
    assert root_ca(dict(certificate=None, pending_certificate_action=None)) is None


def test_only_the_certificates_that_expire_within_the_window(seeded, creds, run):
    mock = seeded
    args = ublox_args(mock, creds, tags=['fleet'], options=['ZTP'])
    mock.admin.reset_counters()
    everything = run(ublox_device_info, args)
    calls = mock.admin.counters()['endpoints']
    assert rots(everything) == ['00a1', '00a2', '00a3', '00a4', '00a5', '00a6']
    assert [d['root_ca'] for d in everything['devices']] == [CA] * 5 + [None]  # the last holds no certificate
    mock.admin.reset_counters()
    due = run(ublox_device_info, dict(args, expires_within_days=30))
    assert mock.admin.counters()['endpoints'] == calls  # the same reads: the filter costs no request
    assert due['changed'] is False and due['missing'] == []
    assert rots(due) == ['00a1', '00a2', '00a3', '00a4']
    # the devices are returned as without the filter
    assert due['devices'] == [device for device in everything['devices'] if device['rot_public_uid'] in rots(due)]
    assert [d['certificate']['revoked'] for d in due['devices']] == [False, False, True, False]
    assert rots(run(ublox_device_info, dict(args, expires_within_days=0))) == ['00a4']
    assert rots(run(ublox_device_info, dict(args, expires_within_days=3650))) == ['00a1', '00a2', '00a3', '00a4', '00a5']
    assert mock.admin.counters()['by_category']['write'] == 0


def test_named_devices_and_missing_ones(seeded, creds, run):
    result = run(ublox_device_info, ublox_args(seeded, creds, rot_public_uids=['00A2', '00a5', '0badc0de'], options=['CORE', 'ZTP'],
                                               expires_within_days=30))
    assert rots(result) == ['00a2'] and result['missing'] == ['0badc0de']
    assert result['devices'][0]['tags'] == ['fleet']


def test_the_window_is_on_the_clouds_clock(seeded, creds, run):
    mock = seeded
    mock.admin.advance_clock(340 * DAY)  # u-blox's calendar moves on, the controller's does not
    result = run(ublox_device_info, ublox_args(mock, creds, tags=['fleet'], options=['ZTP'], expires_within_days=30))
    # on u-blox's clock the year-long certificate has 20 days left; on the controller's it would have 360
    assert rots(result) == ['00a1', '00a2', '00a3', '00a4', '00a5']
    assert "The clock of ublox is ahead of the controller's by 340.0 days" in str(result.get('warnings')), result.get('warnings')


def test_the_whitelist_of_the_named_devices_and_the_clouds_time(seeded, creds, run):
    """00b1 is whitelisted and has not bootstrapped (u-blox does not know it); 00a1 is whitelisted and known; the IMEI entry
    and 00a2 (not named) are left out. cloud_time is u-blox's clock, 2 days ahead of the controller's."""
    mock = seeded
    added = run(ublox_device_whitelist, ublox_args(mock, creds, rot_public_uids=['00b1', '00a1', '00a2'], imeis=['352656100000002']))
    assert added['changed'], added
    mock.admin.advance_clock(2 * DAY)
    mock.admin.reset_counters()
    result = run(ublox_device_info, ublox_args(mock, creds, rot_public_uids=['00b1', '00a1'], options=['CORE'], include_whitelist=True))
    assert rots(result) == ['00a1'] and result['missing'] == ['00b1']
    assert sorted(entry['id'] for entry in result['whitelist']) == ['00a1', '00b1']
    assert all(entry['type'] == 'ROTPublicUID' and entry['created_date'].endswith('Z') for entry in result['whitelist'])
    ahead = parse_date(result['cloud_time']) - time.time()
    assert 2 * DAY - 120 < ahead < 2 * DAY + 120, result['cloud_time']
    assert mock.admin.counters()['endpoints'].get('ublox POST /v1/device/whitelist/get') == 1, mock.admin.counters()['endpoints']
    assert 'whitelist' not in run(ublox_device_info, ublox_args(mock, creds, rot_public_uids=['00a1'], options=['CORE']))


@pytest.mark.parametrize('extra, words', [
    (dict(expires_within_days=30, options=['CORE']), 'expires_within_days needs ZTP in options'),
    (dict(expires_within_days=-1), 'expires_within_days is -1; it must be from 0 to 3650 days'),
    (dict(expires_within_days=3651), 'expires_within_days is 3651; it must be from 0 to 3650 days'),
])
def test_bad_windows_are_refused_before_any_request(mock, creds, run, extra, words):
    mock.admin.reset_counters()
    result = run(ublox_device_info, ublox_args(mock, creds, **extra))
    assert result['failed'] and words in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0
