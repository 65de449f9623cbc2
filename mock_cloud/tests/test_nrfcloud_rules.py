"""nRF Cloud provisioning rules and tags: the calls Nordic's tools send, the guessed ones, their rules, and a rule's effect on
a claim."""

from .helpers import nrf_key

PROV = '/nrfcloud-provisioning/v1'
RULES = PROV + '/provisioning-rules'
TAGS = PROV + '/provisioning/tags'
CLAIMED = PROV + '/claimed-devices'
SEC = 16842753


def rule(name='Onboarding', tags=('nrf-cloud-onboarding',), **extra):
    body = dict(name=name, description='d', active=True, tags=list(tags),
                commands=[{'request': {'clientPrivateKeyGeneration': {'secTag': SEC}}}, {'request': {'cloudAccessKeyGeneration': {'secTag': SEC}}}])
    body.update(extra)
    return body


def claim(mock, http, tags, team='a'):
    device = mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 1})['devices'][0]
    answer = http.post(mock.url + CLAIMED, json={'claimToken': device['claim_token'], 'tags': tags}, headers=nrf_key(team))
    assert answer.status_code == 201, answer.text
    return device['device_id']


def commands(mock, device_id):
    device = next(d for d in mock.admin.state()['nrfcloud']['teams']['a']['claimedDevices'] if d['id'] == device_id)
    return device['commands']


def test_create_list_read_replace_delete(mock, http):
    made = http.post(mock.url + RULES, json=rule(), headers=nrf_key())
    assert made.status_code == 201
    body = made.json()
    assert body['name'] == 'Onboarding' and body['active'] is True and body['id'] and body['createdAt']
    listed = http.get(mock.url + RULES, headers=nrf_key()).json()
    assert [r['id'] for r in listed['items']] == [body['id']] and listed['total'] == 1
    assert http.get(mock.url + RULES, headers=nrf_key('b')).json()['items'] == []  # per team
    assert http.get(mock.url + RULES + '/' + body['id'], headers=nrf_key()).json()['tags'] == ['nrf-cloud-onboarding']
    replaced = http.put(mock.url + RULES + '/' + body['id'], json=rule(active=False), headers=nrf_key())
    assert replaced.status_code == 200 and replaced.json()['active'] is False
    assert http.delete(mock.url + RULES + '/' + body['id'], headers=nrf_key()).status_code == 204
    assert http.get(mock.url + RULES + '/' + body['id'], headers=nrf_key()).status_code == 404
    assert mock.admin.state()['nrfcloud']['provisioningRules']['a']['rules'] == []


def test_rule_rules(mock, http):
    def refused(body, status=400):
        answer = http.post(mock.url + RULES, json=body, headers=nrf_key())
        assert answer.status_code == status, answer.text
        return answer.json()['message']
    assert 'name is required' in refused(rule(name=''))
    assert 'unknown field colour' in refused(dict(rule(), colour='red'))
    assert 'commands must be a list of 1 to 20' in refused(rule(commands=[]))
    assert 'commands[0]: request.nope is not a command kind' in refused(rule(commands=[{'request': {'nope': {}}}]))
    assert 'tags[0] must be a non-empty string' in refused(rule(tags=['a,b']))
    assert 'active must be true or false' in refused(rule(active='yes'))
    http.post(mock.url + RULES, json=rule(), headers=nrf_key())
    assert 'already exists' in refused(rule(), 409)
    secret = rule(name='PSK', commands=[{'request': {'preSharedKey': {'secTag': 1, 'identity': 'i', 'secret': 'AABB'}}}])
    shown = http.post(mock.url + RULES, json=secret, headers=nrf_key()).json()
    assert shown['commands'][0]['request'] == {'preSharedKey': {'secTag': 1, 'identity': 'i'}}


def test_tags(mock, http):
    made = http.post(mock.url + TAGS, json={'tag': 'nrf-cloud-onboarding', 'description': 'Generated'}, headers=nrf_key())
    assert made.status_code == 201 and made.json()['tag'] == 'nrf-cloud-onboarding'
    assert http.post(mock.url + TAGS, json={'tag': 'nrf-cloud-onboarding'}, headers=nrf_key()).status_code == 409
    assert http.post(mock.url + TAGS, json={'tag': ''}, headers=nrf_key()).status_code == 400
    assert [t['tag'] for t in http.get(mock.url + TAGS, headers=nrf_key()).json()['items']] == ['nrf-cloud-onboarding']
    mock.admin.reset()
    assert http.get(mock.url + TAGS, headers=nrf_key()).json()['items'] == []


def test_a_claim_with_a_rules_tag_gets_its_commands_within_the_limit(mock, http):
    http.post(mock.url + RULES, json=rule(), headers=nrf_key())
    http.post(mock.url + RULES, json=rule(name='Off', tags=['line-1'], active=False), headers=nrf_key())
    many = [{'request': {'config': {'k%d' % n: 'v'}}, 'description': 'c%d' % n} for n in range(19)]
    http.post(mock.url + RULES, json=rule(name='Many', tags=['many'], commands=many), headers=nrf_key())
    onboarded = claim(mock, http, ['nrf-cloud-onboarding'])
    assert [list(c['request'])[0] for c in commands(mock, onboarded)] == ['clientPrivateKeyGeneration', 'cloudAccessKeyGeneration']
    assert commands(mock, onboarded)[0]['description'] == 'Onboarding'  # the rule's name when the command has none
    assert commands(mock, claim(mock, http, ['line-1'])) == []  # an inactive rule does nothing
    both = claim(mock, http, ['nrf-cloud-onboarding', 'many'])
    assert len(commands(mock, both)) == 20  # 2 + 18 of the 19: the 20th is the limit
