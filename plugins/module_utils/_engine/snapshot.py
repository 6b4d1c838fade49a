# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read of a cluster's HA state in a constant number of requests (private, may change).

Requests (whatever the number of hosts and VMs): 1 cluster search, 1 host list
(``all_content`` for the hosted-engine fields, ``follow=agents`` to inline the
fence agents), 1 VM list, 1 storage domain list of the cluster's data center.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional

from .errors import engine_call
from .objects import enum_value, get_cluster, inlined_agents, list_hosts, list_vms

SNAPSHOT_REQUESTS = 4


def fencing_policy_dict(policy: Any) -> Optional[Dict[str, Any]]:
    if policy is None:
        return None
    broken = policy.skip_if_connectivity_broken
    return {
        "enabled": policy.enabled,
        "skip_if_sd_active": getattr(policy.skip_if_sd_active, "enabled", None),
        "skip_if_connectivity_broken": getattr(broken, "enabled", None),
        "connectivity_broken_threshold": getattr(broken, "threshold", None),
        "skip_if_gluster_bricks_up": policy.skip_if_gluster_bricks_up,
        "skip_if_gluster_quorum_not_met": policy.skip_if_gluster_quorum_not_met,
    }


def host_dict(host: Any) -> Dict[str, Any]:
    pm = host.power_management
    he = host.hosted_engine
    agents = inlined_agents(host)
    return {
        "name": host.name,
        "id": host.id,
        "address": host.address,
        "status": enum_value(host.status),
        "spm": enum_value(getattr(host.spm, "status", None)) == "spm",
        "memory": host.memory,
        "max_scheduling_memory": host.max_scheduling_memory,
        "power_management": {
            "enabled": bool(getattr(pm, "enabled", False)),
            "automatic_pm_enabled": getattr(pm, "automatic_pm_enabled", None),
            "kdump_detection": getattr(pm, "kdump_detection", None),
            # None when the engine did not inline the agents (follow unsupported).
            "fence_agents": None if agents is None else len(agents),
        },
        "hosted_engine": None if he is None else {
            "configured": bool(he.configured),
            "active": bool(he.active),
            "score": he.score,
            "global_maintenance": bool(he.global_maintenance),
            "local_maintenance": bool(he.local_maintenance),
        },
    }


def vm_dict(vm: Any, host_names: Dict[str, str], sd_names: Dict[str, str]) -> Dict[str, Any]:
    ha = vm.high_availability
    host_id = getattr(vm.host, "id", None)
    lease_sd = getattr(getattr(vm.lease, "storage_domain", None), "id", None)
    placement = vm.placement_policy
    return {
        "name": vm.name,
        "id": vm.id,
        "status": enum_value(vm.status),
        "host": host_names.get(host_id, host_id) if host_id else None,
        "memory": vm.memory,
        "high_availability": bool(getattr(ha, "enabled", False)),
        "priority": getattr(ha, "priority", None),
        "lease": sd_names.get(lease_sd, lease_sd) if lease_sd else None,
        "resume_behaviour": enum_value(vm.storage_error_resume_behaviour),
        "placement": enum_value(getattr(placement, "affinity", None)),
    }


def storage_domain_dict(sd: Any) -> Dict[str, Any]:
    return {
        "name": sd.name,
        "id": sd.id,
        "type": enum_value(sd.type),
        "status": enum_value(sd.status) or enum_value(sd.external_status),
        "master": sd.master,
        "used": sd.used,
        "available": sd.available,
    }


def summarize(hosts: List[Dict[str, Any]], vms: List[Dict[str, Any]]) -> Dict[str, Any]:
    he_hosts = [h for h in hosts if h["hosted_engine"] and h["hosted_engine"]["configured"]]
    no_pm = [h["name"] for h in hosts if not h["power_management"]["enabled"]]
    return {
        "hosts": len(hosts),
        "hosts_by_status": dict(Counter(h["status"] for h in hosts)),
        "vms": len(vms),
        "vms_by_status": dict(Counter(v["status"] for v in vms)),
        "ha_vms": sum(1 for v in vms if v["high_availability"]),
        "ha_vms_down": sorted(v["name"] for v in vms if v["high_availability"] and v["status"] == "down"),
        "ha_vms_without_lease": sorted(v["name"] for v in vms if v["high_availability"] and not v["lease"]),
        "hosts_without_power_management": sorted(no_pm),
        "hosted_engine_hosts": len(he_hosts),
        "hosted_engine_global_maintenance": any(h["hosted_engine"]["global_maintenance"] for h in he_hosts),
        "spm": next((h["name"] for h in hosts if h["spm"]), None),
    }


def cluster_snapshot(system: Any, cluster_name: str) -> Dict[str, Any]:
    """The cluster's hosts, VMs, storage domains, fencing policy and a summary."""
    cluster = get_cluster(system, cluster_name)
    hosts = list_hosts(system, cluster_name, all_content=True, follow="agents")
    vms = list_vms(system, cluster_name)
    dc_id = getattr(cluster.data_center, "id", None)
    with engine_call("listing storage domains", obj="data center of cluster %r" % cluster_name):
        if dc_id:
            sds = list(system.data_centers_service().data_center_service(dc_id).storage_domains_service().list())
        else:
            sds = list(system.storage_domains_service().list())
    host_names = {h.id: h.name for h in hosts}
    sd_names = {s.id: s.name for s in sds}
    host_list = [host_dict(h) for h in sorted(hosts, key=lambda h: h.name or "")]
    vm_list = [vm_dict(v, host_names, sd_names) for v in sorted(vms, key=lambda v: v.name or "")]
    return {
        "cluster": {
            "name": cluster.name,
            "id": cluster.id,
            "ha_reservation": cluster.ha_reservation,
            "fencing_policy": fencing_policy_dict(cluster.fencing_policy),
        },
        "hosts": host_list,
        "vms": vm_list,
        "storage_domains": [storage_domain_dict(s) for s in sorted(sds, key=lambda s: s.name or "")],
        "summary": summarize(host_list, vm_list),
    }
