# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""batch_report's action in one real ansible-playbook run, for a host that is not the controller and cannot be reached: the
report is written on the controller, nothing connects to the host, and each result (the report, its files and their modes, a
check, refused options) is the one the module returns for the same arguments."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import batch_report

SERIALS = {'nrfcloud': {'nrf-1': 'SN-1', 'nrf-2': 'SN-2'}, 'iotcomms': {'4680001': 'SN-1'}}
STEPS = [
    {'vendor': 'nrfcloud', 'step': 'claim and provision', 'results': [
        {'item': 'nrf-1', 'changed': True, 'failed': False, 'phase': 'provisioned', 'waiting': False},
        {'item': 'nrf-2', 'changed': False, 'failed': True, 'phase': 'needs attention', 'waiting': False,
         'msg': 'the device reported ERROR', 'remedy': 'Return the device to the line.'}]},
    {'vendor': 'iotcomms', 'step': 'SIP devices', 'results': [
        {'item': '4680001', 'changed': True, 'failed': False, 'phase': 'created', 'waiting': False}]},
]
COMMON = {'name': 'onboarding-b9', 'title': 'Factory onboarding', 'batch': 'b9', 'steps': STEPS, 'serials': SERIALS,
          'done_word': 'onboarded', 'return_devices': True}
# (name, arguments besides COMMON and the directory, check mode)
CASES = (
    ('written', {'mode': 'u=rw,g=r'}, False),
    ('checked', {}, True),
    ('bad_mode', {'mode': 'rw-all'}, False),
    ('bad_name', {'name': '../elsewhere'}, False),
    ('unknown_option', {'colour': 'red'}, False),
    ('bad_kind', {'kind': 'inventory'}, False),
)
# what differs between two runs of the same report: when and where it was written, and what only the action knows
PER_RUN = ('finished', 'started', 'duration_seconds', 'collection_version', 'awx_job_id')
ANSIBLE_KEYS = ('invocation', '_ansible_no_log', 'warnings', 'deprecations', 'exception')
# a report file's time and random run tag
RUN_IN_NAME = re.compile(r'\d{8}T\d{6}Z-[0-9a-f]{6}')


def tasks(reports):
    made = [{'name': name, 'iotops.provisioning.batch_report': dict(COMMON, path=os.path.join(reports, name), **args),
             'check_mode': check, 'register': name, 'ignore_errors': True} for name, args, check in CASES]
    # a directory that is a file
    made.append({'name': 'not_a_directory', 'iotops.provisioning.batch_report': dict(COMMON, path=os.path.join(reports, 'file')),
                 'register': 'not_a_directory', 'ignore_errors': True})
    return made


@pytest.fixture(scope='module')
def written(tmp_path_factory, play_for_a_far_host):
    work = tmp_path_factory.mktemp('batch_report_action')
    reports = work / 'by-the-action'
    reports.mkdir()
    (reports / 'file').write_text('not a directory\n')
    results, stdout = play_for_a_far_host(work, tasks(str(reports)), [case[0] for case in CASES] + ['not_a_directory'])
    return dict(work=work, reports=reports, results=results, stdout=stdout)


def comparable(result, directory):
    """The result without what differs from run to run: times, the action's run facts, the files' directory."""
    result = json.loads(RUN_IN_NAME.sub('<run>', json.dumps(result).replace(directory + os.sep, '<dir>/')))
    for key in ANSIBLE_KEYS:
        result.pop(key, None)
    for key in ('failed', 'changed'):
        if result.get(key) is False:
            del result[key]
    if 'report' in result:
        for key in PER_RUN:
            result['report']['run'].pop(key, None)
    return result


def modes(directory):
    return sorted((name, '%o' % stat.S_IMODE(os.lstat(os.path.join(directory, name)).st_mode)) for name in os.listdir(directory))


@pytest.mark.parametrize('name, args, check_mode', CASES, ids=[case[0] for case in CASES])
def test_the_action_returns_and_writes_what_the_module_does(written, run, monkeypatch, name, args, check_mode):
    monkeypatch.delenv('JOB_ID', raising=False)
    by_module = written['work'] / 'by-the-module' / name
    expected = run(batch_report, dict(COMMON, path=str(by_module), _ansible_module_name='iotops.provisioning.batch_report', **args),
                   check_mode=check_mode)
    by_action = os.path.join(str(written['reports']), name)
    got = written['results'][name]
    assert comparable(got, by_action) == comparable(expected, str(by_module))
    if os.path.isdir(by_action) or os.path.isdir(by_module):
        # the same files (the names differ by their time and random run tag), with the same modes
        assert [(RUN_IN_NAME.sub('<run>', entry), mode) for entry, mode in modes(by_action)] == \
            [(RUN_IN_NAME.sub('<run>', entry), mode) for entry, mode in modes(str(by_module))]


def test_the_report_is_written_on_the_controller_and_nothing_connects_to_the_host(written):
    results = written['results']
    assert results['written']['report']['verdict']['needs_attention'] == 1, results['written']
    assert os.path.islink(os.path.join(str(written['reports']), 'written', 'onboarding-b9.html'))
    assert not any(result.get('unreachable') for result in results.values()), written['stdout']
    assert 'UNREACHABLE' not in written['stdout']


def test_a_symbolic_mode_is_applied_and_a_check_keeps_0600(written):
    written_modes = dict(modes(os.path.join(str(written['reports']), 'written')))
    assert set(mode for name, mode in written_modes.items() if not name.startswith('onboarding-b9.')) == {'640'}, written_modes
    assert set(mode for dummy, mode in modes(os.path.join(str(written['reports']), 'checked'))) == {'600'}


def test_bad_input_fails_before_anything_is_written(written):
    results = written['results']
    for name in ('bad_mode', 'bad_name', 'unknown_option', 'bad_kind'):
        assert results[name]['failed'], results[name]
        assert not os.path.exists(os.path.join(str(written['reports']), name)), name
    assert results['unknown_option']['msg'].startswith('Unsupported parameters for (iotops.provisioning.batch_report) module: colour')
    assert results['not_a_directory']['msg'].startswith('path: cannot use %s as the report directory'
                                                        % os.path.join(str(written['reports']), 'file'))
