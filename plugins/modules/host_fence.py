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
  - With O(hosts) instead of O(host), reads the power status of many hosts in one task (only with
    O(action=status)) - one login, one host search for all the names (one per 100 names), then one fence status
    request per host, one after the other over the one connection (the engine has no bulk fence status). A host that
    is not found or whose status cannot be read is reported in RV(hosts) and does not fail the task unless
    O(fail_on_error=true).
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
    details:
      - Reads the power status (a non-mutating fence V(status) request) and reports what would change.
      - With O(hosts) (status only) the same requests as without check mode are made; all of them are reads.
  diff_mode:
    details: Shows the power state before and after.
options:
  host:
    description:
      - Host name.
      - Exactly one of O(host) and O(hosts) is required.
    type: str
  hosts:
    description:
      - Names of the hosts whose power status to read, in one task. Only with O(action=status).
      - Exactly one of O(host) and O(hosts) is required.
    type: list
    elements: str
    version_added: 1.1.0
  fail_on_error:
    description:
      - With O(hosts), fail the task when any host is not found or its power status cannot be read. Every host is
        still reported in RV(hosts).
      - An error of the engine itself (login refused, engine unreachable, a request timeout) always fails the task.
    type: bool
    default: false
    version_added: 1.1.0
  action:
    description: The fence action. With O(hosts) only V(status).
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

- name: Power state of many hosts, one engine login
  ovirt_ha.core.host_fence:
    hosts: [host01, host02, host03]
    action: status
  register: power_all

- name: Hosts whose fence agent did not give a power state
  ansible.builtin.debug:
    msg: "{{ power_all.hosts | rejectattr('power_state', 'in', ['on', 'off']) | map(attribute='name') | list }}"
"""

RETURN = r"""
power_state:
  description: Power state after the action (V(on), V(off), V(unknown)); null after V(manual) or with O(wait=false).
  returned: success, with O(host)
  type: str
  sample: "on"
power_state_before:
  description: Power state before the action.
  returned: with O(host), unless O(action=manual)
  type: str
  sample: "off"
status:
  description: The engine's status of the host before the action.
  returned: success, with O(host)
  type: str
  sample: maintenance
hosts:
  description: One entry per name in O(hosts), in the order given.
  returned: with O(hosts)
  type: list
  elements: dict
  contains:
    name:
      description: The host name as given.
      type: str
      returned: always
    id:
      description: The engine's id of the host; null when not found.
      type: str
      returned: always
    status:
      description: The engine's status of the host; null when not found.
      type: str
      returned: always
    power_state:
      description: The power state the fence agent reports (V(on), V(off), V(unknown)); null when not read.
      type: str
      returned: always
    failed:
      description: The host was not found or its power status could not be read.
      type: bool
      returned: always
    msg:
      description: Why, naming the host (for example V(no host named 'host09')) and what the engine said.
      type: str
      returned: when failed
  sample:
    - {name: host01, id: "1", status: up, power_state: "on", failed: false}
    - {name: host09, id: null, status: null, power_state: null, failed: true, msg: "no host named 'host09'"}
"""

from typing import NoReturn

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.fence import (
    ACTIONS, EXPECTED_POWER, fence_host, fence_status_many, parse_host_names)
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule


def run_many(module: EngineModule) -> NoReturn:
    params = module.params
    if params["action"] != "status":
        module.fail(InputError("action", "status with hosts (fence actions take one host, in host)",
                               params["action"]))
    names = module.validate(parse_host_names, params["hosts"])

    def body(session) -> dict:
        hosts = fence_status_many(session.system, names)
        failed = [h for h in hosts if h["failed"]]
        result = {"changed": False, "hosts": hosts}
        if failed and params["fail_on_error"]:
            result.update(failed=True, msg="power status not read for %d of %d hosts: %s" % (
                len(failed), len(hosts), "; ".join("%s: %s" % (h["name"], h["msg"]) for h in failed)))
        return result

    module.run(body)


def main() -> None:
    module = EngineModule(dict(
        host=dict(type="str"),
        hosts=dict(type="list", elements="str"),
        fail_on_error=dict(type="bool", default=False),
        action=dict(type="str", choices=list(ACTIONS), default="status"),
        confirm_host_is_down=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    ), mutually_exclusive=[("host", "hosts")], required_one_of=[("host", "hosts")])
    params = module.params
    if params["hosts"] is not None:
        run_many(module)

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
