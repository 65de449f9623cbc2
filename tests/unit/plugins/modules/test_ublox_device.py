# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_device against the mock: factory-fresh modules that bootstrap over time, the device-profile path, phases."""

from __future__ import annotations

import time

from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.modules import ublox_device

PROFILE = 'FactoryLine1Profile0001'
TAG = 'batch-2026-48'


def ublox_args(mock, creds, **extra):
    args = dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET, wait_interval=0.2)
    args.update(extra)
    return args


def manufacture(mock, count, start=0):
    """Factory-fresh modules sealed with PROFILE: they exist, but u-blox does not know them until they bootstrap."""
    answer = mock.admin.seed('ublox', 'manufactured', {'count': count, 'start': start, 'DeviceProfileUID': PROFILE})
    return [dict(rot_public_uid=d['ROTPublicUID'], imei=d['IMEI']) for d in answer['devices']]


def profile(mock):
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Line 1'}]})


def state(mock):
    return mock.admin.state()['ublox']


def writes(mock):
    return mock.admin.counters()['by_category']['write']


def endpoint_counts(mock):
    return mock.admin.counters()['endpoints']


def core_of(mock, rot):
    return next(d for d in state(mock)['devices'] if d['ROTPublicUID'] == rot)


def online(mock, devices, after=0):
    return mock.admin.online([{'ublox': d['rot_public_uid']} for d in devices], after=after)


def test_factory_fresh_batch_goes_through_the_device_profile_and_is_moved_on_as_it_bootstraps(mock, creds, run):
    profile(mock)
    batch = manufacture(mock, 6)
    args = ublox_args(mock, creds, devices=batch, device_profile_uid=PROFILE, tags=[TAG], authorizations={'local_dpr': True})

    first = run(ublox_device, args)
    assert first['changed'] and not first.get('failed'), first.get('msg')
    assert [o['phase'] for o in first['outcomes']] == ['waiting for bootstrap'] * 6
    assert all(o['waiting'] for o in first['outcomes']) and first['summary']['waiting'] == 6
    assert first['device_profile']['bootstrap_provisioning_set'] is True
    assert [d['rot_public_uid'] for d in first['waiting_devices']] == [d['rot_public_uid'] for d in batch]
    counts = endpoint_counts(mock)
    # one whitelist call for the batch, one bootstrap provisioning call for the profile; nothing per device
    assert counts['ublox POST /v1/device/whitelist/add'] == 1
    assert counts['ublox POST /v1/deviceprofile/bootstrapprovisioning/set'] == 1
    assert 'ublox POST /v1/tag/assign' not in counts and 'ublox POST /v1/device/provisioning/set' not in counts
    whitelisted = set(entry['Id'] for entry in state(mock)['whitelist'])
    assert {d['rot_public_uid'] for d in batch} | {d['imei'] for d in batch} <= whitelisted

    online(mock, batch[:4])
    mock.admin.reset_counters()
    second = run(ublox_device, args)
    assert second['changed'] and not second.get('failed'), second.get('msg')
    phases = [o['phase'] for o in second['outcomes']]
    # bootstrapped on the whitelist: ACTIVATED with the profile's features; the batch tag goes on at this run
    assert phases == ['features applied'] * 4 + ['waiting for bootstrap'] * 2
    counts = endpoint_counts(mock)
    assert counts['ublox POST /v1/tag/create'] == 1 and counts['ublox POST /v1/tag/assign'] == 1
    assert 'ublox POST /v1/device/provisioning/set' not in counts and 'ublox POST /v1/device/whitelist/add' not in counts
    assert writes(mock) == 2
    for device in batch[:4]:
        core = core_of(mock, device['rot_public_uid'])
        assert core['Core']['State'] == 'ACTIVATED' and core['Core']['TagNames'] == [TAG]

    mock.admin.reset_counters()
    third = run(ublox_device, args)
    assert third['changed'] is False and writes(mock) == 0
    assert [o['phase'] for o in third['outcomes']] == ['features applied'] * 4 + ['waiting for bootstrap'] * 2


def test_check_mode_predicts_every_phase_and_diff_without_a_write(mock, creds, run):
    profile(mock)
    batch = manufacture(mock, 3)
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '00020000000000aa'}]})
    batch.append(dict(rot_public_uid='00020000000000aa'))
    args = ublox_args(mock, creds, devices=batch, device_profile_uid=PROFILE, tags=[TAG], authorizations={'local_c2c': True})
    mock.admin.reset_counters()
    check = run(ublox_device, args, check_mode=True, diff=True)
    assert writes(mock) == 0
    assert check['changed'] is True
    assert [o['phase'] for o in check['outcomes']] == ['waiting for bootstrap'] * 3 + ['features pending (next heartbeat)']
    assert set(check['diff']['after']) == {d['rot_public_uid'] for d in batch} | {'device profile %s' % PROFILE}
    assert check['diff']['after']['00020000000000aa']['tags'] == [TAG]
    # the predicted after-state is the real one: whitelisted by both identities, not bootstrapped yet
    first = batch[0]['rot_public_uid']
    assert check['diff']['before'][first]['whitelisted'] == [] and check['diff']['after'][first]['whitelisted'] == ['IMEI', 'ROTPublicUID']

    real = run(ublox_device, args, diff=True)
    assert [o['phase'] for o in real['outcomes']] == [o['phase'] for o in check['outcomes']]
    assert set(real['diff']['after']) == set(check['diff']['after'])
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': ['00020000000000aa']})
    assert run(ublox_device, args)['outcomes'][3]['phase'] == 'features applied'


def test_features_for_devices_still_to_bootstrap_need_their_device_profile(mock, creds, run):
    profile(mock)
    batch = manufacture(mock, 2)
    mock.admin.reset_counters()
    result = run(ublox_device, ublox_args(mock, creds, devices=batch, tags=[TAG], authorizations={'local_dpr': True}))
    assert result['failed'] and 'device_profile_uid is required: 2 device(s) have not bootstrapped yet' in result['msg']
    assert writes(mock) == 0


def test_a_device_that_bootstrapped_before_it_was_whitelisted_needs_a_person(mock, creds, run):
    profile(mock)
    batch = manufacture(mock, 2)
    online(mock, batch[:1])   # bootstraps now, before the whitelist: ALLOCATED
    args = ublox_args(mock, creds, devices=batch, device_profile_uid=PROFILE, tags=[TAG], authorizations={'local_dpr': True})
    result = run(ublox_device, args)
    assert result['failed'] and '1 of 2 devices failed' in result['msg']
    allocated, fresh = result['outcomes']
    assert allocated['phase'] == 'needs attention' and 'ALLOCATED' in allocated['msg'] and 'bootstrap again' in allocated['remedy']
    assert fresh['phase'] == 'waiting for bootstrap' and not fresh['failed']

    mock.admin.online([{'ublox': batch[0]['rot_public_uid']}], after=0, rebootstrap=True)   # a factory reset on the line
    again = run(ublox_device, args)
    assert not again.get('failed') and again['outcomes'][0]['phase'] == 'features applied', again.get('msg')


def test_devices_that_bootstrap_during_the_wait_are_moved_on_in_the_same_run(mock, creds, run, monkeypatch):
    profile(mock)
    batch = manufacture(mock, 3)
    args = ublox_args(mock, creds, devices=batch, device_profile_uid=PROFILE, tags=[TAG])
    run(ublox_device, args)                 # whitelisted, waiting
    online(mock, batch[:2], after=1)        # two of them bootstrap a second from now
    # the wait's clock is the sum of its sleeps (each one really slept, so the devices come online meanwhile):
    # what it waited is then known exactly, however slow the machine
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        time.sleep(seconds)

    def poll(done, timeout, interval, **kwargs):
        return poll_until(done, timeout, interval, sleep=sleep, clock=lambda: sum(slept), **kwargs)

    monkeypatch.setattr(ublox_device, 'poll_until', poll)
    result = run(ublox_device, dict(args, wait_timeout=4, wait_interval=0.3))
    assert [o['phase'] for o in result['outcomes']] == ['tagged', 'tagged', 'waiting for bootstrap']
    assert 4 - 0.3 < sum(slept) <= 4, slept  # it waited for the third device until the budget was over


def test_a_device_known_only_by_imei_is_whitelisted(mock, creds, run):
    result = run(ublox_device, ublox_args(mock, creds, devices=[{'imei': '351358811234563'}], tags=[TAG]))
    outcome = result['outcomes'][0]
    assert outcome['item'] == '351358811234563' and outcome['phase'] == 'whitelisted' and not outcome['waiting']
    assert outcome['bootstrapped'] is None and outcome['actions'] == ['whitelisted by IMEI']
    assert {'Id': '351358811234563', 'Type': 'IMEI'}.items() <= state(mock)['whitelist'][0].items()


def test_bad_input_fails_before_any_write(mock, creds, run):
    mock.admin.reset_counters()
    bad = ublox_args(mock, creds, devices=[{'rot_public_uid': 'xyz'}, {'imei': '351358811234560'}, {}], tags=['a,b'])
    result = run(ublox_device, bad)
    assert result['failed'] and writes(mock) == 0
    assert 'devices[0] (xyz)' in result['msg'] and 'Luhn' in result['msg'] and 'devices[2]' in result['msg']


def test_a_device_that_bootstraps_the_moment_it_is_whitelisted_gets_its_profile_s_features(mock, creds, run):
    """The device profile is set up before the whitelist: a module powered on at the line may bootstrap right away."""
    profile(mock)
    batch = manufacture(mock, 2)
    mock.admin.online([{'ublox': d['rot_public_uid']} for d in batch], waves=[{'count': 2, 'after': 0, 'since': 'whitelisted'}])
    args = ublox_args(mock, creds, devices=batch, device_profile_uid=PROFILE, tags=[TAG], authorizations={'local_dpr': True})
    run(ublox_device, args)
    again = run(ublox_device, args)
    assert [o['phase'] for o in again['outcomes']] == ['features applied'] * 2, again['outcomes']
    assert 'ublox POST /v1/device/provisioning/set' not in endpoint_counts(mock)
    current = core_of(mock, batch[0]['rot_public_uid'])['Provisioning']['CurrentProperties']['Authorizations']
    assert [(a['Name'], a['State']) for a in current] == [('LocalDPR', 'ENABLED')]
