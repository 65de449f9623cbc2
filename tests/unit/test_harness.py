# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test harness's own rules (noxfile.py): which sessions a word selects, how they are split into two lanes, and
that the summary counts a session that skipped or never ran as failed."""

from __future__ import annotations

import importlib.util
import json
import os

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


def test_the_lanes_hold_every_session_once_and_the_sanity_sessions_together(noxfile):
    names = noxfile.select([])
    lanes = noxfile.plan(names)
    assert sorted(lanes[0] + lanes[1]) == sorted(names)
    sanity = [lane for lane in lanes if any(name.startswith('sanity-') for name in lane)]
    assert len(sanity) == 1
    load = [sum(noxfile.DURATIONS.get(name, 60) for name in lane) for lane in lanes]
    assert max(load) - min(load) <= max(noxfile.DURATIONS.values())


def test_a_skipped_or_missing_session_fails_the_run(noxfile, tmp_path, capsys, monkeypatch):
    report = tmp_path / 'lane-A.json'
    report.write_text(json.dumps(dict(result=0, sessions=[
        dict(name='unit', result='skipped', reason='no tests', duration=3),
        dict(name='suites', result='success', duration=100),
        dict(name='benchmark', result='failed', duration=7)])), encoding='utf-8')
    assert noxfile.summary(['unit', 'suites', 'benchmark', 'release'], 120, [str(report)]) == 3
    out = capsys.readouterr().out
    assert 'failed (skipped: no tests)' in out and 'failed (not run)' in out
    assert out.rstrip().endswith('test-all: 1 passed, 3 failed')
    monkeypatch.setitem(noxfile.ALLOWED_SKIPS, 'unit', 'listed for the test')
    assert noxfile.summary(['unit', 'suites'], 120, [str(report)]) == 0
    assert capsys.readouterr().out.rstrip().endswith('test-all: 2 passed, 0 failed')
