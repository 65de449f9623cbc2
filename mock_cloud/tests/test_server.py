"""Server-level behaviour: counters, HTTPS with the private CA, state dump/reset, clock, CLI lifecycle."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from iotops_mock import credentials
from iotops_mock.client import MockServer, MockServerError

from .helpers import nrf_key, ublox_login


def test_counters_categories_endpoints_statuses(mock, http):
    token = ublox_login(http, mock)['AuthToken']
    http.post(mock.url + '/ublox/v1/tag/create', json={'TagName': 't'}, headers={'Authorization': token})
    http.post(mock.url + '/ublox/v1/tag/get', json={}, headers={'Authorization': token})
    http.get(mock.url + '/nrfcloud/v1/devices/abc', headers=nrf_key())
    http.get(mock.url + '/nrfcloud/v1/devices/def', headers=nrf_key())
    http.post(mock.url + '/naocloud/api/v2/sessions', headers={'Authorization': credentials.NAOCLOUD_API_KEY})
    http.options(mock.url + '/iotcomms/provisioning/device/d')
    http.delete(mock.url + '/nrfcloud/v1/account', headers=nrf_key())  # 405, still a vendor route
    http.get(mock.url + '/nrfcloud/v1/not-a-route')                   # no route: not counted
    mock.admin.state()                                                 # admin: not counted
    counters = mock.admin.counters()
    assert counters['total'] == 8
    assert counters['by_category'] == {'auth': 2, 'read': 4, 'write': 2}
    assert counters['by_vendor']['ublox'] == {'auth': 1, 'read': 1, 'write': 1, 'total': 3}
    assert counters['by_vendor']['nrfcloud-provisioning']['total'] == 0
    assert counters['endpoints']['nrfcloud GET /v1/devices/{device_id}'] == 2
    assert counters['endpoints']['ublox POST /v1/tag/get'] == 1
    assert counters['endpoints']['iotcomms OPTIONS /provisioning/device/{domain}'] == 1
    assert counters['statuses']['nrfcloud GET /v1/devices/{device_id}'] == {'404': 2}
    assert counters['statuses']['nrfcloud DELETE /v1/account'] == {'405': 1}
    assert counters['statuses']['naocloud POST /api/v2/sessions'] == {'201': 1}
    mock.admin.reset_counters()
    assert mock.admin.counters()['total'] == 0


def test_https_with_generated_ca(mock, http):
    assert mock.https_url.startswith('https://127.0.0.1:')
    assert os.path.isabs(mock.ca_cert)
    response = http.get(mock.https_url + '/nrfcloud/v1/account', headers=nrf_key(), verify=mock.ca_cert)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        http.get(mock.https_url + '/nrfcloud/v1/account', headers=nrf_key())
    localhost = mock.https_url.replace('127.0.0.1', 'localhost')
    assert http.get(localhost + '/nrfcloud/v1/account', headers=nrf_key(), verify=mock.ca_cert).status_code == 200


def test_http_and_https_share_state(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'devices': [{'id': 'shared'}]})
    response = http.get(mock.https_url + '/nrfcloud/v1/devices/shared', headers=nrf_key(), verify=mock.ca_cert)
    assert response.status_code == 200


def test_state_dump_and_reset(mock, http):
    mock.admin.seed('nrfcloud', 'devices', {'team': 'b', 'count': 2})
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': 'x'}]})
    mock.admin.add_fault(status=500, vendor='ublox')
    mock.admin.advance_clock(100)
    state = mock.admin.state()
    assert set(state) == {'clock', 'nrfcloud', 'ublox', 'iotcomms', 'naocloud'}
    assert len(state['nrfcloud']['teams']['b']['devices']) == 2
    assert state['clock']['offset'] == 100
    mock.admin.reset()
    state = mock.admin.state()
    assert state['nrfcloud']['teams']['b']['devices'] == []
    assert state['iotcomms']['domains'][credentials.IOTCOMMS_DOMAIN]['devices'] == []
    assert len(state['naocloud']['sites']) == len(credentials.NAOCLOUD_SITES)
    assert state['clock']['offset'] == 0
    assert mock.admin.faults() == []


def test_admin_validation(mock):
    for vendor, kind, payload in (('nobody', 'devices', {}), ('nrfcloud', 'nothing', {}),
                                  ('nrfcloud', 'devices', {'team': 'z', 'count': 1}),
                                  ('nrfcloud', 'devices', {'devices': [{'id': 'k', 'public_key': 'nope'}]})):
        with pytest.raises(MockServerError):
            mock.admin.seed(vendor, kind, payload)
    with pytest.raises(MockServerError):
        mock.admin.advance_clock(-5)


def test_cli_lifecycle(tmp_path):
    server = MockServer(tmp_path, https=False)
    with server:
        assert server.info['https_url'] is None and server.info['ca_cert'] is None
        assert requests.get(server.url + '/_mock/health', timeout=5).json() == {'ok': True}
        pid = server.process.pid
        os.kill(pid, signal.SIGTERM)
        assert server.process.wait(10) == 0
    assert not os.path.exists(server.endpoints_file)


def test_console_script_serves_from_the_environment_variable(tmp_path):
    """``iotops-mock serve`` finds its endpoints file through IOTOPS_MOCK_ENDPOINTS and lists the admin URL in it."""
    endpoints_file = tmp_path / 'endpoints.json'
    env = dict(os.environ, IOTOPS_MOCK_ENDPOINTS=str(endpoints_file))
    command = [os.path.join(os.path.dirname(sys.executable), 'iotops-mock'), 'serve', '--https-port', '-1', '--quiet']
    with subprocess.Popen(command, env=env, cwd=str(tmp_path)) as process:
        try:
            deadline = time.monotonic() + 15
            while not endpoints_file.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            info = json.loads(endpoints_file.read_text())
            assert info['pid'] == process.pid
            assert info['admin_url'] == info['http_url'] + '/_mock'
            assert requests.get(info['admin_url'] + '/health', timeout=5).status_code == 200
        finally:
            process.terminate()
            process.wait(10)
    assert not endpoints_file.exists()


def test_credentials_from_the_cli_and_the_admin_api(mock):
    printed = subprocess.run([sys.executable, '-m', 'iotops_mock', 'credentials'], check=True, capture_output=True, text=True).stdout
    served = mock.admin.credentials()
    assert json.loads(printed) == served
    assert served['UBLOX_API_KEY'] == credentials.UBLOX_API_KEY
    assert served['NRFCLOUD_TEAMS'][0]['api_key'] == credentials.NRFCLOUD_TEAM_A_API_KEY
    assert os.path.isfile(served['IOTCOMMS_PRIVATE_KEY_PATH'])
