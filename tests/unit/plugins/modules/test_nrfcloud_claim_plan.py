# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_claim's planner, input checks, bulk CSV and answer mapping with data alone (no server)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_claims import (
    failed_rows, fingerprint, plan_claim, refusal_message, validate_claim_item, validate_tags)
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import claim_csv
from iotops_mock.vendors.nrfcloud import make_attestation_token

DEVICE = uuid.UUID('50434d44-3635-4137-80a1-0c1d2e3f4a5b')
TOKEN = make_attestation_token(DEVICE.bytes)
RECORD = {'id': str(DEVICE), 'status': 'READY', 'tags': ['line-7', 'nrf-cloud-onboarding']}


def item(**fields):
    fields.setdefault('state', 'present')
    fields.setdefault('claim_token', TOKEN)
    fields.setdefault('device_id', None)
    fields.setdefault('tags', None)
    validate_claim_item(fields)
    return fields


def test_the_device_id_comes_from_the_token():
    assert item()['device_id'] == str(DEVICE)
    assert item(device_id=str(DEVICE).upper())['device_id'] == str(DEVICE).upper()


@pytest.mark.parametrize('fields, words', [
    (dict(device_id='00000000-0000-0000-0000-000000000001'), 'is not the device of claim_token'),
    (dict(claim_token='bm90IGNib3I.eA'), 'not an nRF91 attestation token'),
    (dict(claim_token=TOKEN + '\n'), 'no blank or line break'),
    (dict(claim_token='no-dot-here'), 'base64url parts joined by "."'),
    (dict(claim_token=None), 'device_id or claim_token is required'),
    (dict(claim_token=None, device_id='bad id'), 'must be 1 to 128 letters'),
    (dict(tags=['a,b']), 'a comma would split'),
    (dict(tags=['x', 'x']), 'each tag may appear once'),
])
def test_bad_items_are_refused_and_never_show_the_token(fields, words):
    with pytest.raises(ConfigError) as caught:
        item(**fields)
    assert words in caught.value.msg
    assert TOKEN not in caught.value.msg and TOKEN.split('.')[0] not in caught.value.msg


def test_an_unreadable_token_with_a_device_id_is_left_to_the_cloud():
    assert item(claim_token='bm90IGNib3I.eA', device_id='dev-1')['device_id'] == 'dev-1'


def test_a_device_not_claimed_is_claimed_with_its_tags():
    plan = plan_claim(item(tags=['nrf-cloud-onboarding', 'line-7']), None)
    assert plan.action == 'claim' and plan.item == str(DEVICE)
    assert plan.before == {'claimed': False, 'tags': []}
    assert plan.after == {'claimed': True, 'tags': ['line-7', 'nrf-cloud-onboarding']}
    assert plan.result == dict(phase='claimed', claimed=True, tags=['line-7', 'nrf-cloud-onboarding'])
    assert plan.data['device']['claim_token'] == TOKEN
    assert TOKEN not in repr((plan.before, plan.after, plan.result))


def test_a_device_claimed_by_this_team_is_done():
    plan = plan_claim(item(tags=['nrf-cloud-onboarding', 'line-7']), RECORD)
    assert plan.action == 'none' and plan.result == dict(phase='claimed', claimed=False, tags=['line-7', 'nrf-cloud-onboarding'])
    assert plan_claim(item(), RECORD).action == 'none'  # no tags asked: none compared


def test_other_tags_on_a_claimed_device_warn_and_change_nothing():
    plan = plan_claim(item(tags=['line-8']), RECORD)
    assert plan.action == 'none' and 'no call to change the tags' in plan.result['warning']


def test_a_dry_run_refusal_fails_the_device_with_the_reason_and_the_remedy():
    refusal = {'status': 409, 'code': 40902, 'message': 'Device %s is claimed by another team' % DEVICE}
    with pytest.raises(IotopsError) as caught:
        plan_claim(item(), None, refusal)
    assert 'HTTP 409, nRF Cloud code 40902: Device %s is claimed by another team' % DEVICE in caught.value.msg
    assert 'that team must unclaim it first' in caught.value.msg
    assert 'read it from the device again' in refusal_message({'status': 400, 'code': 40000, 'message': 'not a token'})
    assert refusal_message({'status': 422}) == 'the claim dry run says it cannot be claimed: HTTP 422'


def test_dry_run_reports_claimable_and_claims_nothing():
    plan = plan_claim(item(), None, None, dry_run=True)
    assert plan.action == 'none' and plan.result == dict(phase='unclaimed', claimed=False, claimable=True, tags=[])
    assert plan_claim(item(), RECORD, None, dry_run=True).result['phase'] == 'claimed'  # claimed already: done


def test_unclaim():
    plan = plan_claim(item(state='absent'), RECORD)
    assert plan.action == 'unclaim' and plan.before == {'claimed': True, 'tags': ['line-7', 'nrf-cloud-onboarding']}
    assert plan.after == {'claimed': False, 'tags': []} and plan.result == dict(phase='unclaimed', unclaimed=True)
    gone = plan_claim(item(state='absent', claim_token=None, device_id=str(DEVICE)), None)
    assert gone.action == 'none' and gone.result == dict(phase='unclaimed', unclaimed=False)


def test_the_bulk_csv_quotes_every_field_and_joins_the_tags_with_commas():
    other = make_attestation_token(uuid.UUID(int=7).bytes)
    text = claim_csv([dict(claim_token=TOKEN, tags=['nrf-cloud-onboarding', 'line-7']), dict(claim_token=other, tags=[])])
    assert text == '"%s","nrf-cloud-onboarding,line-7"\n"%s"\n' % (TOKEN, other)
    assert list(csv.reader(io.StringIO(text))) == [[TOKEN, 'nrf-cloud-onboarding,line-7'], [other]]


def test_failed_rows_of_every_shape_map_back_to_rows():
    tokens = ['t0', 't1', 't2', 't3']
    answer = {'claimedIds': ['x'], 'failed': [
        {'index': 1, 'code': 40902, 'message': 'claimed by another team'},
        {'claimToken': 't2', 'code': 40000},
        '[3]: not an attestation token',
        {'index': 9, 'message': 'a row that does not exist'},
        'no row named here',
    ]}
    assert failed_rows(answer, tokens) == {1: 'claimed by another team', 2: 'refused (nRF Cloud code 40000)', 3: 'not an attestation token'}
    assert failed_rows({}, tokens) == {}


def test_fingerprint_is_short_and_stable():
    assert fingerprint(TOKEN) == fingerprint(TOKEN) and fingerprint(TOKEN).startswith('sha256:') and len(fingerprint(TOKEN)) == 19


def test_module_tags_are_checked_like_device_tags():
    validate_tags(['nrf-cloud-onboarding', 'line_7', 'a@b:c#d.e'], 'tags')
    with pytest.raises(ConfigError, match=r"^tags: 'a b' must be"):
        validate_tags(['a b'], 'tags')
