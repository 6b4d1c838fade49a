#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipmi_fence
short_description: Fence hosts through their BMCs and succeed only when each BMC confirms the power state
version_added: 1.0.0
description:
  - Fences one or more hosts the way a cluster fencer must. O(action=off) sends power off, waits
    O(power_wait), then polls the BMC until it reports off or O(power_timeout) passes, re-sending up to
    O(retries) times. O(action=reboot) does that, then the same for on.
  - A host counts as fenced only when its BMC reports the power off; a command the BMC accepted is not
    enough, and a timeout is always a failure.
  - Refuses to fence the machine the module runs on, when it can tell (see O(own_bmc_addresses) and
    O(detect_own_bmc)). Run it from another host with C(delegate_to).
  - Returns an audit record per host (times, commands, states seen, attempts). Hosts are handled
    concurrently; the task fails when any host did not reach the confirmed power state its action needs, naming
    each one and what it saw. Only RV(bmcs[].fenced) says whether the power was seen off.
  - Talks to the BMCs directly, for when the engine cannot fence (it is down, or its proxy hosts are gone).
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
  action:
    description:
      - V(off) - fence (power off, confirmed). V(reboot) - confirmed off, then confirmed on (the power is on
        again at the end). V(on) - power on, confirmed. V(status) - read the power state only.
      - V(off) on a host that is already off succeeds without a command; the reading is the confirmation.
    type: str
    required: true
    choices: ["off", "on", reboot, status]
  method:
    description:
      - How O(action=reboot) is done. V(onoff) - off, confirmed, then on, confirmed. V(cycle) - one chassis
        power cycle command, then on confirmed; faster, but the off in between is usually not observed, and
        then the host is rebooted but does not count as fenced (RV(bmcs[].fenced) is false).
    type: str
    default: onoff
    choices: [onoff, cycle]
  power_wait:
    description: Seconds to wait after each power command before the first status reading.
    type: float
    default: 2
  power_timeout:
    description: Seconds to poll for the expected power state after each command before it counts as failed.
    type: float
    default: 20
  retries:
    description: How many times a power command is re-sent when the state was not reached in O(power_timeout).
    type: int
    default: 0
  delay:
    description:
      - Seconds to wait before the first power command to each host, as C(fence_ipmilan --delay) does, so that
        in a two-node fence race one side clearly wins. Not applied in check mode or for V(status).
    type: float
    default: 0
  own_bmc_addresses:
    description:
      - Addresses of the BMC of the machine that runs the module. A host whose BMC has one of these addresses
        is never fenced.
    type: list
    elements: str
    default: []
  detect_own_bmc:
    description:
      - Read the local BMC's address with C(ipmitool lan print) when the machine has an IPMI device and
        C(ipmitool), and refuse to fence it. Hosts named like the machine itself are refused as well.
    type: bool
    default: true
  hosted_engine_metadata:
    description:
      - Path of the hosted-engine metadata volume, as for M(ovirt_ha.core.hosted_engine_status). When given,
        O(action=off) and O(action=reboot) refuse every host whose name (short or fully qualified) the volume
        shows running the engine VM, unless O(force=true). Its block may be stale, which is why it counts.
      - A volume that cannot be read fails the task before any power command.
    type: path
  force:
    description:
      - Fence hosts that O(hosted_engine_metadata) shows running the engine VM. The engine VM goes down with
        the host; the HA agents restart it elsewhere.
    type: bool
    default: false
seealso:
  - module: ovirt_ha.core.ipmi_info
  - module: ovirt_ha.core.ipmi_power
  - name: fence_ipmilan
    description: The fence-agents tool that vdsm runs for the engine.
    link: https://github.com/ClusterLabs/fence-agents
"""

EXAMPLES = r"""
- name: Fence host03 (power off, confirmed) from another machine
  ovirt_ha.core.ipmi_fence:
    address: "{{ hostvars['host03'].bmc_address }}"
    name: host03
    username: "{{ ipmi_user }}"
    password: "{{ ipmi_password }}"
    action: "off"
    power_timeout: 30
    retries: 1
  delegate_to: localhost
  register: fence

- name: Reboot two hosts through the ipmi action group defaults
  module_defaults:
    group/ovirt_ha.core.ipmi:
      username: "{{ ipmi_user }}"
      password: "{{ ipmi_password }}"
  ovirt_ha.core.ipmi_fence:
    bmcs:
      - {name: host01, address: 10.0.0.101}
      - {name: host02, address: 10.0.0.102}
    action: reboot
    delay: 5

- name: Fence host01 unless the hosted-engine metadata shows the engine VM on it
  ovirt_ha.core.ipmi_fence:
    address: 10.0.0.101
    name: host01.example.com
    action: "off"
    hosted_engine_metadata: /rhev/data-center/mnt/nfs.example.com:_he/2164faa8-b18b-4036-b686-5a6eec95081b/ha_agent/hosted-engine.metadata

- name: What would be sent (no power command in check mode)
  ovirt_ha.core.ipmi_fence:
    address: 10.0.0.103
    action: reboot
  check_mode: true
"""

RETURN = r"""
bmcs:
  description: The audit record of each host, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The host's or BMC's name., type: str, returned: always}
    address: {description: BMC address., type: str, returned: always}
    result: {description: V(success) or V(failed)., type: str, returned: always}
    fenced:
      description:
        - The BMC reported the power off (for V(off) and V(reboot)), before or after a command.
        - False for a V(cycle) reboot whose off was not observed.
      type: bool
      returned: always
    changed:
      description: A power command was sent (in check mode, would be sent).
      type: bool
      returned: always
    power_before: {description: Power state read before acting., type: str, returned: when logged in}
    power_after: {description: Last confirmed power state., type: str, returned: when logged in}
    commands: {description: The power commands the action needs from the state found., type: list,
               elements: str, returned: always}
    phases:
      description: Per command, the attempts with C(sent_at), C(states_seen), C(confirmed_at) or C(error).
      type: list
      elements: dict
      returned: always
    started_at: {description: UTC start time (ISO 8601)., type: str, returned: always}
    finished_at: {description: UTC end time., type: str, returned: always}
    elapsed: {description: Seconds spent., type: float, returned: always}
    error: {description: C(kind) and C(msg); C(states_seen) on a timeout., type: dict, returned: when failed}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.bulk import bmc_fence
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.errors import IpmiError
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FENCE_ACTIONS, FENCE_METHODS, FenceRequest
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.module import IpmiModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.safety import (
    check_not_engine_host, check_not_self, engine_vm_hosts, local_bmc_addresses_from_ipmitool)


def main() -> None:
    module = IpmiModule(dict(
        action=dict(type="str", required=True, choices=list(FENCE_ACTIONS)),
        method=dict(type="str", default="onoff", choices=list(FENCE_METHODS)),
        power_wait=dict(type="float", default=2),
        power_timeout=dict(type="float", default=20),
        retries=dict(type="int", default=0),
        delay=dict(type="float", default=0),
        own_bmc_addresses=dict(type="list", elements="str", default=[]),
        detect_own_bmc=dict(type="bool", default=True),
        hosted_engine_metadata=dict(type="path"),
        force=dict(type="bool", default=False),
    ))
    params = module.params
    for name in ("power_wait", "power_timeout", "retries", "delay"):
        if params[name] < 0 or (name == "power_timeout" and params[name] == 0):
            module.fail(IpmiError("%s: expected a %s number, got %r"
                                  % (name, "positive" if name == "power_timeout" else "non-negative", params[name])))
    targets = module.targets()
    if params["action"] != "status":
        own = list(params["own_bmc_addresses"])
        if params["detect_own_bmc"]:
            own += local_bmc_addresses_from_ipmitool()
        try:
            check_not_self(targets, own, None if params["detect_own_bmc"] else set())
            if params["action"] in ("off", "reboot") and params["hosted_engine_metadata"] and not params["force"]:
                check_not_engine_host(targets, engine_vm_hosts(params["hosted_engine_metadata"]))
        except IpmiError as error:
            module.fail(error)
    request = FenceRequest(action=params["action"], method=params["method"], power_wait=params["power_wait"],
                           power_timeout=params["power_timeout"], retries=params["retries"], delay=params["delay"],
                           check_mode=module.check_mode)
    results = bmc_fence(targets, request, module.parallel)
    module.finish(results, changed=any(result.get("changed") for result in results))


if __name__ == "__main__":
    main()
