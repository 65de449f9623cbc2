# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every request names the module that sent it (vendor request logs; the mock's record behind docs/api-coverage.md)."""

from __future__ import annotations

import types

from ansible_collections.iotops.provisioning.plugins.module_utils._module import user_agent
from ansible_collections.iotops.provisioning.plugins.modules import ublox_tag


def test_the_task_action_names_the_module_in_the_user_agent():
    assert user_agent(types.SimpleNamespace(_name='iotops.provisioning.ublox_tag')) == 'iotops.provisioning (ublox_tag)'
    assert user_agent(types.SimpleNamespace(_name='ublox_tag')) == 'iotops.provisioning (ublox_tag)'
    # AnsibleModule's placeholder before it has read its name, and no name at all
    assert user_agent(types.SimpleNamespace(_name='basic.py')) == 'iotops.provisioning'
    assert user_agent(types.SimpleNamespace()) == 'iotops.provisioning'


def test_a_module_run_is_recorded_by_the_mock_under_its_name(mock, creds, run):
    run(ublox_tag, dict(tags=[dict(name='ua-check')], api_url=mock.url + '/ublox/v1', api_key=creds.UBLOX_API_KEY,
                        api_secret=creds.UBLOX_API_SECRET))
    callers = mock.admin.counters()['callers']
    assert callers['ublox POST /v1/tag/create'].get('ublox_tag', 0) >= 1
    assert 'ublox_tag' in callers['ublox POST /v1/authenticate']
