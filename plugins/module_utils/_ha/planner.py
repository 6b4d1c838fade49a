# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner: ``plan(snapshot, policy, memory, bmcs) -> Plan`` (private, may change).

No I/O and no clock of its own (``snapshot.now`` is the engine's time): the same snapshot gives the same plan, so
check mode shows exactly what a real run would try, and the scenarios can pin it.  Every decision has a reason;
every refusal says which safety rule refused it.  The executor re-checks each action against fresh state before
it acts.

Safety rules (never options): nothing during hosted-engine global maintenance; never fence when the share of
unreachable hosts reaches the connectivity threshold, nor the last host up, nor the host running the
hosted-engine VM, nor more hosts than the fence budget; never fence where the engine is still acting; respect the
cluster's fencing policy; a powered-on host is fenced only on evidence that its storage lease expired (the
executor checks the power); VMs a user stopped stay down.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .engine_view import EngineStance, Outage, down_cause, engine_retrying, outage, stance, storage_evidence
from .engine_view import GUEST_DOWN, USER_SHUTDOWN, USER_STOP
from .model import UNREACHABLE, Host, Snapshot, Vm
from .policy import ENGINE_REBOOT_WINDOW, ReconcilePolicy
from .records import Memory

GIB = 1024 ** 3


@dataclass(frozen=True)
class Action:
    kind: str  # record_outage | fence_host | start_vm
    target: str
    target_id: str
    reason: str
    preconditions: Tuple[str, ...] = ()
    params: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "id": self.target_id, "reason": self.reason,
                "preconditions": list(self.preconditions), "params": dict(self.params)}


@dataclass(frozen=True)
class Finding:
    """Something the planner did not act on, and why.  ``problem``: the cluster stays wrong because of it."""

    target: str
    kind: str  # host | vm | cluster
    status: str  # waiting | respected | refused | blocked
    reason: str
    problem: bool
    rule: str = ""
    target_id: str = ""
    episode: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return {"target": self.target, "kind": self.kind, "status": self.status, "reason": self.reason, "problem": self.problem,
                "rule": self.rule or None}


@dataclass
class Plan:
    actions: List[Action] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    invariants: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def destructive(self) -> List[Action]:
        return [a for a in self.actions if a.kind != "record_outage"]

    @property
    def problems(self) -> List[Finding]:
        return [f for f in self.findings if f.problem]

    def as_dict(self) -> Dict[str, Any]:
        return {"actions": [a.as_dict() for a in self.actions], "findings": [f.as_dict() for f in self.findings],
                "invariants": list(self.invariants)}


def plan(snapshot: Snapshot, policy: ReconcilePolicy, memory: Memory, bmcs: Sequence[str]) -> Plan:
    """``bmcs``: names of the hosts whose BMC the inventory gave."""
    result = Plan()
    _Planner(snapshot, policy, memory, set(bmcs), result).run()
    return result


class _Planner:
    def __init__(self, snapshot: Snapshot, policy: ReconcilePolicy, memory: Memory, bmcs: set, result: Plan) -> None:
        self.snap = snapshot
        self.policy = policy
        self.memory = memory
        self.bmcs = bmcs
        self.out = result
        self.host_verdicts: Dict[str, str] = {}  # host id -> why its VMs wait / are stuck
        self.episode = 0  # the outage of the host being planned

    def note(self, target: str, kind: str, status: str, reason: str, problem: bool, rule: str = "", target_id: str = "",
             episode: int = 0) -> None:
        self.out.findings.append(Finding(target, kind, status, reason, problem, rule, target_id, episode))

    def invariant(self, name: str, holds: bool, detail: str) -> None:
        self.out.invariants.append({"rule": name, "holds": holds, "detail": detail})

    # -- the whole cluster --------------------------------------------------------------------------
    def run(self) -> None:
        snap = self.snap
        unreachable = [h for h in snap.hosts if h.status in UNREACHABLE]
        up = [h for h in snap.hosts if h.status == "up"]
        share = 100 * len(unreachable) // max(1, len(snap.hosts))
        threshold = self.policy.connectivity_threshold
        cluster_policy = snap.cluster.fencing
        if cluster_policy.skip_if_connectivity_broken:
            threshold = min(threshold, cluster_policy.threshold)
        self.invariant("connectivity_threshold", share < threshold,
                       "%d of %d hosts unreachable (%d %%), threshold %d %%" % (len(unreachable), len(snap.hosts), share, threshold))
        maintenance = snap.global_maintenance()
        self.invariant("no_global_maintenance", not maintenance,
                       "hosted-engine global maintenance is %s" % ("on: the reconciler does nothing" if maintenance else "off"))
        fences = 0
        for host in sorted(unreachable, key=lambda h: (-self.ha_weight(h), h.name)):
            fenced = self.host(host, share, threshold, len(up), maintenance, fences)
            fences += 1 if fenced else 0
        self.invariant("fence_budget", fences <= self.policy.fence_budget,
                       "%d host(s) to fence in this run, budget %d" % (fences, self.policy.fence_budget))
        self.vms(maintenance)
        if not self.out.findings and not self.out.actions:
            self.invariant("healthy", True, "no host unreachable, no HA VM down")

    def ha_weight(self, host: Host) -> int:
        return sum(1 + vm.priority for vm in self.snap.vms_on(host.id) if vm.ha)

    # -- hosts --------------------------------------------------------------------------------------
    def host(self, host: Host, share: int, threshold: int, up: int, maintenance: bool, fences: int) -> bool:
        """Plan for one unreachable host; True when a fence is planned."""
        snap, policy = self.snap, self.policy
        out = outage(snap, host, self.memory)
        self.episode = out.episode
        # recorded at first sight, also while connecting: a network-cut host's leases expire ~80 s after the cut and the
        # engine runs the leased VMs elsewhere soon after; a run that comes later no longer sees where they were
        witnesses = self.witnesses(host, out)
        view = stance(snap, host, out, policy)
        fenced = self.memory.attempts("manual_fence", host.id, out.episode) + self.memory.attempts("engine_fence", host.id, out.episode)
        if fenced:
            since = snap.now - fenced[-1].event.time
            if since < ENGINE_REBOOT_WINDOW + policy.grace:
                self.defer(host, "waiting", "fenced by the reconciler %d s ago; waiting for it to boot and answer the engine" % since, False)
            else:
                self.defer(host, "blocked", "fenced by the reconciler %d s ago and it never came back: check its hardware" % since, True,
                           "fenced_host_dead")
            return False
        if view.state == "acting":
            self.defer(host, "waiting", "the engine is still on it: %s" % view.reason, False)
            return False
        if view.state == "handled":
            self.defer(host, "waiting", view.reason, False)
            return False
        if maintenance:
            self.defer(host, "refused", "hosted-engine global maintenance is on: no HA action at all", True, "global_maintenance")
            return False
        if view.state == "policy" and view.code == 9014:
            self.defer(host, "refused", view.reason + ": its VMs may still be writing", True, "storage_lease_live")
            return False
        if view.state == "policy" and not self.policy_allows(view):
            self.defer(host, "respected", view.reason + "; the reconciler respects the cluster's fencing policy", True,
                       "cluster_fencing_policy")
            return False
        if host.hosted_engine is not None and host.hosted_engine.local_maintenance:
            self.defer(host, "respected", "it is in hosted-engine local maintenance", True, "local_maintenance")
            return False
        if not snap.cluster.fencing.enabled and not policy.fence_when_cluster_fencing_disabled:
            self.defer(host, "respected", "the cluster's fencing policy disables fencing; the reconciler respects it "
                       "(policy.fence_when_cluster_fencing_disabled lets it fence)", True, "cluster_fencing_policy")
            return False
        if share >= threshold:
            self.defer(host, "refused", "%d %% of the cluster's hosts are unreachable (threshold %d %%): a partition is likelier "
                       "than dead hosts, so nothing is fenced" % (share, threshold), True, "connectivity_threshold")
            return False
        if up == 0:
            self.defer(host, "refused", "no other host of the cluster is up: never fence the last host", True, "last_up_host")
            return False
        engine_vm = snap.engine_vm()
        if engine_vm is not None and engine_vm.host_id == host.id:
            self.defer(host, "refused", "it runs the hosted-engine VM: the hosted-engine agents own that host's recovery", True,
                       "engine_vm_host")
            return False
        engine_can = (policy.fence_method == "engine_then_ipmi" and host.pm_enabled and (host.fence_agents or 0) > 0
                      and view.code not in (9002, 122, 9005, 9027))
        if host.name not in self.bmcs and not engine_can:
            self.defer(host, "blocked", "%s, and the inventory gives no BMC for it (bmc_address ...)" % view.reason, True, "bmc_known")
            return False
        attempts = self.memory.attempts("fence", host.id, out.episode)
        if len(attempts) >= policy.max_fence_attempts:
            self.defer(host, "refused", "%d fence attempts in this outage already failed (policy.max_fence_attempts)" % len(attempts),
                       True, "fence_attempts")
            return False
        if attempts:
            due = attempts[-1].event.time + policy.fence_backoff * (2 ** (len(attempts) - 1))
            if snap.now < due:
                self.defer(host, "waiting", "the last fence attempt failed; next try in %d s (back-off)" % (due - snap.now), True,
                           "fence_backoff")
                return False
        if fences >= policy.fence_budget:
            self.defer(host, "waiting", "the fence budget of this run (%d) is used; next run" % policy.fence_budget, True, "fence_budget")
            return False
        evidence = storage_evidence(snap, host, out, self.memory, witnesses, policy)
        if evidence.verdict == "live":
            self.defer(host, "refused", "its storage lease is live: %s" % evidence.reason, True, "storage_lease_live")
            return False
        refused = self.memory.attempts("refused:storage_lease_unknown", host.id, out.episode)
        if evidence.verdict != "lost" and refused and snap.now < refused[-1].event.time + policy.fence_backoff:
            # it was powered on with nothing to show it lost its storage; it does not take the budget again until the
            # back-off has passed (it may be off by then) or a witness shows the lease expired
            self.defer(host, "refused", "it was powered on %d s ago and nothing shows it lost its storage: %s" % (
                snap.now - refused[-1].event.time, evidence.reason), True, "storage_lease_unknown")
            return False
        method = "engine" if engine_can else "ipmi"
        self.out.actions.append(Action(
            "fence_host", host.name, host.id, view.reason,
            ("engine still sees %s %s" % (host.name, host.status), "the run lease is held",
             "the BMC confirms the power off before the engine is told (manual fence)",
             "powered on only with evidence its storage lease expired: %s" % evidence.reason),
            {"method": method, "storage": evidence.verdict, "storage_reason": evidence.reason, "episode": out.episode,
             "attempt": len(attempts) + 1, "refusals": len(refused), "vms": [vm.name for vm in snap.vms_on(host.id)]}))
        self.host_verdicts[host.id] = "recovered by fencing %s in this run" % host.name
        return True

    def witnesses(self, host: Host, out: Outage) -> List[str]:
        """HA VMs with a lease that ran on the host when the outage began: if the engine later runs one elsewhere,
        sanlock let its lease go, so the host lost its storage.  Recorded in the engine on first sight."""
        seen = self.memory.of("outage", host.id, out.episode) if out.episode else []
        if seen:
            return [v for v in seen[0].fields.get("witnesses", "").split(",") if v]
        current = sorted(vm.id for vm in self.snap.vms_on(host.id) if vm.ha and vm.lease_domain_id)
        self.out.actions.append(Action(
            "record_outage", host.name, host.id, "first sight of this outage: remember its leased VMs as witnesses",
            (), {"episode": out.episode or int(self.snap.now), "witnesses": current}))
        return current

    def policy_allows(self, view: EngineStance) -> bool:
        return view.code == 9015 and self.policy.fence_when_cluster_fencing_disabled

    def vnote(self, vm: Vm, status: str, reason: str, problem: bool, rule: str = "") -> None:
        self.note(vm.name, "vm", status, reason, problem, rule, vm.id, int(vm.stop_time or 0))

    def defer(self, host: Host, status: str, reason: str, problem: bool, rule: str = "") -> None:
        self.note(host.name, "host", status, reason, problem, rule, host.id, self.episode)
        self.host_verdicts[host.id] = "its host %s: %s" % (host.name, reason)

    # -- VMs ----------------------------------------------------------------------------------------
    def vms(self, maintenance: bool) -> None:
        snap = self.snap
        free = {h.id: self.free_memory(h) for h in snap.hosts if h.status == "up"}
        for vm in sorted((v for v in snap.vms if v.ha and not v.hosted_engine), key=lambda v: (-v.priority, v.name)):
            if vm.status == "unknown":
                self.unknown_vm(vm)
            elif vm.status == "down":
                self.down_vm(vm, free, maintenance)

    def unknown_vm(self, vm: Vm) -> None:
        verdict = self.host_verdicts.get(vm.host_id or "")
        if vm.lease_domain_id:
            self.vnote(vm, "waiting", "it has a storage lease: the engine runs it elsewhere once sanlock lets the lease go",
                       False)
        elif verdict is not None:
            self.vnote(vm, "waiting" if "recovered" in verdict or "still on it" in verdict else "blocked",
                       "unknown on %s" % verdict, "recovered" not in verdict and "still on it" not in verdict)
        else:
            self.vnote(vm, "blocked", "unknown, and its host is not unreachable: the engine will settle it", True)

    def down_vm(self, vm: Vm, free: Dict[str, int], maintenance: bool) -> None:
        snap, policy = self.snap, self.policy
        cause = down_cause(snap, vm)
        if cause is not None and cause.code in (USER_STOP, USER_SHUTDOWN, GUEST_DOWN):
            self.vnote(vm, "respected", "stopped by a user (event %d)" % cause.code, False, "user_stopped")
            return
        if cause is None:
            self.vnote(vm, "respected", "down, and no event says it failed: it may have been stopped on purpose", False,
                       "user_stopped")
            return
        retrying = engine_retrying(snap, vm, policy)
        if retrying is not None:
            self.vnote(vm, "waiting", retrying, False)
            return
        if maintenance:
            self.vnote(vm, "refused", "down with an error, but hosted-engine global maintenance is on", True, "global_maintenance")
            return
        if not policy.start_ha_vms:
            self.vnote(vm, "respected", "down with an error; policy.start_ha_vms is false", True)
            return
        if vm.lease_domain_id:
            domain = snap.domains_by_id.get(vm.lease_domain_id)
            if domain is None or domain.status != "active":
                self.vnote(vm, "blocked", "its lease's storage domain %s is %s" % (
                    domain.name if domain else vm.lease_domain_id, domain.status if domain else "missing"), True)
                return
        episode = int(vm.stop_time if vm.stop_time is not None else cause.time)
        attempts = self.memory.attempts("start", vm.id, episode)
        if len(attempts) >= policy.max_start_attempts:
            self.vnote(vm, "refused", "%d start attempts already failed (policy.max_start_attempts)" % len(attempts), True,
                       "start_attempts")
            return
        if attempts:
            due = attempts[-1].event.time + policy.start_backoff
            if snap.now < due:
                self.vnote(vm, "waiting", "the last start failed; next try in %d s" % (due - snap.now), True, "start_backoff")
                return
        host, why = self.place(vm, free)
        if host is None:
            self.vnote(vm, "blocked", "down with an error and cannot run anywhere: %s" % why, True, "placement")
            return
        free[host.id] -= vm.memory
        self.out.actions.append(Action(
            "start_vm", vm.name, vm.id, "HA VM down with an error (event %d %s), the engine waits up to 30 min between its "
            "retries now" % (cause.code, "%d s ago" % (snap.now - cause.time)),
            ("the VM is still down", "%s is still up" % host.name, "the run lease is held"),
            {"host": host.name, "host_id": host.id, "episode": episode, "attempt": len(attempts) + 1, "priority": vm.priority}))

    @staticmethod
    def free_memory(host: Host) -> int:
        """The engine's max_scheduling_memory is what the memory filter sees: the host's memory for VMs, net of the VMs
        it runs."""
        return host.max_scheduling_memory

    def place(self, vm: Vm, free: Dict[str, int]) -> Tuple[Optional[Host], str]:
        snap = self.snap
        up = [snap.hosts_by_id[h] for h in free]
        if not up:
            return None, "no host of the cluster is up"
        allowed = up
        if vm.placement_host_ids:
            preferred = [h for h in up if h.id in vm.placement_host_ids]
            if vm.affinity == "pinned":
                if not preferred:
                    names = ", ".join("%s (%s)" % (snap.hosts_by_id[h].name, snap.hosts_by_id[h].status) if h in snap.hosts_by_id else h
                                      for h in vm.placement_host_ids)
                    return None, "pinned to %s" % names
                allowed = preferred
            elif preferred:
                allowed = preferred + [h for h in up if h not in preferred]
        fits = [h for h in allowed if free[h.id] >= vm.memory]
        if not fits:
            best = max(allowed, key=lambda h: free[h.id])
            return None, "needs %.1f GiB of memory; the most free on an up host is %.1f GiB (%s)" % (
                vm.memory / GIB, max(0, free[best.id]) / GIB, best.name)
        if vm.placement_host_ids and vm.affinity != "pinned":
            preferred_fits = [h for h in fits if h.id in vm.placement_host_ids]
            fits = preferred_fits or fits
        return max(fits, key=lambda h: (free[h.id], [-ord(c) for c in h.name])), ""
