# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A u-blox Root CA rollover with devices in the middle of an update (issue 17).

Ten devices hold a certificate from the Root CA to retire; an engineer has started an update to a new key pair on four
of them (seed 002: the first security heartbeat removes the certificate, the second brings the new one, from the same
Root CA; u-blox refuses a transfer until then). ``playbooks/rotate_certificates.yml`` rolls the fleet over to a new
Root CA, run after run, with the devices' heartbeats in between. The sequence runs once, in a module-scoped fixture that
records each step; every test checks its own step, so the tests pass alone, in any order, and under xdist.

What must hold: no run sends a delete u-blox refuses (the old Root CA is "set in current or desired properties" of the
four devices until they are transferred and have taken the transfer), the four are reported as waiting with the reason,
not as failures, and every run ends green. Exactly:

- run 1: the 6 ordinary holders are transferred; the 4 wait (update pending, two heartbeats to go);
- heartbeat 1: the 6 take the new Root CA; the 4 lose their old certificate - no device holds one from the old Root
  CA now, but the 4 still have it in their desired properties (the situation of the issue);
- run 2: no delete is sent; the 4 wait ("until its next security heartbeat; transferred on the run after that");
- heartbeat 2: the 4 get their new key pair and certificate, still from the old Root CA;
- run 3: the 4 are transferred;
- heartbeat 3: the 4 take the new Root CA;
- run 4: the old Root CA is deleted (one call, accepted);
- run 5: writes nothing.

So from the run that finds the devices between the two heartbeats of their update, it takes two more heartbeats and
two more runs to delete the old Root CA.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import requests

from . import harness

OLD_CA = 'old.rollover.example.com'
NEW_CA = 'new.rollover.example.com'
TAG = 'rollover'
HOLDERS = ['0002%012x' % n for n in range(6)]
UPDATING = ['0002%012x' % n for n in range(6, 10)]
OUTSIDE = ['0002%012x' % n for n in range(10, 12)]
JSON_CALLBACK = dict(ANSIBLE_STDOUT_CALLBACK='iotops_suite_json', ANSIBLE_CALLBACK_PLUGINS=os.path.join(harness.SUITES_DIR, 'callback_plugins'),
                     ANSIBLE_PIPELINING='1')
DELETE = 'ublox POST /v1/ztp/rootca/delete'
TRANSFER = 'ublox POST /v1/ztp/devicecertificate/rootca/transfer'
PHASE_2 = 'update to a new key pair pending until its next security heartbeat; transferred on the run after that'


class Rollover:
    """The mock with the fleet, the inventory of the role, and the runs of the playbook."""

    def __init__(self, mock, workdir):
        self.mock = mock
        self.workdir = workdir
        self.runs = 0
        mock.admin.reset()
        self.api = mock.url + '/ublox/v1'
        self.token = harness.ublox_token(mock)
        self.call('/ztp/rootca/create', {'CAName': OLD_CA, 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365})
        self.call('/ztp/rootca/create', {'CAName': 'fleet.rollover.example.com', 'CACertificateValidity': 1825,
                                         'DeviceCertificateValidity': 365})
        mock.admin.seed('ublox', 'tags', {'tags': [TAG]})
        mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID=rot, CAName=OLD_CA, ExpiresInDays=200, IssuedDaysAgo=165,
                                                              TagNames=[TAG]) for rot in HOLDERS + UPDATING]})
        # two devices of the selection on another Root CA, outside the window: a row each, due false
        mock.admin.seed('ublox', 'devices', {'devices': [dict(ROTPublicUID=rot, CAName='fleet.rollover.example.com', ExpiresInDays=300,
                                                              IssuedDaysAgo=65, TagNames=[TAG]) for rot in OUTSIDE]})
        # an engineer started an update to a new key pair on four of them
        self.call('/ztp/devicecertificate/update', {'CAName': OLD_CA, 'ROTPublicUIDs': UPDATING})
        self.reports = os.path.join(workdir, 'reports')
        self.inventory = harness.write_inventory(os.path.join(workdir, 'inventory.json'), {
            'certificate_rotation_id': 'rollover',
            'certificate_rotation_window_days': 30,
            'certificate_rotation_report_dir': self.reports,
            'certificate_rotation_nrfcloud_enabled': False,
            'certificate_rotation_ublox_tags': [TAG],
            'certificate_rotation_ublox_rollover': {'old_ca': OLD_CA, 'new_ca': NEW_CA, 'ca_validity_days': 3650,
                                                    'device_certificate_validity_days': 365},
        })
        self.env = harness.ansible_env(mock, workdir, **JSON_CALLBACK)

    def call(self, path, body):
        answer = requests.post(self.api + path, json=body, headers={'Authorization': self.token}, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def heartbeat(self):
        return self.mock.admin.seed('ublox', 'heartbeat', {})

    def play(self):
        self.runs += 1
        self.mock.admin.reset_counters()
        name = 'run-%d' % self.runs
        result = harness.run_playbook(['-i', self.inventory, os.path.join(harness.PLAYBOOKS, 'rotate_certificates.yml')],
                                      self.env, self.workdir, name, timeout=120)
        start = re.search(r'^\{', result.stdout, re.M)
        assert start, result.stdout[-3000:] + result.stderr[-3000:]
        data = json.loads(result.stdout[start.start():])
        return Run(name, result, data, self.mock.admin.counters(), self.report())

    def report(self):
        with open(os.path.join(self.reports, 'certificate-rotation-rollover.json'), encoding='utf-8') as handle:
            return json.load(handle)

    def ztp(self):
        return {device['ROTPublicUID']: device['ZTP'] for device in self.mock.admin.state()['ublox']['devices']}

    def root_cas(self):
        return sorted(ca['CAName'] for ca in self.mock.admin.state()['ublox']['rootCAs'])


class Run:
    """One playbook run: its JSON callback output, the mock's counters and the report."""

    def __init__(self, name, result, data, counters, report):
        self.name = name
        self.result = result
        self.data = data
        self.counters = counters
        self.report = report
        self.stats = data['stats']['localhost']

    def outcomes(self, fragment):
        """{item: outcome} of the module runs of the tasks whose name contains ``fragment`` (loop items included)."""
        found = {}
        for play in self.data['plays']:
            for task in play['tasks']:
                result = task['hosts'].get('localhost')
                if not result or fragment not in task['task']:
                    continue
                for entry in [result] + [item for item in result.get('results') or [] if isinstance(item, dict)]:
                    for outcome in entry.get('outcomes') or []:
                        found[str(outcome['item'])] = outcome
        return found

    def endpoints(self):
        return self.counters['endpoints']

    def refused(self):
        """Every u-blox call the mock answered with a 4xx, {endpoint: {status: count}}."""
        return dict((key, statuses) for key, statuses in self.counters['statuses'].items()
                    if key.startswith('ublox ') and any(status.startswith('4') for status in statuses))

    def check_green(self):
        assert self.result.rc == 0 and self.stats['failures'] == 0, self.result.stdout[-4000:]
        assert not self.refused(), self.refused()


class Step:
    """What one run of the sequence leaves for its test: the devices before the run (after the heartbeat), the run, and the
    Root CAs and devices after it - recorded then, since the later runs change the mock's state."""

    def __init__(self, rollover, heartbeat):
        if heartbeat:
            rollover.heartbeat()
        self.ztp_before = rollover.ztp()
        self.run = rollover.play()
        self.number = rollover.runs
        self.root_cas = rollover.root_cas()
        self.ztp_after = rollover.ztp()


@pytest.fixture(scope='module')
def steps(mock_server, workdir):
    """The whole sequence, run at once in one module-scoped fixture: each test reads its own step, so it passes alone, in
    any order, and on any xdist worker (each worker has its own mock and runs the sequence from the start)."""
    rollover = Rollover(mock_server, workdir)
    heartbeats = (False, True, True, True, False)  # before runs 1 to 5
    return dict((number, Step(rollover, heartbeat)) for number, heartbeat in enumerate(heartbeats, start=1))


def test_run_1_transfers_the_holders_and_the_devices_mid_update_wait(steps):
    run = steps[1].run
    run.check_green()
    assert run.endpoints()[TRANSFER] == 1 and DELETE not in run.endpoints()
    transfers = run.outcomes('Transfer the devices, chunk by chunk')
    assert sorted(rot for rot, o in transfers.items() if o['status'] == 'acted') == HOLDERS
    for rot in UPDATING:
        outcome = transfers[rot]
        assert (outcome['status'], outcome['waiting'], outcome['failed'], outcome['changed']) == ('waiting', True, False, False)
        assert outcome['reason'].startswith('update to a new key pair pending: its certificate is removed at its next security heartbeat')
        assert outcome['reason'].endswith('transferred on the run after that')
    kept = run.outcomes('Delete the old Root CA')[OLD_CA]
    assert kept['status'] == 'kept' and kept['waiting'] and '10 device(s) hold a certificate signed by it' in kept['reason']
    # the devices outside the window have a row (due false, with their expiry) without any call for them
    for rot in OUTSIDE:
        row = next(r for r in rollover_rows(run) if r['item'] == rot)
        assert row['due'] is False and row['status'] == 'done' and re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', row['old_expiry'])
    assert set(UPDATING) <= set(entry['device'] for entry in run.report['waiting'])
    assert run.report['needs_attention'] == []


def test_run_2_sends_no_refused_delete_for_devices_between_the_heartbeats_of_their_update(steps):
    ztp = steps[2].ztp_before
    # the situation of the issue: no device holds a certificate from the old Root CA, four still need it
    assert not [rot for rot, z in ztp.items() if z['CurrentProperties'].get('CAName') == OLD_CA]
    assert sorted(rot for rot, z in ztp.items() if z['DesiredProperties'].get('CAName') == OLD_CA) == UPDATING
    run = steps[2].run
    run.check_green()
    assert DELETE not in run.endpoints() and TRANSFER not in run.endpoints()
    assert run.counters['by_category']['write'] == 0
    transfers = run.outcomes('Transfer the devices, chunk by chunk')
    assert sorted(transfers) == UPDATING
    assert {(o['status'], o['waiting'], o['reason']) for o in transfers.values()} == {('waiting', True, PHASE_2)}
    kept = run.outcomes('Delete the old Root CA')[OLD_CA]
    assert kept['status'] == 'kept' and kept['waiting'] and not kept['failed']
    assert '4 device(s) have it in their desired certificate properties' in kept['reason']
    assert [d['rot_public_uid'] for d in kept['in_use']['devices']] == UPDATING
    assert sorted(entry['device'] for entry in run.report['waiting']) == sorted(UPDATING + [OLD_CA])
    assert steps[2].root_cas == sorted([OLD_CA, NEW_CA, 'fleet.rollover.example.com'])


def test_run_3_transfers_them_after_their_update_ends(steps):
    assert {steps[3].ztp_before[rot]['CurrentProperties']['CAName'] for rot in UPDATING} == {OLD_CA}
    run = steps[3].run
    run.check_green()
    assert run.endpoints()[TRANSFER] == 1 and DELETE not in run.endpoints()
    transfers = run.outcomes('Transfer the devices, chunk by chunk')
    assert sorted(rot for rot, o in transfers.items() if o['status'] == 'acted') == UPDATING
    assert run.outcomes('Delete the old Root CA')[OLD_CA]['status'] == 'kept'


def test_run_4_deletes_the_old_root_ca_after_the_next_heartbeat(steps):
    run = steps[4].run
    run.check_green()
    assert run.counters['statuses'][DELETE] == {'200': 1}
    assert run.counters['by_category']['write'] == 1
    assert run.outcomes('Delete the old Root CA')[OLD_CA]['status'] == 'deleted'
    assert steps[4].root_cas == sorted([NEW_CA, 'fleet.rollover.example.com'])
    assert {steps[4].ztp_after[rot]['CurrentProperties']['CAName'] for rot in HOLDERS + UPDATING} == {NEW_CA}
    # it took three heartbeats and four runs in all: two of each after the run that found the update half done
    assert steps[4].number == 4


def test_run_5_writes_nothing(steps):
    run = steps[5].run
    run.check_green()
    assert run.counters['by_category']['write'] == 0 and run.stats['changed'] == 0
    assert run.outcomes('Delete the old Root CA')[OLD_CA]['status'] == 'absent'
    assert run.report['waiting'] == [] and run.report['needs_attention'] == []


def rollover_rows(run):
    """The outcomes of the rotation of the devices that are not rolled over (those outside the window among them)."""
    return list(run.outcomes('Rotate the certificates that expire within the window, chunk by chunk').values())
