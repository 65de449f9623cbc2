# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo: onboard a factory-fresh batch across the four vendor clouds of the mock (mock_cloud/) as its devices come online - a
first run that leaves the devices not yet powered on waiting, a second run 20 minutes later that completes them, a third that
changes nothing - then rotate the certificates that expire within the window; then day 2: an audit finds the devices the demo
made misbehave, one of them is decommissioned, the other is taken out of trust by the incident response, and a last
audit shows the first gone and the second out of service.

Run through `bash hacking/demo.sh` (which prepares the virtualenv). Everything it makes goes to
`.demo/` in the repository: the mock's endpoints file and private CA, the factory CA of the demo,
the manifest, the playbook logs and the reports.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import requests

try:
    # the mock is a package of its own in the virtualenv, not part of the collection
    from iotops_mock import credentials
    from iotops_mock.client import MockServer
    from iotops_mock.factory_ca import write_factory_ca
except ImportError as exc:
    sys.exit('The demo runs against the mock of the vendor clouds, a Python package of its own (iotops-mock-cloud): install it '
             'into this Python from a checkout of the collection with `pip install ./mock_cloud` (%s)' % exc)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, 'playbooks')

UBLOX_CA = 'demo-factory-ca'
UBLOX_PROFILE = 'DemoLineModuleProfile01'
SITE_ID = credentials.NAOCLOUD_SITES[0]['id']
LATER = 1200   # the devices of the second wave are powered on 20 minutes after the first run


def make_factory_ca(workdir):
    """The demo's own factory CA (made up, written next to the other demo files)."""
    return write_factory_ca(workdir, 'Demo Factory CA')


def seed(mock, count):
    """A factory-fresh batch: half nRF91 trackers (not claimed), half u-blox modules (not bootstrapped, sealed with the line's
    device profile, whose Root CA gives them 30-day certificates); every device also has a SIP identity and a BLE tag.

    Three in five devices are powered on at the line as soon as the job has prepared them (claimed, whitelisted); the others
    20 minutes later. Returns the manifest rows and how many devices come in each wave."""
    mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.2, 'command_delay': 0.02, 'bulk_delay': 0.2})
    half = count // 2
    nrf = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': half})['devices']
    token = requests.post(mock.url + '/ublox/v1/authenticate', timeout=10,
                          json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET}).json()['AuthToken']
    requests.post(mock.url + '/ublox/v1/ztp/rootca/create', headers={'Authorization': token}, timeout=10,
                  json={'CAName': UBLOX_CA, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 30}).raise_for_status()
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': UBLOX_PROFILE, 'ProfileName': 'Demo line modules',
                                                               'CAName': UBLOX_CA}]})
    modules = mock.admin.manufacture_ublox({'count': count - half, 'DeviceProfileUID': UBLOX_PROFILE})['devices']
    rows, physical = [], []
    for index in range(count):
        row = dict(serial='DEMO-%04d' % (index + 1), iotcomms_device_id='46700%05d' % (index + 1),
                   naocloud_mac='AA:BB:CC:%02X:%02X:%02X' % (index // 65536, index // 256 % 256, index % 256),
                   naocloud_name='Demo tracker %d' % (index + 1))
        if index < half:
            row['nrfcloud_claim_token'] = nrf[index]['claim_token']
            physical.append(('claimed', {'nrfcloud': nrf[index]['device_id']}))
        else:
            module = modules[index - half]
            row.update(ublox_rot_public_uid=module['ROTPublicUID'], ublox_imei=module['IMEI'])
            physical.append(('whitelisted', {'ublox': module['ROTPublicUID']}))
        rows.append(row)
    first = 0
    for since in ('claimed', 'whitelisted'):
        devices = [device for kind, device in physical if kind == since]
        now = len(devices) * 3 // 5
        mock.admin.online(devices, waves=[{'count': now, 'after': 0, 'since': since}, {'count': len(devices) - now, 'after': LATER}])
        first += now
    return rows, first, count - first


def write_manifest(rows, path):
    columns = ['serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'naocloud_mac', 'naocloud_name']
    with open(path, 'w') as handle:
        handle.write(','.join(columns) + '\n')
        for row in rows:
            handle.write(','.join(row.get(c, '') for c in columns) + '\n')


def environment(mock, workdir, collections_path=None):
    """The credentials the way AWX would inject them: environment variables named as the modules' fallbacks.

    The collection comes from ``collections_path`` (a directory holding ansible_collections/, e.g. where
    the built tarball was installed) or else from this checkout, through a symlink in the demo directory.
    """
    env = dict(os.environ)
    env.update(mock.api_urls())
    env.update(NRFCLOUD_API_KEY=credentials.NRFCLOUD_TEAM_A_API_KEY, UBLOX_API_KEY=credentials.UBLOX_API_KEY,
               UBLOX_API_SECRET=credentials.UBLOX_API_SECRET, IOTCOMMS_DOMAIN=credentials.IOTCOMMS_DOMAIN,
               IOTCOMMS_PRIVATE_KEY_PATH=credentials.IOTCOMMS_PRIVATE_KEY_PATH, NAOCLOUD_API_KEY=credentials.NAOCLOUD_API_KEY)
    if collections_path:
        collections = os.path.abspath(collections_path)
        if not os.path.isfile(os.path.join(collections, 'ansible_collections', 'iotops', 'provisioning', 'MANIFEST.json')):
            raise SystemExit('--collections-path %s has no installed iotops.provisioning (ansible_collections/iotops/provisioning)'
                             % collections_path)
    else:
        collections = os.path.join(workdir, 'collections')
        os.makedirs(os.path.join(collections, 'ansible_collections', 'iotops'), exist_ok=True)
        link = os.path.join(collections, 'ansible_collections', 'iotops', 'provisioning')
        if not os.path.islink(link):
            os.symlink(ROOT, link)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1')
    return env


def play(name, args, env, log_path):
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', os.path.join(PLAYBOOKS, 'demo', 'inventory.yml')]
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run(command + args, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    with open(log_path) as log:
        text = log.read()
    recap = re.findall(r'^localhost\s+:\s+(.*)$', text, re.M)
    print('%-38s %6.1f s  %s' % (name, elapsed, re.sub(r'\s+', ' ', recap[-1]).strip() if recap else 'no recap'))
    if proc.returncode != 0:
        print(text[-4000:])
        raise SystemExit('%s failed (exit %d); log: %s' % (name, proc.returncode, log_path))
    return text


def verdict(text):
    """The verdict line the role printed (``30 of 50 onboarded · 20 waiting for the device``)."""
    found = re.findall(r'"(\d+ of \d+ onboarded[^"]*)"', text)
    return found[-1] if found else 'no verdict'


def first_line(text):
    """The first line of the verdict the role printed last (``msg`` list of its summary task)."""
    found = re.findall(r'"msg": \[\s*"([^"]*)"', text)
    return found[-1] if found else 'no verdict'


def day_two(mock, rows, env, common, workdir):
    """Day 2: two u-blox modules misbehave (u-blox flags one as a clone, the other as suspicious); the audit finds them, the
    clone is decommissioned and the suspicious one taken out of trust by the incident response (each in check mode first,
    which must send no write), and the audit run again shows the clone gone from every cloud and the other out of service."""
    modules = [row for row in rows if row.get('ublox_rot_public_uid')]
    clone, suspicious = modules[0], modules[1]
    mock.admin.seed('ublox', 'clone', {'ROTPublicUIDs': [clone['ublox_rot_public_uid']], 'DaysAgo': 1})
    mock.admin.seed('ublox', 'suspicious', {'ROTPublicUIDs': [suspicious['ublox_rot_public_uid']]})
    print('day 2: u-blox flags %s as a clone and %s as suspicious' % (clone['serial'], suspicious['serial']))
    # the audit fails a job with findings (AWX alerts on it); the demo reads its verdict instead
    audit = [os.path.join(PLAYBOOKS, 'fleet_audit.yml'), '-e', 'fleet_audit_fail_on_findings=false'] + common
    text = play('fleet_audit.yml', audit, env, os.path.join(workdir, 'audit-1.log'))
    print('  %s' % first_line(text))
    decommission = [os.path.join(PLAYBOOKS, 'decommission.yml'), '-e', 'decommission_serials=%s' % clone['serial']] + common
    runbook(mock, 'decommission', decommission, env, workdir)
    incident = [os.path.join(PLAYBOOKS, 'incident_response.yml'), '-e', 'incident_response_serials=%s' % suspicious['serial'],
                '-e', 'incident_response_ticket=SEC-0001', '-e', "incident_response_reason='reported as suspicious by u-blox'"] + common
    runbook(mock, 'incident_response', incident, env, workdir)
    text = play('fleet_audit.yml (again)', audit, env, os.path.join(workdir, 'audit-2.log'))
    print('  %s' % first_line(text))
    # neither device is a finding any more, and neither is counted healthy
    if not re.search(r'\d+ of \d+ healthy · 2 out of service', first_line(text)) or 'attention' in first_line(text):
        raise SystemExit('the last audit does not show the two devices out of service; see %s' % os.path.join(workdir, 'audit-2.log'))


def runbook(mock, role, args, env, workdir):
    """A runbook that changes the fleet: in check mode first (no write may reach the mock), then confirmed."""
    writes = mock.admin.counters()['by_category']['write']
    check_log = os.path.join(workdir, '%s-check.log' % role)
    play('%s.yml --check' % role, args + ['--check'], env, check_log)
    if mock.admin.counters()['by_category']['write'] != writes:
        raise SystemExit('%s.yml --check sent a write; see %s' % (role, check_log))
    text = play('%s.yml' % role, args + ['-e', '%s_confirm=true' % role], env, os.path.join(workdir, '%s.log' % role))
    print('  %s (%d writes)' % (first_line(text), mock.admin.counters()['by_category']['write'] - writes))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--devices', type=int, default=50)
    parser.add_argument('--collections-path', help='run the collection installed under this path (it holds ansible_collections/) '
                        'instead of this checkout, e.g. after ansible-galaxy collection install')
    options = parser.parse_args()
    workdir = os.path.join(ROOT, '.demo')
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    with MockServer(os.path.join(workdir, 'mock')) as mock:
        print('mock server: %s (HTTPS %s)' % (mock.url, mock.https_url))
        rows, first, later = seed(mock, options.devices)
        manifest = os.path.join(workdir, 'manifest.csv')
        write_manifest(rows, manifest)
        make_factory_ca(workdir)
        env = environment(mock, workdir, options.collections_path)
        common = ['-e', 'demo_dir=%s' % workdir]
        onboard = [os.path.join(PLAYBOOKS, 'onboard.yml')] + common
        print('manifest: %s (%d factory-fresh devices: %d are powered on as the job prepares them, %d 20 minutes later)'
              % (manifest, len(rows), first, later))
        text = play('onboard.yml (first run)', onboard, env, os.path.join(workdir, 'onboard-1.log'))
        print('  %s' % verdict(text))
        print('20 minutes later: the other %d devices are powered on (the mock\'s clock moves on %d s)' % (later, LATER))
        mock.admin.advance_clock(LATER)
        text = play('onboard.yml (second run)', onboard, env, os.path.join(workdir, 'onboard-2.log'))
        print('  %s' % verdict(text))
        if not re.search(r'"%d of %d onboarded - complete"' % (len(rows), len(rows)), text):
            raise SystemExit('the second run did not complete the batch; see %s' % os.path.join(workdir, 'onboard-2.log'))
        third = play('onboard.yml (third run)', onboard, env, os.path.join(workdir, 'onboard-3.log'))
        if not re.search(r'^localhost\s+:.*changed=0\s', third, re.M):
            raise SystemExit('the third onboarding run changed something; see %s' % os.path.join(workdir, 'onboard-3.log'))
        play('rotate_certificates.yml', [os.path.join(PLAYBOOKS, 'rotate_certificates.yml')] + common, env,
             os.path.join(workdir, 'rotate.log'))
        day_two(mock, rows, env, common, workdir)
        counts = mock.admin.counters()
        print('mock calls so far: %d (reads %d, writes %d)' % (counts['total'], counts['by_category']['read'], counts['by_category']['write']))
    reports = sorted(os.path.join(dirpath, name) for dirpath, dummy, names in os.walk(os.path.join(workdir, 'reports')) for name in names)
    print('reports:')
    for path in reports:
        print('  ' + path)


if __name__ == '__main__':
    main()
