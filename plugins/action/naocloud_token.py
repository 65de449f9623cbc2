# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for naocloud_token: its result holds a token, so the output is censored like no_log."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.plugin_utils._no_log_result import NoLogResultAction


class ActionModule(NoLogResultAction):
    """Runs the naocloud_token module and hides its result from callbacks."""
