"""Base class of a vendor router: its URL prefixes, store, error body shape and seed hooks."""

from ..common import ApiError, BadRequest


class Vendor:
    """One vendor cloud.

    Subclasses set ``name`` (key in /_mock/state), fill ``mounts`` ({url prefix: [Route]}) and
    ``auth_routes`` ({(METHOD, route template)} counted as login calls), and implement
    ``reset``, ``dump`` and ``error_response``. A vendor is built from parts (objects it composes, each
    given the state it works on); ``seed_<kind>`` methods are found on the vendor or on one of ``parts``.
    """

    name = ''

    def __init__(self, state):
        self.state = state
        self.mounts = {}
        self.auth_routes = frozenset()
        self.parts = ()

    @property
    def clock(self):
        return self.state.clock

    def reset(self):
        raise NotImplementedError

    def dump(self):
        raise NotImplementedError

    async def catch_up(self):
        """Bring the vendor's simulated devices up to the mock clock (the admin API calls it before a state dump, after
        a clock move and before seeds); a coroutine, as it may deliver webhooks. Most vendors simulate no devices."""
        return None

    def error_response(self, status, message, prefix=None):
        """The vendor's error body for ``status``; ``prefix`` tells which host when a vendor has two."""
        raise NotImplementedError

    def fail(self, status, message, headers=None):
        """An ApiError carrying the vendor's error body."""
        response = self.error_response(status, message)
        if headers:
            response.headers.update(headers)
        return ApiError(response)

    def category(self, method, template):
        """Counter category of a route: auth (login/token), read or write."""
        if (method, template) in self.auth_routes:
            return 'auth'
        if method in ('GET', 'HEAD', 'OPTIONS'):
            return 'read'
        return 'write'

    def seed(self, prefix, kind, payload):
        """Dispatch POST /_mock/seed/<prefix>/<kind> to ``seed_<kind>`` of the vendor or of its parts."""
        name = 'seed_' + kind.replace('-', '_')
        handler = next((getattr(owner, name) for owner in (self, *self.parts) if hasattr(owner, name)), None)
        if handler is None:
            raise BadRequest('unknown seed kind %r for %s' % (kind, prefix))
        if not isinstance(payload, dict):
            raise BadRequest('seed payload must be a JSON object')
        return handler(payload)


def seed_count(payload, default=None, maximum=10000):
    """Read an optional positive ``count`` from a seed payload."""
    count = payload.get('count', default)
    if count is None:
        return None
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= maximum:
        raise BadRequest('count must be an integer from 1 to %d' % maximum)
    return count


def seed_list(payload, key):
    """Read a list of objects/strings from a seed payload."""
    items = payload.get(key)
    if not isinstance(items, list):
        raise BadRequest('%s must be a list' % key)
    return items
