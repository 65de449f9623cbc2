# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud provisioning commands: option spec, validation, request bodies and identity.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Commands are append-only history. A desired command is "present" when the device's history
holds one with the same kind, the same request (write-only secrets aside) and the same
description; otherwise it is appended. Rules are from the provisioning configuration document
(seed 003) and Nordic's own tooling.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import check_encrypted_private_key, csr_from_device, csr_pem, load_certificate

KINDS = ('clientPrivateKeyGeneration', 'certificateSigningRequest', 'serverCertificate', 'clientCertificate',
         'clientPrivateKey', 'preSharedKey', 'config', 'finished')
CLOUD_ACCESS_KEY = 'cloudAccessKeyGeneration'
MAX_COMMANDS = 20  # "You can add up to 20 commands for a single claimed device."
DEFAULT_SEC_TAG = 16842753  # nRF Cloud's own security tag
SEC_TAG_MAX = 2147483647  # modem security tags are non-negative 32-bit integers
DEFAULT_KEY_USAGE = '101010000'  # Nordic's tools' default %KEYGEN key usage
# fields the service never returns, so they cannot take part in the comparison
WRITE_ONLY = {'clientPrivateKey': ('content', 'password'), 'preSharedKey': ('secret',)}
# which options each kind takes (besides kind and description)
KIND_OPTIONS = {
    'clientPrivateKeyGeneration': ('sec_tag',),
    'certificateSigningRequest': ('sec_tag', 'attributes', 'key_usage'),
    'serverCertificate': ('sec_tag', 'content'),
    'clientCertificate': ('sec_tag', 'content'),
    'clientPrivateKey': ('sec_tag', 'content', 'password'),
    'preSharedKey': ('sec_tag', 'identity', 'secret'),
    'config': ('config',),
    'finished': (),
    # only in provisioning rules (auto-onboarding: the device's JWT key registered in nRF Cloud); not one of KINDS
    CLOUD_ACCESS_KEY: ('sec_tag',),
}

# the options a command may take besides kind and description, with their types; KIND_OPTIONS says which kind takes which
OPTION_TYPES = (('sec_tag', 'int'), ('attributes', 'str'), ('key_usage', 'str'), ('content', 'str'), ('password', 'str'),
                ('identity', 'str'), ('secret', 'str'), ('config', 'dict'))
NO_LOG_OPTIONS = ('password', 'secret')


def option_specs(option_types, no_log=()):
    """The argument spec entries of ``(name, type)`` pairs, in order; the names in ``no_log`` are secrets."""
    return dict((name, dict(type=kind, no_log=True) if name in no_log else dict(type=kind)) for name, kind in option_types)


COMMAND_SPEC = dict(kind=dict(type='str', required=True, choices=list(KINDS)), description=dict(type='str'),
                    **option_specs(OPTION_TYPES, NO_LOG_OPTIONS))

_HEX = re.compile(r'^[0-9A-Fa-f]+$')
_KEY_USAGE = re.compile(r'^[01]{9}$')


def validate_commands(commands, option='commands', least=0):
    """Check a command list before any write: per-kind options and values, ``finished`` last, at most MAX_COMMANDS (with
    ``least``, a provisioning rule's: ``least`` to MAX_COMMANDS, checked first)."""
    if least and not least <= len(commands) <= MAX_COMMANDS:
        raise ConfigError('%s must list %d to %d commands (nRF Cloud allows at most %d per device), got %d'
                          % (option, least, MAX_COMMANDS, MAX_COMMANDS, len(commands)))
    for index, cmd in enumerate(commands):
        where = '%s[%d] (%s)' % (option, index, cmd['kind'])
        validate_command(cmd, where)
        if cmd['kind'] == 'finished' and index != len(commands) - 1:
            raise ConfigError('%s: finished must be the last command; the device ends provisioning when it runs it' % where)
    if len(commands) > MAX_COMMANDS:
        raise ConfigError('%s: %d commands given; nRF Cloud allows at most %d per device' % (option, len(commands), MAX_COMMANDS))


def validate_command(cmd, where):
    kind = cmd['kind']
    allowed = KIND_OPTIONS[kind]
    for name, _type in OPTION_TYPES:
        if cmd.get(name) is not None and name not in allowed:
            raise ConfigError('%s: %s does not apply to a %s command (it takes: %s)' % (where, name, kind, ', '.join(allowed) or 'no option'))
    if 'sec_tag' in allowed:
        sec_tag = cmd.get('sec_tag')
        if sec_tag is not None and not 0 <= sec_tag <= SEC_TAG_MAX:
            raise ConfigError('%s: sec_tag %s is out of range; modem security tags are integers from 0 to %d' % (where, sec_tag, SEC_TAG_MAX))
    if kind == 'certificateSigningRequest':
        key_usage = cmd.get('key_usage')
        if key_usage is not None and not _KEY_USAGE.match(key_usage):
            raise ConfigError('%s: key_usage %r must be a string of 9 bits (0 or 1), e.g. %s, as %%KEYGEN takes it'
                              % (where, key_usage, DEFAULT_KEY_USAGE))
        for part in split_attributes(cmd.get('attributes') or '', where):
            if part[0].upper() == 'CN':
                raise ConfigError('%s: attributes must not set CN; the module sets CN to the device id, as Nordic\'s tools do' % where)
    if kind in ('serverCertificate', 'clientCertificate'):
        if not cmd.get('content'):
            raise ConfigError('%s: content (the PEM certificate) is required' % where)
        load_certificate(cmd['content'], '%s: content' % where)
    if kind == 'clientPrivateKey':
        check_encrypted_private_key(cmd.get('content'), cmd.get('password'), '%s: content' % where)
    if kind == 'preSharedKey':
        if not cmd.get('identity'):
            raise ConfigError('%s: identity (the PSK identity) is required' % where)
        if not cmd.get('secret') or not _HEX.match(cmd['secret']):
            raise ConfigError('%s: secret is required and must be hexadecimal digits' % where)
    if kind == 'config':
        if not cmd.get('config'):
            raise ConfigError('%s: config (a dictionary of settings for the provisioning client) is required' % where)


def split_attributes(attributes, where='attributes'):
    """``"O=Nordic,L=Trondheim"`` -> [("O", "Nordic"), ("L", "Trondheim")]."""
    parts = []
    for piece in [p.strip() for p in attributes.split(',') if p.strip()]:
        if '=' not in piece:
            raise ConfigError('%s: attributes must be comma-separated KEY=value pairs, got %r' % (where, piece))
        key, value = piece.split('=', 1)
        parts.append((key.strip(), value.strip()))
    return parts


def build_request(cmd, device_id):
    """The ``request`` body of a command for one device: the CSR's CN is the device id. With ``device_id`` None, the request
    of a provisioning rule, which serves many devices: its CSR carries no CN."""
    kind = cmd['kind']
    sec_tag = cmd.get('sec_tag') if cmd.get('sec_tag') is not None else DEFAULT_SEC_TAG
    if kind in ('clientPrivateKeyGeneration', CLOUD_ACCESS_KEY):
        body = {'secTag': sec_tag}
    elif kind == 'certificateSigningRequest':
        common_name = ['CN=%s' % device_id] if device_id is not None else []
        attributes = ','.join(common_name + ['%s=%s' % kv for kv in split_attributes(cmd.get('attributes') or '')])
        body = {'secTag': sec_tag, 'attributes': attributes, 'keyUsage': cmd.get('key_usage') or DEFAULT_KEY_USAGE}
    elif kind in ('serverCertificate', 'clientCertificate'):
        body = {'secTag': sec_tag, 'content': cmd['content']}
    elif kind == 'clientPrivateKey':
        body = {'secTag': sec_tag, 'content': cmd['content'], 'password': cmd['password']}
    elif kind == 'preSharedKey':
        body = {'secTag': sec_tag, 'identity': cmd['identity'], 'secret': cmd['secret']}
    elif kind == 'config':
        body = dict((str(k), str(v)) for k, v in cmd['config'].items())
    else:
        body = {}
    return {kind: body}


def command_kind(request):
    """The kind of a command from its request body (the one key)."""
    if isinstance(request, dict) and len(request) == 1:
        return next(iter(request))
    return None


def public_request(request):
    """The request without its write-only secrets: what may be shown and compared."""
    kind = command_kind(request)
    body = dict(request.get(kind) or {}) if kind else {}
    for field in WRITE_ONLY.get(kind, ()):
        body.pop(field, None)
    return {kind: body} if kind else {}


def _norm_text(value):
    """Certificates compare by content, not by line endings or trailing blanks."""
    return value.replace('\r\n', '\n').strip() if isinstance(value, str) else value


def identity(request, description):
    """What makes two commands the same: kind, public request and description."""
    public = public_request(request)
    kind = command_kind(public)
    body = dict((k, _norm_text(v)) for k, v in (public.get(kind) or {}).items())
    return json.dumps([kind, body, description or ''], sort_keys=True)


def plan_commands(desired, existing):
    """The desired commands (built requests with descriptions) that the history lacks, in order.

    Each history entry matches at most one desired command. ``finished`` is appended when
    anything else is appended after the last finished, so that it stays last.
    """
    pool = {}
    for cmd in existing:
        key = identity(cmd.get('request') or {}, cmd.get('description'))
        pool[key] = pool.get(key, 0) + 1
    missing = []
    for request, description in desired:
        key = identity(request, description)
        if pool.get(key):
            pool[key] -= 1
        else:
            missing.append((request, description))
    wants_finished = any(command_kind(r) == 'finished' for r, _d in desired)
    if wants_finished and missing and command_kind(missing[-1][0]) != 'finished':
        missing.append(next((r, d) for r, d in desired if command_kind(r) == 'finished'))
    return missing


def count_identical(history, request, description):
    """How many commands of the history equal this one (the baseline for re-reading after an unknown outcome)."""
    key = identity(request, description)
    return sum(1 for c in history if identity(c.get('request') or {}, c.get('description')) == key)


def csr_response(command):
    """(value, field) of a CSR command's response: ``csr``, or ``message`` as the API has also used."""
    response = (command.get('response') or {}).get('certificateSigningRequest') or {}
    if response.get('csr'):
        return response['csr'], 'csr'
    return response.get('message'), 'message'


def latest_succeeded(history, kind):
    """The newest command of ``kind`` that the device ran successfully, or None."""
    for command in reversed(history):
        if command_kind(command.get('request') or {}) == kind and command.get('status') == 'SUCCEEDED':
            return command
    return None


def latest_csr(history):
    command = latest_succeeded(history, 'certificateSigningRequest')
    if command is None:
        return None
    value, field = csr_response(command)
    try:
        return dict(pem=csr_pem(csr_from_device(value)), field=field)
    except IotopsError:
        return None


PENDING_COMMAND_STATUSES = ('PENDING', 'IN_PROGRESS')


def pending_commands(history):
    """The commands the device has not run yet."""
    return [c for c in history if c.get('status') in PENDING_COMMAND_STATUSES]


def pending_client_certificate(history):
    return any(command_kind(c.get('request') or {}) == 'clientCertificate' for c in pending_commands(history))


def command_message(command):
    """What the device answered to a command that did not succeed, in its own words (``modem error -8 ...``)."""
    response = command.get('response')
    if isinstance(response, dict):
        message = response.get('message') or response.get('error') or response.get('description')
        if message:
            return str(message)
        if response:
            return json.dumps(response, sort_keys=True)[:300]
    if isinstance(response, str) and response:
        return response[:300]
    return 'status %s, no message from the device' % command.get('status')


def latest_client_certificate(history):
    """The PEM of the newest succeeded clientCertificate command (certificates are public; the service echoes them)."""
    command = latest_succeeded(history, 'clientCertificate')
    return command['request']['clientCertificate'].get('content') if command else None


def command_view(command, with_request=True):
    """A command for results: never its secrets. Without ``with_request`` (a batch result that must stay small) it leaves
    out the request body (certificates) and the response of a command that succeeded (the CSR is reported apart)."""
    request = public_request(command.get('request') or {})
    view = dict(id=command.get('id'), kind=command_kind(request), description=command.get('description'), status=command.get('status'))
    for key, field in (('createdAt', 'created_at'), ('updatedAt', 'updated_at')):
        if command.get(key):  # nRF Cloud's history may carry them; since when a device is stuck counts from them
            view[field] = command[key]
    if with_request or command.get('status') != 'SUCCEEDED':
        view['response'] = command.get('response')
    if with_request:
        view['request'] = request
    return view


# --- attestation tokens -----------------------------------------------------------------------

def device_id_from_claim_token(token):
    """The device UUID inside an nRF91 attestation token (CBOR body element 1), as 8-4-4-4-12 hex."""
    try:
        body = token.split('.')[0]
        data = base64.urlsafe_b64decode(body + '=' * (-len(body) % 4))
        uuid = _cbor_array_item(data, 1)
    except (ValueError, IndexError, binascii.Error, AttributeError):
        uuid = None
    if not isinstance(uuid, bytes) or len(uuid) != 16:
        raise ConfigError('claim_token is not an nRF91 attestation token (base64url CBOR body with the device UUID, '
                          'as AT%ATTESTTOKEN prints it); give device_id as well, or check the token')
    text = uuid.hex()
    return '%s-%s-%s-%s-%s' % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


def _cbor_head(data, pos):
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None:
        raise ValueError('indefinite or reserved CBOR length')
    return major, int.from_bytes(data[pos:pos + size], 'big'), pos + size


def _cbor_skip(data, pos):
    major, value, pos = _cbor_head(data, pos)
    if major in (2, 3):
        return pos + value
    if major == 4:
        for _i in range(value):
            pos = _cbor_skip(data, pos)
    elif major == 5:
        for _i in range(2 * value):
            pos = _cbor_skip(data, pos)
    elif major == 6:
        pos = _cbor_skip(data, pos)
    return pos


def _cbor_array_item(data, index):
    """Item ``index`` of the CBOR array at the start of ``data`` when it is a byte string; minimal by design."""
    major, count, pos = _cbor_head(data, 0)
    if major != 4 or index >= count:
        raise ValueError('not a CBOR array')
    for _i in range(index):
        pos = _cbor_skip(data, pos)
    major, length, pos = _cbor_head(data, pos)
    if major != 2:
        raise ValueError('not a byte string')
    return bytes(data[pos:pos + length])
