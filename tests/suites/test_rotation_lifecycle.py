# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate rotation for the life of a device: the documented daily schedule, with the role's defaults.

A fleet of onboarded nRF Cloud devices whose client certificates expire at different times is rotated by
``playbooks/rotate_certificates.yml`` once a day for 30 days of the mock's clock (which the modules judge
expiry by: the cloud's Date header). nRF Cloud allows at most 20 provisioning commands per claimed device and
has no call to delete them, so a schedule that rotated every run would strand the devices within a week.
What must hold: no run fails, no device ever holds more than 20 commands, every device that fell due was
rotated exactly once (on the day it entered the window), the others never, and the device close to the limit
is warned about without failing.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_provisioning
from iotops_mock.factory_ca import factory_ca_pems

from . import harness

DAYS = int(os.environ.get('IOTOPS_ROTATION_DAYS', '30'))
DAY = 86400
WINDOW = 30  # the role's default
SIM = {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05}
# validity of the factory certificates -> on which day the device enters the 30-day window
GROUPS = (
    ('expiring', 10, 4, 0),       # due at once
    ('day-10', 40, 4, 10),
    ('day-25', 55, 4, 25),
    ('long-lived', 3650, 4, None),
    ('near-limit', 12, 2, 0),      # 14 extra commands: 17 used, the rotation makes 19 - warned, not failed
)


def onboard(mock, creds, run, ca, count, validity_days, padding):
    devices = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']
    commands = [{'kind': 'config', 'description': 'setting %d' % n, 'config': {'k%d' % n: 'v'}} for n in range(padding)]
    commands.append({'kind': 'certificateSigningRequest', 'description': 'Generate CSR', 'attributes': 'O=Line 7,C=no'})
    result = run(nrfcloud_provisioning, dict(
        provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
        api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_interval=0.05, wait_timeout=60, wait_for='PROVISIONED',
        devices=[{'claim_token': d['claim_token']} for d in devices], commands=commands,
        sign_csr={'ca_certificate': ca[0], 'ca_private_key': ca[1], 'validity_days': validity_days}))
    assert not result.get('failed'), result.get('msg')
    return devices


def certificates_by_device(mock):
    """{device id: number of client certificates in its history, number of commands}."""
    found = {}
    for device in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices']:
        kinds = [c['kind'] if 'kind' in c else next(iter(c.get('request') or {'?': 0})) for c in device['commands']]
        found[device['id']] = (kinds.count('clientCertificate'), len(kinds))
    return found


def test_daily_rotation_for_30_days_strands_no_device(mock, creds, run, workdir):
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(**SIM)
    ca = factory_ca_pems('Rotation Suite Factory CA')
    groups = {}
    for name, validity, count, _due in GROUPS:
        groups[name] = [d['device_id'] for d in onboard(mock, creds, run, ca, count, validity, 14 if name == 'near-limit' else 0)]
    reports = os.path.join(workdir, 'reports')
    inventory = harness.write_inventory(os.path.join(workdir, 'inventory.json'), {
        # the documented schedule: the playbook as it is, once a day, with the factory CA; everything else default
        'certificate_rotation_nrfcloud_ca_certificate': ca[0],
        'certificate_rotation_nrfcloud_ca_private_key': ca[1],
        'certificate_rotation_ublox_enabled': False,   # this fleet has no u-blox modules
        'certificate_rotation_report_dir': reports,
    })
    env = harness.ansible_env(mock, workdir, ANSIBLE_PIPELINING='1')  # one process less per task: 30 runs
    rotated_on = {}
    before = certificates_by_device(mock)
    rows = []
    for day in range(DAYS):
        result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'rotate_certificates.yml'),
                                       '-e', 'certificate_rotation_id=day-%02d' % day], env, workdir, 'day-%02d' % day, timeout=300)
        assert result.rc == 0 and result.failed == 0, 'day %d: %s\n%s' % (day, result.summary(), result.stdout[-4000:])
        now = certificates_by_device(mock)
        for device_id, (certificates, commands) in now.items():
            assert commands <= 20, 'day %d: %s holds %d commands' % (day, device_id, commands)
            if certificates > before[device_id][0]:
                rotated_on.setdefault(device_id, []).append(day)
        rows.append((day, sum(1 for d in now if now[d][0] > before[d][0]), '%.1f s' % result.elapsed))
        before = now
        with open(os.path.join(reports, 'certificate-rotation-day-%02d.json' % day), encoding='utf-8') as handle:
            report = json.load(handle)
        if day == 0:
            near = set(groups['near-limit'])
            warned = [e for e in report['needs_attention'] if e.get('id') in near]
            assert sorted(e['id'] for e in warned) == sorted(near), report['needs_attention']
            assert all('of the 20 provisioning commands used' in (e.get('reason') or '') for e in warned)
        mock.admin.advance_clock(DAY)
    print('\n' + harness.table(('day', 'devices rotated', 'run'), [r for r in rows if r[1]]))
    expected = {}
    for name, _validity, _count, due in GROUPS:
        for device_id in groups[name]:
            if due is not None and due < DAYS:
                expected[device_id] = [due]
    assert rotated_on == expected
    print('%d runs, %d devices, %d rotated once each on the day they fell due, %d never due; max commands %d'
          % (DAYS, len(before), len(expected), len(before) - len(expected), max(c for _n, c in before.values())))


def test_a_device_at_the_limit_is_refused_alone_then_recovered(mock, creds, run, workdir):
    """One device of a chunk of 50 has used 19 commands: the other 49 rotate, it is reported with its id and the recovery; the
    recovery playbook (check mode first) unclaims it, claims and onboards it again, and the next rotation is clean."""
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(**SIM)
    ca = factory_ca_pems('Rotation Suite Factory CA')
    ordinary = [d['device_id'] for d in onboard(mock, creds, run, ca, 49, 10, 0)]
    full = onboard(mock, creds, run, ca, 1, 10, 16)[0]   # 19 commands: a renew needs 2 more
    reports = os.path.join(workdir, 'reports-recovery')
    manifest = os.path.join(workdir, 'recover.csv')
    harness.write_manifest([{'serial': 'R-0001', 'nrfcloud_claim_token': full['claim_token']}], manifest,
                           columns=('serial', 'nrfcloud_claim_token'))
    variables = {'certificate_rotation_nrfcloud_ca_certificate': ca[0], 'certificate_rotation_nrfcloud_ca_private_key': ca[1],
                 'certificate_rotation_ublox_enabled': False, 'certificate_rotation_report_dir': reports,
                 'factory_onboarding_nrfcloud_ca_certificate': ca[0], 'factory_onboarding_nrfcloud_ca_private_key': ca[1],
                 'factory_onboarding_report_dir': reports, 'factory_onboarding_wait': 30, 'factory_onboarding_wait_interval': 0.2}
    inventory = harness.write_inventory(os.path.join(workdir, 'inventory-recovery.json'), variables)
    env = harness.ansible_env(mock, workdir)

    def play(playbook, name, *extra):
        mock.admin.reset_counters()
        result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, playbook)] + list(extra), env, workdir, name)
        return result, mock.admin.counters()['by_category']['write']

    first, _writes = play('rotate_certificates.yml', 'limit-rotate')
    assert first.rc == 2 and first.failed == 1, first.stdout[-3000:]
    # the chunk is shown failed with its count, the device with its id, reason and the recovery
    assert re.search(r'failed: \[localhost\] \(item=devices 1-50 of 50\)', first.stdout), first.stdout[-3000:]
    assert '1 of 50 devices failed' in first.stdout and full['device_id'] in first.stdout
    assert 'used 19 of the 20 provisioning commands' in first.stdout and 'recover_nrfcloud_devices.yml' in first.stdout
    counts = certificates_by_device(mock)
    assert counts[full['device_id']] == (1, 19) and all(counts[d] == (2, 5) for d in ordinary)

    check, writes = play('recover_nrfcloud_devices.yml', 'recover-check', '-e', 'recover_manifest=' + manifest, '--check')
    assert check.rc == 0 and writes == 0 and '1 device(s) would be unclaimed' in check.stdout, check.stdout[-3000:]
    real, writes = play('recover_nrfcloud_devices.yml', 'recover', '-e', 'recover_manifest=' + manifest)
    assert real.rc == 0, real.stdout[-3000:]
    assert certificates_by_device(mock)[full['device_id']] == (1, 3)   # claimed again: CSR, certificate, finished
    again, writes = play('recover_nrfcloud_devices.yml', 'recover-again', '-e', 'recover_manifest=' + manifest)
    assert again.rc == 0 and writes == 0, again.stdout[-3000:]     # converged: not unclaimed twice
    last, writes = play('rotate_certificates.yml', 'after-recovery')
    assert last.rc == 0 and writes == 0, last.stdout[-3000:]        # its new certificate is valid for 10 years
