#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_reconcile
short_description: Plan the hosted-engine HA pass from the metadata volume, with the engine down
version_added: 1.1.0
description:
  - Runs on any hosted-engine host that mounts the hosted-engine storage. Takes the pass's run lease (a file next to
    the metadata volume, since the engine is down), reads the volume, judges each agent (live, stale, stopped) with
    what earlier runs remembered, and returns at most one action for one host. The C(ovirt_ha.core.ha_runtime) role
    runs the action on that host with M(ovirt_ha.core.hosted_engine_tool), then calls this module again with
    O(phase=release).
  - Actions - C(start_engine_vm) when the engine VM has run nowhere for O(policy.engine_down_grace) seconds and no
    agent is starting, running or stopping it, on the host where it crashed first (once), then on the live,
    reachable host with the best score; C(maintenance_none) when global maintenance has been on longer than
    O(policy.max_global_maintenance); C(restart_agent) for a reachable host whose agent stopped publishing.
  - Never plans a start while a host that last reported the engine VM up may still run it (silent for less than
    O(policy.lock_grace) seconds), nor anything else during global maintenance. EngineStarting, EngineUpBadHealth and
    the other states in which an agent handles the VM are left to the agent and its own timeouts.
  - Error findings with no action are returned in RV(problems); the role fails the run on them.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.hosted_engine_host
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.NO_DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_HOSTED_ENGINE
attributes:
  check_mode:
    details: Plans without taking the lease and without writing the pass's memory.
options:
  phase:
    description: V(plan) takes the lease and plans; V(release) gives the lease of O(lease_token) back.
    type: str
    choices: [plan, release]
    default: plan
  hosts:
    description: The inventory's hosted-engine hosts.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Inventory name (where the role runs the action)., type: str, required: true}
      hostname: {description: The host's name as its agent writes it in the volume (usually its FQDN)., type: str, required: true}
      reachable: {description: Whether the controller reached the host in this run., type: bool, default: true}
  policy:
    description: The pass's rules; every key is optional.
    type: dict
    default: {}
    suboptions:
      liveness_timeout: {description: Seconds without a new timestamp before an agent counts as stale., type: float, default: 60}
      engine_down_grace: {description: Seconds the engine VM may run nowhere before the pass starts it., type: float, default: 90}
      lock_grace: {description: Seconds a host that last reported the engine VM up must be silent before it no longer may run it., type: float, default: 120}
      max_global_maintenance: {description: Seconds after which global maintenance is cleared; unset reports only., type: float}
      restart_stale_agents: {description: Restart agents that stopped publishing., type: bool, default: true}
      local_restart_first: {description: Restart a crashed engine VM on its own host once before moving it., type: bool, default: true}
  lease:
    description: The run lease.
    type: dict
    default: {}
    suboptions:
      holder: {description: Who holds it (shown to other passes)., type: str, default: ovirt_ha.core}
      ttl: {description: Seconds before an abandoned lease may be taken over (30 to 3600)., type: float, default: 180}
  lease_token:
    description: With O(phase=release), the RV(lease_token) the plan returned.
    type: str
  state_dir:
    description:
      - Where the lease and the pass's memory live. Default - the metadata volume's directory on the shared
        hosted-engine storage. On iSCSI or FC that directory is local to each host; give a shared one.
    type: path
notes:
  - The pass's clock is the median wall-clock time the agents last wrote or the host's own, whichever is later; keep the
    hosts' clocks synchronised (as hosted-engine requires anyway).
seealso:
  - module: ovirt_ha.core.hosted_engine_tool
  - module: ovirt_ha.core.hosted_engine_status
"""

EXAMPLES = r"""
- name: Plan the hosted-engine pass
  ovirt_ha.core.hosted_engine_reconcile:
    hosts:
      - {name: he1, hostname: he1.example.com}
      - {name: he2, hostname: he2.example.com, reachable: false}
    policy:
      max_global_maintenance: 14400
  register: he_plan

- name: Do the planned action on its host
  ovirt_ha.core.hosted_engine_tool:
    engine_vm: started
    wait: true
  delegate_to: "{{ he_plan.action.host }}"
  when: he_plan.action.operation | default('') == 'start_engine_vm'

- name: Give the lease back
  ovirt_ha.core.hosted_engine_reconcile:
    phase: release
    lease_token: "{{ he_plan.lease_token }}"
  when: he_plan.lease_token
"""

RETURN = r"""
action:
  description: The one action planned, or null. C(operation) is C(start_engine_vm), C(maintenance_none) or C(restart_agent).
  returned: phase plan
  type: dict
  sample: {operation: start_engine_vm, host: he2, hostname: he2.example.com, host_id: 2,
           reason: "down for 95 s; best score (EngineDown, score 3400)"}
findings:
  description: What the pass saw, each with C(severity) (info, warning, error), C(kind), C(host) and C(message).
  returned: phase plan
  type: list
  elements: dict
problems:
  description: Messages of error findings the pass cannot act on; the role fails the run when there are any.
  returned: phase plan
  type: list
  elements: str
hosts:
  description: Every host block, judged - C(live), C(stale_for), C(state), C(score), C(engine_vm), C(reachable).
  returned: phase plan
  type: list
  elements: dict
engine:
  description: C(state) (up, up_bad_health, agent_handling, down, global_maintenance, unknown) and C(host).
  returned: phase plan
  type: dict
lease:
  description: The run lease - C(state) held, released, busy or not held, its holder and expiry.
  returned: always
  type: dict
lease_token:
  description: The token to release the lease with, when an action is planned (the lease is kept for it).
  returned: phase plan
  type: str
cluster_time:
  description: The pass's clock (epoch seconds).
  returned: phase plan
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.tool import HOST_FILE_ARGS
from ansible_collections.ovirt_ha.core.plugins.module_utils._he_runtime.run import run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            HOST_FILE_ARGS,
            phase=dict(type="str", choices=["plan", "release"], default="plan"),
            hosts=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                hostname=dict(type="str", required=True),
                reachable=dict(type="bool", default=True),
            )),
            policy=dict(type="dict", default={}, options=dict(
                liveness_timeout=dict(type="float", default=60),
                engine_down_grace=dict(type="float", default=90),
                lock_grace=dict(type="float", default=120),
                max_global_maintenance=dict(type="float"),
                restart_stale_agents=dict(type="bool", default=True),
                local_restart_first=dict(type="bool", default=True),
            )),
            lease=dict(type="dict", default={}, options=dict(
                holder=dict(type="str", default="ovirt_ha.core"),
                ttl=dict(type="float", default=180),
            )),
            lease_token=dict(type="str", no_log=False),
            state_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
