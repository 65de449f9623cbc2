# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""naocloud_site against the mock: create, update by name and by id, idempotence, check mode, diff, refusals, partial failure."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import naocloud_site

SITES = 'naocloud %s /api/v2/sites'
SITE = 'naocloud %s /api/v2/sites/{site_id}'


def two():
    return [dict(name='Line 4 Hall', latitude=48.1391, longitude=11.5802),
            dict(name='Mock Warehouse', latitude=48.15, longitude=11.59)]


def held(mock):
    return {site['name']: site for site in mock.admin.state()['naocloud']['sites']}


def test_create_one_update_one_then_nothing(mock, run, mock_args):
    check = run(naocloud_site, mock_args('naocloud', sites=two()), check_mode=True, diff=True)
    assert check['changed'] and [o['action'] for o in check['outcomes']] == ['create', 'update'] and mock.admin.writes() == 0
    assert check['outcomes'][0]['site'] == two()[0]  # no id before NAO Cloud assigns it
    assert check['diff']['before']['Mock Warehouse'] == {'name': 'Mock Warehouse', 'latitude': 48.15, 'longitude': 11.58}
    assert check['diff']['after']['Mock Warehouse']['longitude'] == 11.59
    result = run(naocloud_site, mock_args('naocloud', sites=two()), diff=True)
    assert result['changed'] and result['summary']['changed'] == 2 and result['summary']['failed'] == 0
    sites = held(mock)
    assert sites['Line 4 Hall'] == dict(two()[0], id=103) and result['outcomes'][0]['site']['id'] == 103
    assert sites['Mock Warehouse'] == dict(two()[1], id=102)
    assert sites['Mock Factory Hall']['longitude'] == 11.5755  # not named: untouched
    assert mock.admin.counters()['endpoints'][SITES % 'POST'] == 1 and mock.admin.counters()['endpoints'][SITE % 'PUT'] == 1
    assert result['diff']['after']['Line 4 Hall'] == two()[0]

    mock.admin.reset_counters()
    again = run(naocloud_site, mock_args('naocloud', sites=two()))
    assert again['changed'] is False and [o['action'] for o in again['outcomes']] == ['none', 'none'] and mock.admin.writes() == 0
    assert mock.admin.counters()['endpoints'] == {SITES % 'GET': 1}  # one list read, no GET per site
    assert run(naocloud_site, mock_args('naocloud', sites=two()), check_mode=True)['changed'] is False and mock.admin.writes() == 0


def test_rename_by_id_sends_only_the_name(mock, run, mock_args):
    task = mock_args('naocloud', sites=[dict(id=101, name='Factory Hall (north)')])
    result = run(naocloud_site, task)
    assert result['outcomes'][0]['item'] == '#101' and result['outcomes'][0]['action'] == 'update'
    assert held(mock)['Factory Hall (north)'] == {'id': 101, 'name': 'Factory Hall (north)', 'latitude': 48.1374, 'longitude': 11.5755}
    assert run(naocloud_site, task)['changed'] is False


def test_refusals_come_before_any_write(mock, run, mock_args):
    mock.admin.seed('naocloud', 'sites', {'sites': [{'name': 'Mock Warehouse'}]})
    mock.admin.reset_counters()
    cases = [
        ([dict(name='Mock Warehouse', latitude=1.0)], "2 sites are named 'Mock Warehouse' (ids 102, 103); give the id"),
        ([dict(id=999, name='x')], 'NAO Cloud has no site 999 that this user can see'),
        ([dict(name='New hall', latitude=1.0)], 'latitude and longitude are required to create a site'),
        ([dict(id=101, latitude=1.0), dict(name='Mock Factory Hall', longitude=2.0)], "sites[1]: 'site 101' is also sites[0]"),
        ([dict(name='ok', latitude=1.0, longitude=1.0), dict(name='x', latitude=91.0)], 'sites[1] (x): latitude must be a number'),
    ]
    for sites, words in cases:
        result = run(naocloud_site, mock_args('naocloud', sites=sites))
        assert result['failed'] and words in result['msg'], result['msg']
    assert mock.admin.writes() == 0 and 'ok' not in held(mock)


def test_a_refused_write_fails_its_site_and_the_others_are_worked(mock, run, mock_args):
    mock.admin.add_fault(vendor='naocloud', method='PUT', path='/sites/102$', kind='status', status=422, message='Name is invalid')
    result = run(naocloud_site, mock_args('naocloud', sites=two()))
    assert result['failed'] and result['summary']['failed'] == 1 and result['summary']['changed'] == 1
    assert result['outcomes'][1]['failed'] and '422' in result['outcomes'][1]['msg'] and 'Name is invalid' in result['outcomes'][1]['msg']
    assert 'Line 4 Hall' in held(mock)
    mock.admin.clear_faults()
    rerun = run(naocloud_site, mock_args('naocloud', sites=two()))
    assert [o['action'] for o in rerun['outcomes']] == ['none', 'update'] and not rerun.get('failed')


def test_a_session_and_an_oauth2_token_work_too(mock, creds, run, mock_args):
    session = mock_args('naocloud', api_key=None, email=creds.NAOCLOUD_EMAIL, password=creds.NAOCLOUD_PASSWORD, sites=[dict(id=102)])
    assert run(naocloud_site, session)['changed'] is False
    oauth = mock_args('naocloud', api_key=None, access_token=creds.NAOCLOUD_ACCESS_TOKEN, sites=[dict(id=102, latitude=48.2)])
    assert run(naocloud_site, oauth)['changed'] and held(mock)['Mock Warehouse']['latitude'] == 48.2


def test_a_create_whose_answer_is_lost_is_read_back_not_sent_again(mock, run, mock_args):
    mock.admin.add_fault(vendor='naocloud', method='POST', path='/sites$', kind='drop_after')
    mock.admin.add_fault(vendor='naocloud', method='PUT', path='/sites/102$', kind='drop_after')
    result = run(naocloud_site, mock_args('naocloud', sites=two()))
    assert result['changed'] and result['summary']['failed'] == 0, result
    assert mock.admin.counters()['endpoints'][SITES % 'POST'] == 1 and mock.admin.counters()['endpoints'][SITE % 'PUT'] == 1
    assert [site['name'] for site in mock.admin.state()['naocloud']['sites']].count('Line 4 Hall') == 1
    assert held(mock)['Mock Warehouse']['longitude'] == 11.59
