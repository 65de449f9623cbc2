# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""manifest_info's action in one real ansible-playbook run, for a host that is not the controller and cannot be reached: the
manifest is read on the controller, nothing connects to the host, and every result (devices, problems, check mode, refused
options) is the one the module returns for the same arguments."""

from __future__ import annotations

import os
import uuid

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import manifest_info
from iotops_mock.vendors.nrfcloud.attestation import make_attestation_token

GOOD = ('serial,nrfcloud_claim_token,ublox_rot_public_uid,ublox_imei,iotcomms_device_id,naocloud_mac\n'
        'SN-1,%s,00020000892800AA,490154203237518,4670000001,aa-bb-cc-00-00-01\n'
        'SN-2,,,,4670000002,\n')
BAD = 'serial,ublox_imei\nSN-1,490154203237517\nSN-1,862618583984361\n'
# (name, arguments, check mode); the paths are relative to the run's directory
CASES = (
    ('good', {'path': 'good.csv'}, False),
    ('good_in_check_mode', {'path': 'good.csv', 'select': ['SN-2']}, True),
    ('rows', {'rows': [{'serial': 'SN-9', 'naocloud_mac': 'AA:BB:CC:00:00:09'}]}, False),
    ('bad', {'path': 'bad.csv'}, False),
    ('bad_returned', {'path': 'bad.csv', 'fail_on_problems': False}, False),
    ('missing', {'path': 'no-such.csv', 'fail_on_problems': False}, False),
    ('unknown_select', {'path': 'good.csv', 'select': ['SN-7']}, False),
    ('both_sources', {'path': 'good.csv', 'rows': [{'serial': 'SN-9'}]}, False),
    ('unknown_option', {'path': 'good.csv', 'colour': 'red'}, False),
    ('bad_format', {'path': 'good.csv', 'format': 'xlsx'}, False),
)
# what Ansible adds to a task's result (2.19: "exception" to a failure without a traceback), and the module's invocation
ANSIBLE_KEYS = ('invocation', '_ansible_no_log', 'warnings', 'deprecations', 'exception')


def tasks():
    return [{'name': name, 'iotops.provisioning.manifest_info': args, 'check_mode': check, 'register': name, 'ignore_errors': True}
            for name, args, check in CASES]


@pytest.fixture(scope='module')
def read(tmp_path_factory, play_for_a_far_host):
    work = tmp_path_factory.mktemp('manifest_info_action')
    (work / 'good.csv').write_text(GOOD % make_attestation_token(uuid.uuid4().bytes), encoding='utf-8')
    (work / 'bad.csv').write_text(BAD, encoding='utf-8')
    results, stdout = play_for_a_far_host(work, tasks(), [case[0] for case in CASES])
    return dict(work=work, results=results, stdout=stdout)


def module_result(run, work, args, check_mode):
    """What the module returns for ``args``, run in this process from the run's directory (the relative paths)."""
    here = os.getcwd()
    os.chdir(str(work))
    try:
        # the name ansible-playbook gives a module it runs for a task
        return run(manifest_info, dict(args, _ansible_module_name='iotops.provisioning.manifest_info'), check_mode=check_mode)
    finally:
        os.chdir(here)


@pytest.mark.parametrize('name, args, check_mode', CASES, ids=[case[0] for case in CASES])
def test_the_action_returns_what_the_module_returns(read, run, name, args, check_mode):
    got = read['results'][name]
    expected = module_result(run, read['work'], args, check_mode)
    for key in ANSIBLE_KEYS:
        got.pop(key, None)
        expected.pop(key, None)
    for key in ('failed', 'changed'):
        if got.get(key) is False and key not in expected:  # a registered result says so; a module may leave them out
            del got[key]
    assert got == expected


def test_the_manifest_is_read_on_the_controller_and_nothing_connects_to_the_host(read):
    results = read['results']
    assert results['good']['counts'] == {'total': 2, 'nrfcloud': 1, 'ublox': 1, 'iotcomms': 2, 'naocloud': 1}
    assert not any(result.get('unreachable') for result in results.values()), read['stdout']
    assert 'UNREACHABLE' not in read['stdout']


def test_problems_and_refused_options_fail_the_task_with_their_reason(read):
    results = read['results']
    assert results['bad']['failed'] and len(results['bad']['problems']) == 3, results['bad']
    assert 'failed' not in results['bad_returned'] and len(results['bad_returned']['problems']) == 3
    assert results['missing']['problems'] == ['path: cannot read the manifest no-such.csv (No such file or directory)']
    assert results['unknown_select']['failed'] and 'SN-7' in results['unknown_select']['msg']
    assert results['both_sources']['msg'] == 'parameters are mutually exclusive: path|rows'
    assert results['unknown_option']['msg'].startswith('Unsupported parameters for (iotops.provisioning.manifest_info) module: colour')
    assert results['bad_format']['failed'] and 'xlsx' in results['bad_format']['msg']
