# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_webhook against the mock: create, idempotence, check mode, diff, exclusive sets, token updates, https only. The events
the mock delivers to an https receiver are tested with the mock (mock_cloud/tests/test_ublox_webhook_delivery.py)."""

from __future__ import annotations

import json
import pytest

from ansible_collections.iotops.provisioning.plugins.modules import ublox_webhook

OPS, PKI, OLD = 'https://ops.example.com/ublox', 'https://pki.example.com/hook', 'https://old.example.com/events'
BOOT, PROPS, ERRORS, RENEWAL, EXPIRY, ROOTCA = ('DEVICE_BOOTSTRAP_EVENT', 'DEVICE_PROPERTIES_CHANGE_EVENT', 'DEVICE_ERRORS_EVENT',
                                                'DEVICE_CERTIFICATE_RENEWAL_EVENT', 'DEVICE_CERTIFICATE_EXPIRATION_EVENT',
                                                'ROOTCA_EXPIRATION_EVENT')
TOKEN = 'Bearer w3bh00k-s3cr3t'


def hook(url, *types, **fields):
    return dict(dict(url=url, notification_types=list(types), authorization_token=TOKEN), **fields)


def registered(mock):
    """{url: set of types} as the mock has them."""
    found = {}
    for entry in mock.admin.state()['ublox']['webhooks']['hooks']:
        found.setdefault(entry['NotificationURL'], set()).add(entry['NotificationType'])
    return found


def writes(mock):
    return mock.admin.counters()['by_category'].get('write', 0)


def endpoint(mock, name):
    return mock.admin.counters()['endpoints'].get('ublox POST /v1/notification/webhook/' + name, 0)


def test_create_in_check_mode_then_for_real_then_nothing_to_do(mock, run, ublox_args):
    args = ublox_args(webhooks=[hook(OPS, ERRORS, BOOT), hook(PKI, ROOTCA)])
    check = run(ublox_webhook, args, check_mode=True, diff=True)
    assert check['changed'] and [o['action'] for o in check['outcomes']] == ['create', 'create']
    assert check['diff']['after'][OPS] == dict(state='present', notification_types=[BOOT, ERRORS])
    assert writes(mock) == 0 and registered(mock) == {}

    mock.admin.reset_counters()
    first = run(ublox_webhook, args, diff=True)
    assert first['changed'] and first['summary']['changed'] == 2
    assert first['outcomes'][0]['added_notification_types'] == [BOOT, ERRORS] and first['outcomes'][0]['state'] == 'present'
    assert first['diff']['before'][PKI] == dict(state='absent', notification_types=[])
    assert registered(mock) == {OPS: {BOOT, ERRORS}, PKI: {ROOTCA}}
    assert endpoint(mock, 'create') == 3 and endpoint(mock, 'get') == 1
    # the token is a secret: never in the result, the diff, or what the mock shows
    assert TOKEN not in json.dumps(check) + json.dumps(first) + json.dumps(mock.admin.state())

    mock.admin.reset_counters()
    second = run(ublox_webhook, args, diff=True)
    assert second['changed'] is False and [o['action'] for o in second['outcomes']] == ['none', 'none']
    assert writes(mock) == 0 and second['diff'] == dict(before={}, after={})


def test_types_are_added_and_kept_and_absent_removes_some_or_all(mock, run, ublox_args):
    run(ublox_webhook, ublox_args(webhooks=[hook(OPS, BOOT, ERRORS), hook(OLD, PROPS)]))
    more = run(ublox_webhook, ublox_args(webhooks=[hook(OPS, RENEWAL)]))
    assert more['outcomes'][0]['notification_types'] == [BOOT, ERRORS, RENEWAL]
    assert registered(mock)[OPS] == {BOOT, ERRORS, RENEWAL}
    mock.admin.reset_counters()
    # ERRORS goes; BOOT and RENEWAL stay: u-blox deletes a URL whole, so the module creates the two again
    removed = run(ublox_webhook, ublox_args(state='absent', webhooks=[hook(OPS, ERRORS), dict(url=OLD)]))
    assert [o['action'] for o in removed['outcomes']] == ['replace', 'delete']
    assert removed['outcomes'][0]['removed_notification_types'] == [ERRORS] and removed['outcomes'][0]['token_updated']
    assert registered(mock) == {OPS: {BOOT, RENEWAL}}
    assert (endpoint(mock, 'delete'), endpoint(mock, 'create'), writes(mock)) == (2, 2, 4)
    mock.admin.reset_counters()
    again = run(ublox_webhook, ublox_args(state='absent', webhooks=[hook(OPS, ERRORS), dict(url=OLD)]))
    assert again['changed'] is False and writes(mock) == 0


def test_a_replace_without_the_token_is_refused_before_any_write(mock, run, ublox_args):
    run(ublox_webhook, ublox_args(webhooks=[hook(OPS, BOOT, ERRORS)]))
    mock.admin.reset_counters()
    result = run(ublox_webhook, ublox_args(webhooks=[dict(url=OPS, state='absent', notification_types=[ERRORS])]))
    assert result['failed'] and 'webhooks[0] (%s): removing DEVICE_ERRORS_EVENT keeps DEVICE_BOOTSTRAP_EVENT' % OPS in result['msg']
    assert writes(mock) == 0 and registered(mock) == {OPS: {BOOT, ERRORS}}


def test_exclusive_makes_the_named_types_exact_and_leaves_the_others(mock, run, ublox_args):
    run(ublox_webhook, ublox_args(webhooks=[hook(OLD, BOOT, ERRORS), hook(PKI, EXPIRY), hook(OPS, ROOTCA)]))
    args = ublox_args(exclusive=True, webhooks=[hook(OPS, BOOT, ERRORS)])
    mock.admin.reset_counters()
    check = run(ublox_webhook, args, check_mode=True)
    assert writes(mock) == 0
    result = run(ublox_webhook, args, diff=True)
    # OLD only had types the task names: deleted; PKI and OPS's ROOTCA are of types the task does not name: kept
    assert [(o['item'], o['action']) for o in result['outcomes']] == [(OPS, 'create'), (OLD, 'delete')]
    assert [o['action'] for o in check['outcomes']] == ['create', 'delete']
    assert registered(mock) == {OPS: {BOOT, ERRORS, ROOTCA}, PKI: {EXPIRY}}
    assert result['diff']['before'][OLD] == dict(state='present', notification_types=[BOOT, ERRORS])
    assert result['diff']['after'][OLD] == dict(state='absent', notification_types=[])
    assert (endpoint(mock, 'delete'), endpoint(mock, 'create')) == (1, 2)
    mock.admin.reset_counters()
    assert run(ublox_webhook, args)['changed'] is False and writes(mock) == 0


def test_exclusive_refuses_to_half_remove_a_url_it_has_no_token_for(mock, run, ublox_args):
    run(ublox_webhook, ublox_args(webhooks=[hook(OLD, BOOT, PROPS)]))
    mock.admin.reset_counters()
    result = run(ublox_webhook, ublox_args(exclusive=True, webhooks=[hook(OPS, BOOT)]))
    assert result['failed'] and 'exclusive[0] (%s): exclusive=true would take %s out of %s' % (OLD, OLD, BOOT) in result['msg']
    assert 'nothing was changed' in result['msg'] and writes(mock) == 0 and registered(mock) == {OLD: {BOOT, PROPS}}


def test_update_token_always_updates_each_registered_url_once(mock, run, ublox_args):
    run(ublox_webhook, ublox_args(webhooks=[hook(OPS, BOOT, ERRORS)]))
    mock.admin.reset_counters()
    args = ublox_args(update_token='always', webhooks=[hook(OPS, BOOT, authorization_token='Bearer n3w'), hook(PKI, ROOTCA)])
    check = run(ublox_webhook, args, check_mode=True)
    assert [o['action'] for o in check['outcomes']] == ['update', 'create'] and writes(mock) == 0
    result = run(ublox_webhook, args)
    assert result['changed'] and result['outcomes'][0]['token_updated'] and not result['outcomes'][1]['token_updated']
    assert (endpoint(mock, 'update'), endpoint(mock, 'create')) == (1, 1)
    assert 'n3w' not in json.dumps(result)


@pytest.mark.parametrize('webhook, words', [
    (hook('http://ops.example.com/ublox', BOOT), ['webhooks[1] (http://ops.example.com/ublox)', 'is not an https URL', 'only https']),
    (hook('http://127.0.0.1:9/hook', BOOT), ['is not an https URL']),
    (hook(OPS, 'DEVICE_REBOOT_EVENT'), ["'DEVICE_REBOOT_EVENT' is not a u-blox notification type"]),
    (dict(url=OPS, notification_types=[BOOT]), ['authorization_token is required with state=present']),
])
def test_bad_input_is_refused_before_any_request(mock, run, ublox_args, webhook, words):
    result = run(ublox_webhook, ublox_args(webhooks=[hook(PKI, ROOTCA), webhook]))
    assert result['failed'] and all(word in result['msg'] for word in words), result['msg']
    assert mock.admin.counters()['total'] == 0
    assert TOKEN not in json.dumps(result)


def test_the_same_url_twice_is_refused(mock, run, ublox_args):
    result = run(ublox_webhook, ublox_args(webhooks=[hook(OPS, BOOT), hook(OPS, ERRORS)]))
    assert result['failed'] and 'webhooks[1]' in result['msg'] and 'once per task' in result['msg']
    assert mock.admin.counters()['total'] == 0
