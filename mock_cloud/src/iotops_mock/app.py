"""Build the mock's ASGI app: one Starlette app with a mount per vendor prefix, wrapped by the fault layer."""

import email.utils

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from .admin import Admin
from .common import ApiError, BadRequest, json_response
from .counters import Counters
from .faults import FaultBook, FaultMiddleware, RouteTable
from .state import MockState
from .vendors import VENDOR_CLASSES


def build_app(quiet=True):
    """Return the outermost ASGI callable; ``.state``, ``.counters`` and ``.faults`` hang off it."""
    state = MockState()
    vendors = [vendor_class(state) for vendor_class in VENDOR_CLASSES]
    for vendor in vendors:
        state.register(vendor)
    by_prefix = {prefix: vendor for vendor in vendors for prefix in vendor.mounts}
    counters = Counters(by_prefix)
    faults = FaultBook(by_prefix)
    admin = Admin(state, counters, faults, by_prefix)

    def vendor_of(request):
        path = request.url.path
        end = path.find('/', 1)
        return path[1:end] if end > 0 else path[1:]

    async def http_error(request, exc):
        prefix = vendor_of(request)
        vendor = by_prefix.get(prefix)
        if vendor is None:
            return json_response({'error': exc.detail}, exc.status_code, headers=exc.headers)
        response = vendor.error_response(exc.status_code, exc.detail, prefix)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def api_error(request, exc):
        return exc.response

    async def bad_request(request, exc):
        return json_response({'error': str(exc)}, 400)

    routes = [Mount('/' + prefix, routes=vendor.mounts[prefix]) for prefix, vendor in by_prefix.items()]
    routes.append(Mount('/_mock', routes=admin.routes()))
    inner = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, ApiError: api_error, BadRequest: bad_request})
    tables = {prefix: RouteTable(prefix, vendor, vendor.mounts[prefix]) for prefix, vendor in by_prefix.items()}
    # MockDate inside the fault layer: a dropped connection needs uvicorn's own send (faults.py)
    app = FaultMiddleware(MockDate(inner, state.clock), tables, counters, faults, log_requests=not quiet)
    app.state = state
    app.counters = counters
    app.faults = faults
    return app


class MockDate:
    """Answers carry the mock's clock in ``Date``, as a cloud's answers carry its own: a test that moves the clock
    forward days (``POST /_mock/clock``) moves the time the modules judge expiry by (the server is started with
    uvicorn's own Date header off)."""

    def __init__(self, app, clock):
        self.app = app
        self.clock = clock

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def dated_send(message):
            if message['type'] == 'http.response.start':
                date = email.utils.formatdate(self.clock.now(), usegmt=True).encode('ascii')
                headers = [(k, v) for k, v in message.get('headers', []) if k.lower() != b'date']
                message = dict(message, headers=headers + [(b'date', date)])
            await send(message)

        await self.app(scope, receive, dated_send)
