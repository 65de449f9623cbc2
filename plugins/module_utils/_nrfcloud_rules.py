# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud provisioning rules and provisioning tags: the client calls, the rule's request body and the planner.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

A provisioning rule of the Provisioning Service gives every device claimed with one of its tags the rule's commands
(Nordic's auto-onboarding rule uses the tag ``nrf-cloud-onboarding``). Nordic's nrfcloud-utils lists and creates rules
(``GET``/``POST /provisioning-rules``, body ``{name, description, active, commands: [{request}], tags}``) and tags
(``GET``/``POST /provisioning/tags``, body ``{tag, description}``). Replacing and deleting one rule
(``PUT``/``DELETE /provisioning-rules/{id}``) follow the REST convention of the service; no published source names them.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    CLOUD_ACCESS_KEY, COMMAND_SPEC, KINDS, WRITE_ONLY, build_request, command_kind, identity, public_request, validate_commands)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan

RULES_PATH = '/provisioning-rules'
TAGS_PATH = '/provisioning/tags'
# a rule may also generate the cloud access key (auto-onboarding: the device's JWT key registered in nRF Cloud)
RULE_KINDS = KINDS[:1] + (CLOUD_ACCESS_KEY,) + KINDS[1:]
RULE_COMMAND_SPEC = dict(COMMAND_SPEC, kind=dict(type='str', required=True, choices=list(RULE_KINDS)))
NAME_MAX = 255
DESCRIPTION_MAX = 255
TAG_MAX = 128
TAGS_MAX = 20
CREATE, UPDATE, DELETE, CREATE_TAGS = 'create', 'update', 'delete', 'create tags'


# -- the client calls ------------------------------------------------------------------------------

def list_rules(client):
    """Every provisioning rule of the team."""
    return [r for r in client.list_all(RULES_PATH, service='provisioning') if isinstance(r, dict)]


def list_tags(client):
    """Every provisioning tag of the team."""
    return [t for t in client.list_all(TAGS_PATH, service='provisioning') if isinstance(t, dict)]


def rule_named(client, name):
    return next((r for r in list_rules(client) if r.get('name') == name), None)


def create_tag(client, tag, description):
    """Create a provisioning tag; one that exists already (409, made meanwhile) is fine."""
    def made():
        return next((t for t in list_tags(client) if t.get('tag') == tag), None)
    try:
        client.request('POST', TAGS_PATH, service='provisioning', json_body=dict(tag=tag, description=description), expect=(200, 201),
                       verify_write=made)
    except ApiError as exc:
        if exc.status != 409:
            raise


def create_rule(client, body):
    return client.request('POST', RULES_PATH, service='provisioning', json_body=body, expect=(200, 201),
                          verify_write=lambda: rule_named(client, body['name'])).body


def replace_rule(client, rule_id, body):
    return client.request('PUT', '%s/%s' % (RULES_PATH, quote(rule_id, safe='')), service='provisioning', json_body=body,
                          expect=(200, 201, 204)).body


def delete_rule(client, rule_id):
    def gone():
        return {} if all(r.get('id') != rule_id for r in list_rules(client)) else None
    client.request('DELETE', '%s/%s' % (RULES_PATH, quote(rule_id, safe='')), service='provisioning', expect=(200, 202, 204),
                   verify_write=gone)


# -- the input --------------------------------------------------------------------------------------

def validate_rule(item):
    """Check one rule of the task before any request (ConfigError names the option and the rule)."""
    if not item.get('name') and not item.get('id'):
        raise ConfigError('name or id is required: a rule is found by its name, or by the id nRF Cloud gave it')
    name = item.get('name')
    if name is not None and (not name.strip() or len(name) > NAME_MAX):
        raise ConfigError('name must be 1 to %d characters and not blank, got %r' % (NAME_MAX, name))
    if item['state'] == 'absent':
        return
    if item.get('description') is not None and len(item['description']) > DESCRIPTION_MAX:
        raise ConfigError('description is %d characters long; the Provisioning Service takes at most %d' % (len(item['description']), DESCRIPTION_MAX))
    validate_tags(item.get('tags'))
    if item.get('commands') is not None:
        validate_commands(item['commands'], 'commands', least=1)


def validate_tags(tags):
    if tags is None:
        return
    if not 1 <= len(tags) <= TAGS_MAX:
        raise ConfigError('tags must list 1 to %d provisioning tags (a rule applies to the devices claimed with one of them), got %d'
                          % (TAGS_MAX, len(tags)))
    for index, tag in enumerate(tags):
        if not tag or not tag.strip() or len(tag) > TAG_MAX or ',' in tag:
            raise ConfigError('tags[%d] %r must be 1 to %d characters without a comma (claims list a device\'s tags comma-separated)'
                              % (index, tag, TAG_MAX))
    if len(set(tags)) != len(tags):
        raise ConfigError('tags lists a tag twice: %s' % ', '.join(sorted(set(t for t in tags if tags.count(t) > 1))))


def rule_commands(commands):
    """The rule's commands as the API takes them: ``[{request, description?}]``."""
    result = []
    for cmd in commands:
        entry = {'request': build_request(cmd, None)}
        if cmd.get('description'):
            entry['description'] = cmd['description']
        result.append(entry)
    return result


# -- the planner ---------------------------------------------------------------------------------------

def find_rule(item, rules):
    """The rule of the team the item names: by ``id`` when given, else by ``name``; ConfigError when the name is ambiguous."""
    if item.get('id'):
        return next((r for r in rules if r.get('id') == item['id']), None)
    same = [r for r in rules if r.get('name') == item['name']]
    if len(same) > 1:
        raise ConfigError('%d provisioning rules are named %r (ids %s); give the id of the one to manage'
                          % (len(same), item['name'], ', '.join(str(r.get('id')) for r in same)))
    return same[0] if same else None


def rule_view(rule):
    """The managed fields of a rule, for the diff: its commands as ``kind: description``."""
    if not rule:
        return {}
    return dict(name=rule.get('name'), description=rule.get('description') or '', active=rule.get('active', True),
                tags=sorted(rule.get('tags') or []),
                commands=['%s: %s' % (command_kind(c.get('request') or {}), c.get('description') or '') for c in rule.get('commands') or []])


def same_commands(have, want):
    key = [identity(c.get('request') or {}, c.get('description')) for c in have or []]
    return key == [identity(c['request'], c.get('description')) for c in want]


def write_only_kinds(commands):
    return sorted(set(command_kind(c.get('request') or {}) for c in commands or []) & set(WRITE_ONLY))


def wanted_body(item, have):
    """The full body of the rule after the task: the fields given, and the rule's own for the others."""
    have = have or {}
    commands = rule_commands(item['commands']) if item.get('commands') is not None else [
        dict((k, v) for k, v in c.items() if k in ('request', 'description')) for c in have.get('commands') or []]
    return dict(name=item.get('name') or have.get('name'),
                description=item['description'] if item.get('description') is not None else have.get('description') or '',
                active=item['active'] if item.get('active') is not None else have.get('active', True),
                commands=commands, tags=list(item['tags']) if item.get('tags') is not None else list(have.get('tags') or []))


def differs(body, have):
    return (body['name'] != have.get('name') or body['description'] != (have.get('description') or '')
            or body['active'] != have.get('active', True) or sorted(body['tags']) != sorted(have.get('tags') or [])
            or not same_commands(have.get('commands'), body['commands']))


def plan_rule(item, rules, new_tags=()):
    """What one rule of the task needs, from the team's rules (``rules``) and the tags only this rule creates (``new_tags``):
    ``create``, ``update`` (PUT the whole rule), ``create tags`` (the rule is as wanted, a tag it uses is missing), ``delete``."""
    have = check_against(item, rules)
    key = rule_key(item)
    if item['state'] == 'absent':
        return Plan(key, DELETE if have else NO_CHANGE, before=rule_view(have), after={}, id=(have or {}).get('id'))
    body = wanted_body(item, have)
    if have is None:
        action = CREATE
    elif differs(body, have):
        action = UPDATE
    else:
        action = CREATE_TAGS if new_tags else NO_CHANGE
    return Plan(key, action, before=rule_view(have), after=rule_view(body),
                result=dict(tags_created=list(new_tags), rule=shown_rule(dict(have or {}, **body))), id=(have or {}).get('id'), body=body,
                tags=list(new_tags))


def shown_rule(rule):
    """A rule for results: its commands without write-only secrets."""
    return dict(rule, commands=[dict(c, request=public_request(c.get('request') or {})) for c in rule.get('commands') or []])


def rule_key(item):
    return item.get('name') or item.get('id')


def check_against(item, rules):
    """The rule the item names, once the team's rules are read; ConfigError (still before any write) when the item cannot be
    worked: its name is ambiguous, its id unknown, a rule to create lacks tags or commands, or the rule's own commands
    cannot be sent back."""
    have = find_rule(item, rules)
    if item['state'] == 'absent':
        return have
    if have is not None:
        if item.get('commands') is None and write_only_kinds(have.get('commands')):
            raise ConfigError('give commands to manage this rule: its %s commands hold write-only fields nRF Cloud does not return, '
                              'so the module cannot send them back' % ', '.join(write_only_kinds(have.get('commands'))))
        return have
    if item.get('id'):
        raise ConfigError('the team has no provisioning rule with id %s; give name (and no id) to create it' % item['id'])
    missing = [option for option in ('tags', 'commands') if not item.get(option)]
    if missing:
        raise ConfigError('%s required to create the rule %r: the team has no rule of that name'
                          % (' and '.join(missing) + (' are' if len(missing) > 1 else ' is'), rule_key(item)))
    return None


def tags_to_create(items, existing_tags):
    """{rule key: [tags]}: each tag the present rules use that the team lacks, created once, by the first rule that uses it."""
    known, result = set(existing_tags), {}
    for item in items:
        if item['state'] != 'present':
            continue
        for tag in item.get('tags') or []:
            if tag not in known:
                known.add(tag)
                result.setdefault(rule_key(item), []).append(tag)
    return result
