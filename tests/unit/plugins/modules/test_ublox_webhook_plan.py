# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_webhook's rules and planner with data alone (no server): what each URL needs, given the notification types
u-blox has registered for it."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._ublox_webhooks import (
    NOTIFICATION_TYPES,
    check_recreate,
    exclusive_scope,
    implied_removals,
    plan_webhook,
    registrations,
    shown_url,
    url_problem,
    validate_webhook,
)

URL, OTHER = 'https://ops.example.com/ublox', 'https://pki.example.com/hook'
BOOT, PROPS, ERRORS, RENEWAL, EXPIRY, ROOTCA = NOTIFICATION_TYPES
TOKEN = 'Bearer s3cr3t-t0ken'


def item(**fields):
    base = dict(url=URL, state='present', notification_types=[BOOT], authorization_token=TOKEN)
    base.update(fields)
    return base


def test_the_six_notification_types_of_the_seed():
    assert NOTIFICATION_TYPES == ('DEVICE_BOOTSTRAP_EVENT', 'DEVICE_PROPERTIES_CHANGE_EVENT', 'DEVICE_ERRORS_EVENT',
                                  'DEVICE_CERTIFICATE_RENEWAL_EVENT', 'DEVICE_CERTIFICATE_EXPIRATION_EVENT', 'ROOTCA_EXPIRATION_EVENT')


@pytest.mark.parametrize('url, words', [
    ('http://ops.example.com/ublox', ['is not an https URL', 'only https endpoints']),
    ('http://127.0.0.1:8443/hook', ['is not an https URL']),
    ('ftp://ops.example.com/', ['is not an https URL']),
    ('ops.example.com/ublox', ['is not an https URL']),
    ('https:///path-only', ['has no host']),
    ('https://ops.example.com:port/', ['is not a valid URL']),
    ('https://ops.example.com/a b', ['whitespace']),
    ('', ['NotificationURL is required']),
])
def test_urls_that_are_refused(url, words):
    problem = url_problem(url)
    assert problem and all(word in problem for word in words), problem


def test_https_urls_are_accepted_and_credentials_in_them_are_refused_without_being_shown():
    assert url_problem('https://ops.example.com:8443/ublox?team=a') is None
    assert url_problem('HTTPS://ops.example.com/') is None
    problem = url_problem('https://user:hunter2@ops.example.com/')
    assert 'authorization_token' in problem and 'hunter2' not in problem
    assert shown_url('https://user:hunter2@ops.example.com/x') == 'https://***@ops.example.com/x'


def test_validation_normalises_types_and_names_each_rule():
    good = item(notification_types=[ERRORS, BOOT, BOOT])
    validate_webhook(good)
    assert good['notification_types'] == [BOOT, ERRORS]
    validate_webhook(item(state='absent', notification_types=None, authorization_token=None))
    for bad, words in (
        (item(url='http://ops.example.com/'), ['url', 'https']),
        (item(notification_types=['DEVICE_BOOTSTRAP', BOOT]), ["'DEVICE_BOOTSTRAP' is not a u-blox notification type", ROOTCA]),
        (item(notification_types=[]), ['notification_types is empty']),
        (item(notification_types=None), ['notification_types is required with state=present']),
        (item(authorization_token=None), ['authorization_token is required with state=present']),
        (item(authorization_token='Bearer a\r\nX-Evil: 1'), ['authorization_token contains a line break']),
        (item(authorization_token='  '), ['authorization_token is empty']),
    ):
        with pytest.raises(ConfigError) as caught:
            validate_webhook(bad)
        assert all(word in caught.value.msg for word in words), caught.value.msg
        assert 'X-Evil' not in caught.value.msg


def test_registrations_are_indexed_by_url():
    records = [{'NotificationURL': URL, 'NotificationType': BOOT, 'CreatedDate': '2026-01-01T00:00:00Z'},
               {'NotificationURL': URL, 'NotificationType': ERRORS}, {'NotificationURL': OTHER, 'NotificationType': ROOTCA}, {}]
    assert registrations(records) == {URL: {BOOT, ERRORS}, OTHER: {ROOTCA}}
    assert registrations({'Webhooks': records[:1]}) == {URL: {BOOT}}
    assert registrations(None) == {}


def test_a_new_url_is_created_for_each_type():
    plan = plan_webhook(item(notification_types=[BOOT, ERRORS]))
    assert (plan.item, plan.action, plan.data['create'], plan.data['delete'], plan.data['update']) == (URL, 'create', [BOOT, ERRORS], False, False)
    assert plan.before == dict(state='absent', notification_types=[])
    assert plan.after == dict(state='present', notification_types=[BOOT, ERRORS])
    assert plan.result == dict(url=URL, state='present', notification_types=[BOOT, ERRORS], added_notification_types=[BOOT, ERRORS],
                               removed_notification_types=[], token_updated=False)


def test_types_are_added_and_others_kept_and_a_second_run_has_nothing_to_do():
    plan = plan_webhook(item(notification_types=[BOOT, ERRORS]), {BOOT, ROOTCA})
    assert (plan.action, plan.data['create']) == ('create', [ERRORS])
    assert plan.result['notification_types'] == [BOOT, ERRORS, ROOTCA]
    again = plan_webhook(item(notification_types=[BOOT, ERRORS]), {BOOT, ERRORS, ROOTCA})
    assert again.action == 'none' and not again.changes and again.result['added_notification_types'] == []


def test_update_token_always_sends_the_token_to_a_registered_url():
    plan = plan_webhook(item(), {BOOT}, update_token='always')
    assert (plan.action, plan.data['update'], plan.data['create']) == ('update', True, [])
    assert plan.after == dict(state='present', notification_types=[BOOT], token_updated=True) and plan.result['token_updated']
    assert TOKEN not in repr(plan.before) + repr(plan.after) + repr(plan.result)
    # a new URL gets the token with its creates only
    fresh = plan_webhook(item(), set(), update_token='always')
    assert (fresh.action, fresh.data['update']) == ('create', False)


def test_absent_removes_the_url_or_only_some_types():
    gone = plan_webhook(item(state='absent', notification_types=None, authorization_token=None), {BOOT, ERRORS})
    assert (gone.action, gone.data['delete'], gone.data['create']) == ('delete', True, [])
    assert gone.after == dict(state='absent', notification_types=[]) and gone.result['removed_notification_types'] == [BOOT, ERRORS]
    nothing = plan_webhook(item(state='absent', notification_types=None, authorization_token=None), set())
    assert nothing.action == 'none'
    # taking one type away from a URL that keeps another: delete the URL, create the kept one again with the token
    some = plan_webhook(item(state='absent', notification_types=[ERRORS]), {BOOT, ERRORS})
    assert (some.action, some.data['delete'], some.data['create'], some.data['token']) == ('replace', True, [BOOT], TOKEN)
    assert some.result['token_updated'] and some.result['removed_notification_types'] == [ERRORS]
    only = plan_webhook(item(state='absent', notification_types=[ERRORS]), {ERRORS})
    assert only.action == 'delete'


def test_a_replace_without_the_token_is_refused():
    with pytest.raises(ConfigError, match='removing DEVICE_ERRORS_EVENT keeps DEVICE_BOOTSTRAP_EVENT.*give authorization_token'):
        plan_webhook(item(state='absent', notification_types=[ERRORS], authorization_token=None), {BOOT, ERRORS})
    check_recreate(item(state='absent', notification_types=[ERRORS], authorization_token=None), {ERRORS})


def test_exclusive_makes_the_named_types_exact():
    items = [item(notification_types=[BOOT, ERRORS]), item(url=OTHER, notification_types=[ROOTCA])]
    scope = exclusive_scope(items)
    assert scope == {BOOT, ERRORS, ROOTCA}
    current = {URL: {BOOT, ROOTCA, RENEWAL}, OTHER: {ROOTCA}, 'https://old.example.com/': {BOOT, ERRORS},
               'https://keep.example.com/': {EXPIRY}, 'https://mixed.example.com/': {ERRORS, PROPS}}
    # URL loses ROOTCA (named by OTHER only), keeps RENEWAL (not named): delete and create again with its token
    plan = plan_webhook(items[0], current[URL], scope)
    assert (plan.action, plan.data['create']) == ('replace', [BOOT, ERRORS, RENEWAL])
    assert plan.result['removed_notification_types'] == [ROOTCA] and plan.result['added_notification_types'] == [ERRORS]
    assert plan_webhook(items[1], current[OTHER], scope).action == 'none'
    implied = implied_removals(items, current, scope)
    assert [(entry['url'], entry['notification_types']) for entry in implied] == [
        ('https://mixed.example.com/', [ERRORS]), ('https://old.example.com/', [BOOT, ERRORS])]
    assert plan_webhook(implied[1], current['https://old.example.com/'], scope).action == 'delete'
    # the mixed URL would keep PROPS, which needs a token the task does not have: refused before any write
    with pytest.raises(ConfigError, match=r'would take https://mixed.example.com/ out of DEVICE_ERRORS_EVENT, but that URL also '
                                          r'receives DEVICE_PROPERTIES_CHANGE_EVENT.*state=absent'):
        check_recreate(implied[0], current['https://mixed.example.com/'], scope)


def test_without_exclusive_nothing_outside_the_task_is_touched():
    items = [item()]
    assert implied_removals(items, {OTHER: {BOOT}}, frozenset()) == []
    assert plan_webhook(items[0], {BOOT, ERRORS}).action == 'none'
