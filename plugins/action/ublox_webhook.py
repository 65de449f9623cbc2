# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for ublox_webhook: runs the module and shows its progress while it works a long batch."""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.plugin_utils._progress_action import ProgressAction


class ActionModule(ProgressAction):
    """Runs the ublox_webhook module with a progress line every IOTOPS_PROGRESS_INTERVAL seconds."""
