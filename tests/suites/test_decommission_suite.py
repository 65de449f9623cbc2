# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decommission suite: ``playbooks/onboard.yml`` onboards a small fleet across the four clouds of the mock (every device has
all four identities; the u-blox modules bootstrap with a certificate from the line's Root CA), then
``playbooks/decommission.yml`` removes some of it.

What must hold (issue "Day-2 fleet operations"): without decommission_confirm=true the play stops before any request (0
writes); a check run (--check --diff) sends 0 writes and its diff names every device to remove; the real run leaves the removed
devices in no cloud (nRF Cloud claimed and device management, u-blox whitelist and tags, certificate revoked and - after the
device's heartbeat - deleted, iotcomms.io, NAO Cloud) and every other device exactly as onboarding left it; a re-run changes
nothing and sends 0 writes. And the fault case: the playbook SIGKILLed (with all its processes) at a random write and run again
leaves nothing half-removed and removes nothing twice (the mock's writes counted per device and endpoint).

Knobs (environment): IOTOPS_SUITES_SEED (the kill point, shared with the fault suite), IOTOPS_SUITES_KEEP=1 (keep logs).
"""

from __future__ import annotations

import json
import os
import random
import re
import time

import pytest
import requests

from . import harness
from .expected_state import Expectation, compare

DEVICES = 6
REMOVED = 3               # the first devices of the fleet are decommissioned, the others stay
PROFILE = 'DecommissionLineProfile1'
ROOT_CA = 'decommission.line.example.com'
SEC_TAG = 16842753
CATEGORY = 'decommission-suite'
SIM = dict(connect_delay=0.1, command_delay=0.01, bulk_delay=0.1)
REVOKE = 'ublox POST /v1/ztp/devicecertificate/revoke'
CERT_DELETE = 'ublox POST /v1/ztp/devicecertificate/delete'


class Line:
    """The mock with an onboarded fleet, the inventories of the onboarding and the decommission, and their runs."""

    def __init__(self, mock, workdir, prefix):
        self.mock = mock
        self.workdir = os.path.join(workdir, prefix)
        os.makedirs(self.workdir)
        admin = mock.admin
        admin.reset()
        admin.nrfcloud_simulator(**SIM)
        token = harness.ublox_token(mock)
        answer = requests.post(mock.url + '/ublox/v1/ztp/rootca/create', headers={'Authorization': token}, timeout=10,
                               json={'CAName': ROOT_CA, 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365})
        assert answer.status_code == 200, answer.text
        admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'CAName': ROOT_CA}]})
        self.fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix=prefix, all_identities=True)
        self.fleet.online_when_prepared(mock)
        self.removed, self.kept = self.fleet.rows[:REMOVED], self.fleet.rows[REMOVED:]
        self.batch = prefix.lower() + '-batch'
        self.manifest = self.fleet.write_manifest(os.path.join(self.workdir, self.batch + '.csv'))
        self.reports = os.path.join(self.workdir, 'reports')
        self.onboarding = harness.write_inventory(os.path.join(self.workdir, 'onboarding.json'), harness.onboarding_variables(
            self.manifest, self.batch, self.reports, harness.make_factory_ca(self.workdir), wait=60, wait_interval=0.3,
            nrfcloud_sec_tag=SEC_TAG, ublox_device_profile=PROFILE, ublox_authorizations={'local_dpr': True},
            naocloud_site_id=harness.SITE_ID, naocloud_category=CATEGORY))
        self.inventory = harness.write_inventory(os.path.join(self.workdir, 'decommission.json'), {
            'decommission_manifest': self.manifest,
            'decommission_batch_name': self.batch,
            'decommission_report_dir': self.reports,
            'decommission_naocloud_site_id': harness.SITE_ID,
        })
        self.env = harness.ansible_env(mock, self.workdir, **harness.JSON_CALLBACK)
        self.runs = 0
        onboarded = self.play('onboard.yml', self.onboarding)
        assert onboarded.rc == 0, onboarded.stdout[-3000:] + onboarded.stderr[-3000:]
        problems = self.state_problems(self.fleet.rows)
        assert not problems, problems

    def serials(self, rows=None):
        return ','.join(row['serial'] for row in (self.removed if rows is None else rows))

    def play(self, playbook, inventory, *extra, on_start=None):
        """Run a playbook with the mock's counters reset first; returns the PlayResult with ``data`` (the JSON callback's)
        and ``counters`` (the mock's, after the run)."""
        self.runs += 1
        self.mock.admin.reset_counters()
        result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, playbook)] + list(extra), self.env,
                                      self.workdir, '%02d-%s' % (self.runs, playbook.split('.')[0]), timeout=300, on_start=on_start)
        result.data = harness.json_output(result.stdout) or {}
        result.counters = self.mock.admin.counters()
        return result

    def decommission(self, *extra, on_start=None):
        return self.play('decommission.yml', self.inventory, '-e', 'decommission_serials=' + self.serials(), *extra, on_start=on_start)

    def state_problems(self, rows):
        """The differences between the mock and what onboarding leaves for ``rows`` (the u-blox devices of other rows left out:
        u-blox keeps a device record after a decommission, with no certificate, tag or whitelist entry)."""
        rots = set(row['ublox_rot_public_uid'] for row in rows)
        fleet = harness.Fleet(rows, [row['_nrfcloud'] for row in rows], sorted(rots))
        expectation = Expectation(fleet, self.batch, SEC_TAG, harness.SITE_ID, CATEGORY)
        actual = expectation.actual(self.mock.admin.state(), harness.credentials.IOTCOMMS_DOMAIN)
        actual['ublox devices'] = [device for device in actual['ublox devices'] if device[0] in rots]
        return compare(expectation.expected(), actual)

    def leftovers(self, rows):
        """What the mock still holds of the decommissioned ``rows``, per cloud (empty when they are gone everywhere); a
        certificate still on a device is listed unless ``certificate_pending`` (revoked, its deletion pending)."""
        state = self.mock.admin.state()
        team, ublox = state['nrfcloud']['teams']['a'], state['ublox']
        nrf = set(row['_nrfcloud'] for row in rows)
        rots = set(row['ublox_rot_public_uid'] for row in rows)
        imeis = set(row['ublox_imei'] for row in rows)
        revoked = dict((serial, 0) for ca in ublox['rootCAs'] for serial in ca.get('RevokedSerialNumbers') or ())
        found = {
            'nrfcloud claimed': sorted(d['id'] for d in team['claimedDevices'] if d['id'] in nrf),
            'nrfcloud device management': sorted(d['id'] for d in team['devices'] if d['id'] in nrf),
            'ublox whitelist': sorted(e['Id'] for e in ublox['whitelist'] if e['Id'] in rots | imeis),
            'ublox tags': sorted('%s:%s' % (t['TagName'], rot) for t in ublox['tags'] for rot in t['ROTPublicUIDs'] if rot in rots),
            'ublox unrevoked certificates': [],
            'ublox certificates': [],
            'iotcomms': sorted(d['deviceId'] for d in state['iotcomms']['domains'][harness.credentials.IOTCOMMS_DOMAIN]['devices']
                               if d['deviceId'] in set(row['iotcomms_device_id'] for row in rows)),
            'naocloud': sorted(t['tracking_id'] for t in state['naocloud']['trackables'].get(str(harness.SITE_ID), [])
                               if t['tracking_id'] in set(row['naocloud_mac'] for row in rows)),
        }
        for device in ublox['devices']:
            certificate = (device.get('ZTP') or {}).get('CurrentProperties') or {}
            serial = certificate.get('CertificateSerialNumber')
            if device['ROTPublicUID'] in rots and serial:
                found['ublox certificates'].append(device['ROTPublicUID'])
                if str(serial).lower() not in revoked:
                    found['ublox unrevoked certificates'].append(device['ROTPublicUID'])
        return dict((key, value) for key, value in found.items() if value)

    def heartbeat(self):
        return self.mock.admin.seed('ublox', 'heartbeat', {})

    def latest_report(self):
        with open(os.path.join(self.reports, 'decommission-%s.json' % self.batch), encoding='utf-8') as handle:
            return json.load(handle)


def tasks(result):
    """(task name without the role's prefix, its result on localhost) of each task that ran."""
    for play in result.data.get('plays') or ():
        for task in play['tasks']:
            if 'localhost' in task['hosts']:
                yield task['task'].split(' : ', 1)[-1], task['hosts']['localhost']


def diff_names(result):
    """Every name in the ``after`` and ``before`` of the diffs of the run (loop items included)."""
    names = set()
    for dummy, outcome in tasks(result):
        for entry in [outcome] + [item for item in outcome.get('results') or [] if isinstance(item, dict)]:
            diff = entry.get('diff')
            for part in diff if isinstance(diff, list) else [diff]:
                if isinstance(part, dict):
                    for side in ('before', 'after'):
                        if isinstance(part.get(side), dict):
                            names.update(str(name) for name in part[side])
    return names


def changed(result):
    """The changed count of the PLAY RECAP (from the JSON callback)."""
    return result.data['stats']['localhost']['changed']


def writes(result):
    return result.counters['by_category']['write']


def identities(row):
    return [row['_nrfcloud'], row['ublox_rot_public_uid'], row['ublox_imei'], row['iotcomms_device_id'], row['naocloud_mac']]


@pytest.fixture(scope='module')
def line(mock_server, workdir):
    return Line(mock_server, workdir, 'DC')


@pytest.mark.parametrize('confirm', [None, 'decommission_confirm=false', 'decommission_confirm=yes', '{"decommission_confirm": "please"}'],
                         ids=['not-given', 'false', 'yes', 'not-a-boolean'])
def test_refused_without_confirmation_before_any_request(line, confirm):
    extra = ['-e', confirm] if confirm else []
    before = dict(line.mock.admin.state(), clock=None)
    result = line.decommission(*extra)
    assert result.rc != 0, result.stdout[-2000:]
    failure = next(outcome for name, outcome in tasks(result) if name.startswith('Stop before the first request'))
    assert 'Not confirmed' in failure['msg'] and 'decommission_confirm=true' in failure['msg']
    assert 'Nothing was sent to any cloud' in failure['msg']
    if 'please' in (confirm or ''):
        assert 'decommission_confirm' in failure['msg'].split('Not confirmed')[0]  # named as a problem of its own
    assert result.counters['total'] == 0, result.counters['endpoints']
    assert dict(line.mock.admin.state(), clock=None) == before


def test_check_mode_writes_nothing_and_names_every_device(line):
    check = line.decommission('--check', '--diff')
    assert check.rc == 0, check.stdout[-3000:]
    assert writes(check) == 0, check.counters['endpoints']
    named = diff_names(check)
    for row in line.removed:
        missing = [ident for ident in identities(row) if ident not in named]
        assert not missing, (row['serial'], missing)
    assert not line.state_problems(line.fleet.rows)  # nothing moved
    checked = [name for name in os.listdir(line.reports) if name.startswith('decommission-') and name.endswith('-check.json')]
    assert len(checked) == 1, os.listdir(line.reports)
    with open(os.path.join(line.reports, checked[0]), encoding='utf-8') as handle:
        report = json.load(handle)
    assert sorted(row['serial'] for row in report['devices'] if row['serial']) == [row['serial'] for row in line.removed]
    assert report['run']['check_mode'] is True


def test_decommission_removes_the_devices_everywhere_and_leaves_the_others(line):
    run = line.decommission('-e', 'decommission_confirm=true', '--diff')
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # unclaim (nRF Cloud then also drops the device from device management), revoke, SIP device and tracking tag per device;
    # one certificate deletion, one tag and one whitelist call for all (the kill test below draws its kill point from this)
    assert writes(run) == REMOVED * 4 + 3, run.counters['endpoints']
    # the certificates are revoked; u-blox removes them at the devices' next heartbeat
    assert line.leftovers(line.removed) == {'ublox certificates': sorted(r['ublox_rot_public_uid'] for r in line.removed)}
    problems = line.state_problems(line.kept)
    assert not problems, problems
    report = line.latest_report()
    rows = dict((row['serial'], row) for row in report['devices'] if row['serial'])
    assert sorted(rows) == [row['serial'] for row in line.removed]
    for serial, row in rows.items():
        phases = dict((cloud, cell['phase']) for cloud, cell in row['clouds'].items())
        assert phases == {'nrfcloud': 'removed', 'ublox': 'pending (next heartbeat)', 'iotcomms': 'removed', 'naocloud': 'removed'}, \
            (serial, phases)
    # the batch tag stays, with the devices that were not decommissioned
    assert report['complete'] is False and report['verdict']['needs_attention'] == 0


def test_rerun_before_the_heartbeat_sends_nothing(line):
    rerun = line.decommission('-e', 'decommission_confirm=true')
    assert rerun.rc == 0 and changed(rerun) == 0, rerun.stdout[-3000:]
    assert writes(rerun) == 0, rerun.counters['endpoints']


def test_after_the_heartbeat_the_devices_are_gone_and_a_rerun_changes_nothing(line):
    line.heartbeat()
    assert line.leftovers(line.removed) == {}
    rerun = line.decommission('-e', 'decommission_confirm=true')
    assert rerun.rc == 0 and changed(rerun) == 0, rerun.stdout[-3000:]
    assert writes(rerun) == 0, rerun.counters['endpoints']
    report = line.latest_report()
    assert report['complete'] is True
    phases = set(cell['phase'] for row in report['devices'] for cell in row['clouds'].values())
    assert phases == {'already gone'}, phases
    problems = line.state_problems(line.kept)
    assert not problems, problems


def per_device_rules(line, rows):
    """A counting rule (no delay, no limit) per device and per-device write path: {(endpoint, device): rule id}."""
    state = line.mock.admin.state()
    nao_ids = dict((t['tracking_id'], t['id']) for t in state['naocloud']['trackables'][str(harness.SITE_ID)])
    rules = {}
    for row in rows:
        for vendor, path, ident in (('nrfcloud-provisioning', r'^/v1/claimed-devices/%s$', row['_nrfcloud']),
                                    ('nrfcloud', r'^/v1/devices/%s$', row['_nrfcloud']),
                                    ('iotcomms', r'/%s$', row['iotcomms_device_id']),
                                    ('naocloud', r'/nao_trackables/%s$', nao_ids[row['naocloud_mac']])):
            rules[(vendor + ' DELETE', row['serial'])] = line.mock.admin.add_fault(
                vendor=vendor, method='DELETE', path=path % re.escape(str(ident)), kind='latency', seconds=0, count=None)
    return rules


def test_killed_at_a_random_write_and_rerun_leaves_nothing_half_removed(mock_server, workdir):
    line = Line(mock_server, workdir, 'DK')
    # what a whole run writes for these devices: unclaim (nRF Cloud then also drops them from device management), revoke, one
    # certificate deletion, one tag and one whitelist call, SIP device and tracking tag deletions
    total = REMOVED * 4 + 3
    kill_at = random.Random(harness.SEED).randint(1, total - 1)
    rules = per_device_rules(line, line.removed)
    killers = []

    def on_start(process):
        killers.append(harness.Killer(mock_server.url, process, kill_at))
        killers[0].start()

    first = line.decommission('-e', 'decommission_confirm=true', on_start=on_start)
    killers[0].stop()
    assert killers[0].killed_at is not None, 'the run ended before write %d: rc %s' % (kill_at, first.rc)
    time.sleep(2)  # a write the killed module had in flight lands, if it was sent
    first_counters = mock_server.admin.counters()
    rerun = line.decommission('-e', 'decommission_confirm=true')
    evidence = 'killed at write %d of %d (seed %d); re-run %s' % (killers[0].killed_at, total, harness.SEED, rerun.stdout[-3000:])
    assert rerun.rc == 0, evidence
    # nothing removed twice: each device's deletion path at most once over both runs; u-blox refuses a second revocation or a
    # deletion of a certificate that is gone (HTTP 400), so neither run may have had one
    fired = dict((rule['id'], rule['fired']) for rule in mock_server.admin.faults())
    twice = dict((key, fired[rule]) for key, rule in rules.items() if fired[rule] > 1)
    assert not twice, (twice, evidence)
    for counters in (first_counters, rerun.counters):
        refused = dict((key, statuses) for key, statuses in counters['statuses'].items()
                       if key in (REVOKE, CERT_DELETE) and set(statuses) - {'200'})
        assert not refused, (refused, evidence)
    # nothing half-removed: every certificate revoked before its deletion, and gone everywhere after the heartbeat
    assert set(line.leftovers(line.removed)) <= {'ublox certificates'}, (line.leftovers(line.removed), evidence)
    line.heartbeat()
    assert line.leftovers(line.removed) == {}, evidence
    problems = line.state_problems(line.kept)
    assert not problems, (problems, evidence)
    mock_server.admin.clear_faults()
    further = line.decommission('-e', 'decommission_confirm=true')
    assert further.rc == 0 and changed(further) == 0, further.stdout[-3000:]
    assert writes(further) == 0, further.counters['endpoints']
