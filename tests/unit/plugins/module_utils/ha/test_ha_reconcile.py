"""reconcile() end to end against the fake engine: the six reads, the lease, the records, check mode, request counts."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import ovirtsdk4 as sdk
import pytest
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha import engine_view
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha import reconcile as reconcile_module
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.lease import STALE_RETRIES, RunLease
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.options import build_request
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.read import READ_REQUESTS, event_search, host_model, read_snapshot
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.reconcile import Request, reconcile
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, custom_id, tag
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi import bulk
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FenceRequest
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.fake_ha_engine import (
    GIB, FakeBmcs, HaEngine, audit_log, bmc_target, when)

FENCING = types.FencingPolicy(enabled=True, skip_if_sd_active=types.SkipIfSdActive(enabled=False),
                              skip_if_connectivity_broken=types.SkipIfConnectivityBroken(enabled=False, threshold=50))


class Lab:
    """host01-03 up; host04 non responsive for 10 minutes and the engine said it has no power management (9027)."""

    def __init__(self, monkeypatch: Any, power: str = "off") -> None:
        self.engine = HaEngine()
        self.cluster = self.engine.add_cluster("Default", fencing_policy=FENCING)
        self.up = [self.engine.add_host("host%02d" % n, self.cluster) for n in (1, 2, 3)]
        self.dead = self.engine.add_host("host04", self.cluster, status="non_responsive", power=power)
        self.web = self.engine.add_vm("web", self.cluster, status="unknown", ha=True, host=self.dead)
        self.engine.add_event(9008, 600, "Host host04 is not responding.", host=self.dead)
        self.engine.add_event(12, 580, "Host host04 is non responsive.", host=self.dead)
        self.engine.add_event(9027, 570, "Host host04 is not responding. Host cannot be fenced automatically.", host=self.dead)
        self.engine.add_event(30, 500, "an event the reconciler does not read", host=self.up[0])
        self.bmc = FakeBmcs(self.engine).install(monkeypatch)

    def request(self, *, check_mode: bool = False, bmcs: Optional[List[str]] = None,
                policy: Optional[ReconcilePolicy] = None) -> Request:
        names = ["host04"] if bmcs is None else bmcs
        return Request(cluster="Default", policy=policy or ReconcilePolicy(), bmcs={n: bmc_target(n) for n in names},
                       holder="ctl-a:1", check_mode=check_mode)

    def run(self, **kwargs: Any) -> Dict[str, Any]:
        return self.run_request(self.request(**kwargs))

    def request_with(self, **changes: Any) -> Request:
        return dataclasses.replace(self.request(), **changes)

    def run_request(self, request: Request) -> Dict[str, Any]:
        return reconcile(self.engine.system_service(), request, list(request.bmcs))

    @property
    def writes(self) -> List[tuple]:
        return [r for r in self.engine.requests if r[0] != "GET" and not r[1].endswith("fence:status")]


# -- the read ----------------------------------------------------------------------------------------

def test_snapshot_is_six_requests_whatever_the_size(monkeypatch: Any) -> None:
    counts = []
    for extra in (0, 40):
        lab = Lab(monkeypatch)
        for n in range(extra):
            host = lab.engine.add_host("big%03d" % n, lab.cluster)
            lab.engine.add_vm("vm%03d" % n, lab.cluster, host=host, ha=n % 2 == 0)
        snapshot = read_snapshot(lab.engine.system_service(), "Default")
        counts.append((snapshot.requests, len(lab.engine.requests)))
    assert counts == [(READ_REQUESTS, READ_REQUESTS), (READ_REQUESTS, READ_REQUESTS)]


def test_snapshot_reads_the_model(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    snapshot = read_snapshot(lab.engine.system_service(), "Default")
    assert snapshot.now == lab.engine.now
    assert [(h.name, h.status) for h in snapshot.hosts][-1] == ("host04", "non_responsive")
    assert [e.code for e in snapshot.events] == [9008, 12, 9027]  # oldest first, only the codes it asked for
    assert snapshot.vms_by_id[lab.web.id].host_id == lab.dead.id
    assert ("GET", "events") in lab.engine.requests


def test_an_engine_refusing_the_event_search_costs_one_more_request(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    lab.engine.fail_once[("GET", "events")] = sdk.Error(
        "bad", code=400, fault=types.Fault(reason="Invalid search", detail="[Search term not supported]"))
    snapshot = read_snapshot(lab.engine.system_service(), "Default")
    assert snapshot.requests == READ_REQUESTS + 1 == len(lab.engine.requests)
    assert 30 in [e.code for e in snapshot.events]  # unfiltered: every event of the window


def test_an_engine_refusing_follow_costs_one_more_request_and_agents_are_unknown(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    lab.engine.follow_error = sdk.Error("bad", code=400, fault=types.Fault(reason="Bad request", detail="[follow]"))
    snapshot = read_snapshot(lab.engine.system_service(), "Default")
    assert snapshot.requests == READ_REQUESTS + 1 == len(lab.engine.requests)
    assert {h.fence_agents for h in snapshot.hosts} == {None}


@pytest.mark.parametrize("max_scheduling, expected", [(0, 0), (None, 0), (16 * GIB, 16 * GIB)])
def test_a_full_host_reads_as_full(max_scheduling: Optional[int], expected: int) -> None:
    host = types.Host(id="h1", name="host01", status=types.HostStatus.UP, memory=64 * GIB, max_scheduling_memory=max_scheduling,
                      power_management=types.PowerManagement(enabled=False), spm=types.Spm(status=types.SpmStatus.NONE))
    model = host_model(host)
    assert (model.max_scheduling_memory, model.memory) == (expected, 64 * GIB)


def test_request_count_of_a_cluster_without_hosts() -> None:
    engine = HaEngine()
    engine.add_cluster("Empty")
    snapshot = read_snapshot(engine.system_service(), "Empty")
    assert snapshot.requests == len(engine.requests) == READ_REQUESTS
    assert snapshot.hosts == []


def test_the_event_search_asks_for_every_code_the_planner_reads() -> None:
    asked = event_search().split(" or ")
    # every code engine_view.py decides on
    read = [engine_view.CONNECTING, engine_view.NON_RESPONSIVE, engine_view.UP_AGAIN, engine_view.MANUAL_FENCE,
            *engine_view.FENCE_STARTED, engine_view.FENCE_RESTARTED, *engine_view.FENCE_FAILED, engine_view.NO_PM,
            engine_view.NO_PROXY, engine_view.STARTUP_SKIP, engine_view.POLICY_CONNECTIVITY, engine_view.POLICY_SD_ACTIVE,
            engine_view.POLICY_DISABLED, engine_view.VM_DOWN_ERROR, engine_view.VM_FENCED_DOWN, engine_view.HA_FAILED,
            engine_view.HA_RESTART_FAILED, engine_view.USER_STOP, engine_view.USER_SHUTDOWN, engine_view.GUEST_DOWN,
            *engine_view.VM_STARTED]
    for code in read + [494, 61, 32, 153]:
        assert "type=%d" % code in asked, code
    assert asked[0] == "origin=ovirt_ha.core"  # and our own records


# -- check mode -----------------------------------------------------------------------------------------

def test_check_mode_takes_no_lease_posts_nothing_and_returns_the_same_plan(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    checked = lab.run(check_mode=True)
    assert [a["kind"] for a in checked["plan"]["actions"]] == ["record_outage", "fence_host"]
    assert checked["lease"] == {"state": "check_mode", "holder": "ctl-a:1"}
    assert checked["actions"] == []
    assert checked["changed"] is True  # check mode reports what a real run would change: it would fence host04
    assert lab.writes == [] and lab.bmc.calls == []
    assert checked["api_requests"] == len(lab.engine.requests) == READ_REQUESTS
    real = lab.run()
    assert real["plan"] == checked["plan"]


# -- a real run ------------------------------------------------------------------------------------------

def test_real_run_fences_under_the_lease_and_records_everything(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="off")
    result = lab.run()
    assert [(a["kind"], a["result"]) for a in result["actions"]] == [("record_outage", "done"), ("fence_host", "done")]
    assert result["changed"] is True and result["problems"] == []
    assert lab.engine.kinds() == ["lease", "outage", "fence", "manual_fence", "release"]
    assert result["lease"]["state"] == "released" and result["lease"]["generation"] == 1
    assert ("POST", "hosts/%s/fence:manual" % lab.dead.id) in lab.engine.requests
    assert lab.bmc.commands() == [("power", "host04", "on")]
    assert result["api_requests"] == len(lab.engine.requests)
    assert result["summary"]["hosts_unreachable"] == ["host04"] and result["summary"]["ha_vms_unknown"] == ["web"]


def test_the_next_run_waits_for_the_fenced_host(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="off")
    lab.run()
    lab.engine.set_status(lab.dead, "non_responsive")  # still booting
    lab.engine.vms[lab.web.id].status = types.VmStatus.UP  # the engine restarted it after the manual fence
    lab.engine.vms[lab.web.id].host = types.Host(id=lab.up[0].id)
    lab.engine.now += 60
    again = lab.run()
    assert again["plan"]["actions"] == []
    [note] = [s for s in again["findings"] if s["target"] == "host04"]
    assert note["status"] == "waiting" and note["reason"].startswith("fenced by the reconciler 60 s ago")
    assert again["problems"] == [] and again["lease"]["state"] == "not_needed"


def test_a_powered_on_host_is_fenced_once_its_leased_vm_runs_elsewhere(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="on")
    data = lab.engine.add_storage_domain("data1")
    lab.engine.vms[lab.web.id].lease = types.StorageDomainLease(storage_domain=types.StorageDomain(id=data.id))
    first = lab.run()
    assert [(a["kind"], a["result"]) for a in first["actions"]] == [("record_outage", "done"), ("fence_host", "refused")]
    assert lab.engine.records("outage")[0].fields["witnesses"] == lab.web.id
    # sanlock let the lease go: the engine ran web on host01
    lab.engine.vms[lab.web.id].status = types.VmStatus.UP
    lab.engine.vms[lab.web.id].host = types.Host(id=lab.up[0].id)
    lab.engine.now += 30
    second = lab.run()
    [fence] = [a for a in second["plan"]["actions"] if a["kind"] == "fence_host"]
    assert fence["params"]["storage"] == "lost"
    assert [a["result"] for a in second["actions"]] == ["done"]
    assert lab.bmc.commands() == [("fence", "host04", "off"), ("power", "host04", "on")]
    timeline = lab.engine.timeline
    assert timeline.index(("IPMI", "fence", "host04", "off")) < timeline.index(("POST", "hosts/%s/fence:manual" % lab.dead.id))
    assert second["problems"] == []


def test_a_host_refused_by_the_probe_does_not_starve_the_next_one(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="off")
    heavy = lab.engine.add_host("host05", lab.cluster, status="non_responsive", power="on")
    lab.engine.add_vm("db", lab.cluster, status="unknown", ha=True, priority=90, host=heavy)  # fenced first by HA weight
    for code, ago in ((9008, 600), (12, 580), (9027, 570)):
        lab.engine.add_event(code, ago, host=heavy)
    results = []
    for _run in range(3):
        results.append(lab.run(bmcs=["host04", "host05"]))
        lab.engine.now += 60
    first, second, _third = results
    assert [(a["kind"], a["target"], a["result"]) for a in first["actions"] if a["kind"] == "fence_host"] == [
        ("fence_host", "host05", "refused")]
    # the next run refuses host05 from the executor's record, without taking the budget, and fences host04
    [refusal] = [s for s in second["findings"] if s["target"] == "host05"]
    assert (refusal["status"], refusal["rule"]) == ("refused", "storage_lease_unknown")
    assert [(a["target"], a["result"]) for a in second["actions"] if a["kind"] == "fence_host"] == [("host04", "done")]
    assert lab.engine.requests.count(("POST", "hosts/%s/fence:manual" % lab.dead.id)) == 1
    assert ("POST", "hosts/%s/fence:manual" % heavy.id) not in lab.engine.requests
    assert lab.bmc.commands() == [("power", "host04", "on")]  # host05 was never powered off
    assert lab.engine.kinds().count("refused:storage_lease_unknown") == 1  # recorded once for the outage


def test_a_host_refused_again_after_its_backoff_does_not_starve_a_host_that_died_later(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="off")
    lab.engine.set_status(lab.dead, "up")  # host04 is fine for now
    lab.engine.add_event(13, 500, "Host host04 is up again.", host=lab.dead)
    lab.engine.vms[lab.web.id].status = types.VmStatus.UP
    heavy = lab.engine.add_host("host05", lab.cluster, status="non_responsive", power="on")
    lab.engine.add_vm("db", lab.cluster, status="unknown", ha=True, priority=90, host=heavy)
    for code, ago in ((9008, 600), (12, 580), (9027, 570)):
        lab.engine.add_event(code, ago, host=heavy)
    lab.run(bmcs=["host04", "host05"])  # host05 refused by the probe: powered on, no evidence
    lab.engine.now += 360  # past the back-off: host05 is tried again (it may be off by now) ...
    lab.run(bmcs=["host04", "host05"])  # ... and refused again: still powered on
    # host04 dies now; from here on host05's refusal must not take the fence budget again before its back-off
    lab.engine.set_status(lab.dead, "non_responsive")
    for code, ago in ((9008, 600), (12, 580), (9027, 570)):
        lab.engine.add_event(code, ago, host=lab.dead)
    lab.engine.now += 60
    result = lab.run(bmcs=["host04", "host05"])
    [refusal] = [s for s in result["findings"] if s["target"] == "host05"]
    assert (refusal["status"], refusal["rule"]) == ("refused", "storage_lease_unknown")
    assert ("POST", "hosts/%s/fence:manual" % lab.dead.id) in lab.engine.requests


def test_a_bmc_entry_for_a_host_not_in_the_cluster_fails_before_any_post(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    request = lab.request(bmcs=["host04", "host99"])
    with pytest.raises(InputError) as info:
        reconcile(lab.engine.system_service(), request, ["host04", "host99"])
    assert info.value.field == "bmcs[1].name"
    assert "host01, host02, host03, host04" in str(info.value)
    assert lab.writes == [] and lab.bmc.calls == []


def test_problems_when_a_rule_refuses_and_the_refusal_is_recorded_once(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    result = lab.run(bmcs=[])
    assert result["problems"] == ["host host04: the engine cannot fence it: no power management configured (event 9027), "
                                  "and the inventory gives no BMC for it (bmc_address ...)",
                                  "vm web: unknown on its host host04: the engine cannot fence it: no power management "
                                  "configured (event 9027), and the inventory gives no BMC for it (bmc_address ...)"]
    assert lab.engine.kinds() == ["outage", "refused:bmc_known"]
    assert result["lease"]["state"] == "not_needed"
    assert result["api_requests"] == len(lab.engine.requests)
    lab.run(bmcs=[])
    assert lab.engine.kinds() == ["outage", "refused:bmc_known"]  # not again


def test_a_powered_on_host_without_evidence_is_refused_without_a_lease(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="on")
    result = lab.run()
    fence = next(a for a in result["actions"] if a["kind"] == "fence_host")
    assert fence["result"] == "refused"
    assert any(p.startswith("fence_host host04 refused: host04 is powered on") for p in result["problems"])
    assert "lease" not in lab.engine.kinds()
    assert lab.bmc.commands() == [] and ("POST", "hosts/%s/fence:manual" % lab.dead.id) not in lab.engine.requests
    assert result["api_requests"] == len(lab.engine.requests)


def test_a_busy_lease_skips_the_destructive_actions(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="off")
    other = RunLease(audit_log(lab.engine, lab.cluster), "ctl-b:2")
    other.acquire(read_snapshot(lab.engine.system_service(), "Default"), lab.engine.memory())
    lab.engine.requests.clear()
    result = lab.run()
    assert [(a["kind"], a["result"]) for a in result["actions"]] == [("record_outage", "done"), ("fence_host", "skipped")]
    assert result["lease"]["state"] == "busy" and result["lease"]["other"]["holder"] == "ctl-b:2"
    assert any("ctl-b:2" in w for w in result["run_warnings"])
    assert ("POST", "hosts/%s/fence:manual" % lab.dead.id) not in lab.engine.requests
    assert lab.bmc.commands() == []
    assert result["api_requests"] == len(lab.engine.requests)


def test_a_lease_lost_mid_fence_stops_before_the_manual_fence_and_is_a_problem(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch, power="on")
    data = lab.engine.add_storage_domain("data1")
    lab.engine.vms[lab.web.id].lease = types.StorageDomainLease(storage_domain=types.StorageDomain(id=data.id))
    lab.run()  # records the outage with web as its witness; refuses the powered-on host
    lab.engine.vms[lab.web.id].status = types.VmStatus.UP
    lab.engine.vms[lab.web.id].host = types.Host(id=lab.up[0].id)

    def another_reconciler_takes_over() -> None:
        log = audit_log(lab.engine, lab.cluster)
        generation = max(r.episode for r in lab.engine.records("lease")) + 1
        log.post("lease", lab.cluster.id, generation, "taken by ctl-b", holder="other-token",
                 expires="%d" % (lab.engine.now + 120), run="ctl-b:2")

    lab.bmc.during_fence = another_reconciler_takes_over
    result = lab.run()
    assert [a["result"] for a in result["actions"]] == ["skipped"]
    assert ("POST", "hosts/%s/fence:manual" % lab.dead.id) not in lab.engine.requests
    assert result["lease"]["state"] == "lost"
    assert "the run lease was lost mid-run; the remaining actions were not taken" in result["problems"]
    assert "release" not in lab.engine.kinds()


def test_check_mode_of_a_plan_without_a_destructive_action_changes_nothing(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    result = lab.run(check_mode=True, bmcs=[])  # no BMC for host04: only the outage would be recorded
    assert [a["kind"] for a in result["plan"]["actions"]] == ["record_outage"]
    assert result["changed"] is False and lab.writes == []


def test_healthy_cluster_posts_nothing(monkeypatch: Any) -> None:
    lab = Lab(monkeypatch)
    lab.engine.set_status(lab.dead, "up")
    lab.engine.vms[lab.web.id].status = types.VmStatus.UP
    result = lab.run()
    assert result["problems"] == [] and result["plan"]["actions"] == [] and result["findings"] == []
    assert lab.writes == []
    assert result["api_requests"] == READ_REQUESTS == len(lab.engine.requests)


@pytest.mark.parametrize("bmc_timeout, confirm_timeout", [(15.0, 60.0), (30.0, 300.0), (5.0, 5.0)])
def test_the_lease_covers_the_longest_power_off(monkeypatch: Any, bmc_timeout: float, confirm_timeout: float) -> None:
    leases: List[RunLease] = []

    class Recorded(RunLease):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            leases.append(self)

    monkeypatch.setattr(reconcile_module, "RunLease", Recorded)
    lab = Lab(monkeypatch)
    # the request as ha_reconcile builds it from its options
    request, order = build_request({
        "cluster": "Default", "bmcs": [{"name": "host04", "address": "192.0.2.4"}], "bmc_port": 623, "bmc_username": "admin",
        "bmc_password": "bmc-secret", "bmc_timeout": bmc_timeout, "policy": {"confirm_timeout": confirm_timeout},
        "lease": {"ttl": 3600.0, "holder": "ctl-a:1"}, "event_window": 2000}, False)
    result = reconcile(lab.engine.system_service(), request, order)
    assert [a["result"] for a in result["actions"]] == ["done", "done"]
    longest = bulk._fence_budget((request.bmcs["host04"], FenceRequest(action="off",
                                                                       power_timeout=request.policy.confirm_timeout)))
    [lease] = leases
    assert lease.action_budget >= longest
    assert lease.ttl >= lease.action_budget + 30


def test_a_lease_nobody_holds_but_that_cannot_be_taken_is_a_problem(monkeypatch: Any) -> None:
    lab = unavailable_lease_lab(monkeypatch)
    result = lab.run_request(lab.request_with(event_window=3))  # the window holds host04's 9008, 12, 9027 only
    assert result["lease"]["state"] == "unavailable"
    assert "the run lease could not be taken although nobody seems to hold it; nothing was done" in result["problems"]
    assert "%d generations in a row were taken by leases that are over" % STALE_RETRIES in result["lease_error"]
    assert any("%d generations in a row" % STALE_RETRIES in w for w in result["run_warnings"])
    assert [(a["kind"], a["result"]) for a in result["actions"]] == [("record_outage", "done"), ("fence_host", "skipped")]
    assert result["changed"] is False
    assert lab.bmc.commands() == [] and ("POST", "hosts/%s/fence:manual" % lab.dead.id) not in lab.engine.requests
    assert result["api_requests"] == len(lab.engine.requests)


def test_actions_skipped_for_an_unavailable_lease_do_not_blame_another_reconciler(monkeypatch: Any) -> None:
    lab = unavailable_lease_lab(monkeypatch)
    result = lab.run_request(lab.request_with(event_window=3))
    [fence] = [a for a in result["actions"] if a["kind"] == "fence_host"]
    assert fence["result"] == "skipped"
    assert "another reconciler" not in fence["detail"]


def unavailable_lease_lab(monkeypatch: Any) -> "Lab":
    """Lease records of the cluster before it was renamed Default take the next STALE_RETRIES generations' custom ids;
    they are older than the snapshot's event window, and the lease search (by the cluster's name) misses them."""
    lab = Lab(monkeypatch, power="off")
    stale = []
    for generation in range(1, STALE_RETRIES + 1):
        stale.append(types.Event(
            origin=ORIGIN, time=when(lab.engine.now - 86400),
            custom_id=custom_id(lab.cluster.id, "lease", lab.cluster.id, generation),
            description="ovirt_ha.core run lease of cluster Old taken by ctl-old:9 (generation %d, expires in 120 s) %s" % (
                generation, tag("lease", lab.cluster.id, generation, holder="old", expires="%d" % (lab.engine.now - 86000),
                                run="ctl-old:9"))))
    newer = lab.engine.events[:]
    lab.engine.events.clear()
    for event in stale + newer:
        lab.engine.store(event)  # the stale records first: the oldest of the log
    return lab
