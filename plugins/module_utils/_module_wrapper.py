# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine and ipmi module wrappers share (private, may change).

The AnsibleModule with check mode supported, the guard that fails the task
when the client library is missing, and read access to params and check
mode.  Options, error translation and exit stay with each wrapper
(``_engine/module.py``, ``_ipmi/module.py``).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


class ModuleWrapper:
    """Builds the AnsibleModule and fails it at once when ``library`` could not be imported."""

    def __init__(self, argument_spec: Dict[str, Any], *, library: str, import_error: Optional[str],
                 **kwargs: Any) -> None:
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = AnsibleModule(argument_spec=argument_spec, **kwargs)
        if import_error is not None:
            self.ansible.fail_json(msg=missing_required_lib(library), exception=import_error)

    @property
    def params(self) -> Dict[str, Any]:
        return self.ansible.params

    @property
    def check_mode(self) -> bool:
        return bool(self.ansible.check_mode)
