# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one AnsibleModule wrapper of the ipmi_* modules (private, may change).

It owns the connection options (mirrored by the ``ovirt_ha.core.ipmi`` doc
fragment), the pyghmi dependency guard, building the BMC list, and turning
per-BMC failures and typed errors into one ``fail_json``.
"""
from __future__ import annotations

import traceback
from typing import Any, Dict, List, NoReturn, Optional

from ansible.module_utils.basic import env_fallback

from .._module_wrapper import ModuleWrapper
from .errors import IpmiError
from .pool import DEFAULT_PARALLEL, MAX_PARALLEL
from .target import BmcTarget, targets_from_params

try:
    import pyghmi.ipmi.private.session  # noqa: F401, pylint: disable=unused-import
    PYGHMI_IMPORT_ERROR: Optional[str] = None
except ImportError:
    PYGHMI_IMPORT_ERROR = traceback.format_exc()

BMC_ENTRY_OPTIONS: Dict[str, Any] = dict(
    name=dict(type="str"),
    address=dict(type="str", required=True),
    port=dict(type="int"),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
)

CONNECTION_ARGUMENT_SPEC: Dict[str, Any] = dict(
    address=dict(type="str", aliases=["host"]),
    name=dict(type="str"),
    bmcs=dict(type="list", elements="dict", options=BMC_ENTRY_OPTIONS),
    port=dict(type="int", default=623),
    username=dict(type="str", aliases=["user"], fallback=(env_fallback, ["IPMI_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["IPMI_PASSWORD"])),
    interface=dict(type="str", default="lanplus", choices=["lanplus"]),
    cipher=dict(type="int", default=3, choices=[3, 17]),
    privilege=dict(type="str", default="administrator", choices=["user", "operator", "administrator"]),
    timeout=dict(type="float", default=15),
    parallel=dict(type="int", default=DEFAULT_PARALLEL),
)


class IpmiModule(ModuleWrapper):
    """Wraps AnsibleModule for the ipmi_* modules."""

    def __init__(self, argument_spec: Dict[str, Any], **kwargs: Any) -> None:
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault("mutually_exclusive", [("address", "bmcs")])
        kwargs.setdefault("required_one_of", [("address", "bmcs")])
        super().__init__(spec, library="pyghmi", import_error=PYGHMI_IMPORT_ERROR, **kwargs)

    @property
    def parallel(self) -> int:
        value = int(self.params.get("parallel") or DEFAULT_PARALLEL)
        if not 1 <= value <= MAX_PARALLEL:
            self.fail(IpmiError("parallel: expected 1-%d, got %d" % (MAX_PARALLEL, value)))
        return value

    def targets(self) -> List[BmcTarget]:
        try:
            return targets_from_params(self.params)
        except IpmiError as error:
            self.fail(error)

    def fail(self, error: IpmiError, **result: Any) -> NoReturn:
        self.ansible.fail_json(msg=str(error), error_kind=error.kind, **result)
        raise AssertionError("unreachable")  # fail_json exits

    def finish(self, results: List[Dict[str, Any]], changed: bool, fail_on_error: bool = True,
               **extra: Any) -> NoReturn:
        """Exit with per-BMC results in `bmcs`; fail (still returning every result) when any BMC failed.

        Not named `results`: Ansible would read a `failed` item in it as a failed loop.
        """
        failed = [result for result in results if result.get("failed")]
        if failed and fail_on_error:
            lines = [str(result.get("msg") or result.get("name")) for result in failed]
            msg = "%d of %d BMC(s) failed: %s" % (len(failed), len(results), " | ".join(lines))
            self.ansible.fail_json(msg=msg, changed=changed, bmcs=results, **extra)
        self.ansible.exit_json(changed=changed, bmcs=results, **extra)
        raise AssertionError("unreachable")
