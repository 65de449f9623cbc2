"""Simulated nRF91 devices of the Provisioning Service.

A claimed device "connects" ``connect_delay`` seconds after it gets pending commands or after its
modem comes online (``Modem.online_at``, set by ``POST /_mock/online``), whichever is later, then
runs them in order, ``command_delay`` seconds each. Nothing runs in the background: a device is
moved forward on the mock clock (``advance``) whenever it or its commands are read or written.
Statuses are seed 003's: READY, PROVISIONING, AWAITING, PROVISIONED, ERROR, BLOCKED.
"""

import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ...common import BadRequest, is_number, utc_iso
from . import commands
from .attestation import keygen_output

DEFAULTS = {'connect_delay': 0.5, 'command_delay': 0.1, 'bulk_delay': 0.2, 'csr_field': 'csr'}
DONE = ('SUCCEEDED', 'FAILED')
WAITING = ('PENDING', 'IN_PROGRESS')


class Settings:
    """Simulator timings; ``defaults`` can be changed by the CLI, ``reset`` restores them."""

    def __init__(self):
        self.defaults = dict(DEFAULTS)
        self.values = dict(DEFAULTS)

    def __getattr__(self, name):
        try:
            return self.__dict__['values'][name]
        except KeyError:
            raise AttributeError(name) from None

    def reset(self):
        self.values = dict(self.defaults)

    def update(self, payload, defaults=False):
        unknown = sorted(set(payload) - set(DEFAULTS))
        if unknown:
            raise BadRequest('unknown simulator settings: %s' % ', '.join(unknown))
        for name, value in payload.items():
            if name == 'csr_field':
                if value not in ('csr', 'message'):
                    raise BadRequest('csr_field must be "csr" or "message"')
            elif not is_number(value) or not 0 <= value <= 3600:
                raise BadRequest('%s must be a number of seconds from 0 to 3600' % name)
        self.values.update(payload)
        if defaults:
            self.defaults.update(payload)
        return dict(self.values)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class Modem:
    """The physical device: identity plus what its modem holds per security tag (kept across claims)."""

    def __init__(self, device_id, uuid_bytes, imei, device_type, firmware_id):
        self.device_id = device_id
        self.uuid = bytes(uuid_bytes)
        self.imei = imei
        self.device_type = device_type
        self.firmware_id = firmware_id
        self.keys = {}
        self.certificates = {}
        self.psk_identities = {}
        self.config = {}
        self.failures = {}         # kind -> message of an injected failure (the next command of that kind fails)
        self.online_at = 0.0       # mock-clock time from which it can connect: 0 = from the start, None = never or not yet

    def dump(self):
        return {
            'onlineAt': self.online_at,
            'keys': {str(tag): public_pem(key) for tag, key in sorted(self.keys.items())},
            'certificates': {str(tag): dict(certs) for tag, certs in sorted(self.certificates.items())},
            'pskIdentities': {str(tag): identity for tag, identity in sorted(self.psk_identities.items())},
            'config': dict(self.config),
        }


class ClaimedDevice:
    """A device claimed by one team: its record, its command history and the simulator's cursor."""

    def __init__(self, modem, owner_id, tags, claimed_at, seed_status=None):
        self.modem = modem
        self.owner_id = owner_id
        self.tags = list(tags)
        self.claimed_at = claimed_at
        self.commands = []
        self.blocked = seed_status == 'BLOCKED'
        self.error = seed_status == 'ERROR'
        self.seed_status = seed_status
        self.connected_at = None   # start of the current session (None: not connected)
        self.cursor = None         # when the next pending command starts (None: not connected)
        self.waiting = None        # (since, connect delay) while pending commands wait for the device to connect
        self.running = None        # the command being executed
        # command id -> (key, CSR DER) made when a CSR command was appended: the key pair and CSR are the device's own work,
        # made on the device in the real world, and made here at the append so that the status read that runs a batch's
        # commands does not hold the mock's event loop for it (which would bunch the arrivals its rate limit judges)
        self.prepared = {}

    @property
    def id(self):
        return self.modem.device_id

    # status -------------------------------------------------------------------------------------

    def status(self, now):
        if self.blocked:
            return 'BLOCKED'
        if self.error:
            return 'ERROR'
        if self.connected_at is not None and self.pending():
            return 'PROVISIONING'
        done = [c for c in self.commands if c['status'] == 'SUCCEEDED']
        if not done:
            return self.seed_status or 'READY'
        last = max(done, key=lambda c: (c['_done'], c['_seq']))
        return 'PROVISIONED' if commands.kind_of(last) == 'finished' else 'AWAITING'

    def record(self, now):
        record = {
            'id': self.id,
            'deviceType': self.modem.device_type,
            'firmwareId': self.modem.firmware_id,
            'imei': self.modem.imei,
            'ownerId': self.owner_id,
            'ownershipStatus': 'IDENTIFIED',
            'tags': list(self.tags),
            'status': self.status(now),
            'claimedAt': utc_iso(self.claimed_at),
        }
        return {key: value for key, value in record.items() if value is not None}

    def dump(self, now):
        result = self.record(now)
        result['commands'] = [public_command(command) for command in self.commands]
        result.update(self.modem.dump())
        return result

    # commands -----------------------------------------------------------------------------------

    def pending(self):
        return [c for c in self.commands if c['status'] in WAITING]

    def add_command(self, body, now, settings):
        """Append a validated command; an idle device starts waiting to connect."""
        self.advance(now, settings)
        idle = not self.pending()
        command = {
            'id': str(uuid.uuid4()),
            'request': body['request'],
            'status': 'PENDING',
            'createdAt': utc_iso(now),
            'updatedAt': utc_iso(now),
            '_seq': len(self.commands),
            '_done': None,
        }
        if 'description' in body:
            command['description'] = body['description']
        if commands.kind_of(command) == 'certificateSigningRequest':
            try:
                self.prepared[command['id']] = self.make_csr(command['request']['certificateSigningRequest'])
            except (DeviceError, ValueError, KeyError):
                pass  # made when the command runs, which fails it the way the device would
        self.commands.append(command)
        if idle and not self.blocked and not self.error:
            self.wait_to_connect(now, settings)
        return command

    def block(self, now, settings):
        self.advance(now, settings)
        self.blocked = True
        for command in self.commands:
            if command['status'] == 'IN_PROGRESS':
                command['status'] = 'PENDING'
                command['updatedAt'] = utc_iso(now)
        self.connected_at = self.cursor = self.waiting = None

    def unblock(self, now, settings):
        if not self.blocked:
            return
        self.blocked = False
        if self.seed_status == 'BLOCKED':
            self.seed_status = None
        if self.pending() and not self.error:
            self.wait_to_connect(now, settings)

    def wait_to_connect(self, now, settings):
        """From ``now`` the device has commands to fetch; the delay is taken now, so a later settings change does not move it."""
        self.connected_at = self.cursor = None
        self.waiting = (now, settings.connect_delay)

    def connect(self, now, settings):
        """Open a session if the device has connected by ``now``: ``connect_delay`` after it started waiting or after its
        modem came online, whichever is later. False while it has not (a modem that is never online never connects)."""
        if self.waiting is None:
            self.wait_to_connect(now, settings)
        since, delay = self.waiting
        online = self.modem.online_at
        if online is None or now < max(since, online) + delay:
            return False
        self.connected_at = self.cursor = max(since, online) + delay
        self.waiting = None
        return True

    def advance(self, now, settings, on_cloud_key=None):
        """Run what the device would have run by ``now``."""
        while not self.blocked and not self.error:
            waiting = self.pending()
            if not waiting:
                self.connected_at = self.cursor = self.waiting = None
                return
            if self.cursor is None and not self.connect(now, settings):
                return
            if now < self.cursor:
                return
            command, start = waiting[0], self.cursor
            if command['status'] == 'PENDING':
                command['status'] = 'IN_PROGRESS'
                command['updatedAt'] = utc_iso(start)
            end = start + settings.command_delay
            if now < end:
                return
            self.execute(command, end, settings, on_cloud_key)
            self.cursor = end

    def execute(self, command, at, settings, on_cloud_key):
        kind = commands.kind_of(command)
        self.running = command
        try:
            if kind in self.modem.failures:
                raise DeviceError(self.modem.failures.pop(kind))
            response = getattr(self, 'run_' + kind)(command['request'][kind], settings, on_cloud_key)
        except DeviceError as exc:
            command['status'] = 'FAILED'
            command['response'] = {'message': str(exc)}
            self.error = True
        else:
            command['status'] = 'SUCCEEDED'
            command['response'] = response
        command['updatedAt'] = utc_iso(at)
        command['_done'] = at

    # what the modem does for each kind ---------------------------------------------------------------

    def new_key(self, sec_tag):
        key = ec.generate_private_key(ec.SECP256R1())
        self.modem.keys[sec_tag] = key
        return key

    def run_clientPrivateKeyGeneration(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        return {'clientPrivateKeyGeneration': {'publicKey': public_pem(self.new_key(params['secTag']))}}

    def run_cloudAccessKeyGeneration(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        key = self.new_key(params['secTag'])
        if on_cloud_key is not None:
            on_cloud_key(self, key.public_key())
        return {'cloudAccessKeyGeneration': {'publicKey': public_pem(key)}}

    def run_certificateSigningRequest(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        key, der = self.prepared.pop(self.running['id'], None) or self.make_csr(params)
        self.modem.keys[params['secTag']] = key  # the key at the tag is replaced when the command runs, not before
        return {'certificateSigningRequest': {settings.csr_field: keygen_output(der, self.modem.uuid, params['secTag'])}}

    def make_csr(self, params):
        """(key, CSR DER) of a certificateSigningRequest command's parameters."""
        attributes = commands.parse_attributes(params.get('attributes', ''))
        if not any(attribute.oid == commands.NameOID.COMMON_NAME for attribute in attributes):
            attributes.insert(0, x509.NameAttribute(commands.NameOID.COMMON_NAME, self.id))
        try:
            usage = commands.key_usage(params.get('keyUsage', commands.DEFAULT_KEY_USAGE))
        except ValueError as exc:
            raise DeviceError(str(exc)) from exc
        key = ec.generate_private_key(ec.SECP256R1())
        builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
        if usage is not None:
            builder = builder.add_extension(usage, critical=False)
        return key, builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def run_serverCertificate(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        self.modem.certificates.setdefault(params['secTag'], {})['serverCertificate'] = params['content']
        return {'serverCertificate': {}}

    def run_clientCertificate(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        tag = params['secTag']
        certificate = commands.load_certificates(params['content'])[0]
        key = self.modem.keys.get(tag)
        if key is not None and _spki(certificate.public_key()) != _spki(key.public_key()):
            raise DeviceError('certificate does not match the key at secTag %d' % tag)
        self.modem.certificates.setdefault(tag, {})['clientCertificate'] = params['content']
        return {'clientCertificate': {}}

    def run_clientPrivateKey(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        self.modem.keys[params['secTag']] = commands.load_private_key(params['content'], params['password'])
        return {'clientPrivateKey': {}}

    def run_preSharedKey(self, params, settings, on_cloud_key):  # pylint: disable=invalid-name
        self.modem.psk_identities[params['secTag']] = params['identity']
        return {'preSharedKey': {}}

    def run_config(self, params, settings, on_cloud_key):
        self.modem.config.update(params)
        return {'config': {}}

    def run_finished(self, params, settings, on_cloud_key):
        earlier = self.commands[:self.running['_seq']]
        if any(c['status'] != 'SUCCEEDED' for c in earlier):
            raise DeviceError('not every earlier provisioning command succeeded')
        return {'finished': {}}


class DeviceError(Exception):
    """A command the device answers with an error (the command FAILS, the device goes to ERROR)."""


def public_command(command):
    """The command as the API shows it: internal fields dropped, secrets omitted."""
    result = {key: value for key, value in command.items() if not key.startswith('_')}
    result['request'] = commands.public_request(command['request'])
    return result
