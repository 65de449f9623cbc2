# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nRF Cloud claiming in batches: the input checks, the plan of one device, and the CSV bulk claim followed to its end.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

The requests are the client's (``nrfcloud.py``: ``claim``, ``claim_dry_run``, ``bulk_claim``, ``unclaim``). The claim token
(the modem's attestation token) is a secret: it goes into request bodies only, never into a result or a message; a
device is named by its id, a token by ``fingerprint``. ``plan_claim`` decides from data alone.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError, IotopsError, OutcomeUnknownError
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_commands import device_id_from_claim_token
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_onboarding import BulkOnboarding
from ansible_collections.iotops.provisioning.plugins.module_utils._phases import CLAIMED, UNCLAIMED
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import Plan
from ansible_collections.iotops.provisioning.plugins.module_utils.nrfcloud import ROW_ERROR, ROWS_PER_REQUEST, validate_device_id

CLAIM, UNCLAIM = 'claim', 'unclaim'
# more devices to claim than this are claimed by CSV; a bulk operation nRF Cloud answers with is followed this long, read at
# most this far apart (the defaults of nrfcloud_claim's options, and nrfcloud_provisioning's)
BULK_THRESHOLD, BULK_TIMEOUT, BULK_INTERVAL = 10, 300, 2.0
AUTO_ONBOARDING_TAG = 'nrf-cloud-onboarding'  # the tag of Nordic's built-in auto-onboarding rule
# a claim token is AT%ATTESTTOKEN's output: base64url parts joined by "." (no blank: a changed secret would escape no_log)
TOKEN = re.compile(r'^[A-Za-z0-9_-]+={0,2}(\.[A-Za-z0-9_-]+={0,2})+$')
# provisioning tags take the device tag rule of nRF Cloud; a comma would split the tag in the bulk CSV's tag column
TAG = re.compile(r'^[a-zA-Z0-9_.@:#-]{1,128}$')
REMEDIES = {
    40901: 'it is already claimed by this team',
    40902: 'another team has claimed it: that team must unclaim it first (or claim with that team\'s API key)',
    400: 'the token was not accepted: read it from the device again (AT%ATTESTTOKEN) and check that it is an nRF91x1 '
         'with modem firmware 2.0.0 or later',
}


def fingerprint(token):
    """A short, one-way name of a claim token for results and messages."""
    return 'sha256:' + hashlib.sha256(token.encode('utf-8')).hexdigest()[:12]


# --- validation (before any request) ----------------------------------------------------------

def validate_claim_item(item):
    """Check one item and fill in ``device_id`` from its token; ConfigError names the option and the rule."""
    token = item.get('claim_token')
    if token is not None and not TOKEN.fullmatch(token):
        raise ConfigError('claim_token (%s) must be the AT%%ATTESTTOKEN output: base64url parts joined by "." with no blank '
                          'or line break' % fingerprint(token))
    claim_device_id(item)
    validate_tags(item.get('tags') or [], 'tags')


def claim_device_id(item):
    """Fill in the item's ``device_id`` from its ``claim_token``; a device_id of another device than the token's is refused,
    and a token that cannot be read here is accepted only with a device_id (the cloud then decides)."""
    token = item.get('claim_token')
    if token:
        try:
            derived = device_id_from_claim_token(token)
        except ConfigError:
            if not item.get('device_id'):
                raise
            derived = None
        if derived and item.get('device_id') and item['device_id'].lower() != derived:
            raise ConfigError('device_id %s is not the device of claim_token (%s), whose device UUID is %s'
                              % (item['device_id'], fingerprint(token), derived))
        item['device_id'] = item.get('device_id') or derived
    if not item.get('device_id'):
        raise ConfigError('device_id or claim_token is required')
    validate_device_id(item['device_id'])


def validate_tags(tags, option):
    for tag in tags:
        if not TAG.fullmatch(tag):
            raise ConfigError('%s: %r must be 1 to 128 letters, digits or _ . @ : # - (a provisioning tag; a comma would split '
                              'it in the bulk CSV)' % (option, tag))
    if len(set(tags)) != len(tags):
        raise ConfigError('%s: each tag may appear once, got %s' % (option, ', '.join(tags)))


# --- the plan of one device (data only) -------------------------------------------------------

def view(record):
    """The managed fields of a device for diff: whether it is claimed, and its provisioning tags."""
    return dict(claimed=record is not None, tags=sorted((record or {}).get('tags') or []))


def refusal_message(refusal):
    """The dry run's answer ({status, code, message}) in words, with what to do."""
    remedy = REMEDIES.get(refusal.get('code')) or REMEDIES.get(refusal.get('status'))
    text = 'the claim dry run says it cannot be claimed: HTTP %s' % refusal.get('status')
    if refusal.get('code') not in (None, ''):
        text += ', nRF Cloud code %s' % refusal['code']
    if refusal.get('message'):
        text += ': %s' % refusal['message']
    return text + ('; %s' % remedy if remedy else '')


def plan_claim(item, record, refusal=None, dry_run=False):
    """The Plan of one item: ``record`` is the team's claimed-device record (None: not claimed by this team), ``refusal``
    the claim dry run's answer when it said no ({status, code, message}), ``dry_run`` reports instead of claiming."""
    key, tags = item['device_id'], sorted(item.get('tags') or [])
    if item['state'] == 'absent':
        if record is None:
            return Plan(key, result=dict(phase=UNCLAIMED, unclaimed=False))
        return Plan(key, UNCLAIM, before=view(record), after=view(None), result=dict(phase=UNCLAIMED, unclaimed=True))
    if record is not None:
        result = dict(phase=CLAIMED, claimed=False, tags=view(record)['tags'])
        if item.get('tags') is not None and tags != result['tags']:
            result['warning'] = ('claimed already with the tags %s, not %s: the Provisioning Service has no call to change the tags of '
                                 'a claimed device; unclaim and claim it again to change them' % (result['tags'], tags))
        return Plan(key, result=result)
    if refusal is not None:
        raise IotopsError(refusal_message(refusal))
    if dry_run:
        return Plan(key, result=dict(phase=UNCLAIMED, claimed=False, claimable=True, tags=tags))
    after = dict(claimed=True, tags=tags)
    return Plan(key, CLAIM, before=view(None), after=after, result=dict(phase=CLAIMED, claimed=True, tags=tags), device=item)


# --- the bulk claim: its answers mapped back to the devices ----------------------------------------

def failed_rows(answer, tokens):
    """{row index: message} from the ``failed`` list of a bulk claim answer; its items' shape is not documented, so an
    item may give its row as ``index``/``row``, its token as ``claimToken``, or be a ``"[<row>]: message"`` string."""
    rows = {}
    for entry in answer.get('failed') or []:
        if isinstance(entry, dict):
            index = entry.get('index', entry.get('row'))
            if not isinstance(index, int) and entry.get('claimToken') in tokens:
                index = tokens.index(entry['claimToken'])
            text = entry.get('message') or 'refused (nRF Cloud code %s)' % entry.get('code')
        else:
            match = ROW_ERROR.match(str(entry))
            index, text = (int(match.group(1)), match.group(2)) if match else (None, str(entry))
        if isinstance(index, int) and 0 <= index < len(tokens):
            rows[index] = text
    return rows


class BulkClaim(BulkOnboarding):
    """Claim devices by CSV, ROWS_PER_REQUEST rows a request; a bulk-ops answer is followed with the poll loop of bulk
    onboarding. The team's claimed list, read once at the end, has the last word: a device in it is claimed, whatever
    the answers said. ``run`` returns {device_id: result fields} (``failed`` and ``msg`` for a device not claimed);
    ``records`` then holds the claimed list's record of each device, and ``claimed_elsewhere`` the ids of the devices
    whose row was refused although the team holds them (another job claimed them meanwhile)."""

    def __init__(self, client, timeout, interval):
        super().__init__(client, timeout, interval)
        self.records = {}
        self.claimed_elsewhere = set()

    def run(self, devices):
        pending = {}
        for start in range(0, len(devices), ROWS_PER_REQUEST):
            chunk = devices[start:start + ROWS_PER_REQUEST]
            try:
                answer = self.client.bulk_claim(chunk)
            except OutcomeUnknownError as exc:
                self._record(chunk, {}, failure='%s; the claimed list decides' % exc.msg)
                continue
            except IotopsError as exc:
                self._record(chunk, {}, failure=exc.msg)
                continue
            if answer.get('bulkOpsRequestId'):
                pending[answer['bulkOpsRequestId']] = chunk
            else:
                self._record(chunk, failed_rows(answer, [d['claim_token'] for d in chunk]))
        self._follow(pending)
        self._confirm(devices)
        return self.results

    def _settle(self, request_id, chunk, operation):
        failed = operation.get('status') == 'FAILED'
        self._record(chunk, self.client.bulk_row_errors(operation, len(chunk)) if failed else {}, bulk_ops_request_id=request_id)

    def _record(self, chunk, errors, failure=None, **fields):
        for index, device in enumerate(chunk):
            outcome = dict(fields, via='bulk')
            if index in errors:
                outcome.update(failed=True, msg='the bulk claim refused its row: %s' % errors[index])
            elif failure:
                outcome.update(failed=True, msg=failure)
            self.results[device['device_id']] = outcome

    def _confirm(self, devices):
        self.records = dict((d.get('id'), d) for d in self.client.claimed_devices() if isinstance(d, dict))
        for device in devices:
            outcome = self.results.setdefault(device['device_id'], dict(via='bulk'))
            if device['device_id'] in self.records:
                if outcome.pop('failed', None):
                    self.claimed_elsewhere.add(device['device_id'])
                outcome.pop('msg', None)
            elif not outcome.get('failed'):
                outcome.update(failed=True, msg='the bulk claim did not claim it and gave no reason; re-run the task (it claims '
                                                'what is left) or claim it with a dry run to see why')
