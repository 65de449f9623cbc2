# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ublox_e2e_key_rotation against the mock: check mode sends nothing, one call per 100 devices, idempotent, the heartbeat."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.modules import ublox_device_provisioning, ublox_e2e_key_rotation

DAY = 86400
ROTATE = 'ublox POST /v1/e2e/key/rotate'


def policies(mock):
    return {device['ROTPublicUID']: (device['Provisioning'].get('E2EKeyRotation'), device['Provisioning']['DesiredProperties'])
            for device in mock.admin.state()['ublox']['devices']}


def test_tagged_fleet_converges_in_two_calls_and_again_in_none(mock, run, ublox_args):
    rots = mock.admin.seed('ublox', 'devices', {'count': 150})['added']
    mock.admin.seed('ublox', 'tags', {'tags': [{'TagName': 'line-1', 'ROTPublicUIDs': rots[:120]}]})
    mock.admin.reset_counters()
    args = ublox_args(tags=['LINE-1'], rot_public_uids=[rots[149].upper()], type='AUTOMATIC', days=3)
    check = run(ublox_e2e_key_rotation, args, check_mode=True, diff=True)
    assert check['changed'] and check['summary']['changed'] == 121 and len(check['acted_on']) == 121
    assert check['outcomes'][0]['policy'] == {'type': 'AUTOMATIC', 'days': 3} and check['outcomes'][0]['previous_policy'] is None
    assert check['outcomes'][0]['heartbeat_adjusted'] is False and check['outcomes'][0]['security_heartbeat'] == DAY
    assert mock.admin.counters()['by_category']['write'] == 0
    assert all(policy is None for policy, dummy in policies(mock).values())

    done = run(ublox_e2e_key_rotation, args)
    assert done['changed'] and [o['item'] for o in done['outcomes']] == sorted(rots[:120] + [rots[149]])
    assert done['acted_on'] == check['acted_on']
    assert mock.admin.counters()['endpoints'][ROTATE] == 2      # 121 devices: 100 + 21
    state = policies(mock)
    assert state[rots[0]][0]['Type'] == 'AUTOMATIC' and state[rots[0]][0]['Days'] == 3 and state[rots[130]][0] is None

    mock.admin.reset_counters()
    again = run(ublox_e2e_key_rotation, args)
    assert again['changed'] is False and again['summary']['ok'] == 121
    counters = mock.admin.counters()
    assert counters['by_category']['write'] == 0
    assert counters['endpoints']['ublox POST /v1/device/info/get'] == 2


def test_a_longer_heartbeat_is_shortened_and_set_again_when_it_comes_back(mock, run, ublox_args):
    rots = mock.admin.seed('ublox', 'devices', {'count': 2})['added']
    args = ublox_args(rot_public_uids=rots, type='AUTOMATIC', days=2)
    mock.admin.seed('ublox', 'heartbeat', {})
    first = run(ublox_e2e_key_rotation, args)
    assert first['changed'] and not any(o['heartbeat_adjusted'] for o in first['outcomes'])
    # someone gives one device a weekly heartbeat afterwards: the rotation needs the shorter one again
    run(ublox_device_provisioning, ublox_args(rot_public_uids=rots[:1], security_heartbeat=7 * DAY))
    mock.admin.reset_counters()
    check = run(ublox_e2e_key_rotation, args, check_mode=True, diff=True)
    assert check['acted_on'] == rots[:1] and check['outcomes'][0]['heartbeat_adjusted'] is True
    assert check['diff']['before'][rots[0]]['security_heartbeat'] == 7 * DAY and check['diff']['after'][rots[0]]['security_heartbeat'] == 2 * DAY
    assert mock.admin.counters()['by_category']['write'] == 0
    again = run(ublox_e2e_key_rotation, args)
    assert again['acted_on'] == rots[:1]
    assert policies(mock)[rots[0]][1]['NetworkParameters'] == {'SecurityHeartbeatInSec': 2 * DAY}
    assert run(ublox_e2e_key_rotation, args)['changed'] is False


def test_continuous_and_unknown_devices(mock, run, ublox_args):
    rots = mock.admin.seed('ublox', 'devices', {'count': 2})['added']
    result = run(ublox_e2e_key_rotation, ublox_args(rot_public_uids=rots + ['0002ffffffffffff'], type='CONTINUOUS'))
    assert result['failed'] and result['summary'] == dict(result['summary'], total=3, changed=2, failed=1)
    unknown = [o for o in result['outcomes'] if o['failed']][0]
    assert unknown['item'] == '0002ffffffffffff' and 'has bootstrapped' in unknown['msg'] and unknown['status'] == 'failed'
    assert policies(mock)[rots[1]][0]['Type'] == 'CONTINUOUS'
    assert mock.admin.counters()['endpoints'][ROTATE] == 1
    switched = run(ublox_e2e_key_rotation, ublox_args(rot_public_uids=rots, type='AUTOMATIC'))
    assert switched['changed'] and switched['outcomes'][0]['policy'] == {'type': 'AUTOMATIC', 'days': 7}
    assert switched['outcomes'][0]['previous_policy'] == {'type': 'CONTINUOUS', 'days': None}
    assert policies(mock)[rots[0]][0]['Days'] == 7


def test_bad_input_sends_nothing(mock, run, ublox_args):
    mock.admin.reset_counters()
    for extra, words in ((dict(type='AUTOMATIC', days=0), 'days is 0; u-blox rotates E2E keys every 1 to 30 days'),
                         (dict(type='CONTINUOUS', days=3), 'days applies only to type=AUTOMATIC'),
                         (dict(type='AUTOMATIC', rot_public_uids=None), 'give rot_public_uids or tags'),
                         (dict(type='AUTOMATIC', tags=['a|b']), "tags: 'a|b' contains '|'")):
        args = dict(dict(rot_public_uids=['01']), **extra)
        result = run(ublox_e2e_key_rotation, ublox_args(**dict((k, v) for k, v in args.items() if v is not None)))
        assert result['failed'] and words in result['msg'], result['msg']
    assert mock.admin.counters()['total'] == 0


def test_a_lost_answer_is_re_read_not_resent_and_a_refusal_fails_its_devices(mock, run, ublox_args):
    rots = mock.admin.seed('ublox', 'devices', {'count': 3})['added']
    mock.admin.add_fault(vendor='ublox', method='POST', path='/e2e/key/rotate', kind='drop_after', count=1)
    mock.admin.reset_counters()
    result = run(ublox_e2e_key_rotation, ublox_args(rot_public_uids=rots, type='AUTOMATIC', days=5))
    assert result['changed'] is True and not result.get('failed') and result['acted_on'] == rots
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints[ROTATE] == 1  # the dropped answer was checked by reading the policies, never sent twice
    assert endpoints['ublox POST /v1/device/info/get'] == 2
    mock.admin.clear_faults()
    mock.admin.add_fault(vendor='ublox', method='POST', path='/e2e/key/rotate', kind='status', status=500, message='rotation backend down')
    failed = run(ublox_e2e_key_rotation, ublox_args(rot_public_uids=rots, type='CONTINUOUS'))
    assert failed['failed'] and failed['summary']['failed'] == 3 and failed['changed'] is False
    assert all(o['status'] == 'failed' and 'rotation backend down' in o['msg'] for o in failed['outcomes'])
    assert all(policy['Days'] == 5 for policy, dummy in policies(mock).values())
