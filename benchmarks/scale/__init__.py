# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of benchmarks/factory_scale.py: the fleet, the playbook runner, the baseline, the mock's capacity,
the per-task overhead, the profile and the report. Bench-only code, not part of the collection."""
