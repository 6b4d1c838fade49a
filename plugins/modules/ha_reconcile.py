#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: ha_reconcile
short_description: Repair what the engine's own HA leaves broken in one cluster, safely, when run periodically
version_added: 1.0.0
description:
  - One pass of the runtime HA reconciler over one cluster, meant to run every 30 s to a few minutes (cron, a
    systemd timer, an AWX schedule; see the C(ovirt_ha.core.ha_runtime) role). Level-triggered and stateless
    between runs - what must survive a run (fence attempts, start attempts, outage witnesses, the run lease) is kept
    in the engine's event log - so any controller can run the next pass.
  - It reads the cluster in 6 API requests whatever its size, computes a plan with a pure function, and acts only
    where the engine's own HA has finished or given up, never while the engine is still in its grace period or fence
    flow. It repairs hosts the engine sees non responsive and cannot or did not fence (no power management, no proxy
    host, a failed fence, skipped during the engine's start-up), by fencing them over IPMI with the BMCs the
    inventory knows, or through the engine's power management; and HA VMs the engine is not bringing back (down with
    an error and waiting out the engine's 30-minute retry interval), in priority order on hosts with room.
  - "Safety rules, never options: a fence is power off, the off confirmed by the BMC, and only then the manual fence
    that lets the engine restart the host's VMs - a timeout or an unreachable BMC is never fenced. A powered-on host
    is fenced only on evidence that it lost its storage (a VM whose lease it held runs elsewhere now); a host whose
    lease is live is never fenced. Nothing is fenced when the share of unreachable hosts reaches the connectivity
    threshold, nor the last host up, nor the host running the hosted-engine VM, nor more hosts than the fence budget,
    nor anything during hosted-engine global maintenance. The cluster's fencing policy is respected. VMs a user
    stopped stay down."
  - One reconciler acts at a time per cluster, also across machines - a run lease in the engine (an external event
    whose custom id the engine keeps unique), re-checked before every action, expiring by itself when its holder dies.
  - Every decision and action is posted as an engine event (origin C(ovirt_ha.core), idempotent by custom id), so
    the engine's event log shows what the reconciler did and why.
  - The task fails when something stays wrong after the pass, or an action was refused for safety or failed; it
    succeeds when the cluster is healthy or was repaired, or when another reconciler holds the lease.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.NO_DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
attributes:
  check_mode:
    details: Returns the same plan without taking the lease, recording anything or acting.
  diff_mode:
    details: RV(plan) and RV(actions) say what would be and was done instead.
options:
  cluster:
    description: Name of the cluster to reconcile.
    type: str
    required: true
  bmcs:
    description:
      - The BMC of each host the reconciler may fence over IPMI, named by the host's name in the engine. A host
        without an entry is fenced only through the engine's power management, if it has one.
      - An entry for a host the cluster does not have fails the task before anything is done.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The host's name in the engine.
        type: str
        required: true
      address:
        description: BMC address.
        type: str
        required: true
      port:
        description: BMC port (defaults to O(bmc_port)).
        type: int
      username:
        description: BMC user (defaults to O(bmc_username)).
        type: str
      password:
        description: BMC password (defaults to O(bmc_password)).
        type: str
  bmc_port:
    description: Default BMC port.
    type: int
    default: 623
  bmc_username:
    description: Default BMC user. Falls back to the C(IPMI_USERNAME) environment variable.
    type: str
  bmc_password:
    description: Default BMC password. Falls back to the C(IPMI_PASSWORD) environment variable.
    type: str
  bmc_timeout:
    description: Seconds for one IPMI exchange (login included).
    type: float
    default: 15
  policy:
    description: What the reconciler may do, and how long it leaves the engine to act first.
    type: dict
    default: {}
    suboptions:
      fence_budget:
        description: Hosts fenced at most per run (0-100); 0 reports only.
        type: int
        default: 1
      fence_method:
        description:
          - V(engine_then_ipmi) - through the engine's power management when the host has it and the engine's fence
            did not just fail, otherwise over IPMI. V(ipmi) - always over IPMI with O(bmcs).
        type: str
        default: engine_then_ipmi
        choices: [engine_then_ipmi, ipmi]
      grace:
        description: Seconds added to every engine window (grace period, soft fence, start-up) before acting (0-3600).
        type: float
        default: 30
      engine_fence_timeout:
        description: Seconds a host may be non responsive with the engine doing nothing visible before the engine
          counts as not fencing it (60-86400).
        type: float
        default: 300
      lease_wait:
        description: Seconds after a host's last good monitoring after which a lease it held has expired if it lost
          its storage (80-3600).
        type: float
        default: 90
      connectivity_threshold:
        description: Percentage of unreachable hosts at which nothing is fenced (1-100); the cluster's own threshold
          applies when it is stricter.
        type: int
        default: 50
      fence_when_cluster_fencing_disabled:
        description: Fence where the cluster's fencing policy disables fencing. The connectivity threshold still holds.
        type: bool
        default: false
      max_fence_attempts:
        description: Fence attempts per host and outage before the reconciler gives up and reports (1-100).
        type: int
        default: 3
      fence_backoff:
        description: Seconds after a failed fence before the next attempt, doubled each time (0-86400).
        type: float
        default: 300
      power_on_after_fence:
        description: Power a fenced host on again once the engine was told it is down.
        type: bool
        default: true
      start_ha_vms:
        description: Start HA VMs that are down with an error and that the engine is not restarting.
        type: bool
        default: true
      max_start_attempts:
        description: Start attempts per HA VM and failure before the reconciler gives up and reports (1-1000).
        type: int
        default: 5
      start_backoff:
        description: Seconds after a failed start before the next one (0-86400).
        type: float
        default: 300
      engine_retry_wait:
        description: Seconds after an HA VM failed during which the engine's own retries (ten, 30 s apart) are left
          alone (0-86400).
        type: float
        default: 300
      confirm_timeout:
        description: Seconds the BMC has to report the power off (5-600).
        type: float
        default: 60
  lease:
    description: The run lease.
    type: dict
    default: {}
    suboptions:
      ttl:
        description:
          - Seconds a run holds the lease before it must renew it, up to 3600; at least the longest action (a
            confirmed power off - twice O(bmc_timeout), O(policy.confirm_timeout) and a margin) plus 30 s.
          - A reconciler that dies holding the lease blocks the cluster this long at most.
        type: float
        default: 180
      holder:
        description: How the lease names this run in the engine's event log (default host name and process id).
        type: str
  event_window:
    description: How many of the newest relevant engine events to read (100-100000).
    type: int
    default: 2000
notes:
  - Schedule it with the C(ovirt_ha.core.ha_runtime) role and C(playbooks/reconcile.yml); see C(docs/reconciler.md).
seealso:
  - module: ovirt_ha.core.cluster_info
  - module: ovirt_ha.core.ipmi_fence
  - module: ovirt_ha.core.host_fence
"""

EXAMPLES = r"""
- name: Show what the reconciler would do, changing nothing
  ovirt_ha.core.ha_reconcile:
    cluster: Default
  check_mode: true
  register: plan

- name: Reconcile, BMC entries written out
  ovirt_ha.core.ha_reconcile:
    cluster: Default
    bmcs:
      - name: host02
        address: 10.0.0.12
    bmc_username: admin
    bmc_password: "{{ vault_bmc_password }}"
"""

RETURN = r"""
plan:
  description: The planned actions (kind, target, reason, preconditions re-checked before acting, parameters), the
    findings the plan did not act on, and the invariants.
  returned: always
  type: dict
actions:
  description: Each action with its result (V(done), V(skipped), V(refused), V(failed)), detail and steps.
  returned: always
  type: list
  elements: dict
findings:
  description: What was not acted on and why (V(waiting) for the engine, V(respected) policy or user, V(refused) by a
    safety rule, V(blocked)), and whether it leaves the cluster wrong (C(problem)).
  returned: always
  type: list
  elements: dict
invariants:
  description: The safety rules checked in this run, each with whether it held and the numbers behind it.
  returned: always
  type: list
  elements: dict
lease:
  description: The run lease (V(held) then V(released), V(busy) with the other holder, V(not_needed), V(check_mode)).
  returned: always
  type: dict
problems:
  description: What stays wrong after this run; the task fails when it is not empty.
  returned: always
  type: list
  elements: str
summary:
  description: Hosts unreachable, HA VMs down or unknown, global maintenance, as read at the start of the run.
  returned: always
  type: dict
api_requests:
  description: API requests made (6 for the read on an engine that inlines fence agents), login excluded.
  returned: always
  type: int
run_warnings:
  description: Records that could not be written, hosts left powered off (each also an Ansible warning).
  returned: always
  type: list
  elements: str
"""

from typing import Any, Dict

from ansible.module_utils.basic import env_fallback

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.options import POLICY_OPTIONS, build_request
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.reconcile import reconcile


def main() -> None:
    module = EngineModule(dict(
        cluster=dict(type="str", required=True),
        bmcs=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), address=dict(type="str", required=True), port=dict(type="int"),
            username=dict(type="str"), password=dict(type="str", no_log=True))),
        bmc_port=dict(type="int", default=623),
        bmc_username=dict(type="str", fallback=(env_fallback, ["IPMI_USERNAME"])),
        bmc_password=dict(type="str", no_log=True, fallback=(env_fallback, ["IPMI_PASSWORD"])),
        bmc_timeout=dict(type="float", default=15),
        policy=dict(type="dict", default={}, options=POLICY_OPTIONS),
        lease=dict(type="dict", default={}, options=dict(ttl=dict(type="float", default=180), holder=dict(type="str"))),
        event_window=dict(type="int", default=2000),
    ))
    request, order = module.validate(build_request, module.params, module.check_mode)

    def body(session: Any) -> Dict[str, Any]:
        result = reconcile(session.system, request, order)
        for warning in result["run_warnings"]:
            module.warn(warning)
        if result["problems"]:
            result["failed"] = True
            result["msg"] = "the cluster is not healthy after this run: " + "; ".join(result["problems"])
        return result

    module.run(body)


if __name__ == "__main__":
    main()
