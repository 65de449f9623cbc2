"""Devices that come online over time: POST /_mock/online (waves, shares, never, seed), nRF Cloud devices that connect
late or never, factory-fresh u-blox modules that bootstrap at their online time, re-bootstrap, and the refusals."""

import time

import pytest

from iotops_mock.client import MockServerError
from iotops_mock.common import utc_iso

from .helpers import Receiver, ublox_login
from .test_nrfcloud_commands import SEC_TAG
from .test_nrfcloud_provisioning import claim, factory, team_state
from .test_nrfcloud_simulator import command, csr_of, run, status

V1 = '/ublox/v1'
PROFILE = 'OnLineProfile0000000001'
BOOTSTRAP_PROVISIONING = {'Authorizations': [{'Name': 'ZTPV1', 'State': 'ENABLED'}],
                          'NetworkParameters': {'SecurityHeartbeatInSec': 3600}}


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def profile(ublox, mock):
    """A device profile linked to a Root CA, with bootstrap provisioning set."""
    ca = {'CAName': 'ztp', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365}
    assert ublox('/ztp/rootca/create', ca).status_code == 200
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'CAName': 'ztp'}]})
    assert ublox('/deviceprofile/bootstrapprovisioning/set',
                 {'DeviceProfileUID': PROFILE, 'Provisioning': BOOTSTRAP_PROVISIONING}).status_code == 200
    return PROFILE


def info(ublox, rots):
    return {item['ROTPublicUID']: item for item in ublox('/device/info/get', {'ROTPublicUIDs': rots}).json()['DeviceInfo']}


def nrf_online_times(mock):
    return {item['device_id']: item['onlineAt'] for item in mock.admin.state()['nrfcloud']['factory']}


# waves ------------------------------------------------------------------------------------------------

def test_waves_by_count_never_and_leftovers(mock):
    devices = [{'nrfcloud': item['device_id']} for item in factory(mock, 10)]
    assert set(nrf_online_times(mock).values()) == {0}     # seeded devices are online from the start
    answer = mock.admin.online(devices, waves=[{'count': 3, 'after': 0}, {'count': 2, 'after': 600}], never=2)
    assert answer['waves'] == [{'wave': 1, 'after': 0, 'since': 'now', 'count': 3}, {'wave': 2, 'after': 600, 'since': 'now', 'count': 5}]
    assert answer['never'] == 2
    rows = answer['devices']
    assert [row['nrfcloud'] for row in rows] == [device['nrfcloud'] for device in devices]   # no seed: list order
    assert [row['wave'] for row in rows] == [1] * 3 + [2] * 5 + [None] * 2
    assert [row['after'] for row in rows] == [0] * 3 + [600] * 5 + [None] * 2
    assert rows[0]['onlineAt'] == pytest.approx(answer['now']) and rows[3]['onlineAt'] == pytest.approx(answer['now'] + 600)
    times = nrf_online_times(mock)
    assert [times[row['nrfcloud']] for row in rows] == [row['onlineAt'] for row in rows]
    schedule = mock.admin.online_schedule()['devices']
    assert [(row['wave'], row['online']) for row in schedule] == [(1, True)] * 3 + [(2, False)] * 5 + [(None, False)] * 2
    mock.admin.advance_clock(600)
    assert [row['online'] for row in mock.admin.online_schedule()['devices']] == [True] * 8 + [False] * 2
    # naming a device again replaces its row
    mock.admin.online(devices[:1], after=5)
    schedule = mock.admin.online_schedule()['devices']
    assert len(schedule) == 10 and schedule[-1]['nrfcloud'] == devices[0]['nrfcloud'] and schedule[-1]['after'] == 5
    mock.admin.reset()
    assert mock.admin.online_schedule()['devices'] == []
    factory(mock, 10)
    assert set(nrf_online_times(mock).values()) == {0}


def test_shares_default_preset_seeded_shuffle_and_clock_jumps(mock, ublox):
    rots = mock.admin.manufacture_ublox({'count': 60})['added']
    devices = [{'ublox': rot} for rot in rots]
    answer = mock.admin.online(devices, waves='default', never=5, seed=7)
    # 55 come online: half (27, rounded down) at once, 30 % (16) after 5 s, the rest (12) after 15 s
    assert [(wave['after'], wave['count']) for wave in answer['waves']] == [(0, 27), (5, 16), (15, 12)]
    order = [row['ublox'] for row in answer['devices']]
    assert sorted(order) == sorted(rots) and order != rots
    never = set(order[-5:])
    assert all(row['onlineAt'] is None for row in answer['devices'][-5:])
    # the first wave bootstrapped in the call; the clock jumps bring the next ones
    listed = [ublox('/device/list/get').json()['TotalRecords']]
    for seconds in (5, 10, 3000):
        mock.admin.advance_clock(seconds)
        listed.append(ublox('/device/list/get').json()['TotalRecords'])
    assert listed == [27, 43, 55, 55]
    left = mock.admin.state()['ublox']['manufactured']
    assert {item['ROTPublicUID'] for item in left} == never and all(item['onlineAt'] is None for item in left)
    # the same seed gives the same order
    mock.admin.reset()
    assert mock.admin.manufacture_ublox({'count': 60})['added'] == rots
    assert [row['ublox'] for row in mock.admin.online(devices, waves='default', never=5, seed=7)['devices']] == order


def test_shares_round_down_and_mix_with_counts(mock):
    devices = [{'nrfcloud': item['device_id']} for item in factory(mock, 10)]
    shares = mock.admin.online(devices, waves=[{'share': 0.29, 'after': 0}, {'share': 0.3, 'after': 10}])
    assert [wave['count'] for wave in shares['waves']] == [2, 8]       # 2.9 -> 2; the last wave takes what is left
    mixed = mock.admin.online(devices, waves=[{'count': 4, 'after': 1}, {'share': 0.5, 'after': 2}, {'count': 0, 'after': 3}], never=2)
    assert [wave['count'] for wave in mixed['waves']] == [4, 4, 0]
    single = mock.admin.online(devices, after=30, never=10)
    assert single['waves'] == [{'wave': 1, 'after': 30, 'since': 'now', 'count': 0}]
    assert all(row['onlineAt'] is None for row in single['devices'])


def test_a_device_with_both_identities_comes_online_in_both_clouds_at_once(mock, http):
    nrf = factory(mock)[0]
    claim(http, mock, nrf)
    rot = mock.admin.manufacture_ublox({'devices': [{}]})['added'][0]
    row = mock.admin.online([{'nrfcloud': nrf['device_id'], 'ublox': rot}], after=100)['devices'][0]
    state = mock.admin.state()
    assert state['nrfcloud']['factory'][0]['onlineAt'] == row['onlineAt'] == state['ublox']['manufactured'][0]['onlineAt']
    assert team_state(mock)['claimedDevices'][0]['onlineAt'] == row['onlineAt']
    mock.admin.advance_clock(101)
    state = mock.admin.state()
    assert state['ublox']['manufactured'] == [] and [d['ROTPublicUID'] for d in state['ublox']['devices']] == [rot]


# nRF Cloud: a device that connects late, or never -------------------------------------------------------

def test_nrf_device_not_online_keeps_its_commands_pending_then_runs_them(mock, http):
    mock.admin.nrfcloud_simulator(connect_delay=10, command_delay=5)
    late, absent = factory(mock, 2)
    for device in (late, absent):
        claim(http, mock, device)
    mock.admin.online([{'nrfcloud': late['device_id']}, {'nrfcloud': absent['device_id']}], after=3600, never=1)
    csr_id = run(http, mock, late, {'certificateSigningRequest': {'secTag': SEC_TAG}})
    config_id = run(http, mock, absent, {'config': {'a': '1'}})
    assert status(http, mock, late) == 'READY' and command(http, mock, late, csr_id)['status'] == 'PENDING'
    mock.admin.advance_clock(3605)      # online, but connect_delay has not passed yet
    assert status(http, mock, late) == 'READY' and command(http, mock, late, csr_id)['status'] == 'PENDING'
    mock.admin.advance_clock(7)         # connected at online + 10 s; the CSR takes 5 s
    assert status(http, mock, late) == 'PROVISIONING' and command(http, mock, late, csr_id)['status'] == 'IN_PROGRESS'
    mock.admin.advance_clock(5)
    done = command(http, mock, late, csr_id)
    assert done['status'] == 'SUCCEEDED' and csr_of(done['response']).is_signature_valid
    assert status(http, mock, late) == 'AWAITING'
    mock.admin.advance_clock(30 * 86400)
    waiting = command(http, mock, absent, config_id)
    assert waiting['status'] == 'PENDING' and 'response' not in waiting and status(http, mock, absent) == 'READY'
    claimed = {item['id']: item for item in team_state(mock)['claimedDevices']}
    assert claimed[absent['device_id']]['onlineAt'] is None and claimed[absent['device_id']]['config'] == {}
    assert str(SEC_TAG) in claimed[late['device_id']]['keys']


def test_nrf_command_added_after_the_online_time_waits_only_connect_delay(mock, http):
    mock.admin.nrfcloud_simulator(connect_delay=10, command_delay=5)
    device = factory(mock)[0]
    claim(http, mock, device)
    mock.admin.online([{'nrfcloud': device['device_id']}], after=100)
    mock.admin.advance_clock(200)
    command_id = run(http, mock, device, {'config': {'a': '1'}})
    mock.admin.advance_clock(9)
    assert command(http, mock, device, command_id)['status'] == 'PENDING'
    mock.admin.advance_clock(2)
    assert command(http, mock, device, command_id)['status'] == 'IN_PROGRESS'


# u-blox: factory-fresh modules --------------------------------------------------------------------------

def test_manufactured_module_is_unknown_until_it_bootstraps(ublox, mock, profile, receiver):
    for kind in ('DEVICE_BOOTSTRAP_EVENT', 'DEVICE_PROPERTIES_CHANGE_EVENT', 'DEVICE_CERTIFICATE_RENEWAL_EVENT'):
        assert ublox('/notification/webhook/create', {'NotificationURL': receiver.url + '/hook', 'AuthorizationToken': 'Bearer t',
                                                      'NotificationType': kind}).status_code == 200
    made = mock.admin.manufacture_ublox({'devices': [
        {'ROTPublicUID': '00AA', 'DeviceProfileUID': profile},
        {'ROTPublicUID': '00bb', 'DeviceProfileUID': profile, 'IMEI': '862618583984360', 'DeviceSerialNumber': 'SN-B'},
        {'ROTPublicUID': '00cc', 'DeviceProfileUID': profile}]})
    rots = made['added']
    assert rots == ['00aa', '00bb', '00cc']
    assert made['devices'][1] == {'ROTPublicUID': '00bb', 'IMEI': '862618583984360', 'DeviceSerialNumber': 'SN-B',
                                  'DeviceProfileUID': profile}
    assert len(made['devices'][0]['IMEI']) == 15
    # whitelisted before bootstrap: 00aa by ROTPublicUID, 00bb by IMEI; 00cc not at all
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': ['00aa'], 'IMEIs': ['862618583984360']}).status_code == 200
    assert ublox('/tag/create', {'TagName': 'line-1'}).status_code == 200

    def unknown_to_the_api():
        assert ublox('/device/info/get', {'ROTPublicUIDs': rots}).json() == {'DeviceInfo': []}
        refused = ublox('/tag/assign', {'TagNames': ['line-1'], 'ROTPublicUIDs': rots})
        assert refused.status_code == 400 and refused.json()['message'].startswith('Bad Request. Invalid ROTPublicUIDs: 00aa, 00bb, 00cc')
        assert ublox('/device/list/get').json()['TotalRecords'] == 0
    unknown_to_the_api()
    assert [item['onlineAt'] for item in mock.admin.state()['ublox']['manufactured']] == [None] * 3
    online_at = mock.admin.online([{'ublox': rot} for rot in rots], after=60)['devices'][0]['onlineAt']
    mock.admin.advance_clock(59)
    unknown_to_the_api()
    assert receiver.received == []
    mock.admin.advance_clock(2)
    # the clock move itself bootstrapped them and delivered the events, before any API call
    events = [(item['body']['ROTPublicUID'], item['body']['EventType']) for item in receiver.received]
    assert events == [('00aa', 'DEVICE_BOOTSTRAP_EVENT'), ('00aa', 'DEVICE_PROPERTIES_CHANGE_EVENT'),
                      ('00aa', 'DEVICE_CERTIFICATE_RENEWAL_EVENT'),
                      ('00bb', 'DEVICE_BOOTSTRAP_EVENT'), ('00bb', 'DEVICE_PROPERTIES_CHANGE_EVENT'),
                      ('00bb', 'DEVICE_CERTIFICATE_RENEWAL_EVENT'),
                      ('00cc', 'DEVICE_BOOTSTRAP_EVENT')]
    assert {item['body']['Timestamp'] for item in receiver.received} == {utc_iso(online_at)}
    assert receiver.received[0]['body']['Payload']['DeviceProfileUID'] == profile
    devices = info(ublox, rots)
    for rot in ('00aa', '00bb'):
        core, current = devices[rot]['Core'], devices[rot]['Provisioning']['CurrentProperties']
        assert core['State'] == 'ACTIVATED' and core['BootstrapDate'] == utc_iso(online_at) and core['DeviceProfileUID'] == profile
        assert [(a['Name'], a['State']) for a in current['Authorizations']] == [('ZTPV1', 'ENABLED')]
        assert current['NetworkParameters'] == {'SecurityHeartbeatInSec': 3600}
        assert devices[rot]['ZTP']['CurrentProperties']['CAName'] == 'ztp'
    allocated = devices['00cc']
    assert allocated['Core']['State'] == 'ALLOCATED' and allocated['Core']['BootstrapDate'] == utc_iso(online_at)
    assert 'Authorizations' not in allocated['Provisioning']['CurrentProperties']
    assert allocated['Provisioning']['CurrentProperties']['NetworkParameters'] == {'SecurityHeartbeatInSec': 86400}
    assert allocated['ZTP']['CurrentProperties'] == {}
    assert ublox('/tag/assign', {'TagNames': ['line-1'], 'ROTPublicUIDs': rots}).status_code == 200
    state = mock.admin.state()['ublox']
    assert state['manufactured'] == [] and len(state['webhooks']['deliveries']) == 7


def test_a_due_bootstrap_happens_before_the_next_api_request(ublox, mock):
    rot = mock.admin.manufacture_ublox({'count': 1})['added'][0]
    mock.admin.online([{'ublox': rot}], after=0.3)
    assert ublox('/device/list/get').json()['TotalRecords'] == 0
    time.sleep(0.4)                     # the wall clock, not an admin call, passes the online time
    assert ublox('/device/list/get').json()['ROTPublicUIDs'] == [rot]


def test_rebootstrap_of_an_allocated_device_after_whitelisting(ublox, mock, profile):
    rot = mock.admin.manufacture_ublox({'count': 1, 'start': 7, 'DeviceProfileUID': profile})['added'][0]
    assert rot == '0003%012x' % 7
    mock.admin.online([{'ublox': rot}], after=0)
    assert info(ublox, [rot])[rot]['Core']['State'] == 'ALLOCATED'
    with pytest.raises(MockServerError, match='already bootstrapped: %s' % rot):
        mock.admin.online([{'ublox': rot}], after=0)
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': [rot]}).status_code == 200
    online_at = mock.admin.online([{'ublox': rot}], after=30, rebootstrap=True)['devices'][0]['onlineAt']
    assert mock.admin.state()['ublox']['rebootstraps'] == [{'ROTPublicUID': rot, 'onlineAt': online_at, 'waitingFor': None}]
    assert info(ublox, [rot])[rot]['Core']['State'] == 'ALLOCATED'
    mock.admin.advance_clock(31)
    device = info(ublox, [rot])[rot]
    assert device['Core']['State'] == 'ACTIVATED' and device['Core']['BootstrapDate'] == utc_iso(online_at)
    assert device['Provisioning']['CurrentProperties']['Authorizations'][0]['Name'] == 'ZTPV1'
    assert device['ZTP']['CurrentProperties']['CAName'] == 'ztp'
    assert mock.admin.state()['ublox']['rebootstraps'] == []
    with pytest.raises(MockServerError, match='only an ALLOCATED ublox device can bootstrap again; not ALLOCATED: %s' % rot):
        mock.admin.online([{'ublox': rot}], after=0, rebootstrap=True)


# a countdown that starts at an event (since) ------------------------------------------------------------

def schedule_row(mock, cloud, ident):
    return next(row for row in mock.admin.online_schedule()['devices'] if row.get(cloud) == ident)


def whitelisted_at(ublox, ident):
    return {entry['Id']: entry['CreatedDate'] for entry in ublox('/device/whitelist/get').json()['DeviceWhitelist']}[ident]


def test_since_whitelisted_after_0_bootstraps_activated_once_whitelisted(ublox, mock, profile):
    rot = mock.admin.manufacture_ublox({'devices': [{'DeviceProfileUID': profile}]})['added'][0]
    answer = mock.admin.online([{'ublox': rot}], after=0, since='whitelisted')
    assert answer['waves'] == [{'wave': 1, 'after': 0, 'since': 'whitelisted', 'count': 1}]
    assert answer['devices'] == [{'ublox': rot, 'wave': 1, 'after': 0, 'since': 'whitelisted', 'waiting': True,
                                  'startedAt': None, 'onlineAt': None}]
    assert mock.admin.state()['ublox']['manufactured'][0]['onlineAt'] is None
    mock.admin.advance_clock(1800)      # however long the line takes, the module waits for the whitelist
    row = schedule_row(mock, 'ublox', rot)
    assert (row['waiting'], row['onlineAt'], row['online']) == (True, None, False)
    assert mock.admin.state()['ublox']['manufactured'][0]['waitingFor'] == 'whitelisted'
    assert ublox('/device/list/get').json()['TotalRecords'] == 0
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': [rot.upper()]}).status_code == 200
    # the whitelist call did not bootstrap it before the entry existed: the next call finds it ACTIVATED
    device = info(ublox, [rot])[rot]
    assert device['Core']['State'] == 'ACTIVATED'
    assert device['Core']['BootstrapDate'] == whitelisted_at(ublox, rot)
    assert [(a['Name'], a['State']) for a in device['Provisioning']['CurrentProperties']['Authorizations']] == [('ZTPV1', 'ENABLED')]
    assert device['ZTP']['CurrentProperties']['CAName'] == 'ztp'
    row = schedule_row(mock, 'ublox', rot)
    assert row['waiting'] is False and row['online'] is True and row['onlineAt'] == row['startedAt']
    assert utc_iso(row['startedAt']) == whitelisted_at(ublox, rot)
    assert mock.admin.state()['ublox']['manufactured'] == []


def test_since_whitelisted_by_imei_counts_down_on_the_mock_clock(ublox, mock, profile):
    imei = '862618583984360'
    rot = mock.admin.manufacture_ublox({'devices': [{'DeviceProfileUID': profile, 'IMEI': imei}]})['added'][0]
    mock.admin.online([{'ublox': rot}], waves=[{'count': 1, 'after': 600, 'since': 'whitelisted'}])
    assert ublox('/device/whitelist/add', {'IMEIs': [imei]}).status_code == 200
    row = schedule_row(mock, 'ublox', rot)
    assert utc_iso(row['startedAt']) == whitelisted_at(ublox, imei) and row['onlineAt'] == row['startedAt'] + 600
    assert mock.admin.state()['ublox']['manufactured'][0]['onlineAt'] == row['onlineAt']
    mock.admin.advance_clock(590)
    assert info(ublox, [rot]) == {}
    mock.admin.advance_clock(20)
    core = info(ublox, [rot])[rot]['Core']
    assert core['State'] == 'ACTIVATED' and core['BootstrapDate'] == utc_iso(row['onlineAt'])


def test_since_whitelisted_brings_the_nrf_side_online_at_the_same_moment(ublox, mock, http, profile):
    mock.admin.nrfcloud_simulator(connect_delay=10, command_delay=5)
    nrf = factory(mock)[0]
    claim(http, mock, nrf)
    rot = mock.admin.manufacture_ublox({'devices': [{'DeviceProfileUID': profile}]})['added'][0]
    mock.admin.online([{'nrfcloud': nrf['device_id'], 'ublox': rot}], after=60, since='whitelisted')
    config_id = run(http, mock, nrf, {'config': {'line': '7'}})
    mock.admin.advance_clock(1800)
    assert command(http, mock, nrf, config_id)['status'] == 'PENDING' and status(http, mock, nrf) == 'READY'
    factory_row = mock.admin.state()['nrfcloud']['factory'][0]
    assert (factory_row['onlineAt'], factory_row['waitingFor']) == (None, 'whitelisted')
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': [rot]}).status_code == 200
    online_at = schedule_row(mock, 'nrfcloud', nrf['device_id'])['onlineAt']
    state = mock.admin.state()
    assert state['nrfcloud']['factory'][0]['onlineAt'] == online_at == state['ublox']['manufactured'][0]['onlineAt']
    assert team_state(mock)['claimedDevices'][0]['onlineAt'] == online_at
    assert state['nrfcloud']['factory'][0]['waitingFor'] is None and state['ublox']['manufactured'][0]['waitingFor'] is None
    mock.admin.advance_clock(65)        # online at +60; the device connects at +70
    assert info(ublox, [rot])[rot]['Core']['BootstrapDate'] == utc_iso(online_at)
    assert command(http, mock, nrf, config_id)['status'] == 'PENDING'
    mock.admin.advance_clock(15)
    done = command(http, mock, nrf, config_id)
    assert done['status'] == 'SUCCEEDED' and done['updatedAt'] == utc_iso(online_at + 10 + 5)


def test_since_claimed_starts_at_the_claim_by_any_team_in_both_clouds(ublox, mock, http):
    mock.admin.nrfcloud_simulator(connect_delay=0, command_delay=0)
    first, second = factory(mock, 2)
    rot = mock.admin.manufacture_ublox({'count': 1})['added'][0]
    answer = mock.admin.online([{'nrfcloud': first['device_id'], 'ublox': rot}, {'nrfcloud': second['device_id']}],
                               after=600, since='claimed')
    assert [(row['since'], row['waiting'], row['onlineAt']) for row in answer['devices']] == [('claimed', True, None)] * 2
    mock.admin.advance_clock(1800)
    state = mock.admin.state()
    assert [item['waitingFor'] for item in state['nrfcloud']['factory']] == ['claimed', 'claimed']
    assert state['ublox']['manufactured'][0]['waitingFor'] == 'claimed'
    record = claim(http, mock, first)
    mock.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'team': 'b', 'devices': [{'id': second['device_id']}]})
    rows = {row['nrfcloud']: row for row in mock.admin.online_schedule()['devices']}
    assert utc_iso(rows[first['device_id']]['startedAt']) == record['claimedAt']
    assert rows[second['device_id']]['startedAt'] > rows[first['device_id']]['startedAt']
    online_at = rows[first['device_id']]['onlineAt']
    assert online_at == rows[first['device_id']]['startedAt'] + 600
    config_id = run(http, mock, first, {'config': {'a': '1'}})
    mock.admin.advance_clock(590)
    assert command(http, mock, first, config_id)['status'] == 'PENDING' and info(ublox, [rot]) == {}
    mock.admin.advance_clock(20)
    assert command(http, mock, first, config_id)['status'] == 'SUCCEEDED'
    core = info(ublox, [rot])[rot]['Core']
    assert core['BootstrapDate'] == utc_iso(online_at) and core['State'] == 'ALLOCATED'     # never whitelisted
    assert [row['online'] for row in mock.admin.online_schedule()['devices']] == [True, True]


def test_an_event_before_the_schedule_starts_the_countdown_at_its_time(ublox, mock, http, profile):
    now_rot, later_rot = mock.admin.manufacture_ublox({'count': 2, 'DeviceProfileUID': profile})['added']
    nrf = factory(mock)[0]
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': [now_rot, later_rot]}).status_code == 200
    claimed_at = claim(http, mock, nrf)['claimedAt']
    mock.admin.advance_clock(100)
    # whitelisted 100 s ago, after 0: online now, in this call
    answer = mock.admin.online([{'ublox': now_rot}], after=0, since='whitelisted')
    row = answer['devices'][0]
    assert row['waiting'] is False and row['onlineAt'] == answer['now'] and row['startedAt'] <= answer['now'] - 100
    assert utc_iso(row['startedAt']) == whitelisted_at(ublox, now_rot)
    core = info(ublox, [now_rot])[now_rot]['Core']
    assert core['State'] == 'ACTIVATED' and core['BootstrapDate'] == utc_iso(answer['now'])
    # whitelisted 100 s ago, after 300: 200 s from now
    answer = mock.admin.online([{'ublox': later_rot, 'nrfcloud': nrf['device_id']}], waves=[{'count': 1, 'after': 300}],
                               since='claimed')
    row = answer['devices'][0]
    assert utc_iso(row['startedAt']) == claimed_at and row['onlineAt'] == row['startedAt'] + 300
    assert row['onlineAt'] == pytest.approx(answer['now'] + 200, abs=1)
    mock.admin.advance_clock(190)
    assert info(ublox, [later_rot]) == {}
    mock.admin.advance_clock(20)
    assert info(ublox, [later_rot])[later_rot]['Core']['BootstrapDate'] == utc_iso(row['onlineAt'])


def test_waiting_devices_named_again_mixed_waves_and_reset(ublox, mock, http):
    rots = mock.admin.manufacture_ublox({'count': 3})['added']
    nrf = factory(mock)[0]
    answer = mock.admin.online([{'ublox': rots[0]}, {'ublox': rots[1]}, {'nrfcloud': nrf['device_id']}],
                               waves=[{'count': 1, 'after': 0, 'since': 'whitelisted'}, {'count': 1, 'after': 50}], never=1)
    assert [(row['since'], row['waiting']) for row in answer['devices']] == [('whitelisted', True), ('now', False), (None, False)]
    assert answer['devices'][1]['startedAt'] == answer['now'] and answer['devices'][1]['onlineAt'] == answer['now'] + 50
    # named again without since: the device no longer waits, and whitelisting it later changes nothing
    renamed = mock.admin.online([{'ublox': rots[0]}], after=1000)['devices'][0]
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': [rots[0]]}).status_code == 200
    assert schedule_row(mock, 'ublox', rots[0]) == dict(renamed, online=False)
    assert mock.admin.state()['ublox']['manufactured'][0]['waitingFor'] is None
    # a reset forgets the waiting device: whitelisting it after a reset starts no countdown
    mock.admin.online([{'ublox': rots[2]}], after=0, since='whitelisted')
    mock.admin.reset()
    again = mock.admin.manufacture_ublox({'count': 3})['added']
    assert again == rots
    token = ublox_login(http, mock)['AuthToken']       # the reset also forgot the tokens
    assert http.post(mock.url + V1 + '/device/whitelist/add', json={'ROTPublicUIDs': [rots[2]]},
                     headers={'Authorization': token}).status_code == 200
    assert mock.admin.online_schedule()['devices'] == []
    assert [(item['onlineAt'], item['waitingFor']) for item in mock.admin.state()['ublox']['manufactured']] == [(None, None)] * 3


# refusals -----------------------------------------------------------------------------------------------

TWO = [{'nrfcloud': 'a'}, {'nrfcloud': 'b'}]


@pytest.mark.parametrize('body, message', [
    ({}, 'devices must be a non-empty list'),
    ({'devices': [], 'after': 0}, 'devices must be a non-empty list'),
    ({'devices': [{}], 'after': 0}, 'devices[0] must be an object with "nrfcloud" and/or "ublox" and nothing else'),
    ({'devices': [{'nrfcloud': 'a', 'ble': 'b'}], 'after': 0}, 'devices[0] must be an object with "nrfcloud" and/or "ublox"'),
    ({'devices': [{'ublox': 5}], 'after': 0}, 'devices[0].ublox must be a non-empty string'),
    ({'devices': [{'nrfcloud': 'a'}, {'nrfcloud': 'a'}], 'after': 0}, 'devices[1].nrfcloud a is already devices[0].nrfcloud'),
    ({'devices': TWO}, 'give either waves (a list, or "default") or after'),
    ({'devices': TWO, 'after': 0, 'waves': 'default'}, 'give either waves'),
    ({'devices': TWO, 'waves': 'fast'}, 'waves must be "default" or a non-empty list of {"count" or "share", "after", "since"?}'),
    ({'devices': TWO, 'waves': []}, 'waves must be "default" or a non-empty list'),
    ({'devices': TWO, 'waves': [{'after': 0}]}, 'waves[0] needs exactly one of count (devices) and share'),
    ({'devices': TWO, 'waves': [{'count': 1, 'share': 0.5, 'after': 0}]}, 'waves[0] needs exactly one of count'),
    ({'devices': TWO, 'waves': [{'count': 1}]}, 'waves[0].after is required'),
    ({'devices': TWO, 'waves': [{'count': 1, 'after': 0}, {'count': -1, 'after': 0}]}, 'waves[1].count must be an integer >= 0'),
    ({'devices': TWO, 'waves': [{'count': True, 'after': 0}]}, 'waves[0].count must be an integer >= 0'),
    ({'devices': TWO, 'waves': [{'share': 1.5, 'after': 0}]}, 'waves[0].share must be a number from 0 to 1'),
    ({'devices': TWO, 'waves': [{'count': 1, 'after': -1}]}, 'waves[0].after must be a number of seconds >= 0'),
    ({'devices': TWO, 'waves': [{'count': 1, 'after': 0, 'at': 1}]}, 'waves[0] must be an object with count or share, after, and optionally since'),
    ({'devices': TWO, 'waves': [{'count': 2, 'after': 0}], 'never': 1},
     'the waves take 2 devices but only 1 come online (2 devices, never 1)'),
    ({'devices': TWO, 'after': 0, 'never': 3}, 'never must be an integer from 0 to 2 (the number of devices)'),
    ({'devices': TWO, 'after': 0, 'never': '1'}, 'never must be an integer from 0 to 2'),
    ({'devices': TWO, 'after': 'soon'}, 'after must be a number of seconds >= 0'),
    ({'devices': TWO, 'after': 0, 'seed': 1.5}, 'seed must be an integer'),
    ({'devices': TWO, 'after': 0, 'rebootstrap': 'yes'}, 'rebootstrap must be true or false'),
    ({'devices': TWO, 'after': 0, 'delay': 1}, 'unknown fields: delay; POST /_mock/online takes devices, waves, after, never, seed'),
    ({'devices': TWO, 'after': 0, 'since': 'boot'}, 'since must be "now", "whitelisted", "claimed": when the countdown'),
    ({'devices': TWO, 'waves': [{'count': 2, 'after': 0, 'since': ['claimed']}]}, 'waves[0].since must be "now", "whitelisted"'),
    ({'devices': TWO, 'after': 0, 'since': 'whitelisted'},
     'wave 1 counts from when its devices are whitelisted, so each needs an identity in ublox; these have none: nrfcloud a, nrfcloud b'),
    ({'devices': [{'nrfcloud': 'a', 'ublox': '00aa'}, {'ublox': '00BB'}], 'waves': 'default', 'since': 'claimed'},
     'wave 3 counts from when its devices are claimed, so each needs an identity in nrfcloud; these have none: ublox 00bb'),
    ({'devices': TWO, 'waves': [{'count': 1, 'after': 0, 'since': 'claimed'}, {'count': 1, 'after': 0, 'since': 'whitelisted'}]},
     'wave 2 counts from when its devices are whitelisted, so each needs an identity in ublox; these have none: nrfcloud b'),
])
def test_online_refusals(mock, http, body, message):
    response = http.post(mock.url + '/_mock/online', json=body)
    assert response.status_code == 400 and message in response.json()['error'], response.text


def test_unknown_ids_are_named_and_nothing_changes(mock, http):
    known = factory(mock)[0]['device_id']
    rot = mock.admin.manufacture_ublox({'count': 1})['added'][0]
    body = {'devices': [{'nrfcloud': known, 'ublox': rot}, {'nrfcloud': 'no-such-device'}, {'ublox': '00ff'}], 'after': 10}
    response = http.post(mock.url + '/_mock/online', json=body)
    assert response.status_code == 400
    error = response.json()['error']
    assert 'unknown nrfcloud device ids (seed them with attestation-tokens or claimed-devices): no-such-device' in error
    assert 'unknown ublox ROTPublicUIDs (make them with /_mock/seed/ublox/manufactured): 00ff' in error
    state = mock.admin.state()
    assert state['nrfcloud']['factory'][0]['onlineAt'] == 0 and state['ublox']['manufactured'][0]['onlineAt'] is None
    assert mock.admin.online_schedule()['devices'] == []


@pytest.mark.parametrize('payload, message', [
    ({'count': 2, 'State': 'ACTIVATED'},
     'a manufactured device takes only ROTPublicUID, IMEI, DeviceSerialNumber, DeviceProfileUID; got State'),
    ({'devices': [{'IMEI': '12345'}]}, 'IMEI of 0003000000000000 must be a string of 15 digits'),
    ({'devices': [{'DeviceProfileUID': 'nope'}]}, 'DeviceProfileUID nope does not exist'),
    ({'devices': [{'ROTPublicUID': 'xyz'}]}, 'ROTPublicUID xyz is not 1 to 16 hex digits'),
    ({'devices': [{'ROTPublicUID': '00ee'}, {'ROTPublicUID': '00EE'}]}, 'ROTPublicUIDs repeat'),
    ({}, 'give devices or count'),
])
def test_manufactured_seed_refusals(mock, http, payload, message):
    response = http.post(mock.url + '/_mock/seed/ublox/manufactured', json=payload)
    assert response.status_code == 400 and message in response.json()['error'], response.text
    assert mock.admin.state()['ublox']['manufactured'] == []


def test_manufactured_ids_do_not_clash_with_devices(mock):
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '00ab'}]})
    with pytest.raises(MockServerError, match='device 00ab already exists'):
        mock.admin.manufacture_ublox({'devices': [{'ROTPublicUID': '00AB'}]})
    first = mock.admin.manufacture_ublox({'count': 2})['added']
    second = mock.admin.manufacture_ublox({'count': 2})['added']
    assert first + second == ['0003%012x' % number for number in range(4)]
    with pytest.raises(MockServerError, match='already exists'):
        mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': first[0]}]})
