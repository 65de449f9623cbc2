"""Per-account rate limits (429 + Retry-After), the traffic record of each account, and 429 storms (a fault with a duration)."""

import pytest

from iotops_mock import credentials
from iotops_mock.client import MockServerError
from iotops_mock.faults import FaultBook
from iotops_mock.ratelimit import RateLimit, RateLimits, account_of, peak

from .helpers import iotcomms_token, nao_session, nrf_key, ublox_login

ACCOUNT = '/nrfcloud/v1/account'
VENDORS = ('nrfcloud', 'nrfcloud-provisioning', 'ublox', 'iotcomms', 'naocloud')


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def add_limit(mock, **rule):
    return mock.admin.call('POST', '/ratelimits', rule)


def traffic(mock, **query):
    text = '&'.join('%s=%s' % item for item in query.items())
    return mock.admin.call('GET', '/traffic' + ('?' + text if text else ''))['accounts']


def only(rows, vendor, account):
    (row,) = [row for row in rows if row['vendor'] == vendor and row['account'] == account]
    return row


def test_account_of_each_credential(mock, http):
    assert account_of('Bearer ' + credentials.NRFCLOUD_TEAM_A_API_KEY) == 'team-a'
    assert account_of('Bearer ' + credentials.NRFCLOUD_TEAM_B_API_KEY) == 'team-b'
    assert account_of(ublox_login(http, mock)['AuthToken']) == credentials.UBLOX_API_KEY
    assert account_of('Bearer ' + iotcomms_token()) == credentials.IOTCOMMS_DOMAIN
    nao = 'user-' + credentials.NAOCLOUD_USER_ID
    assert account_of(credentials.NAOCLOUD_API_KEY) == nao
    assert account_of('Bearer ' + credentials.NAOCLOUD_ACCESS_TOKEN) == nao
    assert account_of(nao_session(http, mock)['meta']['jwt']) == nao
    assert account_of(None) == account_of('') == '-'
    unknown = account_of('Bearer not-a-known-key')
    assert unknown.startswith('key-') and 'known' not in unknown  # named by a digest, never echoed


def test_sliding_window_admits_rate_times_window_then_retry_after():
    rule = RateLimit(1, {'rate': 2}, VENDORS)
    assert [rule.admit('team-a', t) for t in (10.0, 10.2)] == [None, None]
    assert rule.admit('team-a', 10.4) == '1'         # the window frees up at 11.0
    assert rule.admit('team-b', 10.4) is None        # another account has its own budget
    assert rule.admit('team-a', 11.01) is None       # 10.0 has left the window
    assert rule.admit('team-a', 11.1) == '1' and rule.limited == 2
    slow = RateLimit(2, {'rate': 0.5, 'window': 10, 'retry_after': 'Wed, 21 Oct 2026 07:28:00 GMT'}, VENDORS)
    assert [slow.admit('a', t) is None for t in (0, 1, 2, 3, 4, 5)] == [True] * 5 + [False]
    assert slow.admit('a', 6) == 'Wed, 21 Oct 2026 07:28:00 GMT'


def test_retry_after_counts_up_to_when_a_slot_is_free():
    rule = RateLimit(1, {'rate': 1, 'window': 5}, VENDORS)
    for moment in (0.0, 1.0, 2.0, 3.0, 4.0):
        assert rule.admit('a', moment) is None
    assert rule.admit('a', 4.2) == '1'   # 0.0 leaves at 5.0
    assert RateLimit(2, {'rate': 0.2, 'window': 5}, VENDORS).admit('a', 0) is None
    later = RateLimit(3, {'rate': 0.2, 'window': 5}, VENDORS)
    later.admit('a', 0.0)
    assert later.admit('a', 0.5) == '5'  # ceil(4.5)


def test_rules_pick_vendors_and_accounts():
    clock = FakeClock()
    limits = RateLimits(VENDORS, clock=clock, wall_clock=clock)
    limits.add({'vendor': ['nrfcloud', 'nrfcloud-provisioning'], 'account': 'team-b', 'rate': 1})
    team_a = b'Bearer ' + credentials.NRFCLOUD_TEAM_A_API_KEY.encode()
    team_b = b'Bearer ' + credentials.NRFCLOUD_TEAM_B_API_KEY.encode()
    assert [limits.arrive('nrfcloud', team_a) for dummy in range(3)] == [None, None, None]
    # the two nRF Cloud hosts share team b's budget
    assert limits.arrive('nrfcloud', team_b) is None and limits.arrive('nrfcloud-provisioning', team_b) == '1'
    assert limits.arrive('naocloud', team_b) is None
    view = limits.traffic.view()
    assert [(row['vendor'], row['account'], row['requests'], row['limited']) for row in view['accounts']] == [
        ('naocloud', 'team-b', 1, 0), ('nrfcloud', 'team-a', 3, 0), ('nrfcloud', 'team-b', 1, 0),
        ('nrfcloud-provisioning', 'team-b', 1, 1)]


def test_peak_over_any_window():
    assert peak([], 1.0) == (0, None)
    assert peak([0.0, 0.5, 0.99, 1.0, 1.5, 1.6, 1.7], 1.0) == (5, 0.99)   # (0.7, 1.7] holds 0.99 ... 1.7
    assert peak([0.0, 1.0, 2.0], 1.0) == (1, 0.0)                         # half-open: 0.0 is not in (0.0, 1.0]


def test_limit_answers_429_in_the_vendor_shape_and_counts_it(mock, http):
    created = add_limit(mock, vendor='nrfcloud', rate=3)
    expected = {'id': created['id'], 'vendor': ['nrfcloud'], 'account': None, 'rate': 3.0, 'window': 1.0, 'retry_after': None,
                'limited': 0}
    assert created['ratelimit'] == expected
    statuses = [http.get(mock.url + ACCOUNT, headers=nrf_key('a')) for dummy in range(4)]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    refused = statuses[3]
    if refused.status_code == 200:  # the first request was a second ago (a very slow machine): nothing to judge
        pytest.skip('four requests took longer than the 1 s window')
    assert refused.status_code == 429 and refused.headers['Retry-After'] == '1'
    assert refused.json() == {'code': 42900, 'message': 'Too Many Requests'}
    assert http.get(mock.url + ACCOUNT, headers=nrf_key('b')).status_code == 200   # team b is another account
    assert mock.admin.counters()['statuses']['nrfcloud GET /v1/account']['429'] == 1
    assert mock.admin.call('GET', '/ratelimits')['ratelimits'][0]['limited'] == 1
    rows = traffic(mock)
    assert (only(rows, 'nrfcloud', 'team-a')['requests'], only(rows, 'nrfcloud', 'team-a')['limited']) == (4, 1)
    assert only(rows, 'nrfcloud', 'team-b')['requests'] == 1
    mock.admin.call('DELETE', '/ratelimits')
    assert mock.admin.call('GET', '/ratelimits')['ratelimits'] == []
    assert http.get(mock.url + ACCOUNT, headers=nrf_key('a')).status_code == 200


def test_traffic_peak_histogram_timestamps_and_resets(mock, http):
    for dummy in range(5):
        assert http.get(mock.url + ACCOUNT, headers=nrf_key('a')).status_code == 200
    (row,) = traffic(mock, vendor='nrfcloud', timestamps='true')
    assert row['account'] == 'team-a' and row['requests'] == 5 and row['limited'] == 0
    assert 1 <= row['peak']['requests'] <= 5 and row['peak']['window'] == 1.0
    assert sum(second['requests'] for second in row['per_second']) == 5
    assert len(row['timestamps']) == 5 and row['first'] <= row['last']
    assert traffic(mock, vendor='nrfcloud', account='team-b') == []
    assert 'timestamps' not in traffic(mock, window='0.5')[0]
    mock.admin.reset_counters()
    assert traffic(mock) == []
    http.get(mock.url + '/_mock/health')
    assert traffic(mock) == []          # the admin API is never recorded
    add_limit(mock, rate=1)
    mock.admin.reset()
    assert mock.admin.call('GET', '/ratelimits')['ratelimits'] == []


def test_bad_rate_limits_and_traffic_queries(mock):
    for rule in ({'rate': 0}, {}, {'rate': 'fast'}, {'rate': 1, 'vendor': 'azure'}, {'rate': 1, 'vendor': []},
                 {'rate': 1, 'burst': 2}, {'rate': 1, 'window': 0}, {'rate': 1, 'account': 7}, {'rate': 1, 'retry_after': 1.5}):
        with pytest.raises(MockServerError) as err:
            add_limit(mock, **rule)
        assert '-> 400' in str(err.value)
    for query in ('window=0', 'window=abc', 'window=nan'):
        with pytest.raises(MockServerError):
            mock.admin.call('GET', '/traffic?' + query)


def test_storm_fires_for_its_duration_then_never_again():
    clock = FakeClock()
    book = FaultBook(VENDORS, clock=clock)
    book.add({'vendor': 'ublox', 'status': 429, 'retry_after': '1', 'count': None, 'skip': 1, 'duration': 3})
    assert book.match('ublox', 'POST', '/v1/tag/get') is None           # skipped
    clock.now += 10                                                       # the storm starts at its first firing
    fired = [book.match('ublox', 'POST', '/v1/tag/get') is not None for dummy in range(5)]
    clock.now += 2.9
    fired.append(book.match('ublox', 'POST', '/v1/tag/get') is not None)
    clock.now += 0.1
    fired.append(book.match('ublox', 'POST', '/v1/tag/get') is not None)
    assert fired == [True] * 6 + [False]
    (rule,) = book.rules
    assert rule.fired == 6 and rule.describe()['duration'] == 3 and rule.describe()['fired_at'] <= rule.describe()['last_fired_at']
    capped = FaultBook(VENDORS, clock=clock)
    capped.add({'status': 429, 'count': 2, 'duration': 60})
    assert [capped.match('iotcomms', 'GET', '/x') is not None for dummy in range(3)] == [True, True, False]


def test_storm_over_http(mock, http):
    mock.admin.add_fault(vendor='nrfcloud', path='^/v1/account$', status=429, retry_after='1', count=None, duration=0.3)
    assert http.get(mock.url + ACCOUNT, headers=nrf_key()).status_code == 429
    statuses = set()
    for dummy in range(10000):  # bounded: the storm ends 0.3 s after its first 429
        status = http.get(mock.url + ACCOUNT, headers=nrf_key()).status_code
        statuses.add(status)
        if status == 200:
            break
    assert statuses <= {200, 429} and 200 in statuses
    (rule,) = mock.admin.faults()
    assert rule['duration'] == 0.3 and rule['fired'] >= 1 and rule['fired_at'] is not None
    with pytest.raises(MockServerError):
        mock.admin.add_fault(status=429, duration=0)
