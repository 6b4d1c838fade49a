# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with a cluster's HA, from one snapshot (private, may change).

Input is plain data: the snapshot ``cluster_info`` returns (``_engine/snapshot.py``), optionally the
``hosted_engine_status`` result (the metadata volume's view, which works with the engine down) and the
``ipmi_info`` result (every BMC checked with its stored credentials), and the admission-control answer of
``capacity.py``.  Output is a list of findings, each with a stable ``key`` (kind and object), so a finding can
be followed from one report to the next: the engine events of ``events.py`` are posted when a key opens or clears.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)
RUNBOOKS = "docs/runbooks.md"

# hosts the engine cannot reach, and host states that run no VM
UNREACHABLE = ("connecting", "non_responsive")
VM_RUNNING = ("up", "powering_up", "powering_down", "migrating", "reboot_in_progress", "paused", "wait_for_launch",
              "unknown", "not_responding", "suspended", "saving_state", "restoring_state")
HE_MAX_SCORE = 3400
# the agent running the engine VM hands it over to a host scoring this much more (agent.conf)
HE_HANDOVER_GAP = 800

# kind -> (severity, fix); the runbook anchor is the kind with dashes
KINDS: Dict[str, Any] = {
    "ha_vm_down": (CRITICAL, "start the VM, after reading why it stopped in the engine's events"),
    "ha_vm_unprotected": (WARNING, "give the VM a storage lease (vm_ha lease) or its hosts working power management "
                          "(configure_fencing.yml)"),
    "host_no_power_management": (WARNING, "configure a fence agent and enable power management (configure_fencing.yml)"),
    "host_fence_check_failed": (CRITICAL, "fix the BMC's network or credentials, then store them again "
                                "(configure_fencing.yml)"),
    "host_unreachable": (CRITICAL, "find out why the engine lost the host; fence it or confirm it rebooted once it is "
                         "certainly off"),
    "fencing_disabled": (CRITICAL, "enable fencing in the cluster's fencing policy (cluster_fencing_policy enabled: true)"),
    "fencing_policy_skips": (CRITICAL, "bring the unreachable hosts back, or raise the policy's connectivity threshold"),
    "fencing_policy_skips_next_failure": (WARNING, "raise the connectivity threshold above the share one host failure "
                                          "makes, or add hosts"),
    "he_global_maintenance": (WARNING, "leave global maintenance (hosted_engine_maintenance mode: none) when the work "
                              "is done"),
    "he_all_scores_zero": (CRITICAL, "clear local maintenance, restart ovirt-ha-agent on a healthy host, or wait for "
                           "the 600 s failed-start hold to end"),
    "he_stale_host": (WARNING, "restart ovirt-ha-agent and ovirt-ha-broker on the host, or clean its metadata slot "
                      "(hosted-engine --clean-metadata) if it is gone for good"),
    "he_score_gap": (WARNING, "look at the host's penalties (gateway, management bridge, memory, CPU load, "
                     "configuration) in its agent log"),
    "he_metadata_problem": (WARNING, "see the problem's message; a block failing its checksum is rewritten by its "
                            "agent on its next loop"),
    "storage_domain_down": (CRITICAL, "bring the storage domain's server and paths back, then activate the domain"),
    "storage_domain_low_space": (WARNING, "free or add space on the storage domain"),
    "spm_missing": (CRITICAL, "make sure a host is up and can reach the master storage domain; the engine elects the SPM"),
    "capacity_insufficient": (WARNING, "add memory or hosts, move non-HA load away, or lower the VMs' placement "
                              "restrictions"),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    object_type: str  # cluster, host, vm, storage_domain
    object: str
    message: str
    fix: str
    runbook: str

    @property
    def key(self) -> str:
        return "%s/%s" % (self.kind, self.object)

    def as_dict(self) -> Dict[str, str]:
        return {"key": self.key, "kind": self.kind, "severity": self.severity, "object_type": self.object_type,
                "object": self.object, "message": self.message, "fix": self.fix, "runbook": self.runbook}


@dataclass(frozen=True)
class Thresholds:
    storage_free_percent: float = 10.0
    he_score_gap: int = HE_HANDOVER_GAP


def runbook_link(kind: str, base: str = RUNBOOKS) -> str:
    return "%s#%s" % (base, kind.replace("_", "-"))


class _Collector:
    def __init__(self, runbook_base: str) -> None:
        self.found: List[Finding] = []
        self.runbook_base = runbook_base

    def add(self, kind: str, object_type: str, obj: str, message: str) -> None:
        severity, fix = KINDS[kind]
        self.found.append(Finding(kind, severity, object_type, obj, message, fix, runbook_link(kind, self.runbook_base)))


def working_fencing(host: Dict[str, Any], bmc_failed: Dict[str, str]) -> bool:
    """Can the engine power-fence this host: power management on with an agent, and its BMC (when checked) answered."""
    pm = host.get("power_management") or {}
    if not pm.get("enabled") or pm.get("fence_agents") == 0:
        return False
    return host["name"] not in bmc_failed


def bmc_failures(bmc_checks: Optional[Sequence[Dict[str, Any]]]) -> Dict[str, str]:
    """host name -> why its BMC failed, from ``ipmi_info``'s ``bmcs``."""
    failed: Dict[str, str] = {}
    for check in bmc_checks or []:
        if check.get("failed"):
            error = check.get("error") or {}
            failed[str(check.get("name"))] = str(error.get("msg") or error.get("kind") or "the BMC check failed")
    return failed


def snapshot_findings(snapshot: Dict[str, Any], bmc_checks: Optional[Sequence[Dict[str, Any]]] = None,
                      thresholds: Thresholds = Thresholds(), runbook_base: str = RUNBOOKS) -> List[Finding]:
    """Findings about the engine's view of the cluster (and the BMCs, when checked)."""
    out = _Collector(runbook_base)
    hosts: List[Dict[str, Any]] = snapshot.get("hosts") or []
    vms: List[Dict[str, Any]] = snapshot.get("vms") or []
    by_name = {h["name"]: h for h in hosts}
    bmc_failed = bmc_failures(bmc_checks)
    cluster = snapshot.get("cluster") or {}

    for host in hosts:
        name = host["name"]
        pm = host.get("power_management") or {}
        if host.get("status") in UNREACHABLE:
            out.add("host_unreachable", "host", name, "host %s is %s to the engine: its VMs are not watched and HA VMs "
                    "on it wait for a fence" % (name, host["status"]))
        if not pm.get("enabled"):
            out.add("host_no_power_management", "host", name, "host %s has no power management: the engine cannot "
                    "fence it, so its HA VMs without a lease stay down when it fails" % name)
        elif pm.get("fence_agents") == 0:
            out.add("host_no_power_management", "host", name, "host %s has power management enabled but no fence "
                    "agent" % name)
        if name in bmc_failed:
            out.add("host_fence_check_failed", "host", name, "the BMC of host %s failed its check: %s"
                    % (name, bmc_failed[name]))

    for vm in vms:
        if not vm.get("high_availability") or vm.get("hosted_engine"):
            continue
        name = vm["name"]
        if vm.get("status") == "down":
            out.add("ha_vm_down", "vm", name, "HA VM %s is down" % name)
            continue
        runs_on = by_name.get(vm.get("host") or "")
        if vm.get("status") in VM_RUNNING and runs_on is not None and not vm.get("lease") \
                and not working_fencing(runs_on, bmc_failed):
            out.add("ha_vm_unprotected", "vm", name, "HA VM %s has no storage lease and its host %s cannot be fenced: "
                    "if %s fails, the engine will not restart it" % (name, runs_on["name"], runs_on["name"]))

    _fencing_policy_findings(out, cluster, hosts)
    _storage_findings(out, snapshot.get("storage_domains") or [], thresholds)
    if hosts and not any(h.get("spm") for h in hosts) and any(h.get("status") == "up" for h in hosts):
        out.add("spm_missing", "cluster", str(cluster.get("name")), "no host of cluster %s is the SPM: no disk can be "
                "created, extended or removed, and thin disks stop growing" % cluster.get("name"))
    _engine_he_findings(out, hosts, cluster)
    return out.found


def _fencing_policy_findings(out: _Collector, cluster: Dict[str, Any], hosts: List[Dict[str, Any]]) -> None:
    policy = cluster.get("fencing_policy") or {}
    name = str(cluster.get("name"))
    if policy.get("enabled") is False:
        out.add("fencing_disabled", "cluster", name, "the fencing policy of cluster %s disables fencing: no failed "
                "host is fenced and HA VMs without a lease on it are not restarted" % name)
        return
    if not policy.get("skip_if_connectivity_broken") or not hosts:
        return
    threshold = policy.get("connectivity_broken_threshold")
    threshold = 50 if threshold is None else int(threshold)
    unreachable = sum(1 for h in hosts if h.get("status") in UNREACHABLE)
    share = 100.0 * unreachable / len(hosts)
    if unreachable and share >= threshold:
        out.add("fencing_policy_skips", "cluster", name, "%d of %d hosts are unreachable (%.0f %% >= the policy's "
                "threshold of %d %%): the engine skips fencing now" % (unreachable, len(hosts), share, threshold))
    elif 100.0 * (unreachable + 1) / len(hosts) >= threshold:
        out.add("fencing_policy_skips_next_failure", "cluster", name, "one more unreachable host makes %d of %d "
                "(%.0f %% >= the policy's threshold of %d %%): the engine would not fence it"
                % (unreachable + 1, len(hosts), 100.0 * (unreachable + 1) / len(hosts), threshold))


def _storage_findings(out: _Collector, domains: List[Dict[str, Any]], thresholds: Thresholds) -> None:
    for sd in domains:
        name = sd["name"]
        status = sd.get("status")
        if status not in (None, "active", "ok"):
            out.add("storage_domain_down", "storage_domain", name, "storage domain %s is %s: the VMs with disks on it "
                    "pause or cannot start" % (name, status))
            continue
        used, available = sd.get("used"), sd.get("available")
        if used is None or available is None or used + available <= 0:
            continue
        free = 100.0 * available / (used + available)
        if free < thresholds.storage_free_percent:
            out.add("storage_domain_low_space", "storage_domain", name, "storage domain %s has %.1f %% free (%d GiB), "
                    "under the %.0f %% threshold" % (name, free, available // 1024 ** 3, thresholds.storage_free_percent))


def _engine_he_findings(out: _Collector, hosts: List[Dict[str, Any]], cluster: Dict[str, Any]) -> None:
    """Hosted-engine findings from the engine's view alone (when the metadata volume was not read)."""
    he_hosts = [h for h in hosts if h.get("hosted_engine") and h["hosted_engine"].get("configured")]
    if not he_hosts:
        return
    if any(h["hosted_engine"].get("global_maintenance") for h in he_hosts):
        out.add("he_global_maintenance", "cluster", str(cluster.get("name")), "hosted-engine global maintenance is on: "
                "no agent restarts the engine VM if it goes down")


def he_findings(status: Dict[str, Any], cluster_name: str, thresholds: Thresholds = Thresholds(),
                runbook_base: str = RUNBOOKS, host_names: Optional[Dict[str, str]] = None) -> List[Finding]:
    """Findings from the metadata volume (``hosted_engine_status``): authoritative for the hosted engine.

    ``host_names`` maps the hostnames the agents write (the hosts' addresses) to the engine's host names, so a
    finding names a host the same way whether it comes from the engine or from the volume."""
    out = _Collector(runbook_base)
    vm_status = status.get("vm_status") or {}
    slots = {k: v for k, v in vm_status.items() if isinstance(v, dict)}

    def named(view: Dict[str, Any], key: str) -> str:
        hostname = str(view.get("hostname") or "host id %s" % key)
        return (host_names or {}).get(hostname, hostname)
    names = {int(v.get("host-id", 0)): named(v, k) for k, v in slots.items()}
    for host_id in status.get("stale_hosts") or []:
        name = names.get(int(host_id), "host id %s" % host_id)
        out.add("he_stale_host", "host", name, "the hosted-engine agent of %s (host id %s) stopped updating its "
                "metadata: the others count it as dead" % (name, host_id))
    if status.get("global_maintenance"):
        out.add("he_global_maintenance", "cluster", cluster_name, "hosted-engine global maintenance is on: no agent "
                "restarts the engine VM if it goes down")
    live = [v for v in slots.values() if v.get("live-data") and not v.get("maintenance")]
    scores = [int(v.get("score") or 0) for v in live]
    kinds = {p.get("kind") for p in status.get("problems") or []}
    if "all_scores_zero" not in kinds and live and not any(scores):
        kinds.add("all_scores_zero")
    if live and any(scores) and not status.get("global_maintenance"):
        best = max(scores)
        for view in live:
            score = int(view.get("score") or 0)
            if best - score >= thresholds.he_score_gap:
                name = names.get(int(view.get("host-id", 0)), str(view.get("hostname")))
                out.add("he_score_gap", "host", name, "hosted-engine host %s scores %d, %d under the best host (%d): "
                        "it will not take the engine VM over" % (name, score, best - score, best))
    for problem in status.get("problems") or []:
        if problem.get("kind") == "all_scores_zero":
            continue
        slot = problem.get("slot")
        obj = names.get(int(slot), "slot %s" % slot) if slot is not None else cluster_name
        out.add("he_metadata_problem", "host" if slot is not None else "cluster", "%s:%s" % (obj, problem.get("kind")),
                str(problem.get("message")))
    if "all_scores_zero" in kinds:
        out.add("he_all_scores_zero", "cluster", cluster_name, "every live hosted-engine host scores 0: no host will "
                "start the engine VM")
    return out.found


def capacity_findings(capacity: Dict[str, Any], cluster_name: str, runbook_base: str = RUNBOOKS) -> List[Finding]:
    out = _Collector(runbook_base)
    for level in capacity.get("levels") or []:
        if level.get("ok"):
            continue
        worst = level.get("breaking") or {}
        unplaced = worst.get("unplaced") or []
        names = ", ".join(u["vm"] for u in unplaced[:5]) + (" and %d more" % (len(unplaced) - 5) if len(unplaced) > 5 else "")
        out.add("capacity_insufficient", "cluster", cluster_name, "if %s fail%s, %d HA VM%s cannot restart: %s (%s)"
                % (" and ".join(worst.get("failed_hosts") or []), "s" if len(worst.get("failed_hosts") or []) == 1 else "",
                   len(unplaced), "" if len(unplaced) == 1 else "s", names, unplaced[0]["reason"] if unplaced else "?"))
        break
    return out.found


def merge(*groups: List[Finding]) -> List[Finding]:
    """All findings, one per key (the metadata volume's view of a key wins over the engine's), most severe first."""
    seen: Dict[str, Finding] = {}
    for group in reversed(groups):
        for finding in group:
            seen.setdefault(finding.key, finding)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(seen.values(), key=lambda f: (rank[f.severity], f.kind, f.object))


def verdict(found: List[Finding]) -> Dict[str, Any]:
    """The one answer: ``ok`` (nothing wrong), ``at_risk`` (the next failure may not be survived), ``failing``
    (HA is broken now)."""
    counts = {s: sum(1 for f in found if f.severity == s) for s in SEVERITIES}
    if counts[CRITICAL]:
        state, text = "failing", "HA is broken now: %d critical finding%s" % (counts[CRITICAL], "" if counts[CRITICAL] == 1 else "s")
    elif counts[WARNING]:
        state, text = "at_risk", "the cluster may not survive the next failure: %d warning%s" % (
            counts[WARNING], "" if counts[WARNING] == 1 else "s")
    else:
        state, text = "ok", "the cluster can survive the next failure"
    return {"state": state, "text": text, "counts": counts}
