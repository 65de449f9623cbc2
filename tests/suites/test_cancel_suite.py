# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cancel suite: a job cancelled in the middle of a batch task, then the same job run again (docs/cancel.md).

Each case starts ``ansible-playbook`` in a process group of its own (as ansible-runner's pexpect does), slows the mock's
nRF Cloud provisioning writes down (latency fault) so that the nRF Cloud task lasts several seconds, and signals the run
once the mock has counted a few of those writes, in the middle of the task's first chunk:

- ``SIGTERM`` to the process group of ansible-playbook. The group holds the controller process only: ansible-core's
  workers start sessions of their own (checked before the signal). The controller passes the signal on to its workers,
  and each worker to its own process group, where the module runs.
- ``SIGKILL`` to the process group of ansible-playbook: what ansible-runner (so AWX) does to cancel a job
  (``Runner.handle_termination``: ``os.killpg(os.getpgid(pid), signal.SIGKILL)``). The worker is not in that group and
  survives it: without the collection's ControllerWatch it finished the module and the rest of the task's loop.

After the signal the suite follows every process of the run's sessions until the last one has ended, and counts the
writes the mock received after the signal (and which). Then the same job runs again without faults and must succeed
and leave the mock converged: nothing lost, nothing done twice. A further run must report changed=0 and send no write.

Cases: the certificate_rotation role (``playbooks/rotate_certificates.yml``: u-blox renewals, nRF Cloud client
certificates) under SIGTERM and under SIGKILL, and the factory_onboarding role (``playbooks/onboard.yml``) under SIGTERM
(test_fault_suite.py SIGKILLs every process of an onboarding run at a random write).
"""

from __future__ import annotations

import collections
import os
import signal
import threading
import time

import pytest
import requests
from cryptography import x509

from . import harness
from .expected_state import Expectation, compare

NRF_COMMANDS = 'nrfcloud-provisioning POST /v1/claimed-devices/{device_id}/provisioning'
LATENCY = dict(vendor='nrfcloud-provisioning', method='POST', path=r'^/v1/claimed-devices/[^/]+/provisioning$', kind='latency',
               seconds=0.3, count=None)
SIM = dict(connect_delay=0.1, command_delay=0.01, bulk_delay=0.1)
RUN_TIMEOUT = 180
FOLLOW_LIMIT = 30.0   # seconds the suite follows the processes of a signalled run before it kills them itself
QUIET = 1.0           # seconds without a process of the run and without a write that end the following
CONCURRENCY = 4
# ControllerWatch looks every 0.5 s; the items in flight then finish (one nRF step is 2 writes at 0.3 s latency).
# The one wall-clock bound the tests keep on purpose: real processes must be gone within AWX's 5 s cancel grace
# (docs/cancel.md); no clock hook can stand in for the operating system ending them.
STOP_WITHIN = 5.0

ROTATION_ID = 'cancel-suite'
ROTATION_WINDOW = 30
CA_NAME = 'cancel.example.com'
CSR_ATTRIBUTES = 'O=iotops cancel suite,C=no'
NRF_PER_CASE = 16     # nRF Cloud devices due per rotation case: 4 chunks of 4
UBLOX_PER_CASE = 8    # u-blox devices due per rotation case: 2 chunks of 4
CHUNK = 4

ONBOARD_FLEET = 24    # half nRF91, half u-blox; each also a SIP device and a BLE tag
ONBOARD_BATCH = 'cancel-batch'
ONBOARD_PROFILE = 'CancelSuiteLineProfile1'
SEC_TAG = 16842753
CATEGORY = 'suite'

OUTCOMES = []


def session_processes(sids):
    """The live processes (not zombies) whose session is one of ``sids``."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getsid(pid) not in sids:
                continue
            with open('/proc/%d/stat' % pid, encoding='ascii', errors='replace') as handle:
                state = handle.read().rsplit(')', 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ('Z', 'X'):
            found.append(pid)
    return found


def group_members(pgid):
    members = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    members.append(int(entry))
            except OSError:
                pass
    return members


def writes_by_endpoint(counters):
    """{endpoint: count} of the write calls the mock counted, for the evidence (the assertions use its write category):
    not GET, not a u-blox read (POST .../get), not a login."""
    return dict((k, v) for k, v in counters['endpoints'].items()
                if k.split(' ')[1] != 'GET' and not k.endswith(('/get', '/authenticate', '/refreshtoken', '/login')) and v)


class Canceller(threading.Thread):
    """Sends ``signum`` to the process group of ansible-playbook once the mock has counted ``at`` nRF Cloud provisioning
    writes, then follows every process of the run's sessions (the controller's and its workers') until none is left and
    nothing has been written for QUIET seconds, and measures what happened after the signal."""

    def __init__(self, mock_url, process, signum, at):
        super().__init__(daemon=True)
        self.admin = harness.admin_client(mock_url)
        self.process = process
        self.signum = signum
        self.at = at
        self.stop_event = threading.Event()
        self.fired = False
        self.group = []             # the members of the process group of ansible-playbook when it was signalled
        self.sessions = 0           # sessions of the run (the controller's, one per live worker)
        self.writes_at_signal = None
        self.writes_after = 0       # write calls the mock received after the signal
        self.endpoints_after = {}
        self.last_write = 0.0       # seconds from the signal to the last write received
        self.ended = None           # seconds from the signal until no process of the run was left (first look without)
        self.killed_left = []       # processes still running after FOLLOW_LIMIT seconds (killed by the suite)

    def run(self):
        try:
            while not self.stop_event.is_set() and self.process.poll() is None:
                if self.admin.counters()['endpoints'].get(NRF_COMMANDS, 0) >= self.at:
                    self.fire()
                    return
                self.stop_event.wait(0.01)
        finally:
            self.admin.close()

    def fire(self):
        pid = self.process.pid
        sids = {pid}
        for child in harness.descendants(pid):
            try:
                sids.add(os.getsid(child))
            except OSError:
                pass
        self.group = group_members(pid)
        before = self.admin.counters()
        os.killpg(pid, self.signum)
        started = time.monotonic()
        self.fired = True
        self.sessions = len(sids)
        self.writes_at_signal = before['by_category']['write']
        last_count, quiet_since = self.writes_at_signal, started
        while True:
            now = time.monotonic()
            count = self.admin.counters()['by_category']['write']
            if count != last_count:
                last_count, quiet_since, self.last_write = count, now, now - started
            left = session_processes(sids)
            if left:
                self.ended = None
            elif self.ended is None:
                self.ended = time.monotonic() - started  # the first look that found none: an upper bound
            if self.ended is not None and now - quiet_since >= QUIET and now - started >= QUIET:
                break
            if now - started > FOLLOW_LIMIT:
                self.ended = FOLLOW_LIMIT
                self.killed_left = left
                for leftover in left:  # processes of this run: the suite started them
                    try:
                        os.kill(leftover, signal.SIGKILL)
                    except OSError:
                        pass
                break
            time.sleep(0.05)
        after = self.admin.counters()
        self.writes_after = after['by_category']['write'] - self.writes_at_signal
        was = writes_by_endpoint(before)
        self.endpoints_after = dict((k, v - was.get(k, 0)) for k, v in writes_by_endpoint(after).items() if v - was.get(k, 0))

    def finish(self, timeout):
        self.join(timeout)
        self.stop_event.set()

    def describe(self):
        return ('%s to process group %d (members %s; %d session(s)) at write %d: %d write(s) after it%s%s; '
                'no process of the run left %.2f s after%s'
                % (signal.Signals(self.signum).name, self.process.pid, self.group, self.sessions, self.writes_at_signal,
                   self.writes_after, ' %s' % self.endpoints_after if self.endpoints_after else '',
                   ', the last %.2f s after the signal' % self.last_write if self.writes_after else '', self.ended,
                   '; still running after %.0f s and killed by the suite: %s' % (FOLLOW_LIMIT, self.killed_left)
                   if self.killed_left else ''))


def cancelled_run(mock, args, env, logdir, signum, at):
    """The first run of a case: with the latency fault, signalled at the ``at``-th nRF Cloud provisioning write."""
    mock.admin.reset_counters()
    mock.admin.clear_faults()
    mock.admin.add_fault(**LATENCY)
    cancellers = []

    def on_start(process):
        cancellers.append(Canceller(mock.url, process, signum, at))
        cancellers[0].start()

    first = harness.run_playbook(args, env, logdir, 'first', timeout=RUN_TIMEOUT, on_start=on_start)
    canceller = cancellers[0]
    canceller.finish(FOLLOW_LIMIT + 10)
    mock.admin.clear_faults()
    assert canceller.fired, 'the run ended before %d nRF Cloud provisioning writes: %s\n%s' % (at, first.summary(), first.stdout[-3000:])
    return first, canceller


def converge_and_settle(mock, args, env, logdir):
    """The re-run (must succeed) and the further run (changed=0, no write)."""
    mock.admin.reset_counters()
    rerun = harness.run_playbook(args, env, logdir, 'rerun', timeout=RUN_TIMEOUT)
    rerun_writes = mock.admin.counters()['by_category']['write']
    assert rerun.rc == 0, 'the re-run failed: %s\n%s' % (rerun.summary(), rerun.stdout[-4000:])
    mock.admin.reset_counters()
    further = harness.run_playbook(args, env, logdir, 'further', timeout=RUN_TIMEOUT)
    counters = mock.admin.counters()
    return rerun, rerun_writes, further, counters


def left_behind(state, nrf_ids, histories=None):
    """How the signal left the nRF Cloud devices: {commands added by the run, with their status: devices}."""
    devices = dict((d['id'], d) for d in state['nrfcloud']['teams']['a']['claimedDevices'])
    shapes = collections.Counter()
    for device_id in nrf_ids:
        added = (devices[device_id].get('commands') or []) if device_id in devices else None
        if added is None:
            shapes['not claimed'] += 1
            continue
        added = added[(histories or {}).get(device_id, 0):]
        shapes[' '.join('%s:%s' % (next(iter(c['request'])), c['status']) for c in added) or 'nothing added'] += 1
    return dict(shapes)


def check_cancel(canceller, signum):
    """What every case must show about the signal: only the controller in its process group, writes stopped at the next
    device boundary, every process of the run gone soon after."""
    assert canceller.group == [canceller.process.pid], 'the process group of ansible-playbook holds more than the controller'
    assert canceller.sessions >= 2, 'no worker session was found below ansible-playbook'
    assert not canceller.killed_left, canceller.describe()
    assert canceller.ended <= STOP_WITHIN, canceller.describe()
    # SIGTERM: at most the requests already on their way (one per thread); SIGKILL of the group: at most the device steps
    # in flight (CONCURRENCY devices, 2 writes each: client certificate and finished) - not the rest of the task's loop
    limit = CONCURRENCY if signum == signal.SIGTERM else 2 * CONCURRENCY
    assert canceller.writes_after <= limit, canceller.describe()


def record(case, canceller, first, rerun, rerun_writes, further, counters, problems, left):
    writes = counters['by_category']['write']
    OUTCOMES.append(dict(case=case, evidence=[canceller.describe(), 'nRF Cloud devices as the signal left them: %s' % left,
                                              'first run: %s; re-run: %s in %.1f s, %d writes; further run: %s in %.1f s, %d writes'
                                              % (first.summary(), rerun.summary(), rerun.elapsed, rerun_writes, further.summary(),
                                                 further.elapsed, writes)] + ['state: ' + p for p in problems],
                         row=[case, signal.Signals(canceller.signum).name, canceller.writes_at_signal, canceller.writes_after,
                              '%.2f' % canceller.ended, 'yes' if not problems and rerun.rc == 0 else 'NO',
                              'changed=%s writes=%d' % (further.changed, writes)]))


@pytest.fixture(scope='module')
def suite(mock_server, workdir):
    yield dict(mock=mock_server, workdir=workdir, ca=harness.make_factory_ca(workdir))
    if OUTCOMES:
        print('\n\nCancel suite: a job signalled in the middle of its nRF Cloud task, then run again\n')
        print(harness.table(['case', 'signal', 'writes before', 'writes after', 'no process left after (s)', 're-run converged',
                             'further run'], [o['row'] for o in OUTCOMES]))
        for outcome in OUTCOMES:
            for line in outcome['evidence']:
                print('  %s: %s' % (outcome['case'], line))


def read_pem(path):
    with open(path, encoding='ascii') as handle:
        return handle.read()


# -- onboarding --------------------------------------------------------------------------------------------------------

def test_onboarding_sigterm(suite):
    """SIGTERM in the middle of the nRF Cloud onboarding task; the re-run onboards every device once, exactly."""
    mock, admin = suite['mock'], suite['mock'].admin
    admin.reset()
    admin.nrfcloud_simulator(**SIM)
    admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': ONBOARD_PROFILE}]})
    fleet = harness.Fleet.factory_fresh(mock, ONBOARD_FLEET, ONBOARD_PROFILE, prefix='C')
    fleet.online_when_prepared(mock)
    logdir = os.path.join(suite['workdir'], 'onboarding-sigterm')
    os.makedirs(logdir)
    inventory = harness.write_inventory(os.path.join(logdir, 'inventory.json'), {
        'factory_onboarding_manifest': fleet.write_manifest(os.path.join(logdir, ONBOARD_BATCH + '.csv')),
        'factory_onboarding_batch_name': ONBOARD_BATCH,
        'factory_onboarding_report_dir': os.path.join(logdir, 'reports'),
        'factory_onboarding_chunk_size': CHUNK * 2,
        'factory_onboarding_concurrency': CONCURRENCY,
        'factory_onboarding_nrfcloud_ca_certificate': read_pem(suite['ca'][0]),
        'factory_onboarding_nrfcloud_ca_private_key': read_pem(suite['ca'][1]),
        'factory_onboarding_nrfcloud_sec_tag': SEC_TAG,
        'factory_onboarding_wait': 60,
        'factory_onboarding_wait_interval': 0.3,
        'factory_onboarding_ublox_device_profile': ONBOARD_PROFILE,
        'factory_onboarding_ublox_authorizations': {'local_dpr': True},
        'factory_onboarding_naocloud_site_id': harness.SITE_ID,
        'factory_onboarding_naocloud_category': CATEGORY,
    })
    env = harness.ansible_env(mock, suite['workdir'])
    args = ['-i', inventory, os.path.join(harness.PLAYBOOKS, 'onboard.yml')]

    first, canceller = cancelled_run(mock, args, env, logdir, signal.SIGTERM, at=5)
    left = left_behind(admin.state(), fleet.nrf_ids)
    rerun, rerun_writes, further, counters = converge_and_settle(mock, args, env, logdir)
    expectation = Expectation(fleet, ONBOARD_BATCH, SEC_TAG, harness.SITE_ID, CATEGORY)
    problems = compare(expectation.expected(), expectation.actual(admin.state(), harness.credentials.IOTCOMMS_DOMAIN))
    record('onboarding', canceller, first, rerun, rerun_writes, further, counters, problems, left)
    check_cancel(canceller, signal.SIGTERM)
    assert not problems, '\n'.join(problems)
    assert further.rc == 0 and further.changed == 0 and counters['by_category']['write'] == 0, writes_by_endpoint(counters)


# -- certificate rotation ----------------------------------------------------------------------------------------------

SETUP_PLAYBOOK = '''\
- name: Provision the nRF91 devices of the cancel suite with client certificates that expire in 10 days
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Claim, CSR, sign with the factory CA for 10 days, finished
      iotops.provisioning.nrfcloud_provisioning:
        devices: "{{ cancel_devices }}"
        commands:
          - kind: certificateSigningRequest
            description: Factory CSR
            attributes: "{{ cancel_csr_attributes }}"
        sign_csr:
          ca_certificate: "{{ cancel_ca_certificate }}"
          ca_private_key: "{{ cancel_ca_private_key }}"
          validity_days: 10
        wait_for: PROVISIONED
        wait_timeout: 60
        wait_interval: 0.2
        concurrency: 8
'''


@pytest.fixture(scope='module')
def fleet(suite):
    """A reset mock with one group of due devices per rotation case: u-blox devices whose certificates from CA_NAME expire
    in 10 days, and nRF91 devices provisioned with 10-day client certificates. Returns {case: (nrf ids, u-blox ROTs)} and
    each nRF device's history before any rotation."""
    mock, admin = suite['mock'], suite['mock'].admin
    admin.reset()
    admin.clear_faults()
    admin.nrfcloud_simulator(**SIM)
    answer = requests.post(mock.url + '/ublox/v1/ztp/rootca/create', timeout=10, headers={'Authorization': 'Bearer ' + harness.ublox_token(mock)},
                           json={'CAName': CA_NAME, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 365})
    answer.raise_for_status()
    cases = ('sigterm', 'sigkill')
    groups = {}
    tokens = admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': NRF_PER_CASE * len(cases)})['devices']
    for index, case in enumerate(cases):
        rots = admin.seed('ublox', 'devices', {'count': UBLOX_PER_CASE, 'start': 0x100 * (index + 1), 'CAName': CA_NAME,
                                               'ExpiresInDays': 10, 'IssuedDaysAgo': 355})['added']
        groups[case] = ([d['device_id'] for d in tokens[index * NRF_PER_CASE:(index + 1) * NRF_PER_CASE]], rots)
    logdir = os.path.join(suite['workdir'], 'rotation-setup')
    os.makedirs(logdir)
    playbook = os.path.join(logdir, 'setup.yml')
    with open(playbook, 'w', encoding='utf-8') as handle:
        handle.write(SETUP_PLAYBOOK)
    inventory = harness.write_inventory(os.path.join(logdir, 'inventory.json'), dict(
        cancel_devices=[dict(claim_token=d['claim_token']) for d in tokens], cancel_csr_attributes=CSR_ATTRIBUTES,
        cancel_ca_certificate=read_pem(suite['ca'][0]), cancel_ca_private_key=read_pem(suite['ca'][1])))
    setup = harness.run_playbook(['-i', inventory, playbook], harness.ansible_env(mock, suite['workdir']), logdir, 'setup',
                                 timeout=RUN_TIMEOUT)
    assert setup.rc == 0, setup.stdout[-3000:]
    histories = dict((d['id'], len(d.get('commands') or ())) for d in admin.state()['nrfcloud']['teams']['a']['claimedDevices'])
    return groups, histories


def rotation_problems(state, nrf_ids, rots, histories):
    """Every due certificate rotated exactly once: per nRF device, the commands appended since the setup hold one client
    certificate (valid for more than the window), at most one CSR, one finished and nothing twice, all run, the device
    PROVISIONED; per u-blox device, a renewal from CA_NAME pending (once: the request is the device's one desired state)."""
    problems = []
    devices = dict((d['id'], d) for d in state['nrfcloud']['teams']['a']['claimedDevices'])
    for device_id in nrf_ids:
        device = devices[device_id]
        added = (device.get('commands') or [])[histories[device_id]:]
        kinds = [next(iter(c['request'])) for c in added]
        certificates = [c for c in added if 'clientCertificate' in c['request']]
        if kinds.count('clientCertificate') != 1 or kinds.count('finished') != 1 or kinds.count('certificateSigningRequest') > 1 \
                or len(set(kinds)) != len(kinds) or kinds[-1:] != ['finished']:
            problems.append('nRF %s: commands added by the rotation: %s' % (device_id, kinds))
        if any(c['status'] != 'SUCCEEDED' for c in added) or device.get('status') != 'PROVISIONED':
            problems.append('nRF %s: %s, commands %s' % (device_id, device.get('status'), [(k, c['status']) for k, c in zip(kinds, added)]))
        for command in certificates:
            certificate = x509.load_pem_x509_certificate(command['request']['clientCertificate']['content'].encode('ascii'))
            lifetime = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days
            if lifetime <= ROTATION_WINDOW:
                problems.append('nRF %s: the new client certificate is valid for %d days only' % (device_id, lifetime))
    ublox = dict((d['ROTPublicUID'], d) for d in state['ublox']['devices'])
    for rot in rots:
        desired = (ublox[rot].get('ZTP') or {}).get('DesiredProperties') or {}
        if not desired:
            problems.append('u-blox %s: no renewal pending (%s)' % (rot, ublox[rot].get('ZTP')))
    return problems


@pytest.mark.parametrize('case, signum', [('sigterm', signal.SIGTERM), ('sigkill', signal.SIGKILL)], ids=['sigterm', 'sigkill'])
def test_rotation(suite, fleet, case, signum):
    """The rotation signalled in the middle of the nRF Cloud task; the re-run rotates every due certificate exactly once."""
    mock, admin = suite['mock'], suite['mock'].admin
    groups, histories = fleet
    nrf_ids, rots = groups[case]
    logdir = os.path.join(suite['workdir'], 'rotation-' + case)
    os.makedirs(logdir)
    inventory = harness.write_inventory(os.path.join(logdir, 'inventory.json'), {
        'certificate_rotation_id': '%s-%s' % (ROTATION_ID, case),
        'certificate_rotation_window_days': ROTATION_WINDOW,
        'certificate_rotation_chunk_size': CHUNK,
        'certificate_rotation_concurrency': CONCURRENCY,
        'certificate_rotation_report_dir': os.path.join(logdir, 'reports'),
        'certificate_rotation_ublox_policy': 'renew',
        'certificate_rotation_ublox_rot_public_uids': rots,
        'certificate_rotation_nrfcloud_device_ids': nrf_ids,
        'certificate_rotation_nrfcloud_ca_certificate': read_pem(suite['ca'][0]),
        'certificate_rotation_nrfcloud_ca_private_key': read_pem(suite['ca'][1]),
        'certificate_rotation_nrfcloud_csr_attributes': CSR_ATTRIBUTES,
        'certificate_rotation_nrfcloud_validity_days': 365,
        'certificate_rotation_nrfcloud_wait_timeout': 60,
        'certificate_rotation_nrfcloud_wait_interval': 0.2,
    })
    env = harness.ansible_env(mock, suite['workdir'])
    args = ['-i', inventory, os.path.join(harness.PLAYBOOKS, 'rotate_certificates.yml')]

    first, canceller = cancelled_run(mock, args, env, logdir, signum, at=6)
    left = left_behind(admin.state(), nrf_ids, histories)
    rerun, rerun_writes, further, counters = converge_and_settle(mock, args, env, logdir)
    problems = rotation_problems(admin.state(), nrf_ids, rots, histories)
    record('rotation', canceller, first, rerun, rerun_writes, further, counters, problems, left)
    check_cancel(canceller, signum)
    assert not problems, '\n'.join(problems)
    assert further.rc == 0 and further.changed == 0 and counters['by_category']['write'] == 0, writes_by_endpoint(counters)
