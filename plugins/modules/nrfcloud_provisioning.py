#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claim nRF Cloud devices and converge their provisioning commands."""

from __future__ import annotations

DOCUMENTATION = r'''
module: nrfcloud_provisioning
short_description: Claim nRF Cloud devices and manage their provisioning commands
version_added: 0.1.0
description:
  - Claims devices in the nRF Cloud Provisioning Service with their attestation token (by CSV bulk requests when more than
    O(bulk_threshold) are to be claimed), or unclaims them.
  - Appends provisioning commands (key generation, CSR, certificates, private key, PSK, config, finished) to each device's
    provisioning configuration. Commands are history, so a command already present with the same request and description is
    never added again, new ones are appended in the order given, and C(finished) stays last.
  - With O(sign_csr), signs the CSR each device returned with a factory CA in this process and appends the client certificate
    (and optionally a server certificate) and C(finished) - the whole claim, CSR, sign, install flow of Nordic's tools in one task.
  - Devices come online when they come online - on a factory line minutes or hours after they are claimed. The module follows
    them for up to O(wait_timeout) seconds, reading the statuses of the whole batch again and again, signs each CSR as soon as a
    read shows its device has returned it (while the next reads go on beside it), and waits for O(wait_for). A device that
    has not got there by then is not a failure - its outcome says C(waiting=true) and its phase (C(waiting for the device),
    C(CSR signed)), and running the task again later moves it on.
  - Devices in C(ERROR) or C(BLOCKED) fail with the device's own error and what to do; nothing is appended to them.
    M(iotops.provisioning.nrfcloud_provisioning_recovery) recovers them, and gives a device near the 20-command limit 20 new ones.
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
      - Sends no write and does not wait; C(changed) predicts whether the real run would claim, append or sign.
  diff_mode:
    support: full
    details:
      - Shows, per device, whether it is claimed and the kinds and descriptions of its commands, before and after.
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
          - The device's attestation token (C(AT%ATTESTTOKEN) output). Required to claim a device.
          - The device id is the UUID inside the token unless O(devices[].device_id) is given.
        type: str
      device_id:
        description:
          - The device id in nRF Cloud. Required when O(devices[].claim_token) is not given (for example to unclaim).
        type: str
      tags:
        description:
          - Provisioning tags to claim the device with, for example C(nrf-cloud-onboarding) for Nordic's auto-onboarding rule.
          - Used when the device is claimed; the Provisioning Service has no call to change them later.
        type: list
        elements: str
      state:
        description:
          - V(present) claims the device and appends missing commands; V(absent) unclaims it (nRF Cloud then also removes the
            device from device management).
          - Defaults to O(state).
        type: str
        choices: [present, absent]
      commands:
        description:
          - The commands of this device; replaces O(commands) for it.
        type: list
        elements: dict
        suboptions: &command_options
          kind:
            description:
              - The command kind, as the Provisioning Service names it.
            type: str
            required: true
            choices: [clientPrivateKeyGeneration, certificateSigningRequest, serverCertificate, clientCertificate,
                      clientPrivateKey, preSharedKey, config, finished]
          description:
            description:
              - A description stored with the command. It is part of what makes a command the same as one in the history,
                so changing it appends the command again (use that to send a new PSK secret or private key).
            type: str
          sec_tag:
            description:
              - The modem security tag, an integer from 0 to 2147483647. Defaults to nRF Cloud's own tag, 16842753.
              - For every kind but C(config) and C(finished).
            type: int
          attributes:
            description:
              - For C(certificateSigningRequest), the subject attributes as C(KEY=value) pairs separated by commas, for example
                C(O=Example,L=Trondheim,C=no). Must not contain C(CN); the module sets C(CN) to the device id.
            type: str
          key_usage:
            description:
              - For C(certificateSigningRequest), the key usage as 9 bits, as C(%KEYGEN) takes it. Defaults to C(101010000).
            type: str
          content:
            description:
              - For C(serverCertificate) and C(clientCertificate), the PEM certificate.
              - For C(clientPrivateKey), the private key as encrypted PEM (C(-----BEGIN ENCRYPTED PRIVATE KEY-----)).
            type: str
          password:
            description:
              - For C(clientPrivateKey), the password of the encrypted key. Write-only, never shown.
            type: str
          identity:
            description:
              - For C(preSharedKey), the PSK identity.
            type: str
          secret:
            description:
              - For C(preSharedKey), the PSK as hexadecimal digits. Write-only, never shown.
            type: str
          config:
            description:
              - For C(config), the settings for the provisioning client, as a dictionary; values are sent as strings.
            type: dict
  commands:
    description:
      - The commands of every device that has no O(devices[].commands) of its own, in order.
      - With O(sign_csr), do not list C(finished); the module appends it after the client certificate.
    type: list
    elements: dict
    suboptions: *command_options
  state:
    description:
      - The default O(devices[].state).
    type: str
    choices: [present, absent]
    default: present
  sign_csr:
    description:
      - Sign the CSR each device returned with this CA, then append C(clientCertificate) (and C(serverCertificate) when
        O(sign_csr.server_certificate) is given) and C(finished), as soon as the device has run its CSR command (within
        O(wait_timeout); a device that has not is signed by a later run).
      - A device whose latest CSR is already followed by a client certificate for the same security tag is not signed again.
    type: dict
    suboptions:
      ca_certificate:
        description: The CA certificate, PEM. Mutually exclusive with O(sign_csr.ca_certificate_path).
        type: str
      ca_certificate_path:
        description: Path on the controller of the CA certificate, PEM.
        type: path
      ca_private_key:
        description: The CA private key, PEM. It never leaves the controller.
        type: str
      ca_private_key_path:
        description: Path on the controller of the CA private key, PEM.
        type: path
      ca_private_key_passphrase:
        description: Passphrase of an encrypted CA private key.
        type: str
      validity_days:
        description:
          - Days the device certificates are valid, capped at the CA's own expiry.
        type: int
        default: 3650
      server_certificate:
        description:
          - A PEM certificate (the root CA the device must trust, for example Amazon Root CA 1 for nRF Cloud MQTT) to append as
            C(serverCertificate) on the same security tag, before C(finished).
        type: str
      description:
        description: The description of the appended C(clientCertificate) command.
        type: str
        default: Client certificate signed by the factory CA
  rotate:
    description:
      - Rotate the client certificates that expire within O(rotate.within_days), instead of appending O(commands). Needs
        O(sign_csr). The module decides per device, from its command history, whether its current client certificate (the
        newest succeeded C(clientCertificate) command) is due, on the cloud's clock (its C(Date) header) - so a controller
        whose clock is off neither rotates too early nor too late.
      - nRF Cloud allows at most 20 provisioning commands per claimed device and has no API to delete or reset them, so each
        rotation spends some for good. O(rotate.policy) V(renew) signs a new certificate for the key of the device's latest
        CSR (C(clientCertificate) and C(finished), 2 commands); V(rekey) appends a CSR, signs it once the device has run it
        and appends the certificate and C(finished) (3 commands). A device whose history has no CSR for its current key is
        rekeyed; one where a rekey would exceed 20 commands but a renew fits is renewed.
      - "A device whose rotation would exceed 20 commands fails alone, with its id, the numbers and what to do (the recovery
        playbook C(playbooks/recover_nrfcloud_devices.yml): unclaim, claim, onboard again); the other devices are rotated.
        A device with O(rotate.warn_rotations_left) or fewer rotations left gets RV(outcomes[].attention), a warning that
        does not fail it."
      - A rotation an earlier run left unfinished (a CSR not signed yet, a certificate without C(finished)) is carried on,
        never started again. Devices that are not due are left alone, with their expiry in RV(outcomes[].old_expiry).
      - Mutually exclusive with O(commands) and O(devices[].commands).
    type: dict
    suboptions:
      within_days:
        description:
          - Rotate the certificates that expire within this many days (or have expired). Must be less than
            O(sign_csr.validity_days), or every run would rotate every device again.
        type: int
        required: true
      policy:
        description: V(renew) keeps the device's key pair (2 commands); V(rekey) has the device make a new one (3 commands).
        type: str
        choices: [renew, rekey]
        default: renew
      description:
        description: Start of the descriptions of the appended commands, for example C(Certificate rotation 2026-12-04).
        type: str
        default: Certificate rotation
      csr_attributes:
        description:
          - For V(rekey), the CSR subject attributes besides C(CN), as for O(commands[].attributes).
        type: str
      warn_rotations_left:
        description: Warn about a device with this many rotations or fewer left before the 20-command limit.
        type: int
        default: 1
  wait_for:
    description:
      - Follow each device until it reports this status, or any later one (V(AWAITING) is reached before V(PROVISIONED)), for
        at most O(wait_timeout) seconds. Devices that are not there by then are reported as waiting, not failed.
      - A device in C(ERROR) or C(BLOCKED) fails. Not done in check mode.
    type: str
    choices: [AWAITING, PROVISIONED]
  wait_timeout:
    description:
      - Seconds this run follows the devices, for O(wait_for) and for the CSRs of O(sign_csr). Devices that are not there when
        it is over are reported with C(waiting=true) and move on when the task runs again.
      - V(0) reads the statuses once - signing the CSRs that are there - and does not wait.
    type: int
    default: 300
  wait_interval:
    description:
      - Seconds between two status rounds while waiting.
      - While devices are being signed, the next round starts as soon as the work left is less than the module does while a
        round takes, however long the interval, so that a long interval does not leave the work to run dry.
      - A round reads the team's claimed-device list (every page, one after the other), or each device still waited for on
        its own, side by side, once they are at most twice the list's pages - a round trip or two instead of one per page.
        Devices this run did not change and that already have the awaited status are not waited for.
    type: float
    default: 5
  bulk_threshold:
    description:
      - When more than this many devices are to be claimed, they are claimed by CSV bulk requests (C(POST /claimed-devices)
        with C(text/csv), up to 1000 rows each) and the claimed list is read once to confirm them, instead of one request per
        device; their commands are then appended one device after the other as before. V(0) always claims in bulk.
      - A device whose row nRF Cloud refused fails with nRF Cloud's reason, and the others go on. A device the team holds
        although its row was refused (another job claimed it meanwhile) has its history read before anything is appended to
        it, as after a single claim.
    type: int
    default: 10
  skip_onboarded:
    description:
      - Take a device as done, without reading its command history, when the claimed-device list shows it C(PROVISIONED) and
        nRF Cloud device management already has it (one more list, read beside the claimed-device list, instead of a request per
        device). nRF Cloud sets
        C(PROVISIONED) only once the device has run every command of its configuration, and the device is onboarded, so a
        re-run of a factory batch has nothing to append or sign for it.
      - Such a device is reported with C(onboarded=true), its phase C(onboarded), no C(commands), and in RV(onboarding) with
        its id only (device management has its certificate).
      - V(false) compares every history with O(commands), so that a command added to O(commands) later is appended to devices
        provisioned before. Not with O(rotate), which reads every history for the certificates' expiry.
    type: bool
    default: false
  onboard:
    description:
      - Onboard to nRF Cloud device management, with its installed client certificate, every device that is C(PROVISIONED) when
        the run ends and that device management does not have yet - in this task, by CSV bulk requests of up to 1,000 devices
        (C(POST /devices)), followed to their end - as M(iotops.provisioning.nrfcloud_device) would. A factory batch then needs
        no second task, and the certificates do not travel through the results of Ansible (RV(onboarding) is empty).
      - The device management list is read once, beside the claimed-device list. A device already there is left as it is
        (its tags and firmware types are M(iotops.provisioning.nrfcloud_device)'s to change). A device whose row nRF Cloud refuses
        fails with nRF Cloud's reason, and the next run onboards it; a device that is not C(PROVISIONED) yet is onboarded by the
        run that sees it get there.
      - In check mode, a device already C(PROVISIONED) and not in device management is predicted V(onboarded) and C(changed).
    type: dict
    suboptions:
      tags:
        description: "Device management tags of the onboarded devices (letters, digits and C(_ . @ : # -))."
        type: list
        elements: str
      fw_types:
        description: The firmware types the devices support for FOTA.
        type: list
        elements: str
        choices: [APP, MODEM, BOOT, SOFTDEVICE, BOOTLOADER, MDM_FULL]
        default: [APP, MODEM]
      sub_type:
        description: The device sub type; one containing C(gateway) gives the devices gateway permissions.
        type: str
        default: ''
seealso:
  - module: iotops.provisioning.nrfcloud_provisioning_info
  - module: iotops.provisioning.nrfcloud_device
  - module: iotops.provisioning.nrfcloud_provisioning_recovery
  - module: iotops.provisioning.nrfcloud_provisioning_rule
  - name: nRF Cloud provisioning configuration
    description: The commands, their parameters and the device statuses.
    link: https://docs.nrfcloud.com/SecurityServices/ProvisioningService/ProvisioningConfiguration/ProvisioningConfiguration.html
notes:
  - The Provisioning Service accepts at most 20 commands per device, counting those already in its history; the module checks
    that for every device before it writes anything, and a device that would exceed it fails alone.
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
- name: Claim a production batch, get CSRs, sign them with the factory CA and finish, in one task
  iotops.provisioning.nrfcloud_provisioning:
    # batch: [{claim_token: "2dN3bm9y...Q.0oRDoQEmoQRBIfZYQ..."}, ...]
    devices: "{{ batch }}"
    commands:
      - kind: certificateSigningRequest
        description: Generate CSR
        attributes: O=Example Factory,C=no
    sign_csr:
      ca_certificate_path: /etc/factory/ca.pem
      ca_private_key_path: /etc/factory/ca.key
      ca_private_key_passphrase: "{{ vault_factory_ca_passphrase }}"
      validity_days: 1825
      server_certificate: "{{ lookup('ansible.builtin.file', 'AmazonRootCA1.pem') }}"
    wait_for: PROVISIONED
    wait_timeout: 600
    concurrency: 16
    # a re-run of the batch reads two lists for the devices already onboarded, not a history per device
    skip_onboarded: true
    # claim by CSV, a request per 1,000 devices, once more than 50 are to be claimed
    bulk_threshold: 50
  register: provisioned

- name: Claim, provision and onboard a factory batch to device management in one task, the certificates staying in the module
  iotops.provisioning.nrfcloud_provisioning:
    devices: "{{ batch }}"
    commands:
      - kind: certificateSigningRequest
        description: Generate CSR
    sign_csr:
      ca_certificate_path: /etc/factory/ca.pem
      ca_private_key_path: /etc/factory/ca.key
    wait_for: PROVISIONED
    skip_onboarded: true
    onboard:
      tags: [line-7, batch-2026-12]
      fw_types: [APP, MODEM]
      sub_type: ''

- name: Claim one device for Nordic's auto-onboarding and leave the rest to the cloud
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - claim_token: "{{ attestation_token }}"
        tags: [nrf-cloud-onboarding]

- name: Inject a PSK, a configuration and a server certificate on one device, then finish
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
        commands:
          - kind: serverCertificate
            sec_tag: 16842753
            content: "{{ lookup('ansible.builtin.file', 'server-ca.pem') }}"
          - kind: preSharedKey
            sec_tag: 42
            identity: device-42
            secret: "{{ vault_psk_hex }}"
            description: PSK 2026-11
          - kind: clientPrivateKey
            sec_tag: 43
            content: "{{ lookup('ansible.builtin.file', 'device-key.enc.pem') }}"
            password: "{{ vault_device_key_password }}"
          - kind: clientPrivateKeyGeneration
            sec_tag: 44
          - kind: config
            config:
              provisioning.interval-sec: 3600
          - kind: finished
    wait_for: PROVISIONED
    wait_interval: 2

- name: Generate a CSR with a specific key usage on security tag 16842753 and wait until the device answered
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    commands:
      - kind: certificateSigningRequest
        sec_tag: 16842753
        key_usage: "101010000"
    wait_for: AWAITING
  register: csr_run

- name: Sign with a CA given as content (for example from an AWX credential)
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    sign_csr:
      ca_certificate: "{{ factory_ca_pem }}"
      ca_private_key: "{{ factory_ca_key_pem }}"
      description: Client certificate 2026 rotation

- name: Rotate the client certificates that expire within 30 days, keeping each device's key pair
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5c
    rotate:
      within_days: 30
      policy: renew
      description: Certificate rotation {{ now(utc=true, fmt='%Y-%m-%d') }}
      warn_rotations_left: 2
    sign_csr:
      ca_certificate_path: /etc/factory/ca.pem
      ca_private_key_path: /etc/factory/ca.key
      validity_days: 3650
    wait_for: PROVISIONED
  register: rotation

- name: Rotate with a new key pair made on each device
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    rotate:
      within_days: 60
      policy: rekey
      csr_attributes: O=Example Factory,C=no
    sign_csr:
      ca_certificate: "{{ factory_ca_pem }}"
      ca_private_key: "{{ factory_ca_key_pem }}"
      validity_days: 730
    wait_for: PROVISIONED

- name: Unclaim devices that left the fleet
  iotops.provisioning.nrfcloud_provisioning:
    devices:
      - device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
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
      sample: 50434d44-3635-4137-80a1-0c1d2e3f4a5b
    changed:
      description: Whether the device was claimed, unclaimed, signed or got commands.
      type: bool
    failed:
      description: Whether this device failed; RV(outcomes[].msg) says why.
      type: bool
    msg:
      description: The reason of a failure.
      type: str
      returned: when failed
    remedy:
      description: What a person should do about a failure, where the module knows it.
      type: str
      returned: when failed and known
    phase:
      description:
        - Where the device stands after the run (predicted in check mode) - V(claimed), V(waiting for the
          device) (it has not connected and run its commands yet), V(CSR signed) (its certificate waits for
          the device to install it), V(provisioned), V(onboarded) (provisioned and in device management, with O(skip_onboarded) or
          O(onboard)), V(ran its commands, not finished), V(unclaimed), or
          V(needs attention) (ERROR, BLOCKED, refused; see RV(outcomes[].msg) and RV(outcomes[].remedy))
      type: str
      sample: waiting for the device
    waiting:
      description: Whether the next step is the device's own (a later run moves it on); not a failure.
      type: bool
    claimed:
      description: Whether this run claimed the device.
      type: bool
    onboarded:
      description:
        - The device is C(PROVISIONED) and in device management - taken as done by O(skip_onboarded) without reading its history,
          or onboarded by this run with O(onboard) (predicted in check mode).
      type: bool
      returned: with O(skip_onboarded) or O(onboard), for such a device
    bulk_ops_request_id:
      description: The bulk operation that onboarded the device.
      type: str
      returned: with O(onboard), when this run onboarded the device
    unclaimed:
      description: Whether this run unclaimed the device.
      type: bool
    commands_added:
      description: Kind and description of each command this run appended (or would append, in check mode).
      type: list
      elements: dict
    certificate_signed:
      description: Whether this run signed the device's CSR (or would, in check mode).
      type: bool
    certificate:
      description: Subject, issuer, serial number and validity of the certificate this run signed.
      type: dict
      returned: when a CSR was signed
    status:
      description: The device status (READY, PROVISIONING, AWAITING, PROVISIONED, ERROR, BLOCKED) when last read.
      type: str
      sample: PROVISIONED
    commands:
      description:
        - The device's command history - id, kind, description and status, and the response of a command that did not
          succeed. Secrets are never included.
        - Use M(iotops.provisioning.nrfcloud_provisioning_info) to see the requests (certificates) and every response too.
      type: list
      elements: dict
    action:
      description:
        - With O(rotate), what the run did or does for the device - V(renew), V(rekey), V(continue) (carries on a rotation an
          earlier run started) or V(none).
      type: str
      returned: with O(rotate)
      sample: renew
    reason:
      description: With O(rotate), why, in plain words, for example C(expires on 2026-12-14 (in 10 days)).
      type: str
      returned: with O(rotate)
    due:
      description: With O(rotate), whether the device's certificate was within the window.
      type: bool
      returned: with O(rotate)
    policy:
      description: With O(rotate), the policy of the rotation (V(renew) or V(rekey)), null when nothing was rotated.
      type: str
      returned: with O(rotate)
    old_expiry:
      description: With O(rotate), the expiry of the device's certificate before the run (ISO 8601, UTC).
      type: str
      returned: with O(rotate)
      sample: "2026-12-14T08:00:00Z"
    new_expiry:
      description:
        - With O(rotate), the expiry of the certificate the run signed (predicted in check mode for V(renew)); null when none.
      type: str
      returned: with O(rotate)
      sample: "2036-12-02T08:00:05Z"
    new_expiry_pending:
      description: With O(rotate), true when the new certificate is signed once the device has connected and run its CSR command.
      type: bool
      returned: with O(rotate)
    commands_left:
      description: With O(rotate), how many of the 20 commands nRF Cloud allows the device has left after the run.
      type: int
      returned: with O(rotate)
      sample: 15
    rotations_left:
      description: With O(rotate), how many rotations of the policy still fit in them.
      type: int
      returned: with O(rotate)
      sample: 7
    attention:
      description:
        - With O(rotate), a warning that does not fail the device - few rotations left before the 20-command limit - with
          RV(outcomes[].remedy).
      type: str
      returned: when there is one
    csr:
      description: The PEM CSR the device returned for its latest CSR command, and the response field it came in (C(csr) or C(message)).
      type: dict
      returned: when the device returned a CSR
      sample: {pem: "-----BEGIN CERTIFICATE REQUEST-----...", field: csr}
onboarding:
  description:
    - For every device that is provisioned (phase C(provisioned)), its id and its newest installed client certificate, ready for
      O(iotops.provisioning.nrfcloud_device#module:devices).
    - A device taken as done by O(skip_onboarded) has its id only, as device management has it already.
    - Empty with O(onboard), which onboards the devices itself.
  returned: always
  type: list
  elements: dict
  sample: [{device_id: 50434d44-3635-4137-80a1-0c1d2e3f4a5b, certificate: "-----BEGIN CERTIFICATE-----..."}]
summary:
  description: Counts of devices by outcome.
  returned: always
  type: dict
  sample: {total: 200, changed: 200, ok: 0, failed: 0}
'''

import datetime
import time

from ansible_collections.iotops.provisioning.plugins.module_utils._batch import EarlyRead, ReadAhead, Workers, map_concurrently
from ansible_collections.iotops.provisioning.plugins.module_utils._device_locks import DeviceLocks, account_name
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError
from ansible_collections.iotops.provisioning.plugins.module_utils._keys import read_key_file
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_claims import BULK_INTERVAL, BULK_THRESHOLD, BULK_TIMEOUT, BulkClaim
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_onboarding import (
    BULK_INTERVAL as ONBOARD_INTERVAL, BULK_TIMEOUT as ONBOARD_TIMEOUT, FIELDS_SPEC as ONBOARD_SPEC, ONBOARD, BulkOnboarding,
    validate_fields)
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import (
    COMMAND_SPEC, build_request, command_view, count_identical, csr_response, device_id_from_claim_token, latest_client_certificate,
    latest_csr, pending_commands, validate_command, validate_commands)
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_provisioning import (
    PROVISION, SIGN, STATUS_ORDER, STUCK, Device, csr_to_sign, diff_view, follow_groups, history_after, needs_following, phase,
    plan_device, plan_item, rotation_view, settle_step, settled, settled_by_status, signed_since_csr, signed_tail, stuck_failure)
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import NEEDS_ATTENTION, ONBOARDED, PROVISIONED, UNCLAIMED, outcome_phase
from ansible_collections.iotops.provisioning.plugins.module_utils._poll import poll_until
from ansible_collections.iotops.provisioning.plugins.module_utils._progress import Progress
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import (
    BATCH_ARGSPEC, NO_CHANGE, Plan, ResourceModule, run_module, validate_items)
from ansible_collections.iotops.provisioning.plugins.module_utils._x509 import FactoryCA, certificate_pem, certificate_summary, csr_from_device, csr_pem
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ARGSPEC, StatusReader, nrfcloud_client

DEVICE_SPEC = dict(
    claim_token=dict(type='str', no_log=True),
    device_id=dict(type='str'),
    tags=dict(type='list', elements='str'),
    state=dict(type='str', choices=['present', 'absent']),
    commands=dict(type='list', elements='dict', options=COMMAND_SPEC),
)
SIGN_SPEC = dict(
    ca_certificate=dict(type='str'),
    ca_certificate_path=dict(type='path'),
    ca_private_key=dict(type='str', no_log=True),
    ca_private_key_path=dict(type='path', no_log=False),
    ca_private_key_passphrase=dict(type='str', no_log=True),
    validity_days=dict(type='int', default=3650),
    server_certificate=dict(type='str'),
    description=dict(type='str', default='Client certificate signed by the factory CA'),
)
ROTATE_SPEC = dict(
    within_days=dict(type='int', required=True),
    policy=dict(type='str', default='renew', choices=['renew', 'rekey']),
    description=dict(type='str', default='Certificate rotation'),
    csr_attributes=dict(type='str'),
    warn_rotations_left=dict(type='int', default=1),
)
FIRST_POLL = 0.2  # seconds before the second status round; the wait then doubles up to wait_interval


def load_ca(sign):
    """The factory CA of ``sign_csr``, its options checked."""
    def content(option):
        text, path = sign.get(option), sign.get(option + '_path')
        if text and path:
            raise ConfigError('sign_csr: %s and %s_path are mutually exclusive' % (option, option))
        if not (text or path):
            raise ConfigError('sign_csr: %s or %s_path is required' % (option, option))
        return text or read_key_file(path, 'sign_csr.%s_path' % option).decode('utf-8', 'replace')
    if not 1 <= sign['validity_days'] <= 36500:
        raise ConfigError('sign_csr.validity_days must be from 1 to 36500, got %s' % sign['validity_days'])
    if sign.get('server_certificate'):
        validate_commands([dict(kind='serverCertificate', content=sign['server_certificate'])], 'sign_csr.server_certificate')
    return FactoryCA(content('ca_certificate'), content('ca_private_key'), sign.get('ca_private_key_passphrase'))


def validate_rotate(rotate, sign, commands_given):
    if not sign:
        raise ConfigError('rotate needs sign_csr: the factory CA signs the new client certificates')
    if commands_given:
        raise ConfigError('rotate and commands are mutually exclusive: a rotation decides the commands of each device')
    if rotate['within_days'] < 0:
        raise ConfigError('rotate.within_days must be 0 or more, got %d' % rotate['within_days'])
    if rotate['within_days'] >= sign['validity_days']:
        raise ConfigError('rotate.within_days (%d) is not less than sign_csr.validity_days (%d): the new certificates would '
                          'expire within the window again and every run would rotate them, spending 2 or 3 of the 20 '
                          'provisioning commands nRF Cloud allows per device each time. Lower rotate.within_days or raise '
                          'sign_csr.validity_days' % (rotate['within_days'], sign['validity_days']))
    if rotate['warn_rotations_left'] < 0:
        raise ConfigError('rotate.warn_rotations_left must be 0 or more, got %d' % rotate['warn_rotations_left'])
    if rotate.get('csr_attributes'):
        validate_command(dict(kind='certificateSigningRequest', attributes=rotate['csr_attributes']), 'rotate.csr_attributes')


class Provisioning(ResourceModule):
    """validate, read the claimed devices once, plan each device's commands, then apply: claim, append, sign, and follow the
    devices in status rounds (``apply_all``), signing each CSR as soon as its device has run it."""

    items_option = noun = 'devices'

    def __init__(self, module):
        super().__init__(module)
        self.ca = None
        self.locks = None
        self.statuses = None
        self.by_id = {}
        self.early_read = None   # the first status read of the follow, started while the commands are appended
        # clientPrivateKey content shares the option with certificates, so it is not no_log by the spec: mask it here
        for spec in [self.params.get('commands') or []] + [d.get('commands') or [] for d in self.params['devices']]:
            for command in spec:
                if command.get('kind') == 'clientPrivateKey' and command.get('content'):
                    module.no_log_values.add(command['content'])

    # 1. validate everything before any request -----------------------------------------------

    def items(self):
        return [Device(spec, self.params['state'], self.params['commands']) for spec in self.params['devices']]

    def key(self, item):
        return item.device_id or ''

    def validate(self, items):
        sign = self.params.get('sign_csr')
        if sign:
            self.ca = load_ca(sign)
        if self.params['wait_timeout'] < 0:
            raise ConfigError('wait_timeout must be 0 or more seconds, got %s' % self.params['wait_timeout'])
        if self.params['wait_interval'] <= 0:
            raise ConfigError('wait_interval must be greater than 0, got %s' % self.params['wait_interval'])
        if self.params['bulk_threshold'] < 0:
            raise ConfigError('bulk_threshold must be 0 or more, got %d' % self.params['bulk_threshold'])
        if self.params['skip_onboarded'] and self.params.get('rotate'):
            raise ConfigError('skip_onboarded and rotate are mutually exclusive: a rotation reads every history for the expiry of '
                              'the certificates')
        if self.params.get('onboard'):
            validate_fields(self.params['onboard'], 'onboard.')
        if self.params.get('rotate'):
            validate_rotate(self.params['rotate'], sign, bool(self.params['commands'] or any(d.commands for d in items)))

    def validate_item(self, item):
        if item.claim_token and not item.device_id:
            item.device_id = device_id_from_claim_token(item.claim_token)
        if not item.device_id:
            raise ConfigError('device_id or claim_token is required')
        if item.state == 'absent':
            return
        validate_commands(item.commands, 'commands')
        if self.ca is not None and any(c['kind'] == 'finished' for c in item.commands):
            raise ConfigError('commands: do not list finished together with sign_csr; the module appends finished after the '
                              'client certificate')
        item.desired = [(build_request(c, item.device_id), c.get('description')) for c in item.commands]

    def connect(self):
        client = nrfcloud_client(self.module, concurrency=self.params['concurrency'])
        self.locks = DeviceLocks(account_name(self.params['provisioning_api_url'], self.params.get('api_key')))
        return client

    # 2. read the current state once ---------------------------------------------------------

    def read(self, items):
        for device in items:
            # noted before the reads: a write by another job after this point is seen when the run takes the device's lock
            device.generation = self.locks.generation(device.device_id)
        team, managed = self._read_lists(items)
        self.statuses = StatusReader(self.client, self.params['concurrency'], listed=len(team))
        claimed = dict((d['id'], d) for d in team)
        self.by_id = dict((d.device_id, d) for d in items)
        for device in items:
            device.record = claimed.get(device.device_id)
            device.claimed = device.record is not None
            device.status = (device.record or {}).get('status')
            device.in_management = device.device_id in managed
            device.onboarded = (self.params['skip_onboarded'] and device.state == 'present' and device.status == 'PROVISIONED'
                                and device.in_management)
        present = [d for d in items if d.state == 'present']
        validate_items(present, 'devices', self._claimable, label=self.key)
        present = [d for d in present if d.claimed and not d.onboarded]
        histories = map_concurrently(lambda d: self.client.commands(d.device_id), present, self.params['concurrency'])
        for device, history in zip(present, histories):
            device.history = history

    def _read_lists(self, items):
        """The team's claimed devices, and with skip_onboarded or onboard the ids of device management's devices: the two
        lists are read side by side (each is read a page after the other), the second also on a first run, where it costs a
        request per 100 devices."""
        lists = [self.client.claimed_devices]
        if (self.params['skip_onboarded'] or self.params.get('onboard')) and any(d.state == 'present' for d in items):
            lists.append(self.client.list_devices)
        answers = map_concurrently(lambda read: read(), lists, len(lists))
        team = [d for d in answers[0] if isinstance(d, dict) and 'id' in d]
        onboarded = set(d['id'] for d in answers[1] if isinstance(d, dict) and 'id' in d) if len(answers) > 1 else set()
        return team, onboarded

    @staticmethod
    def _claimable(device):
        if not device.claimed and not device.claim_token:
            raise ConfigError('the device is not claimed by this team and no claim_token was given to claim it')

    # 3. plan: the commands of each device, within the 20-command limit ----------------------------

    def plan(self, item):
        if item.onboarded:
            return Plan(item.device_id, device=item)  # done: nothing to append, sign or follow (skip_onboarded)
        plan = plan_item(item, self.params.get('sign_csr'), self.params.get('rotate'), self.client.http.now(),
                         lambda: self.client.commands(item.device_id))
        if self.params.get('onboard') and item.state == 'present':
            to_onboard = self._to_onboard(item) is not None
            plan.before['onboarded'] = item.in_management
            plan.after['onboarded'] = item.in_management or to_onboard
            if to_onboard and not plan.changes:
                plan.action = ONBOARD  # changed; not followed (already PROVISIONED), onboarded after the others
        return plan

    def _to_onboard(self, device):
        """The onboarding row of a device that is PROVISIONED, not in device management and has a client certificate
        installed (None otherwise)."""
        if device.failure or device.in_management or device.status != 'PROVISIONED':
            return None
        certificate = latest_client_certificate(device.history)
        if not certificate:
            return None
        return dict(self.params['onboard'], device_id=device.device_id, certificate=certificate)

    def applies(self, plan):
        return plan.changes or needs_following(plan.data['device'], self.targets())

    def targets(self):
        return STATUS_ORDER.get(self.params['wait_for']) or ()

    # 4. apply: claim, append, sign; then follow the devices ------------------------------------------

    def apply(self, plan):
        device = plan.data['device']
        device.predicted = False
        # nRF Cloud has no conditional append: every write to a device is made holding its lock (see _device_locks)
        try:
            with self.locks.writing(device.device_id, device.generation) as written_meanwhile:
                device.history, device.result = plan.data.get('history', device.history), Device.fresh_result()
                if written_meanwhile:
                    self.read_again(device)
                return self._apply_device(device)
        finally:
            if self.early_read is not None:
                self.early_read.done(device.device_id)

    def _apply_device(self, device):
        if device.state == 'absent':
            device.result['unclaimed'] = device.result['changed'] = device.claimed
            return self.client.unclaim(device.device_id) if device.claimed else None
        if not device.claimed:
            if device.bulk_claim is not None:
                device.record, claimed_now = self._bulk_claimed(device)
            else:
                device.record, claimed_now = self.client.claim(device.claim_token, device.tags, device.device_id)
            device.status = (device.record or {}).get('status')
            device.result['claimed'] = device.result['changed'] = claimed_now
            if not claimed_now:
                self.read_again(device)  # another job claimed it meanwhile, maybe from another machine: decide again
        if device.missing:
            device.status_at_write = device.status
        for request, description in device.missing:
            self.append(device, request, description, device.history)
        if device.renew:
            self.sign_device(device, device.history)  # its CSR ran long ago: no need to wait for the device
        return None

    def apply_all(self, plans):
        self._claim_in_bulk([plan.data['device'] for plan in plans])
        self.early_read = self._early_read([plan.data['device'] for plan in plans])
        applied = super().apply_all(plans)
        done = [p for p in plans if p.data['device'].state == 'present' and not applied[p.item].get('failed')]
        now, once = follow_groups([p.data['device'] for p in done], self.targets())
        if now:
            self.follow(now)
        if once:
            self.follow(once, timeout=0)
        self._refresh([p.data['device'] for p in done])
        if self.params.get('onboard'):
            self._onboard([p.data['device'] for p in done])
        for plan in done:
            device = plan.data['device']
            device.result['certificate_signed'] = device.signed
            device.result['changed'] = device.result['changed'] or device.signed or device.onboarding is not None
            plan.action = PROVISION if device.result['changed'] else NO_CHANGE
            plan.after = diff_view(True, history_after(device, self.params['sign_csr']))
            if self.params.get('onboard'):
                plan.after['onboarded'] = device.in_management or device.onboarding is not None
        return applied

    def _onboard(self, devices):
        """Onboard the devices that got to PROVISIONED (in this run or an earlier one) and are not in device management yet:
        a bulk request per 1,000, followed to its end. A refused row fails its device with nRF Cloud's reason."""
        rows = [row for row in (self._to_onboard(device) for device in devices) if row is not None]
        if not rows:
            return
        outcomes = BulkOnboarding(self.client, ONBOARD_TIMEOUT, min(ONBOARD_INTERVAL, self.params['wait_interval'])).run(rows)
        for row in rows:
            device, outcome = self.by_id[row['device_id']], outcomes.get(row['device_id']) or {}
            if outcome.get('failed'):
                device.failure = self.client.http.redact(outcome.get('msg') or 'the bulk onboarding did not onboard it')
            else:
                device.onboarding = outcome

    def _early_read(self, devices):
        """The first status read of the follow, started while the last commands are appended: once fewer are left than the
        workers append while the claimed list is read (a round trip per page), so that the workers do not wait for it.
        None when nothing will be followed."""
        present = [d.device_id for d in devices if d.state == 'present']
        if not present or not (self.targets() or self.params.get('sign_csr')):
            return None
        # the list's pages once this run's claims are in it (a bulk claim read it with them; one by one, they are still to come)
        to_claim = sum(1 for d in devices if d.state == 'present' and not d.claimed and d.bulk_claim is None)
        pages = StatusReader.pages_for(self.statuses.listed + to_claim)
        # a read judges only the devices appended before it started: not before half of them were
        left = min(self.params['concurrency'] * (pages + 1), len(devices) // 2)
        return EarlyRead(lambda: self.statuses(present), len(devices), left)

    def _claim_in_bulk(self, devices):
        """More than bulk_threshold devices to claim: claim them by CSV (a request per 1,000 and a read of the claimed list)
        before their commands are appended one device after the other; each device's outcome waits in ``bulk_claim``."""
        unclaimed = [d for d in devices if d.state == 'present' and not d.claimed]
        if not unclaimed or len(unclaimed) <= self.params['bulk_threshold']:
            return
        bulk = BulkClaim(self.client, BULK_TIMEOUT, BULK_INTERVAL)
        outcomes = bulk.run([dict(claim_token=d.claim_token, tags=d.tags, device_id=d.device_id) for d in unclaimed])
        for device in unclaimed:
            device.bulk_claim = dict(outcomes.get(device.device_id) or {}, record=bulk.records.get(device.device_id),
                                     elsewhere=device.device_id in bulk.claimed_elsewhere)
        if bulk.records:
            self.statuses.listed = len(bulk.records)  # the claimed list, read again with this run's claims in it

    @staticmethod
    def _bulk_claimed(device):
        """(its record, claimed by this run) from the bulk claim; a refused row fails the device with nRF Cloud's reason."""
        outcome = device.bulk_claim
        if outcome.get('failed'):
            raise IotopsError(outcome.get('msg') or 'the bulk claim did not claim it')
        return outcome['record'], not outcome['elsewhere']

    def read_again(self, device):
        """Another job wrote to the device since it was read: read its record and history again and decide its commands
        again, so that nothing it appended is appended twice."""
        device.record = self.client.claimed_device(device.device_id)
        device.claimed = device.record is not None
        device.status = (device.record or {}).get('status')
        device.history = self.client.commands(device.device_id) if device.claimed else []
        device.renew, device.rotation = False, None
        if device.state == 'present':
            plan_device(device, self.params.get('sign_csr'), self.params.get('rotate'), self.client.http.now())
            if device.failure:
                raise IotopsError(device.failure)

    def _refresh(self, devices):
        """Read the histories again where commands are still shown pending: the device has not got to PROVISIONED since this
        run appended them (what it ran meanwhile is read), or it is PROVISIONED while the history read before still has
        commands pending (another job's, which the device ran since). A device that got to PROVISIONED after this run's
        commands has run them all and is not read again (``Device.ran_all``), nor is one still READY (it has not connected:
        nothing it holds has run)."""
        stale = [d for d in devices if pending_commands(d.history) and not d.ran_all()
                 and (d.status == 'PROVISIONED' or ((d.result['changed'] or d.signed) and d.status != 'READY'))]
        histories = map_concurrently(lambda d: self.client.commands(d.device_id), stale, self.params['concurrency'])
        for device, history in zip(stale, histories):
            device.history = history

    def append(self, device, request, description, history):
        """Append one command to the device's configuration; ``history`` tells how many identical ones it held before."""
        created = self.client.add_command(device.device_id, request, description, count_identical(history, request, description))
        device.append(request, description, (created or {}).get('id') if isinstance(created, dict) else None)

    def sign_device(self, device, history=None):
        """Sign the device's newest CSR and append the certificate commands, once the device has run its CSR command.

        Returns False while the CSR command has not run yet (the device has not connected)."""
        history = self.client.commands(device.device_id) if history is None else history
        device.history = history
        if not device.renew and signed_since_csr(history):
            device.needs_signing = False  # another job signed it and appends the rest: this run follows the device
            return True
        csr_command = csr_to_sign(device, history)
        if csr_command is None:
            return False
        sec_tag = csr_command['request']['certificateSigningRequest'].get('secTag')
        value, field = csr_response(csr_command)
        csr = csr_from_device(value)
        cert = self.ca.sign(csr, self.params['sign_csr']['validity_days'], now=self.client.http.now())
        device.status_at_write = device.status
        for request, description in signed_tail(self.params['sign_csr'], sec_tag, certificate_pem(cert)):
            self.append(device, request, description, history)
        device.signed = True
        device.result['certificate'] = certificate_summary(cert)
        device.result['csr'] = dict(pem=csr_pem(csr), field=field)
        return True

    def _stuck(self, device):
        """Fail a device in ERROR or BLOCKED with the device's own words and what a person does about it."""
        stuck_failure(device, lambda: self.client.commands(device.device_id))

    # 5. follow the devices: sign CSRs as they arrive, until each is where the run takes it --------

    def _settle(self, device):
        """One status round for a device: True once it is settled. One device's refused or failed request fails that
        device, not the round."""
        try:
            step = settle_step(device)
            if step == STUCK:
                self._stuck(device)
            elif step == SIGN:
                with self.locks.writing(device.device_id, device.generation):
                    self.sign_device(device)  # reads the history again under the lock: always current
            done = settled(device, self.targets())
            if done is None:
                # the status was already there before this run's commands: only the history tells whether they ran
                device.history = self.client.commands(device.device_id)
                done = not pending_commands(device.history)
            return done
        except IotopsError as exc:
            device.failure = self.client.http.redact(exc.msg)
            return True

    def follow(self, devices, timeout=None):
        """Read the statuses until each of ``devices`` is settled or wait_timeout runs out (one look with 0).

        A device whose status asks for work (its CSR has run: sign it; ERROR or BLOCKED: read why; only its history can
        tell) is worked by the pool as soon as a read shows it, while the statuses are read again beside it: no look waits
        for the slowest device of the one before. While the pool has more work than it does while a read takes
        (``ReadAhead``), the statuses are not read: what a read would find could only wait behind it. Once it has less, the
        next read starts at once, whatever wait_interval says, so that the pool does not run dry. A device still waiting
        for its turn when the time is up is not a failure: it is reported as waiting, and the next run moves it on."""
        progress = Progress.current(len(self.by_id))
        everyone = list(self.by_id.values())
        early, self.early_read = self.early_read, None
        targets = self.targets()
        unread = False  # work was handed to the pool since the last status read: its outcome is not read yet
        ahead = ReadAhead(self.params['concurrency'])
        with Workers(ahead.timed(self._settle), self.params['concurrency']) as workers:

            def settle(answers):
                for device, done in answers:
                    device.settled = bool(done)

            def look():
                nonlocal unread, early
                settle(workers.finished())
                if workers.backlog() >= ahead.threshold():
                    return False  # work waits for the pool: a status read now would only queue more behind it
                idle = [d for d in devices if not d.settled and d not in workers]
                answers = early.answers() if early is not None and idle else None
                if answers is not None:
                    # the read started before the appends ended: it judges only the devices appended before it started
                    ahead.read_seconds, early = early.seconds, None
                    idle = [d for d in idle if d.device_id in answers]
                    for device in idle:
                        device.status = answers[device.device_id]
                elif idle:
                    early = None
                    ahead.read(self._read_statuses, idle)
                for device in idle:
                    answer = settled_by_status(device, targets)
                    if answer is None:
                        workers.submit(device)
                    else:
                        device.settled = answer
                unread = len(workers) > 0
                left = [d for d in devices if not d.settled]
                progress.set(done=len(everyone) - len(left), failed=sum(1 for d in everyone if d.failure),
                             waiting=len(left), stage='waiting for devices to connect')
                return not left

            def pause(seconds):
                # a pool with more work than the threshold ends the pause as soon as it has less: the next read comes
                # while it still has work; otherwise the pause lasts, as the devices need their time
                if workers.backlog() >= ahead.threshold():
                    workers.wait_below(ahead.threshold(), seconds)
                else:
                    time.sleep(seconds)

            poll_until(look, self.params['wait_timeout'] if timeout is None else timeout, self.params['wait_interval'],
                       first=min(FIRST_POLL, self.params['wait_interval']), sleep=pause)
            settle(workers.drain())  # the devices being signed when the time ran out
        # the time is up after work the looks did not follow (skipped while devices queued for the workers, or signed since
        # the last read): one more read, so that a device that got to its target meanwhile is reported there, not as waiting;
        # nothing is sent to a device now
        last = [d for d in devices if not d.settled] if unread else []
        self._read_statuses(last)
        for device in last:
            device.settled = bool(settled_by_status(device, targets))

    def _read_statuses(self, devices):
        if devices:
            for device_id, status in self.statuses([d.device_id for d in devices]).items():
                self.by_id[device_id].status = status

    # 6. report: status, commands and phase of each device --------------------------------------------

    def outcomes(self, results):
        for result in results:
            device = self.by_id[result['item']]
            result.pop('action', None)  # the outcome's action is the rotation's (below)
            if result.get('failed'):
                if device.remedy:
                    result['remedy'] = device.remedy
                outcome_phase(result, NEEDS_ATTENTION)
                continue
            result.update((key, device.result[key]) for key in ('claimed', 'unclaimed', 'commands_added', 'certificate_signed'))
            if device.state != 'present':
                outcome_phase(result, UNCLAIMED)
            else:
                self._report(device, result)
        # the certificates go into onboarding only: a batch result of thousands of devices must stay small
        onboarding = []
        for result in results:
            certificate = result.pop('client_certificate', None)
            if self.params.get('onboard'):
                continue  # onboarded by the module itself: the certificates stay here
            if result.get('onboarded'):
                onboarding.append(dict(device_id=result['item']))  # device management has its certificate
            elif certificate and result.get('phase') == PROVISIONED:
                onboarding.append(dict(device_id=result['item'], certificate=certificate))
        self.extra['onboarding'] = onboarding
        return results

    def _report(self, device, result):
        if device.onboarded:
            result.update(status=device.status, onboarded=True)
            outcome_phase(result, ONBOARDED)
            return
        for key in ('certificate', 'csr'):
            if key in device.result:
                result[key] = device.result[key]
        result['commands'] = [command_view(c, with_request=False) for c in device.history]
        result['status'] = device.status
        if 'csr' not in result:
            csr = latest_csr(device.history)
            if csr:
                result['csr'] = csr
        certificate = latest_client_certificate(device.history)
        if certificate:
            result['client_certificate'] = certificate
        if device.failure:
            result['failed'] = True
            result['msg'] = device.failure
            if device.remedy:
                result['remedy'] = device.remedy
        if device.rotation is not None:
            result.update(rotation_view(device, self.params['sign_csr'], self.params['rotate']['policy'], self._predicted_expiry(device)))
        # a prediction (check mode) onboards what a real run would: the device as it was read
        predicted = device.predicted and self.params.get('onboard') and self._to_onboard(device) is not None
        onboarded = not device.failure and (device.onboarding is not None or predicted)
        if onboarded:
            result['onboarded'] = True
            if (device.onboarding or {}).get('bulk_ops_request_id'):
                result['bulk_ops_request_id'] = device.onboarding['bulk_ops_request_id']
        outcome_phase(result, ONBOARDED if onboarded else phase(device))

    def _predicted_expiry(self, device):
        """The expiry a renewal signed now would get (a prediction's new_expiry)."""
        if not (device.predicted and device.renew):
            return None
        signed_at = datetime.datetime.fromtimestamp(self.client.http.now(), datetime.timezone.utc)
        return self.ca.not_after(self.params['sign_csr']['validity_days'], signed_at).timestamp()


def main():
    run_module(Provisioning, ARGSPEC, **BATCH_ARGSPEC,
               devices=dict(type='list', elements='dict', required=True, options=DEVICE_SPEC),
               commands=dict(type='list', elements='dict', options=dict(COMMAND_SPEC)),
               state=dict(type='str', default='present', choices=['present', 'absent']),
               sign_csr=dict(type='dict', options=SIGN_SPEC),
               rotate=dict(type='dict', options=ROTATE_SPEC),
               wait_for=dict(type='str', choices=['AWAITING', 'PROVISIONED']),
               wait_timeout=dict(type='int', default=300),
               wait_interval=dict(type='float', default=5.0),
               skip_onboarded=dict(type='bool', default=False),
               onboard=dict(type='dict', options=ONBOARD_SPEC),
               bulk_threshold=dict(type='int', default=BULK_THRESHOLD))


if __name__ == '__main__':
    main()
