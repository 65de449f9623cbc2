# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A batch onboarded, and a fleet rotated, by sliced jobs, as AWX job slicing runs them (issue "AWX at scale", done when).

The inventory is the fleet inventory plugin over the batch manifest (one host per device). AWX's job slicing makes N jobs
of one launch, slice k seeing every N-th host of the inventory from the k-th; here each slice is ``playbooks/onboard_fleet.yml``
limited to its share, the four started at once. The same batch (as factory-fresh devices again) is also onboarded by one
unsliced run. What must hold: the mock's final state after the slices is exactly the state the role must leave (the same
check as after the unsliced run), every slice ends green, each slice runs each step once for its share (one module run per
step, not per host), and the slices together send exactly the unsliced run's writes for each device. A request that carries
many devices at once (the u-blox whitelist and tag assignment, nRF Cloud's bulk onboarding, iotcomms.io's bulk request) is
sent by each slice for its share, so there are up to four of those where the unsliced run sends one.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_provisioning

from . import harness
from .expected_state import Expectation, compare

DEVICES = int(os.environ.get('IOTOPS_SLICED_DEVICES') or 2000)
SLICES = 4
BATCH = 'sliced-batch'
PROFILE = 'SlicedLineProfile000001'
SEC_TAG = 16842753
CATEGORY = 'sliced-line'
SIM = dict(connect_delay=0.05, command_delay=0.01, bulk_delay=0.1)


class Batch:
    """A fresh batch in the mock, its manifest, and the fleet inventory over it."""

    def __init__(self, mock, workdir, name):
        self.mock, self.dir = mock, os.path.join(workdir, name)
        os.makedirs(self.dir)
        mock.admin.reset()
        mock.admin.nrfcloud_simulator(**SIM)
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Sliced line modules'}]})
        self.fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix='SL', all_identities=True)
        self.fleet.online_when_prepared(mock)
        manifest = self.fleet.write_manifest(os.path.join(self.dir, BATCH + '.csv'))
        self.inventory = os.path.join(self.dir, 'batch.fleet.yml')
        with open(self.inventory, 'w', encoding='utf-8') as handle:
            handle.write('plugin: iotops.provisioning.fleet\nmanifests:\n  - %s\n' % manifest)
        ca = harness.make_factory_ca(self.dir)
        variables = harness.onboarding_variables(
            manifest, BATCH, os.path.join(self.dir, 'reports'), ca, wait=120, wait_interval=1, nrfcloud_sec_tag=SEC_TAG,
            ublox_device_profile=PROFILE, ublox_authorizations={'local_dpr': True}, naocloud_site_id=harness.SITE_ID,
            naocloud_category=CATEGORY, concurrency=16)
        # the role's variables as extra variables (an AWX job template's extra vars), not host variables
        self.extra_vars = os.path.join(self.dir, 'extra-vars.json')
        with open(self.extra_vars, 'w', encoding='utf-8') as handle:
            json.dump(dict((k, v) for k, v in variables.items() if k not in ('factory_onboarding_manifest', 'factory_onboarding_batch_name')),
                      handle)
        self.env = harness.ansible_env(mock, workdir, **harness.JSON_CALLBACK)

    def slices(self):
        """The hosts of each slice as AWX cuts them: slice k gets every SLICES-th host from the k-th, in inventory order."""
        hosts = [row['serial'] for row in self.fleet.rows]
        return [hosts[k::SLICES] for k in range(SLICES)]

    def play(self, name, limit=None):
        args = ['-i', self.inventory, os.path.join(harness.PLAYBOOKS, 'onboard_fleet.yml'), '-e', '@' + self.extra_vars]
        if limit is not None:
            path = os.path.join(self.dir, name + '.limit')
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write('\n'.join(limit) + '\n')
            args += ['--limit', '@' + path]
        return harness.run_playbook(args, self.env, self.dir, name, timeout=900)

    def problems(self):
        expectation = Expectation(self.fleet, BATCH, SEC_TAG, harness.SITE_ID, CATEGORY)
        return compare(expectation.expected(), expectation.actual(self.mock.admin.state(), harness.credentials.IOTCOMMS_DOMAIN))


def module_runs(result):
    """How many times each module ran in a job: {module task name: runs} from its JSON output."""
    data = harness.json_output(result.stdout)
    runs = {}
    for play in data['plays']:
        for task in play['tasks']:
            for outcome in task['hosts'].values():
                entries = outcome.get('results') if isinstance(outcome.get('results'), list) else [outcome]
                count = sum(1 for entry in entries if isinstance(entry, dict) and 'outcomes' in entry)
                if count:
                    runs[task['task'].split(' : ', 1)[-1]] = runs.get(task['task'].split(' : ', 1)[-1], 0) + count
    return runs


# the writes that carry a whole module run's devices in one request (or 1,000 per request); nRF Cloud's claims go by CSV
# since issue 16 (nrfcloud_provisioning's bulk_threshold): one per chunk of each slice, where the unsliced run sends one
# per chunk of the batch
BULK = ('ublox POST /v1/device/whitelist/add', 'ublox POST /v1/tag/assign', 'nrfcloud POST /v1/devices',
        'iotcomms PUT /provisioning/device/{domain}/bulk/{bulk_id}', 'nrfcloud-provisioning POST /v1/claimed-devices')


def accepted_writes(counters):
    """{endpoint: writes the mock accepted (2xx)} (a tag create refused because another slice made it first changed nothing)."""
    writes = {}
    for endpoint, statuses in counters['statuses'].items():
        method = endpoint.split(' ')[1]
        # u-blox reads are POSTs ending in /get; a log-in changes nothing
        if method in ('POST', 'PUT', 'PATCH', 'DELETE') and not endpoint.endswith(('/get', '/authenticate')):
            accepted = sum(count for status, count in statuses.items() if status.startswith('2'))
            if accepted:
                writes[endpoint] = accepted
    return writes


def stats(result):
    data = harness.json_output(result.stdout)
    assert data, result.stdout[-2000:] + result.stderr[-2000:]
    return data['stats']


@pytest.fixture(scope='module')
def unsliced(mock_server, workdir):
    batch = Batch(mock_server, workdir, 'unsliced')
    result = batch.play('unsliced')
    counters = mock_server.admin.counters()
    return batch, result, counters


def test_the_unsliced_run_onboards_the_batch(unsliced):
    batch, result, _counters = unsliced
    assert result.rc == 0 and all(s['failures'] == 0 for s in stats(result).values()), result.stdout[-3000:]
    problems = batch.problems()
    assert not problems, problems


def test_four_slices_at_once_leave_the_same_state_with_the_same_writes(mock_server, workdir, unsliced):
    _batch, _result, unsliced_counters = unsliced
    batch = Batch(mock_server, workdir, 'sliced')
    results = {}

    def run(number, hosts):
        results[number] = batch.play('slice-%d' % number, limit=hosts)
    threads = [threading.Thread(target=run, args=(number + 1, hosts)) for number, hosts in enumerate(batch.slices())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, result in sorted(results.items()):
        assert result.rc == 0 and all(s['failures'] == 0 for s in stats(result).values()), (number, result.stdout[-3000:])
        # the slice's hosts were worked in one module run per step (not one per host)
        runs = module_runs(result)
        assert runs and max(runs.values()) == 1, (number, runs)
    problems = batch.problems()
    assert not problems, problems
    sliced, alone = accepted_writes(mock_server.admin.counters()), accepted_writes(unsliced_counters)
    # every write that names a device is sent exactly as often as by the unsliced run: nothing twice, nothing lost
    assert dict((e, n) for e, n in sliced.items() if e not in BULK) == dict((e, n) for e, n in alone.items() if e not in BULK)
    # a request that carries many devices is sent by each slice for its share: at most SLICES times as many requests
    for endpoint in BULK:
        assert alone.get(endpoint, 0) <= sliced.get(endpoint, 0) <= SLICES * alone.get(endpoint, 0), (endpoint, sliced, alone)
    # each report is the slice's own share
    reports = [name for name in os.listdir(os.path.join(batch.dir, 'reports')) if name.endswith('.json')
               and name != 'onboarding-%s.json' % BATCH]
    assert len(reports) == SLICES, reports
    # a slice relaunched on its own (AWX: relaunch a failed slice) moves only what is left of its share: here nothing
    mock_server.admin.reset_counters()
    again = batch.play('slice-2-again', limit=batch.slices()[1])
    assert again.rc == 0 and all(s['failures'] == 0 for s in stats(again).values()), again.stdout[-3000:]
    assert not accepted_writes(mock_server.admin.counters()), accepted_writes(mock_server.admin.counters())


ROTATED = 20  # nRF Cloud devices of the sliced rotation


def test_four_rotation_slices_at_once_rotate_each_device_once(mock_server, workdir, run):
    """``playbooks/rotate_fleet.yml`` as four slices at once over onboarded nRF Cloud devices whose certificates are due:
    each device gets exactly one new certificate, and a slice relaunched alone writes nothing."""
    mock = mock_server
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(**SIM)
    folder = os.path.join(workdir, 'rotation')
    os.makedirs(folder)
    ca = harness.make_factory_ca(folder)
    with open(ca[0], encoding='ascii') as cert, open(ca[1], encoding='ascii') as key:
        pems = cert.read(), key.read()
    devices = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': ROTATED})['devices']
    onboarded = run(nrfcloud_provisioning, dict(
        provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
        api_key=harness.credentials.NRFCLOUD_TEAM_A_API_KEY, wait_interval=0.05, wait_timeout=60, wait_for='PROVISIONED',
        devices=[{'claim_token': d['claim_token']} for d in devices],
        commands=[{'kind': 'certificateSigningRequest', 'description': 'Generate CSR'}],
        sign_csr={'ca_certificate': pems[0], 'ca_private_key': pems[1], 'validity_days': 10}))  # due within 30 days
    assert not onboarded.get('failed'), onboarded.get('msg')
    rows = [dict(serial='RT-%04d' % (n + 1), nrfcloud_claim_token=d['claim_token']) for n, d in enumerate(devices)]
    manifest = os.path.join(folder, 'rotation-batch.csv')
    harness.write_manifest(rows, manifest, columns=('serial', 'nrfcloud_claim_token'))
    inventory = os.path.join(folder, 'rotation.fleet.yml')
    with open(inventory, 'w', encoding='utf-8') as handle:
        handle.write('plugin: iotops.provisioning.fleet\nmanifests:\n  - %s\n' % manifest)
    extra = os.path.join(folder, 'extra-vars.json')
    with open(extra, 'w', encoding='utf-8') as handle:
        json.dump({'certificate_rotation_nrfcloud_ca_certificate': pems[0], 'certificate_rotation_nrfcloud_ca_private_key': pems[1],
                   'certificate_rotation_report_dir': os.path.join(folder, 'reports'), 'certificate_rotation_nrfcloud_wait_interval': 0.5},
                  handle)
    env = harness.ansible_env(mock, workdir, **harness.JSON_CALLBACK)
    serials = [row['serial'] for row in rows]

    def rotate(name, hosts):
        limit = os.path.join(folder, name + '.limit')
        with open(limit, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(hosts) + '\n')
        return harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'rotate_fleet.yml'), '-e', '@' + extra,
                                     '--limit', '@' + limit], env, folder, name, timeout=600)
    mock.admin.reset_counters()
    results = {}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, rotate('rotate-%d' % (k + 1), serials[k::SLICES])))
               for k in range(SLICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, result in sorted(results.items()):
        assert result.rc == 0 and all(s['failures'] == 0 for s in stats(result).values()), (number, result.stdout[-3000:])
    certificates = dict((d['id'], [next(iter(c['request'])) for c in d['commands']].count('clientCertificate'))
                        for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices'])
    assert certificates == dict((d['device_id'], 2) for d in devices), certificates
    mock.admin.reset_counters()
    again = rotate('rotate-1-again', serials[0::SLICES])
    assert again.rc == 0 and not accepted_writes(mock.admin.counters()), accepted_writes(mock.admin.counters())
