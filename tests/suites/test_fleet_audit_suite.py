# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit on a fleet set up to need attention: ``playbooks/onboard.yml`` onboards factory-fresh devices against the
mock, the suite then makes some of them expire, get stuck, go missing in one cloud, or be reported as clones; then
``playbooks/fleet_audit.yml`` must list exactly those, fail (so AWX can alert), and send 0 writes. A clean fleet passes.

The fleet (serial: what is wrong with it):
- FA-0001 healthy in all four clouds;
- FA-0002 onboarded with a 10-day nRF Cloud client certificate: expiring;
- FA-0003 its iotcomms.io SIP device deleted after onboarding: missing there (drift);
- FA-0004 its nRF91 fails the CSR command: ERROR (stuck);
- FA-0005 claimed but BLOCKED by nRF Cloud (seeded): stuck;
- FA-0006 a u-blox module that bootstrapped earlier, its device certificate expiring in 5 days;
- FA-0007 a u-blox module reported as a clone (the mock's admin API of ublox_device_security_info);
- FA-0008 a u-blox module reported as suspicious;
- FA-0009 a u-blox module whitelisted that never bootstraps: stuck waiting for its bootstrap (with stuck hours 0).
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device, ublox_device_whitelist, ublox_rootca

from . import harness
from .conftest import run_module

PROFILE = 'AuditModuleProfile0001'
CA = 'audit.devices.example.com'
SIM = dict(connect_delay=0.05, command_delay=0.01, bulk_delay=0.05)


def ublox_args(mock, **extra):
    creds = harness.credentials
    return dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET, **extra)


class AuditedFleet:
    """The mock, the onboarded fleet, the audit manifests and the runs of the audit playbook."""

    def __init__(self, mock, workdir):
        self.mock, self.workdir = mock, workdir
        mock.admin.reset()
        mock.admin.nrfcloud_simulator(**SIM)
        run_module(ublox_rootca, ublox_args(mock, cas=[dict(name=CA, ca_validity_days=3650, device_certificate_validity_days=365)]))
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Audit', 'CAName': CA}]})
        fleet = harness.Fleet.factory_fresh(mock, 4, PROFILE, prefix='FA', all_identities=True)
        self.rows = fleet.rows
        # FA-0004's modem fails its CSR command: the device ends in ERROR
        mock.admin.seed('nrfcloud-provisioning', 'failures', {'device_id': self.rows[3]['_nrfcloud'], 'kind': 'certificateSigningRequest'})
        fleet.online_when_prepared(mock)
        self.ca = harness.make_factory_ca(workdir)
        self.env = harness.ansible_env(mock, workdir)
        self.reports = os.path.join(workdir, 'reports')
        # FA-0002 gets a 10-day client certificate, the others 10 years
        self.onboard('long', [self.rows[0], self.rows[2], self.rows[3]], 3650)
        self.onboard('short', [self.rows[1]], 10)
        self.extra_rows()
        run_module(iotcomms_device, dict(api_url=mock.url + '/iotcomms', domain=harness.credentials.IOTCOMMS_DOMAIN,
                                         private_key_path=harness.credentials.IOTCOMMS_PRIVATE_KEY_PATH,
                                         devices=[dict(device_id=self.rows[2]['iotcomms_device_id'], state='absent')]))

    def onboard(self, name, rows, validity):
        manifest = os.path.join(self.workdir, 'onboard-%s.csv' % name)
        harness.write_manifest(rows, manifest)
        variables = harness.onboarding_variables(manifest, 'audit-' + name, self.reports, self.ca, wait=20, wait_interval=0.5,
                                                 nrfcloud_validity_days=validity, ublox_device_profile=PROFILE,
                                                 naocloud_site_id=harness.SITE_ID)
        inventory = harness.write_inventory(os.path.join(self.workdir, 'onboard-%s.json' % name), variables)
        # FA-0004 fails (ERROR): that run fails, as it should; the audit is what this suite tests
        return harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')], self.env, self.workdir,
                                    'onboard-' + name, timeout=300)

    def extra_rows(self):
        """FA-0005 claimed and BLOCKED; FA-0006 a u-blox module with a certificate expiring in 5 days; FA-0007 a clone."""
        blocked = self.mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
        self.mock.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'devices': [{'id': blocked['device_id'], 'status': 'BLOCKED'}]})
        self.rows.append(dict(serial='FA-0005', nrfcloud_claim_token=blocked['claim_token'], _nrfcloud=blocked['device_id']))
        self.mock.admin.seed('ublox', 'devices', {'devices': [
            dict(ROTPublicUID='00000000000a0006', CAName=CA, ExpiresInDays=5, IssuedDaysAgo=360),
            dict(ROTPublicUID='00000000000a0007', CAName=CA), dict(ROTPublicUID='00000000000a0008', CAName=CA)]})
        self.rows.append(dict(serial='FA-0006', ublox_rot_public_uid='00000000000a0006'))
        self.rows.append(dict(serial='FA-0007', ublox_rot_public_uid='00000000000a0007'))
        self.rows.append(dict(serial='FA-0008', ublox_rot_public_uid='00000000000a0008'))
        run_module(ublox_device_whitelist, ublox_args(self.mock, rot_public_uids=['00000000000a0009']))
        self.rows.append(dict(serial='FA-0009', ublox_rot_public_uid='00000000000a0009'))
        self.mock.admin.seed('ublox', 'clone', {'ROTPublicUIDs': ['00000000000a0007'], 'DaysAgo': 1})
        self.mock.admin.seed('ublox', 'suspicious', {'ROTPublicUIDs': ['00000000000a0008']})

    def audit(self, name, rows, check=False, extra=(), **variables):
        manifest = os.path.join(self.workdir, 'audit-%s.csv' % name)
        harness.write_manifest(rows, manifest)
        base = dict(fleet_audit_manifest=manifest, fleet_audit_report_dir=self.reports, fleet_audit_naocloud_site_id=harness.SITE_ID,
                    fleet_audit_ublox_security_enabled=True)
        base.update(variables)
        inventory = harness.write_inventory(os.path.join(self.workdir, 'audit-%s.json' % name), base)
        self.mock.admin.reset_counters()
        result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'fleet_audit.yml')] + (['--check'] if check else []) + list(extra),
                                      self.env, self.workdir, 'audit-' + name, timeout=300)
        return result, self.mock.admin.counters()

    def report(self, name, check=False):
        directory = self.reports
        if check:
            found = sorted(f for f in os.listdir(directory) if f.startswith('fleet-audit-audit-%s-' % name) and f.endswith('-check.json'))
            path = os.path.join(directory, found[-1])
        else:
            path = os.path.join(directory, 'fleet-audit-audit-%s.json' % name)
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)


@pytest.fixture(scope='module')
def fleet(mock_server, workdir):
    return AuditedFleet(mock_server, workdir)


def attention(report):
    """{serial: {cloud: reason}} of what needs attention."""
    found = {}
    for entry in report['needs_attention']:
        found.setdefault(entry['device'], {})[entry['cloud']] = entry['reason']
    return found


@pytest.fixture(scope='module')
def full_audit(fleet):
    """The audit of every row, run once: the check-mode test compares its findings with this run's."""
    result, counters = fleet.audit('all', fleet.rows, fleet_audit_stuck_hours=0)
    return result, counters, fleet.report('all')


def test_the_audit_lists_exactly_what_needs_attention_and_writes_nothing(fleet, full_audit):
    result, counters, report = full_audit
    assert result.rc != 0, result.stdout[-3000:]
    assert counters['by_category']['write'] == 0, counters['endpoints']
    found = attention(report)
    expected = {'FA-0002', 'FA-0003', 'FA-0004', 'FA-0005', 'FA-0006', 'FA-0007', 'FA-0008', 'FA-0009'}
    assert set(found) == expected, found
    assert 'client certificate expires' in found['FA-0002']['nrfcloud']
    assert 'missing in iotcomms.io' in found['FA-0003']['iotcomms'] and set(found['FA-0003']) == {'iotcomms'}
    assert found['FA-0004']['nrfcloud'].startswith('ERROR for') and found['FA-0004']['nrfcloud'].endswith('(since its last command)')
    assert found['FA-0005']['nrfcloud'].startswith('BLOCKED for')
    assert 'device certificate expires' in found['FA-0006']['ublox']
    assert found['FA-0007'] == {'ublox': 'reported as a clone by u-blox'}
    assert found['FA-0008'] == {'ublox': 'reported as suspicious by u-blox'}
    assert found['FA-0009']['ublox'].startswith('waiting for its bootstrap for '), found['FA-0009']
    assert 'Fleet audit: %d device(s) need attention' % len(expected) in result.stdout


def test_the_stuck_threshold_is_honoured(fleet):
    """The ERROR and BLOCKED devices are minutes old: with the default 24 hours they are not stuck yet."""
    result, counters = fleet.audit('threshold', [fleet.rows[3], fleet.rows[4]])
    assert counters['by_category']['write'] == 0, counters['endpoints']
    assert result.rc == 0, result.stdout[-3000:]
    assert attention(fleet.report('threshold')) == {}


def test_check_mode_writes_nothing_and_finds_the_same(fleet, full_audit):
    result, counters = fleet.audit('all', fleet.rows, check=True, fleet_audit_stuck_hours='0')
    assert result.rc != 0
    assert counters['by_category']['write'] == 0, counters['endpoints']
    assert set(attention(fleet.report('all', check=True))) == set(attention(full_audit[2]))


def test_a_clean_fleet_passes_with_rc_0(fleet):
    result, counters = fleet.audit('clean', [fleet.rows[0]], fleet_audit_expiry_days='30', fleet_audit_fail_on_findings='true')
    assert result.rc == 0, result.stdout[-3000:]
    assert counters['by_category']['write'] == 0, counters['endpoints']
    report = fleet.report('clean')
    assert report['verdict']['needs_attention'] == 0 and report['verdict']['done'] == 1
    assert set(report['devices'][0]['clouds']) == {'nrfcloud', 'ublox', 'iotcomms', 'naocloud'}


def test_findings_do_not_fail_the_play_when_told_so(fleet):
    """The switch given on the command line, as text (-e key=value), as AWX passes a survey answer."""
    result, dummy = fleet.audit('nofail', [fleet.rows[1]], extra=['-e', 'fleet_audit_fail_on_findings=false', '-e', 'fleet_audit_expiry_days=30'])
    assert result.rc == 0, result.stdout[-3000:]
    assert set(attention(fleet.report('nofail'))) == {'FA-0002'}


def test_devices_not_seen_for_days_on_ubloxs_clock(fleet):
    """u-blox's clock moves 10 days on (no heartbeat meanwhile): with not_seen_days 7 every u-blox device is silent; the
    security module judges it on u-blox's clock."""
    rows = [fleet.rows[0], fleet.rows[5]]
    fleet.mock.admin.advance_clock(10 * 86400)
    # iotcomms.io refuses a JWT whose iat is more than an hour off its clock: it is left out of this audit
    result, counters = fleet.audit('silent', rows, fleet_audit_expiry_days=1, fleet_audit_iotcomms_enabled=False)
    assert result.rc != 0 and counters['by_category']['write'] == 0, counters['endpoints']
    found = attention(fleet.report('silent'))
    assert set(found) == {'FA-0001', 'FA-0006'}, found
    assert found['FA-0001']['ublox'].startswith('not seen for more than 7 days')
