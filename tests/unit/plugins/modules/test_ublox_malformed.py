# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed input to the u-blox modules fails before the first request, naming the option and the vendor rule."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import (
    ublox_device_certificate,
    ublox_device_provisioning,
    ublox_device_whitelist,
    ublox_rootca,
    ublox_tag,
)

GOOD_CA = dict(name='good.example.com', ca_validity_days=1825, device_certificate_validity_days=365)

# (module, arguments, what the message must say)
CASES = [
    ('ca-name-characters', ublox_rootca, dict(cas=[dict(GOOD_CA), dict(GOOD_CA, name='acme ca!')]),
     ["cas[1] (acme ca!): name 'acme ca!' contains ' ' '!'", 'only letters, digits, underscores, dashes and dots']),
    ('ca-name-length', ublox_rootca, dict(cas=[dict(GOOD_CA, name='a' * 46)]),
     ['has 46 characters', 'at most 45 characters']),
    ('ca-validity', ublox_rootca, dict(cas=[dict(GOOD_CA, ca_validity_days=1000)]),
     ['ca_validity_days is 1000', 'must be from 1825 to 3650 days']),
    ('device-validity', ublox_rootca, dict(cas=[dict(GOOD_CA, device_certificate_validity_days=20)]),
     ['device_certificate_validity_days is 20', 'from 30 to 3650 days']),
    ('renew-before', ublox_rootca, dict(cas=[dict(GOOD_CA, renew_before_expiration_days=400)]),
     ['renew_before_expiration_days is 400', 'RenewBeforeExpiration must be from 1 to 365 days']),
    ('device-outlives-ca', ublox_rootca, dict(cas=[dict(GOOD_CA, ca_validity_days=1825, device_certificate_validity_days=2000)]),
     ['device_certificate_validity_days (2000) is greater than ca_validity_days (1825)', 'cannot outlive their Root CA']),
    ('pop-code-length', ublox_rootca, dict(cas=[dict(GOOD_CA, pop_registration_code='9' * 65, pop_certificate_path='pop.pem')]),
     ['pop_registration_code has 65 characters', 'must have 1 to 64']),
    ('file-mode', ublox_rootca, dict(cas=[dict(GOOD_CA, certificate_path='ca.pem', mode='rw-r--r--')]),
     ["mode: 'rw-r--r--' is not a file mode", "octal as a quoted string ('0644')"]),
    ('tag-symbol', ublox_tag, dict(tags=[dict(name='line|1')]),
     ["tags[0] (line|1): name 'line|1' contains '|'", 'must not contain any of']),
    ('tag-length', ublox_tag, dict(tags=[dict(name='t' * 256)]),
     ['has 256 characters', 'can only be 255 characters long']),
    ('tag-rot', ublox_tag, dict(tags=[dict(name='ok', rot_public_uids=['0002000089280087', 'not-hex'])]),
     ["rot_public_uids: 'not-hex' is not a ROTPublicUID", '1 to 16 hexadecimal digits']),
    ('renew-window-missing', ublox_device_certificate, dict(action='renew', ca_name='good.example.com'),
     ['renew_within_days is required with action=renew']),
    ('renew-validity', ublox_device_certificate, dict(action='renew', ca_name='good.example.com', renew_within_days=30, validity_days=5000),
     ['validity_days is 5000', 'DeviceCertificateValidity) must be from 30 to 3650 days']),
    ('revoke-selection', ublox_device_certificate, dict(action='revoke', ca_name='good.example.com'),
     ['action=revoke needs the devices', 'rot_public_uids, serial_numbers or tags']),
    ('issued-before', ublox_device_certificate, dict(action='update', ca_name='good.example.com', issued_before='last tuesday'),
     ["issued_before: 'last tuesday' is not an ISO 8601 date"]),
    ('imei', ublox_device_whitelist, dict(imeis=['862618583984361']),
     ["imeis[0]: '862618583984361' is not an IMEI", 'Luhn check digit']),
    ('heartbeat', ublox_device_provisioning, dict(rot_public_uids=['0002000089280087'], security_heartbeat=0),
     ['security_heartbeat is 0', 'at least 1']),
    ('profile-and-devices', ublox_device_provisioning, dict(rot_public_uids=['01'], device_profile_uid='AgbCtixjwqLjwV3VWpfPyz',
                                                            authorizations=dict(ztpv1=True)),
     ['device_profile_uid cannot be combined with rot_public_uids or tags']),
]


@pytest.mark.parametrize('name, module, arguments, expected', CASES, ids=[case[0] for case in CASES])
def test_malformed_input_fails_before_any_request(mock, creds, run, name, module, arguments, expected):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(arguments)
    result = run(module, args)
    assert result['failed'], name
    for text in expected:
        assert text in result['msg'], (name, result['msg'])
    # not even a login: the input is checked before the first request
    assert mock.admin.counters()['total'] == 0, name


def test_batch_with_one_bad_item_changes_nothing(mock, creds, run):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET,
                tags=[dict(name='fine-1'), dict(name='bad{name}'), dict(name='fine-2')])
    result = run(ublox_tag, args)
    assert result['failed'] and result['msg'].startswith('invalid input, nothing was changed: tags[1] (bad{name})')
    assert mock.admin.counters()['total'] == 0 and mock.admin.state()['ublox']['tags'] == []
