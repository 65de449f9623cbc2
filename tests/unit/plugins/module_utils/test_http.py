# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HttpClient retry, timeout, TLS and recovery rules, against faults injected in the running mock."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_nrfcloud_api_key import NrfCloudApiKeyAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, OutcomeUnknownError, TransportError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient, parse_retry_after
from ansible_collections.iotops.provisioning.plugins.module_utils import nrfcloud, ublox


def nrf_client(mock, creds, **kwargs):
    return HttpClient('nrfcloud', mock.url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY),
                      error_parser=nrfcloud.parse_error, **kwargs)


def ublox_http(mock, creds, **kwargs):
    auth = UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET)
    return HttpClient('ublox', mock.url + '/ublox/v1', auth=auth, error_parser=ublox.parse_error, **kwargs)


def endpoint_count(mock, key):
    return mock.admin.counters()['endpoints'].get(key, 0)


def tag_names(mock):
    return [t['TagName'] for t in mock.admin.state()['ublox']['tags']]


def test_retry_after_seconds_is_waited_then_succeeds(mock, creds):
    mock.admin.add_fault(vendor='nrfcloud', method='GET', path='^/v1/account$', kind='status', status=429, retry_after='2', count=1)
    slept = []  # the waits the client asked for, instead of the wall clock
    client = nrf_client(mock, creds, sleep=slept.append)
    resp = client.request('GET', '/account')
    assert resp.status == 200
    assert resp.body['team']['tenantId'] == creds.NRFCLOUD_TEAM_A_TENANT_ID
    assert slept == [2.0]
    assert endpoint_count(mock, 'nrfcloud GET /v1/account') == 2


def test_retry_after_http_date_and_cap():
    now = 1767225600.0  # 2026-01-01T00:00:00Z: a fixed instant, not the wall clock
    assert 9 <= parse_retry_after(email.utils.formatdate(now + 10, usegmt=True), now=now) <= 10
    assert parse_retry_after('not a date') is None
    assert parse_retry_after(None) is None
    assert parse_retry_after('-5') == 0.0


def test_retry_after_is_capped_by_retry_max_wait(mock, creds):
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', kind='status', status=503, retry_after='30', count=1)
    slept = []
    client = nrf_client(mock, creds, retry_max_wait=0.5, sleep=slept.append)
    assert client.request('GET', '/account').status == 200
    assert slept == [0.5]
    assert endpoint_count(mock, 'nrfcloud GET /v1/account') == 2


def test_burst_of_503_then_success_and_retries_exhausted(mock, creds):
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', kind='status', status=503, retry_after='0', count=3)
    client = nrf_client(mock, creds, retries=3)
    assert client.request('GET', '/account').status == 200
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', kind='status', status=502, retry_after='0', count=5)
    with pytest.raises(ApiError) as err:
        nrf_client(mock, creds, retries=2, retry_max_wait=0.05).request('GET', '/account')
    assert err.value.status == 502
    assert 'nrfcloud GET /nrfcloud/v1/account failed: HTTP 502' in str(err.value)


def test_write_timed_out_after_sending_is_not_resent_blindly(mock, creds):
    """The POST reaches the server, the answer comes too late: no second POST is sent."""
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='latency', seconds=1.5, count=1)
    client = ublox_http(mock, creds, timeout=0.5)
    with pytest.raises(OutcomeUnknownError) as err:
        client.request('POST', '/tag/create', json_body={'TagName': 'line-7'})
    assert 'was not re-sent' in str(err.value)
    # the mock finishes the slow request on its own; wait for that (a ceiling, not a timing assertion)
    deadline = time.monotonic() + 30
    while 'line-7' not in tag_names(mock) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 1
    assert tag_names(mock).count('line-7') == 1


def _tag_reader(client, name):
    def verify():
        body = client.request('POST', '/tag/get', json_body={'PageNumber': 1}, read_only=True).body
        found = [t for t in body['Tags'] if t['TagName'].lower() == name.lower()]
        return found[0] if found else None
    return verify


def test_write_with_unknown_outcome_is_reread_and_found(mock, creds):
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='drop_after', count=1)
    client = ublox_http(mock, creds)
    resp = client.request('POST', '/tag/create', json_body={'TagName': 'line-8'}, verify_write=_tag_reader(client, 'line-8'))
    assert resp.recovered and resp.body['TagName'] == 'line-8'
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 1
    assert endpoint_count(mock, 'ublox POST /v1/tag/get') == 1


def test_write_dropped_before_processing_is_reread_then_sent_again(mock, creds):
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='drop_before', count=1)
    client = ublox_http(mock, creds)
    resp = client.request('POST', '/tag/create', json_body={'TagName': 'line-9'}, verify_write=_tag_reader(client, 'line-9'))
    assert not resp.recovered and resp.status == 200
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 2
    assert tag_names(mock).count('line-9') == 1


def test_gateway_502_on_a_write_is_not_resent_without_reread(mock, creds):
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='status', status=502, count=1)
    client = ublox_http(mock, creds)
    with pytest.raises(OutcomeUnknownError):
        client.request('POST', '/tag/create', json_body={'TagName': 'line-10'})
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 1


def test_read_dropped_connection_is_retried(mock, creds):
    mock.admin.add_fault(vendor='nrfcloud', method='GET', path='^/v1/account$', kind='drop_before', count=2)
    client = nrf_client(mock, creds, retry_max_wait=0.1)
    assert client.request('GET', '/account').status == 200
    assert endpoint_count(mock, 'nrfcloud GET /v1/account') == 3


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    slept = []
    client = HttpClient('nrfcloud', 'http://127.0.0.1:%d/v1' % port, retries=2, retry_max_wait=0.05, sleep=slept.append)
    with pytest.raises(TransportError) as err:
        client.request('POST', '/devices', json_body={})  # a write: safe to retry, it never reached a server
    assert 'after 3 attempts' in str(err.value)
    assert 'cannot connect' in str(err.value)
    assert len(slept) == 2 and all(0 < wait <= 0.05 for wait in slept), slept  # backoff capped by retry_max_wait


def test_https_with_ca_path(mock, creds):
    client = HttpClient('nrfcloud', mock.https_url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY),
                        ca_path=mock.ca_cert)
    assert client.request('GET', '/account').status == 200


def test_https_without_the_ca_fails_clearly_and_validate_certs_false_warns(mock, creds):
    client = HttpClient('nrfcloud', mock.https_url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY))
    with pytest.raises(TransportError) as err:
        client.request('GET', '/account')
    assert 'TLS error' in str(err.value) and 'ca_path' in str(err.value)
    warnings = []
    insecure = HttpClient('nrfcloud', mock.https_url + '/nrfcloud/v1', auth=NrfCloudApiKeyAuth(creds.NRFCLOUD_TEAM_A_API_KEY),
                          validate_certs=False, warn=warnings.append)
    assert insecure.request('GET', '/account').status == 200
    assert len(warnings) == 1 and 'validate_certs=false' in warnings[0]


def test_vendor_error_carries_method_path_status_code_and_message(mock, creds):
    client = nrf_client(mock, creds)
    with pytest.raises(ApiError) as err:
        client.request('GET', '/devices/no-such-device')
    exc = err.value
    assert (exc.method, exc.path, exc.status) == ('GET', '/nrfcloud/v1/devices/no-such-device', 404)
    assert exc.code and str(exc.code).startswith('404')
    assert exc.vendor_message
    assert exc.details['error']['status'] == 404


def test_query_string_never_appears_in_errors(mock, creds):
    client = nrf_client(mock, creds)
    with pytest.raises(ApiError) as err:
        client.request('GET', '/devices', params={'pageLimit': 'x', 'secretish': 'hunter2-query-value'})
    assert 'hunter2-query-value' not in str(err.value)
    assert err.value.status == 400


def test_write_timed_out_is_reread_until_it_appears_and_never_resent(mock, creds):
    """The server is still working when the client gives up: the re-read waits for it instead of sending again."""
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='latency', seconds=1.5, count=1)
    client = ublox_http(mock, creds, timeout=1.0)
    resp = client.request('POST', '/tag/create', json_body={'TagName': 'line-11'}, verify_write=_tag_reader(client, 'line-11'))
    assert resp.recovered and resp.body['TagName'] == 'line-11'
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 1
    mock.admin.add_fault(vendor='ublox', method='POST', path='^/v1/tag/create$', kind='latency', seconds=4, count=1)
    with pytest.raises(OutcomeUnknownError) as err:
        client.request('POST', '/tag/create', json_body={'TagName': 'line-12'}, verify_write=_tag_reader(client, 'line-12'))
    assert 'not re-sent' in str(err.value)
    assert endpoint_count(mock, 'ublox POST /v1/tag/create') == 2
