# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The factory_onboarding role as an operator runs it: ``ansible-playbook playbooks/onboard.yml`` with ``-e`` flags typed on a
command line, read on the console (the default callback), on a small batch of factory-fresh devices.

Each test is one finding of the issue "Real factory batches" that failed on the main branch before it:
strings from ``-e`` taken for booleans, integers and dicts; a bad IMEI check digit or a batch name with ``/`` found after
other clouds were written; chunks with failed devices shown ``ok``; a missing API key shown ``ok``; the device's own error
dropped; a step that wrote and then failed shown unchanged; no way to run one cloud's steps.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from . import harness

DEVICES = 6
PROFILE = 'ConsoleLineProfile00001'
BATCH = 'console-batch'


@pytest.fixture
def line(mock_server, workdir, request):
    """A reset mock with a factory-fresh batch (all four identities per device) that comes online once prepared."""
    mock = mock_server
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(connect_delay=0.1, command_delay=0.01, bulk_delay=0.1)
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE}]})
    fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix='C', all_identities=True)
    fleet.online_when_prepared(mock)
    directory = os.path.join(workdir, request.node.name.replace('/', '_'))
    os.makedirs(directory)
    return Line(mock, fleet, directory)


class Line:
    def __init__(self, mock, fleet, directory):
        self.mock = mock
        self.fleet = fleet
        self.directory = directory
        self.ca_cert, self.ca_key = harness.make_factory_ca(directory)
        self.reports = os.path.join(directory, 'reports')

    def variables(self, **extra):
        with open(self.ca_cert, encoding='ascii') as cert, open(self.ca_key, encoding='ascii') as key:
            ca = cert.read(), key.read()
        variables = {
            'factory_onboarding_manifest': self.fleet.write_manifest(os.path.join(self.directory, BATCH + '.csv')),
            'factory_onboarding_batch_name': BATCH,
            'factory_onboarding_report_dir': self.reports,
            'factory_onboarding_wait': 120,  # every device comes online: the run ends when they are done, however loaded the machine
            'factory_onboarding_wait_interval': 0.3,
            'factory_onboarding_nrfcloud_ca_certificate': ca[0],
            'factory_onboarding_nrfcloud_ca_private_key': ca[1],
            'factory_onboarding_ublox_device_profile': PROFILE,
            'factory_onboarding_naocloud_site_id': harness.SITE_ID,
        }
        variables.update(extra)
        return variables

    def play(self, name, *args, variables=None, env=None):
        inventory = harness.write_inventory(os.path.join(self.directory, name + '-inventory.json'), variables or self.variables())
        environment = harness.ansible_env(self.mock, self.directory, IOTOPS_PROGRESS_INTERVAL='1')
        environment.update(env or {})
        for key in [k for k, v in environment.items() if v is None]:
            del environment[key]
        self.mock.admin.reset_counters()
        return harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')] + list(args), environment,
                                    self.directory, name, timeout=240)

    def endpoints(self):
        return self.mock.admin.counters()['endpoints']

    def writes(self):
        return self.mock.admin.counters()['by_category']['write']

    def report(self):
        with open(os.path.join(self.reports, 'onboarding-%s.json' % BATCH), encoding='utf-8') as handle:
            return json.load(handle)


def vendor_writes(endpoints, vendor):
    return sum(count for name, count in endpoints.items() if name.startswith(vendor + ' ') and name.split(' ')[1] != 'GET'
               and not name.endswith('/get') and not name.endswith('/authenticate'))


def test_strings_typed_on_the_command_line_are_typed(line):
    """``enabled=false`` is false, ``chunk_size=2`` chunks by 2, a dict given as a JSON string is a dict."""
    # the first two command writes of the nRF Cloud step take 1.5 s: the step runs for longer than one progress interval
    # (1 s) after its progress file exists, however fast or loaded the machine is
    line.mock.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path='/provisioning$', kind='latency', seconds=1.5,
                              count=2)
    result = line.play('typed', '-e', 'factory_onboarding_naocloud_enabled=false', '-e', 'factory_onboarding_chunk_size=2',
                       '-e', 'factory_onboarding_ublox_authorizations={"local_dpr":true}', '-e', 'factory_onboarding_wait=8')
    assert result.rc == 0, result.stdout[-3000:]
    endpoints = line.endpoints()
    assert vendor_writes(endpoints, 'naocloud') == 0, endpoints
    # six nRF Cloud devices in chunks of 2: three chunk lines (the other steps take the batch in one background run)
    for label in ('devices 1-2 of 6', 'devices 3-4 of 6', 'devices 5-6 of 6'):
        assert 'item=%s' % label in result.stdout, result.stdout
    profile = line.mock.admin.state()['ublox']['deviceProfiles'][0]
    assert profile['BootstrapProvisioning']['Authorizations'][0]['Name'] == 'LocalDPR'
    # a progress line with the counts was shown while the nRF Cloud step ran
    assert re.search(r'\[localhost\] Claim on nRF Cloud.*devices done', result.stdout), result.stdout


def test_a_bad_manifest_and_bad_variables_fail_together_before_any_write(line):
    rows = line.fleet.rows
    bad_imei = rows[2]['ublox_imei'][:-1] + str((int(rows[2]['ublox_imei'][-1]) + 1) % 10)
    rows[2] = dict(rows[2], ublox_imei=bad_imei)
    result = line.play('bad-input', variables=line.variables(factory_onboarding_batch_name='line/7',
                                                             factory_onboarding_concurrency=200))
    assert result.rc != 0
    assert line.writes() == 0, line.endpoints()
    text = result.stdout
    assert 'nothing was sent to any cloud' in text
    assert 'row 4' in text and 'Luhn' in text, text[-3000:]
    assert 'factory_onboarding_batch_name' in text and 'factory_onboarding_concurrency' in text, text[-3000:]
    assert not os.path.exists(line.reports)


def test_a_chunk_with_a_failed_device_is_shown_failed_with_the_device_s_own_words(line):
    bad = line.fleet.rows[1]['_nrfcloud']
    failure = {'device_id': bad, 'kind': 'certificateSigningRequest', 'message': 'modem error -8 (key generation failed)'}
    line.mock.admin.seed('nrfcloud-provisioning', 'failures', failure)
    result = line.play('failed-device')
    assert result.rc != 0 and result.failed == 1, result.stdout[-3000:]
    # the batch is one chunk: it ran in the background and is shown failed where it is collected, under the step's name
    lines = result.stdout.splitlines()
    collected = next(i for i, row in enumerate(lines) if row.startswith('TASK [') and ': Claim on nRF Cloud' in row
                     and 'started in the background' not in row)
    chunk = [row for row in lines[collected:] if row.startswith('fatal: [localhost]: FAILED!')][:1]
    assert chunk and '1 of 6 devices failed' in chunk[0] and 'modem error -8 (key generation failed)' in chunk[0], result.stdout
    assert '"changed": true' in chunk[0]    # the chunk claimed devices before the device failed
    report = line.report()
    attention = report['needs_attention']
    assert [entry['serial'] for entry in attention] == ['C-0002'] and 'reset or skip' in attention[0]['remedy']
    assert report['verdict']['done'] == DEVICES - 1
    assert 'modem error -8' in result.stdout.split('TASK [iotops.provisioning.factory_onboarding : Show the verdict')[1]


def test_a_missing_api_key_is_shown_failed(line):
    result = line.play('no-key', env={'NAOCLOUD_API_KEY': None})
    assert result.rc != 0
    # the NAO Cloud step ran in the background: it is shown failed where it is collected, under its own name
    step = result.stdout.split("TASK [iotops.provisioning.factory_onboarding : NAO Cloud - register the tracking tags on the line's site]")
    failed = [row for row in step[-1].splitlines() if row.startswith('fatal: [localhost]: FAILED!')] if len(step) == 2 else []
    assert failed and 'NAOCLOUD_API_KEY' in failed[0], result.stdout[-3000:]
    assert vendor_writes(line.endpoints(), 'naocloud') == 0
    assert any(entry['cloud'] == 'naocloud' for entry in line.report()['needs_attention'])


def test_one_cloud_at_a_time_with_its_tag(line):
    result = line.play('tags', '--tags', 'iotcomms')
    assert result.rc == 0, result.stdout[-3000:]
    endpoints = line.endpoints()
    assert vendor_writes(endpoints, 'iotcomms') > 0
    for vendor in ('nrfcloud', 'nrfcloud-provisioning', 'ublox', 'naocloud'):
        assert vendor_writes(endpoints, vendor) == 0, (vendor, endpoints)
    clouds = set(cloud for row in line.report()['devices'] for cloud in row['clouds'])
    assert clouds == {'iotcomms'}
