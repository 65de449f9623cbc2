"""POST /_mock/iotcomms/sip-register: whether a SIP device would register with a password (write-only in the API)."""

from iotops_mock import credentials

from .helpers import iotcomms_token

DOMAIN = credentials.IOTCOMMS_DOMAIN


def register(mock, http, device_id, password=None):
    answer = http.post(mock.url + '/_mock/iotcomms/sip-register', json={'device_id': device_id, 'password': password})
    assert answer.status_code == 200
    return answer.json()


def test_a_rotated_password_registers_and_the_old_one_does_not(mock, http):
    mock.admin.seed('iotcomms', 'devices', {'devices': [{'deviceId': '4670001', 'authType': 'credentials', 'password': 'first-secret'},
                                                        {'deviceId': '4670002', 'authType': 'deviceid'}]})
    assert register(mock, http, '4670001', 'first-secret') == {'registered': True, 'authType': 'credentials'}
    headers = {'Authorization': 'Bearer ' + iotcomms_token()}
    answer = http.patch(mock.url + '/iotcomms/provisioning/device/%s/4670001' % DOMAIN, headers=headers,
                        json=[{'op': 'add', 'path': '/password', 'value': 'second-secret'}])
    assert answer.status_code < 300, answer.text
    assert register(mock, http, '4670001', 'second-secret')['registered']
    assert not register(mock, http, '4670001', 'first-secret')['registered']
    assert not register(mock, http, '4670001')['registered']
    # the device id is the credential of a deviceid device; an unknown device never registers
    assert register(mock, http, '4670002') == {'registered': True, 'authType': 'deviceid'}
    assert register(mock, http, '4679999', 'x') == {'registered': False, 'authType': None}
    # an admin call: not counted as a call of the vendor API
    assert not any('sip-register' in key for key in mock.admin.counters()['endpoints'])
