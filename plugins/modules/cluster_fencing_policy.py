#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_fencing_policy
short_description: Set an oVirt cluster's fencing policy and HA reservation
description:
  - Sets when the engine may fence a non-responsive host of the cluster, and whether the cluster reserves capacity
    for highly available VMs. Options not given are left as they are.
  - One cluster search, plus one update when something differs.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  cluster:
    description: Cluster name.
    type: str
    required: true
  enabled:
    description: Whether the engine fences non-responsive hosts at all.
    type: bool
  skip_if_sd_active:
    description: Skip fencing a host that still renews its storage lease.
    type: bool
  skip_if_connectivity_broken:
    description: Skip fencing when at least O(connectivity_broken_threshold) percent of the hosts are unreachable.
    type: bool
  connectivity_broken_threshold:
    description: Percentage of unreachable hosts, V(0) to V(100).
    type: int
  skip_if_gluster_bricks_up:
    description: Skip fencing a host with live Gluster bricks.
    type: bool
  skip_if_gluster_quorum_not_met:
    description: Skip fencing when it would break Gluster quorum.
    type: bool
  ha_reservation:
    description: Whether the cluster keeps room to restart its HA VMs if a host fails.
    type: bool
"""

EXAMPLES = r"""
- name: Fence, but never when half the cluster looks unreachable
  ovirt_ha.core.cluster_fencing_policy:
    cluster: Default
    enabled: true
    skip_if_sd_active: true
    skip_if_connectivity_broken: true
    connectivity_broken_threshold: 50
    ha_reservation: true
"""

RETURN = r"""
cluster:
  description: The fencing policy and HA reservation after the run (in check mode, as they would be).
  returned: success
  type: dict
  sample: {name: Default, id: "1", enabled: true, skip_if_sd_active: true, skip_if_connectivity_broken: true,
           connectivity_broken_threshold: 50, skip_if_gluster_bricks_up: false,
           skip_if_gluster_quorum_not_met: false, ha_reservation: true}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.fencing_policy import apply_fencing_policy, validate
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule


def main() -> None:
    module = EngineModule(dict(
        cluster=dict(type="str", required=True),
        enabled=dict(type="bool"),
        skip_if_sd_active=dict(type="bool"),
        skip_if_connectivity_broken=dict(type="bool"),
        connectivity_broken_threshold=dict(type="int"),
        skip_if_gluster_bricks_up=dict(type="bool"),
        skip_if_gluster_quorum_not_met=dict(type="bool"),
        ha_reservation=dict(type="bool"),
    ))
    wanted = module.validate(validate, module.params)

    def body(session) -> dict:
        return {"cluster": apply_fencing_policy(session.system, module.params["cluster"], wanted, module.diff,
                                                module.check_mode)}

    module.run(body)


if __name__ == "__main__":
    main()
