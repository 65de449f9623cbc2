# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nordic's own client (nrfcloud-utils from PyPI) against the mock, unchanged but for its base URL.

This is the mock's conformance test: the claim -> CSR -> sign -> client certificate -> finished ->
onboard -> rename -> unclaim flow of ``claim_and_provision_device``, made of the library's own
functions, must work against the mock exactly as it does against nRF Cloud. Only the module
globals ``api_url`` are pointed at the mock; the mock's clock is moved instead of sleeping.
"""

from __future__ import annotations

import glob
import os

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from nrfcloud_utils import (ca_certs, claim_devices, cli_helpers, create_ca_cert, create_device_credentials,
                            modem_credentials_parser, nrf_cloud_diap, nrf_cloud_onboard)

SEC_TAG = 16842753
WAITING = ('PENDING', 'IN_PROGRESS')


@pytest.fixture
def utils(mock, monkeypatch):
    """Point nrfcloud-utils at the mock (its module globals) and keep proxies away from loopback."""
    monkeypatch.setattr(nrf_cloud_diap, 'api_url', mock.url + '/nrfcloud-provisioning/v1/')
    monkeypatch.setattr(nrf_cloud_onboard, 'api_url', mock.url + '/nrfcloud/v1/')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.delenv('no_proxy', raising=False)
    return mock


def factory_device(mock, count=1):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def wait_for(mock, api_key, device_id, command_id):
    """utils' wait_for_cmd_status without its 5 s sleeps: poll, moving the mock clock instead."""
    for _attempt in range(50):
        result = nrf_cloud_diap.get_provisioning_cmd(api_key, device_id, command_id)
        assert result.status_code == 200, result.text
        body = result.json()
        if body['status'] not in WAITING:
            return body
        mock.admin.advance_clock(0.5)
    raise AssertionError('command %s did not finish' % command_id)


def make_ca(tmp_path):
    """A CA made by utils' create_ca_cert, loaded with create_device_credentials."""
    create_ca_cert.main(['-o', 'Mock Factory', '--cn', 'mock-factory-ca', '-p', str(tmp_path), '-f', 'mock_', '--log-level', 'error'])
    ca_path = glob.glob(os.path.join(str(tmp_path), 'mock_*_ca.pem'))[0]
    key_path = ca_path[:-len('_ca.pem')] + '_prv.pem'
    return create_device_credentials.load_ca(ca_path), create_device_credentials.load_ca_key(key_path)


def team_a(mock):
    return mock.admin.state()['nrfcloud']['teams']['a']


def test_claim_provision_onboard_unclaim(utils, creds, tmp_path):
    mock, api_key = utils, creds.NRFCLOUD_TEAM_A_API_KEY
    device = factory_device(mock)[0]
    token = device['claim_token']
    device_id = modem_credentials_parser.get_device_uuid(token)
    assert device_id == device['device_id']

    assert nrf_cloud_diap.can_device_be_claimed(api_key, token) == (True, None)
    assert team_a(mock)['claimedDevices'] == []
    assert nrf_cloud_diap.claim_device(api_key, token, 'line-1').status_code == 201
    assert nrf_cloud_diap.can_device_be_claimed(api_key, token) == (False, 'Device %s is already claimed' % device_id)

    # utils' own flow: CN is the device id, prepended to the user's attributes
    attributes = 'CN=%s,O=Mock Factory,C=no' % device_id
    result = nrf_cloud_diap.create_provisioning_cmd_csr(api_key, device_id, attributes=attributes, sec_tag=SEC_TAG)
    assert result.status_code == 201, result.text
    command = wait_for(mock, api_key, device_id, result.json()['id'])
    assert command['status'] == 'SUCCEEDED'
    keygen = command['response']['certificateSigningRequest']['csr']

    csr_pem, public_key_pem, uuid_text, sec_tag_text = modem_credentials_parser.parse_keygen_output(keygen)
    assert (uuid_text, sec_tag_text) == (device_id, str(SEC_TAG))
    csr = x509.load_pem_x509_csr(csr_pem)
    assert csr.is_signature_valid
    assert create_device_credentials.csr_get_cn(csr) == device_id
    held = team_a(mock)['claimedDevices'][0]['keys'][str(SEC_TAG)]
    assert held.encode() == public_key_pem

    ca_cert, ca_key = make_ca(tmp_path)
    device_cert = create_device_credentials.create_device_cert(30, csr, ca_cert, ca_key)
    cert_pem = device_cert.public_bytes(serialization.Encoding.PEM).decode()
    client = nrf_cloud_diap.create_provisioning_cmd_client_cert(api_key, device_id, cert_pem, sec_tag=SEC_TAG)
    assert client.status_code == 201, client.text
    server = nrf_cloud_diap.create_provisioning_cmd_server_cert(api_key, device_id, ca_certs.get_ca_certs(coap=True), sec_tag=SEC_TAG)
    assert server.status_code == 201, server.text
    finished = nrf_cloud_diap.create_provisioning_cmd_finished(api_key, device_id)
    assert finished.status_code == 201, finished.text
    assert wait_for(mock, api_key, device_id, client.json()['id'])['status'] == 'SUCCEEDED'
    assert wait_for(mock, api_key, device_id, finished.json()['id'])['status'] == 'SUCCEEDED'

    claimed = team_a(mock)['claimedDevices'][0]
    assert claimed['status'] == 'PROVISIONED' and claimed['tags'] == ['line-1']
    assert claimed['certificates'][str(SEC_TAG)]['clientCertificate'] == cert_pem
    assert [item['status'] for item in claimed['commands']] == ['SUCCEEDED'] * 4

    onboard = nrf_cloud_onboard.onboard_device(api_key, device_id, '', 'line-1', 'APP|MODEM', cert_pem)
    assert onboard.status_code == 202, onboard.text
    request_id = onboard.json()[nrf_cloud_onboard.BULK_OP_REQ_ID]
    mock.admin.advance_clock(1)
    bulk = nrf_cloud_onboard.get_bulk_ops_result(api_key, request_id)
    assert bulk.status_code == 200 and bulk.json()['status'] == 'SUCCEEDED'
    fetched = nrf_cloud_onboard.fetch_device(api_key, device_id)
    assert fetched.status_code == 200 and fetched.json()['tags'] == ['line-1']

    assert nrf_cloud_onboard.update_device_name(api_key, device_id, device['imei']).status_code == 202
    onboarded = team_a(mock)['devices'][0]
    assert onboarded['name'] == device['imei'] and onboarded['hasPublicKey']

    mock.admin.reset_counters()
    assert nrf_cloud_diap.unclaim_device(api_key, device_id).status_code == 204
    state = team_a(mock)
    assert state['claimedDevices'] == [] and state['devices'] == []
    assert mock.admin.counters()['endpoints'] == {'nrfcloud-provisioning DELETE /v1/claimed-devices/{device_id}': 1}
    assert nrf_cloud_diap.unclaim_device(api_key, device_id).status_code == 404


def test_bulk_claim(utils, creds):
    mock, api_key = utils, creds.NRFCLOUD_TEAM_A_API_KEY
    devices = factory_device(mock, 3)
    rows = [[devices[0]['claim_token'], 'nrf-cloud-onboarding,line-1'], [devices[1]['claim_token']], ['not-a-token']]
    claim_devices.bulk_claim(api_key, rows)
    claimed = {item['id']: item['tags'] for item in team_a(mock)['claimedDevices']}
    assert claimed == {devices[0]['device_id']: ['nrf-cloud-onboarding', 'line-1'], devices[1]['device_id']: []}


def test_onboarding_errors_map_to_rows(utils, creds, tmp_path):
    mock, api_key = utils, creds.NRFCLOUD_TEAM_A_API_KEY
    mock.admin.nrfcloud_simulator(bulk_delay=0)
    ca_cert, ca_key = make_ca(tmp_path)
    csv_path = str(tmp_path / 'onboard.csv')
    for device_id in ('dev-ok', 'bad id', 'dev-ok'):
        csr, dummy = create_device_credentials.create_local_csr(cn=device_id.replace(' ', '-'))
        cert = create_device_credentials.create_device_cert(30, csr, ca_cert, ca_key).public_bytes(serialization.Encoding.PEM)
        cli_helpers.save_onboarding_csv(csv_path, True, False, device_id, '', 'line-1', 'APP|MODEM', cert)
    with open(csv_path, 'a', encoding='utf-8') as handle:   # utils refuses to write a duplicate row itself
        handle.write('dev-ok,,,APP,"%s"\n' % ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    result = nrf_cloud_onboard.onboard_devices(api_key, csv_path)
    assert result.status_code == 202, result.text
    bulk = nrf_cloud_onboard.get_bulk_ops_result(api_key, result.json()[nrf_cloud_onboard.BULK_OP_REQ_ID]).json()
    assert bulk['status'] == 'FAILED'
    summary = requests.get(bulk['errorSummaryUrl'], timeout=10)    # as utils does: a plain GET, no auth
    assert summary.status_code == 200
    count, errors = nrf_cloud_onboard.parse_err_msg(summary.text)
    assert count == 2
    rows = nrf_cloud_onboard.update_device_list_err(nrf_cloud_onboard.read_onboarding_csv(csv_path), errors)
    assert rows[0] == ['dev-ok', 'OK']
    assert rows[1][0] == 'bad id' and 'deviceId' in rows[1][1]
    assert rows[2][0] == 'dev-ok' and 'more than once' in rows[2][1]
    assert [item['id'] for item in team_a(mock)['devices']] == ['dev-ok']
