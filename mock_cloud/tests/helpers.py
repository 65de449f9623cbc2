"""Token makers, small helpers and a webhook receiver shared by the self-tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization

from iotops_mock import credentials


def load_private_key(path, password=None):
    with open(path, 'rb') as handle:
        return serialization.load_pem_private_key(handle.read(), password=password)


def iotcomms_token(claims=None, key_path=credentials.IOTCOMMS_PRIVATE_KEY_PATH, algorithm='RS256', now=None, **overrides):
    """A customer-signed iotcomms JWT; ``overrides`` replace or (with None) drop claims."""
    now = int(time.time() if now is None else now)
    payload = {'sub': credentials.IOTCOMMS_DOMAIN, 'iat': now, 'exp': now + 90 * 60} if claims is None else dict(claims)
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return jwt.encode(payload, load_private_key(key_path), algorithm=algorithm)


def auth_header(token):
    return {'Authorization': 'Bearer ' + token}


def nrf_key(team='a'):
    key = credentials.NRFCLOUD_TEAM_A_API_KEY if team == 'a' else credentials.NRFCLOUD_TEAM_B_API_KEY
    return auth_header(key)


def ublox_login(http, mock):
    response = http.post(mock.url + '/ublox/v1/authenticate',
                         json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    assert response.status_code == 200, response.text
    return response.json()


def nao_session(http, mock):
    response = http.post(mock.url + '/naocloud/api/v2/sessions', headers={'Authorization': credentials.NAOCLOUD_API_KEY})
    assert response.status_code == 201, response.text
    return response.json()


class Receiver:
    """A tiny HTTP receiver on 127.0.0.1 that records what the mock POSTs to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get('Content-Length', 0))
                received.append({'path': self.path, 'authorization': self.headers.get('Authorization'),
                                 'body': json.loads(self.rfile.read(length))})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
