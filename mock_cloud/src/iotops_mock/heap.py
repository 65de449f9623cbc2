"""Keep the garbage collector's long pauses out of the vendor traffic of a served mock.

A full (oldest-generation) collection walks every object the process keeps: at a batch of 1,000 devices, up to 32 ms
with the event loop stopped. The requests that arrive meanwhile are read together when it resumes, so the rate limits
(``ratelimit.py``) count them in the same instant: a client that spaced them evenly at 97 % of the budget met a 429 a
second later, which it did not cause and a cloud would not send (measured: a 31.6 ms collection and a 52.7 ms stall,
then 51 arrivals in the 1 s window that ended at the 429).

So the objects the test harness makes (the server itself, the seeded devices) are frozen (``gc.freeze``) after each
``POST /_mock/...``: the collector no longer walks them during traffic. ``POST /_mock/reset`` first collects what the
last run left (the only full collection, in the harness's time, not the traffic's) and freezes again. A frozen object
is still freed when nothing refers to it; only a frozen reference cycle waits for the next reset.

Only the served process (``iotops-mock serve``) does this: an in-process app (the unit tests') leaves its host's
collector alone.
"""

import gc

RESET_PATH = '/_mock/reset'


def settle(collect=False):
    """Freeze every object alive now; with ``collect``, free the garbage first (unfrozen, so that it can be found)."""
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


class FreezeAfterAdmin:
    """ASGI wrapper: after each admin POST has been answered, ``settle`` (collecting first on a reset)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)
        if scope['type'] == 'http' and scope['method'] == 'POST' and scope['path'].startswith('/_mock/'):
            settle(collect=scope['path'] == RESET_PATH)
