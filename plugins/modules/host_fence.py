#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_fence
short_description: Fence an oVirt host through the engine and verify its power state
description:
  - Asks the engine to run a fence action with the host's fence agent (through a proxy host).
  - After V(start), V(stop) and V(restart) the module polls the power status with back-off until it is the expected
    one (V(on), V(off), V(on)) or O(wait_timeout) passes; "command sent" is not "fenced".
  - V(start) on a host already on and V(stop) on a host already off change nothing.
  - V(manual) tells the engine the host was rebooted by hand, so that its VMs can be started elsewhere. It is refused
    unless O(confirm_host_is_down=true), and only done for a host the engine does not see up.
  - V(stop) and V(restart) of the host that runs the hosted-engine VM are refused unless O(force=true).
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
attributes:
  check_mode:
    details: Reads the power status (a non-mutating fence V(status) request) and reports what would change.
  diff_mode:
    details: Shows the power state before and after.
options:
  host:
    description: Host name.
    type: str
    required: true
  action:
    description: The fence action.
    type: str
    choices: [status, start, stop, restart, manual]
    default: status
  confirm_host_is_down:
    description: Required for O(action=manual); confirms you checked that the host is powered off or was rebooted.
    type: bool
    default: false
  force:
    description: Allow O(action=stop) and O(action=restart) of the host that runs the hosted-engine VM.
    type: bool
    default: false
  wait:
    description: Wait for and verify the resulting power state.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the power state.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Power state of a host
  ovirt_ha.core.host_fence:
    host: host01
  register: power

- name: Power-cycle a host in maintenance and verify it comes back on
  ovirt_ha.core.host_fence:
    host: host02
    action: restart

- name: Tell the engine host03 was rebooted by hand
  ovirt_ha.core.host_fence:
    host: host03
    action: manual
    confirm_host_is_down: true
"""

RETURN = r"""
power_state:
  description: Power state after the action (V(on), V(off), V(unknown)); null after V(manual) or with O(wait=false).
  returned: success
  type: str
  sample: "on"
power_state_before:
  description: Power state before the action.
  returned: unless O(action=manual)
  type: str
  sample: "off"
status:
  description: The engine's status of the host before the action.
  returned: success
  type: str
  sample: maintenance
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.fence import ACTIONS, EXPECTED_POWER, fence_host
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule


def main() -> None:
    module = EngineModule(dict(
        host=dict(type="str", required=True),
        action=dict(type="str", choices=list(ACTIONS), default="status"),
        confirm_host_is_down=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    ))
    params = module.params

    def body(session) -> dict:
        result = fence_host(session.system, params["host"], params["action"],
                            confirm_host_is_down=params["confirm_host_is_down"], force=params["force"],
                            check_mode=module.check_mode, wait=params["wait"], timeout=params["wait_timeout"])
        action = params["action"]
        if result["changed"] and action == "restart":
            module.diff.note(params["host"], "power", result["power_state_before"], "restarted, then on")
        elif result["changed"] and action != "manual":
            module.diff.note(params["host"], "power", result["power_state_before"], EXPECTED_POWER[action])
        elif result["changed"]:
            module.diff.note(params["host"], "manual_fence", "not confirmed", "confirmed")
        return result

    module.run(body)


if __name__ == "__main__":
    main()
