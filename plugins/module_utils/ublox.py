# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox Security Services client: URLs, payload conventions, pagination and error bodies.

Every call is a POST with a JSON body under ``/v1``; calls whose path ends in ``/get`` only read.
Besides ``call`` and ``list_all`` the client has the reads the u-blox modules share (Root CAs,
tags and their members, the device index, device info in chunks, the whitelist), and this file
holds the vendor rules of seed 002 that the modules validate before any write, and the
normalisers that turn vendor records into the modules' snake_case results.
"""

from __future__ import annotations

import datetime
import math
import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import MAX_PAGES
from ansible_collections.iotops.provisioning.plugins.module_utils._module import (
    http_client,
    iso_utc as _iso_from_epoch,
    new_redactor,
    validate_connection,
    validate_url,
)

VENDOR = 'ublox'
DEFAULT_API_URL = 'https://ssapi.services.u-blox.com/v1'
PAGE_SIZE = 100

ARGSPEC = dict(
    api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['UBLOX_API_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_API_KEY'])),
    api_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_API_SECRET'])),
    auth_token=dict(type='str', no_log=True, fallback=(env_fallback, ['UBLOX_AUTH_TOKEN'])),
)

# ---------------------------------------------------------------------------------------------
# Vendor rules (seed 002, api §A). The mock enforces the same ones.

CA_NAME_MAX = 45
_CA_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]+$')
CA_NAME_RULE = 'at most 45 characters, only letters, digits, underscores, dashes and dots (u-blox CAName rule)'
CA_VALIDITY = (1825, 3650)
DEVICE_VALIDITY = (30, 3650)
RENEW_BEFORE = (1, 365)
CA_LIMIT = 15
TAG_NAME_MAX = 255
TAG_FORBIDDEN = '^`~<>"{}|\\,'
REGISTRATION_CODE_MAX = 64
_ROT_RE = re.compile(r'^[0-9a-fA-F]{1,16}$')
_IMEI_RE = re.compile(r'^[0-9]{15}$')
_PROFILE_RE = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
INFO_OPTIONS = ('CORE', 'PROVISIONING', 'ZTP')
# module option name -> u-blox feature authorization name
AUTHORIZATIONS = {
    'local_dpr': 'LocalDPR',
    'local_c2c': 'LocalC2C',
    'local_c2c_key_pairing': 'LocalC2CKeyPairing',
    'ztpv1': 'ZTPV1',
}
DAY = 86400
INFO_CHUNK = 100


def ca_name_problem(name):
    """Why ``name`` cannot be a u-blox CAName, or None."""
    if not isinstance(name, str) or not name:
        return 'a Root CA name is required'
    if len(name) > CA_NAME_MAX:
        return '%r has %d characters; %s' % (name, len(name), CA_NAME_RULE)
    if not _CA_NAME_RE.match(name):
        bad = sorted(set(char for char in name if not _CA_NAME_RE.match(char)))
        return '%r contains %s; %s' % (name, ' '.join(repr(char) for char in bad), CA_NAME_RULE)
    return None


def tag_name_problem(name):
    """Why ``name`` cannot be a u-blox TagName, or None (seed 002 /tag/create)."""
    if not isinstance(name, str) or not name:
        return 'a tag name is required'
    if len(name) > TAG_NAME_MAX:
        return '%r has %d characters; u-blox tag names can only be %d characters long' % (name[:20] + '...', len(name), TAG_NAME_MAX)
    for char in name:
        if char in TAG_FORBIDDEN:
            return '%r contains %r; u-blox tag names must not contain any of %s' % (name, char, ' '.join(TAG_FORBIDDEN))
        if ord(char) < 32 or ord(char) == 127:
            return '%r contains a control character; u-blox tag names must not contain control characters' % name
    return None


def tag_key(name):
    """u-blox tag names are case-insensitive: compare them by this key."""
    return name.casefold()


def check_range(value, bounds, option, rule):
    """Raise ConfigError unless ``bounds[0] <= value <= bounds[1]``."""
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise ConfigError('%s is %s; %s must be from %d to %d days' % (option, value, rule, bounds[0], bounds[1]))


def normalize_rot(value, option='rot_public_uids'):
    """A ROTPublicUID (8-byte root-of-trust UID as hex, api §A.5) in lowercase, or ConfigError."""
    text = str(value).strip() if value is not None else ''
    if not _ROT_RE.match(text):
        raise ConfigError('%s: %r is not a ROTPublicUID; it must be 1 to 16 hexadecimal digits (the 8-byte root-of-trust UID)'
                          % (option, value))
    return text.lower()


def check_profile_uid(value, option='device_profile_uids'):
    """A DeviceProfileUID as the Thingstream portal makes them (e.g. AgbCtixjwqLjwV3VWpfPyz), or ConfigError."""
    text = str(value).strip() if value is not None else ''
    if not _PROFILE_RE.match(text):
        raise ConfigError('%s: %r is not a DeviceProfileUID; it is 1 to 64 letters, digits, dashes or underscores, like '
                          'AgbCtixjwqLjwV3VWpfPyz' % (option, value))
    return text


def normalize_imei(value, option='imeis'):
    """A 15-digit IMEI with a valid Luhn check digit, or ConfigError."""
    text = str(value).strip() if value is not None else ''
    if not _IMEI_RE.match(text):
        raise ConfigError('%s: %r is not an IMEI; it must be exactly 15 digits' % (option, value))
    total = 0
    for index, char in enumerate(reversed(text)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    if total % 10:
        raise ConfigError('%s: %r is not an IMEI; its last digit is not the Luhn check digit of the first 14' % (option, value))
    return text


def parse_date(text):
    """Epoch seconds from a u-blox date, or None.

    u-blox writes dates several ways (seed 002): ``2020-04-20T19:00:36Z``, ``2020-04-25T06:22:12+00:00``,
    ``2020-05-07T11:23:32`` (no zone: UTC) and ``2020-05-10T19:39Z``; all are read as UTC unless an
    offset says otherwise.
    """
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value.endswith(('Z', 'z')):
        value = value[:-1] + '+00:00'
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def expires_within(certificate, days, now):
    """Whether a device's ``certificate`` (a device view's) expires within ``days`` of ``now`` (epoch seconds, u-blox's
    clock): expired and revoked ones do, one without an expiry date does (a renewal acts on it), no certificate does not.
    The one window rule of ublox_device_certificate's renew_within_days and ublox_device_info's expires_within_days."""
    if not certificate:
        return False
    expires = parse_date(certificate.get('expiration_date'))
    return expires is None or expires - now <= days * DAY


def iso_utc(text):
    """A u-blox date as ISO 8601 UTC with whole seconds (``2026-04-20T19:00:36Z``), or None when it is not a date."""
    return epoch_iso(parse_date(text))


def epoch_iso(stamp):
    """Epoch seconds as ISO 8601 UTC (``2026-04-20T19:00:36Z``), or None for None."""
    return _iso_from_epoch(stamp) if stamp is not None else None


def rot_chunks(rots, size=INFO_CHUNK):
    """``rots`` sorted, without duplicates, in lists of at most ``size``: the most ROTPublicUIDs one u-blox request takes."""
    rots = sorted(set(rots))
    return [rots[start:start + size] for start in range(0, len(rots), size)]


def parse_error(body):
    """u-blox error bodies are ``{"message": ...}`` (some samples spell it ``Message``)."""
    if isinstance(body, dict):
        return body.get('code') or body.get('Code'), body.get('message') or body.get('Message')
    return None, body if isinstance(body, str) else None


# ---------------------------------------------------------------------------------------------
# Normalised views for module results.

def ca_view(raw):
    """A Root CA as the modules return it."""
    return dict(
        name=raw.get('CAName'),
        ca_validity_days=raw.get('CACertificateValidity'),
        device_certificate_validity_days=raw.get('DeviceCertificateValidity'),
        renew_before_expiration_days=raw.get('RenewBeforeExpiration'),
        certificate=raw.get('Certificate'),
        created_date=raw.get('CreatedDate'),
        expiration_date=raw.get('ExpirationDate'),
    )


def _authorizations(properties):
    return {item.get('Name'): item.get('State') for item in (properties or {}).get('Authorizations') or []}


def provisioning_view(properties):
    """Desired or current properties: ``{authorizations: {LocalDPR: ENABLED, ...}, security_heartbeat: int}``."""
    properties = properties or {}
    network = properties.get('NetworkParameters') or {}
    return dict(authorizations=_authorizations(properties), security_heartbeat=network.get('SecurityHeartbeatInSec'))


def certificate_view(ztp):
    """The ZTP part of device info: the current certificate and the pending certificate action."""
    current = (ztp or {}).get('CurrentProperties') or {}
    desired = (ztp or {}).get('DesiredProperties') or {}
    certificate = None
    if current:
        certificate = dict(ca_name=current.get('CAName'), serial_number=current.get('CertificateSerialNumber'),
                           validity_days=current.get('CertificateValidity'), issued_date=current.get('IssuedDate'),
                           expiration_date=current.get('ExpirationDate'), revoked=bool(current.get('Revoked')))
    pending = None
    if desired:
        pending = dict(action=desired.get('Action'), ca_name=desired.get('CAName'), validity_days=desired.get('CertificateValidity'),
                       modified_date=desired.get('ModifiedDate'))
    return certificate, pending


def device_view(raw):
    """One /device/info/get record as the modules return it (only the parts that were asked for)."""
    result = dict(rot_public_uid=raw.get('ROTPublicUID'))
    core = raw.get('Core')
    if core is not None:
        result.update(imei=core.get('IMEI'), device_serial_number=core.get('DeviceSerialNumber'),
                      device_profile_uid=core.get('DeviceProfileUID'), type_number=core.get('TypeNumber'),
                      state=core.get('State'), blacklisted=core.get('IsBlacklisted'), tags=core.get('TagNames') or [],
                      bootstrap_date=core.get('BootstrapDate'), last_seen=core.get('LastSeen'))
    provisioning = raw.get('Provisioning')
    if provisioning is not None:
        result['provisioning'] = dict(desired=provisioning_view(provisioning.get('DesiredProperties')),
                                      current=provisioning_view(provisioning.get('CurrentProperties')))
    if 'ZTP' in raw:
        result['certificate'], result['pending_certificate_action'] = certificate_view(raw['ZTP'])
    return result


# ---------------------------------------------------------------------------------------------
# Feature provisioning (authorizations and the security heartbeat), as /device/provisioning/set and
# /deviceprofile/bootstrapprovisioning/set take it.

def requested_features(authorizations, heartbeat):
    """({u-blox name: ENABLED|DISABLED}, heartbeat or None) from the modules' ``authorizations`` option."""
    auths = {}
    for option, name in AUTHORIZATIONS.items():
        value = (authorizations or {}).get(option)
        if value is not None:
            auths[name] = 'ENABLED' if value else 'DISABLED'
    return auths, heartbeat


def provisioning_body(auths, heartbeat):
    """The ``Provisioning`` object of a set call."""
    provisioning = {}
    if auths:
        provisioning['Authorizations'] = [{'Name': name, 'State': state} for name, state in sorted(auths.items())]
    if heartbeat is not None:
        provisioning['NetworkParameters'] = {'SecurityHeartbeatInSec': heartbeat}
    return provisioning


def effective_features(desired, current):
    """What a device will have after its next heartbeat: desired over current (both as provisioning_view gives them)."""
    auths = dict((current or {}).get('authorizations') or {})
    auths.update((desired or {}).get('authorizations') or {})
    heartbeat = (desired or {}).get('security_heartbeat')
    if heartbeat is None:
        heartbeat = (current or {}).get('security_heartbeat')
    return dict(authorizations=auths, security_heartbeat=heartbeat)


def features_wanted(state):
    """True when ``state`` (a provisioning_view) asks for any feature."""
    return bool(state['authorizations']) or state['security_heartbeat'] is not None


def features_differ(state, auths, heartbeat):
    """True when ``state`` (a provisioning_view) lacks one of the requested authorizations or the heartbeat."""
    if any((state.get('authorizations') or {}).get(name) != value for name, value in auths.items()):
        return True
    return heartbeat is not None and state.get('security_heartbeat') != heartbeat


# ---------------------------------------------------------------------------------------------

def ublox_pages(fetch, list_key, concurrency=4):
    """u-blox: ``PageNumber`` in the body; ``PageSize`` and ``TotalRecords`` in the answer.

    The first page tells how many pages there are, so the others are read concurrently.
    """
    first = fetch(1) or {}
    items = list(first.get(list_key) or [])
    total = first.get('TotalRecords') or 0
    size = first.get('PageSize') or len(items) or 1
    pages = min(int(math.ceil(float(total) / size)), MAX_PAGES)
    if pages <= 1:
        return items
    for body in map_concurrently(fetch, range(2, pages + 1), concurrency):
        items.extend((body or {}).get(list_key) or [])
    return items


class UbloxClient:
    """Calls of the u-blox API for the modules; one instance per module run."""

    def __init__(self, http, auth, concurrency=4):
        self.http = http
        self.auth = auth
        self.concurrency = max(4, concurrency)  # the pages of a list after the first are read this many at a time
        self._device_ids = None

    def call(self, path, body=None, verify_write=None, expect=(200,)):
        """POST ``body`` to ``path``; a path ending in ``/get`` is a read and may be retried freely."""
        read_only = path.rstrip('/').endswith('/get')
        return self.http.request('POST', path, json_body=body or {}, expect=expect, read_only=read_only,
                                 verify_write=verify_write).body

    def list_all(self, path, list_key, body=None):
        """Every record of a paginated ``.../get`` call."""
        def fetch(page):
            request = dict(body or {})
            request['PageNumber'] = page
            return self.call(path, request)
        return ublox_pages(fetch, list_key, concurrency=self.concurrency)

    def find(self, path, body):
        """A ``.../get`` answer, or None when u-blox answers 404 (the named resource does not exist)."""
        try:
            return self.call(path, body)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    # Root CAs ------------------------------------------------------------------------------

    def root_cas(self):
        """{CAName: record} of every Root CA (all pages)."""
        return {ca['CAName']: ca for ca in self.list_all('/ztp/rootca/get', 'CAs')}

    def root_ca(self, name):
        """One Root CA record, or None."""
        body = self.find('/ztp/rootca/get', {'CAName': name})
        for ca in (body or {}).get('CAs') or []:
            if ca.get('CAName') == name:
                return ca
        return None

    def ca_devices(self, name):
        """The devices holding a certificate from Root CA ``name`` (all pages)."""
        return self.list_all('/ztp/rootca/device/get', 'Devices', {'CAName': name})

    def ca_users(self, name, concurrency=4):
        """What keeps u-blox from deleting Root CA ``name`` (seed 002 /ztp/rootca/delete: it is linked to a device profile, or
        set in the current or desired properties of a device).

        Returns ``{"device_profiles": [uid, ...], "holders": n, "devices": {rot: ZTP record}}``. The holders are counted
        with one call; only when there are none (and no profile links it) are the devices of the account read (every
        page of the device list, then their ZTP info, 100 per call) to find those whose desired certificate properties
        name the Root CA, such as a device between the two heartbeats of an update. ``devices`` is filled only then.
        """
        holders = (self.call('/ztp/rootca/device/get', {'CAName': name, 'PageNumber': 1}) or {}).get('TotalRecords') or 0
        profiles = sorted(uid for uid, profile in self.device_profiles().items() if profile.get('CAName') == name)
        users = {}
        if not holders and not profiles:
            for rot, record in self.device_info(self.device_ids(), options=('ZTP',), concurrency=concurrency).items():
                ztp = record.get('ZTP') or {}
                if name in (((ztp.get('CurrentProperties') or {}).get('CAName')), (ztp.get('DesiredProperties') or {}).get('CAName')):
                    users[rot] = ztp
        return dict(device_profiles=profiles, holders=holders, devices=users)

    def crls(self, names):
        """{CAName: {"CRL", "RevokedSerialNumbers"}} for the named Root CAs."""
        body = self.call('/ztp/rootca/crl/get', {'CANames': list(names)}) or {}
        return {crl.get('CAName'): crl for crl in body.get('CRLs') or []}

    # tags ----------------------------------------------------------------------------------

    def tags(self):
        """{tag_key(name): record} of every tag (all pages)."""
        return {tag_key(tag['TagName']): tag for tag in self.list_all('/tag/get', 'Tags')}

    def devices_with_tags(self, names):
        """ROTPublicUIDs assigned any of the tags ``names`` (all pages), lowercase."""
        return set(rot.lower() for rot in self.list_all('/device/rotpublicuid/get', 'ROTPublicUIDs', {'TagNames': list(names)}))

    def devices_with_profiles(self, uids):
        """ROTPublicUIDs sealed with any of the DeviceProfileUIDs ``uids`` (all pages; the call takes one profile), lowercase."""
        found = set()
        for uid in uids:
            found.update(rot.lower() for rot in self.list_all('/device/rotpublicuid/get', 'ROTPublicUIDs', {'DeviceProfileUID': uid}))
        return found

    def profiles_with_tags(self, names):
        """DeviceProfileUIDs assigned any of the tags ``names`` (all pages)."""
        profiles = self.list_all('/deviceprofile/get', 'DeviceProfiles', {'TagNames': list(names)})
        return set(profile['DeviceProfileUID'] for profile in profiles)

    def device_profiles(self):
        """{DeviceProfileUID: record} of every device profile (all pages)."""
        return {profile['DeviceProfileUID']: profile for profile in self.list_all('/deviceprofile/get', 'DeviceProfiles')}

    # devices -------------------------------------------------------------------------------

    def device_ids(self):
        """Every ROTPublicUID of the account, read once per module run (all pages), lowercase."""
        if self._device_ids is None:
            self._device_ids = set(rot.lower() for rot in self.list_all('/device/list/get', 'ROTPublicUIDs', {'Filter': 'ALL'}))
        return self._device_ids

    def device_list(self, device_filter='ALL'):
        """ROTPublicUIDs of the account with a filter (ALL, WHITELISTED, BLACKLISTED)."""
        return [rot.lower() for rot in self.list_all('/device/list/get', 'ROTPublicUIDs', {'Filter': device_filter})]

    def device_info(self, rots, options=INFO_OPTIONS, concurrency=4):
        """{ROTPublicUID: /device/info/get record} for ``rots``, asked 100 at a time; unknown devices are absent."""
        def fetch(chunk):
            return (self.call('/device/info/get', {'ROTPublicUIDs': chunk, 'Options': list(options)}) or {}).get('DeviceInfo') or []
        index = {}
        for records in map_concurrently(fetch, rot_chunks(rots), concurrency):
            for record in records:
                index[str(record.get('ROTPublicUID')).lower()] = record
        return index

    def device_info_by_serials(self, serials, options=INFO_OPTIONS):
        """/device/info/get records of the devices with these DeviceSerialNumbers."""
        if not serials:
            return {}
        body = self.call('/device/info/get', {'DeviceSerialNumbers': list(serials), 'Options': list(options)}) or {}
        return {str(record.get('ROTPublicUID')).lower(): record for record in body.get('DeviceInfo') or []}

    def whitelist(self):
        """Whitelist entries ``{"Id", "Type"}`` (all pages)."""
        return self.list_all('/device/whitelist/get', 'DeviceWhitelist')

    def whitelist_entries(self):
        """The whitelist as a set of ``(Type, Id)``: ``('ROTPublicUID', rot)`` or ``('IMEI', imei)``, ids lowercase."""
        return set((entry.get('Type'), str(entry.get('Id')).lower()) for entry in self.whitelist())

    def tagged_devices(self, tags):
        """ROTPublicUIDs of the devices with any of ``tags``; ConfigError naming a tag u-blox does not have."""
        known = self.tags()
        missing = [tag for tag in tags if tag_key(tag) not in known]
        if missing:
            raise ConfigError('tags: u-blox has no tag %s' % ', '.join(missing))
        return self.devices_with_tags(tags)

    def bootstrap_provisioning(self, uid):
        """The desired properties (a provisioning_view) of device profile ``uid``; ConfigError when u-blox has no such profile."""
        try:
            body = self.call('/deviceprofile/bootstrapprovisioning/get', {'DeviceProfileUID': uid}) or {}
        except ApiError as exc:
            if exc.status == 404:
                raise ConfigError('device_profile_uid: u-blox has no device profile %s' % uid) from None
            raise
        return provisioning_view(body.get('DesiredProperties'))

    def desired_provisioning(self, rots):
        """{rot: desired provisioning_view} of bootstrapped devices, from /device/provisioning/get, 100 devices a call
        (read again to verify a write whose outcome is unknown)."""
        found = {}
        for chunk in rot_chunks(rots):
            for entry in self.call('/device/provisioning/get', {'ROTPublicUIDs': chunk}) or []:
                found[entry.get('ROTPublicUID')] = entry.get('DesiredProperties')
        return {rot: provisioning_view(found.get(rot)) for rot in rots}

    # writes --------------------------------------------------------------------------------
    # Each write names its operation and sends the vendor's body; ``verify_write`` re-reads when the outcome of a write is
    # unknown (a dropped connection), so a write is never blindly sent again.

    def create_tag(self, name):
        key = tag_key(name)
        self.call('/tag/create', {'TagName': name}, verify_write=lambda: self.tags().get(key))

    def delete_tag(self, name):
        key = tag_key(name)
        self.call('/tag/delete', {'TagName': name}, verify_write=lambda: {} if key not in self.tags() else None)

    def assign_tags(self, names, rots=(), profiles=()):
        """Assign every tag of ``names`` to the devices ``rots`` and the device profiles ``profiles``."""
        rots, profiles = sorted(rots), sorted(profiles)

        def assigned():
            for name in names:
                if rots and not set(rots) <= self.devices_with_tags([name]):
                    return None
                if profiles and not set(profiles) <= self.profiles_with_tags([name]):
                    return None
            return {}
        self.call('/tag/assign', _members_body(names, rots, profiles), verify_write=assigned)

    def remove_tag(self, name, rots=(), profiles=()):
        """Take tag ``name`` from the devices and profiles; ``ALL`` for either takes it from every member."""
        # /tag/remove ignores combinations that do not exist, so sending it again is harmless
        self.call('/tag/remove', _members_body([name], rots, profiles), verify_write=lambda: None)

    def create_root_ca(self, name, ca_validity, device_validity, renew_before=None):
        """Create a Root CA; returns its record as u-blox has it then (with its certificate)."""
        body = {'CAName': name, 'CACertificateValidity': ca_validity, 'DeviceCertificateValidity': device_validity}
        if renew_before is not None:
            body['RenewBeforeExpiration'] = renew_before
        self.call('/ztp/rootca/create', body, verify_write=lambda: self.root_ca(name))
        return self.root_ca(name)

    def set_renew_before(self, name, days):
        def applied():
            again = self.root_ca(name)
            return again if again and again.get('RenewBeforeExpiration') == days else None
        self.call('/ztp/rootca/update', {'CAName': name, 'RenewBeforeExpiration': days}, verify_write=applied)

    def generate_pop_certificate(self, name, code):
        """A Proof-of-Possession certificate (PEM, as u-blox sends it) with the registration code as common name."""
        body = self.call('/ztp/rootca/popcertificate/generate', {'CAName': name, 'RegistrationCode': code}, verify_write=lambda: None)
        return body['PoPCertificate']

    def delete_root_ca(self, name):
        """Delete a Root CA; u-blox's refusal (400) becomes an error that says what keeps the Root CA and what to do."""
        try:
            self.call('/ztp/rootca/delete', {'CAName': name}, verify_write=lambda: {'deleted': name} if self.root_ca(name) is None else None)
        except ApiError as exc:
            if exc.status == 400:
                raise IotopsError(
                    'u-blox refused to delete Root CA %s: %s. A Root CA linked to a device profile, or set in the current or '
                    'desired properties of a device, cannot be deleted: unlink it from the device profile in the Thingstream '
                    'portal, and move its devices to another Root CA (ublox_device_certificate action=transfer, then their '
                    'security heartbeat) or delete their certificates, then run again' % (name, exc.vendor_message), **exc.details) from None
            raise

    def renew_certificates(self, ca_name, validity, rots):
        body = {'CAName': ca_name, 'DeviceCertificateValidity': validity, 'ROTPublicUIDs': rots}
        self.call('/ztp/devicecertificate/renew', body, verify_write=self._pending(rots, 'RENEW', ca_name))

    def update_certificates(self, ca_name, rots):
        self.call('/ztp/devicecertificate/update', {'CAName': ca_name, 'ROTPublicUIDs': rots}, verify_write=self._pending(rots, 'UPDATE', ca_name))

    def delete_certificates(self, rots):
        self.call('/ztp/devicecertificate/delete', {'ROTPublicUIDs': rots}, verify_write=self._pending(rots, 'DELETE', None))

    def transfer_certificates(self, from_ca, to_ca, rots):
        body = {'FromCA': from_ca, 'ToCA': to_ca, 'ROTPublicUIDs': rots}
        self.call('/ztp/devicecertificate/rootca/transfer', body, verify_write=self._pending(rots, 'TRANSFER', to_ca))

    def revoke_certificate(self, ca_name, serial, rot=None):
        """Revoke the certificate ``serial`` of Root CA ``ca_name``, named by its device ``rot`` when given."""
        body = {'CAName': ca_name}
        if rot is None:
            body['SerialNumber'] = serial
        else:
            body['ROTPublicUID'] = rot

        def revoked():
            crl = self.crls([ca_name]).get(ca_name) or {}
            return {'revoked': serial} if serial in (crl.get('RevokedSerialNumbers') or []) else None
        self.call('/ztp/devicecertificate/revoke', body, verify_write=revoked)

    def _pending(self, rots, action, ca_name):
        """verify_write of a bulk certificate action: the action is pending (or done) on every device."""
        def verify():
            infos = self.device_info(rots, options=('ZTP',))
            for rot in rots:
                dummy, pending = certificate_view((infos.get(rot) or {}).get('ZTP'))
                if not (pending and pending.get('action') == action and (ca_name is None or pending.get('ca_name') == ca_name)):
                    return None
            return {'verified': len(rots)}
        return verify

    def whitelist_add(self, rots=(), imeis=()):
        self._whitelist_change('ADD', rots, imeis)

    def whitelist_remove(self, rots=(), imeis=()):
        self._whitelist_change('DELETE', rots, imeis)

    def _whitelist_change(self, action, rots, imeis):
        body = {'Action': action}
        if rots:
            body['ROTPublicUIDs'] = sorted(rots)
        if imeis:
            body['IMEIs'] = sorted(imeis)
        keys = set(('ROTPublicUID', rot) for rot in rots) | set(('IMEI', imei) for imei in imeis)
        self._whitelist_write(dict(json_body=body), *((keys, set()) if action == 'ADD' else (set(), keys)))

    def whitelist_upload(self, add=(), remove=()):
        """Add and remove ROTPublicUIDs with one upload of the CSV form of /device/whitelist/add (seed 002: Content-Type
        application/octet-stream, the header row ``Id,Type,Action``, then ``<rot>,ROTPublicUID,ADD|DELETE`` per device).
        The CSV's only Type is ROTPublicUID: IMEIs go by whitelist_add / whitelist_remove."""
        rows = [(rot, 'ADD') for rot in sorted(add)] + [(rot, 'DELETE') for rot in sorted(remove)]
        text = 'Id,Type,Action\n' + ''.join('%s,ROTPublicUID,%s\n' % row for row in rows)
        self._whitelist_write(dict(data=text.encode('ascii'), headers={'Content-Type': 'application/octet-stream'}),
                              set(('ROTPublicUID', rot) for rot in add), set(('ROTPublicUID', rot) for rot in remove))

    def _whitelist_write(self, request, present, gone):
        """POST /device/whitelist/add with ``request`` (its JSON body or its CSV file); when the outcome is unknown, the
        whitelist is read again: every ``(Type, Id)`` of ``present`` is on it and none of ``gone``."""
        def verify():
            found = self.whitelist_entries()
            return {'verified': len(present) + len(gone)} if present <= found and not gone & found else None
        self.http.request('POST', '/device/whitelist/add', expect=(200,), read_only=False, verify_write=verify, **request)

    def set_provisioning(self, rots, auths, heartbeat):
        """Desired features of bootstrapped devices, applied at their next security heartbeat."""
        body = {'ROTPublicUIDs': rots, 'Provisioning': provisioning_body(auths, heartbeat)}
        self.call('/device/provisioning/set', body,
                  verify_write=lambda: _verified(rots, [not features_differ(v, auths, heartbeat) for v in self.desired_provisioning(rots).values()]))

    def delete_provisioning(self, rots):
        self.call('/device/provisioning/delete', {'ROTPublicUIDs': rots},
                  verify_write=lambda: _verified(rots, [not features_wanted(v) for v in self.desired_provisioning(rots).values()]))

    def set_bootstrap_provisioning(self, uid, auths, heartbeat):
        """The features a device of profile ``uid`` gets when it bootstraps."""
        body = {'DeviceProfileUID': uid, 'Provisioning': provisioning_body(auths, heartbeat)}
        self.call('/deviceprofile/bootstrapprovisioning/set', body,
                  verify_write=lambda: _verified(uid, [not features_differ(self.bootstrap_provisioning(uid), auths, heartbeat)]))

    def delete_bootstrap_provisioning(self, uid):
        self.call('/deviceprofile/bootstrapprovisioning/delete', {'DeviceProfileUID': uid},
                  verify_write=lambda: _verified(uid, [not features_wanted(self.bootstrap_provisioning(uid))]))


ALL = ('*',)


def _members_body(names, rots, profiles):
    body = {'TagNames': list(names)}
    if rots:
        body['ROTPublicUIDs'] = list(rots)
    if profiles:
        body['DeviceProfileUIDs'] = list(profiles)
    return body


def _verified(what, checks):
    """verify_write's answer: the write took effect when every check holds."""
    return {'verified': len(what) if isinstance(what, list) else what} if all(checks) else None


FAILED_OUTCOME = ('item', 'changed', 'failed', 'msg', 'error')


def item_outcome(result):
    """One outcome as ublox_tag and ublox_rootca report it: what was done in the module's own fields (not the skeleton's
    action word); a failed item says why, not what had been planned for it."""
    if result.get('failed'):
        return dict((key, result[key]) for key in FAILED_OUTCOME if key in result)
    result.pop('action', None)
    return result


def status_outcomes(results, acted_word):
    """Outcomes as ublox_device_provisioning and ublox_e2e_key_rotation report them: what was done in ``status`` (not the
    skeleton's action word; ``failed`` for a failed device). Returns the devices whose status is ``acted_word`` (``acted_on``)."""
    acted = []
    for result in results:
        result.pop('action', None)
        result['status'] = 'failed' if result.get('failed') else result['status']
        acted.extend([result['item']] if result['status'] == acted_word else [])
    return acted


def ublox_client(module, register_runtime_secrets=True, concurrency=1):
    """Validate the u-blox options of ``module`` and return a client; no request is sent yet."""
    params = module.params
    validate_url(params['api_url'], 'api_url')
    validate_connection(params)
    auth = UbloxTokenAuth(api_key=params.get('api_key'), api_secret=params.get('api_secret'), auth_token=params.get('auth_token'))
    auth.validate()
    redactor = new_redactor(module, register_runtime_secrets)
    http = http_client(module, VENDOR, params['api_url'], auth, parse_error, redactor, concurrency)
    return UbloxClient(http, auth, concurrency)
