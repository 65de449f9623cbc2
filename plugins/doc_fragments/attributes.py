# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute fragments: check mode, diff mode, action groups."""

from __future__ import annotations


class ModuleDocFragment:
    """Attributes of the collection's modules; each module adds the action group of its vendor."""

    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and predicts the C(changed) status without sending any write to the vendor API.
  diff_mode:
    description: Returns the managed fields before and after the change when run with C(--diff).
'''

    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads, so it runs the same in check mode.
  diff_mode:
    support: N/A
    details: This module changes nothing, so there is no diff.
'''

    ACTIONGROUP_NRFCLOUD = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/iotops.provisioning.nrfcloud) in C(module_defaults) to set the nRF Cloud options once for all its modules.
    support: full
    membership:
      - iotops.provisioning.nrfcloud
'''

    ACTIONGROUP_UBLOX = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/iotops.provisioning.ublox) in C(module_defaults) to set the u-blox options once for all its modules.
    support: full
    membership:
      - iotops.provisioning.ublox
'''

    ACTIONGROUP_IOTCOMMS = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/iotops.provisioning.iotcomms) in C(module_defaults) to set the iotcomms.io options once for all its modules.
    support: full
    membership:
      - iotops.provisioning.iotcomms
'''

    ACTIONGROUP_NAOCLOUD = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/iotops.provisioning.naocloud) in C(module_defaults) to set the NAO Cloud options once for all its modules.
    support: full
    membership:
      - iotops.provisioning.naocloud
'''
