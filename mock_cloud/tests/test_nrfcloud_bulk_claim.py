"""nRF Cloud Provisioning Service: the claim dry run as a read, and bulk claims followed through bulk-ops requests."""

import pytest
import requests

from iotops_mock.client import MockServerError

from .helpers import nrf_key

PROV = '/nrfcloud-provisioning/v1'
CLAIMED = PROV + '/claimed-devices'
BULK_OPS = '/nrfcloud/v1/bulk-ops-requests/'
DRY_RUN_KEY = 'nrfcloud-provisioning POST /v1/claimed-devices?dryrun=true'
CLAIM_KEY = 'nrfcloud-provisioning POST /v1/claimed-devices'


def factory(mock, count=1):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def claimed_ids(mock, team='a'):
    return sorted(d['id'] for d in mock.admin.state()['nrfcloud']['teams'][team]['claimedDevices'])


def csv_rows(devices, tags=None):
    return ''.join('"%s"%s\n' % (d['claim_token'], ',"%s"' % tags if tags else '') for d in devices)


def test_dry_run_is_a_read_counted_apart(mock, http):
    device = factory(mock)[0]
    mock.admin.reset_counters()
    for query in ('?dryrun=true', '?dryrun=TRUE'):
        response = http.post(mock.url + CLAIMED + query, json={'claimToken': device['claim_token']}, headers=nrf_key())
        assert response.status_code == 202
    refused = http.post(mock.url + CLAIMED + '?dryrun=true', json={'claimToken': 'junk'}, headers=nrf_key())
    assert refused.status_code == 400
    counters = mock.admin.counters()
    assert counters['by_category'] == {'auth': 0, 'read': 3, 'write': 0}
    assert counters['endpoints'] == {DRY_RUN_KEY: 3}
    # dryrun=false is a claim, counted as one
    assert http.post(mock.url + CLAIMED + '?dryrun=false', json={'claimToken': device['claim_token']}, headers=nrf_key()).status_code == 201
    counters = mock.admin.counters()
    assert counters['endpoints'][CLAIM_KEY] == 1 and counters['by_category']['write'] == 1


def test_a_csv_dry_run_is_refused_and_claims_nothing(mock, http):
    devices = factory(mock, 2)
    response = http.post(mock.url + CLAIMED + '?dryrun=true', data=csv_rows(devices), headers=dict(nrf_key(), **{'Content-Type': 'text/csv'}))
    assert response.status_code == 400 and 'dry run' in response.json()['message']
    assert claimed_ids(mock) == []


def follow(http, mock, request_id, team='a'):
    mock.admin.advance_clock(1)
    operation = http.get(mock.url + BULK_OPS + request_id, headers=nrf_key(team)).json()
    assert operation['status'] in ('SUCCEEDED', 'FAILED') and operation['endpoint'] == 'CLAIM'
    errors = []
    if operation['status'] == 'FAILED':
        errors = requests.get(operation['errorSummaryUrl'], verify=False, timeout=10).json()['errors']  # pre-signed: no key
    return operation, errors


def test_bulk_claim_by_bulk_ops_request(mock, http):
    """The older BulkClaimDeviceOwnership: 202 {bulkOpsRequestId}; rows are claimed when the request completes."""
    devices = factory(mock, 3)
    http.post(mock.url + CLAIMED, json={'claimToken': devices[2]['claim_token']}, headers=nrf_key('b'))
    body = csv_rows(devices[:2], tags='nrf-cloud-onboarding,line-1') + csv_rows(devices[2:]) + '"junk"\n'
    response = http.post(mock.url + CLAIMED + '/bulk', data=body, headers=dict(nrf_key(), **{'Content-Type': 'text/csv'}))
    assert response.status_code == 202 and set(response.json()) == {'bulkOpsRequestId'}
    assert claimed_ids(mock) == []   # PENDING until bulk_delay has passed on the mock clock
    operation, errors = follow(http, mock, response.json()['bulkOpsRequestId'])
    assert operation['status'] == 'FAILED'
    assert errors == ['[2]: Device %s is claimed by another team' % devices[2]['device_id'],
                      '[3]: claimToken is not an attestation token: expected <base64url CBOR>.<base64url COSE>']
    assert claimed_ids(mock) == sorted(d['device_id'] for d in devices[:2])
    record = http.get(mock.url + CLAIMED + '/' + devices[0]['device_id'], headers=nrf_key()).json()
    assert record['tags'] == ['nrf-cloud-onboarding', 'line-1']


def test_current_form_answers_with_a_bulk_ops_request_when_set(mock, http):
    devices = factory(mock, 2)
    assert mock.admin.call('POST', '/nrfcloud/bulk-claim', {'answer': 'bulk-ops'}) == {'answer': 'bulk-ops'}
    response = http.post(mock.url + CLAIMED, data=csv_rows(devices), headers=dict(nrf_key(), **{'Content-Type': 'text/csv'}))
    assert response.status_code == 202
    # a read of the claimed devices after the request completed sees them, without polling the bulk-ops request first
    mock.admin.advance_clock(1)
    listed = http.get(mock.url + CLAIMED, headers=nrf_key()).json()['items']
    assert sorted(d['id'] for d in listed) == sorted(d['device_id'] for d in devices)
    operation, errors = follow(http, mock, response.json()['bulkOpsRequestId'])
    assert operation['status'] == 'SUCCEEDED' and errors == []
    assert mock.admin.call('GET', '/nrfcloud/bulk-claim') == {'answer': 'bulk-ops'}
    mock.admin.reset()
    assert mock.admin.call('GET', '/nrfcloud/bulk-claim') == {'answer': 'claimed-ids'}


def test_bulk_claim_setting_is_checked(mock):
    for value in ('sync', 3, None):
        with pytest.raises(MockServerError, match='answer must be one of claimed-ids, bulk-ops'):
            mock.admin.call('POST', '/nrfcloud/bulk-claim', {'answer': value})
