# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX jobs as AWX runs them: ansible-runner with a private data directory per job, whose environment, extra vars and
credential files are made from the five credential types of docs/awx/ the way the controller injects a credential, against
the mock cloud (issue 15). The nox session `awx-runner` runs this file.

The line: 10 factory-fresh devices, each with all four identities (nRF91, u-blox module, SIP id, BLE tag); 6 come online as
soon as the line has prepared them, 4 twenty minutes later (the mock's clock jumps). Three jobs:

1. onboarding (playbooks/onboard.yml): successful, the 4 devices waiting; its set_stats artifacts say so;
2. onboarding again after the jump: successful and complete, only the 4 written;
3. the fleet audit (playbooks/fleet_audit.yml): successful, nothing found.

Each job's result is read as AWX reads it: artifacts/<ident>/status and rc, the job events (runner_on_ok, the play recap in
playbook_on_stats and its artifact_data, the set_stats of the roles). The reports must be in IOTOPS_REPORT_DIR, where they
outlive the job, one file of each job's own. Then every job event file, stdout and report is searched for every secret: each
secret input of the five credentials, each claim token of the manifest, each line of the private keys (as given and
decrypted). None may be found.

The credential renderer here is the test's, not the collection's: the controller itself renders the types.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import sys
import tempfile

import ansible_runner
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from iotops_mock.factory_ca import factory_ca_pems
from jinja2.sandbox import ImmutableSandboxedEnvironment
from suites import harness

pytestmark = pytest.mark.skipif(bool(os.environ.get('IOTOPS_RELEASE_TARBALL')),
                                reason='the awx-runner session runs the AWX jobs; the release session checks the tarball')

AWX_DIR = os.path.join(harness.ROOT, 'docs', 'awx')
TYPES = ('nrfcloud', 'ublox', 'iotcomms', 'naocloud', 'factory_ca')
DEVICES, FIRST_WAVE, LATER = 10, 6, 1200
BATCH = 'awx-line-3'
PROFILE = 'AwxLine3ModuleProfile01'
CA_PASSPHRASE = 'awx factory ca passphrase 3'
# factory_onboarding_wait, seconds: the first job waits all of it for the 4 devices that come later; the second ends as soon
# as every device is done, the budget only bounds a slow machine
FIRST_WAIT, SECOND_WAIT = 8, 90
SIM = dict(connect_delay=0.05, command_delay=0.01, bulk_delay=0.05)
# what the controller sets for every job besides the credentials (awx/main/tasks/jobs.py: build_env), and the site's own
# "Extra Environment Variables" (AWX_TASK_ENV): IOTOPS_REPORT_DIR on a volume mounted into the execution environment
JOB_ENV = dict(MAX_EVENT_RES='700000', PROJECT_REVISION='0123abc', ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_FORCE_COLOR='False',
               AWX_HOST='https://awx.example.com', PYTHONUNBUFFERED='1')
JINJA = ImmutableSandboxedEnvironment()
# what a test's own environment must not hand to the jobs: credentials, and settings of the collection or of Ansible
FOREIGN = ('NRFCLOUD_', 'UBLOX_', 'IOTCOMMS_', 'NAOCLOUD_', 'IOTOPS_', 'ANSIBLE_', 'JOB_ID', 'AWX_')


class TowerNamespace:
    """The ``tower`` name of the controller's injector templates (``tower.filename`` or ``tower.filename.<name>``)."""


def load_type(name):
    with open(os.path.join(AWX_DIR, 'credential_type_%s.yml' % name), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def private_file(directory, text, mode=0o600):
    """A file of the job's private data, named as the controller names them (mkstemp in env/)."""
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, 'w', encoding='utf-8') as stream:
        stream.write(text)
    os.chmod(path, mode)
    return path


def inject(ctype, inputs, env_dir):
    """(environment, extra vars file or None) of one credential, as the controller's CredentialType.inject_credential makes
    them: the inputs that are set are the template namespace; each file injector is rendered into a 0600 file of the job
    first, its path being ``tower.filename`` (one file) or ``tower.filename.<name>`` (``template.<name>``); then the env
    and extra_vars templates are rendered with a sandboxed Jinja; extra vars go to a file given as ``-e @file``."""
    tower = TowerNamespace()
    namespace = dict((key, value) for key, value in inputs.items() if value not in ('', None))
    namespace['tower'] = tower
    for label, template in (ctype['injectors'].get('file') or {}).items():
        path = private_file(env_dir, JINJA.from_string(template).render(**namespace))
        name = label.partition('.')[2]
        if not name:
            tower.filename = path
            continue
        if not isinstance(getattr(tower, 'filename', None), TowerNamespace):
            tower.filename = TowerNamespace()
        setattr(tower.filename, name, path)
    env = dict((name, JINJA.from_string(template).render(**namespace)) for name, template in (ctype['injectors'].get('env') or {}).items())
    extra = dict((name, JINJA.from_string(template).render(**namespace))
                 for name, template in (ctype['injectors'].get('extra_vars') or {}).items())
    return env, private_file(env_dir, yaml.safe_dump(extra), 0o400) if extra else None


def write_yaml(path, data):
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(data, handle)


class Line:
    """The mock, the factory-fresh line, the credentials' inputs, and the AWX jobs run on them."""

    def __init__(self, mock, workdir):
        self.mock, self.workdir = mock, workdir
        self.reports = os.path.join(workdir, 'persistent', 'reports')   # the volume mounted into the EE
        os.makedirs(os.path.join(workdir, 'factory'))
        mock.admin.nrfcloud_simulator(**SIM)
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'AWX line 3'}]})
        self.fleet = harness.Fleet.factory_fresh(mock, DEVICES, PROFILE, prefix='A3', all_identities=True)
        rows = self.fleet.rows
        mock.admin.online(self.fleet.physical(rows[:FIRST_WAVE]), waves=[{'count': FIRST_WAVE, 'after': 0, 'since': 'whitelisted'}])
        mock.admin.online(self.fleet.physical(rows[FIRST_WAVE:]), waves=[{'count': DEVICES - FIRST_WAVE, 'after': LATER}])
        self.manifest = self.fleet.write_manifest(os.path.join(workdir, 'factory', BATCH + '.csv'))
        self.ca = factory_ca_pems('AWX Line 3 Factory CA', CA_PASSPHRASE)
        self.inputs = credential_inputs(mock.admin.credentials(), mock.api_urls(), self.ca)
        self.jobs = {}

    def run_job(self, job_id, playbook, extra_vars):
        """One AWX job: a fresh private data directory (credentials injected anew, as for every job), ansible-runner."""
        data_dir = os.path.join(self.workdir, 'jobs', str(job_id))
        project = os.path.join(data_dir, 'project')     # the job's copy of the project, deleted with the job
        os.makedirs(os.path.join(data_dir, 'env'))
        os.makedirs(os.path.join(data_dir, 'inventory'))
        shutil.copytree(harness.PLAYBOOKS, project, ignore=shutil.ignore_patterns('demo', 'reports'))
        env, cmdline = dict(JOB_ENV, JOB_ID=str(job_id), IOTOPS_REPORT_DIR=self.reports), []
        for name in TYPES:
            injected, extra_file = inject(load_type(name), self.inputs[name], os.path.join(data_dir, 'env'))
            env.update(injected)
            cmdline += ['-e', '@' + extra_file] if extra_file else []
        write_yaml(os.path.join(data_dir, 'env', 'envvars'), env)
        write_yaml(os.path.join(data_dir, 'env', 'extravars'), dict(
            extra_vars, awx_job_id=job_id, tower_job_id=job_id, awx_job_template_name='iotops %s' % playbook, awx_job_launch_type='manual'))
        write_yaml(os.path.join(data_dir, 'env', 'settings'), {'job_timeout': 600, 'idle_timeout': 300})
        if cmdline:
            with open(os.path.join(data_dir, 'env', 'cmdline'), 'w', encoding='utf-8') as handle:
                handle.write(' '.join(cmdline))
        with open(os.path.join(data_dir, 'inventory', 'hosts.json'), 'w', encoding='utf-8') as handle:
            json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                       'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}}, handle)
        ansible_runner.run(private_data_dir=data_dir, playbook=playbook, ident='job-%s' % job_id, quiet=True)
        job = Job(job_id, data_dir)
        self.jobs[job_id] = job
        return job

    def onboarding_vars(self, wait):
        """The job template's extra vars and survey answers (AWX gives a survey's text answers as text)."""
        return dict(factory_onboarding_manifest=self.manifest, factory_onboarding_batch_name=BATCH, factory_onboarding_wait=wait,
                    factory_onboarding_wait_interval='0.5', factory_onboarding_ublox_device_profile=PROFILE,
                    factory_onboarding_ublox_authorizations='{"local_dpr": true}',
                    factory_onboarding_naocloud_site_id=harness.SITE_ID)


def credential_inputs(creds, urls, ca):
    """What an operator types into a credential of each type: the mock's made-up test keys (from its admin API, as JSON) and
    URLs, an encrypted iotcomms.io key with its passphrase, NAO Cloud's API key and a login, and the factory CA."""
    with open(creds['IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH'], encoding='ascii') as handle:
        iotcomms_key = handle.read()
    return dict(
        nrfcloud=dict(api_key=creds['NRFCLOUD_TEAM_A_API_KEY'], api_url=urls['NRFCLOUD_API_URL'],
                      provisioning_api_url=urls['NRFCLOUD_PROVISIONING_API_URL']),
        ublox=dict(api_key=creds['UBLOX_API_KEY'], api_secret=creds['UBLOX_API_SECRET'], auth_token='', api_url=urls['UBLOX_API_URL']),
        iotcomms=dict(domain=creds['IOTCOMMS_DOMAIN'], private_key=iotcomms_key, private_key_passphrase=creds['IOTCOMMS_KEY_PASSPHRASE'],
                      api_url=urls['IOTCOMMS_API_URL']),
        naocloud=dict(api_key=creds['NAOCLOUD_API_KEY'], email=creds['NAOCLOUD_EMAIL'], password=creds['NAOCLOUD_PASSWORD'],
                      access_token='', access_token_type='', api_url=urls['NAOCLOUD_API_URL']),
        factory_ca=dict(ca_certificate=ca[0], ca_private_key=ca[1], ca_private_key_passphrase=CA_PASSPHRASE))


class Job:
    """A finished job as the controller reads it: status, rc, the job events, stdout."""

    def __init__(self, job_id, data_dir):
        self.job_id, self.data_dir = job_id, data_dir
        self.artifacts = os.path.join(data_dir, 'artifacts', 'job-%s' % job_id)
        self.event_files = sorted(glob.glob(os.path.join(self.artifacts, 'job_events', '*.json')),
                                  key=lambda path: int(os.path.basename(path).split('-', 1)[0]))
        self.events = []
        for path in self.event_files:
            with open(path, encoding='utf-8') as handle:
                self.events.append(json.load(handle))
        with open(os.path.join(self.artifacts, 'stdout'), encoding='utf-8', errors='replace') as handle:
            self.stdout = handle.read()
        with open(os.path.join(self.artifacts, 'status'), encoding='utf-8') as status, \
                open(os.path.join(self.artifacts, 'rc'), encoding='utf-8') as rc:
            self.status, self.rc = status.read().strip(), int(rc.read())

    @property
    def stats(self):
        """The playbook_on_stats event's data: the recap per host and the set_stats artifacts."""
        (event,) = [event for event in self.events if event['event'] == 'playbook_on_stats']
        return event['event_data']

    def ok_tasks(self):
        return [event['event_data'].get('task') for event in self.events if event['event'] == 'runner_on_ok']

    def explain(self):
        return 'job %s: status %s, rc %s\n%s' % (self.job_id, self.status, self.rc, self.stdout[-4000:])


def public_texts(ca):
    """The public halves, whose base64 a key's lines may share in part: the CA certificate and public keys."""
    key = serialization.load_pem_private_key(ca[1].encode(), CA_PASSPHRASE.encode())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return ''.join((ca[0] + public).split())


def key_lines(pem, public):
    """The base64 lines of a PEM key that say something secret (not the armour, not a line a public PEM holds too)."""
    return [line for line in pem.splitlines() if len(line) >= 16 and not line.startswith('-----') and ':' not in line
            and line not in public]


def secrets_of(line):
    """{name: value} of every secret the jobs must not show: the secret inputs of the five credentials, the claim tokens of
    the manifest, and the lines of the two private keys as given (encrypted) and decrypted."""
    found = {}
    for name in TYPES:
        for field in load_type(name)['inputs']['fields']:
            value = line.inputs[name].get(field['id'])
            if field.get('secret') and value and not field.get('multiline'):
                found['%s.%s' % (name, field['id'])] = value
    for row in line.fleet.rows:
        found['claim token of %s' % row['serial']] = row['nrfcloud_claim_token']
    public = public_texts(line.ca)
    ca_key = serialization.load_pem_private_key(line.ca[1].encode(), CA_PASSPHRASE.encode())
    plain_ca = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with open(harness.credentials.IOTCOMMS_PRIVATE_KEY_PATH, encoding='ascii') as handle:
        plain_iotcomms = handle.read()
    for name, pem in (('factory_ca.ca_private_key', line.ca[1]), ('factory CA key, decrypted', plain_ca),
                      ('iotcomms.private_key', line.inputs['iotcomms']['private_key']), ('iotcomms key, decrypted', plain_iotcomms)):
        for number, text in enumerate(key_lines(pem, public), 1):
            found['%s line %d' % (name, number)] = text
    return found


def search(secrets, places):
    """{secret name: [(place, occurrences)]} of the secrets found in ``places`` ({name: text})."""
    hits = {}
    for name, value in secrets.items():
        where = [(place, text.count(value)) for place, text in places.items() if value in text]
        if where:
            hits[name] = where
    return hits


def where_in_events(job, value):
    """Where a value shows in a job's events, for the failure message: (event, task, top-level key of event_data.res)."""
    found = []
    for event in job.events:
        data = event.get('event_data') or {}
        res = data.get('res') if isinstance(data.get('res'), dict) else {}
        keys = [key for key, part in res.items() if value in json.dumps(part)] or ['stdout' if value in event.get('stdout', '') else '?']
        if value in json.dumps(event):
            found.append((event['event'], data.get('task'), keys))
    return found[:5]


@pytest.fixture(scope='module')
def line(tmp_path_factory):
    """The line and its three jobs, run in order; the test process's environment is the execution environment's."""
    workdir = str(tmp_path_factory.mktemp('awx-runner'))
    mock = harness.start_mock(workdir)
    patch = pytest.MonkeyPatch()
    try:
        for name in list(os.environ):
            if name.startswith(FOREIGN):
                patch.delenv(name)
        # the EE's image: ansible-playbook on PATH, the collection installed, Ansible's scratch directories
        patch.setenv('PATH', os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
        patch.setenv('ANSIBLE_COLLECTIONS_PATH', harness.collections_path(workdir))
        for name, folder in (('ANSIBLE_HOME', 'ansible-home'), ('ANSIBLE_LOCAL_TEMP', 'ansible-tmp'), ('ANSIBLE_REMOTE_TMP', 'remote-tmp')):
            patch.setenv(name, os.path.join(workdir, folder))
        result = Line(mock, workdir)
        result.run_job(101, 'onboard.yml', result.onboarding_vars(FIRST_WAIT))
        mock.admin.advance_clock(LATER)
        result.run_job(102, 'onboard.yml', result.onboarding_vars(SECOND_WAIT))
        audit = dict(fleet_audit_manifest=result.manifest, fleet_audit_name=BATCH, fleet_audit_naocloud_site_id=harness.SITE_ID)
        result.run_job(103, 'fleet_audit.yml', audit)
        yield result
    finally:
        patch.undo()
        mock.stop()


def test_onboarding_waits_for_the_devices_then_completes(line):
    first, second = line.jobs[101], line.jobs[102]
    for job in (first, second):
        assert (job.status, job.rc) == ('successful', 0), job.explain()
        assert job.stats['failures'] == {} and job.stats['ok'].get('localhost'), job.explain()
    artifacts = first.stats['artifact_data']
    assert artifacts['factory_onboarding_complete'] is False and artifacts['factory_onboarding_devices_total'] == DEVICES
    assert artifacts['factory_onboarding_devices_waiting'] >= DEVICES - FIRST_WAVE, artifacts
    assert artifacts['factory_onboarding_devices_done'] + artifacts['factory_onboarding_devices_waiting'] == DEVICES
    assert artifacts['factory_onboarding_devices_needs_attention'] == 0 and artifacts['factory_onboarding_writes'] == DEVICES
    artifacts = second.stats['artifact_data']
    assert artifacts['factory_onboarding_complete'] is True, second.explain()
    assert (artifacts['factory_onboarding_devices_done'], artifacts['factory_onboarding_devices_waiting']) == (DEVICES, 0)
    assert artifacts['factory_onboarding_verdict'].startswith('%d of %d onboarded' % (DEVICES, DEVICES))
    assert 0 < artifacts['factory_onboarding_writes'] <= DEVICES
    assert any('Write the batch report' in (task or '') for task in second.ok_tasks())


def test_the_audit_job_finds_nothing_and_publishes_its_counts(line):
    audit = line.jobs[103]
    assert (audit.status, audit.rc) == ('successful', 0), audit.explain()
    artifacts = audit.stats['artifact_data']
    assert artifacts['fleet_audit_findings_total'] == 0 and artifacts['fleet_audit_devices_done'] == DEVICES, artifacts
    assert artifacts['fleet_audit_writes'] == 0 and artifacts['fleet_audit_complete'] is True


def test_the_reports_outlive_the_jobs_one_file_of_each_job(line):
    """Written to IOTOPS_REPORT_DIR, not into the job's copy of the project; each job's files carry its id."""
    names = sorted(os.listdir(line.reports))
    for job_id, stem in ((101, 'onboarding-' + BATCH), (102, 'onboarding-' + BATCH), (103, 'fleet-audit-' + BATCH)):
        own = [name for name in names if name.startswith(stem + '-') and name.endswith('-job%d.html' % job_id)]
        assert len(own) == 1, names
        key = 'fleet_audit_report_html' if job_id == 103 else 'factory_onboarding_report_html'
        assert line.jobs[job_id].stats['artifact_data'][key] == os.path.join(line.reports, own[0])
        assert not os.path.exists(os.path.join(line.jobs[job_id].data_dir, 'project', 'reports'))
    assert os.readlink(os.path.join(line.reports, 'onboarding-%s.json' % BATCH)).endswith('-job102.json')
    kept = [os.path.join(line.reports, name) for name in names if not os.path.islink(os.path.join(line.reports, name))]
    assert len(kept) == 6 and all(stat.S_IMODE(os.stat(path).st_mode) == 0o600 for path in kept)


def test_no_secret_in_any_job_event_stdout_or_report(line):
    secrets = secrets_of(line)
    places = {}
    for job in line.jobs.values():
        for path in job.event_files:
            with open(path, encoding='utf-8') as handle:
                places['job %s %s' % (job.job_id, os.path.basename(path))] = handle.read()
        places['job %s stdout' % job.job_id] = job.stdout
    for name in os.listdir(line.reports):
        with open(os.path.join(line.reports, name), encoding='utf-8') as handle:
            places['report ' + name] = handle.read()
    hits = search(secrets, places)
    events = sum(len(job.event_files) for job in line.jobs.values())
    print('\nawx-runner: %d secrets searched in %d job events, %d stdouts and %d report files: %d found'
          % (len(secrets), events, len(line.jobs), len(os.listdir(line.reports)), sum(n for where in hits.values() for dummy, n in where)))
    details = []
    for name, where in sorted(hits.items())[:10]:
        jobs = [job for job in line.jobs.values() if any(place.startswith('job %s ' % job.job_id) for place, dummy in where)]
        details.append('%s: %d places, %d times; in events %s' % (name, len(where), sum(n for dummy, n in where),
                                                                  where_in_events(jobs[0], secrets[name]) if jobs else where[:3]))
    assert not hits, '%d of %d secrets found:\n%s' % (len(hits), len(secrets), '\n'.join(details))
