"""Measure the mock server's throughput on loopback and record it in docs/mock-server.md."""

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import sys
import tempfile
import time

import requests
# the mock is an installed package (requirements-dev.txt: -e ./mock_cloud)
from iotops_mock import credentials
from iotops_mock.client import MockServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DOC = os.path.join(REPO, 'docs', 'mock-server.md')
START_MARK = '<!-- throughput:start -->'
END_MARK = '<!-- throughput:end -->'


class LoadError(RuntimeError):
    """A response was not the expected 200."""


async def _read_response(reader):
    head = await reader.readuntil(b'\r\n\r\n')
    status = int(head[9:12])
    match = re.search(rb'(?i)\r\ncontent-length: *(\d+)', head)
    body = await reader.readexactly(int(match.group(1))) if match else b''
    return status, body


async def _worker(host, port, request, deadline, budget, counts):
    """One keep-alive connection sending ``request`` until the budget or the deadline is used up."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            writer.write(request)
            status, body = await _read_response(reader)
            if status != 200:
                raise LoadError('HTTP %d: %r' % (status, body[:200]))
            counts[0] += 1
    finally:
        writer.close()


async def _load(url, request, connections, total, seconds):
    host, port = url.split('//', 1)[1].split(':')
    if host != '127.0.0.1':
        raise ValueError('the benchmark only targets 127.0.0.1')
    budget, counts = [total], [0]
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, int(port), request, deadline, budget, counts) for dummy in range(connections)))
    elapsed = time.monotonic() - started
    return counts[0], elapsed


def _request(method, path, headers, body=b''):
    lines = ['%s %s HTTP/1.1' % (method, path), 'Host: 127.0.0.1']
    lines += ['%s: %s' % item for item in headers.items()]
    if method == 'POST':
        lines += ['Content-Type: application/json', 'Content-Length: %d' % len(body)]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def _ublox_token(mock):
    response = requests.post(mock.url + '/ublox/v1/authenticate', timeout=10,
                             json={'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET})
    response.raise_for_status()
    return response.json()['AuthToken']


def run(connections, total, seconds):
    try:
        import uvloop  # pylint: disable=import-outside-toplevel
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    results = []
    with tempfile.TemporaryDirectory() as workdir, MockServer(workdir, https=False) as mock:
        scenarios = [
            ('nRF Cloud GET /v1/account (API key)',
             _request('GET', '/nrfcloud/v1/account', {'Authorization': 'Bearer ' + credentials.NRFCLOUD_TEAM_A_API_KEY})),
            ('u-blox POST /v1/tag/get (AuthToken)',
             _request('POST', '/ublox/v1/tag/get', {'Authorization': _ublox_token(mock)}, json.dumps({'PageNumber': 1}).encode())),
        ]
        for name, request in scenarios:
            mock.admin.reset_counters()
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(_load(mock.url, request, connections, min(total, 500), 5))  # warm-up
                done, elapsed = runner.run(_load(mock.url, request, connections, total, seconds))
            counted = mock.admin.counters()['total']
            results.append({'scenario': name, 'requests': done, 'seconds': elapsed, 'rps': done / elapsed, 'counted': counted})
            print('%-40s %7d requests in %5.2f s = %7.0f req/s (server counted %d incl. warm-up)' % (name, done, elapsed, done / elapsed, counted))
    return results


def write_doc(results, connections):
    if not os.path.exists(DOC):
        print('%s not found; figures not recorded' % DOC)
        return
    with open(DOC, encoding='utf-8') as handle:
        text = handle.read()
    if START_MARK not in text or END_MARK not in text:
        print('throughput markers not found in %s; figures not recorded' % DOC)
        return
    rows = ['| scenario | requests | seconds | requests/s |', '|---|---|---|---|']
    rows += ['| %s | %d | %.2f | %.0f |' % (r['scenario'], r['requests'], r['seconds'], r['rps']) for r in results]
    note = ('Measured %s with `benchmarks/mock_throughput.py` on a %d-core machine (%s, Python %s): '
            'one mock process (uvicorn + httptools + uvloop) and the load client (asyncio, %d keep-alive '
            'connections) share the cores, so the figures are a lower bound for the server alone.'
            % (datetime.date.today().isoformat(), os.cpu_count() or 0, platform.machine(), platform.python_version(), connections))
    block = '\n'.join([START_MARK, note, '', *rows, END_MARK])
    start, end = text.index(START_MARK), text.index(END_MARK) + len(END_MARK)
    with open(DOC, 'w', encoding='utf-8') as handle:
        handle.write(text[:start] + block + text[end:])
    print('recorded in docs/mock-server.md')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--connections', type=int, default=8, help='concurrent keep-alive connections')
    parser.add_argument('--requests', type=int, default=50000, help='requests per scenario (upper bound)')
    parser.add_argument('--seconds', type=float, default=15.0, help='time limit per scenario')
    parser.add_argument('--no-doc', action='store_true', help='do not update docs/mock-server.md')
    args = parser.parse_args()
    if not 1 <= args.connections <= 64 or not 1 <= args.requests <= 200000 or not 0 < args.seconds <= 120:
        parser.error('keep the load bounded: 1-64 connections, up to 200000 requests, up to 120 s')
    results = run(args.connections, args.requests, args.seconds)
    if not args.no_doc:
        write_doc(results, args.connections)
    return 0


if __name__ == '__main__':
    sys.exit(main())
