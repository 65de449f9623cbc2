"""Fault rules and the outermost ASGI middleware that counts vendor calls, enforces rate limits and injects faults."""

import asyncio
import http
import logging
import random
import re
import time

from .common import BadRequest
from .ratelimit import RateLimits

KINDS = ('status', 'latency', 'drop_before', 'drop_after')
CACHE_LIMIT = 20000

log = logging.getLogger('iotops_mock')


class ConnectionDropError(RuntimeError):
    """The server could not find the connection's transport to close it."""


class FaultRule:
    """One rule of POST /_mock/faults."""

    def __init__(self, rule_id, spec, vendors):
        unknown = set(spec) - {'vendor', 'method', 'path', 'kind', 'status', 'retry_after', 'message', 'seconds', 'count', 'skip',
                               'duration', 'jitter', 'seed'}
        if unknown:
            raise BadRequest('unknown fault fields: %s' % ', '.join(sorted(unknown)))
        self.id = rule_id
        self.vendor = spec.get('vendor')
        if self.vendor is not None and self.vendor not in vendors:
            raise BadRequest('vendor must be null or one of %s' % ', '.join(vendors))
        method = spec.get('method')
        if method is not None and not isinstance(method, str):
            raise BadRequest('method must be null or a string')
        self.method = method.upper() if method else None
        self.path = spec.get('path')
        try:
            self.regex = re.compile(self.path) if self.path else None
        except (re.error, TypeError) as exc:
            raise BadRequest('path is not a valid regular expression: %s' % exc) from exc
        self.kind = spec.get('kind', 'status')
        if self.kind not in KINDS:
            raise BadRequest('kind must be one of %s' % ', '.join(KINDS))
        self.status = spec.get('status', 503)
        if not isinstance(self.status, int) or isinstance(self.status, bool) or not 100 <= self.status <= 599:
            raise BadRequest('status must be an HTTP status code')
        retry_after = spec.get('retry_after')
        self.retry_after = None if retry_after is None else str(retry_after)
        # an error text to answer with instead of the status phrase (e.g. a vendor echoing a credential back)
        self.message = spec.get('message')
        if self.message is not None and not isinstance(self.message, str):
            raise BadRequest('message must be a string')
        self.seconds = spec.get('seconds', 1.0)
        if not isinstance(self.seconds, (int, float)) or isinstance(self.seconds, bool) or not 0 <= self.seconds <= 600:
            raise BadRequest('seconds must be a number from 0 to 600')
        # a latency drawn per request, evenly from seconds - jitter to seconds + jitter (a cloud's answer times vary); ``seed``
        # makes the draws the same from run to run
        self.jitter = spec.get('jitter', 0)
        if not isinstance(self.jitter, (int, float)) or isinstance(self.jitter, bool) or not 0 <= self.jitter <= self.seconds:
            raise BadRequest('jitter must be a number of seconds from 0 to seconds')
        seed = spec.get('seed')
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise BadRequest('seed must be null or an integer')
        self.seed = seed
        self.random = random.Random(seed)
        self.remaining = spec.get('count', 1)
        if self.remaining is not None and (not isinstance(self.remaining, int) or isinstance(self.remaining, bool) or self.remaining < 1):
            raise BadRequest('count must be a positive integer, or null for no limit')
        self.skip = spec.get('skip', 0)
        if not isinstance(self.skip, int) or isinstance(self.skip, bool) or self.skip < 0:
            raise BadRequest('skip must be a non-negative integer')
        # a storm: once the rule first fires it fires for ``duration`` seconds (and at most ``count`` times), then never again
        self.duration = spec.get('duration')
        if self.duration is not None and (not isinstance(self.duration, (int, float)) or isinstance(self.duration, bool)
                                          or not 0 < self.duration <= 3600):
            raise BadRequest('duration must be null or a number of seconds from 0 to 3600')
        self.fired = 0
        self.skipped = 0
        self.delayed = 0.0      # seconds of latency served, so that a test reads the delay instead of timing it
        self.first_fired = None  # monotonic, for the storm's end
        self.fired_at = None     # wall clock of the first and the last firing, so that a test splits traffic at the storm
        self.last_fired_at = None

    def latency(self):
        """The delay of one request: ``seconds``, or a draw around it when the rule has a jitter."""
        if not self.jitter:
            return self.seconds
        return self.random.uniform(self.seconds - self.jitter, self.seconds + self.jitter)

    def over(self, now):
        """True once a storm's ``duration`` has passed since it first fired."""
        return self.duration is not None and self.first_fired is not None and now >= self.first_fired + self.duration

    def fire(self, now):
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        if self.first_fired is None:
            self.first_fired, self.fired_at = now, time.time()
        self.last_fired_at = time.time()

    def describe(self):
        return {'id': self.id, 'vendor': self.vendor, 'method': self.method, 'path': self.path, 'kind': self.kind,
                'status': self.status, 'retry_after': self.retry_after, 'message': self.message, 'seconds': self.seconds,
                'jitter': self.jitter, 'seed': self.seed, 'skip': self.skip, 'skipped': self.skipped, 'fired': self.fired,
                'remaining': self.remaining, 'delayed': self.delayed,
                'duration': self.duration, 'fired_at': self.fired_at, 'last_fired_at': self.last_fired_at}


class FaultBook:
    """Ordered fault rules; a rule still skipping lets the request on to the next rule. ``limits`` are the per-account
    rate limits (ratelimit.py), checked before the rules: a refused request never reaches a fault or the vendor."""

    def __init__(self, vendors, clock=time.monotonic):
        self.vendors = tuple(vendors)
        self.rules = []
        self.next_id = 1
        self.clock = clock
        self.limits = RateLimits(self.vendors)

    def add(self, spec):
        if not isinstance(spec, dict):
            raise BadRequest('a fault rule is a JSON object')
        rule = FaultRule(self.next_id, spec, self.vendors)
        self.next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self):
        self.rules = []

    def match(self, vendor, method, path):
        now = self.clock()
        for rule in self.rules:
            if rule.remaining == 0 or rule.over(now):
                continue
            if (rule.vendor is not None and rule.vendor != vendor) or (rule.method is not None and rule.method != method):
                continue
            if rule.regex is not None and rule.regex.search(path) is None:
                continue
            if rule.skip > 0:
                rule.skip -= 1
                rule.skipped += 1
                continue
            rule.fire(now)
            return rule
        return None


class RouteTable:
    """Resolves '<METHOD> <path after prefix>' of one vendor prefix to its counter key and category."""

    def __init__(self, prefix, vendor, routes):
        self.prefix = prefix
        self.vendor = vendor
        self.routes = [(route.path_regex, route.methods, route.path) for route in routes]

    def resolve(self, method, path):
        partial = None
        for regex, methods, template in self.routes:
            if regex.match(path):
                if method in methods:
                    return self.entry(method, template)
                if partial is None:
                    partial = template
        # Wrong method on a known path (405) still reached a vendor route, so it is counted.
        return None if partial is None else self.entry(method, partial)

    def entry(self, method, template):
        return '%s %s %s' % (self.prefix, method, template), self.vendor.category(method, template)


async def _read_body(receive):
    chunks = []
    while True:
        message = await receive()
        if message['type'] != 'http.request':
            break
        chunks.append(message.get('body', b''))
        if not message.get('more_body'):
            break
    return b''.join(chunks)


def header(scope, wanted):
    """The raw value of a request header (lower-case bytes name), None without one."""
    for name, value in scope['headers']:
        if name == wanted:
            return value
    return None


def user_agent(scope):
    """The request's User-Agent (None without one)."""
    value = header(scope, b'user-agent')
    return None if value is None else value.decode('latin-1')


def _replay(body, receive):
    """A receive callable that hands the buffered body once, then defers to the real one."""
    pending = [{'type': 'http.request', 'body': body, 'more_body': False}]

    async def replay():
        if pending:
            return pending.pop()
        return await receive()
    return replay


async def drop_connection(send):
    """Close the client's TCP connection without answering.

    uvicorn hands the app a bound method of its per-request cycle, whose ``transport`` is the
    asyncio transport; waiting for ``disconnected`` stops uvicorn from writing a 500 afterwards.
    """
    cycle = getattr(send, '__self__', None)
    transport = getattr(cycle, 'transport', None)
    if transport is None:
        raise ConnectionDropError('cannot reach the connection transport to drop it')
    transport.close()
    for dummy in range(200):
        if getattr(cycle, 'disconnected', True):
            break
        await asyncio.sleep(0.005)


class FaultMiddleware:
    """Outermost ASGI layer: resolve the vendor route, count it, then fire a fault or pass on."""

    def __init__(self, app, tables, counters, faults, log_requests=False, sleep=asyncio.sleep):
        self.app = app
        self.tables = tables
        self.counters = counters
        self.faults = faults
        self.log_requests = log_requests
        self.sleep = sleep      # the latency fault's sleep; in-process tests pass their own
        self.cache = {}

    def resolve(self, method, path):
        cache_key = (method, path)
        hit = self.cache.get(cache_key)
        if hit is None:
            end = path.find('/', 1)
            table = self.tables.get(path[1:end] if end > 0 else path[1:])
            if table is None:
                return None
            subpath = path[end:] if end > 0 else '/'
            hit = (table, subpath, table.resolve(method, subpath))
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            self.cache[cache_key] = hit
        return hit

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        method = scope['method']
        hit = self.resolve(method, scope['path'])
        if hit is None or hit[2] is None:
            # Admin API, unknown prefix or unknown path: never counted, never faulted.
            await self.app(scope, receive, send)
            return
        table, subpath, (key, category) = hit
        if scope.get('query_string'):
            # a call whose query makes it another operation (nRF Cloud's claim ?dryrun=true) is counted as that one
            key, category = table.vendor.query_variant(method, key, category, scope['query_string'].decode('latin-1'))
        counters = self.counters
        counters.hit(table.prefix, category, key, user_agent(scope))

        async def counting_send(message):
            if message['type'] == 'http.response.start':
                counters.status(key, message['status'])
                if self.log_requests:
                    log.info('%s %s -> %s', method, scope['path'], message['status'])
            await send(message)

        retry_after = self.faults.limits.arrive(table.prefix, header(scope, b'authorization'))
        if retry_after is not None:
            await self.refuse(table, retry_after, scope, receive, counting_send)
            return
        rule = self.faults.match(table.prefix, method, subpath) if self.faults.rules else None
        if rule is None:
            await self.app(scope, receive, counting_send)
            return
        counters.faults_fired += 1
        if self.log_requests:
            log.info('fault %d (%s) on %s %s', rule.id, rule.kind, method, scope['path'])
        await self.fire(rule, table, key, scope, receive, send, counting_send)

    async def refuse(self, table, retry_after, scope, receive, counting_send):
        """A request over its account's rate limit: 429 in the vendor's error shape, not processed."""
        response = table.vendor.error_response(429, 'Too Many Requests', table.prefix)
        response.headers['Retry-After'] = retry_after
        await response(scope, receive, counting_send)

    async def fire(self, rule, table, key, scope, receive, send, counting_send):
        if rule.kind == 'status':
            try:
                reason = http.HTTPStatus(rule.status).phrase
            except ValueError:
                reason = 'Error'
            response = table.vendor.error_response(rule.status, rule.message or reason, table.prefix)
            if rule.retry_after is not None:
                response.headers['Retry-After'] = rule.retry_after
            await response(scope, receive, counting_send)
        elif rule.kind == 'latency':
            # Buffer the body first so the request is processed even if the client gives up meanwhile.
            body = await _read_body(receive)
            delay = rule.latency()
            await self.sleep(delay)
            rule.delayed += delay
            await self.app(scope, _replay(body, receive), counting_send)
        elif rule.kind == 'drop_before':
            self.counters.status(key, 'dropped')
            await drop_connection(send)
        else:
            async def swallow(message):
                return None
            await self.app(scope, receive, swallow)
            self.counters.status(key, 'dropped')
            await drop_connection(send)
