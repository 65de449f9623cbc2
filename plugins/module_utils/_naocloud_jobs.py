# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAO Cloud background jobs: a long request answers ``303 See Other`` to ``/background_jobs/{id}``.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The job (type ``job_watcher``) is polled until ``has_finished`` is true; its ``status`` is
``success``, ``failure`` or ``In progress`` (that casing, api §C.5), and on failure ``message``
holds the reason. The NAO Cloud client does not let ``requests`` follow redirects, so the caller
gets the 303 itself; only the job id is taken from its ``Location`` and the job is read from the
configured API URL, so credentials never go to a host named by a response. An answer that
already is the job (a redirect followed elsewhere) and a 202 with a job in the body are understood too.
"""

from __future__ import annotations

import re
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until

STATUS_SUCCESS = 'success'
STATUS_FAILURE = 'failure'
STATUS_IN_PROGRESS = 'In progress'
JOB_TYPE = 'job_watcher'
_JOB_PATH_RE = re.compile(r'/background_jobs/([^/?#]+)')


class JobFailedError(IotopsError):
    """A background job finished with status ``failure``."""


class JobTimeoutError(IotopsError):
    """A background job did not finish within the time the task allows."""


def _job_item(body):
    data = body.get('data') if isinstance(body, dict) else None
    if isinstance(data, dict) and data.get('type') == JOB_TYPE:
        return data
    return None


def job_of(response):
    """(job id, job item or None) of an answer that started a background job; (None, None) if it did not start one."""
    item = _job_item(response.body)
    if item is not None:
        return str(item.get('id') or (item.get('attributes') or {}).get('id')), item
    location = (response.headers or {}).get('Location')
    match = _JOB_PATH_RE.search(location or '')
    if response.status in (202, 303) and match:
        return match.group(1), None
    return None, None


def job_attributes(item):
    return dict((item or {}).get('attributes') or {})


def wait_for_job(client, response, what, timeout=300.0, interval=1.0, sleep=time.sleep, clock=time.monotonic):
    """Wait for the job ``response`` started and return its attributes once it succeeded.

    ``client`` is the NaoCloudClient, ``what`` names the request in messages ("PUT /sites/101/nao_trackables/batch").
    Raises JobFailedError with the job's ``message`` when it failed, JobTimeoutError after ``timeout`` seconds.
    An answer that started no job (a synchronous 200/201) is returned as None.
    """
    job_id, item = job_of(response)
    if job_id is None:
        return None
    current = {'item': item}

    def finished():
        if current['item'] is None:
            current['item'] = _job_item(client.request('GET', '/background_jobs/%s' % job_id).body)
            if current['item'] is None:
                raise IotopsError('naocloud GET /background_jobs/%s: the answer holds no job_watcher' % job_id)
        current['attributes'] = job_attributes(current['item'])
        current['item'] = None  # the next round reads the job again
        return current['attributes'].get('has_finished')

    done = poll_until(finished, timeout, interval, sleep=sleep, clock=clock)
    attributes = current['attributes']
    status = attributes.get('status')
    if not done:
        raise JobTimeoutError('naocloud %s: background job %s is still %r after %s seconds (job_timeout); it goes on in '
                              'NAO Cloud. Re-run the task later: it reads the current state first'
                              % (what, job_id, status, timeout), job=attributes)
    if status == STATUS_SUCCESS:
        return attributes
    reason = attributes.get('message') or 'no message'
    if status == STATUS_FAILURE:
        raise JobFailedError('naocloud %s: background job %s failed: %s' % (what, job_id, reason), job=attributes)
    raise JobFailedError('naocloud %s: background job %s finished with the unknown status %r: %s'
                         % (what, job_id, status, reason), job=attributes)
