# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report document: one JSON-able dict every rendering is made from (private, may change).

Its schema is documented in docs/health-report.md (``schema_version`` 1; fields are only added within a
version).  It holds no time of its own: the same cluster state gives the same document byte for byte, so a
scheduled report rewrites its files only when something changed.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .capacity import DEFAULT_MAX_SCENARIOS, capacity_report
from .findings import (RUNBOOKS, VM_RUNNING, Finding, Thresholds, bmc_failures, capacity_findings, he_findings, merge,
                       snapshot_findings, verdict, working_fencing)

SCHEMA_VERSION = 1


def _fence_check(name: str, checks: Optional[Sequence[Dict[str, Any]]], failed: Dict[str, str]) -> Dict[str, Any]:
    if checks is None or not any(str(c.get("name")) == name for c in checks):
        return {"state": "not_checked", "error": None}
    if name in failed:
        return {"state": "failed", "error": failed[name]}
    return {"state": "ok", "error": None}


def host_names(snapshot: Dict[str, Any]) -> Dict[str, str]:
    """Host address (what the hosted-engine agents write as hostname) -> the engine's host name."""
    return {str(h["address"]): h["name"] for h in snapshot.get("hosts") or [] if h.get("address")}


def _hosted_engine_section(snapshot: Dict[str, Any], he_status: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    names = host_names(snapshot)
    if he_status is not None:
        vm_status = he_status.get("vm_status") or {}
        stale = set(int(i) for i in he_status.get("stale_hosts") or [])
        engine = he_status.get("engine_host") or {}
        hosts = []
        for key in sorted((k for k, v in vm_status.items() if isinstance(v, dict)), key=int):
            view = vm_status[key]
            extra = str(view.get("extra") or "")
            state = next((line.split("=", 1)[1] for line in extra.splitlines() if line.startswith("state=")), None)
            host_id = int(view.get("host-id") or key)
            hostname = str(view.get("hostname"))
            hosts.append({"host_id": host_id, "host": names.get(hostname, hostname), "hostname": hostname, "score": int(view.get("score") or 0),
                          "live": bool(view.get("live-data")), "stale": host_id in stale,
                          "local_maintenance": bool(view.get("maintenance")), "state": state,
                          "engine_running": host_id == engine.get("host_id")})
        engine_host = engine.get("hostname")
        return {"source": "metadata", "global_maintenance": bool(he_status.get("global_maintenance")),
                "engine_host": names.get(str(engine_host), engine_host) if engine_host else None, "hosts": hosts}
    he_hosts = [h for h in snapshot.get("hosts") or [] if (h.get("hosted_engine") or {}).get("configured")]
    if not he_hosts:
        return {"source": None, "global_maintenance": False, "engine_host": None, "hosts": []}
    engine_vm = next((v for v in snapshot.get("vms") or [] if v.get("hosted_engine")), None)
    return {"source": "engine", "engine_host": engine_vm.get("host") if engine_vm else None,
            "global_maintenance": any(h["hosted_engine"].get("global_maintenance") for h in he_hosts),
            "hosts": [{"host_id": None, "host": h["name"], "hostname": h.get("address") or h["name"], "score": int(h["hosted_engine"].get("score") or 0),
                       "live": bool(h["hosted_engine"].get("active")), "stale": False,
                       "local_maintenance": bool(h["hosted_engine"].get("local_maintenance")), "state": None,
                       "engine_running": engine_vm is not None and engine_vm.get("host") == h["name"]} for h in he_hosts]}


def build(snapshot: Dict[str, Any], he_status: Optional[Dict[str, Any]] = None,
          bmc_checks: Optional[Sequence[Dict[str, Any]]] = None, *, host_failures: int = 1,
          max_scenarios: int = DEFAULT_MAX_SCENARIOS, cpu_overcommit: Optional[float] = None,
          thresholds: Thresholds = Thresholds(), runbook_base: str = RUNBOOKS) -> Dict[str, Any]:
    """The report of one snapshot (``cluster_info``), the metadata volume (``hosted_engine_status``) and the BMC
    checks (``ipmi_info``'s ``bmcs``), each optional but the snapshot."""
    cluster = snapshot.get("cluster") or {}
    name = str(cluster.get("name"))
    capacity = capacity_report(snapshot, host_failures, max_scenarios, cpu_overcommit)
    groups: List[List[Finding]] = [snapshot_findings(snapshot, bmc_checks, thresholds, runbook_base)]
    if he_status is not None:
        groups.append(he_findings(he_status, name, thresholds, runbook_base, host_names(snapshot)))
    groups.append(capacity_findings(capacity, name, runbook_base))
    found = merge(*groups)
    failed = bmc_failures(bmc_checks)
    vms = snapshot.get("vms") or []
    running: Dict[str, List[Dict[str, Any]]] = {}
    for vm in vms:
        if vm.get("host") and vm.get("status") in VM_RUNNING:
            running.setdefault(vm["host"], []).append(vm)
    hosts = []
    for host in snapshot.get("hosts") or []:
        pm = host.get("power_management") or {}
        he = host.get("hosted_engine") or None
        on = running.get(host["name"], [])
        hosts.append({"name": host["name"], "status": host.get("status"), "spm": bool(host.get("spm")),
                      "power_management": bool(pm.get("enabled")), "fence_agents": pm.get("fence_agents"),
                      "fenceable": working_fencing(host, failed), "fence_check": _fence_check(host["name"], bmc_checks, failed),
                      "memory": int(host.get("memory") or 0), "free_memory": int(host.get("max_scheduling_memory") or 0),
                      "cpus": int(host.get("cpus") or 0), "vms": len(on),
                      "ha_vms": sum(1 for v in on if v.get("high_availability")),
                      "hosted_engine": None if not he or not he.get("configured") else {
                          "score": int(he.get("score") or 0), "active": bool(he.get("active")),
                          "local_maintenance": bool(he.get("local_maintenance"))}})
    by_host = {h["name"]: h for h in hosts}
    ha_vms = []
    for vm in vms:
        if not vm.get("high_availability"):
            continue
        runs_on = by_host.get(vm.get("host") or "")
        ha_vms.append({"name": vm["name"], "status": vm.get("status"), "host": vm.get("host"),
                       "priority": int(vm.get("priority") or 0), "lease": vm.get("lease"),
                       "memory": int(vm.get("memory") or 0), "placement": vm.get("placement"),
                       "placement_hosts": list(vm.get("placement_hosts") or []),
                       "restartable": bool(vm.get("lease")) or bool(runs_on and runs_on["fenceable"])})
    policy = cluster.get("fencing_policy")
    return {
        "schema_version": SCHEMA_VERSION,
        "cluster": {"name": name, "id": cluster.get("id"), "ha_reservation": bool(cluster.get("ha_reservation"))},
        "verdict": verdict(found),
        "findings": [f.as_dict() for f in found],
        "hosts": hosts,
        "ha_vms": ha_vms,
        "fencing": {"policy": policy, "hosts": len(hosts), "hosts_fenceable": sum(1 for h in hosts if h["fenceable"]),
                    "bmcs_checked": bmc_checks is not None},
        "hosted_engine": _hosted_engine_section(snapshot, he_status),
        "storage_domains": [{"name": sd["name"], "type": sd.get("type"), "status": sd.get("status"),
                             "master": bool(sd.get("master")), "used": sd.get("used"), "available": sd.get("available")}
                            for sd in snapshot.get("storage_domains") or []],
        "capacity": capacity,
    }
