# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation report answers the operator's four questions: which devices got new certificates, until when, which were
skipped and why, which need a person - at 60 and at 5,000 devices, from the outcomes the rotation modules return."""

from __future__ import annotations

import html
import json
import os
import re
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._report import build, lean_step
from ansible_collections.iotops.provisioning.plugins.modules import batch_report

DAY = 86400
NEAR_CAP = '1 rotation left before the 20-command limit of nRF Cloud'
NEAR_CAP_REMEDY = ('Before the next rotation, run playbooks/recover_nrfcloud_devices.yml for the device (check mode first): it '
                   'unclaims, claims and onboards it again.')
CAP = 'this would make 21 commands (18 already in its history, 3 to add)'
CAP_REMEDY = 'Run playbooks/recover_nrfcloud_devices.yml for the device, then run the rotation again.'
CONFLICT = 'ublox POST /v1/device/certificate/renew failed: HTTP 409: code 4091: the device has a pending DELETE'


def stamp(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


class Fleet:
    """A fleet of ``size`` devices with an nRF Cloud and a u-blox identity each (a few with one of them), and what one rotation
    run returned for each, as the rotation modules return it (the contract of issue 17).

    ``due_share`` of the devices are in the window, in ten situations that repeat; the rest are outside it in both clouds."""

    # what happened in (nRF Cloud, u-blox) to a device in the window, by its place in the ten
    SITUATIONS = (
        ('renewed', 'outside'), ('rekey pending', 'outside'), ('near cap', 'requested'), ('outside', 'requested'),
        ('outside', 'revoked'), ('at cap', 'outside'), ('renewed', 'update requested'), ('renewed', 'conflict'),
        ('renewed', None), (None, 'pending'))

    def __init__(self, size, due_share):
        self.now = time.time()
        self.size, self.due_every = size, round(1 / due_share)
        self.nrf, self.ublox, self.serials = [], [], dict(nrfcloud={}, ublox={})
        self.expected = []  # per device: (serial, nRF situation, u-blox situation, the outcomes)
        for index in range(size):
            self.add(index)

    def situation(self, index):
        if index % self.due_every:
            return ('outside', 'outside')
        return self.SITUATIONS[(index // self.due_every) % len(self.SITUATIONS)]

    def add(self, index):
        serial = 'SN-2026-%05d' % index
        nrf_id, rot = 'nrf-3526561%08d' % index, '0002%012x' % (0xA10000 + index)
        nrf_situation, ublox_situation = self.situation(index)
        # expiries spread over the days, so the nearest outside the window is a known device
        offset = (index * 7919) % 300
        outcomes = {}
        if nrf_situation:
            self.serials['nrfcloud'][nrf_id] = serial
            outcomes['nrfcloud'] = self.nrf_outcome(nrf_id, nrf_situation, offset)
            self.nrf.append(outcomes['nrfcloud'])
        if ublox_situation:
            self.serials['ublox'][rot] = serial
            outcomes['ublox'] = self.ublox_outcome(rot, ublox_situation, offset)
            self.ublox.append(outcomes['ublox'])
        self.expected.append((serial, nrf_situation, ublox_situation, outcomes))

    def nrf_outcome(self, item, situation, offset):
        soon, later = stamp(self.now + (3 + offset % 20) * DAY), stamp(self.now + (40 + offset) * DAY)
        if situation == 'outside':
            return dict(item=item, changed=False, failed=False, phase='provisioned', waiting=False, policy='renew', due=False,
                        old_expiry=later, reason='expires on %s, after the 30-day window' % later[:10], commands_left=11,
                        rotations_left=5)
        if situation == 'at cap':
            return dict(item=item, changed=False, failed=True, phase='needs attention', waiting=False, policy='renew', due=True,
                        old_expiry=soon, msg=CAP, remedy=CAP_REMEDY, commands_left=2, rotations_left=0)
        if situation == 'rekey pending':
            return dict(item=item, changed=True, failed=False, phase='waiting for the device', waiting=True, policy='rekey',
                        due=True, old_expiry=soon, new_expiry=None, new_expiry_pending=True, commands_left=8, rotations_left=2,
                        reason='the device generates its new key pair and CSR when it next connects')
        outcome = dict(item=item, changed=True, failed=False, phase='provisioned', waiting=False, policy='renew', due=True,
                       old_expiry=soon, new_expiry=stamp(self.now + (3 + offset % 20 + 365) * DAY), commands_left=9, rotations_left=4)
        if situation == 'near cap':
            outcome.update(commands_left=4, rotations_left=1, attention=NEAR_CAP, remedy=NEAR_CAP_REMEDY)
        return outcome

    def ublox_outcome(self, item, situation, offset):
        soon, later = stamp(self.now + (1 + offset % 25) * DAY), stamp(self.now + (31 + offset) * DAY)
        base = dict(item=item, failed=False, due=True, old_expiry=soon, policy='renew')
        if situation == 'outside':
            return dict(base, changed=False, status='done', due=False, old_expiry=later,
                        reason='expires in %d days, not within 30' % (31 + offset))
        if situation in ('requested', 'update requested'):
            policy = 'update' if situation == 'update requested' else 'renew'
            return dict(base, changed=True, status='acted', policy=policy, new_expiry_pending=True,
                        reason='%s pending until the next security heartbeat' % policy)
        if situation == 'pending':
            return dict(base, changed=False, status='pending', new_expiry_pending=True,
                        reason='renew pending until the next security heartbeat (requested by an earlier run)')
        if situation == 'revoked':
            return dict(base, changed=False, status='skipped',
                        reason='certificate 0x%s is revoked; renew not updated' % item[-6:],
                        attention='certificate 0x%s is revoked and expires on %s' % (item[-6:], soon[:10]),
                        remedy='Find out why it was revoked: update gives the device a new key pair and certificate, or retire it.')
        # this one expired two days ago: the page marks it
        return dict(base, changed=False, failed=True, status='failed', old_expiry=stamp(self.now - 2 * DAY),
                    msg=CONFLICT.replace('the device', 'device ' + item))

    def steps(self):
        return [dict(vendor='nrfcloud', step='rotate client certificate', results=self.nrf),
                dict(vendor='ublox', step='renew certificates from fleet-ca', results=self.ublox)]

    def count(self, cloud, situations):
        column = 1 if cloud == 'nrfcloud' else 2
        return sum(1 for expected in self.expected if expected[column] in situations)


def rotation_report(run, directory, fleet, **args):
    params = dict(path=str(directory), name='certificate-rotation-2026-06-01', title='Certificate rotation', batch='2026-06-01',
                  done_word='up to date', kind='rotation', window_days=30, steps=fleet.steps(), serials=fleet.serials,
                  return_devices=True, started=fleet.now - 300)
    params.update(args)
    return run(batch_report, params)


def read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def rows_of(page):
    """The device rows of the page's rotation tables: {device: [the text of each sub-row's cells]}."""
    found = {}
    for match in re.finditer(r'<tr(?: class=s)?>(.*?)</tr>', page):
        cells = [html.unescape(re.sub(r'<[^>]+>', ' ', cell)).split() for cell in re.findall(r'<td[^>]*>(.*?)</td>', match.group(1))]
        if len(cells) == 8:
            device = ' '.join(cells[0])
            found.setdefault(device, []).append([' '.join(cell) for cell in cells[1:]])
        elif len(cells) == 7 and found:
            found[list(found)[-1]].append([' '.join(cell) for cell in cells])
    return found


def section_of(page, ident):
    start = page.index('<details id=%s' % ident)
    return page[start:page.index('</details>', start)]


def test_the_action_keeps_the_rotation_fields():
    """The issue's report lost `reason`, the dates and the policy: the action now passes every field of the contract."""
    outcome = dict(item='nrf-1', changed=True, failed=False, phase='provisioned', policy='renew', old_expiry='2026-06-03T00:00:00Z',
                   new_expiry='2027-06-03T00:00:00Z', new_expiry_pending=False, due=True, attention=NEAR_CAP, commands_left=4,
                   rotations_left=1, reason='renewed', certificate='-----BEGIN CERTIFICATE-----', commands=[{'kind': 'csr'}])
    lean = lean_step(dict(vendor='nrfcloud', step='rotate', runs=[dict(outcomes=[outcome])]))
    assert lean['results'] == [dict((key, value) for key, value in outcome.items() if key not in ('certificate', 'commands'))]


def test_60_devices_answer_the_four_questions(run, tmp_path):
    fleet = Fleet(60, 0.5)
    result = rotation_report(run, tmp_path / 'reports', fleet)
    report, page = result['report'], read(result['html_path'])
    rows = rows_of(page)
    written = json.loads(read(result['json_path']))
    cells = dict((row['device'], row['clouds']) for row in written['devices'])

    # which devices got new certificates, and until when: each in the "New certificates" table with its new expiry
    rotated = section_of(page, 'rotated')
    for serial, nrf, ublox, outcomes in fleet.expected:
        if nrf in ('renewed', 'near cap'):
            assert serial in rotated
            new = outcomes['nrfcloud']['new_expiry'][:10]
            assert any(sub[0] == 'nRF Cloud' and sub[2].startswith('rotated') and sub[5] == new and
                       sub[4] == outcomes['nrfcloud']['old_expiry'][:10] for sub in rows[serial]), rows[serial]
            assert cells[serial]['nrfcloud']['new_expiry'] == outcomes['nrfcloud']['new_expiry']
        if ublox in ('requested', 'update requested'):
            assert any(sub[0] == 'u-blox' and sub[2] == 'requested' and sub[5] == 'at next heartbeat' for sub in rows[serial])
        if nrf == 'rekey pending':
            assert any(sub[0] == 'nRF Cloud' and sub[5] == 'when the device connects' and sub[3].startswith('rekey') for sub in rows[serial])
    assert report['rotation']['clouds']['nrfcloud']['rotated'] == fleet.count('nrfcloud', ('renewed', 'near cap'))
    assert report['rotation']['clouds']['ublox']['requested'] == fleet.count('ublox', ('requested', 'update requested'))

    # which were skipped and why: the revoked certificate is not a green "ok / skipped" but skipped with a warning and its reason
    revoked = [e for e in fleet.expected if e[2] == 'revoked']
    for serial, nrf, ublox, outcomes in revoked:
        sub = [sub for sub in rows[serial] if sub[0] == 'u-blox'][0]
        assert sub[2] == 'skipped warning' and outcomes['ublox']['reason'] in sub[6] and outcomes['ublox']['attention'] in sub[6]
        assert serial in section_of(page, 'devices')
    # the devices outside the window: no row each, a line per cloud with the count and the nearest expiry
    outside = [e for e in fleet.expected if e[1] in ('outside', None) and e[2] in ('outside', None)]
    assert not any(e[0] in rows for e in outside)
    assert len(written['devices']) == len(fleet.expected) - len(outside)
    nearest = min((o['nrfcloud']['old_expiry'], s) for s, n, u, o in fleet.expected if n == 'outside')
    line = '%d outside the 30-day window, nearest expiry %s (%s)' % (fleet.count('nrfcloud', ('outside',)), nearest[0][:10], nearest[1])
    assert 'nRF Cloud: %s.' % line in page and 'nRF Cloud: ' + line in report['console']
    assert report['rotation']['clouds']['nrfcloud']['outside_window'] == dict(
        devices=fleet.count('nrfcloud', ('outside',)), nearest_expiry=nearest[0], nearest_device=nearest[1],
        nearest_id=[i for i, s in fleet.serials['nrfcloud'].items() if s == nearest[1]][0])

    # which need a person: failures and warnings under "Needs attention", each with what to do, warnings marked as such
    attention = written['needs_attention']
    failed = [(e['device'], e['cloud']) for e in attention if e['severity'] == 'failed']
    warned = [(e['device'], e['cloud']) for e in attention if e['severity'] == 'warning']
    assert sorted(failed) == sorted([(e[0], 'nrfcloud') for e in fleet.expected if e[1] == 'at cap']
                                    + [(e[0], 'ublox') for e in fleet.expected if e[2] == 'conflict'])
    assert sorted(warned) == sorted([(e[0], 'nrfcloud') for e in fleet.expected if e[1] == 'near cap']
                                    + [(e[0], 'ublox') for e in fleet.expected if e[2] == 'revoked'])
    assert attention.index([e for e in attention if e['severity'] == 'warning'][0]) == len(failed)  # failures first
    assert (report['needs_attention_total'], report['warnings_total']) == (len(failed), len(warned))
    assert report['verdict']['warnings'] == len(warned)
    assert report['verdict']['text'].endswith('· %d need attention · %d warnings' % (report['verdict']['needs_attention'], len(warned)))
    box = section_of(page, 'attention')
    assert box.count('<b class="sev w">warning</b>') >= 2 and box.count('<b class="sev f">failed</b>') >= 2
    assert NEAR_CAP_REMEDY in box and CAP_REMEDY in box and html.escape(revoked[0][3]['ublox']['attention']) in box
    assert page.index('id=attention') < page.index('id=rotated') < page.index('id=devices') < page.index('id=outside')

    # the console: the verdict, the certificates rotated with old -> new expiry, the warnings and failures with what to do
    console = report['console']
    assert console[0].startswith(report['verdict']['text'] + ' - not complete')
    renewed = [e for e in fleet.expected if e[1] == 'renewed'][0]
    assert 'rotated: %s (nRF Cloud, renew): %s -> %s' % (
        renewed[0], renewed[3]['nrfcloud']['old_expiry'][:10], renewed[3]['nrfcloud']['new_expiry'][:10]) in console
    assert any(line.startswith('warning: %s (u-blox, renew certificates from fleet-ca): certificate' % revoked[0][0]) for line in console)
    assert any(line.startswith('needs attention: ') and CAP_REMEDY in line for line in console)


def test_5000_devices_stay_small(run, tmp_path):
    """Most of a fleet is not due on a given day: those are counted, and the page stays small (how quickly it is written is
    measured by benchmarks/report_scale.py, not here)."""
    fleet = Fleet(5000, 0.1)
    result = rotation_report(run, tmp_path / 'reports', fleet, return_devices=False)
    report, page = result['report'], read(result['html_path'])
    shown = sum(1 for e in fleet.expected if not (e[1] in ('outside', None) and e[2] in ('outside', None)))
    assert report['verdict']['total'] == 5000 and len(json.loads(read(result['json_path']))['devices']) == shown == 500
    assert '4,500 outside the 30-day window' not in page  # counted per cloud, not per device
    assert 'nRF Cloud: %s outside the 30-day window, nearest expiry' % '{:,}'.format(fleet.count('nrfcloud', ('outside',))) in page
    # the new certificates open (a daily rotation of a large fleet), the rest folded past 200 rows
    assert '<details id=rotated open><summary>New certificates <span>(350)' in page
    assert '<details id=devices open><summary>Not rotated in this run <span>(150)' in page
    rotated = fleet.count('nrfcloud', ('renewed', 'near cap', 'rekey pending')) + fleet.count(
        'ublox', ('requested', 'update requested', 'pending'))
    assert len(report['console']) == 1 + 1 + 3 * 21 + 2 and '... and %d more rotated: see the report' % (rotated - 20) in report['console']
    size, json_size = os.path.getsize(result['html_path']), os.path.getsize(result['json_path'])
    assert size < 400 * 1024 and json_size < 600 * 1024, (size, json_size)
    assert len(json.dumps(result)) < 150000


def test_every_run_is_kept(run, tmp_path):
    """A re-run with the same certificate_rotation_id writes new files; the latest link follows the newest run."""
    directory = tmp_path / 'reports'
    fleet = Fleet(20, 0.5)
    first = rotation_report(run, directory, fleet)
    quiet = Fleet(20, 0.5)
    for outcome in quiet.nrf + quiet.ublox:
        outcome.update(changed=False)
    second = rotation_report(run, directory, quiet)
    assert first['json_path'] != second['json_path'] and os.path.exists(first['json_path'])
    assert json.loads(read(first['json_path']))['verdict']['changed'] > 0 == json.loads(read(second['json_path']))['verdict']['changed']
    assert os.readlink(second['latest_html_path']) == os.path.basename(second['html_path'])
    assert len([n for n in os.listdir(str(directory)) if n.endswith('.html')]) == 3  # two runs and the latest link


def test_a_check_run_says_would_and_root_cas_keep_their_words(run, tmp_path):
    """In check mode the page and the console say what a real run would do; a Root CA step is shown in its own words."""
    fleet = Fleet(10, 0.5)
    steps = fleet.steps() + [dict(vendor='ublox_rootca', step='create the new Root CA', results=[
        dict(item='fleet-2027.example.com', changed=True, failed=False, status='acted')])]
    result = rotation_report(run, tmp_path / 'reports', fleet, steps=steps, window_days=None, serials={})
    page, console = read(result['html_path']), result['report']['console']
    renewed = [e for e in fleet.expected if e[1] == 'renewed'][0][3]['nrfcloud']
    assert 'rotated: %s (nRF Cloud, renew): %s -> %s' % (renewed['item'], renewed['old_expiry'][:10], renewed['new_expiry'][:10]) in console
    assert 'changed: fleet-2027.example.com (u-blox Root CA, create the new Root CA): changed' in console
    assert re.search(r'outside the window, nearest expiry \d{4}-\d\d-\d\d \(nrf-', page)  # no window_days, no serials: the ids
    check = run(batch_report, dict(path=str(tmp_path / 'reports'), name='r', kind='rotation', window_days=30, steps=fleet.steps(),
                                   return_devices=True), check_mode=True)
    assert check['json_path'].endswith('-check.json') and 'latest_json_path' not in check
    assert 'would rotate: %s (nRF Cloud, renew)' % renewed['item'] in '\n'.join(check['report']['console'])
    page = read(check['html_path'])
    assert 'Certificates a real run would rotate' in page and '<b>would rotate</b>' in page and 'CHECK MODE' in page


def test_a_device_not_due_but_warned_about_is_shown_and_counted_outside_the_window():
    """Few rotations left on a device whose certificate is not due: it is outside the window (counted there, its action
    "not due") and listed for its warning; a device without any certificate is neither due nor outside the window."""
    base = dict(changed=False, failed=False, phase='provisioned', waiting=False, policy=None)
    steps = [lean_step(dict(vendor='nrfcloud', step='rotate client certificate', results=[
        dict(base, item='warned', due=False, old_expiry='2030-01-01T00:00:00Z', attention='19 of the 20 provisioning commands used'),
        dict(base, item='quiet', due=False, old_expiry='2031-01-01T00:00:00Z'),
        dict(base, item='bare', reason='no client certificate in its provisioning history yet')]))]
    report = build(steps, {}, done_word='up to date', kind='rotation', window_days=30)
    cells = dict((row['device'], row['clouds']['nrfcloud']) for row in report['devices'])
    assert sorted(cells) == ['bare', 'warned']
    assert cells['warned']['outcome'] == 'outside' and cells['bare']['outcome'] == 'skipped'
    nrf = report['rotation']['clouds']['nrfcloud']
    assert nrf['outside_window'] == dict(devices=2, nearest_expiry='2030-01-01T00:00:00Z', nearest_device='warned', nearest_id='warned')
    assert (nrf['skipped'], nrf['warnings']) == (1, 1)
