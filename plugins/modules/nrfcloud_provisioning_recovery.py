#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recover claimed nRF Cloud devices in ERROR, BLOCKED, or out of provisioning commands."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_provisioning_recovery
short_description: Recover nRF Cloud devices in ERROR, BLOCKED, or at the 20-command limit
version_added: 0.2.0
description:
  - Brings claimed devices that the Provisioning Service will not provision any further back to a state where
    M(iotops.provisioning.nrfcloud_provisioning) can provision them again. Each device is looked at on its own and only the
    conditions named in O(recover) are acted on; a healthy device is left alone, so the task can run on a whole fleet.
  - V(error) - a device in C(ERROR) answered a command with an error and nRF Cloud suspends it until someone acts. The portal can
    reset or skip the failed command, but nRF Cloud publishes no REST call for that, so the module unclaims the device and claims
    it again with its attestation token, which starts a new, empty provisioning configuration. Fix what the device reported
    (RV(outcomes[].reason) quotes it) before its commands are sent again.
  - V(full) - nRF Cloud allows at most 20 provisioning commands per claimed device for its whole life and publishes no call to
    delete or reset them, so every rotation spends some for good. A device with fewer than O(min_commands_left) commands left is
    claimed again the same way, which gives it 20 new ones. A device that still has commands to run is left until it has run them.
  - V(blocked) - a C(BLOCKED) device is unblocked; it keeps its claim and its commands.
  - Unclaiming also removes the device from nRF Cloud device management. Afterwards provision it again
    (M(iotops.provisioning.nrfcloud_provisioning) with a CSR and O(iotops.provisioning.nrfcloud_provisioning#module:sign_csr)) and
    onboard it (M(iotops.provisioning.nrfcloud_device)); a device claimed again with the tag of a provisioning rule (such as
    C(nrf-cloud-onboarding), see M(iotops.provisioning.nrfcloud_provisioning_rule)) gets the rule's commands at once.
  - A device the team has not claimed is claimed when O(devices[].claim_token) is given (a run that stopped between unclaiming
    and claiming is finished by the next one), else left alone.
extends_documentation_fragment:
  - iotops.provisioning.nrfcloud
  - iotops.provisioning.connection
  - iotops.provisioning.batch
  - iotops.provisioning.attributes
  - iotops.provisioning.attributes.actiongroup_nrfcloud
attributes:
  check_mode:
    support: full
    details:
      - Reads the devices and their commands and reports what would be done; sends no write.
  diff_mode:
    support: full
    details:
      - Per device, whether it is claimed, its status and the number of commands used, before and after.
options:
  devices:
    description:
      - The devices to look at; one device is a list of one.
    type: list
    elements: dict
    required: true
    suboptions:
      device_id:
        description:
          - The device id in nRF Cloud. Required when O(devices[].claim_token) is not given.
        type: str
      claim_token:
        description:
          - The device's attestation token (C(AT%ATTESTTOKEN) output), needed to claim it again. A device that needs claiming again
            and has none fails alone, unchanged. The device id is the UUID inside the token; when O(devices[].device_id) is given
            too, both must name the same device (checked before any request, as M(iotops.provisioning.nrfcloud_claim) does).
        type: str
      tags:
        description:
          - The provisioning tags to claim the device with again. Defaults to the tags it was claimed with.
          - Each is 1 to 128 letters, digits or C(_.@:#-), as for M(iotops.provisioning.nrfcloud_claim).
        type: list
        elements: str
  recover:
    description:
      - The conditions to act on.
    type: list
    elements: str
    choices: [error, blocked, full]
    default: [error, blocked, full]
  min_commands_left:
    description:
      - A device with fewer commands left than this (of the 20 nRF Cloud allows) is V(full). The default, 3, is what one rotation
        with a new key takes (CSR, client certificate, C(finished)); 4 when a server certificate is appended too.
    type: int
    default: 3
notes:
  - "The module runs on the controller (C(delegate_to: localhost))."
  - The unblock call (C(POST /claimed-devices/{id}/unblock)) is the mock's model of the portal's Unblock; nRF Cloud publishes no
    REST path for it (docs/mock-assumptions.md).
seealso:
  - module: iotops.provisioning.nrfcloud_provisioning
  - module: iotops.provisioning.nrfcloud_provisioning_info
  - module: iotops.provisioning.nrfcloud_provisioning_rule
  - module: iotops.provisioning.nrfcloud_device
  - name: Provisioning configuration through the APIs
    description: The device statuses (ERROR, BLOCKED) and the 20-command limit.
    link: https://docs.nrfcloud.com/SecurityServices/ProvisioningService/ProvisioningConfiguration/ProvisioningConfigurationAPI.html
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Recover whatever needs it in a batch (ERROR, BLOCKED, fewer than 3 commands left; API key from NRFCLOUD_API_KEY)
  iotops.provisioning.nrfcloud_provisioning_recovery:
    devices: "{{ nrfcloud_devices }}"  # [{device_id, claim_token}, ...]
  register: recovered
  delegate_to: localhost

- name: Then provision the devices that were claimed again (the CSR flow of a first onboarding; onboard them with nrfcloud_device)
  iotops.provisioning.nrfcloud_provisioning:
    devices: "{{ nrfcloud_devices | selectattr('device_id', 'in', recovered.outcomes | selectattr('action', 'in', ['reclaim', 'claim'])
                 | map(attribute='item') | list) | list }}"
    commands:
      - kind: certificateSigningRequest
        description: Generate CSR
    sign_csr:
      ca_certificate_path: factory-ca.pem
      ca_private_key_path: factory-ca-key.pem
    wait_for: PROVISIONED
  delegate_to: localhost

- name: Before a rotation, give the devices with fewer than 4 commands left 20 new ones (the others are left alone)
  iotops.provisioning.nrfcloud_provisioning_recovery:
    api_key: "{{ vault_nrfcloud_api_key }}"
    provisioning_api_url: https://api.provisioning.nrfcloud.com/v1
    api_url: https://api.nrfcloud.com/v1
    concurrency: 4
    recover: [full]
    min_commands_left: 4
    devices:
      - device_id: nrf-352656100000001
        claim_token: "{{ tokens['nrf-352656100000001'] }}"
        tags: [nrf-cloud-onboarding]
  delegate_to: localhost

- name: Only unblock two devices, through the corporate proxy's CA, with patient retries
  iotops.provisioning.nrfcloud_provisioning_recovery:
    recover: [blocked]
    validate_certs: true
    ca_path: /etc/pki/corporate-ca.pem
    use_proxy: true
    timeout: 20
    retries: 8
    retry_max_wait: 120
    devices:
      - device_id: 50363456-3834-4a2d-8012-0f1234567890
      - device_id: 50363456-3834-4a2d-8012-0f1234567891
  delegate_to: localhost
'''

RETURN = r'''
outcomes:
  description: One entry per device of O(devices), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device id.
      type: str
      sample: 50363456-3834-4a2d-8012-0f1234567890
    action:
      description:
        - What was done (or, in check mode, would be done) - V(reclaim) (unclaimed and claimed again), V(claim) (it was not
          claimed), V(unblock), or V(none).
      type: str
      sample: reclaim
    changed:
      description: Whether the device was (or would be) changed.
      type: bool
    failed:
      description: Whether this device failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: Why the device failed.
      type: str
      returned: when failed
    condition:
      description: The condition acted on - V(error), V(blocked) or V(full).
      type: str
      returned: when the device was (or would be) recovered from one
      sample: full
    reason:
      description: What the module found, in plain words (for a device in ERROR, the failed command and the device's own message).
      type: str
      sample: 19 of the 20 provisioning commands nRF Cloud allows per claimed device used, 1 left (fewer than 3)
    status_before:
      description: The device's status in the Provisioning Service before the task.
      type: str
      returned: when the device was claimed
      sample: ERROR
    commands_used:
      description: The number of commands of the device before the task.
      type: int
      returned: when the device was claimed
      sample: 19
    status:
      description: The device's status after it was claimed again, as nRF Cloud answered.
      type: str
      returned: when the device was claimed (again) by the task
      sample: READY
    next_step:
      description: What to do next with the device.
      type: str
      returned: when the device was (or would be) changed
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_claims import claim_device_id, validate_tags
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import MAX_COMMANDS
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_recovery import (
    CONDITIONS, DEFAULT_MIN_COMMANDS_LEFT, RECLAIM, UNBLOCK, needs_history, plan_recovery)
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client

DEVICE_SPEC = dict(
    device_id=dict(type='str'),
    claim_token=dict(type='str', no_log=True),
    tags=dict(type='list', elements='str'),
)


class RecoveryModule(ResourceModule):
    """Reads the team's claimed devices once and the histories it needs; works device by device."""

    items_option = 'devices'
    noun = 'devices'
    records = histories = None  # read once, by ``read``

    def key(self, item):
        return item.get('device_id') or ''

    def validate(self, items):
        left = self.params['min_commands_left']
        if not 1 <= left <= MAX_COMMANDS:
            raise ConfigError('min_commands_left must be from 1 to %d (nRF Cloud allows %d commands per claimed device), got %d'
                              % (MAX_COMMANDS, MAX_COMMANDS, left))
        if not self.params['recover']:
            raise ConfigError('recover must name at least one of %s' % ', '.join(CONDITIONS))

    def validate_item(self, item):
        # as nrfcloud_claim: a token of another device than device_id, or a tag a claim refuses, would fail only after the
        # device was unclaimed
        claim_device_id(item)
        validate_tags(item.get('tags') or [], 'tags')

    def connect(self):
        return nrfcloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.records = dict((d['id'], d) for d in self.client.claimed_devices() if isinstance(d, dict) and 'id' in d)
        recover = self.params['recover']
        wanted = [item['device_id'] for item in items if needs_history(self.records.get(item['device_id']), recover)]
        histories = map_concurrently(self.client.commands, wanted, self.params['concurrency'])
        self.histories = dict(zip(wanted, histories))

    def plan(self, item):
        device_id = item['device_id']
        return plan_recovery(item, self.records.get(device_id), self.histories.get(device_id), self.params['recover'],
                             self.params['min_commands_left'])

    def apply(self, plan):
        device_id = plan.item
        if plan.action == UNBLOCK:
            self.client.unblock(device_id)
            return None
        if plan.action == RECLAIM:
            self.client.unclaim(device_id)
        record, _claimed_now = self.client.claim(plan.data['claim_token'], plan.data['tags'], device_id)
        record = record or {}
        return dict(status=record.get('status'))


def main():
    run_module(RecoveryModule, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               recover=dict(type='list', elements='str', choices=list(CONDITIONS), default=list(CONDITIONS)),
               min_commands_left=dict(type='int', default=DEFAULT_MIN_COMMANDS_LEFT))


if __name__ == '__main__':
    main()
