# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor: re-check, act, verify, record, one planned action at a time (private, may change).

Before each mutating action it re-checks the run lease and re-reads the objects the action touches, and skips
the action when the world moved since the plan.  A fence is: power status from the BMC (or the engine's fence
agent); a powered-on host only with evidence that its storage lease expired; power off, confirmed off by the BMC;
only then the manual fence that lets the engine mark the host's VMs down and restart them; then power on.
"Command sent", a timeout or an unreachable BMC is never "fenced": the host's VMs are left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from .._engine.errors import EngineError, engine_call
from .._engine.objects import enum_value
from .._ipmi import bulk
from .._ipmi.fence import FenceRequest
from .._ipmi.power import PowerRequest
from .._ipmi.target import BmcTarget
from .audit import AuditLog, safe_post
from .lease import ENGINE_CALL_BUDGET, LeaseLost, RunLease
from .planner import Action
from .records import custom_id
from .policy import ReconcilePolicy

MANUAL_FENCE_STATUSES = ("non_responsive", "connecting", "down", "reboot", "maintenance", "non_operational", "kdumping")
Progress = Callable[[str], None]


@dataclass
class Outcome:
    action: Action
    result: str = "pending"  # done | skipped | refused | failed
    detail: str = ""
    steps: List[str] = field(default_factory=list)

    @property
    def problem(self) -> bool:
        return self.result in ("refused", "failed")

    def as_dict(self) -> Dict[str, Any]:
        return {"kind": self.action.kind, "target": self.action.target, "result": self.result, "detail": self.detail,
                "steps": list(self.steps)}


class Stop(Exception):
    """End this action with a result (not an error of the run)."""

    def __init__(self, result: str, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


class Executor:
    def __init__(self, system: Any, log: AuditLog, lease: Optional[RunLease], policy: ReconcilePolicy,
                 bmcs: Mapping[str, BmcTarget], progress: Optional[Progress] = None) -> None:
        self.system = system
        self.log = log
        self.lease = lease
        self.policy = policy
        self.bmcs = bmcs
        self.progress = progress or (lambda text: None)
        self.requests = 0
        self.warnings: List[str] = []
        self.lease_lost: Optional[str] = None
        self.powers: Dict[str, str] = {}  # host id -> power read by probe()

    def run(self, actions: List[Action]) -> List[Outcome]:
        """Run the actions in order (fence_host only after probe() found it fit)."""
        outcomes = []
        for action in actions:
            outcome = Outcome(action)
            if self.lease_lost is not None:
                outcome.result, outcome.detail = "skipped", "not acting: %s" % self.lease_lost
            else:
                self.one(outcome)
            outcomes.append(outcome)
        return outcomes

    def one(self, outcome: Outcome) -> None:
        handler = {"record_outage": self.record_outage, "fence_host": self.fence_host, "start_vm": self.start_vm}[outcome.action.kind]
        try:
            handler(outcome)
            if outcome.result == "pending":
                outcome.result = "done"
        except Stop as stop:
            outcome.result, outcome.detail = stop.result, stop.detail
        except LeaseLost as exc:
            self.lease_lost = str(exc)
            outcome.result, outcome.detail = "skipped", str(exc)
        except EngineError as exc:
            outcome.result, outcome.detail = "failed", str(exc)

    def step(self, outcome: Outcome, text: str) -> None:
        outcome.steps.append(text)
        self.progress("%s %s: %s" % (outcome.action.kind, outcome.action.target, text))

    def record(self, *args: Any, **kwargs: Any) -> None:
        warning = safe_post(self.log, *args, **kwargs)
        if warning:
            self.warnings.append(warning)

    # -- record_outage -------------------------------------------------------------------------
    def record_outage(self, outcome: Outcome) -> None:
        action = outcome.action
        params = action.params
        self.log.post("outage", action.target_id, params["episode"], "ovirt_ha.core: host %s is unreachable; watching it (leased HA "
                      "VMs as witnesses of its storage: %s)" % (action.target, len(params["witnesses"]) or "none"),
                      host_id=action.target_id, witnesses=",".join(params["witnesses"]))
        self.step(outcome, "recorded the outage and %d witness VM(s)" % len(params["witnesses"]))

    # -- fence_host ----------------------------------------------------------------------------
    def host_service(self, host_id: str) -> Any:
        return self.system.hosts_service().host_service(host_id)

    def reread_host(self, action: Action) -> Any:
        self.requests += 1
        with engine_call("re-reading the host", obj="host %r" % action.target):
            return self.host_service(action.target_id).get(all_content=True)

    def probe(self, actions: List[Action]) -> List[Outcome]:
        """Before the lease: read each host to fence and its power (read-only); a host that cannot be fenced safely
        ends here (refused or failed) and needs no lease.  Returns the outcomes of the actions that end here."""
        ended = []
        for action in actions:
            if action.kind != "fence_host":
                continue
            outcome = Outcome(action)
            try:
                host = self.reread_host(action)
                status = enum_value(host.status)
                if status != "non_responsive":
                    raise Stop("skipped", "the engine now sees %s %s (the plan saw it non_responsive): nothing to fence" % (
                        action.target, status))
                power = self.power_status(outcome)
                self.step(outcome, "power is %s" % power)
                if power == "on" and action.params["storage"] != "lost" and self.attempted_elsewhere(action):
                    raise Stop("skipped", "another reconciler started fencing %s after this run read the cluster" % action.target)
                if power == "on" and action.params["storage"] != "lost":
                    # one record per refusal (not per outage): the planner's back-off counts from the newest
                    self.record("refused:storage_lease_unknown", action.target_id, action.params["episode"], "ovirt_ha.core refused to "
                                "fence host %s: it is powered on and there is no evidence that its storage lease expired (%s)" % (
                                    action.target, action.params["storage_reason"]), n=action.params.get("refusals", 0) + 1,
                                severity="warning", host_id=action.target_id)
                    raise Stop("refused", "%s is powered on and may still write to its storage: %s; not fencing it" % (
                        action.target, action.params["storage_reason"]))
                self.powers[action.target_id] = power
            except Stop as stop:
                outcome.result, outcome.detail = stop.result, stop.detail
                ended.append(outcome)
            except EngineError as exc:
                outcome.result, outcome.detail = "failed", str(exc)
                ended.append(outcome)
        return ended

    def held(self) -> RunLease:
        """The run lease this executor acts under (fencing and starting need it)."""
        if self.lease is None:
            raise LeaseLost("not holding the run lease")
        return self.lease

    def attempted_elsewhere(self, action: Action) -> bool:
        """Another reconciler recorded this very fence attempt since our read (it raced us, and may have powered the
        host off and on again already)."""
        ident = custom_id(self.log.cluster_id, "fence", action.target_id, action.params["episode"], action.params["attempt"])
        return self.log.find(ident) is not None

    def fence_host(self, outcome: Outcome) -> None:
        action = outcome.action
        params = action.params
        self.held().check("fence host %s" % action.target)
        # the world may have moved while the lease was taken: read the host and its power again
        host = self.reread_host(action)
        if enum_value(host.status) != "non_responsive":
            raise Stop("skipped", "the engine now sees %s %s (it was non_responsive): nothing to fence" % (
                action.target, enum_value(host.status)))
        power = self.power_status(outcome) if self.powers.get(action.target_id) == "on" else self.powers[action.target_id]
        if power == "on" and params["storage"] != "lost":
            raise Stop("refused", "%s is powered on again and may write to its storage: not fencing it" % action.target)
        self.step(outcome, "power is %s" % power)
        self.record("fence", action.target_id, params["episode"], "ovirt_ha.core fencing host %s (attempt %d, power %s): %s" % (
            action.target, params["attempt"], power, action.reason), n=params["attempt"], severity="warning", host_id=action.target_id)
        if params["method"] == "engine" and power == "on":
            if self.engine_restart(outcome):
                return
        if power == "on":
            self.power_off_confirmed(outcome)
        self.held().check("confirm host %s rebooted (manual fence)" % action.target, ENGINE_CALL_BUDGET)
        host = self.reread_host(action)
        if enum_value(host.status) not in MANUAL_FENCE_STATUSES:
            raise Stop("skipped", "the engine now sees %s %s: the power is off, but no manual fence is needed" % (
                action.target, enum_value(host.status)))
        self.requests += 1
        with engine_call("confirming the host is down (manual fence)", obj="host %r" % action.target):
            self.host_service(action.target_id).fence(fence_type="manual")
        self.step(outcome, "manual fence: the engine marks its VMs down and restarts the HA ones")
        self.record("manual_fence", action.target_id, params["episode"], "ovirt_ha.core confirmed host %s down to the engine (manual "
                    "fence) after its BMC showed the power off" % action.target, n=params["attempt"], host_id=action.target_id)
        if self.policy.power_on_after_fence:
            self.power_on(outcome)

    def power_status(self, outcome: Outcome) -> str:
        action = outcome.action
        if action.params["method"] == "engine":
            self.requests += 1
            try:
                with engine_call("reading the power status through the engine", obj="host %r" % action.target):
                    answer = self.host_service(action.target_id).fence(fence_type="status")
                power = enum_value(getattr(answer, "status", None))
                if power in ("on", "off"):
                    return power
                self.step(outcome, "the engine's fence agent says power %s; asking the BMC" % power)
            except EngineError as exc:
                self.step(outcome, "the engine's fence agent failed (%s); asking the BMC" % exc.message)
        target = self.target(action)
        [info] = bulk.bmc_info([target])
        if info.get("failed") or info.get("power") not in ("on", "off"):
            raise Stop("failed", "the BMC of %s does not tell its power state (%s): not fenced, its VMs are left alone" % (
                action.target, info.get("msg") or info.get("power")))
        return str(info["power"])

    def target(self, action: Action) -> BmcTarget:
        target = self.bmcs.get(action.target)
        if target is None:
            raise Stop("failed", "no BMC for %s in the inventory" % action.target)
        return target

    def engine_restart(self, outcome: Outcome) -> bool:
        """Fence through the engine's own power management: it stops, confirms off, marks VMs down and starts.
        False when the engine refused or failed (then the BMC is used, if the inventory has it)."""
        action = outcome.action
        self.requests += 1
        try:
            with engine_call("fencing (restart) through the engine", obj="host %r" % action.target):
                self.host_service(action.target_id).fence(fence_type="restart")
        except EngineError as exc:
            self.step(outcome, "the engine's fence failed: %s" % exc.message)
            if action.target not in self.bmcs:
                raise Stop("failed", "the engine's fence of %s failed and the inventory has no BMC for it: %s" % (action.target, exc))
            return False
        self.step(outcome, "fenced through the engine (restart: off confirmed by its fence agent, VMs marked down, on)")
        self.record("engine_fence", action.target_id, action.params["episode"], "ovirt_ha.core fenced host %s through the engine's "
                    "power management" % action.target, n=action.params["attempt"], host_id=action.target_id)
        return True

    def power_off_confirmed(self, outcome: Outcome) -> None:
        action = outcome.action
        target = self.target(action)
        if self.lease is not None:
            self.lease.check("power off host %s" % action.target)
        [result] = bulk.bmc_fence([target], FenceRequest(action="off", power_timeout=self.policy.confirm_timeout))
        if not result.get("fenced"):
            seen = result.get("power_after") or result.get("power_before") or "unknown"
            kind = (result.get("error") or {}).get("kind", "timed_out")
            why = ("it still reports power %s after %d s" % (seen, self.policy.confirm_timeout) if kind == "timed_out"
                   else "the BMC failed: %s" % kind.replace("_", " "))
            self.record("fence_failed", action.target_id, action.params["episode"], "ovirt_ha.core could not confirm host %s off: %s; "
                        "NOT fenced" % (action.target, why), n=action.params["attempt"], severity="error", host_id=action.target_id)
            raise Stop("failed", "the BMC of %s did not confirm the power off (%s): not fenced, its VMs are left alone" % (
                action.target, why))
        self.step(outcome, "powered off, off confirmed by the BMC")

    def power_on(self, outcome: Outcome) -> None:
        action = outcome.action
        target = self.bmcs.get(action.target)
        if action.params["method"] == "engine" or target is None:
            self.requests += 1
            try:
                with engine_call("powering the host on through the engine", obj="host %r" % action.target):
                    self.host_service(action.target_id).fence(fence_type="start")
                self.step(outcome, "powered on again through the engine")
            except EngineError as exc:
                self.warnings.append("host %s stays powered off: %s" % (action.target, exc))
                self.step(outcome, "power on through the engine failed: %s" % exc.message)
            return
        [result] = bulk.bmc_power([target], PowerRequest(state="on", wait=True, wait_timeout=self.policy.confirm_timeout))
        if result.get("failed"):
            self.warnings.append("host %s stays powered off: %s" % (action.target, result.get("msg")))
            self.step(outcome, "power on failed: %s" % result.get("msg"))
        else:
            self.step(outcome, "powered on again")

    # -- start_vm ------------------------------------------------------------------------------
    def start_vm(self, outcome: Outcome) -> None:
        action = outcome.action
        params = action.params
        self.held().check("start VM %s" % action.target, ENGINE_CALL_BUDGET)
        vms = self.system.vms_service()
        self.requests += 2
        with engine_call("re-reading the VM", obj="VM %r" % action.target):
            vm = vms.vm_service(action.target_id).get()
        if enum_value(vm.status) != "down":
            raise Stop("skipped", "the engine now sees %s %s: not starting it" % (action.target, enum_value(vm.status)))
        with engine_call("re-reading the target host", obj="host %r" % params["host"]):
            host = self.host_service(params["host_id"]).get()
        if enum_value(host.status) != "up":
            raise Stop("skipped", "the host picked for %s, %s, is now %s" % (action.target, params["host"], enum_value(host.status)))
        self.record("start", action.target_id, params["episode"], "ovirt_ha.core starting HA VM %s on %s (attempt %d): %s" % (
            action.target, params["host"], params["attempt"], action.reason), n=params["attempt"], vm_id=action.target_id)
        self.requests += 1
        try:
            with engine_call("starting the VM", obj="VM %r on host %r" % (action.target, params["host"])):
                vms.vm_service(action.target_id).start(vm=_placement(params["host_id"]))
        except EngineError as exc:
            self.record("start_failed", action.target_id, params["episode"], "ovirt_ha.core could not start HA VM %s: %s" % (
                action.target, exc), n=params["attempt"], severity="error", vm_id=action.target_id)
            raise
        self.step(outcome, "started on %s" % params["host"])


def _placement(host_id: str) -> Any:
    from ovirtsdk4 import types  # pylint: disable=import-outside-toplevel

    return types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(id=host_id)]))
