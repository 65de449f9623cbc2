# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident response runbook on an onboarded fleet: two of five devices are compromised.

A fleet of five factory-fresh devices (a u-blox module and a SIP identity each) is onboarded with ``playbooks/onboard.yml``;
the u-blox modules bootstrap once whitelisted and get a certificate from the device profile's Root CA. Then
``playbooks/incident_response.yml`` runs for two of them: refused without the confirmation (0 writes), a check run (0 writes),
the real run, a re-run (nothing again, 0 writes) and a run that asks to rotate the SIP passwords again.

What must hold: the mock shows the two certificates revoked, the two devices off the whitelist (ROTPublicUID and IMEI) and
their SIP devices registering with the new passwords only - and the three other devices untouched; the generated passwords
are in a 0600 file next to the report and nowhere in the console output; the report has a row per compromised device with
what each step did and the ticket.
"""

from __future__ import annotations

import json
import os
import re
import stat

import requests

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_certificate, ublox_device_whitelist, ublox_rootca

from . import harness

DEVICES = 5
COMPROMISED = ('IR-0002', 'IR-0004')
PROFILE = 'IncidentLineProfile0001'
ROOT_CA = 'incident-suite.devices.example.com'
TICKET = 'SEC-2026-0142'
REASON = 'stolen from the warehouse'
BATCH = 'incident-batch'


class Fleet:
    """The mock with the onboarded fleet, the manifest and the runs of the runbook."""

    def __init__(self, mock, run, workdir):
        self.mock = mock
        self.workdir = workdir
        mock.admin.reset()
        result = run(ublox_rootca, dict(api_url=mock.url + '/ublox/v1', api_key=harness.credentials.UBLOX_API_KEY,
                                        api_secret=harness.credentials.UBLOX_API_SECRET,
                                        cas=[dict(name=ROOT_CA, ca_validity_days=3650, device_certificate_validity_days=365)]))
        assert not result.get('failed'), result
        mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Incident line',
                                                                   'CAName': ROOT_CA}]})
        modules = mock.admin.manufacture_ublox({'count': DEVICES, 'DeviceProfileUID': PROFILE})['devices']
        self.rows = [dict(serial='IR-%04d' % (n + 1), ublox_rot_public_uid=module['ROTPublicUID'].lower(), ublox_imei=module['IMEI'],
                          iotcomms_device_id='47200%05d' % (n + 1)) for n, module in enumerate(modules)]
        mock.admin.online([{'ublox': row['ublox_rot_public_uid']} for row in self.rows],
                          waves=[{'count': DEVICES, 'after': 0, 'since': 'whitelisted'}])
        self.manifest = os.path.join(workdir, BATCH + '.csv')
        harness.write_manifest(self.rows, self.manifest, columns=('serial', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id'))
        self.reports = os.path.join(workdir, 'reports')
        self.inventory = harness.write_inventory(os.path.join(workdir, 'inventory.json'), {
            'factory_onboarding_manifest': self.manifest,
            'factory_onboarding_report_dir': self.reports,
            'factory_onboarding_wait': 20,
            'factory_onboarding_wait_interval': 0.5,
            'incident_response_manifest': self.manifest,
            'incident_response_report_dir': self.reports,
        })
        self.env = harness.ansible_env(mock, workdir)

    def play(self, playbook, name, *extra):
        self.mock.admin.reset_counters()
        result = harness.run_playbook(['-i', self.inventory, os.path.join(harness.PLAYBOOKS, playbook)] + list(extra),
                                      self.env, self.workdir, name, timeout=300)
        return result, self.mock.admin.counters()

    def respond(self, name, *extra):
        return self.play('incident_response.yml', name, '-e', 'incident_response_serials=' + ','.join(COMPROMISED),
                         '-e', 'incident_response_ticket=' + TICKET, '-e', 'incident_response_reason="%s"' % REASON, *extra)

    def row(self, serial):
        return next(row for row in self.rows if row['serial'] == serial)

    def ublox(self):
        return self.mock.admin.state()['ublox']

    def sip_devices(self):
        devices = self.mock.admin.state()['iotcomms']['domains'][harness.credentials.IOTCOMMS_DOMAIN]['devices']
        return dict((device['deviceId'], device) for device in devices)

    def registers(self, device_id, password):
        return sip_registers(self.mock, device_id, password)

    def credential_files(self):
        return sorted(name for name in os.listdir(self.reports) if re.match(r'incident-%s-sip-credentials-.*\.json$' % TICKET, name))


def sip_registers(mock, device_id, password):
    """Whether the SIP device would register with ``password`` (the mock's check: iotcomms.io never returns a password)."""
    answer = requests.post(mock.url + '/_mock/iotcomms/sip-register', json={'device_id': device_id, 'password': password}, timeout=10)
    answer.raise_for_status()
    return answer.json()['registered']


def writes(counters):
    return counters['by_category'].get('write', 0)


def write_endpoints(counters):
    return dict((key, count) for key, count in counters['endpoints'].items()
                if count and not re.search(r' (GET|OPTIONS) |/get$|/authenticate$', key))


def certificates(state):
    """{ROTPublicUID: (certificate serial, revoked)} of the devices holding one."""
    revoked = set(serial for ca in state['rootCAs'] for serial in ca.get('RevokedSerialNumbers') or [])
    found = {}
    for device in state['devices']:
        current = ((device.get('ZTP') or {}).get('CurrentProperties') or {})
        if current.get('CertificateSerialNumber'):
            found[device['ROTPublicUID'].lower()] = (current['CertificateSerialNumber'], current['CertificateSerialNumber'] in revoked)
    return found


def whitelist(state):
    return set(str(entry.get('Id')).lower() for entry in state['whitelist'])


def test_incident_response_for_two_of_five_devices(mock, run, workdir):
    fleet = Fleet(mock, run, workdir)
    onboarded, _counters = fleet.play('onboard.yml', 'onboard')
    assert onboarded.rc == 0, onboarded.stdout[-3000:]
    before = fleet.ublox()
    held = certificates(before)
    assert sorted(held) == sorted(row['ublox_rot_public_uid'] for row in fleet.rows), before['devices']
    assert not any(revoked for _serial, revoked in held.values())
    sip_before = fleet.sip_devices()
    bad = [r for r in fleet.rows if r['serial'] in COMPROMISED]
    good = [r for r in fleet.rows if r['serial'] not in COMPROMISED]

    # refused before any request without the confirmation
    refused, counters = fleet.respond('refused')
    assert refused.rc != 0 and 'Not confirmed' in refused.stdout and 'Nothing was sent to any cloud' in refused.stdout, refused.stdout[-3000:]
    assert writes(counters) == 0

    # check mode: what would be done, 0 writes, no password file
    check, counters = fleet.respond('check', '--check', '--diff')
    assert check.rc == 0, check.stdout[-4000:]
    assert writes(counters) == 0, write_endpoints(counters)
    assert not os.path.exists(fleet.reports) or not fleet.credential_files()
    with open(os.path.join(fleet.reports, [n for n in os.listdir(fleet.reports) if n.startswith('incident-%s-' % TICKET)
                                           and n.endswith('-check.json')][0]), encoding='utf-8') as handle:
        checked = json.load(handle)
    assert checked['run']['check_mode'] and checked['verdict']['total'] == 2
    assert certificates(fleet.ublox()) == held and fleet.sip_devices() == sip_before

    # per-vendor task tags: only the u-blox steps (the checks and the report always run)
    tagged, counters = fleet.respond('check-ublox', '--check', '--tags', 'ublox')
    assert tagged.rc == 0 and writes(counters) == 0, tagged.stdout[-3000:]
    assert 'Revoke the device certificates' in tagged.stdout and 'Read the SIP devices' not in tagged.stdout
    assert not any(key.startswith('iotcomms') for key, count in counters['endpoints'].items() if count), counters['endpoints']

    # the real run
    real, counters = fleet.respond('real', '-e', 'incident_response_confirm=true', '--diff')
    assert real.rc == 0 and real.failed == 0, real.stdout[-4000:]
    endpoints = write_endpoints(counters)
    assert endpoints.get('ublox POST /v1/ztp/devicecertificate/revoke') == 2, endpoints
    assert sum(v for k, v in endpoints.items() if k.startswith('iotcomms PATCH')) == 2, endpoints
    after = fleet.ublox()
    now_held = certificates(after)
    for row in bad:
        assert now_held[row['ublox_rot_public_uid']] == (held[row['ublox_rot_public_uid']][0], True)
        assert row['ublox_rot_public_uid'] not in whitelist(after) and row['ublox_imei'] not in whitelist(after)
    for row in good:
        assert now_held[row['ublox_rot_public_uid']] == held[row['ublox_rot_public_uid']]
        assert row['ublox_rot_public_uid'] in whitelist(after) and row['ublox_imei'] in whitelist(after)
    files = fleet.credential_files()
    assert len(files) == 1, files
    path = os.path.join(fleet.reports, files[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding='utf-8') as handle:
        credentials = json.load(handle)
    passwords = credentials['passwords']
    assert sorted(passwords) == sorted(r['iotcomms_device_id'] for r in bad)
    assert credentials['serials'] == dict((r['iotcomms_device_id'], r['serial']) for r in bad) and credentials['ticket'] == TICKET
    assert len(set(passwords.values())) == 2 and all(len(p) == 32 and p.isalnum() for p in passwords.values())
    sip_after = fleet.sip_devices()
    for row in bad:
        device_id = row['iotcomms_device_id']
        assert sip_after[device_id]['authType'] == 'credentials'
        assert sip_after[device_id]['description'].startswith('incident %s: SIP credentials rotated ' % TICKET)
        assert fleet.registers(device_id, passwords[device_id])
        assert not fleet.registers(device_id, 'not-the-password')
    for row in good:
        assert sip_after[row['iotcomms_device_id']] == sip_before[row['iotcomms_device_id']]
    for password in passwords.values():
        assert password not in real.stdout and password not in real.stderr
    with open(os.path.join(fleet.reports, 'incident-%s.json' % TICKET), encoding='utf-8') as handle:
        report = json.load(handle)
    rows = dict((row['serial'], row) for row in report['devices'])
    assert sorted(rows) == sorted(COMPROMISED), rows.keys()
    for serial in COMPROMISED:
        cells = rows[serial]['clouds']
        assert cells['u-blox certificate']['phase'] == 'revoked'
        assert cells['u-blox whitelist']['phase'] == 'removed'
        assert cells['iotcomms.io SIP']['phase'] == 'password rotated'
        assert cells['incident']['phase'] == 'compromised' and cells['incident']['note'] == '%s: %s' % (TICKET, REASON)

    # a re-run: nothing is revoked, removed or rotated again - 0 writes, no new password file
    again, counters = fleet.respond('again', '-e', 'incident_response_confirm=true')
    assert again.rc == 0 and again.changed == 0, again.stdout[-4000:]
    assert writes(counters) == 0, write_endpoints(counters)
    assert fleet.credential_files() == files
    assert fleet.sip_devices() == sip_after and certificates(fleet.ublox()) == now_held
    with open(os.path.join(fleet.reports, 'incident-%s.json' % TICKET), encoding='utf-8') as handle:
        report = json.load(handle)
    for row in report['devices']:
        assert row['clouds']['u-blox certificate']['phase'] == 'already revoked'
        assert row['clouds']['u-blox whitelist']['phase'] == 'already removed'
        assert row['clouds']['iotcomms.io SIP']['phase'] == 'already rotated'

    # asked to rotate again: new passwords (the old ones stop working), nothing else
    rotated, counters = fleet.respond('rotate-again', '-e', 'incident_response_confirm=true', '-e', 'incident_response_rotate_again=true')
    assert rotated.rc == 0, rotated.stdout[-4000:]
    endpoints = write_endpoints(counters)
    assert sum(endpoints.values()) == 2 and all(k.startswith('iotcomms PATCH') for k in endpoints), endpoints
    newer = [name for name in fleet.credential_files() if name not in files]
    assert len(newer) == 1
    with open(os.path.join(fleet.reports, newer[0]), encoding='utf-8') as handle:
        second = json.load(handle)['passwords']
    for device_id, password in second.items():
        assert password != passwords[device_id]
        assert fleet.registers(device_id, password) and not fleet.registers(device_id, passwords[device_id])
        assert password not in rotated.stdout and password not in rotated.stderr


def test_waiting_unknown_and_vaulted_devices_given_as_a_list(mock, run, workdir):
    """Devices given as a list (JSON -e): one with an update to a new key pair in progress (its revocation waits: reported
    waiting, the run does not fail), one that never bootstrapped (only taken off the whitelist) and has no SIP device (none is
    created), and one whose new SIP password comes from a vaulted variable (not written to the file, never shown)."""
    mock.admin.reset()
    base = dict(api_url=mock.url + '/ublox/v1', api_key=harness.credentials.UBLOX_API_KEY, api_secret=harness.credentials.UBLOX_API_SECRET)
    assert not run(ublox_rootca, dict(base, cas=[dict(name=ROOT_CA, ca_validity_days=3650, device_certificate_validity_days=365)])).get('failed')
    normal, updating = mock.admin.seed('ublox', 'devices', {'count': 2, 'start': 12288, 'CAName': ROOT_CA})['added']
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Incident line'}]})
    fresh = mock.admin.manufacture_ublox({'count': 1, 'DeviceProfileUID': PROFILE})['devices'][0]
    rots = [normal.lower(), updating.lower(), fresh['ROTPublicUID'].lower()]
    assert not run(ublox_device_whitelist, dict(base, rot_public_uids=rots)).get('failed')
    update = run(ublox_device_certificate, dict(base, action='update', ca_name=ROOT_CA, rot_public_uids=[rots[1]], issued_before='2099-01-01'))
    assert update['acted_on'] == [rots[1]], update
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': '4730001', 'authType': 'deviceid'},
                                                        {'deviceId': '4730002', 'authType': 'deviceid'}]})
    devices = [dict(serial='W-1', ublox_rot_public_uid=rots[0], iotcomms_device_id='4730001'),
               dict(serial='W-2', ublox_rot_public_uid=rots[1], iotcomms_device_id='4730002'),
               dict(serial='W-3', ublox_rot_public_uid=rots[2], ublox_imei=fresh['IMEI'], iotcomms_device_id='4730003')]
    vaulted = 'vaulted-sip-password-0001'
    reports = os.path.join(workdir, 'reports-list')
    inventory = harness.write_inventory(os.path.join(workdir, 'inventory-list.json'), {'incident_response_report_dir': reports})
    env = harness.ansible_env(mock, workdir)
    extra = ['-e', json.dumps({'incident_response_devices': devices, 'incident_response_sip_passwords': {'4730001': vaulted}}),
             '-e', 'incident_response_ticket=SEC-W', '-e', 'incident_response_confirm=yes']

    def respond(name):
        mock.admin.reset_counters()
        result = harness.run_playbook(['-i', inventory, os.path.join(harness.PLAYBOOKS, 'incident_response.yml')] + extra, env, workdir, name)
        return result, mock.admin.counters()

    first, counters = respond('list')
    assert first.rc == 0 and first.failed == 0, first.stdout[-4000:]
    state = mock.admin.state()
    held = certificates(state['ublox'])
    assert held[rots[0]][1] and not held.get(rots[1], (None, False))[1]
    assert not set(rots) & whitelist(state['ublox']) and fresh['IMEI'] not in whitelist(state['ublox'])
    sip = dict((d['deviceId'], d) for d in state['iotcomms']['domains'][harness.credentials.IOTCOMMS_DOMAIN]['devices'])
    assert sorted(sip) == ['4730001', '4730002']   # no SIP device was created for W-3
    with open(os.path.join(reports, 'incident-SEC-W.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    rows = dict((row['serial'], row['clouds']) for row in report['devices'])
    assert rows['W-1']['u-blox certificate']['phase'] == 'revoked'
    assert rows['W-2']['u-blox certificate']['waiting'] and not rows['W-2']['u-blox certificate']['failed']
    assert rows['W-3']['u-blox certificate']['phase'] == 'never bootstrapped'
    assert rows['W-3']['iotcomms.io SIP']['phase'] == 'no SIP device'
    assert report['verdict']['waiting'] == 1 and report['verdict']['needs_attention'] == 0
    names = [n for n in os.listdir(reports) if n.startswith('incident-SEC-W-sip-credentials-')]
    with open(os.path.join(reports, names[0]), encoding='utf-8') as handle:
        generated = json.load(handle)['passwords']
    assert list(generated) == ['4730002']          # the vaulted one is not written
    assert sip_registers(mock, '4730001', vaulted)
    assert sip_registers(mock, '4730002', generated['4730002'])
    for secret in (vaulted, generated['4730002']):
        assert secret not in first.stdout and secret not in first.stderr

    again, counters = respond('list-again')
    assert again.rc == 0 and writes(counters) == 0, (again.stdout[-3000:], write_endpoints(counters))
