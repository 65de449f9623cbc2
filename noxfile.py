# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test harness: antsibull-nox sessions (antsibull-nox.toml) plus the sessions that need the mock cloud.

Run it through ``bash hacking/test-all.sh [session or tag ...]`` (it makes .venv, runs the sessions two at a time
and prints the summary), or directly: ``nox -t sanity``, ``nox -s unit``. The sessions of the mock cloud, the
Molecule suite and the release checks run in .venv (requirements-dev.txt), not in venvs of their own: they need the
same tools and the mock package, and building those per session costs minutes.
"""

from __future__ import annotations

import fnmatch
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import nox
import yaml

ROOT = Path(__file__).resolve().parent
CORE_VERSIONS = ('2.16', '2.17', '2.18', '2.19')   # every ansible-core that Python 3.11 can install
PYTHON = '%d.%d' % sys.version_info[:2]

# A session that skips fails the run unless it is listed here, with the reason.
ALLOWED_SKIPS: dict[str, str] = {}

# How long each session took in the last CI run of the test command (seconds; docs/testing.md, "Durations"):
# hacking/test-all.sh starts the longest first by these figures (see run).
DURATIONS = {
    'unit': 101, 'suites': 1140, 'suites-jobs': 878, 'benchmark': 35, 'ansible-lint': 86, 'docs-check': 31, 'extra-checks': 4,
    'build-import-check': 44, 'molecule': 197, 'molecule-roles': 430, 'molecule-tls': 108, 'release': 124, 'awx-runner': 44,
    'sanity-2.16': 69, 'sanity-2.17': 52, 'sanity-2.18': 48, 'sanity-2.19': 99,
}

# Molecule over HTTPS runs these scenarios (the whole suite runs over HTTP): the role that calls every vendor's client
# (nRF Cloud provisioning and device management, u-blox with its token, iotcomms.io, NAO Cloud) through the TLS
# listener with the CA given by IOTOPS_CA_PATH, and ublox_token, which gives its CA as the ca_path option instead.
# The scenarios of the single modules reach the same clients; over HTTPS they would add minutes, not coverage.
TLS_SCENARIOS = 'factory_onboarding ublox_token'
# The scenarios of the roles run in their own session (molecule-roles), those of the modules in `molecule`: two
# sessions of about the same length, which can run at the same time.
ROLE_SCENARIOS = ('factory_onboarding', 'certificate_rotation', 'ublox_rotation', 'decommission', 'fleet_audit', 'incident_response')

nox.options.default_venv_backend = 'venv'
nox.options.reuse_venv = 'yes'

import antsibull_nox

antsibull_nox.load_antsibull_nox_toml()


# --------------------------------------------------------------------------- helpers

def _get_pip_shim(session_name):
    """ansible-test bootstraps pip in its venvs with a script it downloads from a server these machines cannot reach:
    put ours (hacking/get_pip_shim.py) in its cache, under the names the session's ansible-test asks for. Run as the
    session's callback_before, once ansible-core is installed in the session's venv."""
    python = ROOT / '.nox' / session_name.replace('.', '-') / 'bin' / 'python'

    def install():
        subprocess.run([str(python), str(ROOT / 'hacking' / 'get_pip_shim.py'), '--install-for-ansible-test'], check=True)

    return install


def _keep_only_what_ships():
    """Before ansible-test on an older core: remove from the session's copy what galaxy.yml's build_ignore keeps out
    of the tarball (the mock, the test suites, the harness, benchmarks). What ships runs on every core and is checked
    on each; the rest runs only on the core of .venv, and the newest core's session checks all of it. A pattern
    matches a file's or a directory's path relative to the collection root with fnmatch, as ansible-galaxy matches."""
    if Path.cwd().resolve() == ROOT or Path.cwd().parts[-3:] != ('ansible_collections', 'iotops', 'provisioning'):
        raise RuntimeError('not in the session copy of the collection: %s' % Path.cwd())
    with open(ROOT / 'galaxy.yml', encoding='utf-8') as handle:
        patterns = yaml.safe_load(handle)['build_ignore']
    for top, dirs, files in os.walk('.', topdown=True):
        for name in list(dirs) + files:
            rel = os.path.relpath(os.path.join(top, name), '.')
            if any(fnmatch.fnmatch(rel, pattern) for pattern in patterns):
                if name in dirs:
                    dirs.remove(name)
                    shutil.rmtree(os.path.join(top, name))
                else:
                    os.unlink(os.path.join(top, name))


def _before_sanity(core):
    """The pip shim for every core; on all but the newest, only what ships is checked (_keep_only_what_ships)."""
    install_shim = _get_pip_shim('sanity-%s' % core)

    def prepare():
        install_shim()
        if core != CORE_VERSIONS[-1]:
            _keep_only_what_ships()

    return prepare


def _drop_scratch_output():
    """ansible-test's scratch directory under tests/output: antsibull-nox copies tests/output back to the checkout
    after the run and fails on it (a directory whose parent it has not made yet); nothing in it is a result."""
    shutil.rmtree(Path('tests', 'output', '.tmp'), ignore_errors=True)


def _scratch(name):
    """A fresh directory outside the work tree (ansible-test looks for .git upwards); the session removes it."""
    return Path(tempfile.mkdtemp(prefix='iotops-%s-' % name))


def _collection_copy(build):
    """The collection as git would commit it, at build/ansible_collections/iotops/provisioning (a real directory)."""
    target = build / 'ansible_collections' / 'iotops' / 'provisioning'
    target.mkdir(parents=True)
    listed = subprocess.run(['git', '-C', str(ROOT), 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                            check=True, capture_output=True).stdout.decode().split('\0')
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel, follow_symlinks=False)
    return target


def _venv_session(name):
    """A session that runs the tools of .venv (on PATH through hacking/test-all.sh), not a venv of its own."""
    def register(func):
        @functools.wraps(func)
        def session_in_venv(session):
            if not shutil.which('ansible-playbook'):
                session.error('ansible-playbook not on PATH: run through hacking/test-all.sh, or activate .venv')
            func(session)
        return nox.session(name=name, python=False, default=True, tags=[name])(session_in_venv)
    return register


# --------------------------------------------------------------------------- sanity on every core

for _core in CORE_VERSIONS:
    antsibull_nox.add_ansible_test_session(
        name='sanity-%s' % _core,
        description='ansible-test sanity, all tests, ansible-core %s (no containers: --local)' % _core,
        ansible_test_params=['sanity', '--local', '--python', PYTHON, '--requirements'],
        default=True,
        ansible_core_version=_core,
        ansible_core_source='pypi',
        callback_before=_before_sanity(_core),
        callback_after=_drop_scratch_output,
    )
    nox.registry.get()['sanity-%s' % _core].tags = ['sanity']
    # the Python running this (3.11), not a range that could pick an interpreter that is not installed
    nox.registry.get()['sanity-%s' % _core].python = PYTHON
for _name, _tag in (('ansible-lint', 'lint'), ('docs-check', 'docs'), ('extra-checks', 'action-groups'),
                    ('build-import-check', 'build')):
    nox.registry.get()[_name].tags = [_tag, _name]
    nox.registry.get()[_name].python = PYTHON


# --------------------------------------------------------------------------- sessions of the mock cloud

@_venv_session('unit')
def unit(session):
    """The unit tests of the collection and the mock's own tests, two workers; docs/api-coverage.md must be what the
    run found (which module called which endpoint), unless only some tests were asked for."""
    env = {} if session.posargs else {'IOTOPS_API_COVERAGE': 'check'}
    session.run('python', '-m', 'pytest', 'tests/unit', 'mock_cloud/tests', '-q', '-n', '2',
                '-p', 'no:cacheprovider', *session.posargs, env=env)


# the suites of jobs at the same time: each starts several ansible-playbook runs at once, so they run one after the other,
# in a session of their own that the queue can put beside the other suites
JOB_SUITES = ('tests/suites/test_concurrent_jobs.py', 'tests/suites/test_sliced_jobs.py')


@_venv_session('suites')
def suites(session):
    """The trust suites (tests/suites): faults, bad input, secrets, batches, rotation, cancel, rate budget."""
    ignored = ['--ignore=%s' % path for path in JOB_SUITES]
    session.run('python', '-m', 'pytest', 'tests/suites', *ignored, '-q', '-n', '2', '--dist', 'loadfile',
                '--durations', '15', '-p', 'no:cacheprovider', *session.posargs)


@_venv_session('suites-jobs')
def suites_jobs(session):
    """Jobs at the same time (tests/suites): two lines and the same batch twice, 20 rounds; a batch of 2,000 as 4 slices."""
    session.run('python', '-m', 'pytest', *JOB_SUITES, '-q', '--durations', '15', '-p', 'no:cacheprovider', *session.posargs)


@_venv_session('awx-runner')
def awx_runner(session):
    """AWX jobs as AWX runs them: ansible-runner with the credential types of docs/awx/ injected into each job's private
    data directory, onboarding and the audit against the mock; the set_stats artifacts, the reports in IOTOPS_REPORT_DIR,
    and no secret in any job event (tests/release/test_awx_runner.py)."""
    session.run('python', '-m', 'pytest', 'tests/release/test_awx_runner.py', '-q', '-p', 'no:cacheprovider', *session.posargs)


@_venv_session('benchmark')
def benchmark(session):
    """The factory-scale benchmark at N = 20 as a smoke test (no timing assertions)."""
    session.run('python', 'benchmarks/factory_scale.py', '--smoke')


def _molecule(session, scenarios, tls=False):
    """molecule test of the `default` scenario (it starts and stops the mock) and ``scenarios`` (names)."""
    build = _scratch('molecule')
    try:
        _collection_copy(build)
        endpoints = str(build / 'mock' / 'endpoints.json')
        (build / 'mock').mkdir()
        session.env.update({
            'ANSIBLE_COLLECTIONS_PATH': str(build),
            # where the mock that the default scenario starts writes its endpoints (extensions/molecule/mock_vars.yml)
            'IOTOPS_MOCK_ENDPOINTS': endpoints,
            # Molecule keeps its state per project name under ~/.ansible/tmp otherwise, shared between runs
            'MOLECULE_EPHEMERAL_DIRECTORY': str(build / 'molecule'),
            'MOLECULE_GLOB': 'extensions/molecule/**/molecule.yml',
        })
        if tls:
            session.env.update({'IOTOPS_MOCK_TLS': '1', 'IOTOPS_MOCK_TLS_DIR': str(build / 'mock-tls'),
                                'IOTOPS_CA_PATH': str(build / 'mock-tls' / 'mock-ca.pem')})
        selection = ['-s', 'default'] + [arg for name in scenarios for arg in ('-s', name)]
        try:
            session.run('molecule', 'test', *selection)
        finally:
            _stop_mock(endpoints)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _stop_mock(endpoints):
    """Stop a mock that a broken Molecule run left running: only the pid it recorded, and only if it is the mock."""
    try:
        with open(endpoints, encoding='utf-8') as handle:
            pid = int(json.load(handle)['pid'])
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            cmdline = handle.read()
    except (OSError, ValueError, KeyError):
        return
    if b'mock' in cmdline:
        os.kill(pid, 15)


def _scenarios(kind):
    """The Molecule scenarios of the modules or of the roles (IOTOPS_MOLECULE_SCENARIOS, names, overrides both)."""
    if os.environ.get('IOTOPS_MOLECULE_SCENARIOS'):
        return os.environ['IOTOPS_MOLECULE_SCENARIOS'].split()
    found = sorted(path.parent.name for path in (ROOT / 'extensions' / 'molecule').glob('*/molecule.yml'))
    roles = [name for name in found if name in ROLE_SCENARIOS]
    return roles if kind == 'roles' else [name for name in found if name not in ROLE_SCENARIOS and name != 'default']


@_venv_session('molecule')
def molecule(session):
    """The Molecule scenarios of the modules against the mock over HTTP."""
    _molecule(session, _scenarios('modules'))


@_venv_session('molecule-roles')
def molecule_roles(session):
    """The Molecule scenarios of the roles (onboarding, rotation, the day-2 runbooks) against the mock over HTTP."""
    _molecule(session, _scenarios('roles'))


@_venv_session('molecule-tls')
def molecule_tls(session):
    """Molecule again with every module call over HTTPS, trusting the mock's CA through IOTOPS_CA_PATH."""
    _molecule(session, (os.environ.get('IOTOPS_MOLECULE_TLS_SCENARIOS') or TLS_SCENARIOS).split(), tls=True)


# Left-overs of a work tree, planted in the copy the release tarball is built from: build_ignore must keep them out.
LEFT_OVERS = ('.venv/lib/x.py', '.build/mock/endpoints.json', 'tests/output/junit/x.xml', '.demo/factory-ca.key', '.ansible/x',
              '.pytest_cache/v/x', 'mock_cloud/.pytest_cache/v/x', 'plugins/modules/__pycache__/x.cpython-311.pyc', '.cache/x',
              'htmlcov/index.html', '.coverage', '.nox/x/bin/python', 'iotops-provisioning-0.0.1.tar.gz', 'tests/suites/x.py',
              'tests/unit/x.py', 'tests/release/x.py', 'extensions/x.yml')
AWX_PACKAGE = 'ansible==12.3.0'   # bundles awx.awx 24.6.1
DEMO_DEVICES = '20'


def _build_tarball(session, collection, build):
    """ansible-galaxy collection build from the copy, after planting the left-overs in it."""
    for rel in LEFT_OVERS:
        (collection / rel).parent.mkdir(parents=True, exist_ok=True)
        (collection / rel).write_text('left over\n', encoding='utf-8')
    with session.chdir(collection):
        session.run('ansible-galaxy', 'collection', 'build', '--output-path', str(build / 'dist'))
    return next((build / 'dist').glob('iotops-provisioning-*.tar.gz'))


def _execution_environment(session, tarball, build):
    """ansible-builder create for an EE with the tarball, then the build's dependency step (galaxy install and
    introspect) run here: no image is built, so the base image is only a placeholder name."""
    ee = build / 'ee'
    ee.mkdir()
    shutil.copy(tarball, ee)
    (ee / 'execution-environment.yml').write_text(json.dumps(dict(
        version=3, images=dict(base_image=dict(name='ee-base:latest')),
        dependencies=dict(ansible_core=dict(package_pip='ansible-core>=2.16'), ansible_runner=dict(package_pip='ansible-runner'),
                          galaxy=dict(collections=[dict(name='collections/%s' % tarball.name, type='file')])),
        additional_build_files=[dict(src=tarball.name, dest='collections')])), encoding='utf-8')
    with session.chdir(ee):
        session.run('ansible-builder', 'create', '-f', 'execution-environment.yml', '-c', 'context', '--output-filename', 'Containerfile')
    with session.chdir(ee / 'context' / '_build'):
        session.run('ansible-galaxy', 'collection', 'install', '--offline', '-r', 'requirements.yml', '--collections-path',
                    str(ee / 'collections'), env={'ANSIBLE_COLLECTIONS_PATH': str(ee / 'collections')})
    session.run('python', str(ee / 'context' / '_build' / 'scripts' / 'introspect.py'), 'introspect',
                '--write-pip=%s' % (ee / 'src' / 'requirements.txt'), '--write-bindep=%s' % (ee / 'src' / 'bindep.txt'),
                str(ee / 'collections'), silent=True)
    return ee


def _awx_collection(session, build):
    """awx.awx from the `ansible` package, unpacked into the build directory (not installed)."""
    awx = build / 'awx'
    session.run('python', '-m', 'pip', 'download', '--no-deps', '--quiet', '--dest', str(awx / 'download'), AWX_PACKAGE)
    (wheel,) = (awx / 'download').glob('ansible-*.whl')
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(awx, [name for name in archive.namelist() if name.startswith('ansible_collections/awx/awx/')])
    shutil.rmtree(awx / 'download')
    return awx


@_venv_session('release')
def release(session):
    """What a user installs: the tarball (contents), install and verify, the demo from the installed collection,
    the changelog.yaml lint, the EE dependency step, the AWX credential types registered through awx.awx."""
    build = _scratch('release')
    try:
        collection = _collection_copy(build / 'copy')
        tarball = _build_tarball(session, collection, build)
        installed = build / 'installed'
        only_installed = {'ANSIBLE_COLLECTIONS_PATH': str(installed)}
        session.run('ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', str(installed), str(tarball), env=only_installed)
        session.run('ansible-galaxy', 'collection', 'verify', '--offline', '-p', str(installed), 'iotops.provisioning', env=only_installed)
        session.run('python', str(installed / 'ansible_collections/iotops/provisioning/playbooks/demo/run_demo.py'),
                    '--collections-path', str(installed), '--devices', DEMO_DEVICES)
        # the fragments are linted by ansible-test sanity (its changelog test); the release's changelog.yaml is not
        session.run('antsibull-changelog', 'lint-changelog-yaml', str(collection / 'changelogs' / 'changelog.yaml'))
        ee = _execution_environment(session, tarball, build)
        awx = _awx_collection(session, build)
        # of the AWX tests only those that need awx.awx (registering the types): the unit session runs the others
        session.run('python', '-m', 'pytest', 'tests/release', 'tests/unit/test_awx_credential_types.py',
                    '-k', 'not awx_credential_types or registration', '-q', '-p', 'no:cacheprovider',
                    env={'IOTOPS_RELEASE_TARBALL': str(tarball), 'IOTOPS_RELEASE_COLLECTION': str(collection),
                         'IOTOPS_RELEASE_EE': str(ee), 'IOTOPS_AWX_COLLECTIONS_PATH': str(awx)})
    finally:
        shutil.rmtree(build, ignore_errors=True)


# --------------------------------------------------------------------------- used by hacking/test-all.sh

def select(words):
    """The sessions that names or tags select (all default sessions when none), in the registry's order."""
    sessions = nox.registry.get()
    if not words:
        return [name for name, func in sessions.items() if getattr(func, 'default', True)]
    unknown = [word for word in words if word not in sessions and not any(word in (func.tags or []) for func in sessions.values())]
    if unknown:
        sys.exit('unknown session or tag: %s (nox -l lists them)' % ', '.join(unknown))
    return [name for name, func in sessions.items() if name in words or set(words) & set(func.tags or [])]


def jobs(names):
    """The sessions as jobs, the longest first by DURATIONS: one job per session, but the sanity sessions together in
    one, one after the other, as they share ansible-test's cache of requirement venvs."""
    sanity = [name for name in names if name.startswith('sanity-')]
    groups = [[name] for name in names if name not in sanity] + ([sanity] if sanity else [])
    return sorted(groups, key=lambda group: -sum(DURATIONS.get(name, 60) for name in group))


def job_label(group):
    """The name a job's output lines, report and log go by: its session's, or ``sanity`` for the sanity sessions."""
    return 'sanity' if len(group) > 1 else group[0]


def _relay(process, label, lock, log):
    """Copy a job's output to ours line by line, each line prefixed with the job's label, and to the job's own log."""
    with open(log, 'w', encoding='utf-8') as kept:
        for line in process.stdout:
            kept.write(line)
            with lock:
                sys.stdout.write('[%s] %s' % (label, line))
                sys.stdout.flush()


def run(names, slots, reports):
    """Run the jobs of ``names``, ``slots`` at a time: whenever one ends, the longest one waiting starts, so no slot
    idles while work waits (a fixed split into lanes left one lane idle for minutes when a session ran long). Each
    job writes its nox report and its log (``<label>.log``, for the summary) into the directory ``reports``."""
    waiting, running, lock = jobs(names), [], threading.Lock()
    while waiting or running:
        while waiting and len(running) < slots:
            group = waiting.pop(0)
            label = job_label(group)
            with lock:
                print('=== start %s' % ' '.join(group), flush=True)
            process = subprocess.Popen(['nox', '--report', os.path.join(reports, label + '.json'), '-s'] + group,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, errors='replace')
            relay = threading.Thread(target=_relay, args=(process, label, lock, os.path.join(reports, label + '.log')),
                                     daemon=True)
            relay.start()
            running.append((process, relay))
        time.sleep(0.5)
        for process, relay in [job for job in running if job[0].poll() is not None]:
            relay.join()
            running.remove((process, relay))


def _outcome(name, entry):
    """passed, or why not: a skip is a failure unless ALLOWED_SKIPS names the session."""
    if entry is None:
        return 'failed (not run)'
    if entry['result'] == 'success':
        return 'passed'
    if entry['result'] == 'skipped':
        if name in ALLOWED_SKIPS:
            return 'passed (skipped: %s)' % ALLOWED_SKIPS[name]
        return 'failed (skipped: %s)' % (entry.get('reason') or 'no reason given')
    return 'failed'


# The lines of a failed session's log that say what failed: pytest's short summary and assertion lines, ansible-test's and
# molecule's ERROR lines, a task that failed in a playbook, molecule's CRITICAL lines
FAILURE_LINE = re.compile(r'^(FAILED|ERROR|CRITICAL)[: ]|^E  +\S|^fatal: \[|^failed: \[')


def _failure_excerpt(log, limit=40):
    """What a failed session's log says about the failure, for the end of the output: a log of 30 minutes is cut in
    the middle by CI's excerpt of it, and the test that failed must still be named. The lines that say what failed,
    else the log's last lines; nox's verdict, its last line, either way."""
    try:
        with open(log, encoding='utf-8', errors='replace') as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ['(no log kept)']
    picked = [line for line in lines if FAILURE_LINE.search(line)][-limit:]
    if not picked:
        return lines[-limit:]
    return picked + [line for line in lines[-3:] if line.startswith('nox > ') and line not in picked]


def summary(wanted, seconds, reports):
    """Print what failed sessions printed about their failures, the table of sessions and their outcomes, and the last
    line; return the number of failures. ``reports`` is the directory ``run`` wrote the jobs' reports and logs into."""
    results = {}
    for path in sorted(glob.glob(os.path.join(reports, '*.json'))):
        try:
            with open(path, encoding='utf-8') as handle:
                results.update((entry['name'], entry) for entry in json.load(handle)['sessions'])
        except (OSError, ValueError):
            pass   # a job whose nox died before its report: its sessions count as not run
    outcomes = {name: _outcome(name, results.get(name)) for name in wanted}
    for label in [job_label(group) for group in jobs(wanted) if any(not outcomes[name].startswith('passed') for name in group)]:
        print('\n=== %s failed; what its log says ===' % label)
        print('\n'.join(_failure_excerpt(os.path.join(reports, label + '.log'))))
    print('\n=== summary ===\n%-20s %-40s %s' % ('session', 'result', 'time'))
    failed = 0
    for name in wanted:
        outcome = outcomes[name]
        failed += not outcome.startswith('passed')
        took = int((results.get(name) or {}).get('duration') or 0)
        print('%-20s %-40s %dm%02ds' % (name, outcome, took // 60, took % 60))
    print('%-20s %-40s %dm%02ds' % ('total (wall clock)', '', seconds // 60, seconds % 60))
    print('test-all: %d passed, %d failed' % (len(wanted) - failed, failed))
    return failed


if __name__ == '__main__':
    COMMAND, ARGS = sys.argv[1], sys.argv[2:]
    if COMMAND == 'select':
        print(' '.join(select(ARGS)))
    elif COMMAND == 'run':
        run(ARGS[1:], int(os.environ.get('IOTOPS_TEST_SLOTS') or 2), ARGS[0])
    elif COMMAND == 'summary':
        sys.exit(1 if summary(ARGS[0].split(), int(ARGS[1]), ARGS[2]) else 0)
    else:
        sys.exit('usage: noxfile.py select [session or tag ...] | run REPORT_DIR SESSION ... | summary "SESSION ..." SECONDS REPORT_DIR')
