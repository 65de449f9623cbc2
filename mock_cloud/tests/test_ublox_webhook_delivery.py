"""u-blox webhook deliveries over https: the mock trusts its own private CA (and the system's), not any other."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iotops_mock.tls import server_tls


class TlsReceiver:
    """An https receiver on 127.0.0.1 whose certificate comes from the private CA in ``tls_dir``."""

    def __init__(self, tls_dir):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
                received.append({'authorization': self.headers.get('Authorization'), 'body': body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        dummy, context = server_tls(str(tls_dir))
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = 'https://127.0.0.1:%d/hook' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trusted(mock):
    receiver = TlsReceiver(os.path.dirname(mock.ca_cert))
    yield receiver
    receiver.close()


@pytest.fixture
def untrusted(tmp_path):
    receiver = TlsReceiver(tmp_path)     # a CA of its own, unknown to the mock
    yield receiver
    receiver.close()


def register(ublox, url, kind='DEVICE_BOOTSTRAP_EVENT'):
    body = {'NotificationURL': url, 'AuthorizationToken': 'Bearer tls-t0ken', 'NotificationType': kind}
    assert ublox('/notification/webhook/create', body).status_code == 200


def test_an_https_receiver_with_a_certificate_from_the_mock_ca_gets_the_event(ublox, mock, trusted):
    register(ublox, trusted.url)
    result = mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': '00ab'}]})
    assert [entry['Status'] for entry in result['deliveries']] == [204]
    assert trusted.received[0]['authorization'] == 'Bearer tls-t0ken'
    assert trusted.received[0]['body']['EventType'] == 'DEVICE_BOOTSTRAP_EVENT' and trusted.received[0]['body']['ROTPublicUID'] == '00ab'


def test_a_receiver_the_mock_cannot_verify_gets_nothing_and_the_attempt_is_logged(ublox, mock, untrusted):
    register(ublox, untrusted.url)
    result = mock.admin.seed('ublox', 'bootstrap', {'devices': [{'ROTPublicUID': '00ac'}]})
    assert 'Status' not in result['deliveries'][0] and result['deliveries'][0]['Error']
    assert untrusted.received == []
    assert mock.admin.state()['ublox']['webhooks']['deliveries'][0]['NotificationURL'] == untrusted.url


def test_certificate_and_root_ca_events_reach_an_https_receiver(ublox, mock, trusted):
    for name, renew in (('renewing.example.com', 30), ('plain.example.com', None)):
        body = {'CAName': name, 'CACertificateValidity': 1825, 'DeviceCertificateValidity': 365}
        assert ublox('/ztp/rootca/create', dict(body, RenewBeforeExpiration=renew) if renew else body).status_code == 200
    for kind in ('DEVICE_CERTIFICATE_RENEWAL_EVENT', 'DEVICE_CERTIFICATE_EXPIRATION_EVENT', 'ROOTCA_EXPIRATION_EVENT'):
        register(ublox, trusted.url, kind)

    # at their next heartbeat, one certificate is renewed (its Root CA renews 30 days before expiry), one is reported expiring
    mock.admin.seed('ublox', 'devices', {'devices': [{'ROTPublicUID': '00dd', 'CAName': 'renewing.example.com', 'ExpiresInDays': 20},
                                                     {'ROTPublicUID': '00ee', 'CAName': 'plain.example.com', 'ExpiresInDays': 20}]})
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': ['00dd', '00ee']})
    bodies = [entry['body'] for entry in trusted.received]
    assert [(body['ROTPublicUID'], body['EventType']) for body in bodies] == [
        ('00dd', 'DEVICE_CERTIFICATE_RENEWAL_EVENT'), ('00ee', 'DEVICE_CERTIFICATE_EXPIRATION_EVENT')]
    assert bodies[0]['Payload']['CertificateAuthorityName'] == 'renewing.example.com' and bodies[0]['Payload']['CertificateValidity'] == 365
    assert bodies[1]['Payload']['DaysToExpiration'] == 30 and bodies[1]['Payload']['CertificateAuthorityName'] == 'plain.example.com'

    # 100 days before the Root CAs expire, the next check reports both (180-day notice), without a device
    mock.admin.advance_clock((1825 - 100) * 86400)
    mock.admin.seed('ublox', 'heartbeat', {'ROTPublicUIDs': []})
    rootca = [entry['body'] for entry in trusted.received[2:]]
    assert [(body['EventType'], body['Payload']['CertificateAuthorityName'], body['Payload']['DaysToExpiration']) for body in rootca] == [
        ('ROOTCA_EXPIRATION_EVENT', 'renewing.example.com', 180), ('ROOTCA_EXPIRATION_EVENT', 'plain.example.com', 180)]
    assert all('ROTPublicUID' not in body for body in rootca)
    assert all(entry['authorization'] == 'Bearer tls-t0ken' for entry in trusted.received)
    assert [entry.get('Status') for entry in mock.admin.state()['ublox']['webhooks']['deliveries']] == [204] * 4
    assert 'tls-t0ken' not in json.dumps(mock.admin.state())
