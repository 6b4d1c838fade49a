#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Read one snapshot of an oVirt cluster's high-availability state
description:
  - Returns the hosts, VMs and storage domains of a cluster with the fields that matter for HA, the cluster's
    fencing policy, and a summary.
  - Makes exactly 4 API requests whatever the number of hosts and VMs (plus the login when no token is given);
    one cluster search, one host list (with C(all_content) for the hosted-engine fields and the fence agents
    inlined), one VM list and one list of the storage domains of the cluster's data center.
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
  query:
    description:
      - A JMESPath expression applied to the snapshot; its result is returned in RV(query_result).
      - Needs the C(jmespath) Python package.
    type: str
"""

EXAMPLES = r"""
- name: Snapshot of the Default cluster
  ovirt_ha.core.cluster_info:
    cluster: Default
  register: snap

- name: Names of HA VMs that are down
  ovirt_ha.core.cluster_info:
    cluster: Default
    query: "vms[?high_availability && status=='down'].name"
  register: down

- name: Fail when some host has no power management
  ansible.builtin.assert:
    that: snap.summary.hosts_without_power_management | length == 0
"""

RETURN = r"""
cluster:
  description: Name, id, RV(cluster.ha_reservation) and fencing policy of the cluster.
  returned: success
  type: dict
  contains:
    ha_reservation:
      description: Whether the cluster reserves capacity for HA VMs.
      type: bool
    fencing_policy:
      description: Fencing policy fields as in M(ovirt_ha.core.cluster_fencing_policy).
      type: dict
hosts:
  description:
    - One entry per host, sorted by name, with C(status), C(spm), C(memory) and C(max_scheduling_memory) (bytes; the
      memory the scheduler still has for VMs), C(power_management) (C(enabled),
      C(automatic_pm_enabled), C(kdump_detection), C(fence_agents) count) and C(hosted_engine)
      (C(configured), C(active), C(score), C(global_maintenance), C(local_maintenance); null on other hosts).
  returned: success
  type: list
  elements: dict
vms:
  description:
    - One entry per VM, sorted by name, with C(status), C(host), C(memory) (bytes), C(high_availability), C(priority),
      C(lease) (storage domain name), C(resume_behaviour) and C(placement).
  returned: success
  type: list
  elements: dict
storage_domains:
  description: Storage domains of the cluster's data center with C(type), C(status), C(master), C(used) and C(available) (bytes).
  returned: success
  type: list
  elements: dict
summary:
  description:
    - Counts by status, C(ha_vms_down), C(ha_vms_without_lease), C(hosts_without_power_management),
      C(hosted_engine_hosts), C(hosted_engine_global_maintenance) and the C(spm) host.
  returned: success
  type: dict
query_result:
  description: Result of O(query).
  returned: when O(query) is given
  type: raw
api_requests:
  description: Number of API requests made, login excluded.
  returned: success
  type: int
  sample: 4
"""

import traceback

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.snapshot import SNAPSHOT_REQUESTS, cluster_snapshot

try:
    import jmespath
    JMESPATH_ERROR = None
except ImportError:
    JMESPATH_ERROR = traceback.format_exc()


def main() -> None:
    module = EngineModule(dict(cluster=dict(type="str", required=True), query=dict(type="str")))
    query = module.params["query"]
    if query:
        if JMESPATH_ERROR:
            module.ansible.fail_json(msg="query needs the jmespath Python package", exception=JMESPATH_ERROR)
        try:
            compiled = jmespath.compile(query)
        except jmespath.exceptions.JMESPathError as exc:
            module.fail(InputError("query", "a valid JMESPath expression (%s)" % exc, query))

    def body(session) -> dict:
        snapshot = cluster_snapshot(session.system, module.params["cluster"])
        snapshot.update(changed=False, api_requests=SNAPSHOT_REQUESTS)
        if query:
            snapshot["query_result"] = compiled.search(snapshot)
        return snapshot

    module.run(body)


if __name__ == "__main__":
    main()
