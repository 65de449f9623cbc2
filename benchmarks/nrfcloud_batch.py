# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One nrfcloud_provisioning task for N factory-fresh devices (claim, CSR, sign, certificate, finished) against the mock.

Usage: python benchmarks/nrfcloud_batch.py [N] [--concurrency C]
Prints the task's wall time, devices/s and API calls per device, then the same for a second
(no-op) run. A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from iotops_mock import credentials
from iotops_mock.client import MockServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLAY = '''
- name: nRF Cloud batch
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Provision the batch in one task
      iotops.provisioning.nrfcloud_provisioning:
        api_url: "%(url)s/nrfcloud/v1"
        provisioning_api_url: "%(url)s/nrfcloud-provisioning/v1"
        api_key: "%(key)s"
        devices: "{{ lookup('ansible.builtin.file', '%(devices)s') | from_json }}"
        commands:
          - kind: certificateSigningRequest
            description: Generate CSR
        sign_csr:
          ca_certificate: "{{ lookup('ansible.builtin.file', '%(ca)s/factory-ca.pem') }}"
          ca_private_key: "{{ lookup('ansible.builtin.file', '%(ca)s/factory-ca.key') }}"
        wait_for: PROVISIONED
        wait_interval: 0.25
        concurrency: %(concurrency)d
'''


def collections_root(workdir):
    root = os.path.join(workdir, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'iotops'))
    os.symlink(ROOT, os.path.join(root, 'ansible_collections', 'iotops', 'provisioning'))
    return root


def run_once(playbook, env, admin):
    admin.reset_counters()
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook], env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit('ansible-playbook failed')
    return elapsed, admin.counters()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('devices', nargs='?', type=int, default=200)
    parser.add_argument('--concurrency', type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, MockServer(workdir) as mock:
        mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.2, 'command_delay': 0.02})
        batch = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': args.devices})['devices']
        # factory-fresh modems, powered on at the line as soon as they are claimed
        mock.admin.online([{'nrfcloud': d['device_id']} for d in batch], after=0, since='claimed')
        devices_file = os.path.join(workdir, 'devices.json')
        with open(devices_file, 'w') as handle:
            json.dump([{'claim_token': d['claim_token']} for d in batch], handle)
        playbook = os.path.join(workdir, 'play.yml')
        with open(playbook, 'w') as handle:
            handle.write(PLAY % dict(url=mock.url, key=credentials.NRFCLOUD_TEAM_A_API_KEY, devices=devices_file,
                                     ca=os.path.join(ROOT, 'extensions', 'molecule', 'nrfcloud_provisioning', 'files'),
                                     concurrency=args.concurrency))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(workdir), ANSIBLE_LOCALHOST_WARNING='0',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
        for label in ('first run', 'second run (no-op)'):
            elapsed, counts = run_once(playbook, env, mock.admin)
            cats = counts['by_category']
            print('%-20s %4d devices  %6.2f s  %6.1f devices/s  calls/device %.2f (reads %.2f, writes %.2f)' % (
                label, args.devices, elapsed, args.devices / elapsed, counts['total'] / args.devices,
                cats['read'] / args.devices, cats['write'] / args.devices))
        states = [d['status'] for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices']]
        print('devices PROVISIONED in the mock: %d of %d' % (states.count('PROVISIONED'), args.devices))


if __name__ == '__main__':
    main()
