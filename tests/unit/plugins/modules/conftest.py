# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def ublox_args(mock, creds):
    """``ublox_args(**options)`` -> the arguments of a u-blox module against the mock (its URL and test credentials) and ``options``."""
    def args(**options):
        return dict(dict(api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY, api_secret=creds.UBLOX_API_SECRET), **options)
    return args
