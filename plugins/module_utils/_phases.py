# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a device stands in each cloud, in the plain words that module outcomes and reports use.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Every batch module that works devices gives each outcome a ``phase`` (one of the words below) and
``waiting`` (true when the next step is the device's: it has not connected, bootstrapped or taken its
heartbeat yet). Waiting is not a failure: a later run moves the device on. A device that needs a
person has ``failed: true``, the phase NEEDS_ATTENTION, a ``msg`` with the vendor's or the device's
own words and, where the module knows it, a ``remedy``.

The ladders, from first to last:
- nRF Cloud: claimed -> waiting for the device -> CSR signed -> provisioned -> onboarded
- u-blox: whitelisted -> waiting for bootstrap -> bootstrapped -> tagged -> features pending (next heartbeat)
  -> features applied
- iotcomms.io: created / updated / up to date
- NAO Cloud: registered
"""

from __future__ import annotations

# nRF Cloud
CLAIMED = 'claimed'
WAITING_FOR_DEVICE = 'waiting for the device'
CSR_SIGNED = 'CSR signed'
AWAITING_COMMANDS = 'ran its commands, not finished'
PROVISIONED = 'provisioned'
ONBOARDED = 'onboarded'
UNCLAIMED = 'unclaimed'
REMOVED = 'removed'

# u-blox Security Services
WHITELISTED = 'whitelisted'
WAITING_FOR_BOOTSTRAP = 'waiting for bootstrap'
BOOTSTRAPPED = 'bootstrapped'
TAGGED = 'tagged'
FEATURES_PENDING = 'features pending (next heartbeat)'
FEATURES_APPLIED = 'features applied'

# iotcomms.io
CREATED = 'created'
UPDATED = 'updated'
UP_TO_DATE = 'up to date'
DELETED = 'deleted'

# NAO Cloud
REGISTERED = 'registered'

# any cloud
NEEDS_ATTENTION = 'needs attention'

# the fleet audit's words for an identity a cloud does not hold (not a step reached: the report shows them greyed)
MISSING = 'missing'
NOT_WHITELISTED = 'not whitelisted'
GONE = 'gone (decommissioned)'

IOTCOMMS_ACTIONS = {'create': CREATED, 'update': UPDATED, 'none': UP_TO_DATE, 'delete': DELETED}
NAOCLOUD_ACTIONS = {'create': REGISTERED, 'update': REGISTERED, 'none': REGISTERED, 'delete': DELETED}

# the phases in which the next step is the device's own
WAITING = frozenset((WAITING_FOR_DEVICE, CSR_SIGNED, WAITING_FOR_BOOTSTRAP, FEATURES_PENDING))
ABSENT = frozenset((MISSING, NOT_WHITELISTED, GONE))


def is_waiting(phase):
    return phase in WAITING


def is_absent(phase):
    return phase in ABSENT


def phases_by_action(results, phases):
    """Give each outcome the phase its ``action`` leads to (``phases``: {action: phase}); returns ``results``."""
    for result in results:
        outcome_phase(result, phases.get(result.get('action')))
    return results


def outcome_phase(result, phase):
    """Set ``phase`` and ``waiting`` on an outcome (NEEDS_ATTENTION when it failed)."""
    if result.get('failed'):
        phase = NEEDS_ATTENTION
    result['phase'] = phase
    result['waiting'] = is_waiting(phase)
    return result
