# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""manifest_info applies the rules the vendor modules apply later, so a bad manifest fails before the first write.

The accepted forms are checked against the modules' own validators (MACs, SIP device ids, IMEIs), and the
normalised values against what the modules send, with real module runs against the mock.
"""

from __future__ import annotations

import uuid

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device, manifest_info, naocloud_trackable
from iotops_mock.vendors.nrfcloud.attestation import make_attestation_token, parse_attestation_token

VALID_IMEI = '490154203237518'  # 49015420323751 has the Luhn check digit 8
MAC_FORMS = ['aa:bb:cc:00:00:01', 'AA-BB-CC-00-00-01', 'aA:Bb:cC:00:00:01', 'aabbcc000001', 'AABB.CC00.0001', 'AA:BB-CC:00:00:01',
             'AA:BB:CC:00:00', 'AA:BB:CC:00:00:01:02', 'GG:BB:CC:00:00:01', 'A:BB:CC:00:00:01', 'AA BB CC 00 00 01', 'AA::BB:CC:00:00']


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


def read(run, tmp_path, text, name='batch.csv'):
    return run(manifest_info, dict(path=write(tmp_path, name, text)))


def tokens(mock, count):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def module_accepts(validate, item):
    try:
        validate(item)
    except ConfigError:
        return False
    return True


# IMEI -------------------------------------------------------------------------------------------------

def test_manifest_refuses_an_imei_whose_check_digit_is_wrong_and_says_the_right_one(run, tmp_path):
    result = read(run, tmp_path, 'serial,ublox_imei\nSN-1,%s\nSN-2,490154203237517\nSN-3,862618583984361\n' % VALID_IMEI)
    assert result['failed'] and result['problems'] == [
        "row 3: ublox_imei '490154203237517' is not an IMEI: the 15th digit is the Luhn check digit of the first 14; expected 8",
        "row 4: ublox_imei '862618583984361' is not an IMEI: the 15th digit is the Luhn check digit of the first 14; expected 0"]
    assert 'nothing was sent' in result['msg'] and 'devices' not in result


def test_manifest_problems_returned_without_failing_when_asked(run, tmp_path):
    """fail_on_problems=false: a role words the manifest's problems together with its own, in one error."""
    bad = run(manifest_info, dict(path=write(tmp_path, 'bad.csv', 'serial,ublox_imei\nSN-1,490154203237517\n'), fail_on_problems=False))
    assert not bad.get('failed') and bad['problems'][0].startswith("row 2: ublox_imei '490154203237517' is not an IMEI") and 'devices' not in bad
    unreadable = run(manifest_info, dict(path=str(tmp_path / 'absent.csv'), fail_on_problems=False))
    absent = 'path: cannot read the manifest %s (No such file or directory)' % (tmp_path / 'absent.csv')
    assert not unreadable.get('failed') and unreadable['problems'] == [absent]
    good = run(manifest_info, dict(path=write(tmp_path, 'good.csv', 'serial,ublox_imei\nSN-1,%s\n' % VALID_IMEI), fail_on_problems=False))
    assert 'problems' not in good and good['counts']['total'] == 1


@pytest.mark.parametrize('imei', [VALID_IMEI, '862618583984360', '490154203237517', '35135881123456', '3513588112345670', '35135881123456a'])
def test_manifest_imei_rule_is_the_whitelist_rule(run, tmp_path, imei):
    """A manifest IMEI passes exactly when ublox_device_whitelist would take it."""
    result = read(run, tmp_path, 'serial,ublox_imei\nSN-1,%s\n' % imei)
    assert module_accepts(ublox.normalize_imei, imei) is not bool(result.get('failed')), result.get('msg')


# MAC addresses ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('mac', MAC_FORMS)
def test_manifest_takes_exactly_the_mac_forms_of_the_modules_and_their_normal_form(run, tmp_path, mac):
    iot_ok = module_accepts(iotcomms_device.validate_device, dict(device_id='d1', state='present', mac_address=mac))
    nao_ok = module_accepts(naocloud_trackable.validate_trackable, dict(tracking_id=mac, state='present'))
    assert iot_ok == nao_ok, 'the two modules take different MAC forms: %s' % mac
    result = read(run, tmp_path, 'serial,iotcomms_device_id,iotcomms_mac,naocloud_mac\nSN-1,4670001,%s,%s\n' % (mac, mac))
    if not iot_ok:
        assert result['problems'] == ["row 2: %s %r must be a MAC address: six pairs of hexadecimal digits separated by colons or by "
                                      "dashes, in any case (AA:BB:CC:DD:EE:FF or aa-bb-cc-dd-ee-ff), as iotcomms_device and "
                                      "naocloud_trackable take it" % (column, mac) for column in ('iotcomms_mac', 'naocloud_mac')]
        return
    assert not result.get('failed'), result['msg']
    sent = iotcomms_device.desired_fields(dict(device_id='4670001', mac_address=mac))['macAddress']
    assert result['iotcomms'] == [dict(device_id='4670001', mac_address=sent)]
    assert result['naocloud'] == [dict(tracking_id=naocloud_trackable.normalize_mac(mac), name='SN-1')]


def test_manifest_macs_converge_with_the_modules_at_the_mock(mock, creds, run, tmp_path):
    """The manifest's MAC goes to iotcomms.io as iotcomms_device sends it: a run with the raw form changes nothing after."""
    result = read(run, tmp_path, 'serial,iotcomms_device_id,iotcomms_mac\nSN-1,4670001,0a-1b-2c-3d-4e-5f\n')
    connection = dict(api_url=mock.url + '/iotcomms', domain=creds.IOTCOMMS_DOMAIN, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH)
    assert run(iotcomms_device, dict(connection, devices=result['iotcomms']))['changed'] is True
    stored = mock.admin.state()['iotcomms']['domains'][creds.IOTCOMMS_DOMAIN]['devices']
    assert [d['macAddress'] for d in stored if d['deviceId'] == '4670001'] == ['0A:1B:2C:3D:4E:5F']
    mock.admin.reset_counters()
    again = run(iotcomms_device, dict(connection, devices=[dict(device_id='4670001', mac_address='0a-1b-2c-3d-4e-5f')]))
    assert again['changed'] is False and mock.admin.counters()['by_category']['write'] == 0


def test_manifest_yaml_mac_read_as_a_number_says_to_quote_it(run, tmp_path):
    # YAML 1.1 reads unquoted 10:11:22:33:44:55 as a base-60 number
    result = read(run, tmp_path, '- {serial: A, naocloud_mac: 10:11:22:33:44:55}\n', name='batch.yml')
    assert result['failed'] and len(result['problems']) == 1
    assert result['problems'][0].startswith('row 1: naocloud_mac ') and 'quote it in a YAML manifest' in result['problems'][0]


# serials, device ids, names ------------------------------------------------------------------------------

def test_manifest_serial_rules(run, tmp_path):
    ok = read(run, tmp_path, 'serial,iotcomms_device_id\n%s,1\nGerät 7/Linie 2,2\n' % ('S' * 64))
    assert not ok.get('failed') and [d['serial'] for d in ok['devices']] == ['S' * 64, 'Gerät 7/Linie 2']
    bad = read(run, tmp_path, 'serial,iotcomms_device_id\n%s,1\n"SN\x071",2\n"SN\t2",3\n,4\n' % ('S' * 65))
    assert bad['problems'] == [
        "row 2: serial '%s' has 65 characters; a serial is at most 64 printable characters (it labels the device in reports)" % ('S' * 65),
        "row 3: serial 'SN\\x071' contains a control character; a serial is at most 64 printable characters (it labels the device in "
        "reports)",
        "row 4: serial 'SN\\t2' contains a control character; a serial is at most 64 printable characters (it labels the device in "
        "reports)",
        'row 5: serial is empty']


@pytest.mark.parametrize('device_id', ['4670001', 'alarm.unit_7', 'a', 'Z' * 64, '-4670001', '.hidden', 'a' * 65, 'has space', 'x@y'])
def test_manifest_iotcomms_device_id_rule_is_the_module_rule(run, tmp_path, device_id):
    result = read(run, tmp_path, 'serial,iotcomms_device_id\nSN-1,%s\n' % device_id)
    accepted = module_accepts(iotcomms_device.validate_device, dict(device_id=device_id, state='present'))
    assert accepted is not bool(result.get('failed')), result.get('msg')


def test_manifest_columns_that_need_their_identity(run, tmp_path):
    result = read(run, tmp_path, 'serial,iotcomms_device_id,iotcomms_mac,naocloud_mac,naocloud_name\nSN-1,,00:11:22:33:44:55,,Forklift\n'
                                 'SN-2,4670002,,AA:BB:CC:00:00:02,%s\n' % ('n' * 256))
    assert result['problems'] == [
        'row 2: iotcomms_mac is given without iotcomms_device_id; it belongs to that identity and is sent only with it',
        'row 2: naocloud_name is given without naocloud_mac; it belongs to that identity and is sent only with it',
        "row 3: naocloud_name '%s' has 256 characters; NAO Cloud takes at most 255" % ('n' * 256)]


# duplicate identities --------------------------------------------------------------------------------------

def test_manifest_refuses_one_mac_on_two_devices_in_any_mac_column(run, tmp_path):
    result = read(run, tmp_path, 'serial,iotcomms_device_id,iotcomms_mac,naocloud_mac\n'
                                 'SN-1,4670001,aa:bb:cc:00:00:01,aa:bb:cc:00:00:01\n'   # one device, one MAC for both: fine
                                 'SN-2,4670002,,AA-BB-CC-00-00-01\n'
                                 'SN-3,4670003,AA:BB:CC:00:00:01,\n'
                                 'SN-4,4670004,02:00:00:00:00:04,02:00:00:00:00:05\n')
    assert result['problems'] == [
        "row 3: naocloud_mac 'AA:BB:CC:00:00:01' duplicates the iotcomms_mac of row 2 (a MAC address belongs to one device)",
        "row 4: iotcomms_mac 'AA:BB:CC:00:00:01' duplicates row 2"]


def test_manifest_refuses_two_tokens_of_one_nrf_device(mock, run, tmp_path):
    seeded = tokens(mock, 2)
    identity = parse_attestation_token(seeded[0]['claim_token'])
    # the same modem after a modem firmware update: another token, the same device
    updated = make_attestation_token(identity['uuid'], firmware_uuid=uuid.uuid4().bytes)
    assert updated != seeded[0]['claim_token']
    result = read(run, tmp_path, 'serial,nrfcloud_claim_token\nSN-1,%s\nSN-2,%s\nSN-3,%s\nSN-4,%s\n' % (
        seeded[0]['claim_token'], seeded[1]['claim_token'], updated, seeded[1]['claim_token']))
    assert result['problems'] == [
        'row 4: nrfcloud_claim_token is a token of nRF Cloud device %s, like the token of row 2 (two tokens of one device)'
        % seeded[0]['device_id'],
        'row 5: nrfcloud_claim_token duplicates row 3']


def test_manifest_identities_of_other_kinds_may_look_alike(run, tmp_path):
    """A SIP device id that happens to equal another device's IMEI is no mistake: they name different things."""
    result = read(run, tmp_path, 'serial,ublox_imei,iotcomms_device_id\nSN-1,%s,4670001\nSN-2,,%s\n' % (VALID_IMEI, VALID_IMEI))
    assert not result.get('failed'), result['msg']


# everything at once ----------------------------------------------------------------------------------------

def test_manifest_reports_every_problem_at_once(mock, run, tmp_path):
    token = tokens(mock, 1)[0]['claim_token']
    text = ('serial,nrfcloud_claim_token,ublox_rot_public_uid,ublox_imei,iotcomms_device_id,iotcomms_mac,naocloud_mac\n'
            'SN-1,%s,0A1B2C3D4E5F6071,%s,4670001,00:11:22:33:44:55,AA:BB:CC:00:00:01\n'
            'SN-2,bogus,0a1b2c3d4e5f6071,490154203237519,-1,0011.2233.4455,aa:bb:cc:00:00:01\n'
            'SN-1,,,,,,\n' % (token, VALID_IMEI))
    result = read(run, tmp_path, text)
    assert result['problems'] == [
        "row 3: ublox_imei '490154203237519' is not an IMEI: the 15th digit is the Luhn check digit of the first 14; expected 8",
        "row 3: iotcomms_device_id '-1' must be 1 to 64 letters, digits or . _ ~ + -, starting with a letter or digit (the user part "
        "of the SIP address, as iotcomms_device takes it)",
        "row 3: iotcomms_mac '0011.2233.4455' must be a MAC address: six pairs of hexadecimal digits separated by colons or by dashes, "
        "in any case (AA:BB:CC:DD:EE:FF or aa-bb-cc-dd-ee-ff), as iotcomms_device and naocloud_trackable take it",
        'row 3: nrfcloud_claim_token is not an nRF91 attestation token (base64url CBOR body with the device UUID, as AT%ATTESTTOKEN '
        'prints it); give device_id as well, or check the token',
        "row 3: ublox_rot_public_uid '0a1b2c3d4e5f6071' duplicates row 2",
        "row 3: naocloud_mac 'AA:BB:CC:00:00:01' duplicates row 2",
        "row 4: serial 'SN-1' duplicates row 2"]
    assert result['msg'].startswith('the manifest has 7 problem(s), nothing was sent: row 3: ublox_imei')
    assert all(problem in result['msg'] for problem in result['problems'])


def test_manifest_message_shows_thirty_problems_and_the_list_holds_all(run, tmp_path):
    rows = ''.join('SN-%d,12345\n' % n for n in range(40))
    result = read(run, tmp_path, 'serial,ublox_imei\n' + rows)
    assert len(result['problems']) == 40 and result['msg'].endswith('; ...')
    assert result['problems'][39] == "row 41: ublox_imei '12345' must be 15 digits" and 'row 41' not in result['msg']
