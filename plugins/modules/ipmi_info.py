#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipmi_info
short_description: Check reachability, login, power state and chassis status of many BMCs in one task
version_added: 1.0.0
description:
  - Logs in to every BMC given, reads Get Chassis Status, and logs out. This is the preflight a fencing setup
    needs; does every BMC the engine relies on answer, with the stored credentials, at the needed privilege.
  - The BMCs are handled concurrently, each with its own deadline, so one dead BMC does not delay the others.
  - A BMC that fails is reported in RV(bmcs) with the kind of failure; the task itself fails only when
    O(fail_on_error=true).
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.ipmi
  - ovirt_ha.core.attributes.READ_ONLY
  - ovirt_ha.core.attributes.ACTION_GROUP_IPMI
options:
  fail_on_error:
    description:
      - Fail the task when any BMC is unreachable, refuses the login, or refuses Get Chassis Status.
        Every BMC is still reported in RV(bmcs).
    type: bool
    default: false
seealso:
  - module: ovirt_ha.core.ipmi_power
  - module: ovirt_ha.core.ipmi_fence
"""

EXAMPLES = r"""
- name: Collect the BMC of every host of the ovirt_hosts group (host vars bmc_address, bmc_port)
  ansible.builtin.set_fact:
    bmc_list: "{{ (bmc_list | default([])) + [{'name': item, 'address': hostvars[item]['bmc_address'],
                                               'port': hostvars[item]['bmc_port'] | default(623)}] }}"
  loop: "{{ groups['ovirt_hosts'] }}"
  run_once: true
  delegate_to: localhost

- name: Check all of them in one task (credentials from IPMI_USERNAME / IPMI_PASSWORD)
  ovirt_ha.core.ipmi_info:
    bmcs: "{{ bmc_list }}"
    fail_on_error: true
  run_once: true
  delegate_to: localhost
  register: bmc_check

- name: One BMC
  ovirt_ha.core.ipmi_info:
    address: host01-bmc.example.com
  register: one

- name: Credentials once for every ipmi module of the play
  module_defaults:
    group/ovirt_ha.core.ipmi:
      username: "{{ vault_ipmi_user }}"
      password: "{{ vault_ipmi_password }}"
  block:
    - name: Preflight
      ovirt_ha.core.ipmi_info:
        bmcs:
          - {name: host01, address: 10.0.0.101}
          - {name: host02, address: 10.0.0.102}
"""

RETURN = r"""
bmcs:
  description: One entry per BMC, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The BMC's name (O(bmcs[].name) or its address).
      type: str
      returned: always
    address: {description: Address used., type: str, returned: always}
    port: {description: Port used., type: int, returned: always}
    reachable: {description: The BMC answered IPMI., type: bool, returned: always}
    authenticated: {description: The login succeeded., type: bool, returned: always}
    power: {description: V(on) or V(off); null when unknown., type: str, returned: always}
    chassis:
      description: Decoded Get Chassis Status (power, faults, restore policy); null when not read.
      type: dict
      returned: always
      sample: {power: "on", power_overload: false, main_power_fault: false, power_restore_policy: always-off}
    failed: {description: This BMC failed., type: bool, returned: always}
    error:
      description:
        - Why it failed. C(kind) is one of V(unreachable), V(authentication_failed), V(command_refused),
          V(timed_out); C(msg) names the BMC and what to check.
      type: dict
      returned: when failed
    elapsed: {description: Seconds spent on this BMC., type: float, returned: always}
summary:
  description: Counts over all BMCs.
  returned: always
  type: dict
  sample: {total: 3, ok: 2, unreachable: 1, authentication_failed: 0, command_refused: 0, timed_out: 0}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.bulk import bmc_info
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.module import IpmiModule


def main() -> None:
    module = IpmiModule(dict(fail_on_error=dict(type="bool", default=False)))
    results = bmc_info(module.targets(), module.parallel)
    summary = {"total": len(results), "ok": 0, "unreachable": 0, "authentication_failed": 0,
               "command_refused": 0, "timed_out": 0}
    for result in results:
        key = result["error"].get("kind", "timed_out") if result.get("failed") else "ok"
        summary[key] = summary.get(key, 0) + 1
    module.finish(results, changed=False, fail_on_error=module.params["fail_on_error"], summary=summary)


if __name__ == "__main__":
    main()
