#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: ha_capacity_info
short_description: Admission control for an oVirt cluster, can every HA VM restart if N hosts fail
description:
  - Reads one snapshot of the cluster (the 4 requests of M(ovirt_ha.core.cluster_info)) and answers, for
    N = 1 up to O(host_failures), whether every HA VM running on any N hosts that are up now could restart on
    the hosts left, the way vSphere HA's "host failures cluster tolerates" does; the hosted-engine VM counts too,
    restarted on a hosted-engine host.
  - VMs restart in the engine's order (highest priority first, then the largest), each on the host with the most
    free memory for VMs (C(max_scheduling_memory)) among the hosts it may run on (a pinned VM's placement hosts; for a migratable VM they are
    only the engine's preference and no limit here) with as many
    logical CPUs as it has vCPUs, and with O(cpu_overcommit) enough vCPUs left under that ratio.
  - Returns, for each N, whether it holds, how many host losses break it, and the first one that does with the VMs
    that would not fit and why. Affinity groups and labels are not considered.
  - This is a simulation of a greedy restart in the engine's order, not an optimal packing.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.READ_ONLY
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  cluster:
    description:
      - Name of the cluster.
    type: str
    required: true
  host_failures:
    description:
      - The largest number of hosts failing at once to check (each N from 1 up to it).
    type: int
    default: 1
  max_scenarios:
    description:
      - At most this many host losses are simulated in all, the hosts carrying the most HA memory first. When the
        limit stops a level, its RV(levels[].exhaustive) is false and it does not count as tolerated.
    type: int
    default: 100000
  cpu_overcommit:
    description:
      - When set, a host takes VMs only while their vCPUs stay within its logical CPUs times this ratio.
      - Unset, only the engine's CPU filter applies (a VM's vCPUs at most the host's logical CPUs).
    type: float
  fail_on_insufficient:
    description:
      - Fail the task when some N up to O(host_failures) is not tolerated.
    type: bool
    default: false
seealso:
  - module: ovirt_ha.core.cluster_info
  - module: ovirt_ha.core.ha_report
"""

EXAMPLES = r"""
- name: Can the Default cluster lose any one host?
  ovirt_ha.core.ha_capacity_info:
    cluster: Default
  register: capacity

- name: Say which host loss breaks what
  ansible.builtin.debug:
    msg: "{{ capacity.levels[0].breaking }}"
  when: not capacity.ok

- name: Fail a pre-maintenance check unless two hosts can fail
  ovirt_ha.core.ha_capacity_info:
    cluster: Default
    host_failures: 2
    fail_on_insufficient: true
"""

RETURN = r"""
ok:
  description: Every N up to O(host_failures) is tolerated, checked exhaustively.
  returned: success
  type: bool
host_failures_checked:
  description: O(host_failures).
  returned: success
  type: int
host_failures_tolerated:
  description: The largest N for which every loss of N hosts leaves every HA VM a host (0 when one host loss breaks it).
  returned: success
  type: int
hosts_up:
  description: Hosts that are up (the only ones that can fail, and the only ones VMs restart on).
  returned: success
  type: int
protected_vms:
  description: HA VMs (and the hosted-engine VM) running on hosts that are up.
  returned: success
  type: int
protected_memory:
  description: Their memory, bytes.
  returned: success
  type: int
free_memory:
  description: Memory free for VMs on the hosts that are up, bytes.
  returned: success
  type: int
ha_reservation:
  description: The cluster's own C(ha_reservation) setting (the engine's check at VM start).
  returned: success
  type: bool
cpu_overcommit:
  description: O(cpu_overcommit).
  returned: success
  type: float
levels:
  description: One entry per N checked, stopping after the first N that is not tolerated.
  returned: success
  type: list
  elements: dict
  contains:
    failures:
      description: N.
      type: int
    ok:
      description: No loss of N hosts that was simulated breaks an HA VM.
      type: bool
    scenarios:
      description: Host losses simulated.
      type: int
    breaking_scenarios:
      description: How many of them leave some HA VM without a host.
      type: int
    exhaustive:
      description: Every loss of N hosts was simulated (O(max_scenarios) not reached).
      type: bool
    breaking:
      description:
        - The first host loss that breaks, C(failed_hosts) and C(unplaced) (C(vm), C(priority), C(memory) and
          C(reason), in restart order); null when none does.
      type: dict
  sample:
    - failures: 1
      ok: false
      scenarios: 3
      breaking_scenarios: 1
      exhaustive: true
      breaking:
        failed_hosts: [host01]
        unplaced:
          - {vm: db, priority: 100, memory: 17179869184, reason: "needs 16.0 GiB; the most free memory on a host it may use is 9.5 GiB"}
api_requests:
  description: Number of API requests made, login excluded.
  returned: success
  type: int
  sample: 4
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.snapshot import SNAPSHOT_REQUESTS, cluster_snapshot
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.capacity import DEFAULT_MAX_SCENARIOS, capacity_report


def main() -> None:
    module = EngineModule(dict(
        cluster=dict(type="str", required=True),
        host_failures=dict(type="int", default=1),
        max_scenarios=dict(type="int", default=DEFAULT_MAX_SCENARIOS),
        cpu_overcommit=dict(type="float"),
        fail_on_insufficient=dict(type="bool", default=False),
    ))
    params = module.params
    if params["host_failures"] < 1:
        module.fail(InputError("host_failures", "an integer of at least 1", params["host_failures"]))
    if params["max_scenarios"] < 1:
        module.fail(InputError("max_scenarios", "an integer of at least 1", params["max_scenarios"]))
    if params["cpu_overcommit"] is not None and params["cpu_overcommit"] <= 0:
        module.fail(InputError("cpu_overcommit", "a positive ratio", params["cpu_overcommit"]))

    def body(session) -> dict:
        snapshot = cluster_snapshot(session.system, params["cluster"])
        result = capacity_report(snapshot, params["host_failures"], params["max_scenarios"], params["cpu_overcommit"])
        result.update(changed=False, api_requests=SNAPSHOT_REQUESTS)
        if params["fail_on_insufficient"] and not result["ok"]:
            # fail_json exits through the session's context manager, which still logs out
            module.ansible.fail_json(msg="cluster %r does not tolerate %d host failure(s): it tolerates %d"
                                     % (params["cluster"], params["host_failures"], result["host_failures_tolerated"]),
                                     **result)
        return result

    module.run(body)


if __name__ == "__main__":
    main()
