#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge what the info modules read about a fleet: what needs attention per device and cloud, for the fleet_audit role."""

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_audit_findings
short_description: Judge a fleet from what the info modules read - expiring, stuck, drifted, cloned and silent devices
version_added: 0.2.0
description:
  - Takes the registered results of the collection's info modules and the batch manifest (M(iotops.provisioning.manifest_info)),
    and returns, per device and cloud, what needs attention and why, as steps that M(iotops.provisioning.batch_report) writes
    into the audit report. Talks to no cloud and changes nothing.
  - "Certificates expiring: the devices the info modules returned with C(expires_within_days) (judged there, on the cloud's
    clock). Stuck: nRF Cloud devices in C(ERROR), C(BLOCKED) or C(AWAITING), and u-blox devices C(ALLOCATED) (bootstrapped
    before they were whitelisted) or whitelisted and not bootstrapped, for at least O(stuck_hours). Drift: a manifest
    identity that its cloud does not know while another cloud knows the device, and nRF Cloud devices provisioned but not
    in device management. u-blox: devices u-blox reports as clones or suspicious, and devices not seen for
    O(not_seen_days)."
  - A u-blox module that u-blox does not know yet has not bootstrapped; it is reported as waiting, not as drift. When
    C(ublox_devices) was read with C(include_whitelist), such a module is stuck once it has waited O(stuck_hours) since it
    was whitelisted, and drift when it is not whitelisted at all.
  - u-blox's dates are judged on u-blox's clock (the C(cloud_time) of C(ublox_devices)), the others on O(now).
  - A manifest row that no cloud read knows is one finding (never onboarded, or decommissioned and still in the manifest),
    not one per cloud.
  - A device taken out of service on purpose is not a finding and not healthy either - its outcomes carry C(out_of_service),
    which M(iotops.provisioning.batch_report) counts apart (V(35 of 50 healthy · 2 out of service)) - a u-blox module whose
    certificate is revoked or its deletion pending (incident response, decommission), and the other identities of a device
    whose u-blox module is retired and that no cloud knows any more (C(gone (decommissioned))).
  - "How long a device is stuck counts from: nRF Cloud, the newest time in its command history (C(nrfcloud_stuck)) when the
    history carries one, else its C(claimedAt); u-blox, its C(BootstrapDate), or when it waits for its bootstrap, the
    whitelist entry's C(CreatedDate)."
  - Used by the C(fleet_audit) role.
extends_documentation_fragment:
  - iotops.provisioning.attributes
attributes:
  check_mode:
    support: full
    details: The module only judges data; it runs the same in check mode.
  diff_mode:
    support: none
options:
  manifest:
    description:
      - The registered result of M(iotops.provisioning.manifest_info) - its C(devices) give each device's identities per
        cloud, its C(serials) the labels of the report.
    type: dict
    required: true
  reads:
    description:
      - The registered results of the info modules, by name. A read that was skipped or left out is not judged; a read that
        failed is reported as a failed step of its cloud.
      - C(nrfcloud_claimed) - M(iotops.provisioning.nrfcloud_provisioning_info) of the manifest's devices (with their commands).
      - C(nrfcloud_stuck) - the same with the command histories of the devices in C(ERROR), C(BLOCKED) or C(AWAITING), so
        that they count as stuck from their last command rather than from their claim.
      - C(nrfcloud_expiring) - the same with C(expires_within_days).
      - C(nrfcloud_onboarded) - M(iotops.provisioning.nrfcloud_device_info) of the manifest's devices.
      - C(ublox_devices) - M(iotops.provisioning.ublox_device_info) of the manifest's devices with C(CORE), and
        C(include_whitelist) to judge modules that do not bootstrap.
      - C(ublox_expiring) - the same with C(ZTP) and C(expires_within_days).
      - C(ublox_security) - M(iotops.provisioning.ublox_device_security_info) with C(clones), C(suspicious) and C(activity).
      - C(iotcomms_devices) - M(iotops.provisioning.iotcomms_device_info).
      - C(naocloud_trackables) - M(iotops.provisioning.naocloud_trackable_info).
    type: dict
    required: true
  expiry_days:
    description: The expiry window the reads used, in days, for the words of the report (0 to 36500).
    type: int
    default: 30
  stuck_hours:
    description: A device counts as stuck after this many hours in C(ERROR), C(BLOCKED), C(AWAITING) or C(ALLOCATED) (0 or more).
    type: float
    default: 24
  not_seen_days:
    description: A u-blox device not seen for this many days is reported (0 or more).
    type: float
    default: 7
  now:
    description:
      - When the audit judges durations from, in seconds since the epoch. Defaults to the controller's clock.
    type: float
seealso:
  - module: iotops.provisioning.batch_report
  - module: iotops.provisioning.manifest_info
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Read the manifest
  iotops.provisioning.manifest_info:
    path: batch-47.csv
  register: manifest

- name: Read the claimed nRF Cloud devices
  iotops.provisioning.nrfcloud_provisioning_info:
    device_ids: "{{ manifest.serials.nrfcloud.keys() | list }}"
  register: claimed

- name: Read the client certificates that expire within 30 days, on nRF Cloud's clock
  iotops.provisioning.nrfcloud_provisioning_info:
    device_ids: "{{ manifest.serials.nrfcloud.keys() | list }}"
    expires_within_days: 30
  register: expiring

- name: Judge the fleet
  iotops.provisioning.fleet_audit_findings:
    manifest: "{{ manifest }}"
    reads:
      nrfcloud_claimed: "{{ claimed }}"
      nrfcloud_expiring: "{{ expiring }}"
    expiry_days: 30
    stuck_hours: 12
    not_seen_days: 14
    now: "{{ now(utc=true).timestamp() }}"
  register: audit

- name: Say what needs attention
  ansible.builtin.debug:
    msg: "{{ audit.findings | map(attribute='reason') | list }}"
'''

RETURN = r'''
steps:
  description: One step per cloud for O(iotops.provisioning.batch_report#module:steps), each device's findings in one outcome.
  returned: always
  type: list
  elements: dict
  sample: [{vendor: nrfcloud, step: audit, results: [{item: 50434d44-3635-4137-80a1-0c1d2e3f4a5b, failed: true, phase: error,
            msg: ERROR for 30.2 hours (since its claim), remedy: Read the failed command ..., findings: [stuck]}]},
           {vendor: ublox, step: audit, results: [{item: "0003000000000001", failed: false, phase: out of service (certificate
            revoked), waiting: false, out_of_service: true, findings: []}]}]
findings:
  description: What needs attention, one entry per device and cloud - C(serial), C(cloud), C(id), C(findings) (the kinds),
    C(reason) and C(remedy).
  returned: always
  type: list
  elements: dict
  sample: [{serial: SN-0042, cloud: ublox, id: "0002000089280087", findings: [expiring], reason: device certificate expires
            '2026-06-01T00:00:00Z', remedy: Renew its device certificate ...}]
counts:
  description:
    - Findings per kind (C(expiring), C(stuck), C(drift), C(clone), C(suspicious), C(not_seen)), C(findings) (all of them),
      C(devices) (devices with any), C(read_errors) (clouds whose read failed), and the C(thresholds) used.
  returned: always
  type: dict
  sample: {expiring: 2, stuck: 1, drift: 1, clone: 0, suspicious: 0, not_seen: 0, findings: 4, devices: 4, read_errors: 0,
           thresholds: {expiry_days: 30, stuck_hours: 24, not_seen_days: 7}}
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._fleet_audit import audit
from ansible_collections.iotops.provisioning.plugins.module_utils._module import run

READS = ('nrfcloud_claimed', 'nrfcloud_stuck', 'nrfcloud_expiring', 'nrfcloud_onboarded', 'ublox_devices', 'ublox_expiring', 'ublox_security',
         'iotcomms_devices', 'naocloud_trackables')


def validate(params):
    unknown = sorted(set(params['reads']) - set(READS))
    if unknown:
        raise ConfigError('reads: %s not known; the reads are %s' % (', '.join(unknown), ', '.join(READS)))
    for name, value in params['reads'].items():
        if value is not None and not isinstance(value, dict):
            raise ConfigError('reads.%s must be a registered module result (a mapping)' % name)
    if not 0 <= params['expiry_days'] <= 36500:
        raise ConfigError('expiry_days is %d; it must be from 0 to 36500' % params['expiry_days'])
    for option in ('stuck_hours', 'not_seen_days'):
        if params[option] < 0:
            raise ConfigError('%s is %s; it must be 0 or more' % (option, params[option]))


def main():
    module = AnsibleModule(
        argument_spec=dict(manifest=dict(type='dict', required=True), reads=dict(type='dict', required=True),
                           expiry_days=dict(type='int', default=30), stuck_hours=dict(type='float', default=24),
                           not_seen_days=dict(type='float', default=7), now=dict(type='float')),
        supports_check_mode=True,
    )

    def judge():
        params = module.params
        validate(params)
        reads = dict((name, value) for name, value in params['reads'].items() if value is not None)
        now = params['now'] if params['now'] is not None else time.time()
        steps, findings, counts = audit(reads, params['manifest'], now, params['expiry_days'], params['stuck_hours'], params['not_seen_days'])
        module.exit_json(changed=False, steps=steps, findings=findings, counts=counts)

    run(module, judge)


if __name__ == '__main__':
    main()
