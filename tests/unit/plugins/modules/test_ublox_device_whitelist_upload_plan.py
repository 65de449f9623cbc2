# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_whitelist's choice of form (JSON body or CSV upload) and its write requests, with data alone (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_whitelist import (
    CSV_MAX_ROWS, CSV_THRESHOLD, check_options, request_entries, rot_form, upload_summary, write_requests)

IMEI = '862618583984360'
IMEI_2 = '490154203237518'


def rots(count, start=0):
    return set('%016x' % (0xa0000000 + n) for n in range(start, start + count))


def entries(rot_public_uids=(), imeis=()):
    return {'ROTPublicUID': set(rot_public_uids), 'IMEI': set(imeis)}


def test_auto_uses_csv_from_the_threshold_on():
    assert CSV_THRESHOLD == 100 and CSV_MAX_ROWS == 10000
    assert rot_form('auto', CSV_THRESHOLD - 1) == 'json'
    assert rot_form('auto', CSV_THRESHOLD) == 'csv'
    assert rot_form('json', 50000) == 'json' and rot_form('csv', 1) == 'csv'


def test_a_short_list_goes_as_json_as_before():
    requests = write_requests('auto', entries(rots(3), [IMEI]), entries(rots(2, start=10)))
    assert [request['form'] for request in requests] == ['json', 'json']
    assert requests[0]['add'] == entries(rots(3), [IMEI]) and requests[0]['remove'] == entries()
    assert requests[1]['remove'] == entries(rots(2, start=10)) and requests[1]['add'] == entries()
    assert upload_summary(requests) == dict(form='json', requests=2)


def test_a_factory_batch_goes_in_one_csv_upload_and_imeis_by_json():
    batch = rots(5000)
    requests = write_requests('auto', entries(batch, [IMEI]), entries())
    assert [request['form'] for request in requests] == ['csv', 'json']
    assert requests[0]['add'] == entries(batch) and requests[0]['remove'] == entries()
    assert requests[1]['add'] == entries(imeis=[IMEI])  # the CSV file carries only the Type ROTPublicUID
    assert upload_summary(requests) == dict(form='csv', requests=2)


def test_additions_and_removals_share_one_upload():
    add, remove = rots(80), rots(40, start=1000)  # 120 changes together: over the threshold although each is under it
    requests = write_requests('auto', entries(add), entries(remove, [IMEI_2]))
    assert [request['form'] for request in requests] == ['csv', 'json']
    assert requests[0]['add'] == entries(add) and requests[0]['remove'] == entries(remove)
    assert requests[1]['remove'] == entries(imeis=[IMEI_2])


def test_more_rows_than_one_upload_takes_are_split_in_order():
    add, remove = rots(25000), rots(10, start=90000)
    requests = write_requests('csv', entries(add), entries(remove))
    assert [request['form'] for request in requests] == ['csv', 'csv', 'csv']
    assert [len(request_entries(request)) for request in requests] == [10000, 10000, 5010]
    assert set().union(*(request['add']['ROTPublicUID'] for request in requests)) == add
    assert requests[2]['remove'] == entries(remove)  # removals come after the additions
    assert upload_summary(requests) == dict(form='csv', requests=3)


def test_upload_csv_sends_even_one_rotpublicuid_as_csv_and_json_never():
    assert [r['form'] for r in write_requests('csv', entries(rots(1)), entries())] == ['csv']
    assert [r['form'] for r in write_requests('json', entries(rots(500)), entries(rots(500, start=600)))] == ['json', 'json']


def test_nothing_to_change_sends_nothing():
    assert write_requests('csv', entries(), entries()) == []
    assert upload_summary([]) == dict(form='none', requests=0)
    only_imeis = write_requests('csv', entries(imeis=[IMEI]), entries())
    assert upload_summary(only_imeis) == dict(form='none', requests=1)


def test_request_entries_name_what_fails_together():
    request = write_requests('csv', entries(['00aa']), entries(['00bb']))[0]
    assert request_entries(request) == {('ROTPublicUID', '00aa'), ('ROTPublicUID', '00bb')}


def test_upload_csv_needs_rotpublicuids():
    with pytest.raises(ConfigError, match='upload=csv needs rot_public_uids: the only Type of the u-blox CSV file is ROTPublicUID'):
        check_options(dict(rot_public_uids=None, imeis=[IMEI], state='present', exclusive=False, upload='csv'))
    check_options(dict(rot_public_uids=['00aa'], imeis=[IMEI], state='present', exclusive=False, upload='csv'))
    check_options(dict(rot_public_uids=None, imeis=[IMEI], state='present', exclusive=False, upload='auto'))
