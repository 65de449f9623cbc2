"""Test helper: run the mock server in a subprocess and drive its /_mock admin API with requests."""

import json
import os
import subprocess
import sys
import time

import requests

START_TIMEOUT = 15.0

# Real base URL of each API -> the same base on the mock (vendor prefix + the vendor's path).
API_PATHS = {
    'NRFCLOUD_API_URL': '/nrfcloud/v1',
    'NRFCLOUD_PROVISIONING_API_URL': '/nrfcloud-provisioning/v1',
    'UBLOX_API_URL': '/ublox/v1',
    'IOTCOMMS_API_URL': '/iotcomms',
    'NAOCLOUD_API_URL': '/naocloud/api/v2',
}


class MockServerError(RuntimeError):
    """The mock server did not start or an admin call failed."""


class AdminClient:
    """Thin client of /_mock/...; every method returns the decoded JSON answer."""

    def __init__(self, url, timeout=10.0):
        self.url = url.rstrip('/') + '/_mock'
        self.timeout = timeout
        self.session = requests.Session()
        # The admin API is on loopback; never send it through a proxy from the environment.
        self.session.trust_env = False

    def call(self, method, path, payload=None):
        response = self.session.request(method, self.url + path, json=payload, timeout=self.timeout)
        if response.status_code >= 400:
            raise MockServerError('%s /_mock%s -> %d %s' % (method, path, response.status_code, response.text))
        return response.json()

    def health(self):
        return self.call('GET', '/health')

    def credentials(self):
        return self.call('GET', '/credentials')

    def reset(self):
        return self.call('POST', '/reset')

    def state(self):
        return self.call('GET', '/state')

    def counters(self):
        return self.call('GET', '/counters')

    def reset_counters(self):
        return self.call('POST', '/counters/reset')

    def writes(self):
        """How many write calls of the vendor APIs the mock counted since the last reset (``by_category.write``)."""
        return self.counters()['by_category']['write']

    def routes(self):
        """Every vendor endpoint the mock serves: [{'key': '<vendor> <METHOD> <template>', 'category': ...}]."""
        return self.call('GET', '/routes')['routes']

    def add_fault(self, **rule):
        """Add a fault rule (see docs/mock-server.md); returns its id."""
        return self.call('POST', '/faults', rule)['id']

    def faults(self):
        return self.call('GET', '/faults')['faults']

    def clear_faults(self):
        return self.call('DELETE', '/faults')

    def expire_tokens(self, refresh_tokens=True):
        return self.call('POST', '/tokens/expire', {'refresh_tokens': refresh_tokens})

    def advance_clock(self, seconds):
        return self.call('POST', '/clock', {'advance': seconds})

    def clock(self):
        return self.call('GET', '/clock')

    def seed(self, vendor, kind, payload):
        return self.call('POST', '/seed/%s/%s' % (vendor, kind), payload)

    def manufacture_ublox(self, payload):
        """Factory-fresh u-blox modules ({"devices": [...]} or {"count", "start"?, ...}); unknown to the API until they bootstrap."""
        return self.seed('ublox', 'manufactured', payload)

    def online(self, devices, waves=None, never=0, after=None, seed=None, rebootstrap=False, since=None):
        """When physical devices come online: ``devices`` = [{"nrfcloud": id, "ublox": ROTPublicUID}], ``waves`` a list of
        {"count"|"share", "after", "since"?} or "default", or ``after`` for one wave; the last ``never`` devices never do.
        ``since`` ("now", "whitelisted", "claimed") is when the countdown of every wave without its own starts."""
        payload = {'devices': devices, 'never': never, 'rebootstrap': rebootstrap}
        for name, value in (('waves', waves), ('after', after), ('seed', seed), ('since', since)):
            if value is not None:
                payload[name] = value
        return self.call('POST', '/online', payload)

    def online_schedule(self):
        return self.call('GET', '/online')

    def nrfcloud_simulator(self, **settings):
        """Read or change the nRF Cloud device simulator (connect_delay, command_delay, bulk_delay, csr_field)."""
        if settings:
            return self.call('POST', '/nrfcloud/simulator', settings)
        return self.call('GET', '/nrfcloud/simulator')

    def close(self):
        self.session.close()


class MockServer:
    """Context manager: ``with MockServer(tmp_path) as mock: requests.get(mock.url + ...)``."""

    def __init__(self, workdir, https=True, quiet=True, extra_args=()):
        self.workdir = os.path.abspath(str(workdir))
        self.https = https
        self.quiet = quiet
        self.extra_args = list(extra_args)   # more CLI options, e.g. ['--nrf-connect-delay', '0']
        self.endpoints_file = os.path.join(self.workdir, 'mock-server.json')
        self.log_path = os.path.join(self.workdir, 'mock-server.log')
        self.process = None
        self.info = {}
        self.admin = None

    @property
    def url(self):
        return self.info['http_url']

    @property
    def https_url(self):
        return self.info['https_url']

    @property
    def ca_cert(self):
        return self.info['ca_cert']

    def api_urls(self, https=False):
        """Environment-style base URLs (NRFCLOUD_API_URL, ...) pointing at this mock."""
        base = self.https_url if https else self.url
        return {name: base + path for name, path in API_PATHS.items()}

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        if os.path.exists(self.endpoints_file):
            os.unlink(self.endpoints_file)
        # the interpreter that runs this helper has the package installed (requirements-dev.txt, or pip install ./mock_cloud)
        command = [sys.executable, '-m', 'iotops_mock', 'serve', '--host', '127.0.0.1', '--port', '0',
                   '--https-port', '0' if self.https else '-1', '--endpoints-file', self.endpoints_file]
        if self.quiet:
            command.append('--quiet')
        command.extend(self.extra_args)
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MockServerError('mock server exited with %s; see %s' % (self.process.returncode, self.log_path))
            info = self._read_endpoints()
            if info.get('pid') == self.process.pid:
                self.info = info
                self.admin = AdminClient(self.url)
                return self
            time.sleep(0.05)
        self.stop()
        raise MockServerError('mock server did not write %s within %.0f s' % (self.endpoints_file, START_TIMEOUT))

    def _read_endpoints(self):
        try:
            with open(self.endpoints_file, encoding='utf-8') as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def stop(self, timeout=10.0):
        if self.admin is not None:
            self.admin.close()
            self.admin = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
