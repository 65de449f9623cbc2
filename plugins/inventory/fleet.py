# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of a device fleet: one host per physical device, from batch manifests and the four vendor clouds."""

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet
short_description: A fleet of IoT devices as hosts, from batch manifests and the nRF Cloud, u-blox, iotcomms.io and NAO Cloud APIs
version_added: 0.2.0
description:
  - Makes one host per physical device. The devices come from batch manifests (the CSV or YAML files that
    M(iotops.provisioning.manifest_info) reads, checked by the same rules) and, when enabled, from the clouds - nRF Cloud
    (claimed devices and devices in device management), u-blox Security Services (modules with given tags, whitelisted
    modules, and the manifests' modules), iotcomms.io (the SIP devices of a tenant domain) and NAO Cloud (the tracking tags
    of a site).
  - 'A device from a manifest is named by its serial. A device that is in a cloud but in no manifest is named by its id in the
    first cloud that has it, in this order: its nRF Cloud device id, its u-blox ROTPublicUID (or its IMEI, for a module
    whitelisted by IMEI that has not bootstrapped yet), its iotcomms.io device id, its NAO Cloud tracking MAC. A manifest row
    and cloud records that share an identity (nRF Cloud device id, ROTPublicUID, IMEI, iotcomms.io device id, or MAC address)
    are one host.'
  - Every host gets C(ansible_connection=local) and C(ansible_python_interpreter={{ ansible_playbook_python }}) - the modules
    of the collection call cloud APIs and run on the controller - and the variables C(iotops_serial), C(iotops_batch),
    C(iotops_manifest) (only for a device from a manifest), C(iotops_vendors), C(iotops_nrfcloud_device_id),
    C(iotops_ublox_rot_public_uid), C(iotops_ublox_imei), C(iotops_iotcomms_device_id), C(iotops_iotcomms_mac),
    C(iotops_naocloud_mac), C(iotops_naocloud_name), C(iotops_ublox_tags), C(iotops_nrfcloud_tags) and C(iotops_phases).
    An identity the device does not have, or that no source gave, is V(null); a tag list that no cloud gave is empty.
  - C(iotops_phases) holds, per cloud that was read and in which the device has an identity, where the device stands there, in
    the words of the collection's reports and of the fleet audit - for example V(provisioned), V(awaiting) or V(missing) for nRF
    Cloud, V(bootstrapped), V(waiting for bootstrap) or V(not whitelisted) for u-blox, V(present) or V(missing) for iotcomms.io
    and NAO Cloud. A device in nRF Cloud device management is V(onboarded).
  - Every host is in the groups C(batch_<batch>) (devices from a manifest) and C(vendor_<vendor>) for each cloud it has an
    identity with, plus the groups of O(keyed_groups) and O(groups). Every character of a group name that is not a letter, digit
    or underscore becomes an underscore.
  - Secrets never become variables and are never cached - the attestation tokens of the C(nrfcloud_claim_token) column only
    give the nRF Cloud device id, and API keys, secrets, passwords, private keys and the tokens obtained at run time stay in
    the plugin's memory.
  - The clouds are read with their list calls, every page, once per inventory load (u-blox's device information is read 100
    modules per request); no device is read on its own.
  - See the inventory guide (docs/inventory.md in the collection) for AWX inventory sources, caching and job slicing.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; the inventory file is taken by this plugin when it says so.
    required: true
    type: str
    choices: [iotops.provisioning.fleet]
  manifests:
    description:
      - The batch manifests, each a path or a mapping with C(path), C(batch) and C(format).
      - A relative path is relative to the directory of this inventory file.
      - C(batch) names the batch of the manifest's devices (C(iotops_batch) and the group C(batch_<batch>)); by default it is the
        file name without its extension.
      - C(format) (V(csv) or V(yaml)) is needed only when the file name does not end in C(.csv), C(.yml), C(.yaml) or C(.json).
      - A row with a problem fails the whole inventory with every problem of the manifest, by the rules of
        M(iotops.provisioning.manifest_info). A device may be in one manifest only.
    type: list
    elements: raw
    default: []
  cloud_only_devices:
    description:
      - Add the devices found in a cloud but in no manifest as hosts of their own.
      - With V(false), the clouds only complete the devices of the manifests (their phases, tags and missing identities).
    type: bool
    default: true
  nrfcloud:
    description:
      - Read nRF Cloud - every claimed device of the team (Provisioning Service) and every device in device management.
      - The connection options are those of the nRF Cloud modules, with the same environment variables. Leave the mapping out
        to not read nRF Cloud.
    type: dict
    suboptions:
      enabled:
        description: Read this cloud. V(false) keeps the settings but leaves the cloud out.
        type: bool
        default: true
      api_url:
        description: Base URL of the device API, including C(/v1). If not set, E(NRFCLOUD_API_URL), then the default.
        type: str
        default: https://api.nrfcloud.com/v1
      provisioning_api_url:
        description: Base URL of the Provisioning Service, including C(/v1). If not set, E(NRFCLOUD_PROVISIONING_API_URL), then the default.
        type: str
        default: https://api.provisioning.nrfcloud.com/v1
      api_key:
        description: The API key of the team. If not set, E(NRFCLOUD_API_KEY). One of the two is required.
        type: str
      timeout:
        description: Seconds to wait for a connection and an answer. If not set, E(IOTOPS_TIMEOUT), then V(30).
        type: float
        default: 30
      validate_certs:
        description: Verify the TLS certificate of the API. If not set, E(IOTOPS_VALIDATE_CERTS), then V(true).
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to trust instead of the system's. If not set, E(IOTOPS_CA_PATH).
        type: path
      use_proxy:
        description: Use the proxy of the environment (E(https_proxy)). If not set, E(IOTOPS_USE_PROXY), then V(true).
        type: bool
        default: true
      retries:
        description: How often a request that can be retried safely is retried (0 to 20). If not set, E(IOTOPS_RETRIES), then V(5).
        type: int
        default: 5
      retry_max_wait:
        description: The longest wait before a retry, in seconds. If not set, E(IOTOPS_RETRY_MAX_WAIT), then V(60).
        type: float
        default: 60
      rate_limit:
        description: The most requests per second sent to this cloud; V(0) or not set is no limit. If not set, E(IOTOPS_RATE_LIMIT).
        type: float
  ublox:
    description:
      - Read u-blox Security Services - the manifests' modules, the modules with any of O(ublox.tags), and with
        O(ublox.whitelist=true) every whitelisted module; the whitelist is always read, to tell a module waiting for its
        bootstrap from one that is not whitelisted.
      - The connection options are those of the u-blox modules, with the same environment variables. Leave the mapping out to
        not read u-blox.
    type: dict
    suboptions:
      enabled:
        description: Read this cloud. V(false) keeps the settings but leaves the cloud out.
        type: bool
        default: true
      tags:
        description: Add the modules that have any of these u-blox tags. A tag u-blox does not have is an error.
        type: list
        elements: str
      whitelist:
        description: Add every whitelisted module, bootstrapped or not.
        type: bool
        default: false
      api_url:
        description: Base URL of the API, including C(/v1). If not set, E(UBLOX_API_URL), then the default.
        type: str
        default: https://ssapi.services.u-blox.com/v1
      api_key:
        description: The APIKey, with O(ublox.api_secret). If not set, E(UBLOX_API_KEY).
        type: str
      api_secret:
        description: The APISecret of O(ublox.api_key). If not set, E(UBLOX_API_SECRET).
        type: str
      auth_token:
        description: An AuthToken instead of the key and secret (valid for one hour). If not set, E(UBLOX_AUTH_TOKEN).
        type: str
      timeout:
        description: Seconds to wait for a connection and an answer. If not set, E(IOTOPS_TIMEOUT), then V(30).
        type: float
        default: 30
      validate_certs:
        description: Verify the TLS certificate of the API. If not set, E(IOTOPS_VALIDATE_CERTS), then V(true).
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to trust instead of the system's. If not set, E(IOTOPS_CA_PATH).
        type: path
      use_proxy:
        description: Use the proxy of the environment (E(https_proxy)). If not set, E(IOTOPS_USE_PROXY), then V(true).
        type: bool
        default: true
      retries:
        description: How often a request that can be retried safely is retried (0 to 20). If not set, E(IOTOPS_RETRIES), then V(5).
        type: int
        default: 5
      retry_max_wait:
        description: The longest wait before a retry, in seconds. If not set, E(IOTOPS_RETRY_MAX_WAIT), then V(60).
        type: float
        default: 60
      rate_limit:
        description: The most requests per second sent to this cloud; V(0) or not set is no limit. If not set, E(IOTOPS_RATE_LIMIT).
        type: float
  iotcomms:
    description:
      - Read the SIP devices of an iotcomms.io tenant domain.
      - The connection options are those of the iotcomms.io modules, with the same environment variables. Leave the mapping out
        to not read iotcomms.io.
    type: dict
    suboptions:
      enabled:
        description: Read this cloud. V(false) keeps the settings but leaves the cloud out.
        type: bool
        default: true
      api_url:
        description: Base URL of the API of the region. If not set, E(IOTCOMMS_API_URL), then the default.
        type: str
        default: https://api.prod-eu-north-1.iotcomms.io
      domain:
        description: The tenant domain. If not set, E(IOTCOMMS_DOMAIN). One of the two is required.
        type: str
      private_key_path:
        description:
          - The PEM RSA key that signs the JWT. If neither this nor O(iotcomms.private_key) is set, E(IOTCOMMS_PRIVATE_KEY_PATH).
        type: path
      private_key:
        description: The PEM RSA key itself. If neither this nor O(iotcomms.private_key_path) is set, E(IOTCOMMS_PRIVATE_KEY).
        type: str
      private_key_passphrase:
        description: The passphrase of an encrypted key; with a key from the environment, E(IOTCOMMS_PRIVATE_KEY_PASSPHRASE).
        type: str
      jwt_lifetime:
        description: Seconds from C(iat) to C(exp) of the JWT, 60 to 5400.
        type: int
        default: 5400
      timeout:
        description: Seconds to wait for a connection and an answer. If not set, E(IOTOPS_TIMEOUT), then V(30).
        type: float
        default: 30
      validate_certs:
        description: Verify the TLS certificate of the API. If not set, E(IOTOPS_VALIDATE_CERTS), then V(true).
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to trust instead of the system's. If not set, E(IOTOPS_CA_PATH).
        type: path
      use_proxy:
        description: Use the proxy of the environment (E(https_proxy)). If not set, E(IOTOPS_USE_PROXY), then V(true).
        type: bool
        default: true
      retries:
        description: How often a request that can be retried safely is retried (0 to 20). If not set, E(IOTOPS_RETRIES), then V(5).
        type: int
        default: 5
      retry_max_wait:
        description: The longest wait before a retry, in seconds. If not set, E(IOTOPS_RETRY_MAX_WAIT), then V(60).
        type: float
        default: 60
      rate_limit:
        description: The most requests per second sent to this cloud; V(0) or not set is no limit. If not set, E(IOTOPS_RATE_LIMIT).
        type: float
  naocloud:
    description:
      - Read the tracking tags (trackables) of a NAO Cloud site.
      - The connection options are those of the NAO Cloud modules, with the same environment variables. Leave the mapping out to
        not read NAO Cloud.
    type: dict
    suboptions:
      enabled:
        description: Read this cloud. V(false) keeps the settings but leaves the cloud out.
        type: bool
        default: true
      site_id:
        description: The site whose tracking tags are read. Required when NAO Cloud is read.
        type: int
      api_url:
        description: Base URL of the API, including C(/api/v2). If not set, E(NAOCLOUD_API_URL), then the default.
        type: str
        default: https://www.nao-cloud.com/api/v2
      api_key:
        description: The user's API key. If not set (and no other credential is), E(NAOCLOUD_API_KEY).
        type: str
      email:
        description: A user's e-mail address, with O(naocloud.password). If not set, E(NAOCLOUD_EMAIL).
        type: str
      password:
        description: The password of O(naocloud.email). If not set, E(NAOCLOUD_PASSWORD).
        type: str
      access_token:
        description: An OAuth2 access token or a session JWT. If not set, E(NAOCLOUD_ACCESS_TOKEN).
        type: str
      access_token_type:
        description: Whether O(naocloud.access_token) is an OAuth2 token or a session JWT. If not set, E(NAOCLOUD_ACCESS_TOKEN_TYPE), then V(oauth2).
        type: str
        choices: [oauth2, session]
        default: oauth2
      timeout:
        description: Seconds to wait for a connection and an answer. If not set, E(IOTOPS_TIMEOUT), then V(30).
        type: float
        default: 30
      validate_certs:
        description: Verify the TLS certificate of the API. If not set, E(IOTOPS_VALIDATE_CERTS), then V(true).
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to trust instead of the system's. If not set, E(IOTOPS_CA_PATH).
        type: path
      use_proxy:
        description: Use the proxy of the environment (E(https_proxy)). If not set, E(IOTOPS_USE_PROXY), then V(true).
        type: bool
        default: true
      retries:
        description: How often a request that can be retried safely is retried (0 to 20). If not set, E(IOTOPS_RETRIES), then V(5).
        type: int
        default: 5
      retry_max_wait:
        description: The longest wait before a retry, in seconds. If not set, E(IOTOPS_RETRY_MAX_WAIT), then V(60).
        type: float
        default: 60
      rate_limit:
        description: The most requests per second sent to this cloud; V(0) or not set is no limit. If not set, E(IOTOPS_RATE_LIMIT).
        type: float
notes:
  - The inventory file's name must end in C(fleet.yml) or C(fleet.yaml).
  - The values of the cloud mappings may be templates (a lookup) or vault-encrypted; credentials are best left to the
    environment variables, which an AWX credential of the collection's types injects.
  - 'A cloud that cannot be read (unreachable, credentials refused, a bad option) fails the whole inventory with an error that
    names the cloud, the problem and what to do; no secret is shown. Ansible only warns about an inventory source that failed
    unless E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true) (AWX inventory updates set it).'
  - The cache (O(cache=true)) holds the host data, without any secret; its key depends on the inventory file's path and its
    options other than credentials, so a changed setting reads the clouds again. C(ansible-inventory --flush-cache) reads them
    again too.
seealso:
  - module: iotops.provisioning.manifest_info
  - module: iotops.provisioning.fleet_audit_findings
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
# clouds.fleet.yml - the manifest and every cloud; credentials from the environment (NRFCLOUD_API_KEY, UBLOX_API_KEY and
# UBLOX_API_SECRET, IOTCOMMS_DOMAIN and IOTCOMMS_PRIVATE_KEY_PATH, NAOCLOUD_API_KEY), as AWX credentials inject them.
# (Two more inventory files, as comments below: one file holds one configuration.)
plugin: iotops.provisioning.fleet
manifests: [manifests/batch-2026-47.csv]
nrfcloud: {}
ublox:
  tags: [line-7]
  whitelist: true
iotcomms: {}
naocloud:
  site_id: 11416
keyed_groups:
  # tag_line_7, ... for each u-blox tag of a module
  - key: iotops_ublox_tags
    prefix: tag
  # nrfcloud_provisioned, nrfcloud_awaiting, nrfcloud_missing, ...
  - key: iotops_phases.nrfcloud
    prefix: nrfcloud
  # ublox_bootstrapped, ublox_waiting_for_bootstrap, ...
  - key: iotops_phases.ublox
    prefix: ublox
groups:
  # devices in a cloud but in no manifest
  unlisted: iotops_batch is none
  waiting: iotops_phases.values() | select('in', ['waiting for bootstrap', 'awaiting']) | list | length > 0
compose:
  sip_uri: "'sip:' ~ iotops_iotcomms_device_id ~ '@factory.example.com' if iotops_iotcomms_device_id else None"

# fleet.yml - the devices of two batch manifests, nothing read from the clouds:
#   plugin: iotops.provisioning.fleet
#   manifests:
#     - manifests/batch-2026-47.csv
#     - path: manifests/line7-export.yml
#       batch: line7-2026-48

# cached.fleet.yml - read the clouds at most once an hour; nRF Cloud only, for the manifest's devices:
#   plugin: iotops.provisioning.fleet
#   manifests: [/srv/factory/batch-2026-47.csv]
#   cloud_only_devices: false
#   nrfcloud:
#     api_key: "{{ lookup('ansible.builtin.env', 'FACTORY_NRFCLOUD_KEY') }}"
#     timeout: 10
#   cache: true
#   cache_plugin: ansible.builtin.jsonfile
#   cache_connection: /var/cache/iotops-inventory
#   cache_timeout: 3600
'''

import hashlib
import json
import os
import time

from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.iotops.provisioning.plugins.module_utils import _fleet_audit, _manifest, _phases
from ansible_collections.iotops.provisioning.plugins.module_utils import iotcomms, naocloud, nrfcloud, ublox
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ApiError, ConfigError, IotopsError, TransportError
from ansible_collections.iotops.provisioning.plugins.module_utils._module import argument_spec
from ansible_collections.iotops.provisioning.plugins.plugin_utils._module_shim import module_shim

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string of an inventory: nothing to mark
    def trust_as_template(value):
        return value

VENDORS = ('nrfcloud', 'ublox', 'iotcomms', 'naocloud')
LABELS = dict(_fleet_audit.CLOUDS)
# identity field -> its kind in the index; a MAC address is one identity in both MAC columns (as the manifest rules say)
IDENTITIES = (('nrfcloud_device_id', 'nrfcloud'), ('ublox_rot_public_uid', 'rot'), ('ublox_imei', 'imei'),
              ('iotcomms_device_id', 'iotcomms'), ('iotcomms_mac', 'mac'), ('naocloud_mac', 'mac'))
# the id that names a device no manifest lists, the first one it has
NAMING = ('nrfcloud_device_id', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id', 'naocloud_mac')
VENDOR_IDENTITIES = {'nrfcloud': ('nrfcloud_device_id',), 'ublox': ('ublox_rot_public_uid', 'ublox_imei'),
                     'iotcomms': ('iotcomms_device_id',), 'naocloud': ('naocloud_mac',)}
# what a host holds, each as the variable iotops_<field>; nothing else of a manifest row or a cloud record is kept
FIELDS = ('serial', 'batch', 'manifest', 'vendors', 'nrfcloud_device_id', 'ublox_rot_public_uid', 'ublox_imei', 'iotcomms_device_id',
          'iotcomms_mac', 'naocloud_mac', 'naocloud_name', 'ublox_tags', 'nrfcloud_tags', 'phases')
CACHE_VERSION = 1

# the plugin's own options of each cloud, besides the modules' connection and auth options
CLOUD_OPTIONS = {
    'nrfcloud': dict(enabled=dict(type='bool', default=True)),
    'ublox': dict(enabled=dict(type='bool', default=True), tags=dict(type='list', elements='str'),
                  whitelist=dict(type='bool', default=False)),
    'iotcomms': dict(enabled=dict(type='bool', default=True)),
    'naocloud': dict(enabled=dict(type='bool', default=True), site_id=dict(type='int')),
}
ARGSPECS = {'nrfcloud': nrfcloud.ARGSPEC, 'ublox': ublox.ARGSPEC, 'iotcomms': iotcomms.ARGSPEC, 'naocloud': naocloud.ARGSPEC}
CREDENTIALS = {
    'nrfcloud': 'api_key (NRFCLOUD_API_KEY) is the API key of the team',
    'ublox': 'api_key and api_secret (UBLOX_API_KEY, UBLOX_API_SECRET) are a pair of the Thingstream portal, or auth_token '
             '(UBLOX_AUTH_TOKEN) has not expired',
    'iotcomms': 'domain (IOTCOMMS_DOMAIN) is the tenant domain and the key (private_key_path or private_key, '
                'IOTCOMMS_PRIVATE_KEY_PATH or IOTCOMMS_PRIVATE_KEY) is the one whose public key was uploaded for it',
    'naocloud': 'api_key (NAOCLOUD_API_KEY), email and password (NAOCLOUD_EMAIL, NAOCLOUD_PASSWORD) or access_token '
                '(NAOCLOUD_ACCESS_TOKEN) belong to a user of the site',
}
MANIFEST_SPEC = dict(path=dict(type='path', required=True), batch=dict(type='str'), format=dict(type='str', choices=['csv', 'yaml']))


def safe_group_name(name):
    """Group names as the cloud inventory plugins make them: every character that is not a letter, digit or underscore
    becomes an underscore (phase words have spaces, batch names dashes)."""
    return to_safe_group_name(name, force=True, silent=True)


class Fleet:
    """The devices found so far, one per physical device, by host name, and an index of their identities."""

    def __init__(self, warn):
        self.devices = {}
        self.index = {}
        self.origin = {}
        self.warn = warn

    @staticmethod
    def blank():
        device = dict((field, None) for field in FIELDS if field not in ('manifest', 'vendors', 'phases'))
        device.update(ublox_tags=[], nrfcloud_tags=[], phases={})
        return device

    def owners(self, record):
        """The host names that already hold an identity of ``record``, first found first."""
        names = []
        for field, kind in IDENTITIES:
            name = self.index.get((kind, record.get(field)))
            if record.get(field) and name is not None and name not in names:
                names.append(name)
        return names

    def add_manifest(self, row, batch, path, number):
        """A checked manifest row (its claim token already dropped); a device in two manifests is an error."""
        where = 'row %d of %s' % (number, path)
        serial = row['serial']
        if serial in self.devices:
            raise ConfigError('%s: serial %r is also in %s; a device belongs to one manifest' % (where, serial, self.origin[serial]))
        for field, kind in IDENTITIES:
            owner = self.index.get((kind, row.get(field)))
            if row.get(field) and owner is not None:
                raise ConfigError('%s: %s %r of %r is also in %s (%r); a device belongs to one manifest' % (
                    where, field, row[field], serial, self.origin[owner], owner))
        device = self.blank()
        device.update(serial=serial, batch=batch, manifest=path)
        device.update((field, row.get(field)) for field, dummy in IDENTITIES)
        # the name NAO Cloud gets when the onboarding registers the tag (manifest_info's rule), until NAO Cloud says
        device['naocloud_name'] = row.get('naocloud_name') or (serial if row.get('naocloud_mac') else None)
        self.devices[serial] = device
        self.origin[serial] = where
        self.reindex(serial)

    def reindex(self, name):
        device = self.devices[name]
        for field, kind in IDENTITIES:
            if device.get(field):
                self.index[(kind, device[field])] = name

    def add_cloud(self, vendor, record, create=True):
        """Merge a cloud record into the device that shares an identity with it, or make a device of it."""
        names = self.owners(record)
        if len(names) > 1:
            self.warn('%s: a record (%s) matches the devices %s; it was merged into %s only' % (
                LABELS[vendor], identity_words(record), ', '.join(names), names[0]))
        if names:
            self.merge(vendor, names[0], record)
            return
        if not create:
            return
        name = next(record[field] for field in NAMING if record.get(field))
        if name in self.devices:
            self.warn('%s: the device %s is named like the device %s already found, and was left out' % (
                LABELS[vendor], identity_words(record), name))
            return
        self.devices[name] = self.blank()
        self.merge(vendor, name, record)

    def merge(self, vendor, name, record):
        device = self.devices[name]
        for field, value in record.items():
            if value in (None, '', []):
                continue
            if field == 'nrfcloud_tags':
                device[field] = list(dict.fromkeys(device[field] + list(value)))
            elif field in dict(IDENTITIES) and device.get(field) and device[field] != value:
                self.warn('%s: %s has %s %s there, not %s as its other source says; %s is kept' % (
                    LABELS[vendor], name, field, value, device[field], device[field]))
            else:
                device[field] = value
        self.reindex(name)


def identity_words(record):
    return ', '.join('%s %s' % (field, record[field]) for field, dummy in IDENTITIES if record.get(field))


def vendors_of(device):
    return [vendor for vendor in VENDORS if any(device.get(field) for field in VENDOR_IDENTITIES[vendor])]


def upper_mac(value):
    return naocloud.normalize_mac(str(value)) if value else None


# Cloud reads: each returns (records to merge, the reads in the shapes of the info modules' results, for the audit) ------

def read_nrfcloud(client, dummy_params, dummy_fleet):
    """The team's claimed devices and its devices in device management: two lists, every page."""
    claimed = client.claimed_devices()
    managed = client.list_devices()
    records = [dict(nrfcloud_device_id=str(d['id']), nrfcloud_tags=d.get('tags') or []) for d in claimed + managed if d.get('id')]
    return records, dict(nrfcloud_claimed=dict(devices=claimed), nrfcloud_onboarded=dict(devices=managed))


def ublox_selection(client, params, fleet, whitelist):
    """The ROTPublicUIDs to read: the manifests' modules, those with the tags, and with ``whitelist`` every whitelisted one."""
    rots = set(d['ublox_rot_public_uid'] for d in fleet.devices.values() if d.get('ublox_rot_public_uid'))
    if params['tags']:
        rots |= client.tagged_devices(params['tags'])
    if params['whitelist']:
        rots |= set(client.device_list('WHITELISTED'))   # bootstrapped modules whitelisted by ROTPublicUID or IMEI
        rots |= set(entry['id'] for entry in whitelist if entry['type'] == 'ROTPublicUID')
    return rots


def read_ublox(client, params, fleet):
    """The whitelist, then the device information (state, IMEI, tags, certificate) of the selected modules."""
    whitelist = [dict(type=entry.get('Type'), id=str(entry.get('Id')).lower(), created_date=entry.get('CreatedDate'))
                 for entry in client.whitelist()]
    rots = ublox_selection(client, params, fleet, whitelist)
    views = []
    for record in client.device_info(rots, options=('CORE', 'ZTP')).values():
        view = ublox.device_view(record)
        view['rot_public_uid'] = str(view['rot_public_uid']).lower()
        views.append(view)
    records = [dict(ublox_rot_public_uid=v['rot_public_uid'], ublox_imei=v.get('imei'), ublox_tags=v.get('tags') or []) for v in views]
    if params['whitelist']:
        # whitelisted modules that have not bootstrapped: u-blox knows only the whitelist entry
        known = set(v['rot_public_uid'] for v in views) | set(v.get('imei') for v in views)
        records += [dict(ublox_rot_public_uid=e['id']) if e['type'] == 'ROTPublicUID' else dict(ublox_imei=e['id'])
                    for e in whitelist if e['type'] in ('ROTPublicUID', 'IMEI') and e['id'] not in known]
    # the audit calls a module out of service by its revoked or deleted certificate, and renewing by a pending renewal
    retired = [v for v in views if (v.get('certificate') or {}).get('revoked')
               or (v.get('pending_certificate_action') or {}).get('action') in ('DELETE',) + _fleet_audit.RENEWING]
    devices = dict(devices=views, whitelist=whitelist, cloud_time=ublox.epoch_iso(client.http.now()))
    return records, dict(ublox_devices=devices, ublox_expiring=dict(devices=retired))


def read_iotcomms(client, dummy_params, dummy_fleet):
    """The SIP devices of the domain: one list."""
    records = [dict(iotcomms_device_id=str(d['deviceId']), iotcomms_mac=upper_mac(d.get('macAddress')))
               for d in client.list_devices() if isinstance(d, dict) and d.get('deviceId') is not None]
    return records, dict(iotcomms_devices=dict(devices=[dict(deviceId=r['iotcomms_device_id']) for r in records]))


def read_naocloud(client, params, dummy_fleet):
    """The tracking tags of the site: one list, every page."""
    records = [dict(naocloud_mac=upper_mac(tag['tracking_id']), naocloud_name=tag.get('name'))
               for tag in client.list_trackables(params['site_id']) if tag.get('tracking_id')]
    return records, dict(naocloud_trackables=dict(trackables=[dict(tracking_id=r['naocloud_mac']) for r in records]))


READERS = {'nrfcloud': read_nrfcloud, 'ublox': read_ublox, 'iotcomms': read_iotcomms, 'naocloud': read_naocloud}
CLIENTS = {'nrfcloud': nrfcloud.nrfcloud_client, 'ublox': ublox.ublox_client, 'iotcomms': iotcomms.iotcomms_client,
           'naocloud': naocloud.naocloud_client}


def set_phases(fleet, reads, read):
    """Each device's phase in each cloud ``read``, judged by the fleet audit from the same reads (its words and rules)."""
    steps, dummy, dummy2 = _fleet_audit.audit(reads, dict(devices=list(fleet.devices.values())), time.time(), 0, 0, 0)
    judged = dict(((step['vendor'], outcome['item']), outcome['phase']) for step in steps for outcome in step['results'])
    managed = set(str(d.get('id')) for d in (reads.get('nrfcloud_onboarded') or {}).get('devices') or [])
    whitelisted = set(e['id'] for e in (reads.get('ublox_devices') or {}).get('whitelist') or [] if e['type'] == 'IMEI')
    for device in fleet.devices.values():
        idents = _fleet_audit.row_identities(device)
        phases = dict((cloud, judged.get((cloud, idents[cloud]))) for cloud in read if cloud in idents)
        if 'nrfcloud' in phases and device['nrfcloud_device_id'] in managed and phases['nrfcloud'] in (_phases.PROVISIONED, _phases.MISSING):
            phases['nrfcloud'] = _phases.ONBOARDED
        if 'ublox' in read and device['ublox_imei'] and not device['ublox_rot_public_uid']:
            # u-blox names a module by its ROTPublicUID once it bootstrapped; by IMEI only the whitelist knows it
            phases['ublox'] = _phases.WAITING_FOR_BOOTSTRAP if device['ublox_imei'] in whitelisted else _phases.NOT_WHITELISTED
        device['phases'] = phases


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """The fleet inventory: manifests first, then each cloud that is enabled, then the phases; cached without secrets."""

    NAME = 'iotops.provisioning.fleet'
    _sanitize_group_name = staticmethod(safe_group_name)

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('fleet.yml', 'fleet.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self.where = 'iotops.provisioning.fleet inventory %s' % path
        sources = self._manifest_sources(path)
        clouds = self._cloud_settings()
        key = self._fleet_cache_key(path, sources, clouds)
        data = None
        if self.get_option('cache') and cache:
            try:
                data = self._cache[key]
            except KeyError:
                data = None
        if not isinstance(data, dict) or data.get('version') != CACHE_VERSION:
            data = self._read_fleet(sources, clouds)
            if self.get_option('cache'):
                self._cache[key] = data
        self._populate(data['hosts'])

    # options ---------------------------------------------------------------------------------

    def _plain(self, value):
        """An option value with its template rendered (a lookup, a vault-encrypted value), else as it is."""
        if isinstance(value, dict):
            return dict((key, self._plain(item)) for key, item in value.items())
        if isinstance(value, list):
            return [self._plain(item) for item in value]
        if isinstance(value, (bool, int, float)) or value is None:
            return value
        if self.templar.is_template(value):
            value = self.templar.template(value)
        return value if isinstance(value, (bool, int, float, dict, list)) or value is None else str(value)

    def _manifest_sources(self, path):
        """[(absolute path, batch, format)] of the ``manifests`` option; relative paths are relative to the inventory file."""
        base = os.path.dirname(os.path.abspath(path))
        sources = []
        for number, entry in enumerate(self.get_option('manifests') or [], start=1):
            entry = self._plain(entry)
            options = entry if isinstance(entry, dict) else dict(path=entry)
            try:
                params = module_shim(MANIFEST_SPEC, options, where='manifests[%d]' % number).params
            except ConfigError as exc:
                raise AnsibleParserError('%s: %s. Give each manifest as a path, or as a mapping with path and optionally batch and '
                                         'format.' % (self.where, exc.msg)) from None
            manifest = os.path.normpath(os.path.join(base, os.path.expanduser(params['path'])))
            batch = params['batch'] or os.path.splitext(os.path.basename(manifest))[0]
            sources.append((manifest, batch, params['format']))
        return sources

    def _cloud_settings(self):
        """{cloud: shim} of the clouds to read, their options checked as the modules check theirs (defaults, environment)."""
        clouds = {}
        for vendor in VENDORS:
            options = self.get_option(vendor)
            if options is None:
                continue
            spec = argument_spec(ARGSPECS[vendor], **CLOUD_OPTIONS[vendor])
            try:
                shim = module_shim(spec, self._plain(options), warn=self.display.warning, name=self.NAME, where=vendor)
            except ConfigError as exc:
                raise AnsibleParserError('%s: %s. Fix the %s mapping of the inventory file (the options are those of the %s '
                                         'modules).' % (self.where, exc.msg, vendor, LABELS[vendor])) from None
            if not shim.params['enabled']:
                continue
            if vendor == 'naocloud' and not shim.params['site_id']:
                raise AnsibleParserError('%s: naocloud.site_id is required: NAO Cloud keeps its tracking tags per site. Set it, or '
                                         'set naocloud.enabled to false.' % self.where)
            clouds[vendor] = shim
        return clouds

    def _fleet_cache_key(self, path, sources, clouds):
        """The standard key of the file, plus a digest of the settings that change what is read - credentials left out."""
        settings = dict(manifests=sources, cloud_only_devices=self.get_option('cloud_only_devices'), clouds=dict(
            (vendor, dict((name, value) for name, value in sorted(shim.params.items()) if not ARGSPECS[vendor].get(name, {}).get('no_log')
                          and name not in iotcomms.KEY_OPTIONS and name not in naocloud.CREDENTIAL_OPTIONS))
            for vendor, shim in clouds.items()))
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode('utf-8')).hexdigest()[:12]
        return '%s_s%s' % (self.get_cache_key(path), digest)

    # reading ---------------------------------------------------------------------------------

    def _read_fleet(self, sources, clouds):
        """The host data: {version, hosts: {name: fields}}, with no secret in it (it is what the cache holds)."""
        fleet = Fleet(self.display.warning)
        for manifest, batch, fmt in sources:
            self._read_manifest(fleet, manifest, batch, fmt)
        reads = {}
        for vendor, shim in clouds.items():
            reads.update(self._read_cloud(fleet, vendor, shim))
        if clouds:
            set_phases(fleet, reads, list(clouds))
        hosts = {}
        for name, device in fleet.devices.items():
            device['vendors'] = vendors_of(device)
            hosts[name] = device
        return dict(version=CACHE_VERSION, hosts=hosts)

    def _read_manifest(self, fleet, path, batch, fmt):
        try:
            header, rows, first = _manifest.load_rows(path, fmt)
            devices = _manifest.check(header, rows, first)
            for number, device in enumerate(devices, start=first):
                device.pop('nrfcloud_claim_token', None)   # a secret: only the device id read from it is kept
                fleet.add_manifest(device, batch, path, number)
        except ConfigError as exc:
            problems = exc.details.get('problems')
            text = ('%d problem(s): %s' % (len(problems), '; '.join(problems[:30]))) if problems else exc.msg
            if text.startswith('path: '):
                text = text[len('path: '):]
            raise AnsibleParserError('%s: manifest %s: %s. Fix the manifest (its rules are those of iotops.provisioning.manifest_info), '
                                     'or take it out of manifests.' % (self.where, path, text)) from None

    def _read_cloud(self, fleet, vendor, shim):
        """Merge one cloud's devices into ``fleet``; returns its reads for the phases. Any failure names the cloud and what to do."""
        try:
            client = CLIENTS[vendor](shim)
            records, reads = READERS[vendor](client, shim.params, fleet)
        except IotopsError as exc:
            raise AnsibleParserError('%s: %s could not be read: %s. %s' % (
                self.where, LABELS[vendor], shim.redact(exc.msg), self._remedy(vendor, exc))) from None
        for record in records:
            fleet.add_cloud(vendor, record, create=self.get_option('cloud_only_devices'))
        return reads

    @staticmethod
    def _remedy(vendor, exc):
        if isinstance(exc, ApiError) and exc.status in (401, 403):
            return 'Check that %s; then run the inventory again.' % CREDENTIALS[vendor]
        if isinstance(exc, TransportError):
            return ('Check %s.api_url, the network and the proxy (use_proxy), and ca_path or validate_certs for TLS; or set %s.enabled '
                    'to false to make the inventory without it.' % (vendor, vendor))
        if isinstance(exc, ConfigError):
            return 'Fix the %s mapping of the inventory file, or its environment variable.' % vendor
        return 'Run the inventory again; if it fails the same way, set %s.enabled to false to make the inventory without it.' % vendor

    # hosts -----------------------------------------------------------------------------------

    def _populate(self, hosts):
        strict = self.get_option('strict')
        for name, device in hosts.items():
            self.inventory.add_host(name)
            hostvars = self._host_vars(device)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            if device.get('batch'):
                self.inventory.add_child(self.inventory.add_group(safe_group_name('batch_%s' % device['batch'])), name)
            for vendor in device.get('vendors') or []:
                self.inventory.add_child(self.inventory.add_group(safe_group_name('vendor_%s' % vendor)), name)
            self._set_composite_vars(self.get_option('compose'), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, name, strict=strict)

    @staticmethod
    def _host_vars(device):
        """The variables of a host: the connection, and every field as iotops_<field> - marked unsafe, since the values come
        from files and clouds and must never be rendered as templates."""
        hostvars = dict(ansible_connection='local', ansible_python_interpreter=trust_as_template('{{ ansible_playbook_python }}'))
        for field in FIELDS:
            if field == 'manifest' and not device.get('manifest'):
                continue
            hostvars['iotops_%s' % field] = wrap_var(device.get(field))
        return hostvars
