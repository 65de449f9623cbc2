# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret-leak suite: every module and both roles run with known, distinctive secrets, and no secret may show up
anywhere the run writes.

The runs (real ansible-playbook against the mock): every module with ``-vvv --diff`` (default callback), the same
play again and in check mode with a JSON callback (registered results and diffs; callback_plugins/ has a small one,
as ansible.builtin.json redirects to ansible.posix, which is not installed), failure paths (wrong credentials, bad
secret input, vendor errors that echo a credential back) with both callbacks, and both roles with ``-vvv --diff``,
in check mode and under faults.

Secrets: the mock's test credentials it validates (nRF Cloud API key, u-blox API key and secret, NAO Cloud API key,
password and OAuth2 token, the iotcomms.io private key and its passphrase), tokens issued at run time (u-blox
AuthToken and RefreshToken from ublox_token and from a login of the suite, NAO session JWTs from naocloud_token and
from a login of the suite), and canaries the mock does not validate (factory CA key and its passphrase, an
nRF clientPrivateKey and its password, a PSK secret, a SIP password, wrong credentials). PEM keys are searched line
by line (every base64 line of the key).

Searched: stdout and stderr of every run, every file under the runs' working directories (reports, written
certificates, Ansible's temporary and home directories). Not searched: the inputs the suite wrote (inventories,
playbooks, key files) and the files a play was asked to write with the tokens. Report files must be mode 0600.
"""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.parse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import harness

BATCH = 'leak-batch'
UBLOX_CA = 'leak-ca'
PSK_SECRET = 'c0ffee5ec2e7a11ce0123456789abcdef0fedcba9876543210'
CLIENT_KEY_PASSWORD = 'Canary-ClientKey-Pw-3141'
CA_PASSPHRASE = 'Canary-FactoryCA-Passphrase-2718'
SIP_PASSWORD = 'Canary-SIP-Digest-Pw-1618'
WRONG = {
    'wrong nRF Cloud API key': 'deadbeef00canary0wrong0nrf0key000000042',
    'wrong u-blox API secret': 'CanaryWrongUbloxSecret0000000042',
    'wrong u-blox AuthToken': 'canary.wrong-ublox-auth-token.0042',
    'wrong NAO Cloud password': 'Canary-Wrong-NAO-Password-0042',
    'wrong NAO Cloud API key': 'CanaryWrongNaoApiKey0042',
}


class Secrets:
    """Distinctive secret values by label; PEM keys are registered line by line."""

    def __init__(self):
        self.values = {}

    def add(self, label, value):
        if value and len(value) >= 8:
            self.values[label] = value

    def add_pem(self, label, pem, public=()):
        """Every base64 line of a PEM key, except lines that are public anyway (a private key encoding holds the
        public key; a line of it can appear in the certificate, which is no secret)."""
        if isinstance(pem, bytes):
            pem = pem.decode('ascii')
        public = [''.join(text.split()) for text in public]
        lines = [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith('-----') and ':' not in line]
        for number, line in enumerate(lines, start=1):
            if len(line) >= 24 and not any(line in text for text in public):
                self.values['%s, line %d' % (label, number)] = line

    def forms(self, value):
        """The value and the forms it takes in JSON or a URL."""
        found = {value, json.dumps(value)[1:-1], urllib.parse.quote(value, safe=''), urllib.parse.quote_plus(value)}
        return [f for f in found if f]


def public_pem(private_pem):
    key = serialization.load_pem_private_key(private_pem.encode('ascii'), None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


def read(path):
    with open(path, encoding='utf-8', errors='replace') as handle:
        return handle.read()


def walk(directories, skip=()):
    """(path, text) of every file under the directories, except those under ``skip``."""
    for directory in directories:
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if path not in skip and not os.path.islink(path):
                    yield path, read(path)


class Bench:
    """The suite's directories, materials, secrets and runs."""

    def __init__(self, mock, creds, workdir):
        self.started = time.monotonic()
        self.mock = mock
        self.creds = creds
        self.dir = workdir
        self.inputs = os.path.join(workdir, 'inputs')      # written by the suite: not searched
        self.asked = os.path.join(workdir, 'asked')        # files a play was asked to write (tokens): not searched
        self.run_dir = os.path.join(workdir, 'run')        # everything the runs write: searched
        self.logs = os.path.join(workdir, 'logs')          # the runs' stdout and stderr: searched as outputs
        for path in (self.inputs, self.asked, self.logs, self.run_dir, os.path.join(self.run_dir, 'out')):
            os.makedirs(path, exist_ok=True)
        self.secrets = Secrets()
        self.outputs = []   # (label, text)
        self.runs = []
        self.make_materials()

    # materials and secrets -------------------------------------------------------------------------

    def make_materials(self):
        creds = self.creds
        s = self.secrets
        s.add('nRF Cloud API key', creds.NRFCLOUD_TEAM_A_API_KEY)
        s.add('u-blox API key', creds.UBLOX_API_KEY)
        s.add('u-blox API secret', creds.UBLOX_API_SECRET)
        s.add('NAO Cloud API key', creds.NAOCLOUD_API_KEY)
        s.add('NAO Cloud password', creds.NAOCLOUD_PASSWORD)
        s.add('NAO Cloud OAuth2 access token', creds.NAOCLOUD_ACCESS_TOKEN)
        s.add('iotcomms.io key passphrase', creds.IOTCOMMS_KEY_PASSPHRASE)
        s.add_pem('iotcomms.io private key', read(creds.IOTCOMMS_PRIVATE_KEY_PATH), [read(creds.IOTCOMMS_PUBLIC_KEY_PATH)])
        s.add_pem('iotcomms.io private key (encrypted)', read(creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH))
        wrong = read(creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)
        s.add_pem('iotcomms.io unrelated private key', wrong, [public_pem(wrong)])
        for label, value in WRONG.items():
            s.add(label, value)
        s.add('PSK secret', PSK_SECRET)
        s.add('clientPrivateKey password', CLIENT_KEY_PASSWORD)
        s.add('factory CA passphrase', CA_PASSPHRASE)
        s.add('SIP device password', SIP_PASSWORD)
        self.ca_cert_path, plain_key_path = harness.make_factory_ca(self.inputs)
        ca_key = serialization.load_pem_private_key(read(plain_key_path).encode(), None)
        s.add_pem('factory CA private key', read(plain_key_path), [read(self.ca_cert_path), public_pem(read(plain_key_path))])
        self.ca_key_encrypted = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.BestAvailableEncryption(CA_PASSPHRASE.encode())).decode()
        s.add_pem('factory CA private key (encrypted)', self.ca_key_encrypted)
        client_key = ec.generate_private_key(ec.SECP256R1())
        plain = client_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        s.add_pem('clientPrivateKey', plain)
        self.client_key_encrypted = client_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.BestAvailableEncryption(CLIENT_KEY_PASSWORD.encode())).decode()
        s.add_pem('clientPrivateKey (encrypted)', self.client_key_encrypted)
        self.logins = 0

    def login(self):
        """Log in as the suite (after each reset of the mock): tokens passed to modules as auth_token / access_token."""
        creds = self.creds
        self.logins += 1
        answer = requests.post(self.mock.url + '/ublox/v1/authenticate', timeout=10,
                               json={'APIKey': creds.UBLOX_API_KEY, 'APISecret': creds.UBLOX_API_SECRET}).json()
        self.ublox_token = answer['AuthToken']
        self.secrets.add('u-blox AuthToken (suite login %d)' % self.logins, self.ublox_token)
        self.secrets.add('u-blox RefreshToken (suite login %d)' % self.logins, answer['RefreshToken'])
        answer = requests.post(self.mock.url + '/naocloud/api/v2/sessions', timeout=10,
                               headers={'Authorization': creds.NAOCLOUD_API_KEY}).json()
        self.nao_session = answer['meta']['jwt']
        self.secrets.add('NAO Cloud session JWT (suite login %d)' % self.logins, self.nao_session)

    def collect_asked_tokens(self):
        """Tokens the plays obtained with ublox_token / naocloud_token (written to the asked-for files)."""
        for name in sorted(os.listdir(self.asked)):
            path = os.path.join(self.asked, name)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
            for number, line in enumerate(read(path).splitlines(), start=1):
                self.secrets.add('%s from %s (line %d)' % ('token', name, number), line.strip())

    # seeding -----------------------------------------------------------------------------------------

    def seed(self):
        admin = self.mock.admin
        admin.reset()
        self.login()
        admin.nrfcloud_simulator(connect_delay=0.05, command_delay=0.01, bulk_delay=0.05)
        self.nrf = admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 2})['devices']
        headers = {'Authorization': self.ublox_token}
        requests.post(self.mock.url + '/ublox/v1/ztp/rootca/create', headers=headers, timeout=10,
                      json={'CAName': UBLOX_CA, 'CACertificateValidity': 3650, 'DeviceCertificateValidity': 365}).raise_for_status()
        uids = admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '0002%012x' % (0xe000 + i), 'CAName': UBLOX_CA,
                                                            'ExpiresInDays': 20} for i in range(2)]})['added']
        imeis = dict((d['ROTPublicUID'], d['Core']['IMEI']) for d in admin.state()['ublox']['devices'])
        self.ublox = [dict(uid=uid, imei=imeis[uid]) for uid in uids]
        self.manifest = os.path.join(self.inputs, BATCH + '.csv')
        rows = []
        for index in range(4):
            row = dict(serial='LEAK-%d' % (index + 1), iotcomms_device_id='4672%03d' % index,
                       naocloud_mac='AA:1E:AC:00:00:%02X' % index)
            if index < 2:
                row['nrfcloud_claim_token'] = self.nrf[index]['claim_token']
            else:
                row.update(ublox_rot_public_uid=uids[index - 2], ublox_imei=imeis[uids[index - 2]])
            rows.append(row)
        harness.write_manifest(rows, self.manifest)

    # runs --------------------------------------------------------------------------------------------

    def env(self, **extra):
        return harness.ansible_env(self.mock, self.run_dir, **extra)

    def play(self, name, playbook, args=(), json_callback=False, env=None, expect_failure=False):
        env = dict(env or self.env())
        if json_callback:
            # ansible.builtin.json redirects to ansible.posix.json, which is not installed: the suite's own JSON callback
            env.update(ANSIBLE_STDOUT_CALLBACK='iotops_suite_json', ANSIBLE_CALLBACK_PLUGINS=os.path.join(harness.SUITES_DIR, 'callback_plugins'))
        result = harness.run_playbook(['-i', self.inventory(), playbook] + list(args), env, self.logs, name, timeout=300, cwd=self.run_dir)
        if json_callback:
            data = json.loads(result.stdout[result.stdout.index('{'):])
            stats = data['stats'].get('localhost', {})
            result.recap = dict(stats, failed=stats.get('failures', 0))
        ok = result.rc == 0
        assert ok != expect_failure, '%s: %s\n%s\n%s' % (name, result.summary(), result.stdout[-3000:], result.stderr[-2000:])
        self.outputs.append(('%s stdout' % name, result.stdout))
        self.outputs.append(('%s stderr' % name, result.stderr))
        self.runs.append('%s (%s%s): %s' % (name, ' '.join(args), ', JSON callback' if json_callback else '', result.summary()))
        return result

    def inventory(self):
        path = os.path.join(self.inputs, 'inventory.json')
        if not os.path.exists(path):
            harness.write_inventory(path, {})
        return path

    def write_play(self, name, play):
        path = os.path.join(self.inputs, name + '.yml')
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(play, handle, indent=1)
        return path

    # the search --------------------------------------------------------------------------------------

    def wait_for_async_watchers(self, limit=20):
        """Seconds waited until the background steps' temporary directories are gone (at most ``limit``).

        A background (async) step's directory holds its AnsiballZ file, with the module's arguments. Ansible's
        async_wrapper leaves a watcher process that removes it when it next wakes, every 5 s (ansible-core 2.16 to
        2.19), so up to 5 s after the job's result was read and the play ended. A directory still there after that is
        searched like any other file.
        """
        remote_tmp = os.path.join(self.run_dir, 'ansible-remote-tmp')
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if not os.path.isdir(remote_tmp) or not os.listdir(remote_tmp):
                break
            time.sleep(0.2)
        return time.monotonic() - started

    def search(self):
        self.waited_for_watchers = self.wait_for_async_watchers()
        self.collect_asked_tokens()
        places = list(self.outputs)
        skip = {self.inputs, self.asked}
        files = list(walk([self.run_dir], skip))
        places.extend(('file %s' % os.path.relpath(path, self.dir), text) for path, text in files)
        found = []
        for label, value in sorted(self.secrets.values.items()):
            for place, text in places:
                count = sum(text.count(form) for form in self.secrets.forms(value))
                if count:
                    found.append((label, place, count))
        return found, len(places), len(files)

    def report_modes(self):
        """(path, mode) of every report file the runs wrote."""
        modes = []
        for dirpath, dummy, filenames in os.walk(self.run_dir):
            if os.path.basename(dirpath).startswith('reports'):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    modes.append((os.path.relpath(path, self.dir), stat.S_IMODE(os.stat(path).st_mode)))
        return modes


# --------------------------------------------------------------------------- the plays


def copy_tokens(name, expression):
    return {'name': 'Keep the token for the suite (a file the user asked for)', 'no_log': True,
            'ansible.builtin.copy': {'content': expression, 'dest': '{{ asked_dir }}/%s' % name, 'mode': '0600'}}


def endpoints(bench):
    """The mock's API URLs as the modules take them: nRF Cloud and iotcomms.io options, u-blox and NAO Cloud api_url."""
    url = bench.mock.url
    return (dict(api_url=url + '/nrfcloud/v1', provisioning_api_url=url + '/nrfcloud-provisioning/v1'), url + '/ublox/v1',
            dict(api_url=url + '/iotcomms', domain=bench.creds.IOTCOMMS_DOMAIN), url + '/naocloud/api/v2')


def module_play(bench):
    """Every module of the collection, with the secrets given as module options (and as environment fallbacks)."""
    creds = bench.creds
    nrf, ublox_url, iot, nao_url = endpoints(bench)
    a, b = bench.nrf
    u1, u2 = bench.ublox
    tasks = [
        {'name': 'ublox_token', 'register': 'ublox_login',
         'iotops.provisioning.ublox_token': {'api_url': ublox_url, 'api_key': creds.UBLOX_API_KEY, 'api_secret': creds.UBLOX_API_SECRET}},
        copy_tokens('ublox-{{ run_name }}', '{{ ublox_login.auth_token }}\n{{ ublox_login.refresh_token }}\n'),
        {'name': 'naocloud_token', 'register': 'nao_login',
         'iotops.provisioning.naocloud_token': {'api_url': nao_url, 'email': creds.NAOCLOUD_EMAIL, 'password': creds.NAOCLOUD_PASSWORD}},
        copy_tokens('naocloud-{{ run_name }}', '{{ nao_login.access_token }}\n'),
        {'name': 'ublox_rootca', 'iotops.provisioning.ublox_rootca': {
            'api_url': ublox_url, 'auth_token': '{{ ublox_login.auth_token }}',
            'cas': [{'name': 'leak-ca-2', 'ca_validity_days': 1825, 'device_certificate_validity_days': 365,
                     'certificate_path': '{{ run_dir }}/out/leak-ca-2.pem', 'mode': '0644'}]}},
        {'name': 'ublox_rootca_info', 'iotops.provisioning.ublox_rootca_info': {
            'api_url': ublox_url, 'auth_token': bench.ublox_token, 'name': UBLOX_CA, 'devices': True, 'crl': True}},
        {'name': 'ublox_tag', 'iotops.provisioning.ublox_tag': {
            'api_url': ublox_url, 'api_key': creds.UBLOX_API_KEY, 'api_secret': creds.UBLOX_API_SECRET,
            'tags': [{'name': 'leak-tag', 'rot_public_uids': [u1['uid'], u2['uid']]}]}},
        {'name': 'ublox_device_whitelist', 'iotops.provisioning.ublox_device_whitelist': {
            'api_url': ublox_url, 'rot_public_uids': [u1['uid']], 'imeis': [u2['imei']]}},
        {'name': 'ublox_device_provisioning', 'iotops.provisioning.ublox_device_provisioning': {
            'api_url': ublox_url, 'auth_token': '{{ ublox_login.auth_token }}', 'rot_public_uids': [u1['uid'], u2['uid']],
            'authorizations': {'local_dpr': True}, 'security_heartbeat': 3600}},
        {'name': 'ublox_device_certificate', 'iotops.provisioning.ublox_device_certificate': {
            'api_url': ublox_url, 'action': 'renew', 'ca_name': UBLOX_CA, 'renew_within_days': 30}},
        {'name': 'ublox_device', 'iotops.provisioning.ublox_device': {
            'api_url': ublox_url, 'auth_token': '{{ ublox_login.auth_token }}', 'devices': [
                {'rot_public_uid': u1['uid']}, {'rot_public_uid': u2['uid'], 'imei': u2['imei']}],
            'tags': ['leak-tag'], 'authorizations': {'local_dpr': True}}},
        {'name': 'ublox_device_info', 'iotops.provisioning.ublox_device_info': {
            'api_url': ublox_url, 'api_key': creds.UBLOX_API_KEY, 'api_secret': creds.UBLOX_API_SECRET, 'rot_public_uids': [u1['uid']]}},
        {'name': 'nrfcloud_provisioning with a client private key and a PSK', 'iotops.provisioning.nrfcloud_provisioning': dict(
            nrf, api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_for='PROVISIONED', wait_interval=0.2, wait_timeout=60,
            devices=[{'claim_token': a['claim_token']}],
            commands=[{'kind': 'clientPrivateKey', 'sec_tag': 42, 'content': bench.client_key_encrypted, 'password': CLIENT_KEY_PASSWORD},
                      {'kind': 'preSharedKey', 'sec_tag': 43, 'identity': 'leak-psk-identity', 'secret': PSK_SECRET},
                      {'kind': 'finished'}])},
        {'name': 'nrfcloud_provisioning with a CSR signed by the factory CA', 'register': 'nrf_signed',
         'iotops.provisioning.nrfcloud_provisioning': dict(
             nrf, api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_for='PROVISIONED', wait_interval=0.2, wait_timeout=60,
             devices=[{'claim_token': b['claim_token']}], commands=[{'kind': 'certificateSigningRequest'}],
             sign_csr={'ca_certificate': "{{ lookup('ansible.builtin.file', ca_cert_path) }}", 'ca_private_key': bench.ca_key_encrypted,
                       'ca_private_key_passphrase': CA_PASSPHRASE, 'validity_days': 20})},
        {'name': 'nrfcloud_device', 'iotops.provisioning.nrfcloud_device': dict(
            nrf, devices="{{ nrf_signed.onboarding | default([]) }}", bulk_interval=0.2)},
        {'name': 'nrfcloud_provisioning_info', 'iotops.provisioning.nrfcloud_provisioning_info': dict(
            nrf, device_ids=[a['device_id'], b['device_id']], include_commands=True)},
        {'name': 'nrfcloud_device_info', 'iotops.provisioning.nrfcloud_device_info': dict(nrf, api_key=creds.NRFCLOUD_TEAM_A_API_KEY)},
        {'name': 'iotcomms_device with an encrypted key given as content', 'register': 'sip',
         'environment': {'IOTCOMMS_PRIVATE_KEY_PATH': ''},
         'iotops.provisioning.iotcomms_device': dict(
             iot, private_key="{{ lookup('ansible.builtin.file', iot_encrypted_key_path) }}", private_key_passphrase=creds.IOTCOMMS_KEY_PASSPHRASE,
             devices=[{'device_id': '4672901', 'auth_type': 'credentials', 'password': SIP_PASSWORD, 'description': 'leak test'},
                      {'device_id': '4672902', 'description': 'leak test'}])},
        {'name': 'iotcomms_device_info', 'iotops.provisioning.iotcomms_device_info': dict(iot, device_id='4672901')},
        {'name': 'naocloud_site_info', 'iotops.provisioning.naocloud_site_info': {'api_url': nao_url, 'api_key': creds.NAOCLOUD_API_KEY}},
        {'name': 'naocloud_trackable with the session of naocloud_token', 'register': 'tags',
         'iotops.provisioning.naocloud_trackable': {
             'api_url': nao_url, 'access_token': '{{ nao_login.access_token }}', 'access_token_type': 'session', 'site_id': 101,
             'trackables': [{'tracking_id': 'AA:1E:AC:00:01:01', 'name': 'leak tag 1'}, {'tracking_id': 'AA:1E:AC:00:01:02', 'name': 'leak tag 2'}]}},
        {'name': 'naocloud_trackable_info with OAuth2', 'iotops.provisioning.naocloud_trackable_info': {
            'api_url': nao_url, 'access_token': creds.NAOCLOUD_ACCESS_TOKEN, 'site_id': 101}},
        {'name': 'naocloud_trackable_info with email and password', 'iotops.provisioning.naocloud_trackable_info': {
            'api_url': nao_url, 'email': creds.NAOCLOUD_EMAIL, 'password': creds.NAOCLOUD_PASSWORD, 'site_id': 101,
            'tracking_ids': ['AA:1E:AC:00:01:01']}},
        {'name': 'naocloud_trackable_info with the session of the suite', 'iotops.provisioning.naocloud_trackable_info': {
            'api_url': nao_url, 'access_token': bench.nao_session, 'access_token_type': 'session', 'site_id': 101}},
        {'name': 'manifest_info', 'register': 'manifest', 'iotops.provisioning.manifest_info': {'path': bench.manifest}},
        {'name': 'batch_report of the results above', 'iotops.provisioning.batch_report': {
            'path': '{{ run_dir }}/reports-modules', 'name': 'modules-{{ run_name }}', 'batch': BATCH,
            'steps': [{'vendor': 'iotcomms', 'step': 'SIP devices', 'results': '{{ sip.outcomes | default([]) }}'},
                      {'vendor': 'naocloud', 'step': 'tags', 'results': '{{ tags.outcomes | default([]) }}'},
                      {'vendor': 'nrfcloud', 'step': 'signed', 'results': '{{ nrf_signed.outcomes | default([]) }}'}]}},
    ]
    return [{'name': 'Every module with known secrets', 'hosts': 'localhost', 'gather_facts': False,
             'vars': {'run_dir': bench.run_dir, 'asked_dir': bench.asked, 'ca_cert_path': bench.ca_cert_path,
                      'iot_encrypted_key_path': creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH, 'run_name': 'run'},
             'tasks': tasks}]


def failure_play(bench):
    """Failure paths: wrong credentials, secrets in bad input, and vendor errors that echo a credential back."""
    creds = bench.creds
    nrf, ublox_url, iot, nao_url = endpoints(bench)
    token = bench.nrf[0]['claim_token']
    tasks = [
        # the mock answers these first calls with an error text that holds a credential (faults added by the suite)
        {'name': 'nRF Cloud error that echoes the API key', 'iotops.provisioning.nrfcloud_provisioning_info': dict(nrf, retries=0)},
        {'name': 'u-blox error that echoes the AuthToken and the secret', 'iotops.provisioning.ublox_tag': {
            'api_url': ublox_url, 'auth_token': bench.ublox_token, 'retries': 0, 'tags': [{'name': 'leak-tag-2'}]}},
        {'name': 'iotcomms.io error that echoes the key passphrase', 'iotops.provisioning.iotcomms_device': dict(
            iot, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH, private_key_passphrase=creds.IOTCOMMS_KEY_PASSPHRASE,
            retries=0, devices=[{'device_id': '4672911'}])},
        {'name': 'NAO Cloud error that echoes the API key and the password', 'iotops.provisioning.naocloud_trackable': {
            'api_url': nao_url, 'api_key': creds.NAOCLOUD_API_KEY, 'retries': 0, 'site_id': 101,
            'trackables': [{'tracking_id': 'AA:1E:AC:00:02:01', 'name': 'echo'}]}},
        # wrong credentials
        {'name': 'wrong nRF Cloud API key', 'iotops.provisioning.nrfcloud_provisioning': dict(
            nrf, api_key=WRONG['wrong nRF Cloud API key'], devices=[{'claim_token': token}])},
        {'name': 'wrong u-blox API secret', 'iotops.provisioning.ublox_token': {
            'api_url': ublox_url, 'api_key': creds.UBLOX_API_KEY, 'api_secret': WRONG['wrong u-blox API secret']}},
        {'name': 'wrong u-blox AuthToken and no key to log in again', 'iotops.provisioning.ublox_rootca_info': {
            'api_url': ublox_url, 'auth_token': WRONG['wrong u-blox AuthToken']}, 'environment': {'UBLOX_API_KEY': '', 'UBLOX_API_SECRET': ''}},
        {'name': 'unrelated iotcomms.io key', 'iotops.provisioning.iotcomms_device_info': dict(
            iot, private_key_path=creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)},
        {'name': 'wrong iotcomms.io key passphrase', 'iotops.provisioning.iotcomms_device_info': dict(
            iot, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH, private_key_passphrase=WRONG['wrong NAO Cloud password'])},
        {'name': 'wrong NAO Cloud password', 'iotops.provisioning.naocloud_token': {
            'api_url': nao_url, 'email': creds.NAOCLOUD_EMAIL, 'password': WRONG['wrong NAO Cloud password']}},
        {'name': 'wrong NAO Cloud API key', 'iotops.provisioning.naocloud_site_info': {'api_url': nao_url, 'api_key': WRONG['wrong NAO Cloud API key']}},
        # secrets in bad input
        {'name': 'clientPrivateKey with the wrong password', 'iotops.provisioning.nrfcloud_provisioning': dict(
            nrf, devices=[{'claim_token': token}],
            commands=[{'kind': 'clientPrivateKey', 'content': bench.client_key_encrypted, 'password': WRONG['wrong u-blox API secret']}])},
        {'name': 'PSK secret that is not hexadecimal', 'iotops.provisioning.nrfcloud_provisioning': dict(
            nrf, devices=[{'claim_token': token}],
            commands=[{'kind': 'preSharedKey', 'identity': 'x', 'secret': CLIENT_KEY_PASSWORD}])},
        {'name': 'factory CA key with the wrong passphrase', 'iotops.provisioning.nrfcloud_provisioning': dict(
            nrf, devices=[{'claim_token': token}], commands=[{'kind': 'certificateSigningRequest'}],
            sign_csr={'ca_certificate': "{{ lookup('ansible.builtin.file', ca_cert_path) }}", 'ca_private_key': bench.ca_key_encrypted,
                      'ca_private_key_passphrase': SIP_PASSWORD})},
        {'name': 'SIP password too short is named, not shown', 'iotops.provisioning.iotcomms_device': dict(
            iot, devices=[{'device_id': '4672912', 'auth_type': 'credentials', 'password': 'Canary7'}])},
    ]
    for task in tasks:
        task['ignore_errors'] = True
    return [{'name': 'Failure paths with known secrets', 'hosts': 'localhost', 'gather_facts': False,
             'vars': {'ca_cert_path': bench.ca_cert_path}, 'tasks': tasks}]


def echo_faults(bench, nao_secret, iotcomms_secret=None, ublox_token=None):
    """Vendor errors whose text holds a credential the module holds (a vendor echoing it back); one per vendor."""
    creds = bench.creds
    rules = [
        dict(vendor='nrfcloud-provisioning', method='GET', path='^/v1/claimed-devices$', status=400, count=1,
             message='API key %s is not allowed for team %s' % (creds.NRFCLOUD_TEAM_A_API_KEY, creds.NRFCLOUD_TEAM_A_NAME)),
        dict(vendor='ublox', path='/get$', status=500, count=1,
             message='token %s for key %s / %s refused' % (ublox_token or '-', creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET)),
        dict(vendor='naocloud', path='/nao_trackables', status=422, count=1, message='credential %s may not do that' % nao_secret),
    ]
    if iotcomms_secret:
        rules.append(dict(vendor='iotcomms', path='^/provisioning/device/', status=400, count=1,
                          message='key passphrase %s does not open the key' % iotcomms_secret))
    return rules


def role_inventory_vars(bench, report_dir):
    return {
        'factory_onboarding_manifest': bench.manifest, 'factory_onboarding_batch_name': BATCH,
        'factory_onboarding_report_dir': report_dir, 'factory_onboarding_chunk_size': 10,
        'factory_onboarding_nrfcloud_ca_certificate': read(bench.ca_cert_path),
        'factory_onboarding_nrfcloud_ca_private_key': bench.ca_key_encrypted,
        'factory_onboarding_nrfcloud_ca_private_key_passphrase': CA_PASSPHRASE,
        'factory_onboarding_nrfcloud_validity_days': 20, 'factory_onboarding_wait_interval': 0.2,
        'factory_onboarding_wait': 60, 'factory_onboarding_ublox_authorizations': {'local_dpr': True},
        'factory_onboarding_naocloud_site_id': harness.SITE_ID,
        'certificate_rotation_id': 'leak-rotation', 'certificate_rotation_window_days': 30, 'certificate_rotation_report_dir': report_dir,
        'certificate_rotation_nrfcloud_ca_certificate': read(bench.ca_cert_path),
        'certificate_rotation_nrfcloud_ca_private_key': bench.ca_key_encrypted,
        'certificate_rotation_nrfcloud_ca_private_key_passphrase': CA_PASSPHRASE,
        'certificate_rotation_nrfcloud_wait_interval': 0.2, 'certificate_rotation_nrfcloud_wait_timeout': 60,
    }


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope='module')
def bench(mock_server, workdir):
    mock_server.admin.reset()
    return Bench(mock_server, harness.credentials, workdir)


def role_env(bench):
    """AWX-style credentials, with NAO Cloud logging in with email and password (a session JWT at run time)."""
    env = bench.env(NAOCLOUD_EMAIL=bench.creds.NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD=bench.creds.NAOCLOUD_PASSWORD)
    env.pop('NAOCLOUD_API_KEY', None)
    return env


# Each group of runs is a module-scoped fixture that seeds its own batch: a test needs only its own group (and the
# search all three), so every test passes alone and in any order, and each group runs once per module.

@pytest.fixture(scope='module')
def module_runs(bench):
    """Every module: a first run, the same again (JSON callback) and in check mode (its output searched too)."""
    bench.seed()
    play = bench.write_play('modules', module_play(bench))
    first = bench.play('modules', play, ['-vvv', '--diff', '-e', 'run_name=first'])
    again = bench.play('modules-again', play, ['--diff', '-e', 'run_name=again'], json_callback=True)
    bench.play('modules-check', play, ['-vvv', '--check', '--diff', '-e', 'run_name=check'], json_callback=True)
    return first, again


@pytest.fixture(scope='module')
def failure_runs(bench):
    """The failure paths with both callbacks, each under the echoing faults: [(the run, how many faults fired)]."""
    bench.seed()
    play = bench.write_play('failures', failure_play(bench))
    runs = []
    for name, json_callback in (('failures', False), ('failures-json', True)):
        bench.mock.admin.clear_faults()
        for rule in echo_faults(bench, bench.creds.NAOCLOUD_API_KEY, bench.creds.IOTCOMMS_KEY_PASSPHRASE, bench.ublox_token):
            bench.mock.admin.add_fault(**rule)
        result = bench.play(name, play, ['-vvv', '--diff'], json_callback=json_callback)
        runs.append((result, sum(rule['fired'] for rule in bench.mock.admin.faults()), bench.mock.admin.faults()))
    bench.mock.admin.clear_faults()
    return runs


@pytest.fixture(scope='module')
def role_runs(bench):
    """Both roles, in check mode and for real, then a failing onboarding while the vendors echo credentials in their errors."""
    bench.seed()
    harness.write_inventory(bench.inventory(), role_inventory_vars(bench, os.path.join(bench.run_dir, 'reports')))
    onboard = os.path.join(harness.PLAYBOOKS, 'onboard.yml')
    rotate = os.path.join(harness.PLAYBOOKS, 'rotate_certificates.yml')
    env = role_env(bench)
    runs = [bench.play('onboard-check', onboard, ['-vvv', '--check', '--diff'], json_callback=True, env=env),
            bench.play('onboard', onboard, ['-vvv', '--diff'], env=env),
            bench.play('rotate-check', rotate, ['-vvv', '--check', '--diff'], json_callback=True, env=env),
            bench.play('rotate', rotate, ['-vvv', '--diff'], env=env)]
    # a failure path of the role: a fresh batch while the vendors echo credentials in their errors
    bench.seed()
    for rule in echo_faults(bench, bench.creds.NAOCLOUD_PASSWORD):
        bench.mock.admin.add_fault(**dict(rule, count=None))
    harness.write_inventory(bench.inventory(), role_inventory_vars(bench, os.path.join(bench.run_dir, 'reports-failing')))
    runs.append(bench.play('onboard-failing', onboard, ['-vvv', '--diff'], env=env, expect_failure=True))
    runs.append(bench.play('onboard-failing-json', onboard, ['--diff'], json_callback=True, env=env, expect_failure=True))
    bench.mock.admin.clear_faults()
    os.unlink(bench.inventory())
    return runs


def test_modules(module_runs):
    first, again = module_runs
    assert first.changed, first.summary()
    assert again.changed == 2, again.summary()  # only the two copies of the new tokens to the asked-for files


def test_failure_paths(failure_runs):
    for result, fired, faults in failure_runs:
        assert fired == 4, faults
        assert result.recap.get('ignored', 0) >= 14, result.summary()


def test_roles(role_runs):
    assert len(role_runs) == 6  # each run asserted its own outcome (green, or failed where a failure is expected)


def test_no_secret_anywhere(bench, module_runs, failure_runs, role_runs):
    """Search every output and written file of all the runs for every secret; report files must be 0600."""
    found, places, files = bench.search()
    modes = bench.report_modes()
    print('\n\nSecret-leak suite: %d runs in %.0f s' % (len(bench.runs), time.monotonic() - bench.started))
    for line in bench.runs:
        print('  ' + line)
    print('secrets searched for: %d (distinct values, PEM keys line by line) in %d places (%d outputs, %d files)'
          % (len(bench.secrets.values), places, places - files, files))
    print("waited %.1f s for Ansible's async watchers to remove the background steps' temporary directories"
          % bench.waited_for_watchers)
    print('occurrences found: %d' % sum(count for dummy, dummy2, count in found))
    for label, place, count in found:
        print('  LEAK: %s in %s (x%d)' % (label, place, count))
    print('report files: %d, modes: %s' % (len(modes), ', '.join(sorted(set('%o' % mode for dummy, mode in modes))) or 'none'))
    assert modes, 'the runs wrote no report files'
    assert not found, 'secrets found: %s' % found
    wrong = [(path, '%o' % mode) for path, mode in modes if mode != 0o600]
    assert not wrong, 'report files not mode 0600: %s' % wrong
