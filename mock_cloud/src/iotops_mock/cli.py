"""Command line of the mock (``iotops-mock``): ``serve`` binds loopback sockets, serves HTTP and HTTPS and writes the
endpoints file; ``credentials`` prints the made-up test credentials as JSON."""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys

import uvicorn

from . import credentials
from .app import build_app
from .common import write_atomic
from .heap import FreezeAfterAdmin, settle
from .tls import server_tls

log = logging.getLogger('iotops_mock')

ENDPOINTS_ENV = 'IOTOPS_MOCK_ENDPOINTS'


class _Server(uvicorn.Server):
    """uvicorn server whose signals the CLI handles once for both listeners."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='iotops-mock', description='Stateful mock of the four vendor APIs.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='{serve,credentials}')
    serve_parser = commands.add_parser('serve', help='serve the vendor APIs and the /_mock admin API on loopback',
                                       description='Serve the vendor APIs and the /_mock admin API on loopback.')
    serve_parser.add_argument('--host', default='127.0.0.1', help='address to listen on (loopback only is intended)')
    serve_parser.add_argument('--port', type=int, default=0, help='HTTP port, 0 picks a free one')
    serve_parser.add_argument('--https-port', type=int, default=0, help='HTTPS port, 0 picks a free one, -1 disables HTTPS')
    serve_parser.add_argument('--endpoints-file', default=os.environ.get(ENDPOINTS_ENV) or None,
                              help='JSON file written once listening: pid, http_url, https_url, admin_url, ca_cert '
                                   '(default: $%s; required one way or the other)' % ENDPOINTS_ENV)
    serve_parser.add_argument('--tls-dir', help="directory for the private CA (default: the endpoints file's directory)")
    serve_parser.add_argument('--quiet', action='store_true', help='log warnings only, no per-request lines')
    serve_parser.add_argument('--nrf-connect-delay', type=float, default=None,
                              help='seconds until a claimed nRF Cloud device connects and runs new commands (default 0.5)')
    commands.add_parser('credentials', help='print the test credentials the mock accepts as JSON',
                        description='Print the made-up test credentials the mock accepts as JSON (also GET /_mock/credentials).')
    args = parser.parse_args(argv)
    if args.command == 'serve' and not args.endpoints_file:
        serve_parser.error('--endpoints-file is required (or set %s)' % ENDPOINTS_ENV)
    return args


def bind(host, port):
    sock = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def url_of(scheme, sock):
    host, port = sock.getsockname()[:2]
    return '%s://%s:%d' % (scheme, '[%s]' % host if ':' in host else host, port)


def make_server(app, quiet, ssl_context=None):
    options = {
        'http': 'auto',            # httptools when installed
        'lifespan': 'off',
        'access_log': False,
        'log_config': None,        # keep our logging setup
        'log_level': 'warning' if quiet else 'info',
        'proxy_headers': False,
        'server_header': False,
        'date_header': False,      # app.MockDate sends the mock clock's date
        # Longer than client pools idle, so a kept-alive connection is not closed under a request.
        'timeout_keep_alive': 75,
    }
    if ssl_context is not None:
        options['ssl_context_factory'] = lambda config, default: ssl_context
    return _Server(uvicorn.Config(app, **options))


async def serve(args):
    app = build_app(quiet=args.quiet)
    if args.nrf_connect_delay is not None:
        for vendor in app.state.vendors:
            if vendor.name == 'nrfcloud':
                vendor.set_simulator_defaults(connect_delay=args.nrf_connect_delay)
    os.makedirs(os.path.dirname(os.path.abspath(args.endpoints_file)), exist_ok=True)
    served = FreezeAfterAdmin(app)  # the collector's long pauses out of the traffic (heap.py)
    listeners = [(make_server(served, args.quiet), bind(args.host, args.port), 'http')]
    ca_cert = None
    if args.https_port >= 0:
        ca_cert, context = server_tls(args.tls_dir or os.path.dirname(os.path.abspath(args.endpoints_file)))
        app.state.tls_ca = ca_cert     # u-blox webhook deliveries trust it, so a test can run an https receiver
        listeners.append((make_server(served, args.quiet, context), bind(args.host, args.https_port), 'https'))

    settle()
    loop = asyncio.get_running_loop()

    def stop():
        for server, dummy, dummy2 in listeners:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    tasks = [asyncio.ensure_future(server.serve(sockets=[sock])) for server, sock, dummy in listeners]
    while not all(server.started for server, dummy, dummy2 in listeners):
        if any(task.done() for task in tasks):
            stop()
            break
        await asyncio.sleep(0.01)
    else:
        urls = {scheme: url_of(scheme, sock) for dummy, sock, scheme in listeners}
        # the admin API is the test harness, not a vendor API: plain HTTP in both modes
        info = {'pid': os.getpid(), 'http_url': urls['http'], 'https_url': urls.get('https'), 'admin_url': urls['http'] + '/_mock',
                'ca_cert': ca_cert}
        write_atomic(args.endpoints_file, json.dumps(info, indent=2).encode() + b'\n')
        log.info('mock server listening: %s', ', '.join(urls.values()))
    await asyncio.gather(*tasks)
    _remove_endpoints_file(args.endpoints_file)


def _remove_endpoints_file(path):
    """Remove the endpoints file on shutdown unless another server has replaced it."""
    try:
        with open(path, encoding='utf-8') as handle:
            if json.load(handle).get('pid') == os.getpid():
                os.unlink(path)
    except (OSError, ValueError):
        pass


def main(argv=None):
    args = parse_args(argv)
    if args.command == 'credentials':
        print(json.dumps(credentials.as_dict(), indent=2))
        return 0
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    loop_factory = uvicorn.Config(app=None, loop='auto').get_loop_factory()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(args))
    except OSError as exc:
        print('mock server: %s' % exc, file=sys.stderr)
        return 1
    return 0
