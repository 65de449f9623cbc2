"""Fixtures: one mock server per test session, reset before every test."""

import pytest
import requests

from mock_server.client import MockServer


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
