# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs that run at the same time against the same vendor accounts (issue "AWX at scale", safe concurrency).

Each round starts three ``playbooks/onboard.yml`` jobs at once on factory-fresh devices that come online as soon as the
line has prepared them: line A's batch twice (an AWX schedule firing while the last run still works) and line B's batch,
which shares line A's u-blox tag (it does not exist yet: both lines create it) and NAO Cloud site. All three report into
one directory.

What must hold, every round: every job ends green; nothing is lost (both batches done in every cloud, the shared tag
holds both lines' modules) and nothing is done twice (each nRF91 has exactly CSR, client certificate, finished, with the
certificate of its own key; one whitelist entry, trackable and SIP device each); all three reports are kept. After the
last round, a further run of each line writes nothing.
"""

from __future__ import annotations

import collections
import os
import threading

import pytest

from . import harness
from .expected_state import Expectation, compare

ROUNDS = int(os.environ.get('IOTOPS_CONCURRENCY_ROUNDS') or 20)
DEVICES = 8               # per line; every device has all four identities
SHARED_TAG = 'line-ab-shared'
PROFILE = 'SharedLineProfile000001'
SEC_TAG = 16842753
CATEGORY = 'lines-a-b'
SIM = dict(connect_delay=0.05, command_delay=0.01, bulk_delay=0.1)


class Lines:
    """Two lines on one set of vendor accounts: the mock, and per round each line's fresh batch, manifest and inventory."""

    def __init__(self, mock, workdir):
        self.mock = mock
        self.workdir = workdir
        self.ca = harness.make_factory_ca(workdir)
        self.env = harness.ansible_env(mock, workdir, **harness.JSON_CALLBACK)

    def prepare(self, number):
        """A clean mock with two factory-fresh batches; returns {line: (fleet, inventory)} and the shared report directory."""
        mock = self.mock
        mock.admin.reset()
        mock.admin.nrfcloud_simulator(**SIM)
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Shared line modules'}]})
        reports = os.path.join(self.workdir, 'round-%02d' % number, 'reports')
        os.makedirs(reports)
        lines = {}
        for offset, line in enumerate(('a', 'b')):
            fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix='R%02d%s' % (number, line.upper()), all_identities=True)
            # distinct SIP ids and MACs per line (factory_fresh numbers them from 1)
            for row in fleet.rows:
                row['iotcomms_device_id'] = row['iotcomms_device_id'][:-3] + '%d%s' % (offset + 1, row['iotcomms_device_id'][-2:])
                row['naocloud_mac'] = 'AA:6F:0%d' % (offset + 1) + row['naocloud_mac'][8:]
                if row.get('iotcomms_mac'):
                    row['iotcomms_mac'] = '02:10:0%d' % (offset + 1) + row['iotcomms_mac'][8:]
            fleet.online_when_prepared(mock)
            batch = 'line-%s-round-%02d' % (line, number)
            manifest = fleet.write_manifest(os.path.join(os.path.dirname(reports), batch + '.csv'))
            variables = harness.onboarding_variables(
                manifest, batch, reports, self.ca, wait=60, wait_interval=0.5, nrfcloud_sec_tag=SEC_TAG, ublox_device_profile=PROFILE,
                ublox_tag=SHARED_TAG, ublox_authorizations={'local_dpr': True}, naocloud_site_id=harness.SITE_ID,
                naocloud_category=CATEGORY, iotcomms_description=SHARED_TAG)
            inventory = harness.write_inventory(os.path.join(os.path.dirname(reports), 'inventory-%s.json' % line), variables)
            lines[line] = (fleet, inventory)
        return lines, reports

    def play(self, inventory, name):
        return harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')], self.env, self.workdir, name,
                                    timeout=300)

    def at_once(self, jobs):
        """Run the (name, inventory) jobs at the same time; their PlayResults by name."""
        results = {}

        def run(name, inventory):
            results[name] = self.play(inventory, name)
        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def problems(self, lines):
        """The differences between the mock's state and both lines done exactly once (the shared tag holding both)."""
        expected, actual = collections.defaultdict(list), None
        for fleet, _inventory in lines.values():
            expectation = Expectation(fleet, SHARED_TAG, SEC_TAG, harness.SITE_ID, CATEGORY, iotcomms_device_type='alarmUnit')
            for name, entries in expectation.expected().items():
                expected[name].extend(entries)
            actual = expectation.actual(self.mock.admin.state(), harness.credentials.IOTCOMMS_DOMAIN)
        members = tuple(sorted(r['ublox_rot_public_uid'] for fleet, _i in lines.values() for r in fleet.rows))
        expected['ublox batch tag'] = [(SHARED_TAG, members)]
        return compare(dict(expected), actual)


@pytest.fixture(scope='module')
def lines(mock_server, workdir):
    return Lines(mock_server, workdir)


def failures(result):
    """The failed tasks of a job, from its JSON output (None without one)."""
    data = harness.json_output(result.stdout)
    return data['stats']['localhost']['failures'] if data else None


def failed_devices(result):
    """The devices a job reported failed, with their reason, from its JSON output (for the assertion message)."""
    data = harness.json_output(result.stdout) or {'plays': []}
    failures = []
    for play in data['plays']:
        for task in play['tasks']:
            outcome = task['hosts'].get('localhost') or {}
            for entry in [outcome] + [r for r in outcome.get('results') or [] if isinstance(r, dict)]:
                failures.extend('%s: %s' % (o.get('item'), o.get('msg')) for o in entry.get('outcomes') or [] if o.get('failed'))
    return failures[:5]


@pytest.mark.parametrize('number', range(1, ROUNDS + 1))
def test_the_same_batch_twice_and_a_second_line_at_once(lines, number):
    prepared, reports = lines.prepare(number)
    results = lines.at_once([('r%02d-a1' % number, prepared['a'][1]), ('r%02d-a2' % number, prepared['a'][1]),
                             ('r%02d-b' % number, prepared['b'][1])])
    for name, result in sorted(results.items()):
        assert result.rc == 0 and failures(result) == 0, (name, result.rc, failed_devices(result), result.stdout[-2000:])
    problems = lines.problems(prepared)
    assert not problems, problems
    kept = sorted(name for name in os.listdir(reports) if name.endswith('.json') and '-round-%02d-' % number in name)
    assert len(kept) == 3, kept
    if number == ROUNDS:
        lines.mock.admin.reset_counters()
        again = lines.at_once([('r%02d-a-again' % number, prepared['a'][1]), ('r%02d-b-again' % number, prepared['b'][1])])
        assert all(r.rc == 0 and failures(r) == 0 for r in again.values()), [r.stdout[-2000:] for r in again.values()]
        counters = lines.mock.admin.counters()
        assert counters['by_category']['write'] == 0, counters['endpoints']
