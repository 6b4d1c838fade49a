"""The executor against the fake engine and fake BMCs: re-check, act, verify, record; never "command sent" as fenced."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import ovirtsdk4 as sdk
import pytest
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.executor import Executor, Outcome
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.lease import ENGINE_CALL_BUDGET, LeaseLost
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.planner import Action
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.fake_ha_engine import (
    FakeBmcs, HaEngine, audit_log, bmc_target)

EPISODE = 1699999400


class StubLease:
    """A held run lease; ``lose_at``: the number of the check() call (1-based) that finds it lost.  ``budgets``: the
    budget each check asked for (None: the lease's action budget, the longest action)."""

    def __init__(self, lose_at: Optional[int] = None) -> None:
        self.checks: List[str] = []
        self.budgets: List[Optional[float]] = []
        self.lose_at = lose_at

    def check(self, what: str, budget: Optional[float] = None) -> None:
        self.checks.append(what)
        self.budgets.append(budget)
        if self.lose_at is not None and len(self.checks) >= self.lose_at:
            raise LeaseLost("another reconciler (ctl-b:2) took a later run lease; not going to %s" % what)


class Setup:
    """host01-03 up, host04 non responsive with the given power; BMCs from the inventory for ``bmcs``."""

    def __init__(self, monkeypatch: Any, power: str = "on", pm: bool = False, bmcs: Sequence[str] = ("host04",)) -> None:
        self.engine = HaEngine()
        self.cluster = self.engine.add_cluster("Default")
        self.up = [self.engine.add_host("host%02d" % n, self.cluster) for n in (1, 2, 3)]
        self.host = self.engine.add_host("host04", self.cluster, status="non_responsive", pm=pm, power=power)
        self.bmc = FakeBmcs(self.engine).install(monkeypatch)
        self.targets = {name: bmc_target(name) for name in bmcs}
        self.lease = StubLease()

    def executor(self, policy: Optional[ReconcilePolicy] = None) -> Executor:
        return Executor(self.engine.system_service(), audit_log(self.engine, self.cluster), self.lease,  # type: ignore[arg-type]
                        policy or ReconcilePolicy(), self.targets)

    def fence(self, storage: str = "unknown", method: str = "ipmi", attempt: int = 1) -> Action:
        """A fence_host action as the planner makes it."""
        reason = {"lost": "web, whose lease the host held, runs on host02 now: the host's lease expired",
                  "live": "sanlock refused web's lease elsewhere 30 s ago: the host still renews it"}.get(
                      storage, "no HA VM with a storage lease ran on it to show whether it still writes to storage")
        return Action("fence_host", self.host.name, self.host.id, "the engine cannot fence it: no power management configured "
                      "(event 9027)", (), {"method": method, "storage": storage, "storage_reason": reason, "episode": EPISODE,
                                           "attempt": attempt, "vms": []})

    def start(self, vm: Any, host: Any, attempt: int = 1) -> Action:
        return Action("start_vm", vm.name, vm.id, "HA VM down with an error", (),
                      {"host": host.name, "host_id": host.id, "episode": EPISODE, "attempt": attempt, "priority": 0})

    def path(self, action: str) -> Tuple[str, str]:
        return ("POST", "hosts/%s/fence:%s" % (self.host.id, action))

    @property
    def manual_fences(self) -> List[tuple]:
        return [r for r in self.engine.requests if r == self.path("manual")]

    @property
    def host_reads(self) -> int:
        return self.engine.requests.count(("GET", "hosts/%s" % self.host.id))

    @property
    def power_reads(self) -> List[tuple]:
        """The BMC's power status reads (IPMI) and the engine's fence agent's (fence:status), in order."""
        return [c for c in self.engine.timeline if c[:2] == ("IPMI", "info") or c == self.path("status")]


def execute(executor: Executor, actions: List[Action]) -> List[Outcome]:
    """As reconcile runs them: probe the fences (before the lease), then run the rest in plan order."""
    ended = executor.probe(actions)
    done = {id(o.action) for o in ended}
    ran = executor.run([a for a in actions if id(a) not in done])
    by_action = {id(o.action): o for o in ended + ran}
    return [by_action[id(a)] for a in actions]


def one(executor: Executor, action: Action) -> Outcome:
    [outcome] = execute(executor, [action])
    return outcome


# -- fencing over IPMI -----------------------------------------------------------------------------------

def test_bmc_says_off_manual_fence_then_power_on(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off")
    outcome = one(setup.executor(), setup.fence())
    assert outcome.result == "done", outcome.detail
    assert setup.bmc.commands() == [("power", "host04", "on")]  # never a power off
    assert len(setup.manual_fences) == 1
    assert setup.engine.kinds() == ["fence", "manual_fence"]
    assert setup.engine.records("fence")[0].n == 1
    assert outcome.steps[0] == "power is off" and outcome.steps[-1] == "powered on again"
    assert setup.lease.checks == ["fence host host04", "confirm host host04 rebooted (manual fence)"]
    # the manual fence is one engine call: it needs only that much lease left, not the longest action's
    assert setup.lease.budgets == [None, ENGINE_CALL_BUDGET]
    # read by the probe, again under the lease, again before the manual fence; "off" needs no second power read
    assert setup.host_reads == 3
    assert setup.power_reads == [("IPMI", "info", "host04")]


def test_bmc_on_and_storage_lost_powers_off_confirmed_then_manual_fence(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on")
    outcome = one(setup.executor(ReconcilePolicy(confirm_timeout=45)), setup.fence(storage="lost"))
    assert outcome.result == "done", outcome.detail
    assert setup.bmc.commands() == [("fence", "host04", "off"), ("power", "host04", "on")]
    assert setup.bmc.requests[0].power_timeout == 45
    timeline = setup.engine.timeline
    off = timeline.index(("IPMI", "fence", "host04", "off"))
    manual = timeline.index(setup.path("manual"))
    power_on = timeline.index(("IPMI", "power", "host04", "on"))
    assert off < manual < power_on
    assert setup.engine.kinds() == ["fence", "manual_fence"]
    assert "powered off, off confirmed by the BMC" in outcome.steps
    # powered on at the probe: the power is read again under the lease, before the power off
    assert setup.power_reads == [("IPMI", "info", "host04")] * 2
    reads = [n for n, c in enumerate(timeline) if c == ("GET", "hosts/%s" % setup.host.id)]
    infos = [n for n, c in enumerate(timeline) if c == ("IPMI", "info", "host04")]
    assert reads[0] < infos[0] < reads[1] < infos[1] < off < reads[2] < manual  # probe; under the lease; before the manual fence
    assert setup.host_reads == 3
    assert setup.lease.checks == ["fence host host04", "power off host host04", "confirm host host04 rebooted (manual fence)"]
    assert setup.lease.budgets == [None, None, ENGINE_CALL_BUDGET]


@pytest.mark.parametrize("storage", ["unknown", "live"])
def test_bmc_on_without_evidence_of_lost_storage_is_refused(monkeypatch: Any, storage: str) -> None:
    setup = Setup(monkeypatch, power="on")
    outcome = one(setup.executor(), setup.fence(storage=storage))
    assert outcome.result == "refused" and outcome.problem
    assert "is powered on and may still write to its storage" in outcome.detail
    assert setup.bmc.commands() == []
    assert setup.manual_fences == []
    assert setup.engine.kinds() == ["refused:storage_lease_unknown"]
    assert setup.engine.power[setup.host.id] == "on"


def test_off_not_confirmed_fails_and_never_manual_fences(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on")
    setup.bmc.stuck.add("host04")
    outcome = one(setup.executor(), setup.fence(storage="lost"))
    assert outcome.result == "failed" and outcome.problem
    assert "did not confirm the power off" in outcome.detail and "its VMs are left alone" in outcome.detail
    assert setup.manual_fences == []
    assert setup.bmc.commands() == [("fence", "host04", "off")]  # no power on either
    assert setup.engine.kinds() == ["fence", "fence_failed"]


def test_unreachable_bmc_fails_and_never_manual_fences(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off")
    setup.bmc.unreachable.add("host04")
    outcome = one(setup.executor(), setup.fence(storage="lost"))
    assert outcome.result == "failed"
    assert "does not tell its power state" in outcome.detail
    assert setup.manual_fences == [] and setup.bmc.commands() == []
    assert setup.engine.kinds() == []


def test_host_answering_again_on_re_read_is_skipped(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on")
    setup.engine.set_status(setup.host, "up")
    outcome = one(setup.executor(), setup.fence(storage="lost"))
    assert outcome.result == "skipped" and not outcome.problem
    assert "now sees host04 up" in outcome.detail
    assert setup.bmc.calls == [] and setup.manual_fences == []


@pytest.mark.parametrize("status", ["up", "connecting"])
def test_host_answering_again_after_the_probe_is_not_powered_off(monkeypatch: Any, status: str) -> None:
    setup = Setup(monkeypatch, power="on")
    executor = setup.executor()
    action = setup.fence(storage="lost")
    assert executor.probe([action]) == []
    setup.engine.set_status(setup.host, status)  # the engine reaches it again before the fence runs
    [outcome] = executor.run([action])
    assert outcome.result == "skipped" and not outcome.problem
    assert outcome.detail == "the engine now sees host04 %s (it was non_responsive): nothing to fence" % status
    assert setup.bmc.commands() == [] and setup.manual_fences == []
    assert setup.power_reads == [("IPMI", "info", "host04")]  # the probe's only
    assert setup.engine.kinds() == []  # no fence record for a fence that did not happen
    assert setup.lease.checks == ["fence host host04"]


def test_host_powered_off_after_the_probe_is_not_powered_off_again(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on")
    executor = setup.executor()
    action = setup.fence(storage="lost")
    assert executor.probe([action]) == []
    setup.engine.power[setup.host.id] = "off"  # it lost its power meanwhile
    [outcome] = executor.run([action])
    assert outcome.result == "done", outcome.detail
    assert outcome.steps[0] == "power is off"
    assert setup.bmc.commands() == [("power", "host04", "on")]  # no power off: the BMC read under the lease said off
    assert len(setup.manual_fences) == 1
    assert setup.power_reads == [("IPMI", "info", "host04")] * 2
    [fence] = setup.engine.records("fence")
    assert "power off" in fence.event.description


def test_power_on_after_fence_can_be_turned_off(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off")
    outcome = one(setup.executor(ReconcilePolicy(power_on_after_fence=False)), setup.fence())
    assert outcome.result == "done"
    assert setup.bmc.commands() == [] and len(setup.manual_fences) == 1


def test_failed_power_on_is_a_warning(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off")
    executor = setup.executor()

    def no_power(targets: Any, request: Any, parallel: int = 8) -> List[Dict[str, Any]]:
        return [dict(targets[0].public(), failed=True, msg="BMC host04 refused power on")]

    monkeypatch.setattr("ansible_collections.ovirt_ha.core.plugins.module_utils._ha.executor.bulk.bmc_power", no_power)
    outcome = one(executor, setup.fence())
    assert outcome.result == "done" and len(setup.manual_fences) == 1
    assert executor.warnings == ["host host04 stays powered off: BMC host04 refused power on"]


# -- the run lease ------------------------------------------------------------------------------------

def test_lease_lost_skips_this_and_every_later_action(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off")
    vm = setup.engine.add_vm("web", setup.cluster, status="down", ha=True)
    setup.lease = StubLease(lose_at=1)
    outcomes = execute(setup.executor(), [setup.fence(), setup.start(vm, setup.up[0])])
    assert [o.result for o in outcomes] == ["skipped", "skipped"]
    assert "took a later run lease" in outcomes[0].detail
    assert outcomes[1].detail.startswith("not acting: ")
    assert setup.bmc.commands() == [] and setup.manual_fences == []
    assert ("POST", "vms/%s/start" % vm.id) not in setup.engine.requests
    assert setup.engine.kinds() == []


def test_lease_lost_after_the_power_off_stops_before_the_manual_fence(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on")
    setup.lease = StubLease(lose_at=3)  # fence host, power off, then the check before the manual fence
    outcome = one(setup.executor(), setup.fence(storage="lost"))
    assert outcome.result == "skipped"
    assert setup.bmc.commands() == [("fence", "host04", "off")]
    assert setup.manual_fences == []


# -- through the engine's power management ---------------------------------------------------------------

def test_engine_method_fences_through_the_engine_first(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on", pm=True)
    outcome = one(setup.executor(), setup.fence(storage="lost", method="engine"))
    assert outcome.result == "done", outcome.detail
    assert setup.path("status") in setup.engine.requests and setup.path("restart") in setup.engine.requests
    assert setup.bmc.calls == []  # the engine's agent told the power; no IPMI at all
    assert setup.manual_fences == []
    assert setup.engine.kinds() == ["fence", "engine_fence"]
    assert setup.power_reads == [setup.path("status")] * 2  # the probe's, and again under the lease


def test_engine_method_falls_back_to_ipmi_when_the_engines_fence_fails(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on", pm=True)
    setup.engine.fail_once[setup.path("restart")] = sdk.Error(
        "failed", code=409, fault=types.Fault(reason="Operation Failed", detail="[Fence agent failed]"))
    outcome = one(setup.executor(), setup.fence(storage="lost", method="engine"))
    assert outcome.result == "done", outcome.detail
    assert any(step.startswith("the engine's fence failed") for step in outcome.steps)
    timeline = setup.engine.timeline
    assert timeline.index(setup.path("restart")) < timeline.index(("IPMI", "fence", "host04", "off")) < \
        timeline.index(setup.path("manual"))
    assert setup.engine.kinds() == ["fence", "manual_fence"]


def test_engine_method_without_a_bmc_fails_when_the_engines_fence_fails(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="on", pm=True, bmcs=())
    setup.engine.fail_once[setup.path("restart")] = sdk.Error(
        "failed", code=409, fault=types.Fault(reason="Operation Failed", detail="[Fence agent failed]"))
    outcome = one(setup.executor(), setup.fence(storage="lost", method="engine"))
    assert outcome.result == "failed"
    assert "the inventory has no BMC for it" in outcome.detail
    assert setup.manual_fences == []


def test_engine_method_reads_the_bmc_when_the_engines_agent_cannot_tell(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch, power="off", pm=True)
    setup.engine.fail_once[setup.path("status")] = sdk.Error(
        "failed", code=409, fault=types.Fault(reason="Operation Failed", detail="[No proxy host]"))
    outcome = one(setup.executor(), setup.fence(method="engine"))
    assert outcome.result == "done", outcome.detail
    assert setup.bmc.calls[0] == ("info", "host04")
    assert len(setup.manual_fences) == 1


# -- starting HA VMs ----------------------------------------------------------------------------------------

def vm_setup(monkeypatch: Any, status: str = "down") -> Tuple[Setup, Any]:
    setup = Setup(monkeypatch)
    vm = setup.engine.add_vm("web", setup.cluster, status=status, ha=True)
    return setup, vm


def test_start_vm_starts_on_the_planned_host(monkeypatch: Any) -> None:
    setup, vm = vm_setup(monkeypatch)
    target = setup.up[1]
    outcome = one(setup.executor(), setup.start(vm, target))
    assert outcome.result == "done" and outcome.steps == ["started on host02"]
    assert setup.engine.started == {vm.id: target.id}
    assert setup.engine.kinds() == ["start"]
    assert setup.lease.checks == ["start VM web"]
    assert setup.lease.budgets == [ENGINE_CALL_BUDGET]  # a start is one engine call


def test_start_vm_skips_a_vm_that_is_no_longer_down(monkeypatch: Any) -> None:
    setup, vm = vm_setup(monkeypatch, status="up")
    outcome = one(setup.executor(), setup.start(vm, setup.up[0]))
    assert outcome.result == "skipped" and "now sees web up" in outcome.detail
    assert setup.engine.started == {} and setup.engine.kinds() == []


def test_start_vm_skips_when_the_picked_host_is_no_longer_up(monkeypatch: Any) -> None:
    setup, vm = vm_setup(monkeypatch)
    setup.engine.set_status(setup.up[0], "maintenance")
    outcome = one(setup.executor(), setup.start(vm, setup.up[0]))
    assert outcome.result == "skipped"
    assert outcome.detail == "the host picked for web, host01, is now maintenance"
    assert setup.engine.started == {}


def test_start_failure_is_recorded_as_start_failed(monkeypatch: Any) -> None:
    setup, vm = vm_setup(monkeypatch)
    setup.engine.fail_once[("POST", "vms/%s/start" % vm.id)] = sdk.Error(
        "failed", code=409, fault=types.Fault(reason="Operation Failed", detail="[Cannot run VM. There is no host]"))
    outcome = one(setup.executor(), setup.start(vm, setup.up[0], attempt=2))
    assert outcome.result == "failed" and outcome.problem
    assert "Cannot run VM" in outcome.detail
    assert setup.engine.kinds() == ["start", "start_failed"]
    assert [r.n for r in setup.engine.records()] == [2, 2]


def test_record_outage_posts_the_witnesses(monkeypatch: Any) -> None:
    setup = Setup(monkeypatch)
    action = Action("record_outage", "host04", setup.host.id, "first sight", (), {"episode": EPISODE, "witnesses": ["a", "b"]})
    executor = Executor(setup.engine.system_service(), audit_log(setup.engine, setup.cluster), None, ReconcilePolicy(), {})
    [outcome] = executor.run([action])
    assert outcome.result == "done"
    [record] = setup.engine.records("outage")
    assert (record.ref, record.episode, record.fields["witnesses"]) == (setup.host.id, EPISODE, "a,b")


def test_a_powered_on_host_another_reconciler_is_fencing_is_skipped_not_refused(monkeypatch: Any) -> None:
    """Two reconcilers read the same dead host; the first fences it and powers it on again before the second probes:
    the second sees power on, finds the first one's record of this very attempt, and stands down quietly."""
    setup = Setup(monkeypatch, power="on")
    first = Executor(setup.engine.system_service(), audit_log(setup.engine, setup.cluster), StubLease(), ReconcilePolicy(),
                     setup.targets)
    first.record("fence", setup.host.id, EPISODE, "another reconciler's attempt", n=1, host_id=setup.host.id)
    outcome = one(setup.executor(), setup.fence(storage="unknown"))
    assert (outcome.result, outcome.detail) == ("skipped", "another reconciler started fencing host04 after this run read the cluster")
    assert setup.engine.kinds() == ["fence"]  # no refusal recorded, no power command, no manual fence
    assert setup.bmc.commands() == [] and setup.manual_fences == []
