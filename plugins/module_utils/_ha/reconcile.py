# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconciler pass over a cluster: read, plan, lease, execute, report (private, may change).

Level-triggered and stateless: every pass starts from the engine's current state and the records earlier passes
left in the engine's event log.  Check mode stops after the plan: no lease, no record, no action.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .._engine.errors import EngineError, InputError
from .._ipmi.target import BmcTarget
from .audit import AuditLog
from .executor import Executor, Outcome
from .lease import DEFAULT_TTL, LeaseBusy, LeaseUnavailable, RunLease, action_budget
from .model import UNREACHABLE, Snapshot
from .planner import Finding, Plan, plan
from .policy import ReconcilePolicy
from .read import DEFAULT_EVENT_WINDOW, read_snapshot
from .records import Memory

DEFAULT_BMC_TIMEOUT = 15.0


@dataclass(frozen=True)
class Request:
    cluster: str
    policy: ReconcilePolicy
    bmcs: Mapping[str, BmcTarget]
    holder: str
    lease_ttl: float = DEFAULT_TTL
    check_mode: bool = False
    event_window: int = DEFAULT_EVENT_WINDOW
    # the longest action; None: derived from the policy with the default BMC timeout (options.build_request sets it)
    action_budget: Optional[float] = None


def check_bmcs(snapshot: Snapshot, bmcs: Mapping[str, BmcTarget], order: List[str]) -> None:
    """A BMC entry for a host the cluster does not have fails the run before anything is done."""
    for index, name in enumerate(order):
        if name not in snapshot.hosts_by_name:
            raise InputError("bmcs[%d].name" % index, "the name of a host of cluster %s (%s)" % (
                snapshot.cluster.name, ", ".join(sorted(snapshot.hosts_by_name)) or "none"), name)


def summary(snapshot: Snapshot) -> Dict[str, Any]:
    # the read holds only the VMs that are not up, or on unreachable hosts: no count of all HA VMs here
    ha = [v for v in snapshot.vms if v.ha and not v.hosted_engine]
    return {
        "hosts": len(snapshot.hosts), "hosts_unreachable": sorted(h.name for h in snapshot.hosts if h.status in UNREACHABLE),
        "ha_vms_down": sorted(v.name for v in ha if v.status == "down"),
        "ha_vms_unknown": sorted(v.name for v in ha if v.status == "unknown"),
        "hosted_engine_global_maintenance": snapshot.global_maintenance(),
    }


def record_refusals(log: AuditLog, memory: Memory, findings: List[Finding]) -> List[str]:
    """Each refusal once per episode in the engine's log (what the reconciler would not do, and why)."""
    warnings = []
    for finding in findings:
        if not (finding.problem and finding.rule and finding.target_id and finding.status in ("refused", "respected", "blocked")):
            continue
        kind = "refused:%s" % finding.rule
        if memory.of(kind, finding.target_id, finding.episode):
            continue
        host_id = finding.target_id if finding.kind == "host" else None
        vm_id = finding.target_id if finding.kind == "vm" else None
        try:
            log.post(kind, finding.target_id, finding.episode, "ovirt_ha.core did not act on %s %s: %s" % (
                finding.kind, finding.target, finding.reason), severity="warning", host_id=host_id, vm_id=vm_id)
        except EngineError as exc:
            warnings.append("could not record the refusal for %s: %s" % (finding.target, exc))
    return warnings


def reconcile(system: Any, request: Request, bmc_order: List[str]) -> Dict[str, Any]:
    snapshot = read_snapshot(system, request.cluster, request.event_window)
    check_bmcs(snapshot, request.bmcs, bmc_order)
    memory = Memory(snapshot.events)
    the_plan = plan(snapshot, request.policy, memory, list(request.bmcs))
    result: Dict[str, Any] = {"cluster": snapshot.cluster.name, "engine_time": snapshot.now, "summary": summary(snapshot),
                              "plan": the_plan.as_dict(), "findings": [f.as_dict() for f in the_plan.findings],
                              "invariants": the_plan.invariants, "actions": [], "run_warnings": [], "changed": False}
    requests = snapshot.requests
    log = AuditLog(system, snapshot.cluster.id, snapshot.cluster.name)
    budget = request.action_budget if request.action_budget is not None else action_budget(request.policy, DEFAULT_BMC_TIMEOUT)
    lease = RunLease(log, request.holder, ttl=request.lease_ttl, action_budget=budget)
    outcomes: List[Outcome] = []
    acted = 0
    if request.check_mode:
        lease.state = "check_mode"
    elif the_plan.actions:
        outcomes, acted = execute(system, the_plan, snapshot, memory, request, log, lease, result)
        result["run_warnings"].extend(record_refusals(log, memory, the_plan.findings))
    else:
        lease.state = "not_needed"
        result["run_warnings"].extend(record_refusals(log, memory, the_plan.findings))
    result["actions"] = [o.as_dict() for o in outcomes]
    result["lease"] = lease.as_dict()
    # in check mode: what a real run would change
    result["changed"] = bool(the_plan.destructive) if request.check_mode else any(
        o.result == "done" and o.action.kind != "record_outage" for o in outcomes)
    result["problems"] = problems(the_plan, outcomes, lease)
    result["api_requests"] = requests + log.requests + acted
    return result


def execute(system: Any, the_plan: Plan, snapshot: Snapshot, memory: Memory, request: Request, log: AuditLog, lease: RunLease,
            result: Dict[str, Any]) -> Tuple[List[Outcome], int]:
    """Probe the hosts to fence (read-only), take the lease when something destructive is left, run the actions,
    give the lease back.  Returns the outcomes and the requests the executor made (the audit log counts its own)."""
    executor = Executor(system, log, lease, request.policy, request.bmcs)
    ended = executor.probe(the_plan.actions)
    done = {id(o.action) for o in ended}
    remaining = [a for a in the_plan.actions if id(a) not in done]
    destructive = [a for a in remaining if a.kind != "record_outage"]
    if not destructive:
        lease.state = "not_needed"
        executor.lease = None
        outcomes = executor.run(remaining)
    else:
        try:
            lease.acquire(snapshot, memory)
        except (LeaseBusy, LeaseUnavailable) as exc:
            if isinstance(exc, LeaseUnavailable):
                lease.state = "unavailable"
                result["lease_error"] = str(exc)
            result["run_warnings"].append(str(exc))
            executor.lease = None
            outcomes = executor.run([a for a in remaining if a.kind == "record_outage"])
            why = "another reconciler holds the run lease" if isinstance(exc, LeaseBusy) else "the run lease could not be taken: %s" % exc
            outcomes += [Outcome(a, "skipped", why) for a in destructive]
        else:
            try:
                outcomes = executor.run(remaining)
            finally:
                warning = lease.release()
                if warning:
                    result["run_warnings"].append(warning)
    result["run_warnings"].extend(executor.warnings)
    by_action = {id(o.action): o for o in ended + outcomes}
    return [by_action[id(a)] for a in the_plan.actions if id(a) in by_action], executor.requests


def problems(the_plan: Plan, outcomes: List[Outcome], lease: RunLease) -> List[str]:
    found = ["%s %s: %s" % (f.kind, f.target, f.reason) for f in the_plan.problems]
    found += ["%s %s %s: %s" % (o.action.kind, o.action.target, o.result, o.detail) for o in outcomes if o.problem]
    if lease.state == "lost":
        found.append("the run lease was lost mid-run; the remaining actions were not taken")
    if lease.state == "unavailable":
        found.append("the run lease could not be taken although nobody seems to hold it; nothing was done")
    return found
