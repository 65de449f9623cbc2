"""Fixtures: one mock server per test session, reset before every test."""

import pytest
import requests

from iotops_mock.client import MockServer

from .helpers import ublox_login


@pytest.fixture(scope='session')
def mock(tmp_path_factory):
    with MockServer(tmp_path_factory.mktemp('mock')) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(mock):
    mock.admin.reset()
    yield


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def ublox(mock, http):
    """``ublox(path, body)``: a logged-in POST to the mock's u-blox API."""
    token = ublox_login(http, mock)['AuthToken']

    def call(path, body=None):
        return http.post(mock.url + '/ublox/v1' + path, json=body or {}, headers={'Authorization': token})
    return call
