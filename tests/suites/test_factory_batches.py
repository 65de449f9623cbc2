# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A factory batch as it really comes: 60 factory-fresh devices with all four identities come online in three waves over
40 minutes, and 5 never do. ``playbooks/onboard.yml`` runs as a schedule would run it: a check run with --diff first, then
the real run, then a run after each wave, then one more.

What must hold (issue "Real factory batches", done when): every run ends green, with the devices still waiting listed;
each run writes exactly what the devices that came online since need (counted at the mock, per endpoint); the last run
says complete=false and names the 5 devices that never came online; the mock's state equals the expected state exactly
(nothing twice); the check run writes nothing and its diff names every device the real run then changes.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from . import harness
from .expected_state import Expectation, compare

DEVICES = 60
WAVES = (30, 15, 10)      # devices per wave: at the first run (once whitelisted), 20 minutes later, 40 minutes later
NEVER = 5
LATER = 1200              # seconds between the waves (the mock's clock jumps; iotcomms.io JWTs may not be an hour old)
BATCH = 'line-7-batch'
PROFILE = 'Line7ModuleProfile00001'
SEC_TAG = 16842753
CATEGORY = 'line-7'
# factory_onboarding_wait of each run, seconds. It counts from the run's start, and the test command runs two suites on two
# cores, where every step takes two to three times as long as alone: with 15 s, the second run of a clean-clone run saw
# 8 of its 15 devices done. Each run waits all of it, for the devices that have not come yet.
WAIT = 40
SIM = dict(connect_delay=0.1, command_delay=0.01, bulk_delay=0.1)
JSON_CALLBACK = dict(ANSIBLE_STDOUT_CALLBACK='iotops_suite_json', ANSIBLE_CALLBACK_PLUGINS=os.path.join(harness.SUITES_DIR, 'callback_plugins'))
WRITE_ENDPOINTS = (
    'nrfcloud-provisioning POST /v1/claimed-devices',
    'nrfcloud-provisioning POST /v1/claimed-devices/{device_id}/provisioning',
    'nrfcloud POST /v1/devices',
    'ublox POST /v1/device/whitelist/add',
    'ublox POST /v1/deviceprofile/bootstrapprovisioning/set',
    'ublox POST /v1/tag/create',
    'ublox POST /v1/tag/assign',
    'ublox POST /v1/device/provisioning/set',
)


class Line:
    """The mock, the batch, its manifest and inventory, and the runs of the playbook."""

    def __init__(self, mock, workdir):
        self.mock = mock
        self.workdir = workdir
        mock.admin.reset()
        mock.admin.nrfcloud_simulator(**SIM)
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Line 7 modules'}]})
        self.fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix='L7', all_identities=True)
        rows = self.fleet.rows
        first, second, third = WAVES
        # wave 1 is powered on at the line as soon as the run has whitelisted it; waves 2 and 3 later
        mock.admin.online(self.fleet.physical(rows[:first]), waves=[{'count': first, 'after': 0, 'since': 'whitelisted'}])
        mock.admin.online(self.fleet.physical(rows[first:]), waves=[{'count': second, 'after': LATER}, {'count': third, 'after': 2 * LATER}],
                          never=NEVER)
        self.waves = [rows[:first], rows[first:first + second], rows[first + second:first + second + third]]
        self.never = rows[DEVICES - NEVER:]
        ca_cert, ca_key = harness.make_factory_ca(workdir)
        with open(ca_cert, encoding='ascii') as cert, open(ca_key, encoding='ascii') as key:
            ca = cert.read(), key.read()
        manifest = self.fleet.write_manifest(os.path.join(workdir, BATCH + '.csv'))
        self.reports = os.path.join(workdir, 'reports')
        self.inventory = harness.write_inventory(os.path.join(workdir, 'inventory.json'), {
            'factory_onboarding_manifest': manifest,
            'factory_onboarding_batch_name': BATCH,
            'factory_onboarding_report_dir': self.reports,
            'factory_onboarding_wait': WAIT,
            'factory_onboarding_wait_interval': 0.5,
            'factory_onboarding_nrfcloud_ca_certificate': ca[0],
            'factory_onboarding_nrfcloud_ca_private_key': ca[1],
            'factory_onboarding_nrfcloud_sec_tag': SEC_TAG,
            'factory_onboarding_ublox_device_profile': PROFILE,
            'factory_onboarding_ublox_authorizations': {'local_dpr': True},
            'factory_onboarding_naocloud_site_id': harness.SITE_ID,
            'factory_onboarding_naocloud_category': CATEGORY,
        })
        # the background steps' result files go here, so that the last test can check that every run removed its own
        self.async_dir = os.path.join(workdir, 'async')
        self.env = harness.ansible_env(mock, workdir, ANSIBLE_ASYNC_DIR=self.async_dir, **JSON_CALLBACK)

    def play(self, name, *extra):
        self.mock.admin.reset_counters()
        result = harness.run_playbook(['-i', self.inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')] + list(extra),
                                      self.env, self.workdir, name, timeout=300)
        start = re.search(r'^\{', result.stdout, re.M)   # after the progress lines of long steps
        assert start, result.stdout[-3000:] + result.stderr[-3000:]
        data = json.loads(result.stdout[start.start():])
        stats = data['stats']['localhost']
        return Run(name, result, data, stats, self.mock.admin.counters())

    def latest_report(self):
        with open(os.path.join(self.reports, 'onboarding-%s.json' % BATCH), encoding='utf-8') as handle:
            return json.load(handle)

    def state_problems(self, offline):
        expectation = Expectation(self.fleet, BATCH, SEC_TAG, harness.SITE_ID, CATEGORY, offline=[r['serial'] for r in offline])
        return compare(expectation.expected(), expectation.actual(self.mock.admin.state(), harness.credentials.IOTCOMMS_DOMAIN))

    def serials(self, rows):
        return sorted(r['serial'] for r in rows)


class Run:
    """One playbook run: its JSON callback output, recap and the mock's counters."""

    def __init__(self, name, result, data, stats, counters):
        self.name = name
        self.result = result
        self.data = data
        self.stats = stats
        self.counters = counters

    def tasks(self):
        """(task name without the role's prefix, result) of each task that ran on localhost."""
        for play in self.data['plays']:
            for task in play['tasks']:
                if 'localhost' in task['hosts']:
                    yield task['task'].split(' : ', 1)[-1], task['hosts']['localhost']

    def result_of(self, fragment):
        found = [result for name, result in self.tasks() if fragment in name]
        assert found, 'no task named like %r in %s' % (fragment, self.name)
        return found[-1]

    def writes(self):
        endpoints = self.counters['endpoints']
        return dict((name, endpoints[name]) for name in WRITE_ENDPOINTS if endpoints.get(name))

    def console(self):
        return self.result_of('Show the verdict')['msg']

    def diffs_by_task(self):
        """{task name: set of the names in its diffs} (loop items included)."""
        names = {}
        for task, result in self.tasks():
            entries = [result] + [item for item in result.get('results') or [] if isinstance(item, dict)]
            for entry in entries:
                diff = entry.get('diff')
                for part in diff if isinstance(diff, list) else [diff]:
                    if isinstance(part, dict) and isinstance(part.get('after'), dict):
                        names.setdefault(task, set()).update(part['after'])
        return names

    def changed_by_task(self):
        """{task name: set of the items its modules changed}."""
        names = {}
        for task, result in self.tasks():
            for entry in [result] + [item for item in result.get('results') or [] if isinstance(item, dict)]:
                for outcome in entry.get('outcomes') or []:
                    if outcome.get('changed'):
                        names.setdefault(task, set()).add(str(outcome['item']))
        return names


@pytest.fixture(scope='module')
def line(mock_server, workdir):
    return Line(mock_server, workdir)


def ids(rows, column):
    return set(r[column] for r in rows)


def test_check_mode_first_writes_nothing_and_names_every_device(line):
    check = line.play('check', '--check', '--diff')
    assert check.result.rc == 0 and check.stats['failures'] == 0, check.result.stdout[-3000:]
    assert check.counters['by_category']['write'] == 0, check.counters['endpoints']
    predicted = check.diffs_by_task()
    line.check_diffs = predicted   # compared with what the real run changes, below
    everyone = line.fleet.rows
    nrf = [names for task, names in predicted.items() if task.startswith('Claim on nRF Cloud')]
    assert nrf and nrf[0] == ids(everyone, '_nrfcloud')
    ublox = [names for task, names in predicted.items() if task.startswith('Whitelist the batch with u-blox')]
    assert ublox and ublox[0] == ids(everyone, 'ublox_rot_public_uid') | {'device profile %s' % PROFILE}
    assert 'CHECK MODE' in check.console()[0] and '0 of 60 onboarded' in check.console()[0]


def test_first_run_ends_green_with_the_waiting_devices_listed(line):
    first = line.play('run-1', '--diff')
    assert first.result.rc == 0 and first.stats['failures'] == 0, first.result.stdout[-3000:]
    report = line.latest_report()
    assert report['complete'] is False
    assert (report['verdict']['done'], report['verdict']['waiting'], report['verdict']['needs_attention']) == (30, 30, 0)
    assert sorted(entry['serial'] for entry in report['waiting']) == line.serials(line.fleet.rows[30:])
    # one row per physical device, its phase in each cloud in plain words; a u-blox module still to bootstrap says so
    assert len(report['devices']) == DEVICES
    waiting_row = next(row for row in report['devices'] if row['serial'] == 'L7-0031')
    assert {cloud: cell['phase'] for cloud, cell in waiting_row['clouds'].items()} == {
        'nrfcloud': 'waiting for the device', 'ublox': 'waiting for bootstrap', 'iotcomms': 'created', 'naocloud': 'registered'}
    phases = set(cell['phase'] for row in report['devices'] for cell in row['clouds'].values())
    assert not phases & {'none', 'create', 'added', 'present', 'PROVISIONED', 'ok'}, phases
    console = first.console()
    assert console[0].startswith('30 of 60 onboarded') and any('L7-0031' in text for text in console)
    # every device the real run changed was named by the check run's diff
    changed = first.changed_by_task()
    for task, names in changed.items():
        predicted = line.check_diffs.get(task, set())
        assert names <= predicted, (task, sorted(names - predicted)[:5])
    problems = line.state_problems(line.waves[1] + line.waves[2] + line.never)
    assert not problems, problems


@pytest.mark.parametrize('wave', [1, 2], ids=['wave-2', 'wave-3'])
def test_each_later_run_moves_on_exactly_the_devices_that_came_online(line, wave):
    line.mock.admin.advance_clock(LATER)
    run = line.play('run-%d' % (wave + 1))
    assert run.result.rc == 0 and run.stats['failures'] == 0, run.result.stdout[-3000:]
    came = line.waves[wave]
    # exactly what those devices need: their certificate and finished, one onboarding call, one tag assignment
    assert run.writes() == {
        'nrfcloud-provisioning POST /v1/claimed-devices/{device_id}/provisioning': 2 * len(came),
        'nrfcloud POST /v1/devices': 1,
        'ublox POST /v1/tag/assign': 1,
    }, run.writes()
    report = line.latest_report()
    done = sum(WAVES[:wave + 1])
    assert (report['verdict']['done'], report['verdict']['waiting']) == (done, DEVICES - done)
    offline = [row for later in line.waves[wave + 1:] for row in later] + line.never
    problems = line.state_problems(offline)
    assert not problems, problems
    tag = next(t for t in line.mock.admin.state()['ublox']['tags'] if t['TagName'] == BATCH)
    assert set(tag['ROTPublicUIDs']) == ids([r for w in line.waves[:wave + 1] for r in w], 'ublox_rot_public_uid')


def test_the_last_run_is_not_complete_and_names_the_devices_that_never_came(line):
    last = line.play('run-4')
    assert last.result.rc == 0 and last.stats['failures'] == 0 and last.stats['changed'] == 0, last.stats
    assert last.counters['by_category']['write'] == 0, last.writes()
    # nothing to do reads lists: the only reads of a single device are the histories of the 5 that never connected
    per_device = dict((name, count) for name, count in last.counters['endpoints'].items()
                      if ' GET ' in name and re.search(r'\{(device_id|trackable_id)\}', name))
    assert per_device == {'nrfcloud-provisioning GET /v1/claimed-devices/{device_id}/provisioning': NEVER}, per_device
    report = line.latest_report()
    assert report['complete'] is False and report['verdict']['waiting'] == NEVER
    assert sorted(entry['serial'] for entry in report['waiting']) == line.serials(line.never)
    assert any('not complete' in text for text in last.console())
    problems = line.state_problems(line.never)
    assert not problems, problems
    # every run's report was kept, next to the latest
    kept = [name for name in os.listdir(line.reports) if name.endswith('.json') and name != 'onboarding-%s.json' % BATCH]
    assert len(kept) == 5, sorted(os.listdir(line.reports))
    # the check run and the four real runs each started three steps in the background, and removed their result files
    assert os.path.isdir(line.async_dir) and os.listdir(line.async_dir) == [], os.listdir(line.async_dir)
