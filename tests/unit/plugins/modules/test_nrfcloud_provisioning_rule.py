# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_provisioning_rule against the mock's Provisioning Service: rules, tags, and the rule's effect on a claim."""

from __future__ import annotations

import json

import pytest
import requests
from nrfcloud_utils import ca_certs, nrf_cloud_diap

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_provisioning, nrfcloud_provisioning_rule
from iotops_mock.factory_ca import factory_ca_pems

SEC_TAG = 16842753


@pytest.fixture(scope='module')
def root_ca():
    return factory_ca_pems('Mock Root CA')[0]


@pytest.fixture
def nrf(mock):
    mock.admin.call('POST', '/nrfcloud/simulator', {'connect_delay': 0.05, 'command_delay': 0.01, 'bulk_delay': 0.05})
    return mock


def args(mock, creds, rules, **extra):
    return dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, rules=rules, **extra)


def onboarding_rule(root_ca, **extra):
    rule = dict(name='nRF Cloud Onboarding', description='Onboarding rule for nRF Cloud', tags=['nrf-cloud-onboarding'],
                commands=[dict(kind='clientPrivateKeyGeneration', sec_tag=SEC_TAG), dict(kind='cloudAccessKeyGeneration', sec_tag=SEC_TAG),
                          dict(kind='serverCertificate', sec_tag=SEC_TAG, content=root_ca)])
    rule.update(extra)
    return rule


def team_rules(mock):
    return mock.admin.state()['nrfcloud']['provisioningRules'].get('a', {'rules': [], 'tags': []})


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def endpoint(mock, method, path):
    return mock.admin.counters()['endpoints'].get('nrfcloud-provisioning %s /v1%s' % (method, path), 0)


def test_onboarding_rule_created_with_its_tag_then_idempotent(nrf, creds, run, root_ca):
    predicted = run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca)]), check_mode=True, diff=True)
    assert predicted['changed'] and writes(nrf) == 0
    assert predicted['outcomes'][0]['action'] == 'create' and predicted['outcomes'][0]['tags_created'] == ['nrf-cloud-onboarding']
    assert predicted['diff']['after']['nRF Cloud Onboarding']['commands'][1] == 'cloudAccessKeyGeneration: '

    result = run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca)]))
    assert result['changed'] and result['summary']['changed'] == 1, result.get('msg')
    state = team_rules(nrf)
    assert [t['tag'] for t in state['tags']] == ['nrf-cloud-onboarding']
    assert state['tags'][0]['description'] == 'Generated tag for rule: nRF Cloud Onboarding'
    rule = state['rules'][0]
    assert rule['name'] == 'nRF Cloud Onboarding' and rule['active'] is True and rule['tags'] == ['nrf-cloud-onboarding']
    assert [list(c['request'])[0] for c in rule['commands']] == ['clientPrivateKeyGeneration', 'cloudAccessKeyGeneration', 'serverCertificate']
    assert result['outcomes'][0]['rule']['id'] == rule['id']
    assert endpoint(nrf, 'POST', '/provisioning/tags') == 1 and endpoint(nrf, 'POST', '/provisioning-rules') == 1

    nrf.admin.reset_counters()
    again = run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca)]))
    assert again['changed'] is False and again['outcomes'][0]['action'] == 'none' and writes(nrf) == 0
    assert run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca)]), check_mode=True)['changed'] is False
    assert writes(nrf) == 0


def test_a_device_claimed_with_the_tag_gets_the_rules_commands(nrf, creds, run, root_ca):
    run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca)]))
    tagged, plain = nrf.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 2})['devices']
    base = dict(provisioning_api_url=nrf.url + '/nrfcloud-provisioning/v1', api_url=nrf.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, wait_interval=0.05, wait_timeout=10)
    devices = [dict(claim_token=tagged['claim_token'], tags=['nrf-cloud-onboarding']), dict(claim_token=plain['claim_token'], tags=['other'])]
    claimed = run(nrfcloud_provisioning, dict(base, devices=devices, wait_for='AWAITING'))
    assert not claimed.get('failed'), claimed.get('msg')
    devices = dict((d['id'], d) for d in nrf.admin.state()['nrfcloud']['teams']['a']['claimedDevices'])
    kinds = [list(c['request'])[0] for c in devices[tagged['device_id']]['commands']]
    assert kinds == ['clientPrivateKeyGeneration', 'cloudAccessKeyGeneration', 'serverCertificate']
    assert devices[tagged['device_id']]['status'] == 'AWAITING' and devices[tagged['device_id']]['hasJwtKey'] is True
    assert devices[plain['device_id']]['commands'] == []


def test_update_rename_switch_off_and_delete(nrf, creds, run, root_ca):
    first = run(nrfcloud_provisioning_rule, args(nrf, creds, [onboarding_rule(root_ca), dict(
        name='Line 1', tags=['line-1'], commands=[dict(kind='certificateSigningRequest', attributes='O=Mock,C=no')])]))
    rule_id = first['outcomes'][1]['rule']['id']
    assert first['outcomes'][1]['rule']['commands'][0]['request']['certificateSigningRequest']['attributes'] == 'O=Mock,C=no'

    nrf.admin.reset_counters()
    change = [dict(id=rule_id, name='Line 1 (2026)', active=False, tags=['line-1', 'line-1-rework'])]
    predicted = run(nrfcloud_provisioning_rule, args(nrf, creds, change), check_mode=True, diff=True)
    assert predicted['outcomes'][0]['action'] == 'update' and writes(nrf) == 0
    assert predicted['diff']['before']['Line 1 (2026)']['name'] == 'Line 1'
    assert predicted['diff']['after']['Line 1 (2026)'] == dict(name='Line 1 (2026)', description='', active=False,
                                                               tags=['line-1', 'line-1-rework'], commands=['certificateSigningRequest: '])
    updated = run(nrfcloud_provisioning_rule, args(nrf, creds, change))
    assert updated['changed'] and updated['outcomes'][0]['tags_created'] == ['line-1-rework']
    rule = next(r for r in team_rules(nrf)['rules'] if r['id'] == rule_id)
    assert rule['name'] == 'Line 1 (2026)' and rule['active'] is False and sorted(rule['tags']) == ['line-1', 'line-1-rework']
    assert len(rule['commands']) == 1  # the commands it had, kept
    assert endpoint(nrf, 'PUT', '/provisioning-rules/{rule_id}') == 1 and writes(nrf) == 2
    assert run(nrfcloud_provisioning_rule, args(nrf, creds, change))['changed'] is False

    nrf.admin.reset_counters()
    gone = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(name='Line 1 (2026)'), dict(name='nRF Cloud Onboarding')], state='absent'))
    assert [o['action'] for o in gone['outcomes']] == ['delete', 'delete'] and writes(nrf) == 2
    assert team_rules(nrf)['rules'] == [] and len(team_rules(nrf)['tags']) == 3  # tags stay
    again = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(name='Line 1 (2026)')], state='absent'))
    assert again['changed'] is False


def test_nordics_own_tool_and_the_module_agree_on_the_onboarding_rule(nrf, creds, run, monkeypatch):
    """nrfcloud-utils' ensure_nrfcloud_provisioning_rule (list, create the tag, create the rule) works against the mock, and the
    module finds the rule it made as wanted; the module then creates the tag another tool left out."""
    monkeypatch.setattr(nrf_cloud_diap, 'api_url', nrf.url + '/nrfcloud-provisioning/v1/')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    nrf_cloud_diap.ensure_nrfcloud_provisioning_rule(creds.NRFCLOUD_TEAM_A_API_KEY, SEC_TAG)
    nrf_cloud_diap.ensure_nrfcloud_provisioning_rule(creds.NRFCLOUD_TEAM_A_API_KEY, SEC_TAG)  # found: not made twice
    state = team_rules(nrf)
    assert len(state['rules']) == 1 and [t['tag'] for t in state['tags']] == ['nrf-cloud-onboarding']
    rule = onboarding_rule(ca_certs.get_ca_certs(coap=True))
    nrf.admin.reset_counters()
    assert run(nrfcloud_provisioning_rule, args(nrf, creds, [rule]))['changed'] is False and writes(nrf) == 0

    nrf.admin.reset()
    made = requests.post(nrf.url + '/nrfcloud-provisioning/v1/provisioning-rules', timeout=10,
                         headers={'Authorization': 'Bearer ' + creds.NRFCLOUD_TEAM_A_API_KEY},
                         json=dict(name='Line 2', commands=[{'request': {'finished': {}}}], tags=['line-2']))
    assert made.status_code == 201, made.text
    result = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(name='Line 2', tags=['line-2'], commands=[dict(kind='finished')])]))
    assert result['outcomes'][0]['action'] == 'create tags' and result['outcomes'][0]['tags_created'] == ['line-2']
    assert endpoint(nrf, 'PUT', '/provisioning-rules/{rule_id}') == 0 and [t['tag'] for t in team_rules(nrf)['tags']] == ['line-2']


def test_secrets_never_in_the_result(nrf, creds, run):
    rule = dict(name='PSK', tags=['psk'], commands=[dict(kind='preSharedKey', sec_tag=7, identity='line', secret='00112233445566778899AABB')])
    result = run(nrfcloud_provisioning_rule, args(nrf, creds, [rule]), diff=True)
    assert result['changed'] and '00112233445566778899AABB' not in json.dumps(result)
    assert run(nrfcloud_provisioning_rule, args(nrf, creds, [rule]))['changed'] is False
    # a rule with write-only fields cannot be sent back without its commands
    refused = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(name='PSK', active=False)]))
    assert refused['failed'] and 'give commands to manage this rule' in refused['msg'] and 'preSharedKey' in refused['msg']


def test_refusals_after_the_read_send_no_write(nrf, creds, run):
    missing = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(name='New rule', tags=['x'])]))
    assert missing['failed'] and 'commands is required to create the rule' in missing['msg']
    unknown = run(nrfcloud_provisioning_rule, args(nrf, creds, [dict(id='no-such-id', active=False)]))
    assert unknown['failed'] and 'no provisioning rule with id no-such-id' in unknown['msg']
    assert writes(nrf) == 0
