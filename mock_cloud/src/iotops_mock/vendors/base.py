"""Base class of a vendor router: its URL prefixes, store, error body shape and seed hooks."""

from ..common import ApiError, BadRequest


class OnState:
    """Built on the mock's shared state (``MockState``): a vendor, or the core/store its parts share, reads the mock
    clock there."""

    def __init__(self, state):
        self.state = state

    @property
    def clock(self):
        return self.state.clock


class Vendor(OnState):
    """One vendor cloud.

    Subclasses set ``name`` (key in /_mock/state), fill ``mounts`` ({url prefix: [Route]}) and
    ``auth_routes`` ({(METHOD, route template)} counted as login calls), and implement ``dump`` and
    ``error_response``. A vendor is built from parts (objects it composes, each given the state it works on): a
    ``core`` (the state its parts share, made from ``core_class``) and ``parts``; ``seed_<kind>`` methods are found on
    the vendor or on one of ``parts``. A vendor whose devices come online at set times (POST /_mock/online) names the
    part that runs their timeline in ``timeline``.
    """

    name = ''
    core_class = None

    def __init__(self, state):
        super().__init__(state)
        self.core = self.core_class(state) if self.core_class is not None else None
        self.mounts = {}
        self.auth_routes = frozenset()
        self.parts = ()
        self.timeline = None

    def reset(self):
        """Put back the core and every part that keeps state of its own (has a ``reset``)."""
        for owner in (self.core, *self.parts):
            if hasattr(owner, 'reset'):
                owner.reset()

    def dump(self):
        raise NotImplementedError

    async def catch_up(self):
        """Bring the vendor's simulated devices up to the mock clock (the admin API calls it before a state dump, after
        a clock move and before seeds); a coroutine, as it may deliver webhooks. Most vendors simulate no devices."""
        if self.timeline is not None:
            await self.timeline.catch_up()

    # the device timing of POST /_mock/online: only vendors with a ``timeline`` are asked (online.CLOUDS)

    def online_problems(self, device_ids, rebootstrap):
        return self.timeline.online_problems(device_ids, rebootstrap)

    def set_online(self, times):
        self.timeline.set_online(times)

    def event_times(self, device_ids):
        return self.timeline.event_times(device_ids)

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
        if self.reads(method, template):
            return 'read'
        return 'write'

    def reads(self, method, template):
        """Whether a (non-auth) route only reads."""
        return method in ('GET', 'HEAD', 'OPTIONS')

    def query_variant(self, method, key, category, query):
        """The counter key and category of a call whose query string makes it another operation; by default the route's."""
        return key, category

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
