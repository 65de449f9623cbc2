# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch runner: one result per item, in order, failures isolated, concurrency bounded."""

from __future__ import annotations

import threading
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import run_batch, summarize
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, Redactor
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient
from ansible_collections.iotops.provisioning.plugins.module_utils import ublox


def test_every_item_gets_a_result_in_input_order_and_failures_do_not_stop_the_rest():
    def worker(item):
        if item % 7 == 0:
            raise ConfigError('item %d is bad' % item)
        if item % 11 == 0:
            raise KeyError('bug')
        return {'changed': item % 2 == 0}

    items = list(range(1, 101))
    results = run_batch(items, worker, concurrency=8)
    assert [r['item'] for r in results] == items
    assert all(r['failed'] for r in results if r['item'] % 7 == 0 or r['item'] % 11 == 0)
    assert results[6]['msg'] == 'item 7 is bad'
    assert results[10]['msg'].startswith('unexpected error: KeyError')
    counts = summarize(results)
    failed = len([i for i in items if i % 7 == 0 or i % 11 == 0])
    assert counts['failed'] == failed and counts['total'] == 100
    assert counts['changed'] + counts['ok'] + counts['failed'] == 100


def test_concurrency_is_bounded():
    active, peak, lock = [0], [0], threading.Lock()

    def worker(_item):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return {}

    run_batch(range(60), worker, concurrency=5)
    assert peak[0] == 5


def test_failure_messages_are_redacted():
    redactor = Redactor()
    redactor.add('s3cr3t-value')

    def worker(_item):
        raise ValueError('has s3cr3t-value')

    results = run_batch(['a'], worker, redact=redactor)
    assert 's3cr3t-value' not in results[0]['msg'] and results[0]['failed']


def test_batch_over_one_session_against_the_mock(mock, creds):
    """50 tag creations from 8 threads over one client: one login, one write each, no item lost."""
    client = HttpClient('ublox', mock.url + '/ublox/v1', auth=UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET),
                        error_parser=ublox.parse_error)
    mock.admin.add_fault(vendor='ublox', path='^/v1/tag/create$', kind='status', status=429, retry_after='0', count=5)
    names = ['batch-tag-%02d' % i for i in range(50)]
    results = run_batch(names, lambda name: {'changed': client.request('POST', '/tag/create', json_body={'TagName': name}).status == 200},
                        concurrency=8)
    assert all(r['changed'] and not r['failed'] for r in results)
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/authenticate'] == 1
    assert endpoints['ublox POST /v1/tag/create'] == 55
    stored = {t['TagName'] for t in mock.admin.state()['ublox']['tags']}
    assert set(names) <= stored
