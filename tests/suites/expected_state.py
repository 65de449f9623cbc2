# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state a fleet must be in after factory_onboarding, and the state the mock holds, in one comparable shape.

Each vendor view is a multiset of tuples, so a device missing, a device twice, a command twice or a
field with the wrong value all show up as a difference.
"""

from __future__ import annotations

import collections

from cryptography import x509
from cryptography.hazmat.primitives import serialization

NRF_KINDS = ('certificateSigningRequest', 'clientCertificate', 'finished')


class Expectation:
    """What the factory_onboarding role must leave in the mock for ``fleet`` with the suite's role variables."""

    def __init__(self, fleet, batch, sec_tag, naocloud_site, naocloud_category, ublox_authorizations=(('LocalDPR', 'ENABLED'),),
                 iotcomms_device_type='alarmUnit', iotcomms_auth_type='deviceid', nrf_fw_types=('APP', 'MODEM'), offline=()):
        self.fleet = fleet
        self.offline = set(offline)  # serials of the devices that have not come online (yet)
        self.batch = batch
        self.sec_tag = str(sec_tag)
        self.site = str(naocloud_site)
        self.category = naocloud_category
        self.ublox_authorizations = tuple(ublox_authorizations)
        self.iotcomms_device_type = iotcomms_device_type
        self.iotcomms_auth_type = iotcomms_auth_type
        self.nrf_fw_types = tuple(sorted(nrf_fw_types))

    def expected(self):
        """Devices that came online are done everywhere; the others are claimed with their CSR command pending (nRF Cloud)
        and whitelisted but not bootstrapped (u-blox), and done in the clouds that need nothing from the device."""
        rows = self.fleet.rows
        ublox_rows = [r for r in rows if r.get('ublox_rot_public_uid')]
        online = [r for r in rows if r['serial'] not in self.offline]
        nrf_online = set(r['_nrfcloud'] for r in online if r.get('_nrfcloud'))
        ublox_online = [r for r in online if r.get('ublox_rot_public_uid')]
        done = tuple('%s:SUCCEEDED' % kind for kind in NRF_KINDS)
        waiting = ('certificateSigningRequest:PENDING',)
        return {
            'nrfcloud claimed devices': [(i, 'PROVISIONED', done, 'certificate of the device key') if i in nrf_online or not self.offline
                                         else (i, 'READY', waiting, 'no certificate') for i in self.fleet.nrf_ids],
            'nrfcloud onboarded devices': [(i, self.nrf_fw_types, ()) for i in self.fleet.nrf_ids if i in nrf_online or not self.offline],
            'ublox whitelist': ([('ROTPublicUID', r['ublox_rot_public_uid']) for r in ublox_rows]
                                + [('IMEI', r['ublox_imei']) for r in ublox_rows if r.get('ublox_imei')]),
            'ublox batch tag': [(self.batch, tuple(sorted(r['ublox_rot_public_uid'] for r in ublox_online)))] if ublox_online else [],
            'ublox devices': [(r['ublox_rot_public_uid'], 'ACTIVATED', (self.batch,), self.ublox_authorizations) for r in ublox_online],
            'ublox not bootstrapped': [r['ublox_rot_public_uid'] for r in ublox_rows if r['serial'] in self.offline],
            'iotcomms devices': [(r['iotcomms_device_id'], self.iotcomms_auth_type, self.iotcomms_device_type, r.get('iotcomms_mac', ''),
                                  self.batch) for r in rows if r.get('iotcomms_device_id')],
            'naocloud trackables': [(r['naocloud_mac'], r.get('naocloud_name') or r['serial'], self.category, True)
                                    for r in rows if r.get('naocloud_mac')],
        }

    def actual(self, state, iotcomms_domain):
        team = state['nrfcloud']['teams']['a']
        ublox = state['ublox']
        return {
            'nrfcloud claimed devices': [self._claimed(device) for device in team['claimedDevices']],
            'nrfcloud onboarded devices': [(d['id'], tuple(sorted((d.get('firmware') or {}).get('supports') or ())), tuple(d.get('tags') or ()))
                                           for d in team['devices']],
            'ublox whitelist': [(entry['Type'], entry['Id']) for entry in ublox['whitelist']],
            'ublox batch tag': [(tag['TagName'], tuple(sorted(tag['ROTPublicUIDs']))) for tag in ublox['tags']],
            'ublox devices': [(d['ROTPublicUID'], d['Core'].get('State'), tuple(d['Core'].get('TagNames') or ()), _features(d))
                              for d in ublox['devices']],
            'ublox not bootstrapped': [d['ROTPublicUID'] for d in ublox.get('manufactured') or ()],
            'iotcomms devices': [(d['deviceId'], d.get('authType'), d.get('deviceType'), d.get('macAddress') or '', d.get('description'))
                                 for d in state['iotcomms']['domains'][iotcomms_domain]['devices']],
            'naocloud trackables': [(t['tracking_id'], t['name'], t.get('category') or '', t.get('is_active'))
                                    for t in state['naocloud']['trackables'].get(self.site, [])],
        }

    def _claimed(self, device):
        kinds = tuple('%s:%s' % (next(iter(c['request'])), c['status']) for c in device.get('commands') or ())
        return (device['id'], device.get('status'), kinds, self._certificate_check(device))

    def _certificate_check(self, device):
        """The client certificate at the security tag must be for this device and hold the key the device made."""
        cert_pem = ((device.get('certificates') or {}).get(self.sec_tag) or {}).get('clientCertificate')
        key_pem = (device.get('keys') or {}).get(self.sec_tag)
        if not cert_pem or not key_pem:
            return 'no certificate' if not cert_pem else 'no device key'
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        device_key = serialization.load_pem_public_key(key_pem.encode())
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if cert.public_key().public_bytes(*fmt) != device_key.public_bytes(*fmt):
            return 'certificate of another key'
        names = [a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
        if names != [device['id']]:
            return 'certificate for CN %s' % names
        return 'certificate of the device key'


def _features(device):
    """The authorizations a u-blox device has or will have at its next heartbeat: desired over current."""
    provisioning = device.get('Provisioning') or {}
    features = dict((a['Name'], a['State']) for a in (provisioning.get('CurrentProperties') or {}).get('Authorizations') or ())
    features.update((a['Name'], a['State']) for a in (provisioning.get('DesiredProperties') or {}).get('Authorizations') or ())
    return tuple(sorted(features.items()))


def compare(expected, actual, limit=4):
    """The differences between two views as readable lines (empty when the state is exact)."""
    problems = []
    for name in expected:
        want, have = collections.Counter(expected[name]), collections.Counter(actual.get(name, []))
        missing, extra = want - have, have - want
        if missing or extra:
            line = '%s: %d expected, %d found' % (name, sum(want.values()), sum(have.values()))
            if missing:
                line += '; missing or different %s' % _show(missing, limit)
            if extra:
                line += '; unexpected %s' % _show(extra, limit)
            problems.append(line)
    return problems


def _show(counter, limit):
    items = sorted(counter.items(), key=repr)
    text = ', '.join(('%r x%d' % (item, count) if count > 1 else repr(item)) for item, count in items[:limit])
    return text + (' (+%d more)' % (len(items) - limit) if len(items) > limit else '')
