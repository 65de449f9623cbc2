# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""batch_report: one row per device with a column per cloud, the verdict, what needs attention, the files kept, the page."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time

import pytest

from ansible_collections.iotops.provisioning.plugins.action import batch_report as action
from ansible_collections.iotops.provisioning.plugins.module_utils import _report_files as report_files
from ansible_collections.iotops.provisioning.plugins.module_utils._report import lean_step
from ansible_collections.iotops.provisioning.plugins.modules import batch_report, manifest_info

REMEDY = 'Return the device to the line and check its modem, then unclaim and claim it again.'
MODEM = 'the device ran "Generate key pair" and reported ERROR: modem error -8 (key generation failed)'

SERIALS = {
    'nrfcloud': {'nrf-1': 'SN-1', 'nrf-2': 'SN-2', 'nrf-3': 'SN-3'},
    'ublox': {'0002000000000001': 'SN-1', '352656100000001': 'SN-1', '0002000000000002': 'SN-2', '0002000000000003': 'SN-3'},
    'iotcomms': {'4680001': 'SN-1', '4680002': 'SN-2', '4680003': 'SN-3'},
    'naocloud': {'AA:CC:00:00:00:01': 'SN-1', 'AA:CC:00:00:00:02': 'SN-2', 'AA:CC:00:00:00:03': 'SN-3'},
}


def out(item, phase, changed=False, waiting=False, **extra):
    return dict(item=item, changed=changed, failed=False, phase=phase, waiting=waiting, **extra)


def failed(item, msg, **extra):
    return dict(item=item, changed=False, failed=True, phase='needs attention', waiting=False, msg=msg, **extra)


def factory_steps():
    """A factory batch of three devices over four clouds: SN-1 done, SN-2 waits for the device, SN-3 needs a person."""
    return [
        dict(vendor='ublox', step='whitelist', results=[
            out('0002000000000001', 'whitelisted', True), out('352656100000001', 'whitelisted', True),
            out('0002000000000002', 'whitelisted', True), out('0002000000000003', 'whitelisted', True)]),
        dict(vendor='iotcomms', step='SIP devices', results=[
            out('4680001', 'created', True), out('4680002', 'up to date'), out('4680003', 'created', True)]),
        dict(vendor='naocloud', step='tracking tags', results=[
            out('AA:CC:00:00:00:01', 'registered', True), out('AA:CC:00:00:00:02', 'registered', True),
            out('AA:CC:00:00:00:03', 'registered', True)]),
        dict(vendor='nrfcloud', step='claim and provision', results=[
            out('nrf-1', 'provisioned', True), out('nrf-2', 'waiting for the device', True, waiting=True),
            failed('nrf-3', MODEM, remedy=REMEDY)]),
        dict(vendor='nrfcloud', step='onboard', results=[out('nrf-1', 'onboarded', True)]),
        # the later pass: SN-1 bootstrapped meanwhile, SN-2 did not; SN-3's second failure does not replace its first
        dict(vendor='ublox', step='devices that bootstrapped', results=[
            out('0002000000000001', 'features applied', True), out('0002000000000002', 'waiting for bootstrap', waiting=True),
            out('0002000000000003', 'bootstrapped')]),
        dict(vendor='nrfcloud', step='retry', results=[
            failed('nrf-3', 'a later failure', remedy='not this one'), out('nrf-2', 'waiting for the device', waiting=True)]),
    ]


def report_of(run, tmp_path, steps, **args):
    params = dict(path=str(tmp_path / 'reports'), name='onboarding-b47', title='Factory onboarding', batch='b47', steps=steps)
    params.update(args)
    return run(batch_report, params)


def read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def test_one_row_per_serial_with_a_column_per_cloud(run, tmp_path):
    """The identities of a device in four clouds make one row; the last step's phase wins, the first failure stays."""
    result = report_of(run, tmp_path, factory_steps(), serials=SERIALS, return_devices=True, done_word='onboarded')
    rows = dict((row['serial'], row) for row in result['report']['devices'])
    assert [row['serial'] for row in result['report']['devices']] == ['SN-1', 'SN-2', 'SN-3']
    assert [c['key'] for c in result['report']['clouds']] == ['nrfcloud', 'ublox', 'iotcomms', 'naocloud']
    assert [c['label'] for c in result['report']['clouds']] == ['nRF Cloud', 'u-blox', 'iotcomms.io', 'NAO Cloud']
    phases = dict((serial, dict((cloud, cell['phase']) for cloud, cell in row['clouds'].items())) for serial, row in rows.items())
    assert phases == {
        'SN-1': dict(nrfcloud='onboarded', ublox='features applied', iotcomms='created', naocloud='registered'),
        'SN-2': dict(nrfcloud='waiting for the device', ublox='waiting for bootstrap', iotcomms='up to date', naocloud='registered'),
        'SN-3': dict(nrfcloud='needs attention', ublox='bootstrapped', iotcomms='created', naocloud='registered'),
    }
    assert [rows[s]['verdict'] for s in ('SN-1', 'SN-2', 'SN-3')] == ['done', 'waiting', 'needs attention']
    assert rows['SN-1']['clouds']['ublox']['ids'] == ['0002000000000001', '352656100000001']
    assert rows['SN-1']['clouds']['nrfcloud']['steps'] == ['claim and provision', 'onboard']
    # changed is an OR over the steps: SN-2's u-blox identity changed in the whitelist step, not in the later pass
    assert rows['SN-2']['clouds']['ublox']['changed'] and not rows['SN-2']['clouds']['iotcomms']['changed']
    sticky = rows['SN-3']['clouds']['nrfcloud']
    assert (sticky['reason'], sticky['remedy'], sticky['failed'], sticky['waiting']) == (MODEM, REMEDY, True, False)
    assert sticky['reached'] == ''  # nRF Cloud never reported a phase for it that was not a failure


def test_ids_without_serial_and_unknown_clouds_get_rows_and_columns(run, tmp_path):
    steps = [dict(vendor='nrfcloud', step='claim', results=[out('nrf-1', 'claimed', True), out('nrf-9', 'claimed', True)]),
             dict(vendor='lorawan', step='join', results=[out('nrf-1', 'joined', True)])]
    report = report_of(run, tmp_path, steps, serials={'nrfcloud': {'nrf-1': 'SN-1'}}, return_devices=True)['report']
    assert [c['key'] for c in report['clouds']] == ['nrfcloud', 'lorawan']
    assert [(row['serial'], row['device'], sorted(row['clouds'])) for row in report['devices']] == [
        ('SN-1', 'SN-1', ['nrfcloud']), (None, 'nrf-9', ['nrfcloud']), (None, 'nrf-1', ['lorawan'])]
    html = read(report_of(run, tmp_path, steps)['html_path'])
    assert '<th>lorawan</th>' in html


def test_verdict_counts_and_text(run, tmp_path):
    result = report_of(run, tmp_path, factory_steps(), serials=SERIALS, done_word='onboarded')
    report = result['report']
    assert report['verdict'] == dict(text='1 of 3 onboarded · 1 waiting for the device · 1 needs attention', total=3, done=1,
                                     waiting=1, needs_attention=1, out_of_service=0, step_failures=0, warnings=0, changed=3)
    assert report['complete'] is False
    assert report['counts']['nrfcloud'] == dict(total=3, changed=2, waiting=1, needs_attention=1,
                                                phases={'onboarded': 1, 'waiting for the device': 1, 'needs attention': 1})
    assert report['counts']['ublox']['phases'] == {'features applied': 1, 'waiting for bootstrap': 1, 'bootstrapped': 1}
    assert report['waiting'] == [dict(serial='SN-2', device='SN-2', clouds=dict(
        nrfcloud='waiting for the device', ublox='waiting for bootstrap', iotcomms='up to date', naocloud='registered'))]
    assert (report['waiting_total'], report['needs_attention_total']) == (1, 1)
    written = json.loads(read(result['json_path']))
    assert written['verdict'] == report['verdict'] and written['complete'] is False and len(written['devices']) == 3
    assert written['run']['done_word'] == 'onboarded'
    # the parts that count 0 are left out, except the first
    done = [dict(vendor='iotcomms', step='SIP devices', results=[out('4680001', 'up to date')])]
    report = report_of(run, tmp_path, done)['report']
    assert report['verdict']['text'] == '1 of 1 done' and report['complete'] is True
    none = report_of(run, tmp_path, [dict(vendor='naocloud', step='tags', error='site 7 does not exist')])['report']
    assert none['verdict']['text'] == '0 of 0 done · 1 step failed'


def test_attention_first_with_reason_and_remedy(run, tmp_path):
    """Step failures and devices that need a person come first, each with what to do; then the waiting devices; then all."""
    unauthorised = 'ublox POST /v1/device/whitelist/add failed: HTTP 401: invalid credentials'
    chunks = [dict(ansible_loop_var='item', item=['nrf-4'], msg='devices[0]: claim_token is not an nRF91 attestation token'),
              dict(ansible_loop_var='item', item=[], skipped=True)]
    steps = factory_steps() + [dict(vendor='nrfcloud', step='claim and provision', runs=chunks),
                               dict(vendor='ublox', step='tag', results=[failed('0002000000000001', unauthorised)])]
    result = report_of(run, tmp_path, steps, serials=SERIALS, done_word='onboarded')
    attention = result['report']['needs_attention']
    assert [(e['serial'], e['cloud'], e['id'], e['step']) for e in attention] == [
        (None, 'nrfcloud', None, 'claim and provision'), ('SN-1', 'ublox', '0002000000000001', 'tag'), ('SN-3', 'nrfcloud', 'nrf-3', 'claim and provision')]
    step, credentials, modem = attention
    assert step['reason'] == 'devices[0]: claim_token is not an nRF91 attestation token'
    assert step['remedy'].startswith('Fix the cause above (the input it names')
    assert credentials['remedy'].startswith('Check the u-blox credentials') and credentials['phase'] == 'features applied'
    assert (modem['reason'], modem['remedy']) == (MODEM, REMEDY)
    assert result['report']['verdict']['text'] == '0 of 3 onboarded · 1 waiting for the device · 2 need attention · 1 step failed'
    html = read(result['html_path'])
    order = [html.index(mark) for mark in ('id=attention', 'id=waiting', 'id=devices')]
    assert order == sorted(order)
    assert html.index(MODEM.replace('"', '&quot;')) < html.index(REMEDY) < html.index('id=waiting')
    assert '<i>the whole step</i>' in html
    assert result['report']['console'] == [
        '0 of 3 onboarded · 1 waiting for the device · 2 need attention · 1 step failed - not complete: run the job again later '
        'for the devices that are waiting',
        'needs attention: the whole step (nRF Cloud, claim and provision): devices[0]: claim_token is not an nRF91 attestation '
        'token - what to do: ' + step['remedy'],
        'needs attention: SN-1 (u-blox, tag): %s - what to do: %s' % (unauthorised, credentials['remedy']),
        'needs attention: SN-3 (nRF Cloud, claim and provision): %s - what to do: %s' % (MODEM, REMEDY),
        'waiting: SN-2 - nRF Cloud: waiting for the device; u-blox: waiting for bootstrap']


def test_one_cause_of_many_devices_is_shown_once(run, tmp_path):
    """Hundreds of devices failing for one cause: the causes table says it once, each device points at its cause."""
    steps = [dict(vendor='nrfcloud', step='claim', results=[
        failed('nrf-%d' % i, 'nrfcloud POST /v1/claimed-devices/nrf-%d failed: HTTP 503' % i) for i in range(250)])]
    result = report_of(run, tmp_path, steps)
    causes = result['report']['attention_causes']
    assert causes == [dict(cause=1, devices=250, severity='failed', cloud='nrfcloud', step='claim',
                           reason='nrfcloud POST /v1/claimed-devices/(the device) failed: HTTP 503',
                           remedy='nRF Cloud was busy or out of reach: run the job again later; what is done is not done twice.')]
    assert len(result['report']['needs_attention']) == 100 and result['report']['needs_attention_total'] == 250
    assert result['report']['needs_attention'][99]['cause'] == 1
    assert len(result['report']['console']) == 22 and result['report']['console'][-1] == (
        '... and 230 more that need attention: see the report')
    html = read(result['html_path'])
    assert html.count('HTTP 503') == 1
    assert re.search(r'<details><summary>Each device <span>\(250 - folded', html)


def test_plain_words_for_results_without_phase(run, tmp_path):
    """The certificate_rotation role's status and action words, and nRF Cloud's statuses, are shown in plain words."""
    steps = [dict(vendor='ublox', step='renew', results=[
        dict(item='u-acted', changed=True, status='acted'), dict(item='u-done', status='done', reason='expires in 300 days'),
        dict(item='u-pending', status='pending', reason='renew pending until the next security heartbeat'),
        dict(item='u-none', action='none'), dict(item='u-added', changed=True, status='added')]),
        dict(vendor='iotcomms', step='SIP devices', results=[dict(item='4680001', changed=True, action='create')]),
        dict(vendor='nrfcloud', step='rotate', results=[dict(item='nrf-1', changed=True, status='PROVISIONED')]),
        dict(vendor='ublox_rootca', step='delete the old Root CA', results=[
            dict(item='old.example.com', status='kept', reason='3 device(s) still hold a certificate from it'),
            dict(item='fleet.example.com', changed=True)])]
    result = report_of(run, tmp_path, steps, return_devices=True, done_word='up to date')
    phases = dict((row['device'], list(row['clouds'].values())[0]) for row in result['report']['devices'])
    assert dict((device, cell['phase']) for device, cell in phases.items()) == {
        'u-acted': 'changed', 'u-done': 'up to date', 'u-pending': 'pending (next heartbeat)', 'u-none': 'up to date',
        'u-added': 'whitelisted', '4680001': 'created', 'nrf-1': 'provisioned', 'old.example.com': 'kept',
        'fleet.example.com': 'changed'}
    assert phases['u-pending']['waiting'] and phases['u-pending']['note'] == 'renew pending until the next security heartbeat'
    # the two Root CA rows are shown but are not devices: the verdict counts the 7 devices
    assert result['report']['verdict']['text'] == '6 of 7 up to date · 1 waiting for the device'
    assert [c['label'] for c in result['report']['clouds']] == ['nRF Cloud', 'u-blox', 'iotcomms.io', 'u-blox Root CA']
    html = read(result['html_path'])
    for jargon in ('none', 'create', 'added', 'PROVISIONED', 'acted', 'pending'):
        assert '>%s<' % jargon not in html, jargon


def test_a_shared_tag_is_no_device_and_its_failure_is_a_failed_step(run, tmp_path):
    """Decommissioning one device also takes it out of a u-blox tag: the tag's row is shown, the verdict counts one device."""
    steps = [dict(vendor='ublox', step='revoke certificate', results=[dict(item='00a1', changed=True)]),
             dict(vendor='ublox_tag', step='take devices out of the tag', results=[dict(item='line-1', changed=True)])]
    result = report_of(run, tmp_path, steps, serials=dict(ublox={'00a1': 'SN-1'}), done_word='decommissioned', return_devices=True)
    verdict = result['report']['verdict']
    assert verdict['text'] == '1 of 1 decommissioned' and verdict['total'] == 1
    assert [row['device'] for row in result['report']['devices']] == ['SN-1', 'line-1']
    steps[1]['results'] = [dict(item='line-1', failed=True, msg='HTTP 503')]
    verdict = report_of(run, tmp_path, steps, serials=dict(ublox={'00a1': 'SN-1'}), done_word='decommissioned')['report']['verdict']
    assert verdict['text'] == '1 of 1 decommissioned · 1 step failed' and verdict['step_failures'] == 1


def test_a_device_out_of_service_is_counted_apart_not_healthy(run, tmp_path):
    """An audit after a decommission and an incident response: the retired devices are neither healthy nor findings."""
    steps = [dict(vendor='ublox', step='audit', results=[
        out('0002000000000001', 'bootstrapped'),
        out('0002000000000002', 'out of service (certificate revoked)', out_of_service=True),
        out('0002000000000003', 'out of service (certificate deletion pending)', out_of_service=True)]),
        dict(vendor='iotcomms', step='audit', results=[
            out('4680001', 'present'), out('4680002', 'present'), out('4680003', 'gone (decommissioned)', out_of_service=True)])]
    result = report_of(run, tmp_path, steps, serials=SERIALS, done_word='healthy', return_devices=True)
    report = result['report']
    assert report['verdict']['text'] == '1 of 3 healthy · 2 out of service'
    assert (report['verdict']['done'], report['verdict']['out_of_service']) == (1, 2)
    assert report['complete'] and report['needs_attention'] == []
    assert [(row['device'], row['verdict']) for row in report['devices']] == [
        ('SN-1', 'done'), ('SN-2', 'out of service'), ('SN-3', 'out of service')]
    assert report['devices'][2]['clouds']['iotcomms']['out_of_service'] is True
    page = read(result['html_path'])
    assert '<td class=n>out of service</td>' in page and '<td class=n>gone (decommissioned)</td>' in page
    # waiting comes first: a retired module whose other identities still wait is waiting
    steps[1]['results'][2] = out('4680003', 'waiting', waiting=True)
    verdict = report_of(run, tmp_path, steps, serials=SERIALS, done_word='healthy')['report']['verdict']
    assert verdict['text'] == '1 of 3 healthy · 1 out of service · 1 waiting for the device'
    # an identity a cloud does not hold is greyed too, not shown green as a step reached (a device no cloud knows has one
    # finding, in its first cloud; its other cells are only "missing")
    steps[1]['results'][1] = failed('4680002', 'in none of the clouds read')
    steps.append(dict(vendor='naocloud', step='audit', results=[out('AA:CC:00:00:00:02', 'missing')]))
    page = read(report_of(run, tmp_path, steps, serials=SERIALS, done_word='healthy')['html_path'])
    assert '<td class=n>missing</td>' in page and '<td class=o>missing</td>' not in page


def stamped(directory, name):
    return sorted(entry for entry in os.listdir(directory) if re.match(r'^%s-\d{8}T\d{6}Z' % name, entry))


def test_every_run_is_kept_and_latest_points_at_the_newest(run, tmp_path, monkeypatch):
    """Each run's files carry its AWX job id (or, outside AWX, a random suffix): two jobs of one batch in the same second keep
    both reports, and the same job id twice in a second still gets -2."""
    directory = tmp_path / 'reports'
    clock = [1780000000.0]
    monkeypatch.setattr(report_files.time, 'time', lambda: clock[0])
    monkeypatch.delenv('JOB_ID', raising=False)
    first = report_of(run, tmp_path, factory_steps(), serials=SERIALS, awx_job_id='4711')
    second = report_of(run, tmp_path, factory_steps()[:3], serials=SERIALS, awx_job_id='4712')  # the same second
    again = report_of(run, tmp_path, factory_steps()[:3], serials=SERIALS, awx_job_id='4712')  # a clash all the same: -2
    clock[0] += 3600
    monkeypatch.setenv('JOB_ID', '4713')  # what the controller sets in the job's environment
    third = report_of(run, tmp_path, factory_steps()[:2], serials=SERIALS)
    one, later = (time.strftime('onboarding-b47-%Y%m%dT%H%M%SZ', time.gmtime(t)) for t in (1780000000, 1780003600))
    stems = (one + '-job4711', one + '-job4712', one + '-job4712-2', later + '-job4713')
    assert stamped(str(directory), 'onboarding-b47') == sorted('%s.%s' % (stem, ext) for stem in stems for ext in ('json', 'html'))
    assert [r['json_path'] for r in (first, second, again, third)] == [str(directory / ('%s.json' % stem)) for stem in stems]
    for ext in ('json', 'html'):
        latest = directory / ('onboarding-b47.%s' % ext)
        assert third['latest_%s_path' % ext] == str(latest)
        assert os.readlink(str(latest)) == '%s-job4713.%s' % (later, ext)  # relative: the directory may move
    assert json.loads(read(str(directory / 'onboarding-b47.json')))['verdict']['total'] == 3
    assert json.loads(read(first['json_path']))['verdict']['total'] == 3
    assert json.loads(read(second['json_path']))['verdict']['total'] == 3
    assert sorted(os.listdir(str(directory))) == sorted(stamped(str(directory), 'onboarding-b47') + ['onboarding-b47.html', 'onboarding-b47.json'])


def test_runs_outside_awx_in_the_same_second_get_names_of_their_own(run, tmp_path, monkeypatch):
    monkeypatch.setattr(report_files.time, 'time', lambda: 1780000000.0)
    monkeypatch.delenv('JOB_ID', raising=False)
    paths = [report_of(run, tmp_path, factory_steps())['json_path'] for dummy in range(3)]
    names = [os.path.basename(path) for path in paths]
    assert all(re.match(r'^onboarding-b47-20260528T202640Z-[0-9a-f]{6}\.json$', name) for name in names), names
    assert len(set(names)) == 3


def _set_mode(path):
    """What replace_atomically does to a copy: give it the report's mode."""
    os.chmod(path, 0o600)


@pytest.mark.parametrize('links', [True, False])
def test_two_jobs_pointing_latest_at_once_never_leave_a_torn_file(tmp_path, monkeypatch, links):
    """Two jobs replace the latest file over and over while a reader reads it: every read is one job's whole report (a link,
    or a copy where the file system refuses links), and no temporary file is left."""
    if not links:
        def refuse(*args):
            raise OSError(1, 'Operation not permitted')
        monkeypatch.setattr(report_files.os, 'symlink', refuse)
    reports = {name: tmp_path / ('r-%s.json' % name) for name in ('a', 'b')}
    for name, path in reports.items():
        path.write_text(json.dumps({'job': name, 'rows': [name * 50] * 2000}))
    wanted = set(path.read_text() for path in reports.values())
    latest, stop, seen = tmp_path / 'r.json', threading.Event(), []

    def job(target):
        while not stop.is_set():
            report_files.replace_atomically(str(latest), str(target), _set_mode)

    def reader():
        while not stop.is_set():
            if latest.exists():
                seen.append(latest.read_text() in wanted)

    threads = [threading.Thread(target=job, args=(path,)) for path in reports.values()] + [threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    assert seen and all(seen), '%d of %d reads were torn' % (seen.count(False), len(seen))
    assert sorted(os.listdir(str(tmp_path))) == ['r-a.json', 'r-b.json', 'r.json']


def test_check_mode_writes_a_check_report_and_leaves_latest_alone(run, tmp_path):
    directory = tmp_path / 'reports'
    real = report_of(run, tmp_path, factory_steps(), serials=SERIALS)
    before = os.readlink(str(directory / 'onboarding-b47.json'))
    check = run(batch_report, dict(path=str(directory), name='onboarding-b47', steps=factory_steps()[:2]), check_mode=True)
    assert re.search(r'/onboarding-b47-\d{8}T\d{6}Z-[0-9a-f]{6}-check\.json$', check['json_path'])
    assert re.search(r'/onboarding-b47-\d{8}T\d{6}Z-[0-9a-f]{6}-check\.html$', check['html_path'])
    assert 'latest_json_path' not in check and check['changed'] is False
    assert os.readlink(str(directory / 'onboarding-b47.json')) == before == os.path.basename(real['json_path'])
    assert json.loads(read(check['json_path']))['run']['check_mode'] is True
    # what a role keeps for the play: the run's own files (the latest links may be another job's by then)
    assert (real['outcome']['report'], real['outcome']['json']) == (real['html_path'], real['json_path'])
    assert (check['outcome']['report'], check['outcome']['json']) == (check['html_path'], check['json_path'])
    assert check['outcome']['verdict'] == check['report']['verdict'] and check['outcome']['complete'] is True
    assert check['outcome']['waiting'] == check['outcome']['needs_attention'] == []
    assert check['report']['console'] == ['CHECK MODE - nothing was changed: 7 of 7 done - complete']  # no serials: a row per id
    html = read(check['html_path'])
    assert 'CHECK MODE - nothing was changed' in html
    assert 'CHECK MODE' not in read(real['html_path'])
    # a check run into a new directory writes its check report and no latest link
    fresh = run(batch_report, dict(path=str(tmp_path / 'fresh'), name='r', steps=factory_steps()[:1]), check_mode=True)
    assert sorted(os.listdir(str(tmp_path / 'fresh'))) == sorted(os.path.basename(fresh[k]) for k in ('html_path', 'json_path'))


def test_files_are_0600_and_a_bad_mode_or_name_is_refused_before_writing(run, tmp_path):
    result = report_of(run, tmp_path, factory_steps())
    for key in ('json_path', 'html_path'):
        assert stat.S_IMODE(os.stat(result[key]).st_mode) == 0o600
    wider = report_of(run, tmp_path, factory_steps(), name='wider', mode='0640')
    assert stat.S_IMODE(os.stat(wider['html_path']).st_mode) == 0o640
    target = tmp_path / 'refused'
    refused = run(batch_report, dict(path=str(target), steps=[dict(vendor='nrfcloud', step='claim')], mode='rw-all'))
    assert refused['failed'] and "mode: 'rw-all' is not a file mode" in refused['msg']
    assert not target.exists()
    for name in ('batch/47', '.hidden', ''):
        refused = run(batch_report, dict(path=str(target), name=name, steps=factory_steps()))
        assert refused['failed'] and refused['msg'].startswith('name: %r must be a file name' % name)
        assert not target.exists()


def test_latest_is_a_copy_where_links_are_refused_and_an_old_report_is_kept(run, tmp_path, monkeypatch):
    directory = tmp_path / 'reports'
    directory.mkdir()
    # the report an earlier version of the collection wrote under the plain name
    (directory / 'onboarding-b47.json').write_text('{"old": true}\n')
    (directory / 'onboarding-b47.html').write_text('<p>old</p>\n')
    os.utime(str(directory / 'onboarding-b47.json'), (1700000000, 1700000000))

    def refuse(*args):
        raise OSError(1, 'Operation not permitted')
    monkeypatch.setattr(report_files.os, 'symlink', refuse)
    result = report_of(run, tmp_path, factory_steps())
    latest = directory / 'onboarding-b47.json'
    assert not latest.is_symlink() and read(str(latest)) == read(result['json_path'])
    assert stat.S_IMODE(os.stat(str(latest)).st_mode) == 0o600
    assert read(str(directory / 'onboarding-b47-20231114T221320Z.json')) == '{"old": true}\n'
    assert read(str(directory / 'onboarding-b47-20231114T221320Z.html')) == '<p>old</p>\n'
    # the copy is not mistaken for an old report by the next run
    again = report_of(run, tmp_path, factory_steps()[:2])
    assert read(str(latest)) == read(again['json_path'])
    assert len(stamped(str(directory), 'onboarding-b47')) == 6


def test_the_page_escapes_every_value_and_needs_nothing_else(run, tmp_path):
    hostile = '<script>alert("serial")</script>'
    steps = [dict(vendor='nrfcloud', step='<b>claim</b>', results=[failed('nrf-1', '<img src=x onerror=alert(1)>', remedy='<a href=x>do</a>')]),
             dict(vendor='<i>cloud</i>', step='x', results=[out('nrf-1', '<u>phase</u>')])]
    result = report_of(run, tmp_path, steps, serials={'nrfcloud': {'nrf-1': hostile}}, title='<h1>t</h1>', batch='"b"')
    html = read(result['html_path'])
    for raw in ('<script', '<img', '<a href', '<u>', '<i>cloud', '<b>claim', '<h1>t'):
        assert raw not in html, raw
    assert '&lt;script&gt;alert(&quot;serial&quot;)&lt;/script&gt;' in html
    assert not re.search(r'<[^>]*\b(src|href)=|https?://|@import|url\(', html)  # self-contained: nothing is fetched
    assert json.loads(read(result['json_path']))['devices'][0]['serial'] == hostile


def test_5000_devices_build_into_a_small_page(run, tmp_path):
    """At factory scale: 5,000 devices, four clouds, five steps; the page stays under 2.5 MB (how quickly it is built is
    measured by benchmarks/report_scale.py, not here)."""
    devices = range(5000)
    serials = dict((cloud, dict(('%s-%d' % (cloud, i), 'SN-2026-47-%05d' % i) for i in devices))
                   for cloud in ('nrfcloud', 'ublox', 'iotcomms', 'naocloud'))
    steps = [dict(vendor='ublox', step='whitelist', results=[out('ublox-%d' % i, 'whitelisted', True) for i in devices]),
             dict(vendor='iotcomms', step='SIP devices', results=[out('iotcomms-%d' % i, 'created', True) for i in devices]),
             dict(vendor='naocloud', step='tracking tags', results=[out('naocloud-%d' % i, 'registered', True) for i in devices]),
             dict(vendor='nrfcloud', step='claim and provision', results=[
                 failed('nrfcloud-%d' % i, MODEM) if i % 100 == 0 else
                 out('nrfcloud-%d' % i, 'waiting for the device', True, waiting=True) if i % 25 == 0 else
                 out('nrfcloud-%d' % i, 'onboarded', True) for i in devices]),
             dict(vendor='ublox', step='devices that bootstrapped', results=[out('ublox-%d' % i, 'features applied', True) for i in devices])]
    result = report_of(run, tmp_path, steps, serials=serials, done_word='onboarded')
    report = result['report']
    assert report['verdict']['text'] == '4,800 of 5,000 onboarded · 150 waiting for the device · 50 need attention'
    assert (len(report['waiting']), report['waiting_total'], len(report['needs_attention'])) == (100, 150, 50)
    assert 'devices' not in report and len(json.dumps(result)) < 100000
    size = os.path.getsize(result['html_path'])
    assert size < 2.5 * 1024 * 1024, size
    html = read(result['html_path'])
    assert re.search(r'<details id=devices><summary>All devices <span>\(5,000 - folded', html)
    assert html.count('<tr>') > 5000
    assert len(json.loads(read(result['json_path']))['devices']) == 5000


def test_registered_runs_are_flattened_and_the_task_result_stays_small(run, tmp_path):
    """The role hands over what its looped tasks registered; a run without outcomes but with a msg failed as a whole."""
    chunks = [dict(ansible_loop_var='item', item=['d1', 'd2'], changed=True, msg='', outcomes=[out('d1', 'claimed', True), failed('d2', 'boom')]),
              dict(ansible_loop_var='item', item=['d3'], failed=False, msg='devices[0]: claim_token is not valid'),
              dict(ansible_loop_var='item', item=[], skipped=True, outcomes=[])]
    steps = [dict(vendor='nrfcloud', step='claim', runs=chunks),
             dict(vendor='naocloud', step='tags', runs=[dict(changed=False, outcomes=[out('aa:bb', 'registered')])])]
    result = report_of(run, tmp_path, steps)
    assert [(e['id'], e['reason']) for e in result['report']['needs_attention']] == [
        (None, 'devices[0]: claim_token is not valid'), ('d2', 'boom')]
    assert 'devices' not in result['report']
    assert result['invocation']['module_args']['steps'] == [
        dict(vendor='nrfcloud', step='claim', error='devices[0]: claim_token is not valid', results=2),
        dict(vendor='naocloud', step='tags', error=None, results=1)]
    written = json.loads(read(result['json_path']))
    assert [(d['device'], d['verdict']) for d in written['devices']] == [('d1', 'done'), ('d2', 'needs attention'), ('aa:bb', 'done')]


def test_identities_of_one_device_make_one_row(run, tmp_path):
    """A u-blox device is whitelisted by ROTPublicUID and by IMEI: with the manifest's serials it is one device, not two."""
    path = tmp_path / 'batch.csv'
    path.write_text('serial,ublox_rot_public_uid,ublox_imei\nSN-1,0A1B2C3D4E5F6071,490154203237518\nSN-2,0a1b2c3d4e5f6072,\n')
    manifest = run(manifest_info, dict(path=str(path)))
    assert manifest['serials']['ublox'] == {'0a1b2c3d4e5f6071': 'SN-1', '490154203237518': 'SN-1', '0a1b2c3d4e5f6072': 'SN-2'}
    whitelist = [dict(item='0a1b2c3d4e5f6071', type='ROTPublicUID', changed=True, status='added'),
                 dict(item='0a1b2c3d4e5f6072', type='ROTPublicUID', status='present'),
                 dict(item='490154203237518', type='IMEI', failed=True, msg='IMEI refused')]
    result = report_of(run, tmp_path, [dict(vendor='ublox', step='whitelist', results=whitelist)], serials=manifest['serials'],
                       return_devices=True)
    assert [(d['serial'], d['verdict'], d['clouds']['ublox']['ids']) for d in result['report']['devices']] == [
        ('SN-1', 'needs attention', ['0a1b2c3d4e5f6071', '490154203237518']), ('SN-2', 'done', ['0a1b2c3d4e5f6072'])]
    assert result['report']['counts']['ublox'] == dict(total=2, changed=1, waiting=0, needs_attention=1,
                                                       phases={'needs attention': 1, 'whitelisted': 1})


def test_the_action_keeps_only_what_the_report_shows():
    """What batch_report's action sends to the module: flattened runs, each result cut down to the report's fields."""
    certificate = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    runs = [dict(ansible_loop_var='item', item=['d1'], invocation=dict(module_args=dict(devices=['d1'])), onboarding=[certificate],
                 outcomes=[dict(item='d1', changed=True, failed=False, phase='provisioned', waiting=False, status='PROVISIONED',
                                commands=[dict(kind='csr')], csr=dict(pem=certificate), remedy=None, reason='r')]),
            dict(ansible_loop_var='item', item=['d2'], msg='devices[0]: claim_token is not valid'),
            dict(ansible_loop_var='item', item=[], skipped=True)]
    lean = lean_step(dict(vendor='nrfcloud', step='claim', runs=runs, error='the step was interrupted'))
    assert lean == dict(vendor='nrfcloud', step='claim', error='the step was interrupted; devices[0]: claim_token is not valid',
                        results=[dict(item='d1', changed=True, failed=False, phase='provisioned', waiting=False, status='PROVISIONED',
                                      remedy=None, reason='r')])


@pytest.mark.parametrize('task_vars, expected', [
    ({'awx_job_id': 4711, 'tower_job_id': 1}, '4711'),
    ({'tower_job_id': 815}, '815'),
    ({'awx_job_id': ''}, None),
    ({}, None),
])
def test_the_action_adds_the_awx_job_and_the_collection_version(task_vars, expected):
    args = action.run_facts(dict(path='/reports', steps=[]), task_vars)
    assert args.get('awx_job_id') == expected
    with open(os.path.join(action.COLLECTION_ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        version = re.search(r'^version:\s*(\S+)', handle.read(), re.M).group(1)
    assert args['collection_version'] == version
    assert action.run_facts(dict(awx_job_id='given', collection_version='9.9.9'), task_vars) == dict(
        awx_job_id='given', collection_version='9.9.9')


def test_an_installed_collection_tells_its_version_by_its_manifest(tmp_path):
    (tmp_path / 'MANIFEST.json').write_text(json.dumps({'collection_info': {'version': '1.2.3'}}))
    (tmp_path / 'galaxy.yml').write_text('version: 0.0.1\n')
    assert action.collection_version(str(tmp_path)) == '1.2.3'
    (tmp_path / 'MANIFEST.json').unlink()
    assert action.collection_version(str(tmp_path)) == '0.0.1'
    (tmp_path / 'galaxy.yml').unlink()
    assert action.collection_version(str(tmp_path)) is None


def test_a_batch_with_nothing_waiting_but_a_device_that_needs_a_person_is_not_called_complete(run, tmp_path):
    steps = [dict(vendor='nrfcloud', step='claim and provision', results=[out('nrf-1', 'onboarded', True), failed('nrf-2', MODEM)])]
    result = report_of(run, tmp_path, steps, done_word='onboarded')
    assert result['report']['complete'] is True    # nothing waits for a device: a schedule can stop
    assert result['report']['console'][0] == ('1 of 2 onboarded · 1 needs attention - no device is waiting: the rest needs a person '
                                              '(see what to do), then run the job again')
    assert 'No device is waiting: the rest needs a person' in read(result['html_path'])
