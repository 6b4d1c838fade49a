# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module attributes, written once; each module extends the sections that apply.

A module may still set ``details`` (or ``support``) of an attribute itself;
its own values win over the fragment's.
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes: {}
"""

    CHECK_MODE = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: In check mode the module reads the current state and reports what would change; it sends no
      changing request and waits for nothing.
"""

    DIFF_MODE = r"""
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Reports the values that change, before and after; secrets are masked.
"""

    NO_DIFF_MODE = r"""
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

    READ_ONLY = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This module never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: This module never changes anything.
"""

    ACTION_GROUP_ENGINE = r"""
attributes:
  action_group:
    description: Use C(group/ovirt_ha.core.engine) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ovirt_ha.core.engine
"""

    ACTION_GROUP_REPORT = r"""
attributes:
  action_group:
    description: Use C(group/ovirt_ha.core.report) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ovirt_ha.core.report
"""

    ACTION_GROUP_IPMI = r"""
attributes:
  action_group:
    description: Use C(group/ovirt_ha.core.ipmi) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ovirt_ha.core.ipmi
"""

    ACTION_GROUP_HOSTED_ENGINE = r"""
attributes:
  action_group:
    description: Use C(group/ovirt_ha.core.hosted_engine) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ovirt_ha.core.hosted_engine
"""
