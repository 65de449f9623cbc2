# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet inventory plugin, loaded by ansible-inventory (InventoryManager and DataLoader, as a user runs it) from a config
file in a temporary directory, against the mock of the four clouds over HTTP on loopback.

ansible-inventory runs in a process of its own: loading a collection's inventory plugin in the pytest process would install
ansible's collection loader there for every later test of the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
SITE = 101

# nRF Cloud: a device only in the cloud, claimed by the team
CLOUD_ONLY_NRF = '50434d44-0000-4000-8000-0000000000c1'
# u-blox: R1 bootstrapped and tagged (in the manifest), R4 bootstrapped and tagged (not in it), R7 bootstrapped and neither
# tagged nor whitelisted (never a host); R2, R3 and R5 factory-fresh, R2 and R5 whitelisted; IMEI6 whitelisted by IMEI only
R1, R4, R7 = '0002000000000001', '0002000000000004', '0002000000000007'
R2, R3, R5 = '0003000000000002', '0003000000000003', '0003000000000005'
IMEI6 = '490154203237518'


def tokens(mock, count=3):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def ublox_token(mock, creds):
    return requests.post(mock.url + '/ublox/v1/authenticate', json={'APIKey': creds.UBLOX_API_KEY, 'APISecret': creds.UBLOX_API_SECRET},
                         timeout=10).json()['AuthToken']


def seed_clouds(mock, creds, nrf):
    """The clouds' state of the tests: see the constants above, and SN-1's iotcomms.io device and NAO Cloud tag."""
    admin = mock.admin
    admin.seed('nrfcloud-provisioning', 'claimed-devices', {'team': 'a', 'devices': [
        {'id': nrf[0]['device_id'], 'status': 'PROVISIONED', 'tags': ['line-7']},
        {'id': nrf[1]['device_id'], 'status': 'READY'},
        {'id': CLOUD_ONLY_NRF, 'status': 'AWAITING'}]})
    admin.seed('nrfcloud', 'devices', {'team': 'a', 'devices': [{'id': nrf[0]['device_id'], 'tags': ['fleet-a']}]})
    admin.seed('ublox', 'tags', {'tags': ['line-7', 'spare']})
    admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': R1, 'TagNames': ['line-7']}, {'ROTPublicUID': R4, 'TagNames': ['line-7']},
                                                {'ROTPublicUID': R7}]})
    admin.manufacture_ublox({'devices': [{'ROTPublicUID': R2}, {'ROTPublicUID': R3}, {'ROTPublicUID': R5}]})
    response = requests.post(mock.url + '/ublox/v1/device/whitelist/add', headers={'Authorization': ublox_token(mock, creds)},
                             json={'Action': 'ADD', 'ROTPublicUIDs': [R2, R5], 'IMEIs': [IMEI6]}, timeout=10)
    response.raise_for_status()
    admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': '4670001', 'macAddress': '00:11:22:33:44:01'},
                                                   {'deviceId': '4670009', 'macAddress': '00:11:22:33:44:09'}]})
    for name, mac in (('Pallet 1', 'AA:BB:CC:00:00:01'), ('Gate 9', '00:11:22:33:44:09')):
        response = requests.post('%s/naocloud/api/v2/sites/%d/nao_trackables' % (mock.url, SITE), timeout=10,
                                 headers={'Authorization': creds.NAOCLOUD_API_KEY},
                                 json={'nao_trackable': {'name': name, 'tracking_id': mac}})
        response.raise_for_status()


def write_manifest(tmp_path, nrf, name='batch-2026-47.csv'):
    path = tmp_path / name
    path.write_text('serial,nrfcloud_claim_token,ublox_rot_public_uid,iotcomms_device_id,iotcomms_mac,naocloud_mac\n'
                    'SN-1,%s,%s,4670001,00:11:22:33:44:01,aa:bb:cc:00:00:01\n'
                    'SN-2,%s,%s,4670002,,AA:BB:CC:00:00:02\n'
                    'SN-3,%s,%s,,,\n' % (nrf[0]['claim_token'], R1, nrf[1]['claim_token'], R2, nrf[2]['claim_token'], R3))
    return str(path)


def cloud_env(mock, creds):
    """The environment an AWX credential of each of the collection's types injects, pointing at the mock."""
    env = dict(mock.api_urls())
    env.update(NRFCLOUD_API_KEY=creds.NRFCLOUD_TEAM_A_API_KEY, UBLOX_API_KEY=creds.UBLOX_API_KEY, UBLOX_API_SECRET=creds.UBLOX_API_SECRET,
               IOTCOMMS_DOMAIN=creds.IOTCOMMS_DOMAIN, IOTCOMMS_PRIVATE_KEY_PATH=creds.IOTCOMMS_PRIVATE_KEY_PATH,
               NAOCLOUD_API_KEY=creds.NAOCLOUD_API_KEY)
    return env


def secrets(creds, nrf):
    """Every secret a test hands the plugin: none may appear in its output, its errors or its cache."""
    with open(creds.IOTCOMMS_PRIVATE_KEY_PATH, encoding='ascii') as handle:
        key_line = handle.read().splitlines()[1]
    found = [creds.NRFCLOUD_TEAM_A_API_KEY, creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET, creds.NAOCLOUD_API_KEY, key_line, 'eyJ']
    for device in nrf:
        found += [device['claim_token'], device['claim_token'].split('.')[0]]
    return found


def assert_no_secret(text, creds, nrf):
    for secret in secrets(creds, nrf):
        assert secret not in text, secret


@pytest.fixture
def inventory(collections_root, tmp_path):
    """``inventory(config, *args, env=None)`` -> ansible-inventory's process for ``config`` written as <tmp>/test.fleet.yml
    (``--list`` unless ``args`` say otherwise); the vendor variables of this process's environment are left out."""
    def run(config, *args, env=None, name='test.fleet.yml'):
        path = tmp_path / name
        path.write_text(json.dumps(config))
        environ = dict((key, value) for key, value in os.environ.items()
                       if key.split('_')[0] not in ('NRFCLOUD', 'UBLOX', 'IOTCOMMS', 'NAOCLOUD', 'IOTOPS'))
        environ.update(ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1', ANSIBLE_HOME=str(tmp_path / 'home'),
                       ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_INVENTORY_UNPARSED_FAILED='1', COLUMNS='100000')
        environ.update(env or {})
        return subprocess.run([ANSIBLE_INVENTORY, '-i', str(path)] + list(args or ['--list']), env=environ, capture_output=True,
                              text=True, timeout=120, check=False)
    return run


def unsafe_value(mapping):
    """ansible-inventory writes a value that must never be rendered as a template as {"__ansible_unsafe": value}."""
    return mapping['__ansible_unsafe'] if set(mapping) == {'__ansible_unsafe'} else mapping


def listed(proc):
    """(hostvars, {group: sorted hosts}) of ``ansible-inventory --list``, unsafe values unwrapped."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout, object_hook=unsafe_value)
    groups = dict((name, sorted(group['hosts'])) for name, group in data.items() if name != '_meta' and group.get('hosts'))
    return data['_meta']['hostvars'], groups


def failure(proc):
    """The error ansible-inventory reported, on one line."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    return ' '.join(proc.stderr.split())


def test_manifest_only_hosts_are_serials_with_identities_and_no_token(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    manifest = write_manifest(tmp_path, nrf)
    (tmp_path / 'line7.yml').write_text('devices:\n  - {serial: L7-1, ublox_imei: "%s", naocloud_mac: "aa-bb-cc-00-00-71"}\n' % IMEI6)
    mock.admin.reset_counters()
    proc = inventory({'plugin': 'iotops.provisioning.fleet', 'manifests': ['batch-2026-47.csv', {'path': 'line7.yml', 'batch': 'line 7'}]})
    hostvars, groups = listed(proc)
    assert sorted(hostvars) == ['L7-1', 'SN-1', 'SN-2', 'SN-3']
    one = hostvars['SN-1']
    assert one['ansible_connection'] == 'local' and one['ansible_python_interpreter'] == '{{ ansible_playbook_python }}'
    assert one['iotops_serial'] == 'SN-1' and one['iotops_batch'] == 'batch-2026-47' and one['iotops_manifest'] == manifest
    assert one['iotops_nrfcloud_device_id'] == nrf[0]['device_id'] and one['iotops_ublox_rot_public_uid'] == R1
    assert one['iotops_iotcomms_mac'] == '00:11:22:33:44:01' and one['iotops_naocloud_mac'] == 'AA:BB:CC:00:00:01'
    assert one['iotops_naocloud_name'] == 'SN-1'  # the name the onboarding gives a tag without one
    assert one['iotops_vendors'] == ['nrfcloud', 'ublox', 'iotcomms', 'naocloud'] and one['iotops_phases'] == {}
    assert one['iotops_ublox_imei'] is None and one['iotops_ublox_tags'] == [] and one['iotops_nrfcloud_tags'] == []
    assert hostvars['SN-3']['iotops_vendors'] == ['nrfcloud', 'ublox'] and hostvars['SN-3']['iotops_iotcomms_device_id'] is None
    line7 = hostvars['L7-1']
    assert line7['iotops_batch'] == 'line 7' and line7['iotops_manifest'] == str(tmp_path / 'line7.yml')
    assert line7['iotops_ublox_imei'] == IMEI6 and line7['iotops_naocloud_mac'] == 'AA:BB:CC:00:00:71'
    assert groups['batch_batch_2026_47'] == ['SN-1', 'SN-2', 'SN-3'] and groups['batch_line_7'] == ['L7-1']
    assert groups['vendor_nrfcloud'] == ['SN-1', 'SN-2', 'SN-3'] and groups['vendor_ublox'] == ['L7-1', 'SN-1', 'SN-2', 'SN-3']
    assert groups['vendor_iotcomms'] == ['SN-1', 'SN-2'] and groups['vendor_naocloud'] == ['L7-1', 'SN-1', 'SN-2']
    assert mock.admin.counters()['total'] == 0  # no cloud is read unless one is configured
    assert 'claim_token' not in proc.stdout
    assert_no_secret(proc.stdout + proc.stderr, creds, nrf)
    # what came from a file or a cloud is never rendered as a template; the interpreter line is one
    raw = json.loads(proc.stdout)['_meta']['hostvars']['SN-1']
    assert raw['iotops_serial'] == {'__ansible_unsafe': 'SN-1'} and raw['ansible_python_interpreter'] == '{{ ansible_playbook_python }}'


def full_config(**extra):
    config = {'plugin': 'iotops.provisioning.fleet', 'manifests': ['batch-2026-47.csv'], 'nrfcloud': {},
              'ublox': {'tags': ['line-7'], 'whitelist': True}, 'iotcomms': {}, 'naocloud': {'site_id': SITE}}
    config.update(extra)
    return config


def test_manifest_and_clouds_make_one_host_per_device_with_its_phases(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    seed_clouds(mock, creds, nrf)
    write_manifest(tmp_path, nrf)
    proc = inventory(full_config(), env=cloud_env(mock, creds))
    hostvars, groups = listed(proc)
    assert sorted(hostvars) == sorted(['SN-1', 'SN-2', 'SN-3', CLOUD_ONLY_NRF, R4, R5, IMEI6, '4670009'])
    phases = dict((name, hostvars[name]['iotops_phases']) for name in hostvars)
    assert phases['SN-1'] == {'nrfcloud': 'onboarded', 'ublox': 'bootstrapped', 'iotcomms': 'present', 'naocloud': 'present'}
    assert phases['SN-2'] == {'nrfcloud': 'ready', 'ublox': 'waiting for bootstrap', 'iotcomms': 'missing', 'naocloud': 'missing'}
    assert phases['SN-3'] == {'nrfcloud': 'missing', 'ublox': 'not whitelisted'}
    assert phases[CLOUD_ONLY_NRF] == {'nrfcloud': 'awaiting'} and phases[R4] == {'ublox': 'bootstrapped'}
    assert phases[R5] == {'ublox': 'waiting for bootstrap'} and phases[IMEI6] == {'ublox': 'waiting for bootstrap'}
    assert phases['4670009'] == {'iotcomms': 'present', 'naocloud': 'present'}
    one = hostvars['SN-1']
    assert one['iotops_ublox_tags'] == ['line-7'] and one['iotops_nrfcloud_tags'] == ['line-7', 'fleet-a']
    assert one['iotops_naocloud_name'] == 'Pallet 1' and one['iotops_ublox_imei']  # from the cloud: the manifest has none
    gate = hostvars['4670009']   # an iotcomms.io device and a NAO Cloud tag with one MAC address: one device
    assert gate['iotops_vendors'] == ['iotcomms', 'naocloud'] and gate['iotops_naocloud_name'] == 'Gate 9'
    assert gate['iotops_serial'] is None and gate['iotops_batch'] is None and 'iotops_manifest' not in gate
    assert hostvars[IMEI6]['iotops_ublox_rot_public_uid'] is None and hostvars[IMEI6]['iotops_ublox_imei'] == IMEI6
    assert R7 not in hostvars   # neither tagged, whitelisted nor in the manifest
    assert groups['batch_batch_2026_47'] == ['SN-1', 'SN-2', 'SN-3']
    assert groups['vendor_ublox'] == sorted(['SN-1', 'SN-2', 'SN-3', R4, R5, IMEI6])
    assert groups['vendor_naocloud'] == ['4670009', 'SN-1', 'SN-2']
    assert_no_secret(proc.stdout + proc.stderr, creds, nrf)


def test_cloud_reads_are_list_calls_once(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    seed_clouds(mock, creds, nrf)
    write_manifest(tmp_path, nrf)
    mock.admin.reset_counters()
    listed(inventory(full_config(), env=cloud_env(mock, creds)))
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['nrfcloud-provisioning GET /v1/claimed-devices'] == 1 and endpoints['nrfcloud GET /v1/devices'] == 1
    assert not [key for key in endpoints if '{device_id}' in key or '{trackable_id}' in key]   # no device read on its own
    assert endpoints['ublox POST /v1/device/info/get'] == 1 and endpoints['ublox POST /v1/device/whitelist/get'] == 1
    assert mock.admin.counters()['by_category']['write'] == 0


def test_groups_keyed_groups_and_compose(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    seed_clouds(mock, creds, nrf)
    write_manifest(tmp_path, nrf)
    waiting = "iotops_phases.values() | select('in', ['waiting for bootstrap', 'awaiting']) | list | length > 0"
    config = full_config(
        keyed_groups=[{'key': 'iotops_ublox_tags', 'prefix': 'tag'}, {'key': 'iotops_phases.nrfcloud', 'prefix': 'nrfcloud'},
                      {'key': 'iotops_phases', 'prefix': 'phase'}],
        groups={'unlisted': 'iotops_batch is none', 'waiting': waiting},
        compose={'sip_uri': "'sip:' ~ iotops_iotcomms_device_id ~ '@' ~ 'factory.example.com' if iotops_iotcomms_device_id else None",
                 'nrf_short': 'iotops_nrfcloud_device_id[:8] if iotops_nrfcloud_device_id else None'})
    hostvars, groups = listed(inventory(config, env=cloud_env(mock, creds)))
    assert groups['tag_line_7'] == sorted(['SN-1', R4])
    assert groups['nrfcloud_onboarded'] == ['SN-1'] and groups['nrfcloud_ready'] == ['SN-2']
    assert groups['nrfcloud_missing'] == ['SN-3'] and groups['nrfcloud_awaiting'] == [CLOUD_ONLY_NRF]
    assert groups['phase_ublox_waiting_for_bootstrap'] == sorted(['SN-2', R5, IMEI6])
    assert groups['phase_iotcomms_missing'] == ['SN-2'] and groups['phase_ublox_not_whitelisted'] == ['SN-3']
    assert groups['unlisted'] == sorted([CLOUD_ONLY_NRF, R4, R5, IMEI6, '4670009'])
    assert groups['waiting'] == sorted(['SN-2', CLOUD_ONLY_NRF, R5, IMEI6])
    assert hostvars['SN-1']['sip_uri'] == 'sip:4670001@factory.example.com' and hostvars['SN-3']['sip_uri'] is None
    assert hostvars['SN-2']['nrf_short'] == nrf[1]['device_id'][:8]


def test_cloud_only_devices_false_completes_the_manifest_only(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    seed_clouds(mock, creds, nrf)
    write_manifest(tmp_path, nrf)
    hostvars, dummy = listed(inventory(full_config(cloud_only_devices=False), env=cloud_env(mock, creds)))
    assert sorted(hostvars) == ['SN-1', 'SN-2', 'SN-3']
    assert hostvars['SN-1']['iotops_phases']['nrfcloud'] == 'onboarded' and hostvars['SN-2']['iotops_phases']['ublox'] == 'waiting for bootstrap'


def test_options_in_the_file_and_a_cloud_without_manifest(mock, creds, inventory):
    """Credentials given in the config file (no environment), a cloud read with no manifest at all, a disabled cloud."""
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': 'door-1'}, {'deviceId': 'door-2', 'macAddress': 'aa-bb-cc-dd-ee-02'}]})
    config = {'plugin': 'iotops.provisioning.fleet', 'nrfcloud': {'enabled': False, 'api_key': 'not used'},
              'iotcomms': {'api_url': mock.url + '/iotcomms', 'domain': creds.IOTCOMMS_DOMAIN,
                           'private_key_path': creds.IOTCOMMS_PRIVATE_KEY_PATH, 'timeout': 10}}
    mock.admin.reset_counters()
    hostvars, groups = listed(inventory(config))
    assert sorted(hostvars) == ['door-1', 'door-2'] and groups['vendor_iotcomms'] == ['door-1', 'door-2']
    assert hostvars['door-2']['iotops_iotcomms_mac'] == 'AA:BB:CC:DD:EE:02' and hostvars['door-1']['iotops_phases'] == {'iotcomms': 'present'}
    assert [vendor for vendor, count in mock.admin.counters()['by_vendor'].items() if count['total']] == ['iotcomms']


def test_second_load_is_served_from_the_cache_which_holds_no_secret(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    seed_clouds(mock, creds, nrf)
    write_manifest(tmp_path, nrf)
    cache_dir = tmp_path / 'cache'
    connection = cloud_env(mock, creds)
    config = full_config(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache_dir), cache_timeout=3600,
                         nrfcloud={'api_key': creds.NRFCLOUD_TEAM_A_API_KEY, 'api_url': connection['NRFCLOUD_API_URL'],
                                   'provisioning_api_url': connection['NRFCLOUD_PROVISIONING_API_URL']})
    mock.admin.reset_counters()
    first = listed(inventory(config, env=connection))
    assert mock.admin.counters()['total'] > 0
    mock.admin.reset_counters()
    second = inventory(config, env=connection)
    assert listed(second) == first
    assert mock.admin.counters()['total'] == 0   # not one request: every host came from the cache
    files = [path for path in cache_dir.iterdir() if path.is_file()]
    assert len(files) == 1
    cached = files[0].read_text()
    assert 'SN-1' in cached and 'waiting for bootstrap' in cached
    assert_no_secret(cached + second.stdout + second.stderr, creds, nrf)

    listed(inventory(config, '--list', '--flush-cache', env=connection))
    assert mock.admin.counters()['total'] > 0   # --flush-cache reads the clouds again
    mock.admin.reset_counters()
    changed = dict(config, cloud_only_devices=False)   # another setting is another cache entry
    assert sorted(listed(inventory(changed, env=connection))[0]) == ['SN-1', 'SN-2', 'SN-3']
    assert mock.admin.counters()['total'] > 0


def test_a_bad_manifest_names_the_file_the_row_and_the_rule(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    path = tmp_path / 'bad.csv'
    path.write_text('serial,nrfcloud_claim_token,ublox_imei\nSN-1,%s,490154203237517\nSN-2,%s,\n' % (nrf[0]['claim_token'], nrf[0]['claim_token']))
    message = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'manifests': ['bad.csv']}))
    assert 'manifest %s: 2 problem(s)' % path in message
    assert "row 2: ublox_imei '490154203237517' is not an IMEI" in message and 'row 3: nrfcloud_claim_token duplicates row 2' in message
    assert 'Fix the manifest' in message
    assert_no_secret(message, creds, nrf)
    missing = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'manifests': ['absent.csv']}))
    assert 'manifest %s: cannot read the manifest' % (tmp_path / 'absent.csv') in missing


def test_a_device_in_two_manifests_is_refused(mock, creds, inventory, tmp_path):
    (tmp_path / 'a.csv').write_text('serial,iotcomms_device_id\nSN-1,4670001\n')
    (tmp_path / 'b.csv').write_text('serial,iotcomms_device_id\nSN-9,4670002\nSN-8,4670001\n')
    message = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'manifests': ['a.csv', 'b.csv']}))
    assert ("row 3 of %s: iotcomms_device_id '4670001' of 'SN-8' is also in row 2 of %s ('SN-1'); a device belongs to one manifest"
            % (tmp_path / 'b.csv', tmp_path / 'a.csv')) in message
    (tmp_path / 'c.csv').write_text('serial\nSN-1\n')
    again = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'manifests': ['a.csv', 'c.csv']}))
    assert "row 2 of %s: serial 'SN-1' is also in row 2 of %s" % (tmp_path / 'c.csv', tmp_path / 'a.csv') in again


def test_a_wrong_api_key_fails_with_the_cloud_and_what_to_do_and_no_secret(mock, creds, inventory, tmp_path):
    nrf = tokens(mock)
    write_manifest(tmp_path, nrf)
    wrong = 'f' * 40
    env = dict(cloud_env(mock, creds), NRFCLOUD_API_KEY=wrong)
    message = failure(inventory(full_config(), env=env))
    assert 'nRF Cloud could not be read' in message and 'HTTP 401' in message
    assert 'Check that api_key (NRFCLOUD_API_KEY) is the API key of the team' in message
    assert wrong not in message
    assert_no_secret(message, creds, nrf)
    refused = failure(inventory(full_config(nrfcloud={'enabled': False}), env=dict(env, UBLOX_API_SECRET='x' * 32)))
    assert 'u-blox could not be read' in refused and 'api_key and api_secret (UBLOX_API_KEY, UBLOX_API_SECRET)' in refused
    assert 'x' * 32 not in refused and creds.UBLOX_API_KEY not in refused


def test_an_unreachable_cloud_and_bad_options_say_what_to_do(mock, creds, inventory, tmp_path):
    closed = 'http://127.0.0.1:9'   # the discard port: nothing listens on loopback
    unreachable = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'naocloud': {
        'site_id': SITE, 'api_url': closed, 'api_key': creds.NAOCLOUD_API_KEY, 'retries': 0, 'timeout': 5}}))
    assert 'NAO Cloud could not be read' in unreachable and 'could not be completed' in unreachable
    assert 'Check naocloud.api_url, the network' in unreachable and creds.NAOCLOUD_API_KEY not in unreachable
    unknown = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'ublox': {'tag': ['line-7'], 'api_key': creds.UBLOX_API_KEY}}))
    assert 'ublox: unknown option(s) tag; the options are' in unknown and 'Fix the ublox mapping' in unknown
    assert creds.UBLOX_API_KEY not in unknown
    no_site = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'naocloud': {}}))
    assert 'naocloud.site_id is required' in no_site
    mock.admin.seed('ublox', 'tags', {'tags': ['line-7']})
    no_tag = failure(inventory({'plugin': 'iotops.provisioning.fleet', 'ublox': {'tags': ['line-8']}}, env=cloud_env(mock, creds)))
    assert 'u-blox could not be read: tags: u-blox has no tag line-8' in no_tag


def test_the_module_shim_checks_options_as_the_modules_do(monkeypatch, creds):
    """The adapter the vendor client factories get instead of an AnsibleModule: defaults, environment fallbacks, no_log values,
    unknown options, and messages without secrets."""
    from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
    from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec
    from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client
    from ansible_collections.iotops.provisioning.plugins.plugin_utils._module_shim import module_shim

    monkeypatch.setenv('NRFCLOUD_API_KEY', creds.NRFCLOUD_TEAM_A_API_KEY)
    monkeypatch.setenv('IOTOPS_TIMEOUT', '7')
    warnings = []
    shim = module_shim(argument_spec(ARGSPEC), {'validate_certs': False}, warn=warnings.append, name='iotops.provisioning.fleet')
    assert shim.params['api_key'] == creds.NRFCLOUD_TEAM_A_API_KEY and shim.params['timeout'] == 7.0
    assert shim.params['api_url'] == 'https://api.nrfcloud.com/v1' and shim.params['retries'] == 5
    assert creds.NRFCLOUD_TEAM_A_API_KEY in shim.no_log_values
    client = nrfcloud_client(shim)   # builds the session; no request is sent
    assert client.http.session.headers['User-Agent'] == 'iotops.provisioning (fleet)'
    assert warnings and 'validate_certs=false' in warnings[0]
    with pytest.raises(ConfigError) as bad:
        module_shim(argument_spec(ARGSPEC), {'api_key': 'k' * 40, 'timeout': 'soon', 'colour': 'red'}, where='nrfcloud')
    assert 'nrfcloud: unknown option(s) colour; the options are api_key' in bad.value.msg
    assert "argument 'timeout' is of type" in bad.value.msg and 'k' * 40 not in bad.value.msg
    assert shim.redact('key %s' % creds.NRFCLOUD_TEAM_A_API_KEY) == 'key ********'
