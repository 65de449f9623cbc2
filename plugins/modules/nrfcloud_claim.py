#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claim (or unclaim) batches of nRF Cloud devices by attestation token, with the claim dry run and CSV bulk claims."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_claim
short_description: Claim batches of nRF Cloud devices by claim token, with a dry run first and CSV bulk claims
version_added: 0.2.0
description:
  - Claims devices in the nRF Cloud Provisioning Service with their claim token (the modem's attestation token, the output
    of C(AT%ATTESTTOKEN)), with provisioning tags, or unclaims them. The device id is the device UUID inside the token.
  - Reads the team's claimed devices once (all pages). A device this team has claimed already is done, not an error, and
    nothing is sent for it; a second run with the same input sends no write.
  - With O(dry_run=true), asks nRF Cloud's claim dry run (C(POST /claimed-devices?dryrun=true)) about every device not
    claimed yet and reports which ones would fail and why (claimed by another team, a token nRF Cloud does not accept),
    claiming nothing. Run it before a big batch.
  - When more than O(bulk_threshold) devices are to be claimed, claims them by CSV bulk requests of up to 1000 rows
    (C(POST /claimed-devices) with C(text/csv)) instead of one request per device. nRF Cloud answers a bulk claim with the
    ids it claimed and the rows it refused, or with a bulk operation, which the module follows to its end (as
    M(iotops.provisioning.nrfcloud_device) does for onboarding). Each refused row is reported on its device; the team's
    claimed list, read once afterwards, decides which devices are claimed.
  - The provisioning tag C(nrf-cloud-onboarding) triggers Nordic's built-in auto-onboarding rule - nRF Cloud then has the
    device create its keys and onboards it to device management by itself, with no CA of your own and no further task. Claim
    without that tag to provision the device yourself with M(iotops.provisioning.nrfcloud_provisioning) (CSR, certificate,
    finished) and M(iotops.provisioning.nrfcloud_device).
  - The claim token is a secret - it is sent in request bodies only and never appears in results, diff or messages; a
    device is named by its id, a token by a short fingerprint (C(sha256:) and 12 hex digits).
  - Works a list of devices in one task with bounded concurrency over one HTTP session.
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
      - Sends no write. It does send the claim dry run for every device that would be claimed - a dry run stores nothing - so
        check mode shows which devices the real run would fail for, and C(changed) predicts the real run exactly.
  diff_mode:
    support: full
    details:
      - Shows, per changed device, whether it is claimed and its provisioning tags, before and after.
options:
  devices:
    description:
      - The devices; one device is a list of one.
    type: list
    elements: dict
    required: true
    suboptions:
      claim_token:
        description:
          - The device's claim token, the attestation token C(AT%ATTESTTOKEN) prints (base64url parts joined by C(.), on one
            line). Required to claim a device; enough on its own to unclaim it.
          - A secret - it never appears in the module's output.
        type: str
      device_id:
        description:
          - The device id in nRF Cloud (the device UUID, 8-4-4-4-12 hex). Taken from O(devices[].claim_token) when not given;
            when both are given they must name the same device.
          - Required to unclaim a device without its token, or when the token cannot be read here.
        type: str
      tags:
        description:
          - Provisioning tags to claim the device with; defaults to O(tags). Each is 1 to 128 letters, digits or C(_.@:#-).
          - C(nrf-cloud-onboarding) triggers Nordic's auto-onboarding rule (see the description).
          - Used when the device is claimed; the Provisioning Service has no call to change them later, so a device
            already claimed with other tags is reported with a RV(outcomes[].warning) and left as it is.
        type: list
        elements: str
      state:
        description:
          - V(present) claims the device; V(absent) unclaims it. Defaults to O(state).
          - Unclaiming also deletes the device from nRF Cloud device management, with its history, and lets another team
            claim it.
        type: str
        choices: [present, absent]
  tags:
    description: The default O(devices[].tags).
    type: list
    elements: str
  state:
    description: The default O(devices[].state).
    type: str
    choices: [present, absent]
    default: present
  dry_run:
    description:
      - Ask nRF Cloud's claim dry run about each device not claimed yet, claim nothing, and report. A device that can be
        claimed has RV(outcomes[].claimable=true); one that cannot fails with nRF Cloud's reason and what to do, so the
        task fails when any device of the batch would.
      - Unlike check mode it does not predict C(changed), which is always false.
    type: bool
    default: false
  bulk_threshold:
    description:
      - When more than this many devices are to be claimed, they are claimed by CSV bulk requests (up to 1000 rows each),
        otherwise one request per device. V(0) always claims in bulk.
      - A single claim reports nRF Cloud's answer for its device directly; a bulk claim costs one request per 1000 devices
        and one read of the claimed list afterwards.
    type: int
    default: 10
  bulk_timeout:
    description: Seconds to wait for bulk operations to finish, when nRF Cloud answers a bulk claim with one.
    type: int
    default: 300
  bulk_interval:
    description:
      - The longest wait in seconds between two reads of the bulk operations' status; the first read comes 0.2 s after the
        upload and the wait doubles from there up to this value.
    type: float
    default: 2
notes:
  - Unclaiming is one request per device; nRF Cloud has no bulk unclaim.
seealso:
  - module: iotops.provisioning.nrfcloud_provisioning
  - module: iotops.provisioning.nrfcloud_provisioning_info
  - module: iotops.provisioning.nrfcloud_device
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Before claiming the batch, ask nRF Cloud whether every device can be claimed (claims nothing)
  iotops.provisioning.nrfcloud_claim:
    devices: "{{ batch }}"
    # batch: [{claim_token: "2dN3bm9y...Q.0oRDoQEmoQRBIfZYQ..."}, ...]
    dry_run: true
  register: preflight

- name: Claim the batch for Nordic's auto-onboarding, by CSV bulk requests when it is large
  iotops.provisioning.nrfcloud_claim:
    devices: "{{ batch }}"
    tags: [nrf-cloud-onboarding, line-7]
    bulk_threshold: 50
    bulk_timeout: 120
    bulk_interval: 5
    concurrency: 16

- name: Claim two devices with their own tags, naming one by its id as well
  iotops.provisioning.nrfcloud_claim:
    devices:
      - claim_token: "{{ tokens['351358811234567'] }}"
        device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        tags: [line-7]
      - claim_token: "{{ tokens['351358811234568'] }}"
        tags: [line-7, rework]

- name: Unclaim devices that left the fleet (also deletes them from device management)
  iotops.provisioning.nrfcloud_claim:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
      - claim_token: "{{ tokens['351358811234568'] }}"
    state: absent
'''

RETURN = r'''
outcomes:
  description: One entry per device, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The device id.
      type: str
    changed:
      description: Whether the device was claimed or unclaimed (in check mode, whether it would be).
      type: bool
    failed:
      description: Whether this device failed (or, with O(dry_run) or in check mode, would fail); RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: The reason of a failure, with nRF Cloud's answer and what to do.
      type: str
      returned: when failed
    action:
      description: V(claim), V(unclaim) or V(none).
      type: str
    phase:
      description: V(claimed), V(unclaimed), or V(needs attention) when it failed.
      type: str
      sample: claimed
    waiting:
      description: Always false here; a claim does not wait for the device.
      type: bool
    claimed:
      description: Whether this run claimed the device (in check mode, would claim it).
      type: bool
      returned: when state is present and the device did not fail
    unclaimed:
      description: Whether this run unclaimed the device.
      type: bool
      returned: when state is absent and the device did not fail
    claimable:
      description: With O(dry_run), true for a device the dry run says can be claimed.
      type: bool
      returned: with dry_run, for devices not claimed yet that can be
    tags:
      description: The device's provisioning tags (those it was claimed with, or is claimed with already).
      type: list
      elements: str
      returned: when state is present and the device did not fail
    warning:
      description: Set when a device claimed already has other tags than asked; it is left as it is.
      type: str
      returned: sometimes
    token_fingerprint:
      description: A short one-way fingerprint of the claim token given (C(sha256:) and 12 hex digits), to match input rows.
      type: str
      returned: when a claim token was given
      sample: sha256:3f1a0c9d2b7e
    via:
      description: V(single) or V(bulk), how the device was claimed.
      type: str
      returned: when this run claimed the device
    bulk_ops_request_id:
      description: The bulk operation that claimed the device, when nRF Cloud answered the bulk claim with one.
      type: str
      returned: sometimes
summary:
  description: Counts of devices by outcome.
  returned: always
  type: dict
  sample: {total: 300, changed: 298, ok: 1, failed: 1, waiting: 0}
'''

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_claims import (
    BULK_INTERVAL, BULK_THRESHOLD, BULK_TIMEOUT, CLAIM, UNCLAIM, BulkClaim, fingerprint, plan_claim, validate_claim_item, validate_tags)
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import BATCH_ARGSPEC, ResourceModule, run_module, validate_items
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, nrfcloud_client

DEVICE_SPEC = dict(
    claim_token=dict(type='str', no_log=True),
    device_id=dict(type='str'),
    tags=dict(type='list', elements='str'),
    state=dict(type='str', choices=['present', 'absent']),
)


def needs_token(item):
    if not item.get('claim_token'):
        raise ConfigError('the device is not claimed by this team and no claim_token was given to claim it')


class ClaimModule(ResourceModule):
    """Read the claimed list once; dry-run the devices to claim (with dry_run, and in check mode); claim them one by one
    or by CSV bulk requests; unclaim one by one."""

    items_option = noun = 'devices'
    item_defaults = ('state', 'tags')

    def __init__(self, module):
        super().__init__(module)
        self.claimed = {}
        self.refusals = {}
        self.bulk = None

    def key(self, item):
        return item.get('device_id')

    def validate(self, items):
        validate_tags(self.params.get('tags') or [], 'tags')
        if self.params['bulk_threshold'] < 0:
            raise ConfigError('bulk_threshold must be 0 or more, got %d' % self.params['bulk_threshold'])
        if self.params['bulk_timeout'] < 0 or self.params['bulk_interval'] <= 0:
            raise ConfigError('bulk_timeout must be 0 or more and bulk_interval more than 0 seconds, got %s and %s'
                              % (self.params['bulk_timeout'], self.params['bulk_interval']))

    def validate_item(self, item):
        validate_claim_item(item)

    def connect(self):
        return nrfcloud_client(self.module, concurrency=self.params['concurrency'])

    def read(self, items):
        self.claimed = dict((d['id'], d) for d in self.client.claimed_devices() if isinstance(d, dict) and 'id' in d)
        to_claim = [item for item in items if item['state'] == 'present' and item['device_id'] not in self.claimed]
        # known only now, still before any write; the indexes in the message are those of the task's list
        waiting = set(item['device_id'] for item in to_claim)
        validate_items(items, 'devices', lambda item: needs_token(item) if item['device_id'] in waiting else None, label=self.key)
        # the dry run stores nothing: sent with dry_run, and in check mode so that it shows what the real run would fail for
        if self.params['dry_run'] or self.check_mode:
            answers = map_concurrently(lambda item: self.client.claim_dry_run(item['claim_token']), to_claim, self.params['concurrency'])
            self.refusals = dict((item['device_id'], answer) for item, answer in zip(to_claim, answers) if answer)

    def plan(self, item):
        plan = plan_claim(item, self.claimed.get(item['device_id']), self.refusals.get(item['device_id']), self.params['dry_run'])
        if item.get('claim_token'):
            plan.result['token_fingerprint'] = fingerprint(item['claim_token'])
        return plan

    def apply_all(self, plans):
        claims = [plan.data['device'] for plan in plans if plan.action == CLAIM]
        if len(claims) > self.params['bulk_threshold']:
            self.bulk = BulkClaim(self.client, self.params['bulk_timeout'], self.params['bulk_interval']).run(claims)
        return super().apply_all(plans)

    def apply(self, plan):
        if plan.action == UNCLAIM:
            self.client.unclaim(plan.item)
            return {}
        if self.bulk is None:
            device = plan.data['device']
            _record, claimed_now = self.client.claim(device['claim_token'], device.get('tags'), device['device_id'])
            # another job on the account may have claimed it since the read: the device is claimed, by this team, either way
            return dict(via='single') if claimed_now else dict(via='single', claimed=False)
        outcome = dict(self.bulk.get(plan.item) or {})
        if outcome.get('failed'):
            raise IotopsError(outcome['msg'])
        return outcome

    def outcomes(self, results):
        for result in results:
            outcome_phase(result, result.get('phase'))
        return results


def main():
    run_module(ClaimModule, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               tags=dict(type='list', elements='str'),
               state=dict(type='str', default='present', choices=['present', 'absent']),
               dry_run=dict(type='bool', default=False),
               bulk_threshold=dict(type='int', default=BULK_THRESHOLD),
               bulk_timeout=dict(type='int', default=BULK_TIMEOUT),
               bulk_interval=dict(type='float', default=BULK_INTERVAL))


if __name__ == '__main__':
    main()
