#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_power_management
short_description: Configure power management and fence agents of many oVirt hosts in one task
description:
  - For each host in O(hosts), makes its fence agents and power management settings match.
  - An agent is identified by O(hosts[].agents[].order), O(hosts[].agents[].type) and O(hosts[].agents[].address).
    An existing agent with the same three is updated in place; otherwise a new agent is added. Agents that are
    not listed are removed only with O(purge=true).
  - The engine never returns passwords, so they cannot be compared. With O(update_password=on_create) (the
    default) a password is sent only when its agent is created, which keeps runs idempotent; with
    O(update_password=always) it is sent on every run and the agent is reported as changed.
  - Reads one host list with the agents inlined; writes one request per agent added, updated or removed and one
    per host whose settings differ.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  hosts:
    description: The hosts and their power management.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Host name.
        type: str
        required: true
      enabled:
        description: Whether power management is enabled (needs at least one agent).
        type: bool
      kdump_detection:
        description: Whether the engine waits for a kdump in progress before fencing.
        type: bool
      automatic_pm_enabled:
        description: Whether the engine may power the host on and off for power saving.
        type: bool
      pm_proxies:
        description: Where the engine looks for a proxy host that runs the fence agent, in order.
        type: list
        elements: str
        choices: [cluster, dc, other_dc]
      agents:
        description: The fence agents. Omit to leave the agents as they are.
        type: list
        elements: dict
        suboptions:
          type:
            description: Agent type, for example V(ipmilan), V(redfish), V(drac7).
            type: str
            required: true
          address:
            description: BMC address.
            type: str
            required: true
          username:
            description: BMC user.
            type: str
          password:
            description: BMC password (see O(update_password)).
            type: str
          port:
            description: BMC port.
            type: int
          options:
            description: Agent options, for example V(lanplus=1) as C(lanplus) with value C("1").
            type: dict
          encrypt_options:
            description: Whether the engine stores the options encrypted.
            type: bool
          order:
            description: Order in which agents are tried, from 1. Defaults to the position in the list.
            type: int
          concurrent:
            description: Whether this agent is used together with the other agents of the same order.
            type: bool
  update_password:
    description: When to send agent passwords.
    type: str
    choices: [always, on_create]
    default: on_create
  purge:
    description: Remove agents of the listed hosts that O(hosts[].agents) does not list.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Fencing for all hosts at once (list built in group_vars), removing agents not listed
  ovirt_ha.core.host_power_management:
    purge: true
    hosts: "{{ pm_hosts }}"

- name: One host, explicitly
  ovirt_ha.core.host_power_management:
    hosts:
      - name: host01
        enabled: true
        kdump_detection: true
        pm_proxies: [cluster, dc]
        agents:
          - type: ipmilan
            address: bmc01.example.com
            username: fence
            password: "{{ vault_bmc_password }}"
            options: {lanplus: "1"}
"""

RETURN = r"""
hosts:
  description: Per host, the settings after the run, the number of agents and what was added, updated or removed.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: host01, id: "1", changed: true, enabled: true, kdump_detection: true, automatic_pm_enabled: null,
       pm_proxies: [cluster, dc], agents: 1, agents_added: 1, agents_updated: 0, agents_removed: 0}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.power_management import (
    PM_PROXIES, apply_power_management, parse_specs)

AGENT_OPTIONS = dict(
    type=dict(type="str", required=True),
    address=dict(type="str", required=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    port=dict(type="int"),
    options=dict(type="dict"),
    encrypt_options=dict(type="bool"),
    order=dict(type="int"),
    concurrent=dict(type="bool"),
)

HOST_OPTIONS = dict(
    name=dict(type="str", required=True),
    enabled=dict(type="bool"),
    kdump_detection=dict(type="bool"),
    automatic_pm_enabled=dict(type="bool"),
    pm_proxies=dict(type="list", elements="str", choices=list(PM_PROXIES)),
    agents=dict(type="list", elements="dict", options=AGENT_OPTIONS),
)


def main() -> None:
    module = EngineModule(dict(
        hosts=dict(type="list", elements="dict", required=True, options=HOST_OPTIONS),
        update_password=dict(type="str", choices=["always", "on_create"], default="on_create", no_log=False),
        purge=dict(type="bool", default=False),
    ))
    specs = module.validate(parse_specs, module.params["hosts"])

    def body(session) -> dict:
        hosts = apply_power_management(session.system, specs, module.diff, module.check_mode,
                                       module.params["update_password"], module.params["purge"], module.warn)
        return {"hosts": hosts}

    module.run(body)


if __name__ == "__main__":
    main()
