#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipmi_power
short_description: Set or read the power of one or many machines through their BMCs (IPMI over LAN)
version_added: 1.0.0
description:
  - Reads each BMC's power state, sends a chassis power command only when the state differs, and by default
    waits until the BMC reports the state the command must end in.
  - Many BMCs are handled in one task, concurrently, each with its own deadline; every BMC gets a result,
    and the task fails when any BMC failed, naming each one.
  - For fencing (off, confirmed off, then on, with an audit record) use M(ovirt_ha.core.ipmi_fence).
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.ipmi
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.NO_DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_IPMI
attributes:
  diff_mode:
    details: The result lists the power state before and after for each BMC instead.
options:
  state:
    description:
      - V(on), V(off) - idempotent; V(soft) - ask the operating system to shut down (ACPI), idempotent,
        ends in V(off).
      - V(reset) (hard reset) and V(cycle) (off, then on) always act and report a change; on a machine that
        is off they power it on instead.
      - V(status) only reads the power state.
    type: str
    required: true
    choices: ["on", "off", reset, cycle, soft, status]
  wait:
    description:
      - Wait until each BMC reports the state the command must end in (V(on), or V(off) for V(off) and
        V(soft)), polling its power state. Without it the command is sent and the state read once.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the state with O(wait=true); a BMC that has not reached it fails with the states
        it reported. An operating system shutdown (V(soft)) can take minutes.
    type: float
    default: 60
seealso:
  - module: ovirt_ha.core.ipmi_fence
  - module: ovirt_ha.core.ipmi_info
"""

EXAMPLES = r"""
- name: Power on one machine and wait until its BMC reports it on
  ovirt_ha.core.ipmi_power:
    address: host01-bmc.example.com
    username: "{{ ipmi_user }}"
    password: "{{ ipmi_password }}"
    state: "on"

- name: Read the power of every BMC of an inventory group in one task
  ovirt_ha.core.ipmi_power:
    bmcs: "{{ bmc_list }}"  # [{name: host01, address: 10.0.0.101}, ...]
    state: status
  run_once: true
  delegate_to: localhost
  register: power

- name: Credentials once for the ipmi action group
  module_defaults:
    group/ovirt_ha.core.ipmi:
      username: "{{ ipmi_user }}"
      password: "{{ ipmi_password }}"
  block:
    - name: Shut down two hosts cleanly, allowing five minutes
      ovirt_ha.core.ipmi_power:
        bmcs:
          - {name: host01, address: 10.0.0.101}
          - {name: host02, address: 10.0.0.102}
        state: soft
        wait_timeout: 300
"""

RETURN = r"""
bmcs:
  description: One entry per BMC, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The BMC's name., type: str, returned: always}
    address: {description: Address used., type: str, returned: always}
    port: {description: Port used., type: int, returned: always}
    changed:
      description: A power command was sent (in check mode, would be sent).
      type: bool
      returned: success
    command:
      description: The chassis command sent (V(on), V(off), V(soft), V(reset), V(cycle)), null when none.
      type: str
      returned: success
    power_before: {description: Power state read before acting., type: str, returned: success}
    power:
      description: Power state at the end (in check mode, the state the command would lead to).
      type: str
      returned: success
    states_seen: {description: Power states polled while waiting (V(on x3) = three readings)., type: list,
                  elements: str, returned: when waited}
    failed: {description: This BMC failed., type: bool, returned: always}
    error:
      description: C(kind) (V(unreachable), V(authentication_failed), V(command_refused), V(timed_out)) and C(msg).
      type: dict
      returned: when failed
    elapsed: {description: Seconds spent on this BMC., type: float, returned: always}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.bulk import bmc_power
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.errors import IpmiError
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.module import IpmiModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.power import POWER_STATES, PowerRequest


def main() -> None:
    module = IpmiModule(dict(
        state=dict(type="str", required=True, choices=list(POWER_STATES)),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=60),
    ))
    params = module.params
    if params["wait_timeout"] <= 0:
        module.fail(IpmiError("wait_timeout: expected a positive number of seconds, got %r" % params["wait_timeout"]))
    request = PowerRequest(state=params["state"], wait=params["wait"], wait_timeout=params["wait_timeout"],
                           check_mode=module.check_mode)
    results = bmc_power(module.targets(), request, module.parallel)
    module.finish(results, changed=any(result.get("changed") for result in results))


if __name__ == "__main__":
    main()
