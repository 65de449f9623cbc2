# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NAO Cloud background job helper: 303/202/followed answers, has_finished, failure message, timeout."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._http import ApiResponse
from ansible_collections.iotops.provisioning.plugins.module_utils._naocloud_jobs import (
    JobFailedError,
    JobTimeoutError,
    job_of,
    wait_for_job,
)


def job(status, finished, message=None, job_id=48145):
    return {'data': {'id': str(job_id), 'type': 'job_watcher', 'attributes': {
        'id': job_id, 'name': None, 'description': None, 'status': status, 'message': message, 'has_finished': finished}}}


class FakeClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.paths = []

    def request(self, method, path, **kwargs):
        assert method == 'GET'
        self.paths.append(path)
        return ApiResponse(200, {}, self.answers.pop(0))


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


def wait(client, response, **kwargs):
    fake = FakeTime()
    result = wait_for_job(client, response, 'PUT /sites/101/nao_trackables/batch', sleep=fake.sleep, clock=fake.clock, **kwargs)
    return result, fake


def test_303_location_gives_the_job_id_and_is_polled_until_finished():
    client = FakeClient([job('In progress', False), job('In progress', False), job('success', True, 'success')])
    response = ApiResponse(303, {'Location': 'https://elsewhere.example/api/v2/background_jobs/48145'}, '<html></html>')
    result, fake = wait(client, response, interval=0.5)
    assert result['status'] == 'success'
    # only the id is taken from Location: the job is read from the configured API URL
    assert client.paths == ['/background_jobs/48145'] * 3
    assert fake.slept == [0.5, 0.5]


def test_a_followed_redirect_already_holds_the_job():
    client = FakeClient([job('success', True, 'success')])
    result, _fake = wait(client, ApiResponse(200, {}, job('In progress', False)), interval=1)
    assert result['has_finished'] and client.paths == ['/background_jobs/48145']
    client = FakeClient([])
    result, _fake = wait(client, ApiResponse(200, {}, job('success', True, 'success')))
    assert result['status'] == 'success' and client.paths == []


def test_202_with_a_job_body_and_synchronous_answers():
    assert job_of(ApiResponse(202, {}, job('In progress', False)))[0] == '48145'
    assert job_of(ApiResponse(201, {}, {'data': {'type': 'nao_trackable', 'id': '1'}})) == (None, None)
    assert job_of(ApiResponse(200, {'Location': '/api/v2/background_jobs/9'}, None)) == (None, None)
    assert wait_for_job(FakeClient([]), ApiResponse(204, {}, None), 'x') is None


def test_failure_raises_with_the_job_message():
    client = FakeClient([job('failure', True, 'Missing graph or indoor area. Please add.')])
    with pytest.raises(JobFailedError) as err:
        wait(client, ApiResponse(303, {'Location': '/api/v2/background_jobs/48145'}, ''))
    assert 'background job 48145 failed: Missing graph or indoor area. Please add.' in err.value.msg
    assert 'PUT /sites/101/nao_trackables/batch' in err.value.msg
    assert err.value.details['job']['status'] == 'failure'


def test_status_casing_is_exact():
    client = FakeClient([job('Success', True, 'done')])
    with pytest.raises(JobFailedError) as err:
        wait(client, ApiResponse(303, {'Location': '/background_jobs/1'}, ''))
    assert "unknown status 'Success'" in err.value.msg


def test_timeout():
    client = FakeClient([job('In progress', False)] * 10)
    with pytest.raises(JobTimeoutError) as err:
        wait(client, ApiResponse(303, {'Location': '/background_jobs/48145'}, ''), timeout=2, interval=1)
    assert "still 'In progress' after 2 seconds" in err.value.msg and len(client.paths) == 3  # at 0, 1 and 2 s


def test_an_answer_without_a_job():
    with pytest.raises(IotopsError):
        wait(FakeClient([{'data': {'type': 'site'}}]), ApiResponse(303, {'Location': '/background_jobs/5'}, ''))
