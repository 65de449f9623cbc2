# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""naocloud_trackable, naocloud_trackable_info and naocloud_site_info against the mock: tag by tag, exclusive batch with its
background job, check mode, the three auth schemes, bad input, partial failure."""

from __future__ import annotations

import functools
import json

import pytest
import requests

from ansible_collections.iotops.provisioning.plugins.modules import naocloud_site_info, naocloud_trackable, naocloud_trackable_info

SITE = 101
TAGS = 'naocloud %s /api/v2/sites/{site_id}/nao_trackables'
ITEM = 'naocloud %s /api/v2/sites/{site_id}/nao_trackables/{trackable_id}'
BATCH = 'naocloud PUT /api/v2/sites/{site_id}/nao_trackables/batch'
JOB = 'naocloud GET /api/v2/background_jobs/{job_id}'


@pytest.fixture
def args(mock_args):
    """``args(**options)``: the module's arguments for site SITE of the mock, then ``options``."""
    return functools.partial(mock_args, 'naocloud', site_id=SITE, job_poll_interval=0.05)


def three():
    return [dict(tracking_id='AA:BB:CC:00:00:01', name='Forklift 1', category='forklift'),
            dict(tracking_id='aa-bb-cc-00-00-02', name='Forklift 2', category='forklift'),
            dict(tracking_id='AA:BB:CC:00:00:03', name='Pallet jack 1')]


def held(mock, site=SITE):
    return {tag['tracking_id']: tag for tag in mock.admin.state()['naocloud']['trackables'][str(site)]}


def test_create_three_change_one_idempotent_delete(mock, run, args):
    result = run(naocloud_trackable, args(trackables=three()))
    assert result['summary'] == dict(total=3, changed=3, ok=0, failed=0, waiting=0)
    tags = held(mock)
    assert sorted(tags) == ['AA:BB:CC:00:00:01', 'AA:BB:CC:00:00:02', 'AA:BB:CC:00:00:03']
    assert tags['AA:BB:CC:00:00:03']['category'] is None and tags['AA:BB:CC:00:00:02']['name'] == 'Forklift 2'
    assert result['outcomes'][1]['item'] == 'AA:BB:CC:00:00:02' and result['outcomes'][1]['trackable']['id'] >= 1
    assert mock.admin.counters()['endpoints'][TAGS % 'POST'] == 3

    mock.admin.reset_counters()
    again = run(naocloud_trackable, args(trackables=three()))
    assert again['changed'] is False and mock.admin.writes() == 0
    assert mock.admin.counters()['endpoints'] == {TAGS % 'GET': 1}

    changed = three()
    changed[2]['category'] = 'pallet'
    result = run(naocloud_trackable, args(trackables=changed), diff=True)
    assert result['summary'] == dict(total=3, changed=1, ok=2, failed=0, waiting=0)
    assert result['diff'] == {'before': {'AA:BB:CC:00:00:03': {'name': 'Pallet jack 1', 'tracking_id': 'AA:BB:CC:00:00:03', 'category': None}},
                              'after': {'AA:BB:CC:00:00:03': {'name': 'Pallet jack 1', 'tracking_id': 'AA:BB:CC:00:00:03',
                                                              'category': 'pallet'}}}
    assert mock.admin.counters()['endpoints'][ITEM % 'PUT'] == 1 and held(mock)['AA:BB:CC:00:00:03']['category'] == 'pallet'

    mock.admin.reset_counters()
    gone = run(naocloud_trackable, args(state='absent', trackables=[dict(tracking_id='AA:BB:CC:00:00:01')]))
    assert gone['outcomes'][0]['action'] == 'delete' and sorted(held(mock)) == ['AA:BB:CC:00:00:02', 'AA:BB:CC:00:00:03']
    assert mock.admin.counters()['endpoints'][ITEM % 'DELETE'] == 1
    assert run(naocloud_trackable, args(state='absent', trackables=[dict(tracking_id='AA:BB:CC:00:00:01')]))['changed'] is False


def test_attributes_left_out_are_kept_and_empty_category_clears(mock, run, args):
    run(naocloud_trackable, args(trackables=three()))
    result = run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='Renamed')]))
    assert result['changed'] and held(mock)['AA:BB:CC:00:00:01']['category'] == 'forklift'
    result = run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', category='')]))
    assert result['changed'] and held(mock)['AA:BB:CC:00:00:01']['category'] is None
    assert run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', category='')]))['changed'] is False


def test_check_mode_sends_no_write_and_predicts_exactly(mock, run, args):
    run(naocloud_trackable, args(trackables=three()))
    changed = three()
    changed[0]['name'] = 'Forklift 1 (spare)'
    changed[1]['state'] = 'absent'
    changed.append(dict(tracking_id='AA:BB:CC:00:00:04', name='New'))
    mock.admin.reset_counters()
    result = run(naocloud_trackable, args(trackables=changed), check_mode=True, diff=True)
    assert [r['action'] for r in result['outcomes']] == ['update', 'delete', 'none', 'create']
    assert result['summary'] == dict(total=4, changed=3, ok=1, failed=0, waiting=0)
    assert mock.admin.writes() == 0
    real = run(naocloud_trackable, args(trackables=changed))
    assert [r['action'] for r in real['outcomes']] == ['update', 'delete', 'none', 'create']
    # exclusive check mode: the batch endpoint is not called either
    mock.admin.reset_counters()
    check = run(naocloud_trackable, args(exclusive=True, trackables=three()[:1]), check_mode=True)
    assert check['changed'] and [r['action'] for r in check['outcomes']] == ['update', 'delete', 'delete']
    assert mock.admin.writes() == 0 and JOB not in mock.admin.counters()['endpoints']


def test_exclusive_replaces_all_with_one_batch_and_waits_for_the_job(mock, run, args):
    mock.admin.seed('naocloud', 'trackables', {'site_id': SITE, 'trackables': [
        dict(name='stray 1', tracking_id='AA:BB:CC:99:00:01'), dict(name='keep', tracking_id='AA:BB:CC:00:00:01', category='old')]})
    wanted = [dict(tracking_id='AA:BB:CC:00:00:01', name='Forklift 1'), dict(tracking_id='AA:BB:CC:00:00:02', name='Forklift 2')]
    result = run(naocloud_trackable, args(exclusive=True, trackables=wanted), diff=True)
    assert result['summary'] == dict(total=3, changed=3, ok=0, failed=0, waiting=0)
    assert [(r['item'], r['action']) for r in result['outcomes']] == [
        ('AA:BB:CC:00:00:01', 'update'), ('AA:BB:CC:00:00:02', 'create'), ('AA:BB:CC:99:00:01', 'delete')]
    assert result['job']['status'] == 'success' and result['job']['has_finished'] is True
    tags = held(mock)
    assert sorted(tags) == ['AA:BB:CC:00:00:01', 'AA:BB:CC:00:00:02']
    assert tags['AA:BB:CC:00:00:01']['category'] == 'old'  # not given in the task: the module sent the tag's own category
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints[BATCH] == 1 and endpoints[JOB] >= 1
    # the 303 reached the module (requests did not follow it); the job was read from api_url
    assert mock.admin.counters()['statuses'][BATCH] == {'303': 1}
    assert TAGS % 'POST' not in endpoints and ITEM % 'DELETE' not in endpoints
    assert result['outcomes'][1]['trackable']['id'] >= 1  # read back after the job

    mock.admin.reset_counters()
    again = run(naocloud_trackable, args(exclusive=True, trackables=wanted))
    assert again['changed'] is False and mock.admin.writes() == 0 and 'job' not in again


def test_exclusive_job_failure_fails_with_the_job_message(mock, run, args):
    mock.admin.seed('naocloud', 'job_failure', {'message': 'Missing graph or indoor area. Please add.'})
    result = run(naocloud_trackable, args(exclusive=True, trackables=three()))
    assert result['failed']
    assert result['msg'].startswith('naocloud PUT /sites/101/nao_trackables/batch: background job 48145 failed: ')
    assert result['msg'].endswith('Missing graph or indoor area. Please add.')
    assert result['job']['status'] == 'failure'
    assert held(mock) == {}
    rerun = run(naocloud_trackable, args(exclusive=True, trackables=three()))
    assert rerun['changed'] and len(held(mock)) == 3


def test_exclusive_job_timeout(mock, run, args):
    result = run(naocloud_trackable, args(exclusive=True, trackables=three(), job_timeout=0.01))
    assert result['failed'] and "still 'In progress'" in result['msg'] and 'job_timeout' in result['msg']
    mock.admin.advance_clock(1)
    assert run(naocloud_trackable, args(exclusive=True, trackables=three()))['changed'] is False


def test_exclusive_with_an_empty_list_empties_the_site(mock, run, args):
    run(naocloud_trackable, args(trackables=three()))
    result = run(naocloud_trackable, args(exclusive=True, trackables=[]))
    assert result['summary']['changed'] == 3 and held(mock) == {}


def test_partial_failure_and_rerun(mock, run, args):
    mock.admin.add_fault(vendor='naocloud', method='POST', path='nao_trackables$', kind='status', status=422, skip=1,
                         message='Tracking id is reserved by another tenant')
    result = run(naocloud_trackable, args(trackables=three(), concurrency=1))
    assert result['failed'] and result['summary'] == dict(total=3, changed=2, ok=0, failed=1, waiting=0)
    assert 'HTTP 422' in result['outcomes'][1]['msg'] and 'reserved by another tenant' in result['outcomes'][1]['msg']
    rerun = run(naocloud_trackable, args(trackables=three()))
    assert rerun['summary'] == dict(total=3, changed=1, ok=2, failed=0, waiting=0)


def test_a_tag_another_client_registered_meanwhile_is_taken_and_updated(mock, run, args):
    # another client creates the tag between the module's read (faked empty here) and its POST: NAO Cloud answers 422
    # (tracking id taken); the module reads the tag and changes only what differs
    mock.admin.seed('naocloud', 'trackables', {'site_id': SITE, 'trackables': [dict(name='x', tracking_id='AA:BB:CC:00:00:01')]})
    mock.admin.add_fault(vendor='naocloud', method='GET', path='nao_trackables$', kind='status', status=200, count=1)
    result = run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='dup')]))
    assert not result.get('failed') and result['outcomes'][0]['trackable']['name'] == 'dup', result
    assert [t['name'] for t in mock.admin.state()['naocloud']['trackables'][str(SITE)]] == ['dup']


def test_a_vendor_422_for_another_reason_is_reported(mock, run, args):
    mock.admin.add_fault(vendor='naocloud', method='POST', path='nao_trackables$', kind='status', status=422, count=1)
    result = run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:02', name='refused')], retries=0))
    assert result['failed'] and 'HTTP 422' in result['outcomes'][0]['msg'], result


@pytest.mark.parametrize('auth', ['api_key', 'password', 'oauth2', 'session'])
def test_each_auth_scheme(mock, creds, run, auth, args):
    extra = {'api_key': None}
    if auth == 'api_key':
        extra['api_key'] = creds.NAOCLOUD_API_KEY
    elif auth == 'password':
        extra.update(email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD)
    elif auth == 'oauth2':
        extra.update(access_token=creds.NAOCLOUD_ACCESS_TOKEN, access_token_type='oauth2')
    else:
        token = requests.post(mock.url + '/naocloud/api/v2/sessions', headers={'Authorization': creds.NAOCLOUD_API_KEY}).json()['meta']['jwt']
        extra.update(access_token=token, access_token_type='session')
    result = run(naocloud_trackable, args(trackables=three()[:1], **extra))
    assert result['changed'] and not result.get('failed')
    assert creds.NAOCLOUD_PASSWORD not in json.dumps(result) and creds.NAOCLOUD_API_KEY not in json.dumps(result)


BAD_INPUTS = [
    (dict(trackables=[dict(tracking_id='AA:BB:CC:00:00', name='x')]), "trackables[0] (AA:BB:CC:00:00): tracking_id 'AA:BB:CC:00:00' is not a MAC"),
    (dict(trackables=[dict(tracking_id='AA:BB-CC:00:00:01', name='x')]), 'is not a MAC address'),
    (dict(trackables=[dict(tracking_id='GG:BB:CC:00:00:01', name='x')]), 'is not a MAC address'),
    (dict(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='x'), dict(tracking_id='aa-bb-cc-00-00-01', name='y')]),
     'each resource may appear once'),
    (dict(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='  ')]), 'name must be 1 to 255 characters and not blank'),
    (dict(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='x', category='c' * 256)]), 'category is 256 characters long'),
    (dict(site_id=0, trackables=[]), 'site_id must be a positive'),
    (dict(job_timeout=0, trackables=[]), 'job_timeout must be more than 0'),
    (dict(concurrency=65, trackables=[]), 'concurrency must be from 1 to 64'),
    (dict(api_key=None, trackables=[]), 'NAO Cloud credentials are missing'),
    (dict(api_url='www.nao-cloud.com/api/v2', trackables=[]), 'api_url must be an http:// or https:// URL'),
]


@pytest.mark.parametrize('extra, words', BAD_INPUTS, ids=[words[:40] for _extra, words in BAD_INPUTS])
def test_bad_input_fails_before_any_request(mock, run, extra, words, monkeypatch, args):
    monkeypatch.delenv('NAOCLOUD_API_KEY', raising=False)
    result = run(naocloud_trackable, args(**extra))
    assert result['failed'] and words in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0


def test_missing_name_for_a_new_tag_fails_after_the_read_before_any_write(mock, run, args):
    result = run(naocloud_trackable, args(trackables=[dict(tracking_id='AA:BB:CC:00:00:01', name='ok'),
                                                      dict(tracking_id='AA:BB:CC:00:00:02', category='c')]))
    assert result['failed'] and 'trackables[1] (AA:BB:CC:00:00:02): name is required to create a tag' in result['msg']
    assert mock.admin.writes() == 0 and mock.admin.counters()['by_category']['read'] == 1


def test_unknown_site(mock, run, args):
    result = run(naocloud_trackable, args(site_id=999, trackables=three()))
    assert result['failed'] and 'naocloud GET /naocloud/api/v2/sites/999/nao_trackables failed: HTTP 404' in result['msg']
    assert 'Site 999 not found' in result['msg'] and mock.admin.writes() == 0


def test_wrong_api_key(run, args):
    result = run(naocloud_trackable, args(api_key='WrongKeyWrongKey', trackables=three()))
    assert result['failed'] and 'HTTP 401' in result['msg'] and 'WrongKeyWrongKey' not in json.dumps(result)


# info --------------------------------------------------------------------------------------------

def test_trackable_info_filters(mock, run, args, mock_args):
    run(naocloud_trackable, args(trackables=three()))
    mock.admin.seed('naocloud', 'trackables', {'site_id': SITE, 'count': 120})
    mock.admin.reset_counters()
    base = mock_args('naocloud', site_id=SITE)
    every = run(naocloud_trackable_info, base)
    assert every['count'] == 123 and mock.admin.counters()['endpoints'][TAGS % 'GET'] == 2  # pages of 100
    forklifts = run(naocloud_trackable_info, dict(base, categories=['forklift']), check_mode=True)
    assert sorted(t['name'] for t in forklifts['trackables']) == ['Forklift 1', 'Forklift 2']  # created by 8 threads: any order
    two = run(naocloud_trackable_info, dict(base, tracking_ids=['aa-bb-cc-00-00-03', 'AA:BB:CC:00:00:01']))
    assert sorted(t['tracking_id'] for t in two['trackables']) == ['AA:BB:CC:00:00:01', 'AA:BB:CC:00:00:03']
    assert isinstance(two['trackables'][0]['id'], int)
    named = run(naocloud_trackable_info, dict(base, name='Pallet jack 1'))
    assert named['count'] == 1
    assert run(naocloud_trackable_info, dict(base, tracking_ids=[]))['count'] == 0
    bad = run(naocloud_trackable_info, dict(base, tracking_ids=['nope']))
    assert bad['failed'] and "'nope' is not a MAC address" in bad['msg']
    assert mock.admin.writes() == 0


def test_site_info(mock, creds, run):
    base = dict(api_url=mock.url + '/naocloud/api/v2', access_token=creds.NAOCLOUD_ACCESS_TOKEN)
    every = run(naocloud_site_info, base)
    assert [site['id'] for site in every['sites']] == [101, 102] and every['count'] == 2
    assert run(naocloud_site_info, dict(base, name='Mock Warehouse'))['sites'][0]['id'] == 102
    one = run(naocloud_site_info, dict(base, site_id=101))
    assert one['sites'] == [dict(id=101, name='Mock Factory Hall', latitude=48.1374, longitude=11.5755)]
    assert run(naocloud_site_info, dict(base, site_id=999))['sites'] == []
    assert mock.admin.writes() == 0
