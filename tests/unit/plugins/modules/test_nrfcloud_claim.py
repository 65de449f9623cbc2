# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nrfcloud_claim against the mock's Provisioning Service: single and CSV bulk claims, the claim dry run, unclaim."""

from __future__ import annotations

import json

import pytest
import requests

from ansible_collections.iotops.provisioning.plugins.modules import nrfcloud_claim

CLAIM = 'nrfcloud-provisioning POST /v1/claimed-devices'
DRY_RUN = CLAIM + '?dryrun=true'
UNCLAIM = 'nrfcloud-provisioning DELETE /v1/claimed-devices/{device_id}'
BULK_OPS = 'nrfcloud GET /v1/bulk-ops-requests/{request_id}'


@pytest.fixture
def nrf(mock):
    mock.admin.nrfcloud_simulator(bulk_delay=0.05)
    return mock


def tokens(mock, count):
    return mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': count})['devices']


def args(mock, creds, batch, **extra):
    """The module's arguments for the seeded devices of ``batch`` (by token); ``devices=`` in ``extra`` gives the items as they are."""
    base = dict(provisioning_api_url=mock.url + '/nrfcloud-provisioning/v1', api_url=mock.url + '/nrfcloud/v1',
                api_key=creds.NRFCLOUD_TEAM_A_API_KEY, bulk_interval=0.05, bulk_timeout=30,
                devices=[{'claim_token': d['claim_token']} for d in batch])
    base.update(extra)
    return base


def claimed(mock, team='a'):
    return dict((d['id'], d) for d in mock.admin.state()['nrfcloud']['teams'][team]['claimedDevices'])


def counters(mock):
    return mock.admin.counters()


def claim_for_team_b(mock, creds, device):
    response = requests.post(mock.url + '/nrfcloud-provisioning/v1/claimed-devices', json={'claimToken': device['claim_token']},
                             headers={'Authorization': 'Bearer ' + creds.NRFCLOUD_TEAM_B_API_KEY}, verify=False, timeout=10)
    assert response.status_code == 201


def malformed(device):
    """A token whose body names the device but whose signature part nRF Cloud cannot read: only the cloud can tell."""
    return dict(device, claim_token=device['claim_token'].split('.')[0] + '.eA')


def assert_no_token(result, devices):
    text = json.dumps(result)
    for device in devices:
        assert device['claim_token'] not in text and device['claim_token'].split('.')[1] not in text


def test_300_devices_are_claimed_by_one_csv_request_then_nothing_is_sent(nrf, creds, run):
    devices = tokens(nrf, 300)
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, devices, tags=['nrf-cloud-onboarding', 'line-7']))
    assert result['changed'] and result['summary'] == {'total': 300, 'changed': 300, 'ok': 0, 'failed': 0, 'waiting': 0}, result.get('msg')
    endpoints = counters(nrf)['endpoints']
    assert endpoints[CLAIM] == 1 and DRY_RUN not in endpoints, endpoints
    assert counters(nrf)['by_category']['write'] == 1
    state = claimed(nrf)
    assert sorted(state) == sorted(d['device_id'] for d in devices)
    assert all(state[d]['tags'] == ['nrf-cloud-onboarding', 'line-7'] for d in state)
    assert [r['item'] for r in result['outcomes']] == [d['device_id'] for d in devices]
    assert all(r['via'] == 'bulk' and r['phase'] == 'claimed' and r['claimed'] and r['action'] == 'claim' for r in result['outcomes'])
    assert_no_token(result, devices)

    nrf.admin.reset_counters()
    again = run(nrfcloud_claim, args(nrf, creds, devices, tags=['nrf-cloud-onboarding', 'line-7']))
    assert again['changed'] is False and again['summary']['ok'] == 300
    assert counters(nrf)['by_category'] == {'auth': 0, 'read': 3, 'write': 0}  # the claimed list, 3 pages of 100
    checked = run(nrfcloud_claim, args(nrf, creds, devices), check_mode=True)
    assert checked['changed'] is False and counters(nrf)['by_category']['write'] == 0


def test_up_to_the_threshold_devices_are_claimed_one_by_one(nrf, creds, run):
    devices = tokens(nrf, 3)
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, devices, bulk_threshold=3))
    assert result['summary']['changed'] == 3 and [r['via'] for r in result['outcomes']] == ['single'] * 3
    assert counters(nrf)['endpoints'][CLAIM] == 3
    assert len(claimed(nrf)) == 3


def test_dry_run_reports_what_would_fail_and_claims_nothing(nrf, creds, run):
    done, other, bad, good = tokens(nrf, 4)
    run(nrfcloud_claim, args(nrf, creds, [done]))
    claim_for_team_b(nrf, creds, other)
    nrf.admin.reset_counters()
    devices = [done, other, malformed(bad), good]
    result = run(nrfcloud_claim, args(nrf, creds, devices, dry_run=True))
    assert result['failed'] and result['changed'] is False
    by_id = dict((r['item'], r) for r in result['outcomes'])
    assert by_id[done['device_id']]['phase'] == 'claimed' and not by_id[done['device_id']]['failed']
    assert 'claimed by another team' in by_id[other['device_id']]['msg'] and 'must unclaim it first' in by_id[other['device_id']]['msg']
    assert 'not an attestation token' in by_id[bad['device_id']]['msg'] and 'AT%ATTESTTOKEN' in by_id[bad['device_id']]['msg']
    assert by_id[good['device_id']]['claimable'] is True and by_id[good['device_id']]['phase'] == 'unclaimed'
    assert all(by_id[d]['phase'] == 'needs attention' for d in (other['device_id'], bad['device_id']))
    seen = counters(nrf)
    assert seen['endpoints'][DRY_RUN] == 3 and seen['by_category']['write'] == 0 and CLAIM not in seen['endpoints']
    assert sorted(claimed(nrf)) == [done['device_id']] and list(claimed(nrf, 'b')) == [other['device_id']]
    assert_no_token(result, devices)


def test_check_mode_sends_dry_runs_but_no_write_and_predicts(nrf, creds, run):
    devices = tokens(nrf, 12)
    nrf.admin.reset_counters()
    predicted = run(nrfcloud_claim, args(nrf, creds, devices, tags=['line-7']), check_mode=True, diff=True)
    assert predicted['changed'] is True and predicted['summary']['changed'] == 12
    assert counters(nrf)['by_category']['write'] == 0 and counters(nrf)['endpoints'][DRY_RUN] == 12
    assert predicted['diff']['after'][devices[0]['device_id']] == {'claimed': True, 'tags': ['line-7']}
    assert predicted['diff']['before'][devices[0]['device_id']] == {'claimed': False, 'tags': []}
    assert claimed(nrf) == {}
    real = run(nrfcloud_claim, args(nrf, creds, devices, tags=['line-7']), diff=True)
    assert real['changed'] and real['summary'] == predicted['summary'] and real['diff'] == predicted['diff']
    other = tokens(nrf, 1)[0]
    claim_for_team_b(nrf, creds, other)
    nrf.admin.reset_counters()
    failing = run(nrfcloud_claim, args(nrf, creds, devices + [other]), check_mode=True)
    assert failing['failed'] and failing['summary'] == {'total': 13, 'changed': 0, 'ok': 12, 'failed': 1, 'waiting': 0}
    assert counters(nrf)['by_category']['write'] == 0


def test_bulk_errors_are_mapped_back_to_their_devices_and_a_rerun_converges(nrf, creds, run):
    devices = tokens(nrf, 15)
    claim_for_team_b(nrf, creds, devices[4])
    devices[9] = malformed(devices[9])
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, devices))
    assert result['failed'] and result['changed'] and result['summary']['changed'] == 13 and result['summary']['failed'] == 2
    assert counters(nrf)['endpoints'][CLAIM] == 1
    failed = dict((r['item'], r['msg']) for r in result['outcomes'] if r['failed'])
    assert sorted(failed) == sorted([devices[4]['device_id'], devices[9]['device_id']])
    assert 'the bulk claim refused its row: Device %s is claimed by another team' % devices[4]['device_id'] == failed[devices[4]['device_id']]
    assert 'not an attestation token' in failed[devices[9]['device_id']]
    assert len(claimed(nrf)) == 13
    assert_no_token(result, devices)
    nrf.admin.reset_counters()
    again = run(nrfcloud_claim, args(nrf, creds, devices[:4] + devices[5:9] + devices[10:]))
    assert again['changed'] is False and counters(nrf)['by_category']['write'] == 0


def test_a_bulk_operation_answer_is_followed_to_its_end(nrf, creds, run):
    nrf.admin.call('POST', '/nrfcloud/bulk-claim', {'answer': 'bulk-ops'})
    devices = tokens(nrf, 12)
    claim_for_team_b(nrf, creds, devices[3])
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, devices, tags=['nrf-cloud-onboarding']))
    assert result['summary']['changed'] == 11 and result['summary']['failed'] == 1
    assert counters(nrf)['endpoints'][CLAIM] == 1 and counters(nrf)['endpoints'][BULK_OPS] >= 1
    request_ids = set(r.get('bulk_ops_request_id') for r in result['outcomes'] if not r['failed'])
    assert len(request_ids) == 1 and None not in request_ids
    failed = [r for r in result['outcomes'] if r['failed']]
    assert failed[0]['item'] == devices[3]['device_id'] and 'claimed by another team' in failed[0]['msg']
    assert len(claimed(nrf)) == 11 and all(d['tags'] == ['nrf-cloud-onboarding'] for d in claimed(nrf).values())


def test_a_bulk_request_that_dropped_leaves_the_claimed_list_to_decide(nrf, creds, run):
    devices = tokens(nrf, 11)
    nrf.admin.add_fault(vendor='nrfcloud-provisioning', method='POST', path=r'/claimed-devices$', kind='status', status=502, count=1)
    result = run(nrfcloud_claim, args(nrf, creds, devices, retries=0))
    assert result['failed'] and result['summary']['failed'] == 11 and claimed(nrf) == {}
    assert 'HTTP 502' in result['outcomes'][0]['msg']
    again = run(nrfcloud_claim, args(nrf, creds, devices))
    assert again['summary']['changed'] == 11 and not again.get('failed')


def test_already_claimed_with_other_tags_warns(nrf, creds, run):
    devices = tokens(nrf, 1)
    run(nrfcloud_claim, args(nrf, creds, devices, tags=['line-7']))
    result = run(nrfcloud_claim, args(nrf, creds, devices, tags=['line-8']))
    assert result['changed'] is False and 'no call to change the tags' in result['outcomes'][0]['warning']
    assert result['outcomes'][0]['tags'] == ['line-7']


def test_unclaim_by_token_or_id_then_nothing_to_do(nrf, creds, run):
    devices = tokens(nrf, 3)
    run(nrfcloud_claim, args(nrf, creds, devices))
    items = [{'claim_token': devices[0]['claim_token']}, {'device_id': devices[1]['device_id']}]
    nrf.admin.reset_counters()
    checked = run(nrfcloud_claim, args(nrf, creds, [], devices=items, state='absent'), check_mode=True)
    assert checked['changed'] and counters(nrf)['by_category']['write'] == 0 and DRY_RUN not in counters(nrf)['endpoints']
    result = run(nrfcloud_claim, args(nrf, creds, [], devices=items, state='absent'), diff=True)
    assert result['changed'] and [r['unclaimed'] for r in result['outcomes']] == [True, True]
    assert result['diff']['after'][devices[1]['device_id']] == {'claimed': False, 'tags': []}
    assert list(claimed(nrf)) == [devices[2]['device_id']] and counters(nrf)['endpoints'][UNCLAIM] == 2
    nrf.admin.reset_counters()
    again = run(nrfcloud_claim, args(nrf, creds, [], devices=items, state='absent'))
    assert again['changed'] is False and counters(nrf)['by_category']['write'] == 0


@pytest.mark.parametrize('extra, words', [
    (dict(devices=[{'device_id': 'dev-1'}]), 'no claim_token was given to claim it'),
    (dict(tags=['a,b']), 'a comma would split'),
    (dict(bulk_threshold=-1), 'bulk_threshold must be 0 or more'),
    (dict(devices=[{'claim_token': 'x y'}]), 'no blank or line break'),
])
def test_bad_input_is_refused_before_any_write(nrf, creds, run, extra, words):
    devices = tokens(nrf, 2)
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, devices, **extra))
    assert result['failed'] and words in result['msg'], result['msg']
    assert counters(nrf)['by_category']['write'] == 0 and claimed(nrf) == {}


def test_the_same_device_twice_is_refused(nrf, creds, run):
    device = tokens(nrf, 1)[0]
    result = run(nrfcloud_claim, args(nrf, creds, [], devices=[{'claim_token': device['claim_token']}, {'device_id': device['device_id']}]))
    assert result['failed'] and 'each resource may appear once per task' in result['msg']
    assert device['claim_token'] not in json.dumps(result)


def test_a_bulk_operation_that_does_not_finish_in_time_is_not_sent_again(nrf, creds, run):
    nrf.admin.call('POST', '/nrfcloud/bulk-claim', {'answer': 'bulk-ops'})
    nrf.admin.nrfcloud_simulator(bulk_delay=600)
    devices = tokens(nrf, 11)
    result = run(nrfcloud_claim, args(nrf, creds, devices, bulk_timeout=0))
    assert result['failed'] and result['summary']['failed'] == 11
    assert 'did not finish within 0 s; re-run the task' in result['outcomes'][0]['msg']
    nrf.admin.advance_clock(600)
    nrf.admin.reset_counters()
    again = run(nrfcloud_claim, args(nrf, creds, devices))
    assert again['changed'] is False and again['summary']['ok'] == 11 and counters(nrf)['by_category']['write'] == 0


def test_device_tags_override_the_default_in_a_bulk_claim(nrf, creds, run):
    devices = tokens(nrf, 12)
    run(nrfcloud_claim, args(nrf, creds, devices[:1]))  # claimed before: done, not sent again
    items = [{'claim_token': d['claim_token']} for d in devices]
    items[5]['tags'] = ['rework']
    nrf.admin.reset_counters()
    result = run(nrfcloud_claim, args(nrf, creds, [], devices=items, tags=['nrf-cloud-onboarding'], bulk_threshold=10))
    assert result['summary'] == {'total': 12, 'changed': 11, 'ok': 1, 'failed': 0, 'waiting': 0}
    assert counters(nrf)['endpoints'][CLAIM] == 1
    state = claimed(nrf)
    assert state[devices[5]['device_id']]['tags'] == ['rework'] and state[devices[6]['device_id']]['tags'] == ['nrf-cloud-onboarding']
    assert state[devices[0]['device_id']]['tags'] == [] and 'warning' in result['outcomes'][0]
