# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""metrics.prom: the document in the Prometheus text format, for node_exporter's textfile collector (private, may change).

Every metric is a gauge named ``ovirt_ha_*`` with its unit in the name and ``cluster`` / ``host`` / ``vm`` /
``storage_domain`` labels.  No timestamps: the collector stamps the scrape.  ``METRICS`` lists every name written,
so the shipped alert rules and dashboard can be checked against it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

METRICS: Dict[str, str] = {
    "ovirt_ha_verdict": "The report's verdict: 1 for the current state (ok, at_risk, failing), 0 for the others.",
    "ovirt_ha_findings": "Number of findings by severity.",
    "ovirt_ha_finding": "1 for every finding of the report (kind, severity and object in the labels).",
    "ovirt_ha_host_up": "1 when the engine sees the host up.",
    "ovirt_ha_host_spm": "1 for the host that is the storage pool manager.",
    "ovirt_ha_host_power_management_enabled": "1 when power management is enabled with a fence agent.",
    "ovirt_ha_host_fenceable": "1 when the engine can power-fence the host (power management on, BMC check not failed).",
    "ovirt_ha_host_fence_check_ok": "1 when the host's BMC answered with the stored credentials (only hosts checked).",
    "ovirt_ha_host_memory_bytes": "Physical memory of the host.",
    "ovirt_ha_host_free_memory_bytes": "Memory the scheduler can still give to VMs on the host (max_scheduling_memory).",
    "ovirt_ha_vm_up": "1 when the HA VM is up.",
    "ovirt_ha_vm_restartable": "1 when the HA VM can be restarted after its host fails (a storage lease, or a fenceable host).",
    "ovirt_ha_vm_restart_priority": "The HA VM's restart priority (higher restarts first).",
    "ovirt_ha_hosted_engine_score": "The hosted-engine agent's score of the host (0 to 3400).",
    "ovirt_ha_hosted_engine_host_stale": "1 when the host's hosted-engine metadata stopped changing.",
    "ovirt_ha_hosted_engine_global_maintenance": "1 when hosted-engine global maintenance is on.",
    "ovirt_ha_storage_domain_up": "1 when the storage domain is active.",
    "ovirt_ha_storage_domain_free_bytes": "Free space of the storage domain.",
    "ovirt_ha_storage_domain_used_bytes": "Used space of the storage domain.",
    "ovirt_ha_capacity_host_failures_tolerated": "Host failures after which every HA VM can still restart.",
    "ovirt_ha_capacity_host_failures_checked": "Host failures admission control checked.",
    "ovirt_ha_capacity_protected_memory_bytes": "Memory of the VMs admission control protects (HA VMs and the engine VM).",
    "ovirt_ha_capacity_free_memory_bytes": "Memory free for VMs on the hosts that are up.",
    "ovirt_ha_capacity_unplaced_vms": "VMs that would not restart in the first breaking scenario of N host failures.",
}


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Writer:
    def __init__(self) -> None:
        self.samples: Dict[str, List[Tuple[Dict[str, Any], float]]] = {name: [] for name in METRICS}

    def add(self, name: str, value: Any, **labels: Any) -> None:
        self.samples[name].append((labels, float(value)))

    def text(self) -> str:
        lines = []
        for name, help_text in METRICS.items():
            samples = self.samples[name]
            if not samples:
                continue
            lines.append("# HELP %s %s" % (name, help_text))
            lines.append("# TYPE %s gauge" % name)
            for labels, value in samples:
                rendered = ",".join('%s="%s"' % (key, _escape(labels[key])) for key in sorted(labels))
                lines.append("%s{%s} %s" % (name, rendered, repr(value) if value != int(value) else str(int(value))))
        return "\n".join(lines) + "\n"


def render(doc: Dict[str, Any]) -> str:
    out = _Writer()
    cluster = doc["cluster"]["name"]
    for state in ("ok", "at_risk", "failing"):
        out.add("ovirt_ha_verdict", doc["verdict"]["state"] == state, cluster=cluster, state=state)
    for severity, count in sorted(doc["verdict"]["counts"].items()):
        out.add("ovirt_ha_findings", count, cluster=cluster, severity=severity)
    for f in doc["findings"]:
        out.add("ovirt_ha_finding", 1, cluster=cluster, kind=f["kind"], severity=f["severity"],
                object_type=f["object_type"], object=f["object"])
    for h in doc["hosts"]:
        labels = {"cluster": cluster, "host": h["name"]}
        out.add("ovirt_ha_host_up", h["status"] == "up", **labels)
        out.add("ovirt_ha_host_spm", h["spm"], **labels)
        out.add("ovirt_ha_host_power_management_enabled", h["power_management"] and h["fence_agents"] != 0, **labels)
        out.add("ovirt_ha_host_fenceable", h["fenceable"], **labels)
        if h["fence_check"]["state"] != "not_checked":
            out.add("ovirt_ha_host_fence_check_ok", h["fence_check"]["state"] == "ok", **labels)
        out.add("ovirt_ha_host_memory_bytes", h["memory"], **labels)
        out.add("ovirt_ha_host_free_memory_bytes", h["free_memory"], **labels)
    for v in doc["ha_vms"]:
        out.add("ovirt_ha_vm_up", v["status"] == "up", cluster=cluster, vm=v["name"], host=v["host"] or "")
        out.add("ovirt_ha_vm_restartable", v["restartable"], cluster=cluster, vm=v["name"])
        out.add("ovirt_ha_vm_restart_priority", v["priority"], cluster=cluster, vm=v["name"])
    he = doc["hosted_engine"]
    if he["source"] is not None:
        out.add("ovirt_ha_hosted_engine_global_maintenance", he["global_maintenance"], cluster=cluster)
        for h in he["hosts"]:
            out.add("ovirt_ha_hosted_engine_score", h["score"], cluster=cluster, host=h["host"])
            out.add("ovirt_ha_hosted_engine_host_stale", h["stale"], cluster=cluster, host=h["host"])
    for s in doc["storage_domains"]:
        labels = {"cluster": cluster, "storage_domain": s["name"]}
        out.add("ovirt_ha_storage_domain_up", s["status"] == "active", **labels)
        if s["available"] is not None:
            out.add("ovirt_ha_storage_domain_free_bytes", s["available"], **labels)
        if s["used"] is not None:
            out.add("ovirt_ha_storage_domain_used_bytes", s["used"], **labels)
    capacity = doc["capacity"]
    out.add("ovirt_ha_capacity_host_failures_tolerated", capacity["host_failures_tolerated"], cluster=cluster)
    out.add("ovirt_ha_capacity_host_failures_checked", capacity["host_failures_checked"], cluster=cluster)
    out.add("ovirt_ha_capacity_protected_memory_bytes", capacity["protected_memory"], cluster=cluster)
    out.add("ovirt_ha_capacity_free_memory_bytes", capacity["free_memory"], cluster=cluster)
    for level in capacity["levels"]:
        unplaced = (level.get("breaking") or {}).get("unplaced") or []
        out.add("ovirt_ha_capacity_unplaced_vms", len(unplaced), cluster=cluster, failures=level["failures"])
    return out.text()
