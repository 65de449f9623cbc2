# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and checking a production batch manifest (CSV or YAML): shared by manifest_info (its action and its module) and the
fleet inventory plugin.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The rules are documented in manifest_info's DOCUMENTATION; they are the rules the vendor modules apply later.
"""

from __future__ import annotations

import csv
import io
import os
import re

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import device_id_from_claim_token

COLUMNS = ('serial', 'nrfcloud_claim_token', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'iotcomms_mac',
           'naocloud_mac', 'naocloud_name')
SERIAL_MAX = 64
SERIAL_RULE = 'a serial is at most %d printable characters (it labels the device in reports)' % SERIAL_MAX
NAME_MAX = 255
# The MAC forms iotcomms_device and naocloud_trackable take (one separator throughout), and the form they send.
MAC = re.compile(r'^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$')
MAC_RULE = ('must be a MAC address: six pairs of hexadecimal digits separated by colons or by dashes, in any case '
            '(AA:BB:CC:DD:EE:FF or aa-bb-cc-dd-ee-ff), as iotcomms_device and naocloud_trackable take it')
ROT_UID = re.compile(r'^[0-9A-Fa-f]{16}$')
IMEI = re.compile(r'^[0-9]{15}$')
SIP_USER = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$')
# The identities that name one device: a value may be in one row only, in any of the columns of its group.
# nrfcloud_device_id is read from the claim token, so two different tokens of one device are found too.
IDENTITIES = (('serial',), ('nrfcloud_device_id',), ('ublox_rot_public_uid',), ('ublox_imei',), ('iotcomms_device_id',),
              ('iotcomms_mac', 'naocloud_mac'))
# A column that is only meaningful with another one of the same row.
NEEDS = (('iotcomms_mac', 'iotcomms_device_id'), ('naocloud_name', 'naocloud_mac'))


def load_rows(path, fmt):
    """(header, rows, number of the first row): CSV rows are numbered by their line, YAML ones by their place in the list."""
    try:
        with open(path, 'r', encoding='utf-8-sig') as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError('path: cannot read the manifest %s (%s)' % (path, exc.strerror)) from None
    fmt = fmt or ('csv' if path.lower().endswith('.csv') else 'yaml' if os.path.splitext(path)[1].lower() in ('.yml', '.yaml', '.json')
                  else None)
    if fmt is None:
        raise ConfigError('path: cannot tell the manifest format from %s; set format to csv or yaml' % os.path.basename(path))
    if fmt == 'csv':
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        rows = [dict((k.strip(), v) for k, v in row.items() if k is not None) for row in reader]
        return header, rows, 2
    try:
        data = yaml_load(text)
    except Exception as exc:  # pylint: disable=broad-except
        raise ConfigError('path: the manifest is not valid YAML (%s)' % str(exc).splitlines()[0]) from None
    if isinstance(data, dict):
        data = data.get('devices')
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ConfigError('path: a YAML manifest must be a list of mappings, or a mapping with a devices list')
    return sorted(set(k for r in data for k in r)), data, 1


def luhn_check_digit(digits):
    """The Luhn check digit of a string of digits (the 15th digit of an IMEI is the one of its first 14)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (1 if index % 2 else 2)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def check_serial(value):
    if len(value) > SERIAL_MAX:
        return value, 'has %d characters; %s' % (len(value), SERIAL_RULE)
    if not value.isprintable():
        return value, 'contains a control character; %s' % SERIAL_RULE
    return value, None


def check_rot_uid(value):
    if not ROT_UID.match(value):
        return value, 'must be 16 hexadecimal digits (the 8-byte root-of-trust UID)'
    return value.lower(), None


def check_imei(value):
    if not IMEI.match(value):
        return value, 'must be 15 digits'
    expected = luhn_check_digit(value[:14])
    if int(value[14]) != expected:
        return value, 'is not an IMEI: the 15th digit is the Luhn check digit of the first 14; expected %d' % expected
    return value, None


def check_sip_user(value):
    if not SIP_USER.match(value):
        return value, ('must be 1 to 64 letters, digits or . _ ~ + -, starting with a letter or digit (the user part of the SIP '
                       'address, as iotcomms_device takes it)')
    return value, None


def check_mac(value):
    if not MAC.match(value):
        return value, MAC_RULE
    return value.replace('-', ':').upper(), None


def check_name(value):
    if len(value) > NAME_MAX:
        return value, 'has %d characters; NAO Cloud takes at most %d' % (len(value), NAME_MAX)
    return value, None


# column -> check(value) returning (the value as the vendor module sends it, the rule it breaks or None)
CHECKS = (
    ('serial', check_serial),
    ('ublox_rot_public_uid', check_rot_uid),
    ('ublox_imei', check_imei),
    ('iotcomms_device_id', check_sip_user),
    ('iotcomms_mac', check_mac),
    ('naocloud_mac', check_mac),
    ('naocloud_name', check_name),
)


def check_row(number, row, header):
    """(device, problems) of one row: the cells normalised as the vendor modules send them, and each broken rule."""
    problems = []
    device = dict((k, str(v).strip()) for k, v in row.items() if k in COLUMNS and v is not None and str(v).strip())
    given = set(device)
    if 'serial' not in device and 'serial' in header:
        problems.append('row %d: serial is empty' % number)
    for column, rule in CHECKS:
        if column in device:
            value, problem = rule(device[column])
            if problem:
                problems.append('row %d: %s %r %s%s' % (number, column, device[column], problem, yaml_hint(row[column])))
                del device[column]  # a bad value takes no part in the duplicate checks
            else:
                device[column] = value
    if 'nrfcloud_claim_token' in device:
        try:
            device['nrfcloud_device_id'] = device_id_from_claim_token(device['nrfcloud_claim_token'])
        except ConfigError as exc:
            problems.append('row %d: nrfcloud_%s' % (number, exc.msg))
    for column, needed in NEEDS:
        if column in given and needed not in given:
            problems.append('row %d: %s is given without %s; it belongs to that identity and is sent only with it' % (number, column, needed))
    return device, problems


def yaml_hint(raw):
    """Why a YAML cell that is not a string was misread (unquoted, 10:11:22:33:44:55 is a YAML 1.1 base-60 number)."""
    return '' if isinstance(raw, str) else ' (quote it in a YAML manifest: unquoted, it was not read as text)'


def duplicate(number, column, device, first_row, first_column, first_device):
    """The problem of an identity of row ``number`` that row ``first_row`` already has."""
    if column == 'nrfcloud_device_id':
        if device['nrfcloud_claim_token'] == first_device['nrfcloud_claim_token']:
            return 'row %d: nrfcloud_claim_token duplicates row %d' % (number, first_row)
        return ('row %d: nrfcloud_claim_token is a token of nRF Cloud device %s, like the token of row %d (two tokens of one device)'
                % (number, device[column], first_row))
    if column == first_column:
        return 'row %d: %s %r duplicates row %d' % (number, column, device[column], first_row)
    return 'row %d: %s %r duplicates the %s of row %d (a MAC address belongs to one device)' % (
        number, column, device[column], first_column, first_row)


def check(header, rows, first=2):
    """The devices of the manifest, or ConfigError listing every problem (``problems`` holds them one by one)."""
    problems = []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append('unknown column(s) %s; the manifest columns are %s' % (', '.join(unknown), ', '.join(COLUMNS)))
    if 'serial' not in header:
        problems.append('the serial column is missing; every device needs a serial (its label in reports)')
    if not rows:
        problems.append('the manifest has no device rows')
    seen = dict((group, {}) for group in IDENTITIES)
    devices = []
    for number, row in enumerate(rows, start=first):
        device, found = check_row(number, row, header)
        problems.extend(found)
        for group in IDENTITIES:
            for column in group:
                value = device.get(column)
                if value is None:
                    continue
                earlier = seen[group].get(value)
                if earlier is None:
                    seen[group][value] = (number, column, device)
                elif earlier[0] != number:
                    problems.append(duplicate(number, column, device, *earlier))
        devices.append(device)
    if problems:
        shown = problems[:30]
        raise ConfigError('the manifest has %d problem(s), nothing was sent: %s%s'
                          % (len(problems), '; '.join(shown), '; ...' if len(problems) > len(shown) else ''), problems=problems)
    return devices


def split(devices):
    """Per vendor, items shaped exactly as the vendor's module takes them; serials are kept apart for reports."""
    def pick(device, *pairs):
        return dict((key, device[column]) for key, column in pairs if column in device)
    nrf = [pick(d, ('claim_token', 'nrfcloud_claim_token')) for d in devices if 'nrfcloud_claim_token' in d]
    ublox = [pick(d, ('rot_public_uid', 'ublox_rot_public_uid'), ('imei', 'ublox_imei'))
             for d in devices if 'ublox_rot_public_uid' in d or 'ublox_imei' in d]
    iotcomms = [pick(d, ('device_id', 'iotcomms_device_id'), ('mac_address', 'iotcomms_mac')) for d in devices if 'iotcomms_device_id' in d]
    nao = [dict(tracking_id=d['naocloud_mac'], name=d.get('naocloud_name') or d['serial']) for d in devices if 'naocloud_mac' in d]
    serials = dict(
        nrfcloud=dict((d['nrfcloud_device_id'], d['serial']) for d in devices if 'nrfcloud_device_id' in d),
        # both identities of a u-blox device, so that its whitelist entries by ROTPublicUID and by IMEI make one report row
        ublox=dict((d[column], d['serial']) for d in devices for column in ('ublox_rot_public_uid', 'ublox_imei') if column in d),
        iotcomms=dict((d['iotcomms_device_id'], d['serial']) for d in devices if 'iotcomms_device_id' in d),
        naocloud=dict((d['naocloud_mac'], d['serial']) for d in devices if 'naocloud_mac' in d),
    )
    return nrf, ublox, iotcomms, nao, serials


def given_rows(rows):
    """(header, rows, number of the first row) of rows given as data: read like a YAML manifest."""
    if not rows:
        raise ConfigError('rows is empty; give the devices, one mapping per device')
    return sorted(set(str(k) for r in rows for k in r)), rows, 1


def selected(devices, select):
    """The devices whose serial is in ``select`` (None: all); a serial not in the manifest is a problem."""
    if select is None:
        return devices
    known = set(d.get('serial') for d in devices)
    unknown = [serial for serial in select if serial not in known]
    if unknown:
        raise ConfigError('select: %d serial(s) not in the manifest: %s' % (len(unknown), ', '.join(unknown[:30])),
                          problems=['select: serial %r is not in the manifest' % serial for serial in unknown])
    wanted = set(select)
    return [d for d in devices if d.get('serial') in wanted]


# manifest_info's options, checked the same way by its action (on the controller) and its module
MANIFEST_INFO_SPEC = dict(
    argument_spec=dict(path=dict(type='path'), rows=dict(type='list', elements='dict'), select=dict(type='list', elements='str'),
                       format=dict(type='str', choices=['csv', 'yaml']), fail_on_problems=dict(type='bool', default=True)),
    mutually_exclusive=[('path', 'rows')],
    required_one_of=[('path', 'rows')],
)


def manifest_result(params):
    """manifest_info's result for its checked options: the devices, per vendor, or (fail_on_problems false) the problems.

    ConfigError, with the problems in its details, when the manifest has problems and fail_on_problems is true."""
    try:
        loaded = given_rows(params['rows']) if params['rows'] is not None else load_rows(params['path'], params['format'])
        devices = selected(check(*loaded), params['select'])
    except ConfigError as exc:
        if params['fail_on_problems']:
            raise
        return dict(changed=False, problems=exc.details.get('problems') or [exc.msg])
    nrf, ublox, iotcomms, nao, serials = split(devices)
    counts = dict(total=len(devices), nrfcloud=len(nrf), ublox=len(ublox), iotcomms=len(iotcomms), naocloud=len(nao))
    return dict(changed=False, devices=devices, nrfcloud=nrf, ublox=ublox, iotcomms=iotcomms, naocloud=nao, serials=serials,
                nrfcloud_devices=[dict(device_id=d['nrfcloud_device_id']) for d in devices if 'nrfcloud_device_id' in d],
                counts=counts)
