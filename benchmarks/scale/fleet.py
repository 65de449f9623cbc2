# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark fleet: N factory-fresh devices seeded in the mock, every one with all four identities.

Each device (manifest row) has an nRF Cloud attestation token (an nRF91 modem not yet claimed), a
u-blox ROTPublicUID and IMEI (a module that bootstrapped with the bench Root CA but is neither
whitelisted, tagged nor provisioned), an iotcomms.io SIP device id (not created yet) and a NAO Cloud
BLE tag MAC (not registered yet). So every device costs the work of all four clouds.
"""

from __future__ import annotations

import os

import requests

from mock_server import credentials  # pylint: disable=import-error
from mock_server.factory_ca import write_factory_ca  # pylint: disable=import-error

# Small nRF simulator timings, so that the benchmark measures the software and not made-up device latency:
# a claimed device "connects" 50 ms after it gets commands, runs each command in 10 ms, and a bulk
# onboarding operation of nRF Cloud device management finishes 50 ms after it was accepted.
SIMULATOR = {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05}
# The poll interval of both the role (factory_onboarding_nrfcloud_wait_interval) and the baseline's until loops.
POLL_INTERVAL = 0.2
UBLOX_CA = 'bench-factory-ca'
UBLOX_TAG = 'bench-batch'
SITE_ID = credentials.NAOCLOUD_SITES[0]['id']
SEC_TAG = 16842753
AUTHORIZATIONS = {'local_dpr': True}
COLUMNS = ['serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'naocloud_mac', 'naocloud_name']


def reset(mock):
    """A clean mock (state, counters, faults) with the bench simulator timings."""
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(**SIMULATOR)


def ublox_token(mock):
    response = requests.post(mock.url + '/ublox/v1/authenticate', timeout=30,
                             json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    response.raise_for_status()
    return response.json()['AuthToken']


def seed(mock, count, first=0):
    """Seed ``count`` factory-fresh devices (numbered from ``first``) and return the manifest rows."""
    nrf = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']
    token = ublox_token(mock)
    if UBLOX_CA not in [ca['CAName'] for ca in requests.post(mock.url + '/ublox/v1/ztp/rootca/get', headers={'Authorization': token},
                                                             json={}, timeout=30).json().get('CAs') or []]:
        requests.post(mock.url + '/ublox/v1/ztp/rootca/create', headers={'Authorization': token}, timeout=30,
                      json={'CAName': UBLOX_CA, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 365}).raise_for_status()
    rots = ['0002%012x' % (0xbe0000 + first + index) for index in range(count)]
    for start in range(0, count, 1000):
        mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': rot, 'CAName': UBLOX_CA} for rot in rots[start:start + 1000]]})
    imeis = dict((d['ROTPublicUID'], d['Core']['IMEI']) for d in mock.admin.state()['ublox']['devices'])
    rows = []
    for index in range(count):
        number = first + index + 1
        rows.append(dict(serial='BENCH-%05d' % number, nrfcloud_claim_token=nrf[index]['claim_token'], nrfcloud_device_id=nrf[index]['device_id'],
                         ublox_rot_public_uid=rots[index], ublox_imei=imeis[rots[index]], iotcomms_device_id='46800%05d' % number,
                         naocloud_mac='BE:0C:%02X:%02X:%02X:%02X' % (number >> 24 & 255, number >> 16 & 255, number >> 8 & 255, number & 255),
                         naocloud_name='Bench tracker %d' % number))
    return rows


def write_manifest(rows, path):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(','.join(COLUMNS) + '\n')
        for row in rows:
            handle.write(','.join(row.get(column, '') for column in COLUMNS) + '\n')
    return path


def make_factory_ca(workdir):
    """The bench's own factory CA (P-256, made up); returns (certificate path, key path)."""
    return write_factory_ca(workdir, 'Bench Factory CA')


def environment(mock, workdir, root):
    """The credentials as AWX would inject them (the modules' environment fallbacks) and the collection path."""
    env = dict(os.environ)
    env.update(mock.api_urls())
    env.update(NRFCLOUD_API_KEY=credentials.NRFCLOUD_TEAM_A_API_KEY, UBLOX_API_KEY=credentials.UBLOX_API_KEY,
               UBLOX_API_SECRET=credentials.UBLOX_API_SECRET, IOTCOMMS_DOMAIN=credentials.IOTCOMMS_DOMAIN,
               IOTCOMMS_PRIVATE_KEY_PATH=credentials.IOTCOMMS_PRIVATE_KEY_PATH, NAOCLOUD_API_KEY=credentials.NAOCLOUD_API_KEY)
    collections = os.path.join(workdir, 'collections')
    link = os.path.join(collections, 'ansible_collections', 'iotops', 'provisioning')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(root, link)
    # The mock is on loopback: never through a proxy of the environment.
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        env.pop(name, None)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_DEPRECATION_WARNINGS='0')
    return env


def inventory(path, manifest, ca_paths, report_dir, chunk_size, concurrency):
    """The role's inventory: localhost, the bench manifest and CA, the chunking and concurrency under test."""
    text = '''all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
  vars:
    factory_onboarding_manifest: %(manifest)s
    factory_onboarding_batch_name: %(tag)s
    factory_onboarding_report_dir: %(reports)s
    factory_onboarding_chunk_size: %(chunk)d
    factory_onboarding_concurrency: %(concurrency)d
    factory_onboarding_nrfcloud_ca_certificate: "{{ lookup('ansible.builtin.file', '%(ca)s') }}"
    factory_onboarding_nrfcloud_ca_private_key: "{{ lookup('ansible.builtin.file', '%(key)s') }}"
    factory_onboarding_nrfcloud_wait_interval: %(interval)s
    factory_onboarding_nrfcloud_wait_timeout: 900
    factory_onboarding_ublox_authorizations:
      local_dpr: true
    factory_onboarding_naocloud_site_id: %(site)d
''' % dict(manifest=manifest, tag=UBLOX_TAG, reports=report_dir, chunk=chunk_size, concurrency=concurrency, ca=ca_paths[0],
           key=ca_paths[1], interval=POLL_INTERVAL, site=SITE_ID)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return path


def check_onboarded(mock, rows):
    """Problems with the mock's state after an onboarding run (an empty list when every device is done everywhere)."""
    state = mock.admin.state()
    problems = []
    ids = set(row['nrfcloud_device_id'] for row in rows)
    claimed = dict((d['id'], d['status']) for d in state['nrfcloud']['teams']['a']['claimedDevices'] if d['id'] in ids)
    provisioned = sum(1 for status in claimed.values() if status == 'PROVISIONED')
    if provisioned != len(rows):
        problems.append('nRF Cloud: %d of %d devices PROVISIONED' % (provisioned, len(rows)))
    return problems
