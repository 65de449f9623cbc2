"""nRF Cloud device API writes: CSV onboarding with bulk-ops requests and error summaries, name, tags, delete."""

import csv
import io
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iotops_mock.client import MockServer

from .helpers import nrf_key
from .test_nrfcloud_commands import self_signed

DEVICES = '/nrfcloud/v1/devices'
CSV = {'Content-Type': 'text/csv'}


def csv_body(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerows(rows)
    return out.getvalue()


def row(device_id, sub_type='', tags='', fw_types='APP|MODEM', cert=None):
    return [device_id, sub_type, tags, fw_types, cert if cert is not None else self_signed(device_id)]


def onboard(http, mock, rows, content_type='text/csv', team='a'):
    response = http.post(mock.url + DEVICES, data=csv_body(rows), headers=dict(nrf_key(team), **{'Content-Type': content_type}))
    assert response.status_code == 202, response.text
    return response.json()['bulkOpsRequestId']


def bulk(http, mock, request_id, team='a'):
    response = http.get(mock.url + '/nrfcloud/v1/bulk-ops-requests/' + request_id, headers=nrf_key(team))
    assert response.status_code == 200, response.text
    return response.json()


def test_onboard_then_bulk_op_succeeds(mock, http):
    request_id = onboard(http, mock, [row('dev-1', 'line-a', 'x|y', 'APP|MODEM'), row('dev-2', '', '', '')])
    pending = bulk(http, mock, request_id)
    assert pending == {'bulkOpsRequestId': request_id, 'status': 'PENDING', 'endpoint': 'ONBOARD', 'requestedAt': pending['requestedAt']}
    # not onboarded before the request completes
    assert http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key()).status_code == 404
    mock.admin.advance_clock(0.25)
    done = bulk(http, mock, request_id)
    assert done['status'] == 'SUCCEEDED' and done['completedAt'].endswith('Z') and 'errorSummaryUrl' not in done
    response = http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key())
    device = response.json()
    assert response.headers['ETag'] == '1'
    assert device['name'] == 'dev-1' and device['subType'] == 'line-a' and device['tags'] == ['x', 'y']
    assert device['firmware'] == {'supports': ['APP', 'MODEM']} and device['$meta']['version'] == '1'
    listed = http.get(mock.url + DEVICES, headers=nrf_key()).json()
    assert [item['id'] for item in listed['items']] == ['dev-1', 'dev-2']
    assert listed['items'][1]['firmware']['supports'] == [] and '$meta' in listed['items'][1]
    state = mock.admin.state()['nrfcloud']['teams']['a']
    assert all(item['hasPublicKey'] for item in state['devices'])
    assert state['bulkOps'][0]['status'] == 'SUCCEEDED'
    assert http.get(mock.url + DEVICES, headers=nrf_key('b')).json()['total'] == 0


@pytest.mark.parametrize('content_type', ['text/plain', 'application/octet-stream'])
def test_onboard_content_types(mock, http, content_type):
    mock.admin.nrfcloud_simulator(bulk_delay=0)
    request_id = onboard(http, mock, [row('dev-1')], content_type=content_type)
    assert bulk(http, mock, request_id)['status'] == 'SUCCEEDED'


def test_onboard_refuses_json_and_bad_csv(mock, http):
    response = http.post(mock.url + DEVICES, json={'certificate': 'x'}, headers=nrf_key())
    assert response.status_code == 415 and response.json()['code'] == 41500
    response = http.post(mock.url + DEVICES, data='', headers=dict(nrf_key(), **CSV))
    assert response.status_code == 400
    response = http.post(mock.url + DEVICES, data='a,b,c,d,e\n' * 1001, headers=dict(nrf_key(), **CSV))
    assert response.status_code == 400 and '1000' in response.json()['message']
    assert mock.admin.state()['nrfcloud']['teams']['a']['bulkOps'] == []


def test_per_row_errors_and_summary(mock, http):
    mock.admin.nrfcloud_simulator(bulk_delay=0)
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'exists'}]})
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rows = [
        row('good-1'),
        row('bad id!'),
        row('dev-3', sub_type='no spaces allowed'),
        row('dev-4', tags='ok|bad tag'),
        row('dev-5', fw_types='APP|FIRMWARE'),
        row('dev-6', cert='not a pem'),
        row('dev-7', cert=self_signed('rsa', rsa_key)),
        row('exists'),
        row('good-1'),
        ['dev-10', 'only', 'four', 'columns'],
        row('good-2', sub_type='gateway,v2', tags='a:b|c@d'),
    ]
    request_id = onboard(http, mock, rows)
    done = bulk(http, mock, request_id)
    assert done['status'] == 'FAILED'
    url = done['errorSummaryUrl']
    assert url.startswith(mock.url + '/nrfcloud/bulk-ops-errors/' + request_id + '?signature=')
    with requests.Session() as plain:   # a pre-signed URL: no Authorization header
        plain.trust_env = False
        summary = plain.get(url)
        assert summary.status_code == 200
        errors = summary.json()['errors']
        assert plain.get(url.split('?')[0]).status_code == 403
        assert plain.get(url.split('?')[0] + '?signature=00').status_code == 403
    indices = [int(text[1:text.index(']')]) for text in errors]
    assert indices == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    text = '\n'.join(errors)
    for fragment in ('/^[a-z0-9:_-]{1,128}$/i', 'subType', "tag 'bad tag'", "fwType 'FIRMWARE'", 'X.509 PEM',
                     'EC P-256', 'Device exists is already onboarded', 'Device good-1 appears more than once', 'expected 5 columns'):
        assert fragment in text, fragment
    ids = {item['id'] for item in http.get(mock.url + DEVICES, headers=nrf_key()).json()['items']}
    assert ids == {'exists', 'good-1', 'good-2'}


def test_bulk_op_is_per_team(mock, http):
    request_id = onboard(http, mock, [row('dev-1')])
    assert http.get(mock.url + '/nrfcloud/v1/bulk-ops-requests/' + request_id, headers=nrf_key('b')).status_code == 404


def test_update_name(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'dev-1'}]})
    url = mock.url + DEVICES + '/dev-1/name'
    assert http.put(url, json=['Line 1'], headers=nrf_key()).status_code == 202      # nrfcloud-utils' form
    assert http.put(url, json='Line 2', headers=dict(nrf_key(), **{'If-Match': '2'})).status_code == 202
    assert http.put(url, data='Line 3', headers=dict(nrf_key(), **{'If-Match': '"3"', 'Content-Type': 'text/plain'})).status_code == 202
    stale = http.put(url, json='Line 4', headers=dict(nrf_key(), **{'If-Match': '3'}))
    assert stale.status_code == 412 and stale.json()['code'] == 41200
    assert stale.json()['message'].startswith('PreconditionFailedError')
    response = http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key())
    assert response.json()['name'] == 'Line 3' and response.headers['ETag'] == '4'
    assert response.json()['$meta']['version'] == '4'
    for bad in ([], ['a', 'b'], 5, ''):
        assert http.put(url, json=bad, headers=nrf_key()).status_code == 400, bad
    assert http.put(mock.url + DEVICES + '/nope/name', json='x', headers=nrf_key()).status_code == 404


def test_update_tags(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'dev-1', 'tags': ['old']}]})
    url = mock.url + DEVICES + '/dev-1/tags'
    assert http.put(url, json=['a', 'b:c'], headers=dict(nrf_key(), **{'If-Match': '1'})).status_code == 202
    device = http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key()).json()
    assert device['tags'] == ['a', 'b:c'] and device['$meta']['version'] == '2'
    assert http.put(url, json=['x'], headers=dict(nrf_key(), **{'If-Match': '1'})).status_code == 412
    for bad in ('a', ['bad tag'], [1]):
        response = http.put(url, json=bad, headers=nrf_key())
        assert response.status_code == 400, bad
    assert http.put(url, json=[], headers=nrf_key()).status_code == 202
    assert http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key()).json()['tags'] == []


def test_delete_device(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'dev-1'}, {'id': 'dev-2'}]})
    assert http.delete(mock.url + DEVICES + '/dev-1', headers=dict(nrf_key(), **{'If-Match': '7'})).status_code == 412
    assert http.delete(mock.url + DEVICES + '/dev-1', headers=nrf_key()).status_code == 202
    assert http.get(mock.url + DEVICES + '/dev-1', headers=nrf_key()).status_code == 404
    assert http.delete(mock.url + DEVICES + '/dev-1', headers=nrf_key()).status_code == 404
    assert http.delete(mock.url + DEVICES + '/dev-2', headers=nrf_key('b')).status_code == 404


def test_onboarded_certificate_key_signs_jwts(mock, http):
    """The certificate's public key becomes the device's JWT key (seed 000)."""
    mock.admin.nrfcloud_simulator(bulk_delay=0)
    key = ec.generate_private_key(ec.SECP256R1())
    onboard(http, mock, [row('jwt-dev', cert=self_signed('jwt-dev', key))])
    http.get(mock.url + DEVICES, headers=nrf_key())  # completes the bulk-ops request
    now = int(time.time())
    token = jwt.encode({'sub': 'jwt-dev', 'iat': now, 'exp': now + 600}, key, algorithm='ES256')
    response = http.get(mock.url + '/nrfcloud/v1/fota-job-executions/current', headers={'Authorization': 'Bearer ' + token})
    assert response.status_code == 404 and response.json()['code'] == 40410


def test_cli_connect_delay(tmp_path):
    with MockServer(tmp_path, https=False, extra_args=['--nrf-connect-delay', '0']) as server:
        assert server.admin.nrfcloud_simulator()['connect_delay'] == 0
        server.admin.nrfcloud_simulator(connect_delay=3)
        server.admin.reset()
        assert server.admin.nrfcloud_simulator()['connect_delay'] == 0
