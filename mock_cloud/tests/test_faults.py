"""Fault injection: status + Retry-After, skip/count, latency, dropped connections before and after processing."""

import time

import pytest
import requests

from iotops_mock.client import MockServerError

from .helpers import nrf_key, ublox_login

ACCOUNT = '/nrfcloud/v1/account'


def _tag_names(mock):
    return [tag['TagName'] for tag in mock.admin.state()['ublox']['tags']]


@pytest.fixture
def ublox_auth(mock, http):
    return {'Authorization': ublox_login(http, mock)['AuthToken']}


def test_status_fault_with_retry_after(mock, http):
    mock.admin.add_fault(vendor='nrfcloud', method='GET', path='^/v1/account$', kind='status', status=429, retry_after='2')
    response = http.get(mock.url + ACCOUNT, headers=nrf_key())
    assert response.status_code == 429
    assert response.headers['Retry-After'] == '2'
    assert response.json() == {'code': 42900, 'message': 'Too Many Requests'}
    assert http.get(mock.url + ACCOUNT, headers=nrf_key()).status_code == 200


def test_status_fault_uses_vendor_error_shape(mock, http, ublox_auth):
    date = 'Wed, 21 Oct 2026 07:28:00 GMT'
    mock.admin.add_fault(vendor='ublox', kind='status', status=503, retry_after=date)
    response = http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'x'}, headers=ublox_auth)
    assert response.status_code == 503 and response.headers['Retry-After'] == date
    assert response.json() == {'message': 'Service Unavailable'}
    assert _tag_names(mock) == []  # not processed
    mock.admin.add_fault(vendor='naocloud', status=502)
    response = http.get(mock.url + '/naocloud/api/v2/sites')
    assert response.json()['errors'][0]['status'] == '502'
    mock.admin.add_fault(vendor='iotcomms', status=500)
    response = http.get(mock.url + '/iotcomms/provisioning/device/x')
    assert response.status_code == 500 and response.json()['success'] is False


def test_skip_count_and_listing(mock, http):
    rule_id = mock.admin.add_fault(vendor='nrfcloud', path='/v1/account', status=500, skip=1, count=2)
    statuses = [http.get(mock.url + ACCOUNT, headers=nrf_key()).status_code for dummy in range(5)]
    assert statuses == [200, 500, 500, 200, 200]
    (rule,) = mock.admin.faults()
    assert rule['id'] == rule_id and rule['fired'] == 2 and rule['remaining'] == 0 and rule['skipped'] == 1
    assert mock.admin.counters()['faults_fired'] == 2
    mock.admin.clear_faults()
    assert mock.admin.faults() == []


def test_unlimited_count_and_filters(mock, http):
    mock.admin.add_fault(vendor='nrfcloud', method='POST', status=500, count=None)
    mock.admin.add_fault(vendor='naocloud', status=500, count=None)
    for dummy in range(3):
        assert http.get(mock.url + ACCOUNT, headers=nrf_key()).status_code == 200  # method does not match
    for dummy in range(3):
        assert http.get(mock.url + '/naocloud/api/v2/sites').status_code == 500


def test_admin_is_never_faulted(mock):
    mock.admin.add_fault(status=500, count=None)
    assert mock.admin.health() == {'ok': True}


def test_bad_fault_rules(mock):
    for rule in ({'kind': 'explode'}, {'vendor': 'nobody'}, {'path': '('}, {'status': 99}, {'count': 0}, {'colour': 'red'}):
        with pytest.raises(MockServerError):
            mock.admin.add_fault(**rule)


def test_latency_then_processed(mock, http, ublox_auth):
    mock.admin.add_fault(vendor='ublox', path='/tag/create$', kind='latency', seconds=0.6)
    response = http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'slow'}, headers=ublox_auth)
    assert response.status_code == 200
    # the mock's own record of the delay it served before processing the request (no wall-clock timing)
    [rule] = mock.admin.faults()
    assert (rule['fired'], rule['delayed']) == (1, 0.6)
    assert _tag_names(mock) == ['slow']


def test_latency_with_jitter_is_drawn_per_request_the_same_for_the_same_seed(mock, http, ublox_auth):
    served = []
    for dummy in range(2):
        mock.admin.clear_faults()
        mock.admin.add_fault(vendor='ublox', path='/tag/create$', kind='latency', seconds=0.05, jitter=0.04, seed=11, count=None)
        for number in range(5):
            assert http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'j%d-%d' % (dummy, number)}, headers=ublox_auth).status_code == 200
        [rule] = mock.admin.faults()
        assert rule['fired'] == 5 and (rule['jitter'], rule['seed']) == (0.04, 11)
        served.append(rule['delayed'])
    # five draws from 0.01 to 0.09 s: not five times 0.05, and the same sum again with the same seed
    assert 0.05 <= served[0] <= 0.45 and abs(served[0] - 0.25) > 1e-9
    assert served[0] == served[1]
    for bad in ({'jitter': 0.06}, {'jitter': -1}, {'seed': 'x'}):
        with pytest.raises(MockServerError):
            mock.admin.add_fault(vendor='ublox', kind='latency', seconds=0.05, **bad)


def test_latency_state_changes_even_when_client_gave_up(mock, http, ublox_auth):
    mock.admin.add_fault(vendor='ublox', path='/tag/create$', kind='latency', seconds=0.8)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'late'}, headers=ublox_auth, timeout=0.2)
    # the mock processes the request once its delay is served: wait for that, however slow the machine
    deadline = time.monotonic() + 30
    while _tag_names(mock) != ['late'] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tag_names(mock) == ['late']
    assert mock.admin.faults()[0]['delayed'] == 0.8


def test_drop_before_leaves_state_unchanged(mock, http, ublox_auth):
    mock.admin.add_fault(vendor='ublox', path='/tag/create$', kind='drop_before')
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'lost'}, headers=ublox_auth)
    assert _tag_names(mock) == []
    statuses = mock.admin.counters()['statuses']['ublox POST /v1/tag/create']
    assert statuses == {'dropped': 1}
    # The next request (new connection) is served normally.
    assert http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'lost'}, headers=ublox_auth).status_code == 200


def test_drop_after_changes_state(mock, http, ublox_auth):
    mock.admin.add_fault(vendor='ublox', path='/tag/create$', kind='drop_after')
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'done'}, headers=ublox_auth)
    assert _tag_names(mock) == ['done']
    retry = http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 'done'}, headers=ublox_auth)
    assert retry.status_code == 400  # the blind re-send the design warns about


def test_drop_over_https(mock, http):
    mock.admin.add_fault(vendor='nrfcloud', kind='drop_before')
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(mock.https_url + ACCOUNT, headers=nrf_key(), verify=mock.ca_cert)
    assert http.get(mock.https_url + ACCOUNT, headers=nrf_key(), verify=mock.ca_cert).status_code == 200
