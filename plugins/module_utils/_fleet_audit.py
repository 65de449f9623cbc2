# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings of a fleet audit, judged from what the info modules read: plain functions of data, tested without a cloud.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Every function takes the registered results of the info modules (``devices``, ``missing``, ...) and returns, per device
and cloud, one outcome in the shape ``batch_report`` takes: ``item`` (the id there), ``failed`` (a finding), ``msg`` (every
finding of the device in that cloud, joined), ``remedy``, ``phase``, ``waiting``, and ``findings`` (the kinds).
Certificate expiry is never judged here: the info modules judge it on the cloud's clock (``expires_within_days``).
"""

from __future__ import annotations

import functools
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._phases import GONE, MISSING, NOT_WHITELISTED
from ansible_collections.iotops.provisioning.plugins.module_utils.ublox import parse_date

HOUR = 3600.0
DAY = 86400.0

# the kinds of finding, in the order of the counts
EXPIRING, STUCK, DRIFT, CLONE, SUSPICIOUS, NOT_SEEN = 'expiring', 'stuck', 'drift', 'clone', 'suspicious', 'not_seen'
KINDS = (EXPIRING, STUCK, DRIFT, CLONE, SUSPICIOUS, NOT_SEEN)
CLOUDS = (('nrfcloud', 'nRF Cloud'), ('ublox', 'u-blox'), ('iotcomms', 'iotcomms.io'), ('naocloud', 'NAO Cloud'))
LABELS = dict(CLOUDS)
STUCK_STATUSES = ('ERROR', 'BLOCKED', 'AWAITING')

REMEDIES = {
    (EXPIRING, 'nrfcloud'): 'Rotate its client certificate: run the certificate_rotation role (rotate_certificates.yml).',
    (EXPIRING, 'ublox'): 'Renew its device certificate: run the certificate_rotation role (rotate_certificates.yml).',
    (STUCK, 'ERROR'): 'Read the failed command in its history (nrfcloud_provisioning_info), fix the cause on the device, then '
                      'recover it: recover_nrfcloud_devices.yml claims it again and provisions it (check mode first).',
    (STUCK, 'BLOCKED'): 'nRF Cloud blocked its provisioning: find out why (nRF Cloud portal), then unblock it with '
                        'recover_nrfcloud_devices.yml -e recover_conditions=blocked, or replace it.',
    (STUCK, 'AWAITING'): 'The device has not connected to take its commands: check that it is powered and has coverage.',
    (STUCK, 'ALLOCATED'): 'It bootstrapped before it was whitelisted, so it has no features: whitelist it and bootstrap it again.',
    (STUCK, 'BOOTSTRAP'): 'It is whitelisted but has not bootstrapped: check that it is powered, has coverage and runs the ZTP '
                          'bootstrap.',
    (DRIFT, 'WHITELIST'): 'Run the onboarding of its batch again (onboard.yml): it whitelists the module before its bootstrap.',
    (DRIFT, 'nowhere'): 'Onboard it (onboard.yml); if it was decommissioned, take it out of the manifest.',
    (DRIFT, None): 'Run the onboarding of its batch again (onboard.yml): it adds what is missing and leaves the rest as it is.',
    (CLONE, None): 'Treat it as compromised: run the incident response (revoke its certificate, remove it from the whitelist).',
    (SUSPICIOUS, None): 'Look into its activity with u-blox; if it is compromised, run the incident response.',
    (NOT_SEEN, None): 'Check whether the device is powered and in coverage, or decommission it.',
}


def remedy(kind, detail=None):
    return REMEDIES.get((kind, detail)) or REMEDIES[(kind, None)]


def read_failed(result):
    """The message of an info module run that failed as a whole, or None (a skipped run is not a failure)."""
    if isinstance(result, dict) and result.get('failed'):
        return str(result.get('msg') or 'the read failed without a message')
    return None


def was_read(result):
    """Whether ``result`` holds a read to judge from (the task ran and did not fail)."""
    return isinstance(result, dict) and not result.get('skipped') and not result.get('failed')


def age_words(seconds):
    if seconds >= 2 * DAY:
        return '%d days' % (seconds // DAY)
    return '%.1f hours' % (seconds / HOUR)


class Finder:
    """One device's findings per cloud: {cloud: {id: [(kind, reason, remedy)]}}, and its phase there."""

    def __init__(self):
        self.found = {}
        self.phases = {}

    def add(self, cloud, ident, kind, reason, what_to_do):
        self.found.setdefault(cloud, {}).setdefault(ident, []).append((kind, reason, what_to_do))

    def phase(self, cloud, ident, phase, waiting=False, out_of_service=False):
        self.phases.setdefault(cloud, {})[ident] = (phase, waiting, out_of_service)

    def outcomes(self, cloud):
        """The outcomes of ``cloud``: one per id that has a phase or a finding, the findings of one id joined."""
        idents = list(self.phases.get(cloud, {}))
        idents += [ident for ident in self.found.get(cloud, {}) if ident not in idents]
        outcomes = []
        for ident in idents:
            phase, waiting, out_of_service = self.phases.get(cloud, {}).get(ident, ('not found', False, False))
            found = self.found.get(cloud, {}).get(ident, [])
            outcome = dict(item=ident, changed=False, failed=bool(found), phase=phase, waiting=waiting and not found,
                           findings=[kind for kind, dummy, dummy2 in found])
            if out_of_service:
                outcome['out_of_service'] = True
            if found:
                outcome['msg'] = '; '.join(reason for dummy, reason, dummy2 in found)
                outcome['remedy'] = ' '.join(dict.fromkeys(what for dummy, dummy2, what in found))
            outcomes.append(outcome)
        return outcomes


def nrfcloud_since(device, commands=None):
    """When an nRF Cloud device entered its status, as far as the Provisioning Service says: the newest time of its
    command history (``commands``, the views of nrfcloud_provisioning_info, when they carry times), else when it was
    claimed."""
    stamps = [parse_date(command.get(key)) for command in commands or [] for key in ('updated_at', 'created_at')]
    stamps = [stamp for stamp in stamps if stamp is not None]
    if stamps:
        return max(stamps), 'its last command'
    return parse_date(device.get('claimedAt')), 'its claim'


def judge_nrfcloud(finder, claimed, expiring, onboarded, wanted, now, stuck_hours, stuck=None):
    """Status, stuck and expiry findings of the claimed nRF Cloud devices; ``wanted`` the manifest's device ids;
    ``stuck`` the read of the command histories of the devices in a stuck status (since when they are in it)."""
    devices = dict((d.get('id'), d) for d in claimed.get('devices') or [] if d.get('id') in wanted)
    histories = dict((d.get('id'), d.get('commands')) for d in (stuck or {}).get('devices') or [])
    in_management = set(d.get('id') for d in (onboarded or {}).get('devices') or [])
    for ident, device in devices.items():
        status = device.get('status') or 'unknown'
        finder.phase('nrfcloud', ident, status.lower() if status != 'PROVISIONED' else 'provisioned', status == 'AWAITING')
        if status in STUCK_STATUSES:
            since, what = nrfcloud_since(device, histories.get(ident))
            age = now - since if since is not None else None
            if age is None or age >= stuck_hours * HOUR:
                finder.add('nrfcloud', ident, STUCK, '%s for %s (since %s)' % (status, age_words(age), what) if age is not None
                           else '%s (since when, nRF Cloud does not say)' % status, remedy(STUCK, status))
        if was_read(onboarded) and status == 'PROVISIONED' and ident not in in_management:
            finder.add('nrfcloud', ident, DRIFT, 'provisioned but not onboarded to nRF Cloud device management', remedy(DRIFT))
    for device in (expiring or {}).get('devices') or []:
        if device.get('id') in devices:
            certificate = device.get('client_certificate') or {}
            finder.add('nrfcloud', device['id'], EXPIRING, 'client certificate expires %s' % certificate.get('not_after', '(date unknown)'),
                       remedy(EXPIRING, 'nrfcloud'))
    return set(devices)


def ublox_certificate_words(certificate):
    if certificate.get('revoked'):
        return 'device certificate is revoked'
    return 'device certificate expires %s' % (certificate.get('expiration_date') or '(u-blox gives no date)')


RENEWING = ('RENEW', 'UPDATE', 'TRANSFER')   # pending certificate actions that bring a new certificate


def judge_ublox(finder, devices, expiring, wanted, now, stuck_hours):
    """State and expiry findings of the u-blox devices of the manifest (``wanted``, ROTPublicUIDs); returns (the devices
    found, the retired ones). Retired: its certificate is revoked or its deletion pending - the device was taken out of
    service (decommission, incident response); u-blox keeps the record, as it has no device delete."""
    known = dict((d.get('rot_public_uid'), d) for d in devices.get('devices') or [] if d.get('rot_public_uid') in wanted)
    for rot, device in known.items():
        state = device.get('state') or 'known'
        finder.phase('ublox', rot, 'bootstrapped' if state == 'ACTIVATED' else state.lower())
        since = parse_date(device.get('bootstrap_date'))
        if state == 'ALLOCATED' and (since is None or now - since >= stuck_hours * HOUR):
            finder.add('ublox', rot, STUCK, 'ALLOCATED (bootstrapped without being whitelisted)%s' % (
                ' for %s' % age_words(now - since) if since is not None else ''), remedy(STUCK, 'ALLOCATED'))
    retired = set()
    for device in (expiring or {}).get('devices') or []:
        rot, certificate = device.get('rot_public_uid'), device.get('certificate') or {}
        pending = (device.get('pending_certificate_action') or {}).get('action')
        if rot not in known:
            continue
        if certificate.get('revoked') or pending == 'DELETE':
            retired.add(rot)
            finder.phase('ublox', rot, 'out of service (certificate %s)' % ('revoked' if certificate.get('revoked') else 'deletion pending'),
                         out_of_service=True)
        elif pending in RENEWING:
            # the rotation has sent the renewal; u-blox applies it at the device's next security heartbeat
            finder.phase('ublox', rot, 'renewal pending (next heartbeat)', True)
        else:
            finder.add('ublox', rot, EXPIRING, ublox_certificate_words(certificate), remedy(EXPIRING, 'ublox'))
    return set(known), retired


def judge_activity(finder, security, devices, known, now, not_seen_days):
    """Clone, suspicious and not-seen findings of the u-blox devices ``known``. Not seen: the security module's own
    ``not_seen`` (judged on u-blox's clock) when it ran with ``not_seen_days``, else the device information's LastSeen."""
    for kind, words in ((CLONE, 'reported as a clone by u-blox'), (SUSPICIOUS, 'reported as suspicious by u-blox')):
        for entry in (security or {}).get(kind + 's' if kind == CLONE else kind) or []:
            rot = str(entry.get('rot_public_uid') or '').lower()
            if rot in known:
                finder.add('ublox', rot, kind, words, remedy(kind))
    if was_read(security) and security.get('activity') is not None:
        seen = dict((str(e.get('rot_public_uid') or '').lower(), e.get('last_seen')) for e in security['activity'])
    else:
        seen = dict((d.get('rot_public_uid'), d.get('last_seen')) for d in (devices or {}).get('devices') or [])
    judged = security.get('not_seen') if was_read(security) else None
    for rot in sorted(known & set(seen)):
        last = parse_date(seen[rot])
        if judged is not None:
            silent = rot in set(str(r).lower() for r in judged)
        else:
            silent = last is None or now - last >= not_seen_days * DAY
        if not silent:
            continue
        if last is None:
            reason = 'never seen by u-blox'
        elif judged is not None:  # u-blox's clock judged it; the controller's would give another age
            reason = 'not seen for more than %g days (last seen %s)' % (not_seen_days, seen[rot])
        else:
            reason = 'not seen for %s (last seen %s)' % (age_words(max(now - last, 0)), seen[rot])
        finder.add('ublox', rot, NOT_SEEN, reason, remedy(NOT_SEEN))


def judge_bootstrap(finder, rot, whitelisted=None, now=0.0, stuck_hours=0.0, report=True):
    """A u-blox module u-blox does not know has not bootstrapped: waiting while whitelisted (stuck ``stuck_hours`` after it
    was whitelisted), drift when the whitelist was read and does not have it. ``whitelisted`` is None when the whitelist
    was not read, else {rot: when it was whitelisted (epoch, or None when u-blox does not say)}. ``report`` False: the
    phase only (the device's one finding is elsewhere)."""
    if whitelisted is not None and rot not in whitelisted:
        finder.phase('ublox', rot, NOT_WHITELISTED)
        if report:
            finder.add('ublox', rot, DRIFT, 'neither whitelisted nor bootstrapped in u-blox', remedy(DRIFT, 'WHITELIST'))
        return
    finder.phase('ublox', rot, 'waiting for bootstrap', True)
    since = (whitelisted or {}).get(rot)
    if report and since is not None and now - since >= stuck_hours * HOUR:
        finder.add('ublox', rot, STUCK, 'waiting for its bootstrap for %s (whitelisted %s)' % (age_words(max(now - since, 0)), epoch_words(since)),
                   remedy(STUCK, 'BOOTSTRAP'))


def epoch_words(stamp):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(stamp))


def judge_presence(finder, manifest, present, retired=frozenset(), bootstrap=judge_bootstrap):
    """Drift: per manifest row, a cloud the row has an identity for that does not know it, while another cloud does.

    ``present`` is {cloud: set of ids known there} for the clouds that were read. A u-blox module u-blox does not know has
    not bootstrapped yet: ``bootstrap`` judges it (judge_bootstrap). A row whose u-blox module is ``retired`` and that no
    other cloud knows was decommissioned: gone, not drift. A row no cloud read knows is one finding, not one per cloud: it
    was never onboarded, or it was decommissioned and is still in the manifest."""
    for row in manifest.get('devices') or []:
        idents = row_identities(row)
        seen = [cloud for cloud, ident in idents.items() if cloud in present and ident in present[cloud]]
        decommissioned = not seen and idents.get('ublox') in retired
        missing = [cloud for cloud, ident in idents.items()
                   if cloud in present and ident not in present[cloud] and not (cloud == 'ublox' and ident in retired)]
        drifted = [cloud for cloud in missing if cloud != 'ublox']
        for cloud in missing:
            if decommissioned:
                finder.phase(cloud, idents[cloud], GONE, out_of_service=True)
            elif cloud == 'ublox':
                bootstrap(finder, idents[cloud], report=bool(seen) or not drifted)
            else:
                finder.phase(cloud, idents[cloud], MISSING)
        if decommissioned or not drifted:
            continue
        if seen:
            where = ', '.join(LABELS[c] for c in seen)
            for cloud in drifted:
                finder.add(cloud, idents[cloud], DRIFT, 'missing in %s (present in %s)' % (LABELS[cloud], where), remedy(DRIFT))
        else:
            nowhere = ', '.join(LABELS[c] for c in missing)
            finder.add(drifted[0], idents[drifted[0]], DRIFT, 'in none of the clouds read (%s)' % nowhere, remedy(DRIFT, 'nowhere'))


def whitelisted_since(devices):
    """{rot: epoch or None} of the whitelist that ublox_device_info returned with include_whitelist, or None without it."""
    if not was_read(devices) or devices.get('whitelist') is None:
        return None
    return dict((str(entry.get('id')).lower(), parse_date(entry.get('created_date')))
                for entry in devices['whitelist'] if entry.get('type') == 'ROTPublicUID')


def row_identities(row):
    """{cloud: id} of one normalised manifest row (manifest_info's ``devices``)."""
    idents = {}
    if row.get('nrfcloud_device_id'):
        idents['nrfcloud'] = row['nrfcloud_device_id']
    if row.get('ublox_rot_public_uid'):
        idents['ublox'] = str(row['ublox_rot_public_uid']).lower()
    if row.get('iotcomms_device_id'):
        idents['iotcomms'] = str(row['iotcomms_device_id'])
    if row.get('naocloud_mac'):
        idents['naocloud'] = str(row['naocloud_mac']).upper()
    return idents


def step_for(cloud, name, finder, reads):
    """A batch_report step of one cloud: its outcomes, and the messages of its reads that failed as a whole."""
    errors = [message for message in (read_failed(result) for result in reads) if message]
    step = dict(vendor=cloud, step=name, results=finder.outcomes(cloud))
    if errors:
        step['error'] = '; '.join(errors)
    return step


def audit(reads, manifest, now, expiry_days, stuck_hours, not_seen_days):
    """The audit of one fleet: (steps for batch_report, findings, counts).

    ``reads`` holds the registered results of the info modules by name (``nrfcloud_claimed``, ``nrfcloud_stuck``, ``nrfcloud_expiring``,
    ``nrfcloud_onboarded``, ``ublox_devices``, ``ublox_expiring``, ``ublox_security``, ``iotcomms_devices``,
    ``naocloud_trackables``); a cloud whose reads did not run is not judged (and gets no drift findings)."""
    finder, present, retired = Finder(), {}, set()
    wanted = {}
    for row in manifest.get('devices') or []:
        for cloud, ident in row_identities(row).items():
            wanted.setdefault(cloud, set()).add(ident)
    if was_read(reads.get('nrfcloud_claimed')):
        present['nrfcloud'] = judge_nrfcloud(finder, reads['nrfcloud_claimed'], reads.get('nrfcloud_expiring'),
                                             reads.get('nrfcloud_onboarded'), wanted.get('nrfcloud', set()), now, stuck_hours,
                                             reads.get('nrfcloud_stuck'))
    bootstrap = judge_bootstrap
    if was_read(reads.get('ublox_devices')):
        devices = reads['ublox_devices']
        ublox_now = parse_date(devices.get('cloud_time')) or now   # u-blox's dates are judged on u-blox's clock
        known, retired = judge_ublox(finder, devices, reads.get('ublox_expiring'), wanted.get('ublox', set()), ublox_now, stuck_hours)
        # a retired module is out of service: what it did before (clone, silence) is no longer a finding, and its record
        # no longer counts as present for the drift of the device's other identities
        judge_activity(finder, reads.get('ublox_security'), devices, known - retired, ublox_now, not_seen_days)
        present['ublox'] = known - retired
        bootstrap = functools.partial(judge_bootstrap, whitelisted=whitelisted_since(devices), now=ublox_now, stuck_hours=stuck_hours)
    for cloud, name, key, field in (('iotcomms', 'iotcomms_devices', 'devices', 'deviceId'),
                                    ('naocloud', 'naocloud_trackables', 'trackables', 'tracking_id')):
        if was_read(reads.get(name)):
            ids = set(str(d.get(field)).upper() if cloud == 'naocloud' else str(d.get(field)) for d in reads[name].get(key) or [])
            present[cloud] = ids & wanted.get(cloud, set())
            for ident in present[cloud]:
                finder.phase(cloud, ident, 'present')
    judge_presence(finder, manifest, present, retired, bootstrap)
    steps = [step_for(cloud, 'audit', finder, [reads.get(name) for name in sorted(reads) if name.startswith(cloud)])
             for cloud, dummy in CLOUDS]
    serials = manifest.get('serials') or {}
    findings = [dict(serial=(serials.get(step['vendor']) or {}).get(outcome['item']), cloud=step['vendor'], id=outcome['item'],
                     findings=outcome['findings'], reason=outcome['msg'], remedy=outcome['remedy'])
                for step in steps for outcome in step['results'] if outcome['failed']]
    counts = dict((kind, sum(1 for f in findings for k in f['findings'] if k == kind)) for kind in KINDS)
    counts.update(devices=len({f['serial'] or f['id'] for f in findings}), findings=sum(len(f['findings']) for f in findings),
                  read_errors=sum(1 for step in steps if step.get('error')),
                  thresholds=dict(expiry_days=expiry_days, stuck_hours=stuck_hours, not_seen_days=not_seen_days))
    return steps, findings, counts
