# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_device and nrfcloud_device_info against the mock's device API (CSV onboarding, bulk ops, If-Match)."""

from __future__ import annotations

import datetime
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import nrfcloud_client
from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_device, nrfcloud_device_info


def device_cert(device_id, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Mock CA')])).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def nrf(mock):
    mock.admin.call('POST', '/nrfcloud/simulator', {'bulk_delay': 0.05})
    return mock


def args(mock, creds, devices, **extra):
    result = dict(api_url=mock.url + '/nrfcloud/v1', api_key=creds.NRFCLOUD_TEAM_A_API_KEY, devices=devices, bulk_interval=0.05)
    result.update(extra)
    return result


def team_devices(mock):
    return dict((d['id'], d) for d in mock.admin.state()['nrfcloud']['teams']['a']['devices'])


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def test_onboard_update_idempotent_delete(nrf, creds, run):
    ids = [str(uuid.uuid4()) for _i in range(3)]
    devices = [dict(device_id=i, certificate=device_cert(i), tags=['line-7'], name='imei-%d' % n) for n, i in enumerate(ids)]
    result = run(nrfcloud_device, args(nrf, creds, devices), diff=True)
    assert result['changed'] and [r['action'] for r in result['outcomes']] == ['onboarded'] * 3, result.get('msg')
    state = team_devices(nrf)
    assert all(state[i]['tags'] == ['line-7'] and state[i]['hasPublicKey'] for i in ids)
    assert [state[i]['name'] for i in ids] == ['imei-0', 'imei-1', 'imei-2']
    assert nrf.admin.counters()['endpoints']['nrfcloud POST /v1/devices'] == 1  # one bulk request for the batch

    nrf.admin.reset_counters()
    again = run(nrfcloud_device, args(nrf, creds, devices))
    assert again['changed'] is False and writes(nrf) == 0

    devices[1]['tags'] = ['line-7', 'shipped']
    changed = run(nrfcloud_device, args(nrf, creds, devices), diff=True)
    assert [r['action'] for r in changed['outcomes']] == ['none', 'updated', 'none']
    assert changed['diff']['after'][ids[1]]['tags'] == ['line-7', 'shipped']
    assert team_devices(nrf)[ids[1]]['tags'] == ['line-7', 'shipped']

    nrf.admin.reset_counters()
    check = run(nrfcloud_device, args(nrf, creds, [dict(device_id=ids[0])], state='absent'), check_mode=True)
    assert check['changed'] and writes(nrf) == 0
    gone = run(nrfcloud_device, args(nrf, creds, [dict(device_id=ids[0])], state='absent'))
    assert gone['outcomes'][0]['action'] == 'deleted' and ids[0] not in team_devices(nrf)

    info = run(nrfcloud_device_info, dict(api_url=nrf.url + '/nrfcloud/v1', api_key=creds.NRFCLOUD_TEAM_A_API_KEY,
                                          device_ids=ids, tags=['shipped']))
    assert [d['id'] for d in info['devices']] == [ids[1]] and info['missing'] == sorted([ids[0], ids[2]])


class FakeModule:
    """Just what the client reads from AnsibleModule; the HTTP underneath is real."""

    check_mode = False
    _diff = False

    def __init__(self, params):
        self.params = params
        self.no_log_values = set()

    def warn(self, text):
        raise AssertionError(text)


def test_rename_after_a_concurrent_change_retries_with_the_new_version(nrf, creds, run):
    device_id = str(uuid.uuid4())
    run(nrfcloud_device, args(nrf, creds, [dict(device_id=device_id, certificate=device_cert(device_id), name='first')]))
    stale = team_devices(nrf)[device_id]  # what the module read, with its $meta.version
    # another writer renames the device after our read
    requests.put(nrf.url + '/nrfcloud/v1/devices/%s/name' % device_id, json=['someone-else'],
                 headers={'Authorization': 'Bearer ' + creds.NRFCLOUD_TEAM_A_API_KEY}, timeout=10).raise_for_status()
    params = dict(api_url=nrf.url + '/nrfcloud/v1', provisioning_api_url=nrf.url + '/nrfcloud-provisioning/v1',
                  api_key=creds.NRFCLOUD_TEAM_A_API_KEY, timeout=10.0, validate_certs=True, ca_path=None, use_proxy=False,
                  retries=2, retry_max_wait=1.0, concurrency=1, devices=[], state='present', bulk_timeout=10, bulk_interval=0.1)
    client = nrfcloud_client(FakeModule(params))
    nrf.admin.reset_counters()
    client.update_device(device_id, {'name': 'second'}, stale)
    assert team_devices(nrf)[device_id]['name'] == 'second'
    assert nrf.admin.counters()['statuses']['nrfcloud PUT /v1/devices/{device_id}/name'] == {'412': 1, '202': 1}


def test_bad_inputs_fail_before_any_write(nrf, creds, run):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = [
        (dict(device_id='has space', certificate=device_cert('x')), 'device_id'),
        (dict(device_id='ok-1', certificate='not a pem'), 'PEM certificate'),
        (dict(device_id='ok-2', certificate=device_cert('ok-2', key=rsa_key)), 'EC P-256'),
        (dict(device_id='ok-3', certificate=device_cert('ok-3'), tags=['bad tag']), 'tag'),
        (dict(device_id='ok-4'), 'certificate is required to onboard'),
    ]
    for device, rule in cases:
        result = run(nrfcloud_device, args(nrf, creds, [device]))
        assert result.get('failed') and rule in result['msg'], (device.get('device_id'), result['msg'])
    assert writes(nrf) == 0
    duplicate = run(nrfcloud_device, args(nrf, creds, [dict(device_id='dup', certificate=device_cert('dup'))] * 2))
    assert duplicate['failed'] and 'appear once' in duplicate['msg']
