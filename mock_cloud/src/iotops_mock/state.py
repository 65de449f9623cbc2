"""In-memory state of the mock: mock clock, token revocation ledger, device online schedule and the vendor stores."""

import time

from .online import OnlineSchedule


class Clock:
    """Wall clock plus an offset that tests move forward (POST /_mock/clock)."""

    __slots__ = ('offset',)

    def __init__(self):
        self.offset = 0.0

    def now(self):
        return time.time() + self.offset

    def advance(self, seconds):
        self.offset += seconds

    def reset(self):
        self.offset = 0.0


class TokenLedger:
    """Serial numbers of server-issued tokens.

    POST /_mock/tokens/expire revokes every serial issued so far; serials (not times) avoid
    ambiguity for tokens issued in the same clock tick as the revocation.
    """

    def __init__(self):
        self.serial = 0
        self.revoked_upto = 0
        self.refresh_revoked_upto = 0

    def reset(self):
        self.serial = self.revoked_upto = self.refresh_revoked_upto = 0

    def issue(self):
        self.serial += 1
        return self.serial

    def expire_all(self, refresh_tokens=True):
        self.revoked_upto = self.serial
        if refresh_tokens:
            self.refresh_revoked_upto = self.serial

    def alive(self, serial, refresh=False):
        return serial > (self.refresh_revoked_upto if refresh else self.revoked_upto)


class MockState:
    """Everything a reset puts back: clock, token ledger, online schedule and each vendor's store."""

    def __init__(self):
        self.clock = Clock()
        self.tokens = TokenLedger()
        self.vendors = []
        self.online = OnlineSchedule(self.vendors)
        self.tls_ca = None     # the private CA of the HTTPS listener (set by cli.serve); not reset

    def register(self, vendor):
        self.vendors.append(vendor)

    def reset(self):
        self.clock.reset()
        self.tokens.reset()
        self.online.reset()
        for vendor in self.vendors:
            vendor.reset()

    def dump(self):
        result = {'clock': {'now': self.clock.now(), 'offset': self.clock.offset}}
        for vendor in self.vendors:
            result[vendor.name] = vendor.dump()
        return result
