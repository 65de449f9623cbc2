# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client on a requests.Session, with the collection's retry, TLS and redaction rules.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Rules (DESIGN.md, HTTP):
- a request that never reached the server (connection refused, connect timeout) is retried;
- HTTP 408, 429 and 503 mean the server did not process the request: retried for any method;
- HTTP 502 and 504 come from a gateway, the backend may have processed the request: retried for
  reads; for a write the outcome is unknown;
- a write whose outcome is unknown (timeout or dropped connection after sending, 502/504) is never
  re-sent blindly: the caller's ``verify_write`` re-reads the resource; only when it says the write
  did not happen is the request sent again. Without ``verify_write`` it raises OutcomeUnknownError;
- ``Retry-After`` (seconds or an HTTP date) is honoured and capped by ``retry_max_wait``; otherwise
  the wait is an exponential backoff with jitter;
- a 429 does not use up ``retries``: it has an allowance of its own, ``THROTTLED_PER_RETRY`` times ``retries``,
  so that a storm of throttling slows a batch down instead of failing its items (the server refused the request
  unprocessed, so sending it again is always safe); a ``rate_limit`` (``_rate.py``) paces every attempt, halves
  its rate on a 429 and holds all threads for its Retry-After, which keeps a storm's 429s few. Without one, a client
  that meets a vendor's limit while busy learns it from the 429s (``_rate.LearnedBudget``);
- a 401 lets the auth object log in again, once per request;
- ``now()`` is the vendor's clock (its ``Date`` header) when it differs from the controller's by an
  hour or more: a certificate expires when the cloud's clock says so, and a controller whose clock
  is off must neither rotate too early or too late nor date certificates wrongly.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import random
import threading
import time
from urllib.parse import urlsplit

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import (
    ApiError,
    OutcomeUnknownError,
    Redactor,
    TransportError,
)
from ansible_collections.iotops.provisioning.plugins.module_utils._rate import RATE_HEADROOM, LearnedBudget, RateLimiter

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    requests = None

TOO_MANY_REQUESTS = 429
RETRY_SAFE_STATUSES = frozenset((408, 503))  # and 429, which has an allowance of its own (THROTTLED_PER_RETRY)
THROTTLED_PER_RETRY = 4  # 429s a request may get per retry it is allowed: 20 with the default 5 retries
RETRY_GATEWAY_STATUSES = frozenset((502, 504))
READ_METHODS = frozenset(('GET', 'HEAD', 'OPTIONS'))
BACKOFF_BASE = 0.5
CLOCK_SKEW_TOLERANCE = 3600.0  # seconds; below this the controller's clock is good enough for day-sized windows
MAX_PAGES = 100000  # a guard against a list endpoint that never stops handing out pages


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = now if now is not None else time.time()
    return max(0.0, when.timestamp() - now)


class WriteLedger:
    """How many writes this process has sent, in all and per thread.

    A write counts once it may have changed something: the server accepted it, or its outcome is
    unknown. A module's ``changed`` rests on this ledger, so that a task that wrote and then failed
    still says it changed something (and a batch item that failed half way through says so too).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._local = threading.local()
        self.total = 0

    def reset(self):
        with self._lock:
            self.total = 0

    def record(self):
        with self._lock:
            self.total += 1
        self._local.count = self.by_this_thread() + 1

    def by_this_thread(self):
        return getattr(self._local, 'count', 0)


WRITES = WriteLedger()
_THROTTLED = object()  # _after_response: a 429, send again without using up an attempt


class ServerClock:
    """The vendor's time, from the ``Date`` header of its last answer (1 s resolution, latency included)."""

    def __init__(self, vendor, warn=None):
        self.vendor = vendor
        self.skew = 0.0
        self._warn = warn
        self._warned = False

    def observe(self, date_header):
        try:
            when = email.utils.parsedate_to_datetime(date_header) if date_header else None
        except (TypeError, ValueError, IndexError):
            when = None
        if when is None:
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        skew = when.timestamp() - time.time()
        self.skew = skew if abs(skew) >= CLOCK_SKEW_TOLERANCE else 0.0
        if self.skew and self._warn is not None and not self._warned:
            self._warned = True
            self._warn("The clock of %s is %s the controller's by %s; certificate expiry is judged, and certificates are dated, "
                       "by the cloud's clock. Check the controller's time (NTP)."
                       % (self.vendor, 'ahead of' if skew > 0 else 'behind', _span(abs(skew))))

    def now(self):
        return time.time() + self.skew


def _span(seconds):
    if seconds >= 86400:
        return '%.1f days' % (seconds / 86400)
    return '%.1f hours' % (seconds / 3600)


def backoff_delay(attempt, cap):
    """Exponential backoff with jitter: half fixed, half random, so retries of parallel workers spread out."""
    ceiling = min(cap, BACKOFF_BASE * (2 ** attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class ApiResponse:
    """What a request returned: status, headers and the body (parsed JSON when it is JSON, else text).

    ``recovered`` is true when the body comes from ``verify_write`` after an unknown outcome.
    """

    __slots__ = ('status', 'headers', 'body', 'recovered')

    def __init__(self, status, headers, body, recovered=False):
        self.status = status
        self.headers = headers
        self.body = body
        self.recovered = recovered

    @classmethod
    def from_requests(cls, resp):
        return cls(resp.status_code, resp.headers, _decode_body(resp))


def _decode_body(resp):
    if not resp.content:
        return None
    ctype = resp.headers.get('Content-Type', '')
    text = resp.text
    if 'json' in ctype or text[:1] in ('{', '['):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _was_not_sent(exc):
    """True when a requests exception proves the request never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, 'reason', reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


class _Call:
    """One request and its attempts so far; ``path`` is what errors show (never the query string: it may carry credentials)."""

    __slots__ = ('method', 'path', 'read_only', 'verify_write', 'authenticated', 'attempt', 'throttled', 'ticket')

    def __init__(self, method, path, read_only, verify_write, authenticated):
        self.method = method
        self.path = path
        self.read_only = read_only
        self.verify_write = verify_write
        self.authenticated = authenticated
        self.attempt = 0
        self.throttled = 0   # 429 answers so far (they do not count as attempts)
        self.ticket = None   # the rate limiter's slot of the attempt in flight


class HttpClient:
    """One vendor endpoint: base URL, session, auth and error parsing.

    ``error_parser(body) -> (code, message)`` turns a vendor error body into its code and message.
    Thread-safe for concurrent requests (the batch runner shares one client). ``rate_limit`` (requests/s, None or 0 for
    none) is the budget of the vendor account for this client, shared by all its threads; ``clock`` and ``sleep`` are the
    limiter's and the retries' time.
    """

    def __init__(self, vendor, base_url, auth=None, error_parser=None, timeout=30.0, validate_certs=True,
                 ca_path=None, use_proxy=True, retries=5, retry_max_wait=60.0, redactor=None, warn=None,
                 pool_size=16, sleep=time.sleep, user_agent='iotops.provisioning', rate_limit=None, clock=time.monotonic):
        self.vendor = vendor
        self.base_url = base_url.rstrip('/')
        self.auth = auth
        self.error_parser = error_parser or (lambda body: (None, body if isinstance(body, str) else None))
        self.timeout = timeout
        self.retries = retries
        self.retry_max_wait = retry_max_wait
        self.redact = redactor or Redactor()
        self._sleep = sleep
        self.limiter = RateLimiter(rate_limit * RATE_HEADROOM, clock=clock, sleep=sleep) if rate_limit else None
        self.learner = None if rate_limit else LearnedBudget(clock=clock, sleep=sleep)
        self.clock = ServerClock(vendor, warn)
        self.session = requests.Session()
        # trust_env=False: no ~/.netrc credentials replacing our Authorization header, no stray CA bundle;
        # proxies are taken from the environment explicitly when use_proxy is on.
        self.session.trust_env = False
        if use_proxy:
            self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self.session.mount('https://', adapter)
        self.session.mount('http://', adapter)
        self.session.headers['User-Agent'] = user_agent
        if ca_path:
            self.session.verify = ca_path
        elif not validate_certs:
            self.session.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            if warn is not None:
                warn('TLS certificate verification is disabled for %s (validate_certs=false): the connection can be intercepted. '
                     'Prefer ca_path with the CA that signed the server certificate.' % vendor)

    def now(self):
        """Seconds since the epoch on the vendor's clock (see ServerClock)."""
        return self.clock.now()

    def url(self, path, base_url=None):
        if path.startswith('http://') or path.startswith('https://'):
            return path
        return (base_url or self.base_url).rstrip('/') + '/' + path.lstrip('/')

    def request(self, method, path, json_body=None, data=None, params=None, headers=None, expect=(200, 201, 202, 204),
                read_only=None, verify_write=None, authenticated=True, base_url=None):
        """Send a request with the retry rules of this file and return an ApiResponse.

        ``read_only`` defaults to true for GET/HEAD/OPTIONS; set it for POST calls that only read (u-blox).
        ``verify_write()`` is called when a write's outcome is unknown: it returns the resource (the write
        happened) or None (it did not, so it is safe to send again).
        """
        method = method.upper()
        url = self.url(path, base_url)
        call = _Call(method, urlsplit(url).path, method in READ_METHODS if read_only is None else read_only, verify_write, authenticated)
        reauthenticated = False
        while True:
            send_headers = dict(headers or {})
            if authenticated and self.auth is not None:
                self.auth.apply(self, send_headers)  # may log in first: that request takes a slot of its own
            if self.limiter is not None:
                call.ticket = self.limiter.acquire()
            try:
                resp = self.session.request(method, url, json=json_body, data=data, params=params, headers=send_headers,
                                            timeout=self.timeout)
            except requests.exceptions.SSLError as exc:
                raise TransportError(self.vendor, method, call.path, 'TLS error (%s); check ca_path/validate_certs' % exc,
                                     redact=self.redact) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                answer = self._after_transport_error(call, exc)
            else:
                self.clock.observe(resp.headers.get('Date'))
                if resp.status_code == 401 and authenticated and self.auth is not None and not reauthenticated:
                    if self.auth.on_unauthorized(self, send_headers):
                        reauthenticated = True
                        continue
                answer = self._after_response(call, resp, expect)
            if answer is _THROTTLED:
                continue  # a 429 does not use up an attempt (see _throttled)
            if answer is not None:
                return answer
            call.attempt += 1

    def _after_transport_error(self, call, exc):
        """The request got no answer: the response recovered by ``verify_write``, or None to send it again (or raise)."""
        if _was_not_sent(exc) or call.read_only:
            if call.attempt < self.retries:
                self._sleep(backoff_delay(call.attempt, self.retry_max_wait))
                return None
            raise TransportError(self.vendor, call.method, call.path, '%s after %d attempts' % (_describe(exc), call.attempt + 1),
                                 redact=self.redact) from None
        timed_out = isinstance(exc, requests.exceptions.ReadTimeout)
        # after a read timeout the server may still be working on the write: keep re-reading for a while,
        # and never send it again (the re-read cannot prove that the write will not still happen)
        self._record_write(call.authenticated)  # sent, and perhaps applied
        recovered = self._recover(call.method, call.path, call.verify_write, _describe(exc), settle=self.timeout if timed_out else 0)
        if recovered is not None:
            return recovered
        if timed_out:
            raise OutcomeUnknownError(
                self.vendor, call.method, call.path,
                '%s, and the write had not appeared %d s later; it was not re-sent. Re-run the task: it reads the '
                'current state before writing' % (_describe(exc), self.timeout), redact=self.redact)
        if call.attempt + 1 > self.retries:
            raise TransportError(self.vendor, call.method, call.path, 'gave up after %d attempts' % (call.attempt + 1), redact=self.redact)
        return None

    def _after_response(self, call, resp, expect):
        """The server answered: the ApiResponse, None to send the request again, _THROTTLED to send it again after a 429
        (or raise the vendor's error)."""
        status = resp.status_code
        if status == TOO_MANY_REQUESTS:
            if call.throttled < self.retries * THROTTLED_PER_RETRY:
                return self._throttled(call, resp)
            raise self.api_error(call.method, call.path, resp)
        if self.limiter is not None:
            self.limiter.speed_up(call.ticket)
        if self.learner is not None:
            self.learner.answered()
        retry_safe = status in RETRY_SAFE_STATUSES or (status in RETRY_GATEWAY_STATUSES and call.read_only)
        if retry_safe and call.attempt < self.retries:
            delay = parse_retry_after(resp.headers.get('Retry-After'))
            self._sleep(backoff_delay(call.attempt, self.retry_max_wait) if delay is None else min(delay, self.retry_max_wait))
            return None
        if status in RETRY_GATEWAY_STATUSES and not call.read_only and call.attempt < self.retries:
            self._record_write(call.authenticated)  # the backend may have applied it
            return self._recover(call.method, call.path, call.verify_write, 'HTTP %d from a gateway' % status)
        if status not in expect:
            raise self.api_error(call.method, call.path, resp)
        if not call.read_only:
            self._record_write(call.authenticated)
        return ApiResponse.from_requests(resp)

    def _throttled(self, call, resp):
        """Wait after a 429, then send again.

        A 429 means the server refused the request unprocessed, so it is always safe to send again, and in a storm of them
        (a vendor throttling the account) every request of a batch meets several: counted against ``retries`` they would
        fail items that only needed to wait. So 429s have their own allowance (THROTTLED_PER_RETRY x retries); with a rate
        limiter the slowdown and the shared pause make them rare. With a limiter, the Retry-After pause is the limiter's,
        for every thread of the account (this one waits for its next slot); without one, this thread waits."""
        delay = parse_retry_after(resp.headers.get('Retry-After'))
        wait = backoff_delay(call.throttled, self.retry_max_wait) if delay is None else min(delay, self.retry_max_wait)
        call.throttled += 1
        if self.learner is not None and self.learner.throttled(call.ticket, wait if delay is not None else None):
            self.limiter = self.learner.limiter
            return _THROTTLED
        if self.limiter is not None:
            self.limiter.slow_down(call.ticket, pause=None if delay is None else wait)
            if delay is not None:
                return _THROTTLED
        self._sleep(wait)
        return _THROTTLED

    @staticmethod
    def _record_write(authenticated):
        # a log-in (unauthenticated POST) changes nothing the task manages
        if authenticated:
            WRITES.record()

    def _recover(self, method, path, verify_write, reason, settle=0):
        """Re-read after a write with an unknown outcome; None means "not applied".

        ``settle`` seconds: keep re-reading (once a second) while the write may still be in progress.
        """
        if verify_write is None:
            raise OutcomeUnknownError(
                self.vendor, method, path,
                '%s; the write may or may not have been applied and was not re-sent. Re-run the task: it reads the current '
                'state before writing' % reason, redact=self.redact)
        found = verify_write()
        deadline = time.monotonic() + settle
        while found is None and time.monotonic() < deadline:
            self._sleep(1.0)
            found = verify_write()
        if found is None:
            return None
        return ApiResponse(None, {}, found, recovered=True)

    def api_error(self, method, path, resp):
        body = _decode_body(resp)
        try:
            code, message = self.error_parser(body)
        except Exception:  # pylint: disable=broad-except
            code, message = None, None
        if not message and isinstance(body, str):
            message = body[:300]
        return ApiError(self.vendor, method, path, resp.status_code, code, message, redact=self.redact)


def _describe(exc):
    """A short reason without the URL (urllib3 messages carry the full URL, query string included)."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return 'no answer within the read timeout'
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return 'connection timed out'
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, 'reason', reason)
    text = str(reason or exc)
    marker = 'Failed to establish a new connection: '
    if marker in text:
        return 'cannot connect (%s)' % text.split(marker, 1)[1].strip()
    if 'RemoteDisconnected' in text or 'Connection aborted' in text or 'reset by peer' in text:
        return 'the connection was closed before an answer came back'
    return 'connection error (%s)' % type(reason or exc).__name__
