# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark fleet: N factory-fresh devices seeded in the mock, every one with all four identities.

Each device (manifest row) has an nRF Cloud attestation token (an nRF91 modem not yet claimed), a
u-blox ROTPublicUID and IMEI (a module made at the factory, sealed with the bench's device profile,
that has not bootstrapped: u-blox does not know it yet), an iotcomms.io SIP device id (not created
yet) and a NAO Cloud BLE tag MAC (not registered yet). So every device costs the work of all four
clouds, along the vendors' path for devices that are not online yet.

When the devices come online (``ONLINE``):
- ``prepared`` (the default): each radio is powered on at the line as soon as the run has prepared it
  for its cloud - the u-blox module once it is on the whitelist, the nRF91 once it is claimed (``after``
  0). The run then never waits for a device longer than the device's own simulated latency, so its
  figures compare with those of the earlier, already bootstrapped fleet;
- ``waves``: the mock's ``default`` waves (half at once, 30 % after 5 s, the rest after 15 s), each
  counted from the same events, so that a run also waits for devices (waiting vs API time). They are
  not counted from when the schedule is posted: a module powered on before the run whitelists it
  bootstraps ALLOCATED, without features, and needs a person - a different case from a late device.
"""

from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

import requests
from iotops_mock import credentials
from iotops_mock.factory_ca import write_factory_ca


def _expected_state():
    """The trust suites' expected_state module, loaded from its file (tests/ is not a package on the import path)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'tests', 'suites', 'expected_state.py')
    spec = importlib.util.spec_from_file_location('iotops_expected_state', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_EXPECTED_STATE = _expected_state()
Expectation, compare = _EXPECTED_STATE.Expectation, _EXPECTED_STATE.compare

# Small nRF simulator timings, so that the benchmark measures the software and not made-up device latency:
# a claimed device "connects" 50 ms after it gets commands, runs each command in 10 ms, and a bulk
# onboarding operation of nRF Cloud device management finishes 50 ms after it was accepted.
SIMULATOR = {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05}
# The poll interval of both the role (factory_onboarding_wait_interval) and the baseline's until loops.
POLL_INTERVAL = 0.2
# factory_onboarding_wait: what the run may wait for devices in all; far more than any run here needs, so that a
# device still waiting at the end is a fault of the run, not of the budget.
WAIT = 900
UBLOX_CA = 'bench-factory-ca'
UBLOX_PROFILE = 'BenchLineModuleProfile1'
UBLOX_TAG = 'bench-batch'
SITE_ID = credentials.NAOCLOUD_SITES[0]['id']
SEC_TAG = 16842753
COLUMNS = ['serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'naocloud_mac', 'naocloud_name']
# (cloud, the event its countdown starts at) for each radio of a device; see the module's docstring.
EVENTS = (('ublox', 'whitelisted'), ('nrfcloud', 'claimed'))
ONLINE = {'prepared': [{'share': 1, 'after': 0}], 'waves': 'default'}
SEED_CHUNK = 1000   # devices per admin seed call (each call answers within the admin client's timeout)


def reset(mock):
    """A clean mock (state, counters, faults) with the bench simulator timings."""
    mock.admin.reset()
    mock.admin.nrfcloud_simulator(**SIMULATOR)


# The seed of the latency draws, so that two runs of the benchmark see the same answer times.
LATENCY_SEED = 7


def slow_cloud(mock, latency=0.0, jitter=0.0, rate=None):
    """Make the mock answer like a cloud far away: every vendor request waits ``latency`` seconds, drawn evenly within
    +/- ``jitter`` (seeded), and each vendor account gets at most ``rate`` requests/s (429 with Retry-After beyond)."""
    if latency:
        mock.admin.add_fault(kind='latency', seconds=latency, jitter=jitter, seed=LATENCY_SEED, count=None)
    if rate:
        mock.admin.call('POST', '/ratelimits', {'rate': rate, 'window': 1.0})


def ublox_token(mock):
    response = requests.post(mock.url + '/ublox/v1/authenticate', timeout=30,
                             json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    response.raise_for_status()
    return response.json()['AuthToken']


def line(mock):
    """The line's u-blox set-up, done once in the Thingstream portal: the Root CA that signs the modules' certificates, and the
    device profile the modules are sealed with (only a seed makes profiles)."""
    token = ublox_token(mock)
    if UBLOX_CA not in [ca['CAName'] for ca in requests.post(mock.url + '/ublox/v1/ztp/rootca/get', headers={'Authorization': token},
                                                             json={}, timeout=30).json().get('CAs') or []]:
        requests.post(mock.url + '/ublox/v1/ztp/rootca/create', headers={'Authorization': token}, timeout=30,
                      json={'CAName': UBLOX_CA, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 365}).raise_for_status()
    if UBLOX_PROFILE not in [p['DeviceProfileUID'] for p in mock.admin.state()['ublox']['deviceProfiles']]:
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': UBLOX_PROFILE, 'ProfileName': 'Bench line modules',
                                                                   'CAName': UBLOX_CA}]})


def seed(mock, count, first=0, online='prepared'):
    """Seed ``count`` factory-fresh devices (numbered from ``first``), time when they come online (``ONLINE``), and return the
    manifest rows."""
    nrf = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']
    line(mock)
    modules = []
    for start in range(0, count, SEED_CHUNK):
        modules += mock.admin.manufacture_ublox({'count': min(SEED_CHUNK, count - start), 'start': 0xbe0000 + first + start,
                                                 'DeviceProfileUID': UBLOX_PROFILE})['devices']
    rows = []
    for index in range(count):
        number = first + index + 1
        rows.append(dict(serial='BENCH-%05d' % number, nrfcloud_claim_token=nrf[index]['claim_token'], nrfcloud_device_id=nrf[index]['device_id'],
                         ublox_rot_public_uid=modules[index]['ROTPublicUID'], ublox_imei=modules[index]['IMEI'],
                         iotcomms_device_id='46800%05d' % number,
                         naocloud_mac='BE:0C:%02X:%02X:%02X:%02X' % (number >> 24 & 255, number >> 16 & 255, number >> 8 & 255, number & 255),
                         naocloud_name='Bench tracker %d' % number))
    schedule_online(mock, rows, online)
    return rows


def schedule_online(mock, rows, online):
    """Tell the mock when each radio comes online: ``ONLINE[online]`` waves, counted from the event of its cloud (``EVENTS``).

    The two radios of a row are named apart, each with the event of its own cloud, so that each comes online when its own
    cloud's step has prepared it, whatever the order of the steps (a device named with both identities counts from one
    event for both clouds); in the same order, so that both radios of a row are in the same wave."""
    keys = {'ublox': 'ublox_rot_public_uid', 'nrfcloud': 'nrfcloud_device_id'}
    for cloud, since in EVENTS:
        mock.admin.online([{cloud: row[keys[cloud]]} for row in rows], waves=ONLINE[online], since=since)


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
    factory_onboarding_wait: %(wait)d
    factory_onboarding_wait_interval: %(interval)s
    factory_onboarding_ublox_device_profile: %(profile)s
    factory_onboarding_ublox_authorizations:
      local_dpr: true
    factory_onboarding_naocloud_site_id: %(site)d
''' % dict(manifest=manifest, tag=UBLOX_TAG, reports=report_dir, chunk=chunk_size, concurrency=concurrency, ca=ca_paths[0],
           key=ca_paths[1], wait=WAIT, interval=POLL_INTERVAL, profile=UBLOX_PROFILE, site=SITE_ID)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return path


def check_onboarded(mock, rows):
    """Problems with the mock's state after an onboarding run (an empty list when it is exactly the state of a batch done
    everywhere: each nRF91 PROVISIONED with a certificate of its own key and onboarded, each u-blox module whitelisted and
    bootstrapped ACTIVATED with the batch tag and LocalDPR, each SIP device and tracking tag there, nothing twice).

    The trust suites' expectation of the role's end state (tests/suites/expected_state.py), for the bench's role variables."""
    batch = SimpleNamespace(rows=[dict(row, _nrfcloud=row['nrfcloud_device_id']) for row in rows],
                            nrf_ids=[row['nrfcloud_device_id'] for row in rows])
    expectation = Expectation(batch, UBLOX_TAG, SEC_TAG, SITE_ID, '')
    return compare(expectation.expected(), expectation.actual(mock.admin.state(), credentials.IOTCOMMS_DOMAIN))
