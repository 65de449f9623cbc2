# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The u-blox client helpers and vendor rules in module_utils/ublox.py."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._auth_ublox_token import UbloxTokenAuth
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import HttpClient


@pytest.fixture
def client(mock, creds):
    auth = UbloxTokenAuth(creds.UBLOX_API_KEY, creds.UBLOX_API_SECRET)
    return ublox.UbloxClient(HttpClient('ublox', mock.url + '/ublox/v1', auth=auth, error_parser=ublox.parse_error), auth)


@pytest.mark.parametrize('text, expected', [
    ('2020-04-20T19:00:36Z', 1587409236),
    ('2020-04-20T19:00:36+00:00', 1587409236),
    ('2020-04-20T21:00:36+02:00', 1587409236),
    ('2020-04-20T19:00:36', 1587409236),       # webhook samples carry no zone: UTC
    ('2020-05-10T19:39Z', 1589139540),          # minute precision in the webhook samples
    ('2020-05-10', 1589068800),
])
def test_parse_date_reads_every_form_of_the_seed(text, expected):
    assert ublox.parse_date(text) == expected


@pytest.mark.parametrize('text', [None, '', 'yesterday', '2020-13-01', 12345])
def test_parse_date_refuses_garbage(text):
    assert ublox.parse_date(text) is None


def test_ca_and_tag_name_rules():
    assert ublox.ca_name_problem('example.com') is None
    assert ublox.ca_name_problem('a-b_c.d' + 'x' * 38) is None
    assert '46 characters' in ublox.ca_name_problem('x' * 46)
    assert "'/'" in ublox.ca_name_problem('a/b')
    assert ublox.tag_name_problem('with space & symbols #1') is None
    for char in '^`~<>"{}|,\\':
        assert repr(char) in ublox.tag_name_problem('a%sb' % char)
    assert 'control character' in ublox.tag_name_problem('a\tb')
    assert ublox.tag_key('Downtown') == ublox.tag_key('DOWNTOWN')


def test_identifier_rules():
    assert ublox.normalize_rot(' 0002000089280087 ') == '0002000089280087'
    assert ublox.normalize_rot('135700008928C093') == '135700008928c093'
    assert ublox.normalize_rot('00020001003ffff') == '00020001003ffff'  # 15 digits, as in the seed's CSV sample
    for bad in ('', '0x01', '00020000892800871', 'g'):
        with pytest.raises(ConfigError, match='hexadecimal'):
            ublox.normalize_rot(bad)
    assert ublox.normalize_imei('862618583984360') == '862618583984360'
    with pytest.raises(ConfigError, match='Luhn'):
        ublox.normalize_imei('862618583984361')
    with pytest.raises(ConfigError, match='15 digits'):
        ublox.normalize_imei('8626185839843')
    assert ublox.check_profile_uid('mbYbAX-CoEqE97TMFBsUKQ') == 'mbYbAX-CoEqE97TMFBsUKQ'
    with pytest.raises(ConfigError, match='DeviceProfileUID'):
        ublox.check_profile_uid('has space')


def test_views():
    info = {'ROTPublicUID': 'AB', 'ZTP': {'CurrentProperties': {'CAName': 'c', 'CertificateSerialNumber': 's', 'Revoked': True},
                                          'DesiredProperties': {'Action': 'RENEW', 'CAName': 'c'}}}
    view = ublox.device_view(info)
    assert view['certificate']['revoked'] is True and view['pending_certificate_action']['action'] == 'RENEW'
    assert 'imei' not in view and 'provisioning' not in view
    assert ublox.device_view({'ROTPublicUID': 'x', 'ZTP': {'CurrentProperties': {}, 'DesiredProperties': {}}})['certificate'] is None
    props = ublox.provisioning_view({'Authorizations': [{'Name': 'LocalDPR', 'State': 'ENABLED'}],
                                     'NetworkParameters': {'SecurityHeartbeatInSec': 60}})
    assert props == {'authorizations': {'LocalDPR': 'ENABLED'}, 'security_heartbeat': 60}


def test_device_index_read_once_and_info_in_chunks(mock, client):
    rots = mock.admin.seed('ublox', 'devices', {'count': 250})['added']
    mock.admin.reset_counters()
    assert client.device_ids() == set(rots)
    assert client.device_ids() is client.device_ids()
    infos = client.device_info(rots + ['0bad'], options=('CORE',))
    assert set(infos) == set(rots)
    endpoints = mock.admin.counters()['endpoints']
    assert endpoints['ublox POST /v1/device/list/get'] == 3      # read once, three pages
    assert endpoints['ublox POST /v1/device/info/get'] == 3      # 251 ids, 100 per call


def test_root_ca_lookup_and_tags(mock, client):
    assert client.root_ca('nope') is None and client.root_cas() == {}
    client.call('/ztp/rootca/create', {'CAName': 'x.example', 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 30})
    assert client.root_ca('x.example')['CACertificateValidity'] == 1825
    mock.admin.seed('ublox', 'tags', {'tags': ['Mixed-Case']})
    assert 'mixed-case' in client.tags()
    assert mock.admin.counters()['by_category']['write'] == 1
