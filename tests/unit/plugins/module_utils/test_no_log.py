# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's own no_log pass for a batch with a secret per item: masked exactly as Ansible masks, without its cost."""

from __future__ import annotations

import datetime
import json

from ansible.module_utils.common.parameters import remove_values

from ansible_collections.iotops.provisioning.plugins.module_utils._no_log import MASKED, MANY_SECRETS, found_in, lean_no_log, mask


class Module:
    """What _finish uses of an AnsibleModule; its exit_json passes the result through Ansible's own pass, as exit_json does."""

    def __init__(self, params, secrets):
        self.params = params
        self.no_log_values = set(secrets)
        self.seen_by_ansible = None
        self.output = None

    def exit_json(self, **kwargs):
        self.seen_by_ansible = set(self.no_log_values)
        kwargs.setdefault('invocation', {'module_args': self.params})
        self.output = remove_values(kwargs, self.no_log_values)

    fail_json = exit_json


def batch(count):
    tokens = ['token-%04d-%s' % (n, 'x' * 40) for n in range(count)]
    params = dict(api_key='the-api-key', devices=[dict(claim_token=t, tags=['line-7']) for t in tokens])
    return tokens, params


def test_many_secrets_none_in_the_result_ansible_gets_none_and_the_invocation_is_masked():
    tokens, params = batch(1000)
    module = Module(params, tokens + ['the-api-key'])
    lean_no_log(module)
    outcomes = [dict(item='device-%d' % n, phase='provisioned', commands=['a', 'b']) for n in range(1000)]
    module.exit_json(changed=True, outcomes=outcomes)
    assert module.seen_by_ansible == set()  # Ansible's pass has no secret to look for: it costs nothing
    text = json.dumps(module.output)
    assert not any(t in text for t in tokens) and 'the-api-key' not in text
    shown = module.output['invocation']['module_args']
    assert shown['api_key'] == MASKED and all(d['claim_token'] == MASKED and d['tags'] == ['line-7'] for d in shown['devices'])
    assert module.output['outcomes'] == outcomes


def test_a_secret_that_got_into_the_result_is_masked_by_ansible_as_before():
    tokens, params = batch(MANY_SECRETS + 5)
    module = Module(params, tokens)
    lean_no_log(module)
    module.fail_json(msg='nRF Cloud refused %s: bad token' % tokens[3], outcomes=[dict(item=1, note=tokens[7])], count=7)
    assert module.seen_by_ansible == {tokens[3], tokens[7]}
    assert module.output['msg'] == 'nRF Cloud refused ********: bad token'
    assert module.output['outcomes'] == [dict(item=1, note=MASKED)]


def test_a_secret_with_quotes_backslashes_or_other_scripts_is_found_as_json_writes_it():
    odd = ['he said "hi"', 'C:\\keys\\k1', 'clé-ü-密钥', 'tab\there']
    result = dict(msg='x %s y' % odd[0], more=['%s!' % odd[1], odd[2]], text='a %s b' % odd[3], other='nothing')
    assert found_in(result, set(odd) | {'absent-secret'}) == set(odd)


def test_few_secrets_or_a_value_json_cannot_show_leave_everything_to_ansible():
    tokens, params = batch(3)
    module = Module(params, tokens)
    lean_no_log(module)
    module.exit_json(changed=False, note=tokens[0])
    assert module.seen_by_ansible == set(tokens) and module.output['note'] == MASKED

    tokens, params = batch(MANY_SECRETS + 1)
    module = Module(params, tokens)
    lean_no_log(module)
    module.exit_json(changed=False, when=datetime.date(2026, 12, 6))
    assert module.seen_by_ansible == set(tokens)


def test_mask_copies_and_keeps_what_is_not_a_secret():
    params = dict(a='s1', b=['s2', 'keep', 3, None], c=dict(d='s1x'))
    assert mask(params, {'s1', 's2'}) == dict(a=MASKED, b=[MASKED, 'keep', 3, None], c=dict(d='s1x'))
    assert params['a'] == 's1'
