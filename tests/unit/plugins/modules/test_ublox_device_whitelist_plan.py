# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device_whitelist's planner with data alone (no server): what each whitelist entry needs, given the whitelist."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.modules.ublox_device_whitelist import (
    changes, check_options, entries_of, plan_entry, wanted_entries)

IMEI = '862618583984360'
IMEI_2 = '490154203237518'
ROT = '0002000089280087'
ROT_2 = '135700008928c093'
ROT_3 = '00ff000000000001'


def options(**values):
    values = dict(dict(rot_public_uids=None, imeis=None, state='present', exclusive=False), **values)
    check_options(values)
    return values


def current(rots=(), imeis=()):
    return {'ROTPublicUID': set(rots), 'IMEI': set(imeis)}


def test_present_adds_only_what_is_missing():
    add, remove = changes(current(rots=[ROT]), current(rots=[ROT, ROT_3], imeis=[IMEI]), 'present', False)
    assert add == current() and remove == current()
    add, remove = changes(dict(current(rots=[ROT, ROT_2]), IMEI={IMEI}), current(rots=[ROT]), 'present', False)
    assert add == current(rots=[ROT_2], imeis=[IMEI]) and remove == current()


def test_exclusive_makes_the_kinds_given_exactly_the_list_and_leaves_the_others():
    wanted = {'ROTPublicUID': {ROT, ROT_2}}  # only ROTPublicUIDs given: IMEI entries are kept
    add, remove = changes(wanted, current(rots=[ROT, ROT_3], imeis=[IMEI]), 'present', True)
    assert add == current(rots=[ROT_2]) and remove == current(rots=[ROT_3])
    emptied = changes({'IMEI': set()}, current(rots=[ROT], imeis=[IMEI, IMEI_2]), 'present', True)
    assert emptied == (current(), current(imeis=[IMEI, IMEI_2]))


def test_absent_removes_only_the_listed_entries_that_are_there():
    add, remove = changes({'IMEI': {IMEI, IMEI_2}}, current(rots=[ROT], imeis=[IMEI]), 'absent', False)
    assert add == current() and remove == current(imeis=[IMEI])


def test_each_entry_reports_its_status_and_a_diff_only_when_it_changes():
    add, remove = current(rots=[ROT_2]), current(imeis=[IMEI])
    added = plan_entry(dict(type='ROTPublicUID', value=ROT_2), add, remove, 'present')
    assert (added.item, added.action, added.result) == (ROT_2, 'add', dict(type='ROTPublicUID', status='added'))
    assert added.outcome()['diff'] == dict(before=dict(whitelisted=False), after=dict(whitelisted=True))
    removed = plan_entry(dict(type='IMEI', value=IMEI), add, remove, 'present')
    assert removed.action == 'remove' and removed.result['status'] == 'removed'
    assert removed.outcome()['diff'] == dict(before=dict(whitelisted=True), after=dict(whitelisted=False))
    kept = plan_entry(dict(type='ROTPublicUID', value=ROT), add, remove, 'present')
    assert kept.outcome() == dict(type='ROTPublicUID', status='present', action='none', changed=False, failed=False)
    gone = plan_entry(dict(type='IMEI', value=IMEI_2), add, remove, 'absent')
    assert gone.result['status'] == 'absent' and not gone.changes


def test_a_failed_call_fails_its_entries_without_a_diff_and_calls_group_by_kind():
    plans = [plan_entry(dict(type=kind, value=value), current(rots=[ROT], imeis=[IMEI]), current(), 'present')
             for kind, value in (('ROTPublicUID', ROT), ('IMEI', IMEI))]
    assert entries_of(plans) == current(rots=[ROT], imeis=[IMEI])
    outcome = plans[0].outcome(dict(changed=False, failed=True, msg='HTTP 500'))
    assert outcome['failed'] and not outcome['changed'] and outcome['status'] == 'added' and 'diff' not in outcome


def test_entries_are_normalised_and_deduplicated():
    wanted = wanted_entries(options(rot_public_uids=[ROT_2.upper(), ROT_2, ' %s ' % ROT], imeis=[IMEI]))
    assert wanted == current(rots=[ROT, ROT_2], imeis=[IMEI])
    assert wanted_entries(options(rot_public_uids=[ROT])) == {'ROTPublicUID': {ROT}}  # kinds not given are not managed
    assert wanted_entries(options(imeis=[], exclusive=True)) == {'IMEI': set()}


def test_every_bad_entry_of_both_kinds_is_named_in_one_error():
    with pytest.raises(ConfigError) as error:
        wanted_entries(options(rot_public_uids=['xyz'], imeis=['862618583984361', '12345']))
    msg = error.value.msg
    assert msg.startswith("invalid input, nothing was changed: rot_public_uids[0]: 'xyz' is not a ROTPublicUID")
    assert "imeis[0]: '862618583984361' is not an IMEI; its last digit is not the Luhn check digit" in msg
    assert "imeis[1]: '12345' is not an IMEI; it must be exactly 15 digits" in msg
    assert len(error.value.details['problems']) == 3
    with pytest.raises(ConfigError, match='; and 5 more$'):
        wanted_entries(options(imeis=['1'] * 25))


@pytest.mark.parametrize('values, message', [
    (dict(), 'give rot_public_uids or imeis (or both)'),
    (dict(imeis=[IMEI], state='absent', exclusive=True), 'exclusive only applies to state=present'),
    (dict(rot_public_uids=[]), 'rot_public_uids is empty; leave it out, or use exclusive=true to remove every ROTPublicUID entry'),
    (dict(rot_public_uids=['xyz'], imeis=[]), 'imeis is empty'),  # the options are checked before the entries
])
def test_bad_options_are_refused(values, message):
    with pytest.raises(ConfigError) as error:
        options(**values)
    assert message in error.value.msg
