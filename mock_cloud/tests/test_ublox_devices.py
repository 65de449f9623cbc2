"""u-blox devices on the mock: listing, tags, info, whitelist, provisioning, device profiles, webhooks."""

import json

import pytest

from .helpers import Receiver

PROFILE = 'AgbCtixjwqLjwV3VWpfPyz'


def seed(mock, count, **fields):
    return mock.admin.seed('ublox', 'devices', dict(fields, count=count))['added']


def test_device_list_pages_and_filters(ublox, mock):
    rots = seed(mock, 250)
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': 'ffff000000000001', 'IsBlacklisted': True}]})
    pages = [ublox('/device/list/get', {'PageNumber': n}).json() for n in (1, 2, 3)]
    assert [len(p['ROTPublicUIDs']) for p in pages] == [100, 100, 51] and pages[0]['TotalRecords'] == 251
    assert pages[0]['ROTPublicUIDs'][:2] == sorted(rots)[:2]
    assert ublox('/device/list/get', {'Filter': 'BLACKLISTED'}).json()['ROTPublicUIDs'] == ['ffff000000000001']
    assert ublox('/device/list/get', {'Filter': 'WHITELISTED'}).json()['TotalRecords'] == 0
    assert ublox('/device/list/get', {'Filter': 'SOME'}).status_code == 400


def test_tag_assign_remove_and_members(ublox, mock):
    rots = seed(mock, 150)
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'ProfileName': 'Line'}]})
    assert ublox('/tag/create', {'TagName': 'Line-1'}).status_code == 200
    assert ublox('/tag/assign', {'TagNames': ['line-1'], 'ROTPublicUIDs': rots[:120]}).status_code == 200
    assert ublox('/tag/assign', {'TagNames': ['LINE-1'], 'DeviceProfileUIDs': [PROFILE]}).status_code == 200
    invalid = ublox('/tag/assign', {'TagNames': ['line-1'], 'ROTPublicUIDs': ['0badbad0']})
    assert invalid.status_code == 400 and invalid.json()['message'].startswith('Bad Request. Invalid ROTPublicUIDs')
    assert ublox('/tag/assign', {'TagNames': ['nope'], 'ROTPublicUIDs': rots[:1]}).status_code == 400
    assert ublox('/tag/assign', {'TagNames': ['line-1']}).status_code == 400
    members = [ublox('/device/rotpublicuid/get', {'TagNames': ['line-1'], 'PageNumber': n}).json() for n in (1, 2)]
    assert members[0]['TotalRecords'] == 120 and len(members[1]['ROTPublicUIDs']) == 20
    profiles = ublox('/deviceprofile/get', {'TagNames': ['line-1']}).json()
    assert [p['DeviceProfileUID'] for p in profiles['DeviceProfiles']] == [PROFILE]
    assert ublox('/tag/remove', {'TagNames': ['line-1'], 'ROTPublicUIDs': rots[:10] + ['0000']}).status_code == 200
    assert ublox('/device/rotpublicuid/get', {'TagNames': ['line-1']}).json()['TotalRecords'] == 110
    assert ublox('/tag/delete', {'TagName': 'line-1'}).status_code == 400
    assert ublox('/tag/remove', {'TagNames': ['line-1'], 'ROTPublicUIDs': ['*'], 'DeviceProfileUIDs': ['*']}).status_code == 200
    assert ublox('/tag/delete', {'TagName': 'line-1'}).status_code == 200


def test_device_info_options(ublox, mock):
    ublox('/ztp/rootca/create', {'CAName': 'ca1', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365})
    mock.admin.seed('ublox', 'tags', {'tags': ['t1']})
    rots = seed(mock, 3, CAName='ca1', TagNames=['t1'])
    body = ublox('/device/info/get', {'ROTPublicUIDs': rots + ['0000dead'], 'Options': ['CORE']}).json()
    assert [d['ROTPublicUID'] for d in body['DeviceInfo']] == rots
    core = body['DeviceInfo'][0]['Core']
    assert len(core['IMEI']) == 15 and core['TagNames'] == ['t1'] and core['State'] == 'ACTIVATED'
    assert set(body['DeviceInfo'][0]) == {'ROTPublicUID', 'Core'}
    full = ublox('/device/info/get', {'TagNames': ['t1']}).json()['DeviceInfo']
    assert set(full[0]) == {'ROTPublicUID', 'Core', 'Provisioning', 'ZTP'}
    assert full[0]['ZTP']['CurrentProperties']['CAName'] == 'ca1'
    by_serial = ublox('/device/info/get', {'DeviceSerialNumbers': [core['DeviceSerialNumber']], 'Options': ['ZTP']}).json()
    assert [d['ROTPublicUID'] for d in by_serial['DeviceInfo']] == rots[:1]
    assert ublox('/device/info/get', {'ROTPublicUIDs': rots, 'Options': ['ALL']}).status_code == 400
    assert ublox('/device/info/get', {}).status_code == 400
    assert ublox('/device/info/get', {'ROTPublicUIDs': ['0000dead']}).json() == {'DeviceInfo': []}


def test_whitelist(ublox):
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': ['0002000089280087'], 'IMEIs': ['862618583984360'],
                                           'Action': 'ADD'}).status_code == 200
    assert ublox('/device/whitelist/add', {'ROTPublicUIDs': ['0002000089280087']}).status_code == 200
    entries = ublox('/device/whitelist/get', {}).json()
    assert entries['TotalRecords'] == 2
    assert {(e['Id'], e['Type']) for e in entries['DeviceWhitelist']} == {('0002000089280087', 'ROTPublicUID'),
                                                                          ('862618583984360', 'IMEI')}
    assert ublox('/device/whitelist/add', {'IMEIs': ['862618583984360'], 'Action': 'DELETE'}).status_code == 200
    assert ublox('/device/whitelist/get', {}).json()['TotalRecords'] == 1
    for bad in ({'IMEIs': ['12345']}, {'ROTPublicUIDs': ['xyz']}, {'Action': 'ADD'}, {'ROTPublicUIDs': ['01'], 'Action': 'PUT'}):
        assert ublox('/device/whitelist/add', bad).status_code == 400


def test_provisioning_desired_until_heartbeat(ublox, mock):
    rots = seed(mock, 3)
    provisioning = {'Authorizations': [{'Name': 'LocalDPR', 'State': 'ENABLED'}], 'NetworkParameters': {'SecurityHeartbeatInSec': 3600}}
    assert ublox('/device/provisioning/set', {'ROTPublicUIDs': rots[:2], 'Provisioning': provisioning}).status_code == 200
    desired = ublox('/device/provisioning/get', {'ROTPublicUIDs': rots}).json()
    assert desired[0]['DesiredProperties']['Authorizations'][0]['Name'] == 'LocalDPR'
    assert desired[0]['DesiredProperties']['NetworkParameters'] == {'SecurityHeartbeatInSec': 3600}
    assert desired[2]['DesiredProperties'] == {}
    result = mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': rots})
    assert result['events'] == ['DEVICE_PROPERTIES_CHANGE_EVENT'] * 2
    info = ublox('/device/info/get', {'ROTPublicUIDs': rots[:1], 'Options': ['PROVISIONING']}).json()['DeviceInfo'][0]
    assert info['Provisioning']['DesiredProperties'] == {}
    current = info['Provisioning']['CurrentProperties']
    assert current['Authorizations'][0]['State'] == 'ENABLED' and current['NetworkParameters']['SecurityHeartbeatInSec'] == 3600
    assert ublox('/device/provisioning/set', {'ROTPublicUIDs': rots, 'Provisioning': provisioning}).status_code == 200
    assert ublox('/device/provisioning/delete', {'ROTPublicUIDs': rots}).status_code == 200
    assert all(d['DesiredProperties'] == {} for d in ublox('/device/provisioning/get', {'ROTPublicUIDs': rots}).json())
    for bad in ({'Authorizations': [{'Name': 'Evaluation', 'State': 'ENABLED'}]},
                {'Authorizations': [{'Name': 'LocalC2C', 'State': 'ON'}]},
                {'NetworkParameters': {'SecurityHeartbeatInSec': 0}}, {}):
        assert ublox('/device/provisioning/set', {'ROTPublicUIDs': rots, 'Provisioning': bad}).status_code == 400
    assert ublox('/device/provisioning/set', {'ROTPublicUIDs': ['0bad'], 'Provisioning': provisioning}).status_code == 400


def test_bootstrap_provisioning_applies_to_whitelisted_devices(ublox, mock):
    ublox('/ztp/rootca/create', {'CAName': 'ztp', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365})
    mock.admin.seed('ublox', 'device_profiles', {'profiles': [{'DeviceProfileUID': PROFILE, 'CAName': 'ztp'}]})
    provisioning = {'Authorizations': [{'Name': 'ZTPV1', 'State': 'ENABLED'}]}
    assert ublox('/deviceprofile/bootstrapprovisioning/set', {'DeviceProfileUID': PROFILE, 'Provisioning': provisioning}).status_code == 200
    got = ublox('/deviceprofile/bootstrapprovisioning/get', {'DeviceProfileUID': PROFILE}).json()
    assert got['DesiredProperties']['Authorizations'][0]['Name'] == 'ZTPV1'
    assert ublox('/deviceprofile/bootstrapprovisioning/get', {'DeviceProfileUID': 'nope'}).status_code == 404
    ublox('/device/whitelist/add', {'ROTPublicUIDs': ['00aa']})
    result = mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': '00aa', 'DeviceProfileUID': PROFILE},
                                                                {'ROTPublicUID': '00bb', 'DeviceProfileUID': PROFILE}]})
    assert result['events'].count('DEVICE_BOOTSTRAP_EVENT') == 2
    assert 'DEVICE_CERTIFICATE_RENEWAL_EVENT' in result['events']
    infos = {d['ROTPublicUID']: d for d in ublox('/device/info/get', {'ROTPublicUIDs': ['00aa', '00bb']}).json()['DeviceInfo']}
    assert infos['00aa']['Core']['State'] == 'ACTIVATED' and infos['00bb']['Core']['State'] == 'ALLOCATED'
    assert infos['00aa']['ZTP']['CurrentProperties']['CAName'] == 'ztp' and infos['00bb']['ZTP']['CurrentProperties'] == {}
    assert ublox('/deviceprofile/bootstrapprovisioning/delete', {'DeviceProfileUID': PROFILE}).status_code == 200
    assert ublox('/deviceprofile/bootstrapprovisioning/get', {'DeviceProfileUID': PROFILE}).json()['DesiredProperties'] == {}
    assert ublox('/device/rotpublicuid/get', {'DeviceProfileUID': PROFILE}).json()['TotalRecords'] == 2


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_webhooks_registration_rules(ublox):
    ok = {'NotificationURL': 'https://hooks.example.com/u-blox', 'AuthorizationToken': 'Bearer abc',
          'NotificationType': 'DEVICE_BOOTSTRAP_EVENT'}
    assert ublox('/notification/webhook/create', ok).status_code == 200
    assert ublox('/notification/webhook/create', ok).status_code == 400
    assert ublox('/notification/webhook/create', dict(ok, NotificationType='DEVICE_ERRORS_EVENT')).status_code == 200
    for bad in (dict(ok, NotificationURL='http://hooks.example.com/'), dict(ok, NotificationType='OTHER'),
                dict(ok, AuthorizationToken=''), dict(ok, NotificationURL='not a url')):
        assert ublox('/notification/webhook/create', bad).status_code == 400
    hooks = ublox('/notification/webhook/get').json()
    assert len(hooks) == 2 and all('AuthorizationToken' not in hook for hook in hooks)
    assert ublox('/notification/webhook/update', {'NotificationURL': ok['NotificationURL'], 'AuthorizationToken': 'x'}).status_code == 200
    assert ublox('/notification/webhook/update', {'NotificationURL': 'https://other', 'AuthorizationToken': 'x'}).status_code == 404
    assert ublox('/notification/webhook/delete', {'NotificationURL': ok['NotificationURL']}).status_code == 200
    assert ublox('/notification/webhook/get').json() == []


def test_webhooks_delivered_to_a_local_receiver(ublox, mock, receiver):
    ublox('/ztp/rootca/create', {'CAName': 'ca1', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365})
    for kind in ('DEVICE_BOOTSTRAP_EVENT', 'DEVICE_PROPERTIES_CHANGE_EVENT', 'DEVICE_CERTIFICATE_RENEWAL_EVENT', 'DEVICE_ERRORS_EVENT'):
        assert ublox('/notification/webhook/create', {'NotificationURL': receiver.url + '/hook', 'AuthorizationToken': 'Bearer t0k3n',
                                                      'NotificationType': kind}).status_code == 200
    result = mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': '00cc', 'CAName': 'ca1'}]})
    assert [d['Status'] for d in result['deliveries']] == [204]
    bootstrap = receiver.received[0]
    assert bootstrap['authorization'] == 'Bearer t0k3n' and bootstrap['path'] == '/hook'
    assert bootstrap['body']['EventType'] == 'DEVICE_BOOTSTRAP_EVENT' and bootstrap['body']['ROTPublicUID'] == '00cc'
    assert set(bootstrap['body']['Payload']) >= {'IMEI', 'DeviceProfileUID', 'TypeNumber', 'IsBlacklisted'}
    ublox('/ztp/devicecertificate/renew', {'CAName': 'ca1', 'DeviceCertificateValidity': 100, 'ROTPublicUIDs': ['00cc']})
    ublox('/device/provisioning/set', {'ROTPublicUIDs': ['00cc'], 'Provisioning': {'Authorizations': [{'Name': 'LocalC2C', 'State': 'ENABLED'}]}})
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': ['00cc']})
    kinds = [item['body']['EventType'] for item in receiver.received]
    assert kinds == ['DEVICE_BOOTSTRAP_EVENT', 'DEVICE_PROPERTIES_CHANGE_EVENT', 'DEVICE_CERTIFICATE_RENEWAL_EVENT']
    renewal = receiver.received[2]['body']['Payload']
    assert renewal['CertificateAuthorityName'] == 'ca1' and renewal['CertificateValidity'] == 100
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': ['00cc'], 'errors': {'00cc': 'Invalid KeySetId for device'}})
    assert receiver.received[-1]['body']['Payload'] == {'Error': 'Invalid KeySetId for device'}
    log = mock.admin.state()['ublox']['webhooks']['deliveries']
    assert len(log) == 4 and 't0k3n' not in json.dumps(mock.admin.state())


def test_webhook_to_a_dead_receiver_is_logged_not_fatal(ublox, mock):
    dead = Receiver()
    url = dead.url
    dead.close()
    ublox('/notification/webhook/create', {'NotificationURL': url, 'AuthorizationToken': 't', 'NotificationType': 'DEVICE_BOOTSTRAP_EVENT'})
    result = mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': '00dd'}]})
    assert 'Error' in result['deliveries'][0]
    assert ublox('/device/list/get').json()['TotalRecords'] == 1
