"""Command line of the mock server: bind loopback sockets, serve HTTP and HTTPS, write the state file."""

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

from .app import build_app
from .common import write_atomic
from .tls import server_tls

log = logging.getLogger('mock_server')


class _Server(uvicorn.Server):
    """uvicorn server whose signals the CLI handles once for both listeners."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='python tests/mock_server', description='Stateful mock of the four vendor APIs.')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (loopback only is intended)')
    parser.add_argument('--port', type=int, default=0, help='HTTP port, 0 picks a free one')
    parser.add_argument('--https-port', type=int, default=0, help='HTTPS port, 0 picks a free one, -1 disables HTTPS')
    parser.add_argument('--state-file', required=True, help='JSON file written once listening: pid, URLs, CA path')
    parser.add_argument('--tls-dir', help="directory for the private CA (default: the state file's directory)")
    parser.add_argument('--quiet', action='store_true', help='log warnings only, no per-request lines')
    parser.add_argument('--nrf-connect-delay', type=float, default=None,
                        help='seconds until a claimed nRF Cloud device connects and runs new commands (default 0.5)')
    return parser.parse_args(argv)


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
    os.makedirs(os.path.dirname(os.path.abspath(args.state_file)), exist_ok=True)
    listeners = [(make_server(app, args.quiet), bind(args.host, args.port), 'http')]
    ca_cert = None
    if args.https_port >= 0:
        ca_cert, context = server_tls(args.tls_dir or os.path.dirname(os.path.abspath(args.state_file)))
        listeners.append((make_server(app, args.quiet, context), bind(args.host, args.https_port), 'https'))

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
        info = {'pid': os.getpid(), 'http_url': urls['http'], 'https_url': urls.get('https'), 'ca_cert': ca_cert}
        write_atomic(args.state_file, json.dumps(info, indent=2).encode() + b'\n')
        log.info('mock server listening: %s', ', '.join(urls.values()))
    await asyncio.gather(*tasks)
    _remove_state_file(args.state_file)


def _remove_state_file(path):
    """Remove the state file on shutdown unless another server has replaced it."""
    try:
        with open(path, encoding='utf-8') as handle:
            if json.load(handle).get('pid') == os.getpid():
                os.unlink(path)
    except (OSError, ValueError):
        pass


def main(argv=None):
    args = parse_args(argv)
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
