"""The /_mock admin API: health, credentials, reset, state dump, counters, faults, rate limits and traffic, token expiry, clock,
seeding, device timing and vendor extras."""

import inspect

from starlette.routing import Mount, Route

from . import credentials
from .common import BadRequest, json_response, read_json_object
from .online import CLOUDS, OnlineRequest


class Admin:
    """Handlers of /_mock/...; no auth, never counted, never faulted."""

    def __init__(self, state, counters, faults, vendors_by_prefix):
        self.state = state
        self.counters = counters
        self.faults = faults
        self.vendors = vendors_by_prefix

    def routes(self):
        return [
            Route('/health', self.health, methods=['GET']),
            Route('/credentials', self.get_credentials, methods=['GET']),
            Route('/reset', self.reset, methods=['POST']),
            Route('/state', self.dump_state, methods=['GET']),
            Route('/counters', self.get_counters, methods=['GET']),
            Route('/counters/reset', self.reset_counters, methods=['POST']),
            Route('/routes', self.list_routes, methods=['GET']),
            Route('/faults', self.list_faults, methods=['GET']),
            Route('/faults', self.add_fault, methods=['POST']),
            Route('/faults', self.clear_faults, methods=['DELETE']),
            Route('/ratelimits', self.list_ratelimits, methods=['GET']),
            Route('/ratelimits', self.add_ratelimit, methods=['POST']),
            Route('/ratelimits', self.clear_ratelimits, methods=['DELETE']),
            Route('/traffic', self.get_traffic, methods=['GET']),
            Route('/tokens/expire', self.expire_tokens, methods=['POST']),
            Route('/clock', self.get_clock, methods=['GET']),
            Route('/clock', self.move_clock, methods=['POST']),
            Route('/seed/{vendor}/{kind}', self.seed, methods=['POST']),
            Route('/online', self.get_online, methods=['GET']),
            Route('/online', self.set_online, methods=['POST']),
        ] + self.vendor_routes()

    def vendor_routes(self):
        """Admin routes a vendor adds itself (``admin_routes() -> {name: [Route]}``), mounted at /_mock/<name>."""
        mounts, seen = [], set()
        for vendor in self.vendors.values():
            if id(vendor) in seen or not hasattr(vendor, 'admin_routes'):
                continue
            seen.add(id(vendor))
            mounts.extend(Mount('/' + name, routes=routes) for name, routes in vendor.admin_routes().items())
        return mounts

    async def catch_up(self):
        """Let every vendor bring its devices up to the mock clock: nRF Cloud devices that came online connect and run
        their commands, u-blox devices bootstrap (and their webhook events are delivered before this returns)."""
        for vendor in self.state.vendors:
            await vendor.catch_up()

    def clock_view(self):
        return {'now': self.state.clock.now(), 'offset': self.state.clock.offset}

    async def health(self, request):
        return json_response({'ok': True})

    async def get_credentials(self, request):
        """The made-up test credentials the mock accepts (the same JSON as ``iotops-mock credentials``)."""
        return json_response(credentials.as_dict())

    async def reset(self, request):
        self.state.reset()
        self.counters.reset()
        self.faults.clear()
        self.faults.limits.clear()
        self.faults.limits.traffic.reset()
        return json_response({'reset': True})

    async def dump_state(self, request):
        await self.catch_up()
        return json_response(self.state.dump())

    async def get_counters(self, request):
        return json_response(self.counters.snapshot())

    async def list_routes(self, request):
        """Every vendor endpoint the mock serves, keyed as the counters key them ('<vendor> <METHOD> <template>')."""
        routes = []
        for prefix, vendor in sorted(self.vendors.items()):
            for route in vendor.mounts[prefix]:
                for method in sorted(route.methods - {'HEAD'}):
                    routes.append({'key': '%s %s %s' % (prefix, method, route.path), 'category': vendor.category(method, route.path)})
        return json_response({'routes': routes})

    async def reset_counters(self, request):
        self.counters.reset()
        self.faults.limits.traffic.reset()
        return json_response({'reset': True})

    async def list_faults(self, request):
        return json_response({'faults': [rule.describe() for rule in self.faults.rules]})

    async def add_fault(self, request):
        rule = self.faults.add(await read_json_object(request))
        return json_response({'id': rule.id, 'fault': rule.describe()}, status=201)

    async def clear_faults(self, request):
        self.faults.clear()
        return json_response({'cleared': True})

    async def list_ratelimits(self, request):
        return json_response({'ratelimits': [rule.describe() for rule in self.faults.limits.rules]})

    async def add_ratelimit(self, request):
        rule = self.faults.limits.add(await read_json_object(request))
        return json_response({'id': rule.id, 'ratelimit': rule.describe()}, status=201)

    async def clear_ratelimits(self, request):
        self.faults.limits.clear()
        return json_response({'cleared': True})

    async def get_traffic(self, request):
        """When each account's requests arrived: ``?window=`` seconds of the peak (default 1), ``?timestamps=true`` for every
        arrival, ``?vendor=`` and ``?account=`` to pick."""
        query = request.query_params
        try:
            window = float(query.get('window', '1'))
        except ValueError:
            raise BadRequest('window must be a number of seconds') from None
        if not 0 < window <= 3600:
            raise BadRequest('window must be from 0 to 3600 seconds')
        view = self.faults.limits.traffic.view(window, timestamps=query.get('timestamps') in ('1', 'true'),
                                               vendor=query.get('vendor'), account=query.get('account'))
        return json_response(view)

    async def expire_tokens(self, request):
        data = await read_json_object(request)
        refresh = data.get('refresh_tokens', True)
        if not isinstance(refresh, bool):
            raise BadRequest('refresh_tokens must be a boolean')
        self.state.tokens.expire_all(refresh_tokens=refresh)
        return json_response({'expired': True, 'refresh_tokens': refresh})

    async def get_clock(self, request):
        return json_response(self.clock_view())

    async def move_clock(self, request):
        seconds = (await read_json_object(request)).get('advance')
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise BadRequest('advance must be a non-negative number of seconds')
        self.state.clock.advance(seconds)
        await self.catch_up()
        return json_response(self.clock_view())

    async def seed(self, request):
        prefix = request.path_params['vendor']
        vendor = self.vendors.get(prefix)
        if vendor is None:
            raise BadRequest('unknown vendor %r, expected one of %s' % (prefix, ', '.join(self.vendors)))
        await self.catch_up()
        result = vendor.seed(prefix, request.path_params['kind'], await read_json_object(request))
        if inspect.isawaitable(result):
            # a seed that talks to the network (u-blox webhook deliveries) runs off the event loop and is awaited
            result = await result
        return json_response(result, status=201)

    async def get_online(self, request):
        await self.catch_up()
        return json_response(self.state.online.view(self.state.clock.now()))

    async def set_online(self, request):
        """Give a batch of physical devices their online times (see online.py); all or nothing."""
        plan = OnlineRequest(await read_json_object(request))
        # what was due under the old times happens first
        await self.catch_up()
        problems = [problem for cloud in CLOUDS for problem in self.vendors[cloud].online_problems(plan.ids(cloud), plan.rebootstrap)]
        if problems:
            raise BadRequest('; '.join(problems))
        now = self.state.clock.now()
        rows, waves = plan.assign(now)
        # the schedule hands the times to the vendors and starts the countdowns whose event (since) has already happened
        self.state.online.record(rows, now)
        # devices due now (after 0, or an event already that long ago) come online in this call
        await self.catch_up()
        return json_response({'now': now, 'devices': rows, 'waves': waves, 'never': plan.never})
