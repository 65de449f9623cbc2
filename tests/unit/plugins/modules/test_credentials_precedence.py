# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A credential given in the task wins over the environment's (an AWX credential sets the environment for every task).

Real module runs against the mock, whose iotcomms.io domain accepts only JWTs signed with its uploaded key: a run
that succeeds proves which key signed.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.iotops.provisioning.plugins.modules import iotcomms_device, iotcomms_device_info, ublox_rootca_info

KEY_VARIABLES = ('IOTCOMMS_PRIVATE_KEY_PATH', 'IOTCOMMS_PRIVATE_KEY', 'IOTCOMMS_PRIVATE_KEY_PASSPHRASE')


@pytest.fixture
def env(monkeypatch):
    """Set environment variables for one test; the vendors' variables of the caller are cleared first."""
    for name in KEY_VARIABLES + ('IOTCOMMS_DOMAIN', 'IOTCOMMS_API_URL', 'UBLOX_API_KEY', 'UBLOX_API_SECRET', 'UBLOX_AUTH_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch.setenv


def text(path):
    with open(path, encoding='ascii') as handle:
        return handle.read()


def connection(mock, creds, **extra):
    return dict(dict(api_url=mock.url + '/iotcomms', domain=creds.IOTCOMMS_DOMAIN), **extra)


def stored_ids(mock, creds):
    return sorted(d['deviceId'] for d in mock.admin.state()['iotcomms']['domains'][creds.IOTCOMMS_DOMAIN]['devices'])


def test_the_environments_wrong_key_is_refused_by_the_mock(mock, creds, run, env):
    """The control: with only the environment's key (not the domain's), the mock refuses the JWT and nothing is written."""
    env('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)
    result = run(iotcomms_device, connection(mock, creds, devices=[dict(device_id='4671001')]))
    assert result['failed'] and 'HTTP 401' in result['msg'] and 'signature' in result['msg']
    assert stored_ids(mock, creds) == [] and mock.admin.counters()['by_category']['write'] == 0


def test_a_task_private_key_wins_over_the_environments_key_path(mock, creds, run, env):
    env('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)
    key = text(creds.IOTCOMMS_PRIVATE_KEY_PATH)
    result = run(iotcomms_device, connection(mock, creds, private_key=key, devices=[dict(device_id='4671001')]))
    assert not result.get('failed'), result['msg']
    assert result['changed'] is True and stored_ids(mock, creds) == ['4671001']
    assert 'PRIVATE KEY' not in json.dumps(result)


def test_a_task_key_path_wins_over_the_environments_key_content(mock, creds, run, env):
    env('IOTCOMMS_PRIVATE_KEY', text(creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH))
    result = run(iotcomms_device, connection(mock, creds, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH,
                                             devices=[dict(device_id='4671002')]))
    assert not result.get('failed'), result['msg']
    assert stored_ids(mock, creds) == ['4671002']


def test_a_task_key_is_not_opened_with_the_environments_passphrase(mock, creds, run, env):
    """The environment's passphrase belongs to the environment's (encrypted) key, not to the task's plain one."""
    env('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH)
    env('IOTCOMMS_PRIVATE_KEY_PASSPHRASE', creds.IOTCOMMS_KEY_PASSPHRASE)
    result = run(iotcomms_device_info, connection(mock, creds, private_key=text(creds.IOTCOMMS_PRIVATE_KEY_PATH)))
    assert not result.get('failed'), result['msg']
    # the task's own passphrase still opens the task's own encrypted key
    env('IOTCOMMS_PRIVATE_KEY_PASSPHRASE', 'the environment passphrase, which is wrong')
    env('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_WRONG_PRIVATE_KEY_PATH)
    result = run(iotcomms_device_info, connection(mock, creds, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH,
                                                  private_key_passphrase=creds.IOTCOMMS_KEY_PASSPHRASE))
    assert not result.get('failed'), result['msg']


def test_the_environment_alone_still_logs_in_with_key_and_passphrase(mock, creds, run, env):
    env('IOTCOMMS_API_URL', mock.url + '/iotcomms')
    env('IOTCOMMS_DOMAIN', creds.IOTCOMMS_DOMAIN)
    env('IOTCOMMS_PRIVATE_KEY', text(creds.IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH))
    env('IOTCOMMS_PRIVATE_KEY_PASSPHRASE', creds.IOTCOMMS_KEY_PASSPHRASE)
    result = run(iotcomms_device, dict(devices=[dict(device_id='4671003')]))
    assert not result.get('failed'), result['msg']
    assert stored_ids(mock, creds) == ['4671003']
    dumped = json.dumps(result)
    assert creds.IOTCOMMS_KEY_PASSPHRASE not in dumped and 'ENCRYPTED PRIVATE KEY' not in dumped


def test_both_key_variables_in_the_environment_and_none_in_the_task_is_refused(mock, creds, run, env):
    env('IOTCOMMS_PRIVATE_KEY_PATH', creds.IOTCOMMS_PRIVATE_KEY_PATH)
    env('IOTCOMMS_PRIVATE_KEY', text(creds.IOTCOMMS_PRIVATE_KEY_PATH))
    result = run(iotcomms_device, connection(mock, creds, devices=[dict(device_id='4671004')]))
    assert result['failed'] and result['msg'].startswith('IOTCOMMS_PRIVATE_KEY_PATH and IOTCOMMS_PRIVATE_KEY are both set')
    assert mock.admin.counters()['total'] == 0
    # a key in the task settles it
    result = run(iotcomms_device, connection(mock, creds, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH,
                                             devices=[dict(device_id='4671004')]))
    assert not result.get('failed') and stored_ids(mock, creds) == ['4671004']


def test_both_keys_in_the_task_are_still_refused(mock, creds, run, env):
    result = run(iotcomms_device, connection(mock, creds, private_key_path=creds.IOTCOMMS_PRIVATE_KEY_PATH,
                                             private_key=text(creds.IOTCOMMS_PRIVATE_KEY_PATH), devices=[dict(device_id='4671005')]))
    assert result['failed'] and 'private_key_path and private_key are mutually exclusive' in result['msg']
    assert mock.admin.counters()['total'] == 0


# u-blox: the half of the pair that is missing is named with its variable ----------------------------------------

@pytest.mark.parametrize('given, variable, missing', [
    ('UBLOX_API_KEY', 'UBLOX_API_SECRET', 'api_secret is required with api_key'),
    ('UBLOX_API_SECRET', 'UBLOX_API_KEY', 'api_key is required with api_secret'),
])
def test_ublox_half_a_key_pair_names_the_missing_option_and_variable(mock, creds, run, env, given, variable, missing):
    env(given, creds.UBLOX_API_KEY if given == 'UBLOX_API_KEY' else creds.UBLOX_API_SECRET)
    result = run(ublox_rootca_info, dict(api_url=mock.url + '/ublox/v1'))
    assert result['failed'] and missing in result['msg'] and 'set %s' % variable in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0


def test_a_task_api_key_wins_over_a_nao_cloud_login_in_the_environment(mock, creds, run, monkeypatch):
    """With NAOCLOUD_EMAIL/NAOCLOUD_PASSWORD from a credential (a wrong password here), the task's own api_key is the one used."""
    from ansible_collections.iotops.provisioning.plugins.modules import naocloud_site_info  # pylint: disable=import-outside-toplevel
    for name in ('NAOCLOUD_API_KEY', 'NAOCLOUD_ACCESS_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('NAOCLOUD_EMAIL', creds.NAOCLOUD_EMAIL)
    monkeypatch.setenv('NAOCLOUD_PASSWORD', 'not-the-password')
    base = dict(api_url=mock.url + '/naocloud/api/v2')
    refused = run(naocloud_site_info, base)
    assert refused['failed']          # the control: the environment's login alone is refused
    mock.admin.reset_counters()
    result = run(naocloud_site_info, dict(base, api_key=creds.NAOCLOUD_API_KEY))
    assert not result.get('failed'), result.get('msg')
    assert 'naocloud POST /api/v2/sessions' not in mock.admin.counters()['endpoints']
