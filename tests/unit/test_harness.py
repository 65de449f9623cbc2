# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test harness's own rules (noxfile.py): which sessions a word selects, how they run two at a time, and
that the summary counts a session that skipped or never ran as failed."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def noxfile():
    cwd = os.getcwd()
    os.chdir(ROOT)   # antsibull-nox reads antsibull-nox.toml from the working directory
    try:
        spec = importlib.util.spec_from_file_location('iotops_noxfile', os.path.join(ROOT, 'noxfile.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.chdir(cwd)
    return module


def test_every_core_has_a_sanity_session_and_tags_select_them(noxfile):
    default = noxfile.select([])
    assert ['sanity-%s' % core for core in ('2.16', '2.17', '2.18', '2.19')] == [n for n in default if n.startswith('sanity-')]
    for name in ('unit', 'suites', 'benchmark', 'molecule', 'molecule-tls', 'release', 'ansible-lint', 'docs-check',
                 'extra-checks', 'build-import-check'):
        assert name in default
    assert noxfile.select(['sanity', 'unit']) == ['sanity-2.16', 'sanity-2.17', 'sanity-2.18', 'sanity-2.19', 'unit']
    with pytest.raises(SystemExit, match='unknown session or tag: nosuch'):
        noxfile.select(['nosuch'])


def test_every_session_is_one_job_the_sanity_sessions_one_job_the_longest_first(noxfile):
    names = noxfile.select([])
    jobs = noxfile.jobs(names)
    assert sorted(name for job in jobs for name in job) == sorted(names)
    assert [job for job in jobs if len(job) > 1] == [['sanity-2.16', 'sanity-2.17', 'sanity-2.18', 'sanity-2.19']]
    lengths = [sum(noxfile.DURATIONS.get(name, 60) for name in job) for job in jobs]
    assert lengths == sorted(lengths, reverse=True)


# a stand-in for nox: `nox --report FILE -s NAME...` logs when it starts and ends, sleeps as FAKE_NOX_SLEEPS says, and
# writes its report
FAKE_NOX = """import json, os, sys, time
report, names = sys.argv[2], sys.argv[4:]
def log(kind):
    with open(os.environ['FAKE_NOX_LOG'], 'a') as handle:
        handle.write('%s %s %f\\n' % (kind, names[0], time.time()))
log('start')
print('running ' + ' '.join(names), flush=True)
time.sleep(json.loads(os.environ['FAKE_NOX_SLEEPS']).get(names[0], 0.3))
log('end')
with open(report, 'w') as handle:
    json.dump(dict(sessions=[dict(name=name, result='success', duration=1) for name in names]), handle)
"""


def test_the_jobs_run_two_at_a_time_and_a_freed_slot_takes_the_longest_waiting(noxfile, tmp_path, capsys, monkeypatch):
    """With a stand-in for nox on PATH: never more than two at once; when the short job ends, the longest waiting starts
    while the long one still runs; every job's report is written and its lines carry its name."""
    log = tmp_path / 'log'
    fake = tmp_path / 'bin' / 'nox'
    fake.parent.mkdir()
    fake.write_text('#!%s\n%s' % (sys.executable, FAKE_NOX), encoding='utf-8')
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', '%s%s%s' % (fake.parent, os.pathsep, os.environ['PATH']))
    monkeypatch.setenv('FAKE_NOX_LOG', str(log))
    monkeypatch.setenv('FAKE_NOX_SLEEPS', json.dumps({'long': 4.0}))
    monkeypatch.setattr(noxfile, 'DURATIONS', {'long': 500, 'short': 10, 'middle': 100, 'tiny': 5})
    reports = tmp_path / 'reports'
    reports.mkdir()
    noxfile.run(['tiny', 'short', 'long', 'middle'], 2, str(reports))
    out = capsys.readouterr().out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith('=== start')] == ['long', 'middle', 'short', 'tiny']
    assert '[long] running long' in out and '[tiny] running tiny' in out
    events = [line.split() for line in log.read_text(encoding='utf-8').splitlines()]
    running, most = set(), 0
    for kind, name, _when in sorted(events, key=lambda event: float(event[2])):
        running = running | {name} if kind == 'start' else running - {name}
        most = max(most, len(running))
    assert most == 2
    ended = dict((name, float(when)) for kind, name, when in events if kind == 'end')
    assert ended['tiny'] < ended['long']   # the short jobs ran beside the long one, not after it
    assert sorted(path.name for path in reports.iterdir()) == [
        'long.json', 'long.log', 'middle.json', 'middle.log', 'short.json', 'short.log', 'tiny.json', 'tiny.log']
    assert (reports / 'long.log').read_text(encoding='utf-8') == 'running long\n'   # its own lines, without the label


def test_a_skipped_or_missing_session_fails_the_run(noxfile, tmp_path, capsys, monkeypatch):
    report = tmp_path / 'suites.json'
    report.write_text(json.dumps(dict(result=0, sessions=[
        dict(name='unit', result='skipped', reason='no tests', duration=3),
        dict(name='suites', result='success', duration=100),
        dict(name='benchmark', result='failed', duration=7)])), encoding='utf-8')
    assert noxfile.summary(['unit', 'suites', 'benchmark', 'release'], 120, str(tmp_path)) == 3
    out = capsys.readouterr().out
    assert 'failed (skipped: no tests)' in out and 'failed (not run)' in out
    assert out.rstrip().endswith('test-all: 1 passed, 3 failed')
    monkeypatch.setitem(noxfile.ALLOWED_SKIPS, 'unit', 'listed for the test')
    assert noxfile.summary(['unit', 'suites'], 120, str(tmp_path)) == 0
    assert capsys.readouterr().out.rstrip().endswith('test-all: 2 passed, 0 failed')


def test_the_older_cores_sanity_copy_keeps_only_what_the_tarball_ships(noxfile, tmp_path, monkeypatch):
    copy = tmp_path / 'ansible_collections' / 'iotops' / 'provisioning'
    kept = ['plugins/modules/ublox_tag.py', 'plugins/module_utils/_http.py', 'roles/fleet_audit/tasks/main.yml',
            'playbooks/onboard.yml', 'meta/runtime.yml', 'changelogs/fragments/13-harness.yml', 'docs/testing.md', 'galaxy.yml',
            'tests/config.yml']   # ansible-test's own configuration stays
    dropped = ['mock_cloud/iotops_mock/server.py', 'tests/unit/test_harness.py', 'tests/suites/harness.py', 'hacking/test-all.sh',
               'benchmarks/factory_scale.py', 'extensions/molecule/config.yml', 'noxfile.py', 'plugins/modules/__pycache__/x.pyc']
    for rel in kept + dropped:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_text('x\n', encoding='utf-8')
    monkeypatch.chdir(copy)
    noxfile._keep_only_what_ships()
    left = sorted(str(path.relative_to(copy)) for path in copy.rglob('*') if path.is_file())
    assert left == sorted(kept)
    assert not (copy / 'mock_cloud').exists() and not (copy / 'tests' / 'unit').exists()


def test_the_sanity_copy_is_never_the_checkout(noxfile, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(RuntimeError, match='not in the session copy'):
        noxfile._keep_only_what_ships()
    assert os.path.exists(os.path.join(ROOT, 'mock_cloud'))


def test_a_failed_session_is_named_again_at_the_end_with_what_its_log_says(noxfile, tmp_path, capsys):
    """CI shows only part of a long output: the failed tests' lines come again just before the table; a log without such
    lines is shown by its end; the four sanity sessions share one log, shown once."""
    (tmp_path / 'suites.json').write_text(json.dumps(dict(sessions=[dict(name='suites', result='failed', duration=9)])),
                                          encoding='utf-8')
    (tmp_path / 'suites.log').write_text('\n'.join(['.' * 72] * 500 + [
        'E   assert (28, 32, 0) == (30, 30, 0)',
        'FAILED tests/suites/test_factory_batches.py::test_first_run - assert (28, 32, 0) == (30, 30, 0)',
        '1 failed, 263 passed in 1140.00s', 'nox > Session suites failed.']), encoding='utf-8')
    (tmp_path / 'sanity.json').write_text(json.dumps(dict(sessions=[dict(name='sanity-2.18', result='failed', duration=1),
                                                                    dict(name='sanity-2.19', result='failed', duration=1)])),
                                          encoding='utf-8')
    (tmp_path / 'sanity.log').write_text('\n'.join('line %d' % number for number in range(100)), encoding='utf-8')
    (tmp_path / 'molecule.json').write_text(json.dumps(dict(sessions=[dict(name='molecule', result='failed', duration=5)])),
                                            encoding='utf-8')
    (tmp_path / 'molecule.log').write_text('\n'.join(['ok: [localhost]'] * 200 + [
        'fatal: [localhost]: FAILED! => {"msg": "the tag holds 3 modules, not 4"}',
        'CRITICAL Ansible return code was 2, command was: ansible-playbook verify.yml'] + ['INFO     cleanup'] * 50
        + ['nox > Command molecule test --all failed with exit code 1', 'nox > Session molecule failed.']), encoding='utf-8')
    assert noxfile.summary(['suites', 'sanity-2.18', 'sanity-2.19', 'molecule', 'unit'], 60, str(tmp_path)) == 5
    out = capsys.readouterr().out
    excerpt, table = out.split('=== summary ===')
    assert 'FAILED tests/suites/test_factory_batches.py::test_first_run' in excerpt and 'E   assert (28, 32, 0)' in excerpt
    assert 'nox > Session suites failed.' in excerpt and '.' * 72 not in excerpt
    assert excerpt.count('=== sanity failed') == 1 and 'line 99' in excerpt and 'line 59' not in excerpt   # its last 40
    assert 'the tag holds 3 modules, not 4' in excerpt and 'CRITICAL Ansible return code was 2' in excerpt
    assert 'nox > Session molecule failed.' in excerpt and 'ok: [localhost]' not in excerpt
    assert '=== unit failed' in excerpt and '(no log kept)' in excerpt
    assert table.rstrip().endswith('test-all: 0 passed, 5 failed')
