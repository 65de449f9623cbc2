# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_security_info's period rules and views with data alone: no mock, no HTTP."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_security import (
    activity_view,
    clone_view,
    date_body,
    not_seen_for,
    notification_view,
    read_window,
    suspicious_view,
    validate_devices,
)

DAY = 86400
NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


def window(checks=('clone',), **params):
    return read_window(dict(dict(from_date=None, since_days=None, to_date=None), **params), checks, NOW)


def test_without_a_period_clone_and_activity_read_everything():
    start, end = window(('clone', 'suspicious', 'activity'))
    assert (start, end) == (None, None)
    assert date_body(start, end) == {'FromDate': '2019-01-01T00:00:00+00:00'}


def test_since_days_and_dates():
    start, end = window(('notifications',), since_days=180, to_date='2026-06-01T00:00:00Z')
    assert start == NOW - 180 * DAY and date_body(start, end) == {'FromDate': '2025-12-17T12:00:00Z', 'ToDate': '2026-06-01T00:00:00Z'}
    assert date_body(start, end, date_only=True) == {'FromDate': '2025-12-17', 'ToDate': '2026-06-01'}
    # the limits count UTC dates: the day 60 days back is allowed all day long
    assert window(('usage',), from_date='2026-04-16')[0] is not None


@pytest.mark.parametrize('checks, params, words', [
    (('notifications',), dict(since_days=181), 'u-blox gives notifications (checks notifications) only from the last 180 days'),
    (('notifications',), dict(from_date='2025-12-16T23:59:59Z'), 'so from 2025-12-17 on'),
    (('usage',), dict(from_date='2026-04-15'), 'u-blox gives usage (checks usage) only from the last 60 days'),
    (('usage', 'clone'), dict(), 'checks usage needs from_date or since_days'),
    (('notifications',), dict(), 'checks notifications needs from_date or since_days'),
    (('clone',), dict(from_date='15/06/2026'), "from_date is '15/06/2026'; it must be an ISO 8601 date"),
    (('clone',), dict(to_date='soon', since_days=3), "to_date is 'soon'"),
    (('clone',), dict(from_date='2026-07-01'), 'from_date is in the future'),
    (('clone',), dict(since_days=0), 'since_days is 0; it must be 1 or more'),
    (('clone',), dict(from_date='2026-06-01', to_date='2026-05-01'), 'to_date (2026-05-01T00:00:00Z) is before the start of the period'),
])
def test_periods_u_blox_refuses(checks, params, words):
    with pytest.raises(ConfigError) as caught:
        window(checks, **params)
    assert words in caught.value.msg


def test_devices_are_normalised_and_tags_checked():
    params = dict(rot_public_uids=['0002000089280087', '0002000089280087'.upper(), 'ab'], tags=['line-1'])
    validate_devices(params, ('rot_public_uids', 'tags'))
    assert params['rot_public_uids'] == ['0002000089280087', 'ab']
    for bad, words in ((dict(tags=['a,b']), "tags: 'a,b' contains ','"), (dict(rot_public_uids=[]), 'rot_public_uids is empty'),
                       (dict(rot_public_uids=['xyz']), "'xyz' is not a ROTPublicUID")):
        with pytest.raises(ConfigError, match=words):
            validate_devices(bad, ('rot_public_uids', 'tags'))


def test_views_of_vendor_records():
    clone = clone_view({'ROTPublicUID': '0002ABC', 'ClonedDate': '2026-06-01T10:00:00+00:00', 'IMEI': '351358811234567'})
    assert clone['rot_public_uid'] == '0002abc' and clone['cloned_date'] == '2026-06-01T10:00:00Z' and clone['record']['IMEI']
    suspicious = suspicious_view({'ROTPublicUID': 2000089282245, 'Reason': 'DUPLICATED_SCL_SERIAL_NUM_PROD_LOG'})
    assert suspicious['rot_public_uid'] == '2000089282245' and suspicious['detected_date'] is None
    assert suspicious['reason'] == 'DUPLICATED_SCL_SERIAL_NUM_PROD_LOG'
    note = notification_view({'ROTPublicUID': '01', 'NotificationType': 'DEVICE_ERROR', 'NotificationDate': '2026-06-01T10:00:00Z'})
    assert note == {'rot_public_uid': '01', 'type': 'DEVICE_ERROR', 'date': '2026-06-01T10:00:00Z', 'payload': None}


def test_activity_views_and_devices_not_seen():
    body = {'PageNumber': 1, 'PageSize': 100, 'TotalRecords': 1, 'LastSeen': '2020-03-02T07:40:19Z',
            'Activities': [{'Activity': 'BOOTSTRAP', 'Date': '2020-03-01T07:40:19Z'}]}
    short = activity_view('01', body, details=False)
    assert short == {'rot_public_uid': '01', 'last_seen': '2020-03-02T07:40:19Z', 'activity_count': 1}
    assert activity_view('01', body, details=True)['activities'] == [{'activity': 'BOOTSTRAP', 'date': '2020-03-01T07:40:19Z', 'details': None}]
    fresh = activity_view('02', {'LastSeen': '2026-06-15T00:00:00Z'}, details=False)
    never = activity_view('03', {}, details=False)
    assert never['last_seen'] is None
    assert not_seen_for([short, fresh, never], 7, NOW) == ['01', '03']
