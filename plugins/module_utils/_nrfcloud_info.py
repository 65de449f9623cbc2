# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one read shape of the nRF Cloud info modules: list the team's devices once, select, add details, report
``devices`` and the ``missing`` ids.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible_collections.iotops.provisioning.plugins.module_utils._resource import InfoModule
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import nrfcloud_client


def select(devices, device_ids=None, tags=None, status=None):
    """The devices with one of ``device_ids`` (when given), all of ``tags`` and the ``status`` (when given)."""
    wanted = set(device_ids or [])
    if wanted:
        devices = [d for d in devices if d.get('id') in wanted]
    if status:
        devices = [d for d in devices if d.get('status') == status]
    if tags:
        devices = [d for d in devices if set(tags) <= set(d.get('tags') or [])]
    return devices


def missing(device_ids, devices):
    """The ids asked for that are not among ``devices``, sorted."""
    return sorted(set(device_ids or []) - set(d.get('id') for d in devices))


class NrfCloudInfo(InfoModule):
    """``list_devices`` (every device, read once), ``select`` by the options, ``details`` for the selected."""

    def connect(self):
        return nrfcloud_client(self.module, concurrency=self.params.get('concurrency') or 1)

    def list_devices(self):
        raise NotImplementedError

    def details(self, devices):
        """The selected devices with what the module adds to them (and filters on)."""
        return devices

    def read(self):
        devices = select(self.list_devices(), self.params['device_ids'], self.params['tags'], self.params.get('status'))
        devices = self.details(devices)
        return dict(devices=devices, missing=missing(self.params['device_ids'], devices))
