"""Per-account rate limits (429 with Retry-After) and the record of when each account's requests arrived.

A cloud limits the requests of an account, not of a connection: the account is what the credential of the request
belongs to (``account_of``). Every request that reaches a vendor route is recorded with its arrival time, so that a test
reads the highest requests/s over any window instead of timing the client itself.
"""

import collections
import hashlib
import math
import time

from . import credentials
from .common import BadRequest, decode_json_segment, is_number

ANONYMOUS = '-'          # a request without credentials in a header (u-blox and NAO Cloud log-ins)
CACHE_LIMIT = 4096       # Authorization values remembered with their account
LOG_LIMIT = 200000       # arrivals kept per account; the oldest go first
MAX_RATE = 100000.0


def _aliases():
    """The mock's credentials -> the account they belong to (JWT claims are looked up here too)."""
    table = {team['api_key']: 'team-' + team['label'] for team in credentials.NRFCLOUD_TEAMS}
    for value in (credentials.NAOCLOUD_API_KEY, credentials.NAOCLOUD_ACCESS_TOKEN, credentials.NAOCLOUD_USER_ID):
        table[value] = 'user-' + credentials.NAOCLOUD_USER_ID
    return table


ALIASES = _aliases()


def _jwt_subject(token):
    """The account a JWT names: u-blox's ``cognito:username`` (the API key), else ``sub``; None when not a JWT."""
    parts = token.split('.')
    if len(parts) != 3:
        return None
    try:
        claims = decode_json_segment(parts[1])
    except ValueError:
        return None
    subject = claims.get('cognito:username') or claims.get('sub')
    return str(subject) if subject is not None else None


def account_of(authorization):
    """The account of a request from its Authorization header: nRF Cloud ``team-a``/``team-b`` (API key), u-blox the API
    key (AuthToken), iotcomms.io the domain (JWT ``sub``), NAO Cloud ``user-<id>`` (any of its three credentials)."""
    token = (authorization or '').strip()
    if token[:7].lower() == 'bearer ':
        token = token[7:].strip()
    if not token:
        return ANONYMOUS
    if token in ALIASES:
        return ALIASES[token]
    subject = _jwt_subject(token)
    if subject is not None:
        return ALIASES.get(subject, subject)
    # an unknown key: named by a digest, never echoed
    return 'key-' + hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()[:12]


def _number(spec, name, default, low, high):
    value = spec.get(name, default)
    if value is None or not is_number(value) or not low <= value <= high:
        raise BadRequest('%s must be a number from %s to %s' % (name, low, high))
    return float(value)


def _vendors(value, vendors):
    """null (every vendor), one vendor key or a list of them (nrfcloud and nrfcloud-provisioning share an API key)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or any(name not in vendors for name in names):
        raise BadRequest('vendor must be null, one of %s, or a list of them' % ', '.join(vendors))
    return frozenset(names)


class RateLimit:
    """One rule of POST /_mock/ratelimits: each account gets at most ``rate`` x ``window`` requests in any ``window``
    seconds (a sliding log of the requests it let through); one more gets 429 with Retry-After."""

    FIELDS = frozenset(('vendor', 'account', 'rate', 'window', 'retry_after'))

    def __init__(self, rule_id, spec, vendors):
        unknown = set(spec) - self.FIELDS
        if unknown:
            raise BadRequest('unknown rate limit fields: %s' % ', '.join(sorted(unknown)))
        self.id = rule_id
        self.vendors = _vendors(spec.get('vendor'), vendors)
        self.account = spec.get('account')
        if self.account is not None and not isinstance(self.account, str):
            raise BadRequest('account must be null or a string')
        self.rate = _number(spec, 'rate', None, 0.01, MAX_RATE)
        self.window = _number(spec, 'window', 1.0, 0.01, 3600)
        retry_after = spec.get('retry_after')
        if retry_after is not None and not isinstance(retry_after, (str, int)):
            raise BadRequest('retry_after must be null, seconds or an HTTP date')
        self.retry_after = None if retry_after is None else str(retry_after)
        self.allowed = max(1, int(self.rate * self.window))
        self.admitted = {}      # account -> deque of the times of the requests let through
        self.limited = 0

    def applies(self, vendor, account):
        return (self.vendors is None or vendor in self.vendors) and (self.account is None or self.account == account)

    def admit(self, account, now):
        """None when the request may pass, else the Retry-After to answer with."""
        log = self.admitted.get(account)
        if log is None:
            log = self.admitted[account] = collections.deque()
        while log and log[0] <= now - self.window:
            log.popleft()
        if len(log) < self.allowed:
            log.append(now)
            return None
        self.limited += 1
        if self.retry_after is not None:
            return self.retry_after
        return str(max(1, math.ceil(log[0] + self.window - now)))

    def describe(self):
        return {'id': self.id, 'vendor': sorted(self.vendors) if self.vendors else None, 'account': self.account,
                'rate': self.rate, 'window': self.window, 'retry_after': self.retry_after, 'limited': self.limited}


def peak(times, window):
    """The most arrivals in any half-open window of ``window`` seconds, and where that window starts."""
    best, start, low = 0, None, 0
    for high, moment in enumerate(times):
        while times[low] <= moment - window:
            low += 1
        if high - low + 1 > best:
            best, start = high - low + 1, times[low]
    return best, start


class Traffic:
    """When the requests of each (vendor, account) arrived, and whether a rate limit refused them."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.log = {}

    def reset(self):
        self.log = {}

    def record(self, vendor, account, limited):
        entries = self.log.get((vendor, account))
        if entries is None:
            entries = self.log[(vendor, account)] = collections.deque(maxlen=LOG_LIMIT)
        entries.append((self.clock(), limited))

    def view(self, window=1.0, timestamps=False, vendor=None, account=None):
        rows = []
        for (row_vendor, row_account), entries in sorted(self.log.items()):
            if (vendor is None or vendor == row_vendor) and (account is None or account == row_account):
                rows.append(self.account_view(row_vendor, row_account, list(entries), window, timestamps))
        return {'window': window, 'accounts': rows}

    @staticmethod
    def account_view(vendor, account, entries, window, timestamps):
        times = sorted(moment for moment, dummy in entries)
        best, start = peak(times, window)
        seconds = {}
        for moment, limited in entries:
            bucket = seconds.setdefault(int(moment), [0, 0])
            bucket[0] += 1
            bucket[1] += int(limited)
        row = {'vendor': vendor, 'account': account, 'requests': len(entries), 'limited': sum(int(lim) for dummy, lim in entries),
               'first': times[0], 'last': times[-1], 'peak': {'requests': best, 'start': start, 'window': window},
               'per_second': [{'second': second, 'requests': count, 'limited': limited}
                              for second, (count, limited) in sorted(seconds.items())]}
        if timestamps:
            row['timestamps'] = [[moment, limited] for moment, limited in entries]
        return row


class RateLimits:
    """The rate limit rules, the arrivals they are judged on, and the cache of which credential is which account."""

    def __init__(self, vendors, clock=time.monotonic, wall_clock=time.time):
        self.vendors = tuple(vendors)
        self.clock = clock
        self.rules = []
        self.next_id = 1
        self.traffic = Traffic(wall_clock)
        self.accounts = {}

    def add(self, spec):
        if not isinstance(spec, dict):
            raise BadRequest('a rate limit is a JSON object')
        rule = RateLimit(self.next_id, spec, self.vendors)
        self.next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self):
        self.rules = []

    def account(self, authorization):
        found = self.accounts.get(authorization)
        if found is None:
            if len(self.accounts) >= CACHE_LIMIT:
                self.accounts.clear()
            found = self.accounts[authorization] = account_of(authorization.decode('latin-1') if authorization else None)
        return found

    def arrive(self, vendor, authorization):
        """Record a request to ``vendor``; None when it may pass, else the Retry-After of its 429."""
        account = self.account(authorization)
        refused = None
        if self.rules:
            now = self.clock()
            for rule in self.rules:
                if rule.applies(vendor, account):
                    refused = rule.admit(account, now)
                    if refused is not None:
                        break
        self.traffic.record(vendor, account, refused is not None)
        return refused
