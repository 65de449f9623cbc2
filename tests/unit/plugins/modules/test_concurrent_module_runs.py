# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs of a module at once on the same devices, as two module processes (two jobs on one account).

Each run is the module's own process started with its arguments file, as Ansible starts it; they share the mock, and
share the device lock directory or not (one machine, or two). What must hold: nothing fails because the other run got
there first, and, on one machine, no command is appended twice.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device, naocloud_trackable, nrfcloud_provisioning
from iotops_mock import credentials
from iotops_mock.factory_ca import factory_ca_pems

DEVICES = 6
HELD = 5  # seconds a latency fault holds the first run's creates: the second run reads and writes meanwhile
SITE_ID = credentials.NAOCLOUD_SITES[0]['id']
KINDS = ['certificateSigningRequest', 'clientCertificate', 'finished']


@pytest.fixture(scope='module')
def factory_ca():
    return factory_ca_pems('Concurrent Runs CA')


@pytest.fixture
def fresh(mock):
    """Factory-fresh devices that connect soon after they are claimed."""
    mock.admin.nrfcloud_simulator(connect_delay=0.05, command_delay=0.01, bulk_delay=0.05)
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': DEVICES})['devices']


def module_args(mock, creds, devices, ca):
    return dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, devices=[{'claim_token': d['claim_token']} for d in devices],
                commands=[{'kind': 'certificateSigningRequest', 'description': 'Generate CSR'}],
                sign_csr={'ca_certificate': ca[0], 'ca_private_key': ca[1], 'validity_days': 365},
                wait_for='PROVISIONED', wait_interval=0.05, wait_timeout=30, concurrency=DEVICES)


def at_once(tmp_path, collections_root, args, lock_dirs, module=nrfcloud_provisioning, after_read=None):
    """Start one process of ``module`` per lock directory; their results. With ``after_read`` (mock, endpoint) the second
    starts once the mock has answered the first one's read of that endpoint, so that it reads while the first one's
    writes are held by a latency fault: the race happens however slowly a loaded machine starts processes."""
    processes = []
    for index, lock_dir in enumerate(lock_dirs):
        if index and after_read is not None:
            wait_for_read(*after_read)
        path = tmp_path / ('args-%d.json' % index)
        path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_remote_tmp=str(tmp_path))}))
        env = dict(os.environ, PYTHONPATH=collections_root, IOTOPS_LOCK_DIR=str(lock_dir))
        processes.append(subprocess.Popen([sys.executable, module.__file__, str(path)], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert out.strip(), err[-2000:]
        results.append(json.loads(out[out.index('{'):]))
    return results


def wait_for_read(mock, endpoint, timeout=60):
    deadline = time.monotonic() + timeout
    while mock.admin.counters()['statuses'].get(endpoint, {}).get('200', 0) == 0:
        assert time.monotonic() < deadline, 'the first run never read %s' % endpoint
        time.sleep(0.05)


def histories(mock):
    team = mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices']
    return dict((d['id'], [next(iter(c['request'])) for c in d.get('commands') or ()]) for d in team)


def test_two_runs_on_one_machine_append_each_command_once(mock, creds, fresh, factory_ca, tmp_path, collections_root):
    # the claims answer slowly, so that both runs have read the claimed list before the first claim lands
    mock.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path='^/v1/claimed-devices$', kind='latency', seconds=0.3)
    results = at_once(tmp_path, collections_root, module_args(mock, creds, fresh, factory_ca), [tmp_path / 'locks'] * 2)
    for result in results:
        assert not result.get('failed'), result.get('msg')
        assert [o['phase'] for o in result['outcomes']] == ['provisioned'] * DEVICES
    assert histories(mock) == dict((d['device_id'], KINDS) for d in fresh)
    # each device was claimed and signed by one of the runs, and the other one says it did not
    for key in ('claimed', 'certificate_signed'):
        done = collections.Counter(o['item'] for r in results for o in r['outcomes'] if o[key])
        assert done == collections.Counter(d['device_id'] for d in fresh), (key, done)


def test_a_claim_another_machine_made_meanwhile_is_taken_as_done(mock, creds, fresh, factory_ca, tmp_path, collections_root):
    # two machines share no lock: both claim; nRF Cloud answers the later one 409 with code 40901 (claimed by this team)
    mock.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path='^/v1/claimed-devices$', kind='latency', seconds=HELD)
    results = at_once(tmp_path, collections_root, module_args(mock, creds, fresh, factory_ca),
                      [tmp_path / 'machine-1', tmp_path / 'machine-2'],
                      after_read=(mock, 'nrfcloud-provisioning GET /v1/claimed-devices'))
    refused = mock.admin.counters()['statuses']['nrfcloud-provisioning POST /v1/claimed-devices'].get('409', 0)
    assert refused > 0  # the race this test is about happened
    for result in results:
        assert not result.get('failed'), result.get('msg')
        # the run that lost the race follows the devices to the end too, instead of waiting for a CSR it will never sign
        assert [o['phase'] for o in result['outcomes']] == ['provisioned'] * DEVICES
    claimed = collections.Counter(o['item'] for r in results for o in r['outcomes'] if o['claimed'])
    assert claimed == collections.Counter(d['device_id'] for d in fresh)
    assert set(histories(mock)) == set(d['device_id'] for d in fresh)


def test_a_sip_device_another_job_created_meanwhile_is_taken_as_it_is(mock, mock_args, tmp_path, collections_root):
    # both runs read the domain before either created a device; iotcomms.io answers the later create 409
    mock.admin.add_fault(vendor='iotcomms', method='PUT', path='^/provisioning/device/[^/]+$', kind='latency', seconds=HELD)
    devices = [dict(device_id='47200%05d' % n, device_type='alarmUnit', description='line A') for n in range(1, 5)]
    results = at_once(tmp_path, collections_root, mock_args('iotcomms', devices=devices), [tmp_path / 'locks'] * 2,
                      module=iotcomms_device, after_read=(mock, 'iotcomms GET /provisioning/device/{domain}'))
    assert mock.admin.counters()['statuses']['iotcomms PUT /provisioning/device/{domain}'].get('409', 0) > 0
    for result in results:
        assert not result.get('failed'), result.get('msg')
    held = [d['deviceId'] for d in mock.admin.state()['iotcomms']['domains'][mock_args('iotcomms')['domain']]['devices']]
    assert sorted(held) == sorted(d['device_id'] for d in devices)


def test_a_tracking_tag_another_job_registered_meanwhile_is_taken_as_it_is(mock, mock_args, tmp_path, collections_root):
    # both runs read the site before either registered a tag; NAO Cloud answers the later create 422 (tracking id taken)
    mock.admin.add_fault(vendor='naocloud', method='POST', path='/nao_trackables$', kind='latency', seconds=HELD)
    site = mock_args('naocloud')  # the connection only; the site is the mock's first
    tags = [dict(tracking_id='AA:6F:09:00:00:%02X' % n, name='Line tag %d' % n, category='line-9') for n in range(1, 5)]
    args = dict(site, site_id=SITE_ID, trackables=tags)
    results = at_once(tmp_path, collections_root, args, [tmp_path / 'locks'] * 2, module=naocloud_trackable,
                      after_read=(mock, 'naocloud GET /api/v2/sites/{site_id}/nao_trackables'))
    assert mock.admin.counters()['statuses']['naocloud POST /api/v2/sites/{site_id}/nao_trackables'].get('422', 0) > 0
    for result in results:
        assert not result.get('failed'), result.get('msg')
    held = [t['tracking_id'] for t in mock.admin.state()['naocloud']['trackables'][str(SITE_ID)]]
    assert sorted(held) == sorted(t['tracking_id'] for t in tags)
