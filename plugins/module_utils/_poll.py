# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one polling loop of the collection: bulk jobs, device statuses and commands the cloud works through.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

import time


def poll_until(done, timeout, interval, first=None, sleep=time.sleep, clock=time.monotonic):
    """Call ``done()`` until it returns true or ``timeout`` seconds would pass before the next call; returns its last answer.

    The wait between calls starts at ``first`` (default ``interval``) and doubles up to ``interval``: a job that is over
    in a moment is not held up by a long interval, and a long one is not read more often than every ``interval``."""
    deadline = clock() + timeout
    delay = interval if first is None else min(first, interval)
    while True:
        answer = done()
        if answer or clock() + delay > deadline:
            return answer
        sleep(delay)
        delay = min(delay * 2, interval)
