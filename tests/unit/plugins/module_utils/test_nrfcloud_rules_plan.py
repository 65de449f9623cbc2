# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioning-rule planner and input checks, from data alone (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import build_request
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_rules import (
    check_against, plan_rule, rule_commands, tags_to_create, validate_rule)

SEC = 16842753


def item(**fields):
    base = dict(name=None, id=None, description=None, active=None, tags=None, commands=None, state='present')
    base.update(fields)
    return base


def cmd(kind, **options):
    return dict(dict(kind=kind, description=None, sec_tag=None, attributes=None, key_usage=None, content=None, password=None,
                     identity=None, secret=None, config=None), **options)


ONBOARDING = [cmd('clientPrivateKeyGeneration'), cmd('cloudAccessKeyGeneration')]
HAVE = dict(id='r-1', name='Onboarding', description='', active=True, tags=['nrf-cloud-onboarding'],
            commands=[{'request': {'clientPrivateKeyGeneration': {'secTag': SEC}}}, {'request': {'cloudAccessKeyGeneration': {'secTag': SEC}}}])


def test_requests_of_a_rule():
    assert build_request(cmd('cloudAccessKeyGeneration', sec_tag=7), None) == {'cloudAccessKeyGeneration': {'secTag': 7}}
    # a rule serves many devices: its CSR has no CN
    assert build_request(cmd('certificateSigningRequest', attributes='O=Acme, C=no'), None) == {
        'certificateSigningRequest': {'secTag': SEC, 'attributes': 'O=Acme,C=no', 'keyUsage': '101010000'}}
    assert rule_commands([cmd('finished', description='done')]) == [{'request': {'finished': {}}, 'description': 'done'}]


def test_create_update_none_delete():
    created = plan_rule(item(name='New', tags=['t'], commands=[cmd('finished')]), [HAVE], ['t'])
    assert created.action == 'create' and created.data['tags'] == ['t'] and created.result['tags_created'] == ['t']
    assert created.after == dict(name='New', description='', active=True, tags=['t'], commands=['finished: '])
    same = plan_rule(item(name='Onboarding', tags=['nrf-cloud-onboarding'], commands=ONBOARDING), [HAVE])
    assert same.action == 'none'
    # tags compare as a set, a field left out keeps the rule's value
    assert plan_rule(item(name='Onboarding', description=''), [HAVE]).action == 'none'
    off = plan_rule(item(name='Onboarding', active=False), [HAVE])
    assert off.action == 'update' and off.data['body']['commands'] == HAVE['commands'] and off.data['id'] == 'r-1'
    assert off.before['active'] is True and off.after['active'] is False
    reordered = plan_rule(item(name='Onboarding', commands=list(reversed(ONBOARDING))), [HAVE])
    assert reordered.action == 'update'
    renamed = plan_rule(item(id='r-1', name='Renamed'), [HAVE])
    assert renamed.action == 'update' and renamed.item == 'Renamed' and renamed.data['body']['name'] == 'Renamed'
    assert plan_rule(item(name='Onboarding', state='absent'), [HAVE]).action == 'delete'
    assert plan_rule(item(name='Gone', state='absent'), [HAVE]).action == 'none'
    tagged = plan_rule(item(name='Onboarding', tags=['nrf-cloud-onboarding']), [HAVE], ['nrf-cloud-onboarding'])
    assert tagged.action == 'create tags'


def test_tags_are_created_once_by_the_first_rule_that_uses_them():
    items = [item(name='A', tags=['x', 'y']), item(name='B', tags=['y', 'z']), item(name='C', tags=['w'], state='absent')]
    assert tags_to_create(items, ['x']) == {'A': ['y'], 'B': ['z']}


@pytest.mark.parametrize('fields, words', [
    (dict(), 'name or id is required'),
    (dict(name=' '), 'name must be 1 to 255 characters'),
    (dict(name='r', tags=[]), 'tags must list 1 to 20 provisioning tags'),
    (dict(name='r', tags=['a,b']), "tags[0] 'a,b' must be 1 to 128 characters without a comma"),
    (dict(name='r', tags=['a', 'a']), 'tags lists a tag twice: a'),
    (dict(name='r', description='d' * 256), 'description is 256 characters long'),
    (dict(name='r', commands=[]), 'commands must list 1 to 20 commands'),
    (dict(name='r', commands=[cmd('finished'), cmd('clientPrivateKeyGeneration')]), 'commands[0] (finished): finished must be the last'),
    (dict(name='r', commands=[cmd('cloudAccessKeyGeneration', attributes='O=x')]), 'attributes does not apply to a cloudAccessKeyGeneration'),
    (dict(name='r', commands=[cmd('cloudAccessKeyGeneration', sec_tag=-1)]), 'sec_tag -1 is out of range'),
    (dict(name='r', commands=[cmd('certificateSigningRequest', attributes='CN=x')]), 'attributes must not set CN'),
])
def test_bad_input(fields, words):
    with pytest.raises(ConfigError) as raised:
        validate_rule(item(**fields))
    assert words in raised.value.msg


def test_checks_after_the_read():
    twins = [dict(HAVE), dict(HAVE, id='r-2')]
    with pytest.raises(ConfigError, match='2 provisioning rules are named .Onboarding. .ids r-1, r-2.; give the id'):
        check_against(item(name='Onboarding', active=False), twins)
    assert check_against(item(id='r-2', active=False), twins)['id'] == 'r-2'
    with pytest.raises(ConfigError, match='commands is required to create the rule'):
        check_against(item(name='New', tags=['t']), [HAVE])
    with pytest.raises(ConfigError, match='tags and commands are required'):
        check_against(item(name='New'), [HAVE])
    with pytest.raises(ConfigError, match='no provisioning rule with id r-9'):
        check_against(item(id='r-9', active=True), [HAVE])
    psk = dict(HAVE, commands=[{'request': {'preSharedKey': {'secTag': 1, 'identity': 'i'}}}])
    with pytest.raises(ConfigError, match='its preSharedKey commands hold write-only fields'):
        check_against(item(name='Onboarding', active=False), [psk])
    assert check_against(item(name='Onboarding', state='absent'), twins[:1])['id'] == 'r-1'
