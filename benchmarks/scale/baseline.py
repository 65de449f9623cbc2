# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline: the obvious playbook, one ansible.builtin.uri task per API call, each task looped over the devices.

It does the same per-device work as the role, in the same four clouds and the same order, for the same
factory-fresh devices:
- u-blox, before the devices bootstrap (the vendor's path for new devices): one login for the whole play, the
  tag created once and the device profile's bootstrap provisioning (LocalDPR) set once, before the devices;
  then per device the whitelist (ROTPublicUID and IMEI), so that the module bootstraps ACTIVATED with the
  profile's features;
- iotcomms.io: PUT the SIP device, with an RS256 JWT minted once by the benchmark before the play;
- NAO Cloud: POST the tracking tag with the API key;
- nRF Cloud: claim; CSR command; poll the command until SUCCEEDED; sign the CSR (one ansible.builtin.command
  task per device running a small Python script with ``cryptography``: the same signing the module does in
  process); clientCertificate command; finished command; poll the device until PROVISIONED; onboard it to
  device management (a one-row CSV) and poll the bulk operation until SUCCEEDED;
- u-blox, once the device has bootstrapped: poll the device until u-blox knows it (u-blox refuses a tag for a
  device that has not bootstrapped), then assign the batch tag. Its features came with the bootstrap, so the
  device-level feature provisioning of the old flow is left out (the role sends none either).
Polls wait as long as the role's poll interval between tries. Each looped task is one worker and one uri (or
command) module run per device, which is cheaper for the baseline than including a task file per device.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import jwt

from iotops_mock import credentials

from . import fleet

SIGNER = r'''"""Sign one device CSR (base64url DER as nRF91 modems return it, or PEM) with the bench factory CA; print the PEM."""
import base64
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

ca_cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
ca_key = serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)
days = int(sys.argv[3])
value = sys.stdin.read().strip()
if 'BEGIN CERTIFICATE REQUEST' in value:
    csr = x509.load_pem_x509_csr(value.encode())
else:
    body = value.split('.')[0]
    csr = x509.load_der_x509_csr(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject).public_key(csr.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256()))
sys.stdout.write(cert.public_bytes(serialization.Encoding.PEM).decode())
'''

PLAY = r'''---
- name: Baseline - one ansible.builtin.uri task per API call, looped per device
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    devices: "{{ lookup('ansible.builtin.file', bench_dir ~ '/devices.json') | from_json }}"
    nrf_headers:
      Authorization: "Bearer {{ nrf_api_key }}"
  tasks:
    - name: Log in to u-blox once
      ansible.builtin.uri:
        url: "{{ ublox_url }}/authenticate"
        method: POST
        body_format: json
        body: {APIKey: "{{ ublox_api_key }}", APISecret: "{{ ublox_api_secret }}"}
      register: ublox_login

    - name: Create the batch tag once
      ansible.builtin.uri:
        url: "{{ ublox_url }}/tag/create"
        method: POST
        headers: {Authorization: "{{ ublox_login.json.AuthToken }}"}
        body_format: json
        body: {TagName: "{{ ublox_tag }}"}

    - name: Set the device profile's bootstrap provisioning once (the features of the modules that bootstrap)
      ansible.builtin.uri:
        url: "{{ ublox_url }}/deviceprofile/bootstrapprovisioning/set"
        method: POST
        headers: {Authorization: "{{ ublox_login.json.AuthToken }}"}
        body_format: json
        body: {DeviceProfileUID: "{{ ublox_profile }}", Provisioning: {Authorizations: [{Name: LocalDPR, State: ENABLED}]}}

    - name: u-blox - whitelist, before the module bootstraps
      ansible.builtin.uri:
        url: "{{ ublox_url }}/device/whitelist/add"
        method: POST
        headers: {Authorization: "{{ ublox_login.json.AuthToken }}"}
        body_format: json
        body: {Action: ADD, ROTPublicUIDs: ["{{ device.rot }}"], IMEIs: ["{{ device.imei }}"]}
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}

    - name: iotcomms.io - SIP device
      ansible.builtin.uri:
        url: "{{ iotcomms_url }}/provisioning/device/{{ iotcomms_domain }}"
        method: PUT
        headers: {Authorization: "Bearer {{ iotcomms_jwt }}"}
        body_format: json
        body: {deviceId: "{{ device.sip_id }}", deviceType: alarmUnit, authType: deviceid, description: "{{ ublox_tag }}"}
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}

    - name: NAO Cloud - tracking tag
      ansible.builtin.uri:
        url: "{{ nao_url }}/sites/{{ nao_site }}/nao_trackables"
        method: POST
        headers: {Authorization: "{{ nao_api_key }}"}
        body_format: json
        body: {nao_trackable: {tracking_id: "{{ device.mac }}", name: "{{ device.name }}"}}
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}

    - name: nRF Cloud - claim
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices"
        method: POST
        headers: "{{ nrf_headers }}"
        body_format: json
        body: {claimToken: "{{ device.claim_token }}"}
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}

    - name: nRF Cloud - CSR command
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices/{{ device.nrf_id }}/provisioning"
        method: POST
        headers: "{{ nrf_headers }}"
        body_format: json
        body:
          request: {certificateSigningRequest: {secTag: "{{ sec_tag | int }}", attributes: "CN={{ device.nrf_id }}", keyUsage: "101010000"}}
          description: Generate CSR
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}
      register: csr_commands

    - name: nRF Cloud - poll the CSR command until it is done
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices/{{ device.nrf_id }}/provisioning/{{ csr_commands.results[index].json.id }}"
        headers: "{{ nrf_headers }}"
      loop: "{{ devices }}"
      loop_control: {loop_var: device, index_var: index, label: "{{ device.serial }}"}
      register: csrs
      until: csrs.json.status == 'SUCCEEDED'
      retries: 300
      delay: %(delay)s

    - name: Sign the CSR with the factory CA
      ansible.builtin.command:
        argv: ["{{ ansible_playbook_python }}", "{{ bench_dir }}/sign.py", "{{ bench_dir }}/factory-ca.pem", "{{ bench_dir }}/factory-ca.key", "3650"]
        stdin: "{{ csrs.results[index].json.response.certificateSigningRequest.csr }}"
      loop: "{{ devices }}"
      loop_control: {loop_var: device, index_var: index, label: "{{ device.serial }}"}
      register: certificates
      changed_when: true

    - name: nRF Cloud - clientCertificate command
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices/{{ device.nrf_id }}/provisioning"
        method: POST
        headers: "{{ nrf_headers }}"
        body_format: json
        body:
          request: {clientCertificate: {secTag: "{{ sec_tag | int }}", content: "{{ certificates.results[index].stdout }}"}}
          description: Client certificate signed by the factory CA
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, index_var: index, label: "{{ device.serial }}"}

    - name: nRF Cloud - finished command
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices/{{ device.nrf_id }}/provisioning"
        method: POST
        headers: "{{ nrf_headers }}"
        body_format: json
        body: {request: {finished: {}}, description: Provisioning finished}
        status_code: [200, 201]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}

    - name: nRF Cloud - poll the device until PROVISIONED
      ansible.builtin.uri:
        url: "{{ nrf_prov_url }}/claimed-devices/{{ device.nrf_id }}"
        headers: "{{ nrf_headers }}"
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}
      register: provisioned
      until: provisioned.json.status == 'PROVISIONED'
      retries: 300
      delay: %(delay)s

    - name: nRF Cloud - onboard to device management (one CSV row)
      ansible.builtin.uri:
        url: "{{ nrf_url }}/devices"
        method: POST
        headers: {Authorization: "Bearer {{ nrf_api_key }}", Content-Type: text/csv}
        body: '{{ device.nrf_id }},,,APP|MODEM,"{{ certificates.results[index].stdout | trim }}{{ "\n" }}"{{ "\n" }}'
        status_code: [200, 202]
      loop: "{{ devices }}"
      loop_control: {loop_var: device, index_var: index, label: "{{ device.serial }}"}
      register: onboarding

    - name: nRF Cloud - poll the bulk operation until it is done
      ansible.builtin.uri:
        url: "{{ nrf_url }}/bulk-ops-requests/{{ onboarding.results[index].json.bulkOpsRequestId }}"
        headers: "{{ nrf_headers }}"
      loop: "{{ devices }}"
      loop_control: {loop_var: device, index_var: index, label: "{{ device.serial }}"}
      register: bulk
      until: bulk.json.status == 'SUCCEEDED'
      retries: 300
      delay: %(delay)s

    - name: u-blox - poll the device until it has bootstrapped
      ansible.builtin.uri:
        url: "{{ ublox_url }}/device/info/get"
        method: POST
        headers: {Authorization: "{{ ublox_login.json.AuthToken }}"}
        body_format: json
        body: {ROTPublicUIDs: ["{{ device.rot }}"], Options: [CORE]}
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}
      register: bootstrapped
      until: bootstrapped.json.DeviceInfo | length > 0
      retries: 300
      delay: %(delay)s

    - name: u-blox - tag
      ansible.builtin.uri:
        url: "{{ ublox_url }}/tag/assign"
        method: POST
        headers: {Authorization: "{{ ublox_login.json.AuthToken }}"}
        body_format: json
        body: {TagNames: ["{{ ublox_tag }}"], ROTPublicUIDs: ["{{ device.rot }}"]}
      loop: "{{ devices }}"
      loop_control: {loop_var: device, label: "{{ device.serial }}"}
'''

# The tasks worked once per device (the rest is set-up done once per play).
PER_DEVICE_PREFIXES = ('nRF Cloud -', 'Sign the CSR', 'u-blox -', 'iotcomms.io -', 'NAO Cloud -')


def iotcomms_jwt():
    """The RS256 JWT of the mock tenant, minted once before the play (valid one hour, the platform's limit)."""
    with open(credentials.IOTCOMMS_PRIVATE_KEY_PATH, 'rb') as handle:
        key = handle.read()
    now = int(time.time())
    return jwt.encode({'sub': credentials.IOTCOMMS_DOMAIN, 'iat': now, 'exp': now + 3600}, key, algorithm='RS256')


def prepare(workdir, mock, rows, ca_paths):
    """Write the baseline playbook, its signer and its device list into ``workdir``; return (playbook, extra vars file)."""
    os.makedirs(workdir, exist_ok=True)
    playbook = os.path.join(workdir, 'baseline.yml')
    with open(playbook, 'w', encoding='utf-8') as handle:
        handle.write(PLAY % dict(delay=fleet.POLL_INTERVAL))
    with open(os.path.join(workdir, 'sign.py'), 'w', encoding='utf-8') as handle:
        handle.write(SIGNER)
    for source, name in zip(ca_paths, ('factory-ca.pem', 'factory-ca.key')):
        with open(source, 'rb') as src, open(os.path.join(workdir, name), 'wb') as dst:
            dst.write(src.read())
    devices = [dict(serial=r['serial'], claim_token=r['nrfcloud_claim_token'], nrf_id=r['nrfcloud_device_id'], rot=r['ublox_rot_public_uid'],
                    imei=r['ublox_imei'], sip_id=r['iotcomms_device_id'], mac=r['naocloud_mac'], name=r['naocloud_name']) for r in rows]
    with open(os.path.join(workdir, 'devices.json'), 'w', encoding='utf-8') as handle:
        json.dump(devices, handle)
    urls = mock.api_urls()
    extra = dict(bench_dir=workdir, nrf_url=urls['NRFCLOUD_API_URL'], nrf_prov_url=urls['NRFCLOUD_PROVISIONING_API_URL'],
                 nrf_api_key=credentials.NRFCLOUD_TEAM_A_API_KEY, sec_tag=fleet.SEC_TAG, ublox_url=urls['UBLOX_API_URL'],
                 ublox_api_key=credentials.UBLOX_API_KEY, ublox_api_secret=credentials.UBLOX_API_SECRET, ublox_tag=fleet.UBLOX_TAG,
                 ublox_profile=fleet.UBLOX_PROFILE, iotcomms_url=urls['IOTCOMMS_API_URL'], iotcomms_domain=credentials.IOTCOMMS_DOMAIN,
                 iotcomms_jwt=iotcomms_jwt(),
                 nao_url=urls['NAOCLOUD_API_URL'], nao_site=fleet.SITE_ID, nao_api_key=credentials.NAOCLOUD_API_KEY)
    extra_path = os.path.join(workdir, 'extra-vars.json')
    with open(extra_path, 'w', encoding='utf-8') as handle:
        json.dump(extra, handle)
    return playbook, extra_path


def per_device_seconds(timings, devices):
    """(seconds per device, marginal seconds per device, seconds of the once-per-play set-up) from the bench callback's timings.

    Per device: the time of the looped tasks divided by N. Marginal: per looped task, the median time between two loop
    items (what one more device costs, without the task's fixed start-up), summed over the tasks; with one device it is
    the item's whole time.
    """
    looped = setup = marginal = 0.0
    for task in timings['tasks']:
        duration = task['end'] - task['start']
        if not task['name'].startswith(PER_DEVICE_PREFIXES):
            setup += duration
            continue
        looped += duration
        steps = [b - a for a, b in zip([task['start']] + task['items'], task['items'])]
        if len(steps) > 1:
            marginal += statistics.median(steps[1:])
        elif steps:
            marginal += steps[0]
    return looped / devices, marginal, setup
