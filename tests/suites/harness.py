# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the trust suites share: the mock, a seeded fleet, its manifest, a factory CA, and real ansible-playbook runs.

Everything runs on loopback against one mock server per suite; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests
from iotops_mock import credentials
from iotops_mock.client import AdminClient, MockServer
from iotops_mock.factory_ca import write_factory_ca

SUITES_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(SUITES_DIR)
ROOT = os.path.dirname(TESTS_DIR)
PLAYBOOKS = os.path.join(ROOT, 'playbooks')

SITE_ID = credentials.NAOCLOUD_SITES[0]['id']
MANIFEST_COLUMNS = ('serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'iotcomms_mac',
                    'naocloud_mac', 'naocloud_name')
RECAP = re.compile(r'^localhost\s+:\s+(.*)$', re.M)
# the suites' stdout callback (callback_plugins/iotops_suite_json.py): a run's tasks and stats as one JSON document
JSON_CALLBACK = dict(ANSIBLE_STDOUT_CALLBACK='iotops_suite_json', ANSIBLE_CALLBACK_PLUGINS=os.path.join(SUITES_DIR, 'callback_plugins'))
# the kill point of the kill-and-rerun tests (fault and decommission suites): IOTOPS_SUITES_SEED repeats a run
SEED = int(os.environ.get('IOTOPS_SUITES_SEED') or random.SystemRandom().randrange(1, 100000))


def admin_client(url):
    """A client of the mock's /_mock admin API of its own (one per thread)."""
    return AdminClient(url)


def ansible_bin(name):
    """A console script of the Python that runs the suite (the virtualenv's ansible-playbook)."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def collections_path(workdir):
    """A directory that holds ansible_collections/iotops/provisioning for ANSIBLE_COLLECTIONS_PATH.

    The checkout itself when it already lies at such a path (the pipeline's copy), else a symlink to it in ``workdir``.
    """
    parent = os.path.dirname(ROOT)
    if os.path.basename(parent) == 'iotops' and os.path.basename(os.path.dirname(parent)) == 'ansible_collections':
        return os.path.dirname(os.path.dirname(parent))
    path = os.path.join(workdir, 'collections')
    link = os.path.join(path, 'ansible_collections', 'iotops', 'provisioning')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return path


def make_factory_ca(workdir, passphrase=None):
    """A made-up factory CA (P-256): returns (certificate path, private key path); the key file is mode 0600."""
    return write_factory_ca(workdir, 'Trust Suite Factory CA', passphrase)


def ublox_token(mock):
    answer = requests.post(mock.url + '/ublox/v1/authenticate', timeout=10,
                           json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    answer.raise_for_status()
    return answer.json()['AuthToken']


class Fleet:
    """A batch of factory-fresh devices seeded in the mock, and its manifest rows (see ``factory_fresh``)."""

    def __init__(self, rows, nrf_ids, ublox_uids):
        self.rows = rows
        self.nrf_ids = nrf_ids
        self.ublox_uids = ublox_uids

    @classmethod
    def factory_fresh(cls, mock, count, profile, prefix='FB', all_identities=False):
        """Factory-fresh devices: nRF91 attestation tokens not yet claimed, u-blox modules that have not bootstrapped
        (sealed with device profile ``profile``), plus a SIP identity and a BLE tag each.

        With ``all_identities`` every device has all four identities (one physical device, two radios); otherwise half
        are nRF91 and half u-blox. Nothing is online: ``online()`` says when the devices come online."""
        nrf_count = count if all_identities else count // 2
        ublox_count = count if all_identities else count - nrf_count
        nrf = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': nrf_count})['devices'] if nrf_count else []
        ublox = mock.admin.manufacture_ublox({'count': ublox_count, 'DeviceProfileUID': profile})['devices'] if ublox_count else []
        rows = []
        for index in range(count):
            row = dict(serial='%s-%04d' % (prefix, index + 1), iotcomms_device_id='47100%05d' % (index + 1),
                       naocloud_mac='AA:6F:%02X:%02X:%02X:%02X' % (index // 16777216, index // 65536 % 256, index // 256 % 256, index % 256),
                       naocloud_name='Line tracker %d' % (index + 1))
            if index % 2:
                row['iotcomms_mac'] = '02:10:00:%02X:%02X:%02X' % (index // 65536, index // 256 % 256, index % 256)
            nrf_index = index if all_identities else (index if index < nrf_count else None)
            ublox_index = index if all_identities else (index - nrf_count if index >= nrf_count else None)
            if nrf_index is not None:
                row['nrfcloud_claim_token'] = nrf[nrf_index]['claim_token']
                row['_nrfcloud'] = nrf[nrf_index]['device_id']
            if ublox_index is not None:
                row.update(ublox_rot_public_uid=ublox[ublox_index]['ROTPublicUID'], ublox_imei=ublox[ublox_index]['IMEI'])
            rows.append(row)
        return cls(rows, [d['device_id'] for d in nrf], [d['ROTPublicUID'] for d in ublox])

    def physical(self, rows=None):
        """The devices as POST /_mock/online names them: {"nrfcloud": id, "ublox": ROTPublicUID} per row."""
        devices = []
        for row in self.rows if rows is None else rows:
            device = {}
            if row.get('_nrfcloud'):
                device['nrfcloud'] = row['_nrfcloud']
            if row.get('ublox_rot_public_uid'):
                device['ublox'] = row['ublox_rot_public_uid']
            devices.append(device)
        return devices

    def online_when_prepared(self, mock, after=0):
        """Every device comes online ``after`` seconds once the line has prepared it: a u-blox module once it is on the
        whitelist (before that it would bootstrap without features), an nRF91 once it is claimed."""
        with_ublox = [row for row in self.rows if row.get('ublox_rot_public_uid')]
        nrf_only = [row for row in self.rows if row.get('_nrfcloud') and not row.get('ublox_rot_public_uid')]
        if with_ublox:
            mock.admin.online(self.physical(with_ublox), waves=[{'count': len(with_ublox), 'after': after, 'since': 'whitelisted'}])
        if nrf_only:
            mock.admin.online(self.physical(nrf_only), waves=[{'count': len(nrf_only), 'after': after, 'since': 'claimed'}])

    def write_manifest(self, path):
        write_manifest(self.rows, path)
        return path


def write_manifest(rows, path, columns=MANIFEST_COLUMNS):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(','.join(columns) + '\n')
        for row in rows:
            handle.write(','.join(str(row.get(c, '')) for c in columns) + '\n')


def onboarding_variables(manifest, batch, reports, ca, **extra):
    """The factory_onboarding role variables of a suite's onboarding run: the manifest, the batch name, the report
    directory, the factory CA (the paths ``make_factory_ca`` returns, passed as PEM text) and ``extra``, named without the
    factory_onboarding_ prefix."""
    with open(ca[0], encoding='ascii') as cert, open(ca[1], encoding='ascii') as key:
        variables = dict(manifest=manifest, batch_name=batch, report_dir=reports, nrfcloud_ca_certificate=cert.read(),
                         nrfcloud_ca_private_key=key.read())
    variables.update(extra)
    return dict(('factory_onboarding_' + name, value) for name, value in variables.items())


def credentials_env():
    """The mock's made-up credentials the way AWX injects them: environment variables named as the modules' fallbacks."""
    return dict(NRFCLOUD_API_KEY=credentials.NRFCLOUD_TEAM_A_API_KEY, UBLOX_API_KEY=credentials.UBLOX_API_KEY,
                UBLOX_API_SECRET=credentials.UBLOX_API_SECRET, IOTCOMMS_DOMAIN=credentials.IOTCOMMS_DOMAIN,
                IOTCOMMS_PRIVATE_KEY_PATH=credentials.IOTCOMMS_PRIVATE_KEY_PATH, NAOCLOUD_API_KEY=credentials.NAOCLOUD_API_KEY)


def ansible_env(mock, workdir, **extra):
    """Environment of an ansible-playbook run against ``mock``: URLs, credentials, collections, no colour, no retry files."""
    env = dict(os.environ)
    for name in list(env):
        # credentials of the caller's environment must not mix with the suite's
        if name.split('_')[0] in ('NRFCLOUD', 'UBLOX', 'IOTCOMMS', 'NAOCLOUD', 'IOTOPS'):
            del env[name]
    env.update(mock.api_urls())
    env.update(credentials_env())
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, 'ansible-remote-tmp'),
               # the background steps' result files: the run's own, not the user's ~/.ansible_async
               ANSIBLE_ASYNC_DIR=os.path.join(workdir, 'ansible-async'),
               ANSIBLE_HOME=os.path.join(workdir, 'ansible-home'), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               IOTOPS_LOCK_DIR=os.path.join(workdir, 'device-locks'))
    env.update(extra)
    return env


def write_inventory(path, variables):
    """A localhost inventory (JSON is YAML) with the role variables of a run."""
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                 'ansible_python_interpreter': sys.executable}},
                         'vars': variables}}
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(inventory, handle, indent=1)
    return path


class PlayResult:
    """Outcome of one ansible-playbook run."""

    def __init__(self, rc, stdout, stderr, elapsed):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.killed = False
        self.recap = parse_recap(stdout)

    @property
    def changed(self):
        return self.recap.get('changed')

    @property
    def failed(self):
        return self.recap.get('failed')

    def summary(self):
        if self.killed:
            return 'killed after %.1f s' % self.elapsed
        if not self.recap:
            return 'rc=%s, no recap' % self.rc
        return 'rc=%d ok=%d changed=%d failed=%d' % (self.rc, self.recap.get('ok', 0), self.recap.get('changed', 0),
                                                     self.recap.get('failed', 0))


def json_output(stdout):
    """The JSON callback's document (see JSON_CALLBACK) in ``stdout``, after the progress lines of long steps; None without one."""
    start = re.search(r'^\{', stdout, re.M)
    return json.loads(stdout[start.start():]) if start else None


def parse_recap(text):
    found = RECAP.findall(text or '')
    if not found:
        return {}
    return dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', found[-1]))


def descendants(pid):
    """The ids of every process below ``pid`` (from /proc), whatever their process group or session."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, encoding='ascii', errors='replace') as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL a process, its process group and every descendant.

    Ansible's worker processes start a session of their own (setsid), so killing the group of ansible-playbook
    alone would leave them running: a crash of the controller leaves nothing.
    """
    below = descendants(pid)
    for target in [pid] + below:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return below


def run_playbook(args, env, logdir, name, timeout=600, on_start=None, cwd=None):
    """Run ``ansible-playbook args`` in its own process group (so that a test can SIGKILL the whole run, see kill_tree).

    ``on_start(process)`` is called once the process runs; it runs in ``cwd`` (default ``logdir``). stdout and stderr go to ``<logdir>/<name>.out`` / ``.err``
    and are returned in the PlayResult. A run that takes longer than ``timeout`` seconds is killed and fails the test.
    """
    out_path, err_path = os.path.join(logdir, name + '.out'), os.path.join(logdir, name + '.err')
    start = time.monotonic()
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
        proc = subprocess.Popen([ansible_bin('ansible-playbook')] + list(args), env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd or logdir)
        try:
            if on_start is not None:
                on_start(proc)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('%s did not finish within %d s; see %s' % (name, timeout, out_path)) from None
        finally:
            if proc.poll() is None:
                kill_tree(proc.pid)
                proc.wait(30)
    elapsed = time.monotonic() - start
    with open(out_path, encoding='utf-8', errors='replace') as handle:
        stdout = handle.read()
    with open(err_path, encoding='utf-8', errors='replace') as handle:
        stderr = handle.read()
    return PlayResult(proc.returncode, stdout, stderr, elapsed)


class Killer(threading.Thread):
    """SIGKILLs ansible-playbook, its process group and every process below it (Ansible's workers run in sessions of
    their own) once the mock has counted ``writes`` write calls: a random point of the run, as a crash would stop it."""

    def __init__(self, mock_url, process, writes):
        super().__init__(daemon=True)
        self.admin = admin_client(mock_url)
        self.process = process
        self.writes = writes
        self.stop_event = threading.Event()
        self.killed_at = None
        self.processes = 0

    def run(self):
        try:
            while not self.stop_event.is_set() and self.process.poll() is None:
                if self.admin.counters()['by_category']['write'] >= self.writes:
                    self.processes = 1 + len(kill_tree(self.process.pid))
                    self.killed_at = self.admin.counters()['by_category']['write']
                    return
                self.stop_event.wait(0.005)
        finally:
            self.admin.close()

    def stop(self):
        self.stop_event.set()
        self.join(10)


def new_workdir(prefix):
    """A private scratch directory (mode 0700) under $TMPDIR."""
    return tempfile.mkdtemp(prefix='iotops-%s-' % prefix)


def start_mock(workdir, **kwargs):
    return MockServer(os.path.join(workdir, 'mock'), **kwargs).start()


def table(headers, rows):
    """A Markdown table (also readable on a terminal)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = ['| ' + ' | '.join(str(h).ljust(w) for h, w in zip(headers, widths)) + ' |',
             '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(str(c).ljust(w) for c, w in zip(row, widths)) + ' |')
    return '\n'.join(lines)
