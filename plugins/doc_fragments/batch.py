# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch option and the batch result of every resource module."""

from __future__ import annotations


class ModuleDocFragment:
    """How a resource module works a list of resources."""

    DOCUMENTATION = r'''
options:
  concurrency:
    description:
      - How many resources of the list are worked at the same time, over one HTTP session.
      - The task works every resource even when some fail, reports each in the C(outcomes) of the task, and fails at the end if any failed.
        Re-running the same task converges the rest and does nothing twice.
      - If not set, the value of the E(IOTOPS_CONCURRENCY) environment variable is used, then V(8). Range 1 to 64.
    type: int
    default: 8
notes:
  - All resources of the list are validated before the first write; one bad item fails the task with a message naming the item,
    the option and the rule, and nothing is changed.
'''
