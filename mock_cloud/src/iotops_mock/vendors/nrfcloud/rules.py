"""nRF Cloud Provisioning Service (/nrfcloud-provisioning/v1): provisioning rules and provisioning tags.

A part of the NrfCloud vendor. The list and create calls are the ones Nordic's nrfcloud-utils sends (nrf_cloud_diap.py:
``GET``/``POST /v1/provisioning-rules``, ``GET``/``POST /v1/provisioning/tags``); reading, replacing and deleting one rule
(``GET``/``PUT``/``DELETE /v1/provisioning-rules/{rule_id}``) are the mock's guess at the REST convention (no archived
source names them; docs/mock-assumptions.md). A rule's effect: a device claimed with a tag of an active rule gets the rule's
commands appended (``apply_rules``, which the provisioning part calls when a device is claimed).
"""

import copy
import uuid

from starlette.responses import Response
from starlette.routing import Route

from ...common import json_response, read_json, utc_iso
from .commands import MAX_COMMANDS, MAX_DESCRIPTION, public_request, validate_command

RULE_FIELDS = ('name', 'description', 'active', 'commands', 'tags')
MAX_NAME = 255
MAX_TAG = 128
MAX_RULE_TAGS = 20


def check_tag(tag, where):
    """A provisioning tag: a non-empty string without a comma (the bulk claim CSV joins a device's tags with commas)."""
    if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG or ',' in tag:
        raise ValueError('%s must be a non-empty string of at most %d characters without a comma' % (where, MAX_TAG))


def validate_rule(body):
    """Check a rule body (create or replace); ValueError names the field and the rule. Returns the body with defaults."""
    if not isinstance(body, dict):
        raise ValueError('the body must be a JSON object {name, description?, active?, commands, tags}')
    unknown = sorted(set(body) - set(RULE_FIELDS))
    if unknown:
        raise ValueError('unknown field %s; a rule has %s' % (', '.join(unknown), ', '.join(RULE_FIELDS)))
    name = body.get('name')
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError('name is required: a non-empty string of at most %d characters' % MAX_NAME)
    description = body.get('description', '')
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValueError('description must be a string of at most %d characters' % MAX_DESCRIPTION)
    active = body.get('active', True)
    if not isinstance(active, bool):
        raise ValueError('active must be true or false')
    commands = body.get('commands')
    if not isinstance(commands, list) or not 1 <= len(commands) <= MAX_COMMANDS:
        raise ValueError('commands must be a list of 1 to %d commands {"description"?, "request"}' % MAX_COMMANDS)
    for index, command in enumerate(commands):
        try:
            validate_command(command)
        except ValueError as exc:
            raise ValueError('commands[%d]: %s' % (index, exc)) from None
    tags = body.get('tags')
    if not isinstance(tags, list) or not 1 <= len(tags) <= MAX_RULE_TAGS:
        raise ValueError('tags must be a list of 1 to %d provisioning tags (the rule applies to devices claimed with one of them)'
                         % MAX_RULE_TAGS)
    for index, tag in enumerate(tags):
        check_tag(tag, 'tags[%d]' % index)
    return dict(name=name, description=description, active=active, commands=copy.deepcopy(commands), tags=list(dict.fromkeys(tags)))


def public_rule(rule):
    """A rule as the API shows it: secrets of its commands omitted, internal fields dropped."""
    view = {key: value for key, value in rule.items() if not key.startswith('_')}
    view['commands'] = [dict(command, request=public_request(command['request'])) for command in rule['commands']]
    return view


class ProvisioningRules:
    """Rules and tags per team (by team label); reset with the vendor."""

    def __init__(self, core):
        self.core = core
        self.reset()

    def reset(self):
        self.rules = {}   # team label -> {rule id: rule}
        self.tags = {}    # team label -> {tag: record}
        self.sequence = 0

    def routes(self):
        one = '/v1/provisioning-rules/{rule_id}'
        return [
            Route('/v1/provisioning-rules', self.list_rules, methods=['GET']),
            Route('/v1/provisioning-rules', self.create_rule, methods=['POST']),
            Route(one, self.get_rule, methods=['GET']),
            Route(one, self.replace_rule, methods=['PUT']),
            Route(one, self.delete_rule, methods=['DELETE']),
            Route('/v1/provisioning/tags', self.list_tags, methods=['GET']),
            Route('/v1/provisioning/tags', self.create_tag, methods=['POST']),
        ]

    def dump(self):
        """{team label: {"rules": [...], "tags": [...]}} of the teams that have either."""
        return dict((label, {'rules': [public_rule(rule) for rule in sorted(self.rules.get(label, {}).values(), key=lambda r: r['_seq'])],
                             'tags': sorted(self.tags.get(label, {}).values(), key=lambda t: t['tag'])})
                    for label in sorted(set(self.rules) | set(self.tags)))

    # helpers ------------------------------------------------------------------------------------

    async def body(self, request, check):
        try:
            body = await read_json(request)
            return check(body)
        except ValueError as exc:
            raise self.core.error(400, 40000, str(exc)) from None

    def team_rules(self, request):
        team = self.core.team_for(request)
        return team, self.rules.setdefault(team.label, {})

    def rule(self, request):
        team, rules = self.team_rules(request)
        rule = rules.get(request.path_params['rule_id'])
        if rule is None:
            raise self.core.error(404, 40400, 'Provisioning rule %s not found' % request.path_params['rule_id'])
        return team, rules, rule

    def refuse_same_name(self, rules, name, rule_id=None):
        if any(rule['name'] == name and rule['id'] != rule_id for rule in rules.values()):
            raise self.core.error(409, 40903, 'A provisioning rule named %r already exists' % name)

    # rules --------------------------------------------------------------------------------------

    async def list_rules(self, request):
        dummy, rules = self.team_rules(request)
        return json_response(self.core.page(request, list(rules.values()), sort_key=lambda rule: rule['_seq'], render=public_rule))

    async def create_rule(self, request):
        team, rules = self.team_rules(request)
        fields = await self.body(request, validate_rule)
        self.refuse_same_name(rules, fields['name'])
        stamp = utc_iso(self.core.clock.now())
        self.sequence += 1
        rule = dict(id=str(uuid.uuid4()), createdAt=stamp, updatedAt=stamp, _seq=self.sequence, **fields)
        rules[rule['id']] = rule
        return json_response(public_rule(rule), 201)

    async def get_rule(self, request):
        dummy, dummy2, rule = self.rule(request)
        return json_response(public_rule(rule))

    async def replace_rule(self, request):
        dummy, rules, rule = self.rule(request)
        fields = await self.body(request, validate_rule)
        self.refuse_same_name(rules, fields['name'], rule['id'])
        rule.update(fields, updatedAt=utc_iso(self.core.clock.now()))
        return json_response(public_rule(rule))

    async def delete_rule(self, request):
        dummy, rules, rule = self.rule(request)
        del rules[rule['id']]
        return Response(status_code=204)

    # tags ---------------------------------------------------------------------------------------

    async def list_tags(self, request):
        team = self.core.team_for(request)
        tags = list(self.tags.get(team.label, {}).values())
        return json_response(self.core.page(request, tags, sort_key=lambda tag: tag['tag']))

    async def create_tag(self, request):
        team = self.core.team_for(request)
        body = await self.body(request, check_tag_body)
        tags = self.tags.setdefault(team.label, {})
        if body['tag'] in tags:
            raise self.core.error(409, 40904, 'The provisioning tag %r already exists' % body['tag'])
        tags[body['tag']] = dict(body, createdAt=utc_iso(self.core.clock.now()))
        return json_response(tags[body['tag']], 201)

    # the effect of the rules --------------------------------------------------------------------

    def apply_rules(self, team, device):
        """Append the commands of every active rule that covers one of the device's tags, in the order the rules were made;
        a command that would go past the device's 20 is left out."""
        now = self.core.clock.now()
        covering = [rule for rule in sorted(self.rules.get(team.label, {}).values(), key=lambda r: r['_seq'])
                    if rule['active'] and set(rule['tags']) & set(device.tags)]
        for rule in covering:
            for command in rule['commands']:
                if len(device.commands) >= MAX_COMMANDS:
                    return
                device.add_command({'request': copy.deepcopy(command['request']), 'description': command.get('description') or rule['name']},
                                   now, self.core.settings)


def check_tag_body(body):
    if not isinstance(body, dict) or set(body) - {'tag', 'description'}:
        raise ValueError('the body must be a JSON object {"tag", "description"?}')
    check_tag(body.get('tag'), 'tag')
    description = body.get('description', '')
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValueError('description must be a string of at most %d characters' % MAX_DESCRIPTION)
    return dict(tag=body['tag'], description=description)
