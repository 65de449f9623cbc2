"""The served mock's collector (heap.py): what the harness made is frozen after an admin POST; a reset frees the last run's
garbage first; vendor traffic leaves the collector alone."""

import asyncio
import gc
import weakref

import pytest

from iotops_mock.heap import FreezeAfterAdmin


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self):
        self.me = self


@pytest.fixture
def collector():
    """The test process's collector as it was, after the test (the wrapper freezes everything alive in this process)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


async def answered(scope, receive, send):
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    await send({'type': 'http.response.body', 'body': b'{}'})


def call(path, method='POST'):
    sent = []

    async def receive():
        return {'type': 'http.request', 'body': b'', 'more_body': False}

    async def send(message):
        sent.append(message)

    asyncio.run(FreezeAfterAdmin(answered)({'type': 'http', 'method': method, 'path': path}, receive, send))
    assert sent[0]['status'] == 200  # the answer went out before the collector was touched


def test_admin_post_freezes_what_is_alive(collector):
    assert gc.get_freeze_count() == 0
    call('/_mock/seed/nrfcloud/devices')
    assert gc.get_freeze_count() > 0


@pytest.mark.parametrize('path, method', [('/nrfcloud/v1/devices', 'POST'), ('/_mock/state', 'GET'), ('/_mock/traffic', 'GET')])
def test_traffic_and_reads_leave_the_collector_alone(collector, path, method):
    call(path, method)
    assert gc.get_freeze_count() == 0


def test_reset_frees_the_frozen_garbage_of_the_last_run(collector):
    node = Node()
    gone = weakref.ref(node)
    call('/_mock/seed/ublox/devices')   # the cycle is alive, and frozen with the rest
    del node
    gc.collect()
    assert gone() is not None           # frozen: a full pass does not walk it
    call('/_mock/reset')
    assert gone() is None               # the reset unfroze and collected it
    assert gc.get_freeze_count() > 0    # and froze what is alive again
