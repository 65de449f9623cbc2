# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_token and naocloud_token run in-process against the mock (real HTTP), and through ansible-playbook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jwt

from ansible_collections.iotops.provisioning.plugins.modules import naocloud_token, ublox_token


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET)
    args.update(extra)
    return args


def test_ublox_token_returns_a_usable_token(mock, creds, run):
    result = run(ublox_token, ublox_args(mock, creds))
    assert result['changed'] is False and 'failed' not in result
    claims = jwt.decode(result['auth_token'], options={'verify_signature': False})
    assert claims['exp'] - claims['iat'] == 3600
    assert 3500 <= result['expires_in'] <= 3600 and result['expires_at'].endswith('Z')
    assert result['refresh_token']
    assert creds.UBLOX_API_SECRET not in json.dumps(result)
    counts = mock.admin.counters()
    assert counts['endpoints']['ublox POST /v1/authenticate'] == 1 and counts['by_category']['write'] == 0


def test_ublox_token_check_mode_logs_in_and_changes_nothing(mock, creds, run):
    result = run(ublox_token, ublox_args(mock, creds), check_mode=True)
    assert result['changed'] is False and result['auth_token']
    assert mock.admin.counters()['by_category']['write'] == 0


def test_ublox_token_env_fallback(mock, creds, run, monkeypatch):
    monkeypatch.setenv('UBLOX_API_URL', mock.url + '/ublox/v1')
    monkeypatch.setenv('UBLOX_API_KEY', creds.UBLOX_API_KEY)
    monkeypatch.setenv('UBLOX_API_SECRET', creds.UBLOX_API_SECRET)
    assert run(ublox_token, {})['auth_token']


def test_ublox_token_errors_name_the_option_and_keep_the_secret_out(mock, creds, run):
    result = run(ublox_token, ublox_args(mock, creds, api_secret=None))
    assert result['failed'] and 'api_secret' in result['msg']
    wrong = 'WrongSecretWrongSecretWrongSecre'
    result = run(ublox_token, ublox_args(mock, creds, api_secret=wrong))
    assert result['failed'] and 'HTTP 401' in result['msg'] and '/authenticate' in result['msg']
    assert wrong not in json.dumps(result)
    result = run(ublox_token, ublox_args(mock, creds, api_url='ftp://example.invalid'))
    assert result['failed'] and 'api_url' in result['msg']
    result = run(ublox_token, ublox_args(mock, creds, timeout=0))
    assert result['failed'] and 'timeout' in result['msg']
    assert mock.admin.counters()['endpoints'].get('ublox POST /v1/authenticate') == 1  # only the wrong-secret attempt


def nao_args(mock, **extra):
    args = dict(api_url=mock.url + '/naocloud/api/v2')
    args.update(extra)
    return args


def test_naocloud_token_with_password_and_with_api_key(mock, creds, run):
    by_password = run(naocloud_token, nao_args(mock, email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD))
    by_key = run(naocloud_token, nao_args(mock, api_key=creds.NAOCLOUD_API_KEY), check_mode=True)
    for result in (by_password, by_key):
        assert result['changed'] is False and result['access_token_type'] == 'session'
        assert 86000 <= result['expires_in'] <= 86400
    assert creds.NAOCLOUD_PASSWORD not in json.dumps(by_password)
    assert mock.admin.counters()['endpoints']['naocloud POST /api/v2/sessions'] == 2


def test_naocloud_token_errors(mock, creds, run):
    result = run(naocloud_token, nao_args(mock, email=creds.NAOCLOUD_EMAIL))
    assert result['failed'] and 'password' in result['msg']
    result = run(naocloud_token, nao_args(mock, access_token=creds.NAOCLOUD_ACCESS_TOKEN))
    assert result['failed'] and 'api_key' in result['msg']
    result = run(naocloud_token, nao_args(mock, email=creds.NAOCLOUD_EMAIL, password='not-the-password'))
    assert result['failed'] and 'HTTP 401' in result['msg'] and 'not-the-password' not in json.dumps(result)


PLAYBOOK = textwrap.dedent('''\
    - name: Log in once, then use the tokens through module_defaults
      hosts: localhost
      gather_facts: false
      vars:
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
      tasks:
        - name: Log in to u-blox
          iotops.provisioning.ublox_token:
          register: ublox_login
        - name: Open a NAO Cloud session
          iotops.provisioning.naocloud_token:
            email: "{{ lookup('env', 'NAO_EMAIL') }}"
            password: "{{ lookup('env', 'NAO_PASSWORD') }}"
          register: nao_login
        - name: The registered variables hold the tokens
          ansible.builtin.assert:
            that:
              - ublox_login.auth_token | length > 100
              - nao_login.access_token | length > 20
              - ublox_login is not changed
            quiet: true
        - name: Use the u-blox token
          ansible.builtin.uri:
            url: "{{ lookup('env', 'UBLOX_API_URL') }}/tag/get"
            method: POST
            body_format: json
            body: {PageNumber: 1}
            headers:
              Authorization: "{{ ublox_login.auth_token }}"
          no_log: true
    ''')


def test_token_modules_in_a_playbook_hide_the_tokens(mock, creds, collections_root, tmp_path):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='0',
               UBLOX_API_URL=mock.url + '/ublox/v1', UBLOX_API_KEY=creds.UBLOX_API_KEY, UBLOX_API_SECRET=creds.UBLOX_API_SECRET,
               NAOCLOUD_API_URL=mock.url + '/naocloud/api/v2', NAO_EMAIL=creds.NAOCLOUD_EMAIL, NAO_PASSWORD=creds.NAOCLOUD_PASSWORD,
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    playbook_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([playbook_bin, '-vvv', '--diff', str(playbook)], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert 'ok=4' in output and 'changed=0' in output
    for secret in (creds.UBLOX_API_SECRET, creds.NAOCLOUD_PASSWORD, 'eyJ'):
        assert secret not in output
    assert 'censored' in output
    assert mock.admin.counters()['endpoints']['ublox POST /v1/tag/get'] == 1
