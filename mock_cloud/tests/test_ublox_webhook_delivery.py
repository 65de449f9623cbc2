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
