"""The pure planner, hosts: when the engine gave up, when it is still acting, and every safety rule that refuses."""
from __future__ import annotations

import random
from typing import Any, Optional

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.engine_view import outage, stance, storage_evidence
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Host, Policy
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.planner import Plan
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import Memory
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.ha_world import (
    FENCE_FAILED, FENCE_PROXY_OP, FENCE_STARTED, LOCK_BUSY, NO_PM, NO_PROXY, NOT_VERIFIED, POLICY_CONNECTIVITY,
    POLICY_DISABLED, POLICY_SD_ACTIVE, RESTART_FAILED, RESTARTED, STARTUP_SKIP, VM_DOWN_ERROR, World, actions, fences,
    finding, he_info, invariant)


def cluster(dead_ago: float = 600, code: Optional[int] = NO_PM, up: int = 3, **host: Any) -> World:
    """``up`` hosts up and host04 non responsive for ``dead_ago`` s, then the engine's ``code``."""
    world = World()
    world.up_hosts(up)
    world.dead_host("host04", ago=dead_ago, code=code, **host)
    return world


def with_pm(world: World, name: str = "host04") -> Host:
    """Give ``name`` power management with one fence agent (what the engine needs to fence it itself)."""
    host = next(h for h in world.hosts if h.name == name)
    return world.replace_host(host, pm_enabled=True, fence_agents=1)


def assert_waiting(world: World, text: str, target: str = "host04", **kwargs: Any) -> None:
    result = world.plan(**kwargs)
    assert fences(result) == {}
    assert result.destructive == []
    note = finding(result, target)
    assert (note.status, note.problem, note.rule) == ("waiting", False, "")
    assert text in note.reason
    assert result.problems == []


def assert_refused(result: Plan, rule: str, status: str = "refused", target: str = "host04") -> str:
    assert target not in fences(result)
    note = finding(result, target)
    assert (note.status, note.rule, note.problem) == (status, rule, True)
    assert note in result.problems
    return note.reason


# -- the engine gave up: one fence ------------------------------------------------------------------

def test_no_power_management_fences_over_ipmi() -> None:
    world = cluster(code=NO_PM)
    result = world.plan()
    [fence] = result.destructive
    assert fence.kind == "fence_host" and (fence.target, fence.target_id) == ("host04", "id-host04")
    assert fence.reason == "the engine cannot fence it: no power management configured (event 9027)"
    assert fence.params["method"] == "ipmi"
    assert fence.params["storage"] == "unknown"
    assert fence.params["storage_reason"] == "no HA VM with a storage lease ran on it to show whether it still writes to storage"
    assert fence.params["episode"] == int(world.at(600))
    assert fence.params["attempt"] == 1
    assert result.problems == []
    assert invariant(result, "fence_budget") == {"rule": "fence_budget", "holds": True,
                                                 "detail": "1 host(s) to fence in this run, budget 1"}


def test_fence_lists_the_vms_still_on_the_host() -> None:
    world = cluster()
    dead = world.hosts[-1]
    world.vm("db", "unknown", dead)
    world.vm("batch", "unknown", dead, ha=False)
    world.vm("gone", "down", None)
    assert sorted(fences(world.plan())["host04"].params["vms"]) == ["batch", "db"]


@pytest.mark.parametrize("search_ago, fenced", [(100, False), (121, True)])
def test_no_proxy_is_given_up_only_after_the_proxy_search(search_ago: float, fenced: bool) -> None:
    world = cluster(code=None)
    world.event(NO_PROXY, search_ago, world.hosts[-1])
    result = world.plan()
    if fenced:
        assert fences(result)["host04"].reason == "the engine found no proxy host to fence it through (event 9004)"
    else:
        assert fences(result) == {}
        assert "looking for a fence proxy" in finding(result, "host04").reason


@pytest.mark.parametrize("failure", [FENCE_FAILED, RESTART_FAILED, NOT_VERIFIED])
def test_a_failed_engine_fence_is_given_up_and_never_retried_through_the_engine(failure: int) -> None:
    world = cluster(code=FENCE_STARTED)
    with_pm(world)
    world.event(failure, 500, world.hosts[-1])
    fence = fences(world.plan())["host04"]
    assert fence.reason.startswith("the engine's power fence failed at 500 s ago (event %d)" % failure)
    assert fence.params["method"] == "ipmi"


@pytest.mark.parametrize("skip_ago, fenced", [(329, False), (331, True)])
def test_startup_skip_is_given_up_only_after_the_startup_window(skip_ago: float, fenced: bool) -> None:
    world = cluster(dead_ago=skip_ago + 30, code=STARTUP_SKIP)
    result = world.plan()
    if fenced:
        assert "skipped fencing during its start-up" in fences(result)["host04"].reason
    else:
        assert fences(result) == {}
        assert "first 300 s" in finding(result, "host04").reason


@pytest.mark.parametrize("timeout, non_responsive_ago, fenced", [
    (300, 299, False), (300, 301, True), (600, 590, False), (600, 601, True)])
def test_silence_is_given_up_after_engine_fence_timeout(timeout: float, non_responsive_ago: float, fenced: bool) -> None:
    world = cluster(dead_ago=non_responsive_ago + 20, code=None)  # 12 comes 20 s after 9008
    result = world.plan(ReconcilePolicy(engine_fence_timeout=timeout))
    if fenced:
        assert fences(result)["host04"].reason == "the engine did nothing about it for %d s" % non_responsive_ago
    else:
        assert "may still soft-fence or fence" in finding(result, "host04").reason


# -- which fence method ---------------------------------------------------------------------------

@pytest.mark.parametrize("pm, agents, method", [(True, 1, "engine"), (True, 0, "ipmi"), (True, None, "ipmi"),
                                                (False, 1, "ipmi")])
def test_engine_method_needs_power_management_and_agents(pm: bool, agents: Optional[int], method: str) -> None:
    world = cluster(dead_ago=400, code=None, pm_enabled=pm, fence_agents=agents)
    assert fences(world.plan())["host04"].params["method"] == method


def test_engine_method_after_the_engine_fence_started_and_never_finished() -> None:
    world = cluster(dead_ago=700, code=FENCE_STARTED)
    with_pm(world)
    fence = fences(world.plan())["host04"]
    assert fence.reason.startswith("the engine's fence started") and fence.reason.endswith("and never finished")
    assert fence.params["method"] == "engine"


def test_fence_method_ipmi_policy_never_uses_the_engine() -> None:
    world = cluster(dead_ago=400, code=None, pm_enabled=True, fence_agents=2)
    assert fences(world.plan(ReconcilePolicy(fence_method="ipmi")))["host04"].params["method"] == "ipmi"


# -- the engine is still acting: nothing, not a problem ----------------------------------------------

def test_connecting_host_is_left_to_the_grace_period() -> None:
    world = World()
    world.up_hosts(3)
    host = world.host("host04", "connecting")
    world.event(9008, 10, host)
    assert_waiting(world, "grace period")


def test_within_the_soft_fence_window() -> None:
    assert_waiting(cluster(dead_ago=70, code=None), "may still soft-fence")


@pytest.mark.parametrize("code", [FENCE_STARTED, FENCE_PROXY_OP])
def test_a_fence_started_without_outcome(code: int) -> None:
    world = cluster(dead_ago=200, code=code)
    assert_waiting(world, "the engine is fencing the host (started 170 s ago)")


def test_restarted_by_the_engine_within_the_reboot_window() -> None:
    world = cluster(dead_ago=400, code=FENCE_STARTED)
    world.event(RESTARTED, 300, world.hosts[-1])
    assert_waiting(world, "the engine restarted the host 300 s ago and waits for it to boot")


def test_restarted_by_the_engine_and_never_back_is_given_up() -> None:
    world = cluster(dead_ago=900, code=FENCE_STARTED)
    world.event(RESTARTED, 800, world.hosts[-1])
    assert fences(world.plan())["host04"].reason == "the engine restarted the host 800 s ago and it never came back"


def test_within_the_proxy_search_window() -> None:
    assert_waiting(cluster(dead_ago=90, code=NO_PROXY), "looking for a fence proxy")


def test_a_manual_fence_by_someone_else_is_left_alone() -> None:
    world = cluster(dead_ago=600)
    world.event(494, 200, world.hosts[-1], text="Manual fence for host host04 was started.")
    assert_waiting(world, "manual fence, event 494")


def test_witnesses_are_recorded_at_first_sight_while_connecting() -> None:
    world = World()
    world.up_hosts(3)
    host = world.host("host04", "connecting")
    world.event(9008, 10, host)
    world.vm("web", "up", host, lease_domain_id="id-data1")
    result = world.plan()
    assert [(a.kind, a.params["witnesses"]) for a in result.actions] == [("record_outage", ["id-web"])]


def test_no_event_yet_waits_for_the_outage_to_show() -> None:
    world = World()
    world.up_hosts(3)
    world.host("host04", "non_responsive")
    assert_waiting(world, "start of this outage is not in the engine's events yet")


def test_an_up_event_ends_the_outage() -> None:
    world = World()
    world.up_hosts(3)
    host = world.host("host04", "non_responsive")
    world.went_non_responsive(host, 3000)
    world.event(NO_PM, 2900, host)
    world.event(13, 2800, host)
    world.went_non_responsive(host, 60)  # a new outage, 60 s old: the old 9027 no longer counts
    assert_waiting(world, "may still soft-fence")


# -- safety rules ------------------------------------------------------------------------------------

def test_global_maintenance_refuses() -> None:
    world = cluster()
    world.replace_host(world.hosts[0], hosted_engine=he_info(global_maintenance=True))
    result = world.plan()
    assert "global maintenance" in assert_refused(result, "global_maintenance")
    assert invariant(result, "no_global_maintenance")["holds"] is False


def test_connectivity_threshold_refuses_at_the_share() -> None:
    world = World()
    world.up_hosts(2)
    world.dead_host("host03")
    world.dead_host("host04")
    result = world.plan()
    for name in ("host03", "host04"):
        reason = assert_refused(result, "connectivity_threshold", target=name)
        assert reason.startswith("50 % of the cluster's hosts are unreachable (threshold 50 %)")
    assert invariant(result, "connectivity_threshold") == {
        "rule": "connectivity_threshold", "holds": False, "detail": "2 of 4 hosts unreachable (50 %), threshold 50 %"}


def test_connecting_hosts_count_in_the_share() -> None:
    world = World()
    world.up_hosts(2)
    world.event(9008, 10, world.host("host03", "connecting"))
    world.dead_host("host04")
    assert_refused(world.plan(), "connectivity_threshold")


@pytest.mark.parametrize("threshold, fenced", [(34, True), (33, False)])
def test_share_is_the_engines_integer_percent(threshold: int, fenced: bool) -> None:
    world = cluster(up=2)  # 1 of 3 = 33 %
    result = world.plan(ReconcilePolicy(connectivity_threshold=threshold))
    assert bool(fences(result)) is fenced


@pytest.mark.parametrize("enabled, cluster_threshold, policy_threshold, refused, shown", [
    (True, 40, 50, True, 40),    # the cluster's own threshold is stricter
    (False, 40, 50, False, 50),  # ... but only when skip-if-connectivity-broken is on
    (True, 60, 30, True, 30),    # the policy's is stricter
    (True, 60, 50, False, 50),
])
def test_cluster_threshold_applies_when_stricter(enabled: bool, cluster_threshold: int, policy_threshold: int,
                                                 refused: bool, shown: int) -> None:
    world = World(fencing=Policy(skip_if_connectivity_broken=enabled, threshold=cluster_threshold))
    world.up_hosts(3)
    world.dead_host("host04")
    world.dead_host("host05")  # 2 of 5 = 40 %
    result = world.plan(ReconcilePolicy(connectivity_threshold=policy_threshold, fence_budget=2))
    assert invariant(result, "connectivity_threshold")["detail"] == (
        "2 of 5 hosts unreachable (40 %%), threshold %d %%" % shown)
    if refused:
        assert "(threshold %d %%)" % shown in assert_refused(result, "connectivity_threshold")
    else:
        assert sorted(fences(result)) == ["host04", "host05"]


def test_last_up_host_is_never_fenced() -> None:
    world = World()
    world.host("host01", "maintenance")
    world.host("host02", "maintenance")
    world.dead_host("host03")
    assert "never fence the last host" in assert_refused(world.plan(), "last_up_host", target="host03")


def test_hosted_engine_vm_host_is_left_to_the_agents() -> None:
    world = cluster()
    world.vm("HostedEngine", "unknown", world.hosts[-1], ha=False, hosted_engine=True)
    assert "hosted-engine agents" in assert_refused(world.plan(), "engine_vm_host")


def test_no_bmc_in_the_inventory_blocks() -> None:
    result = cluster().plan(bmcs=["host01"])
    reason = assert_refused(result, "bmc_known", status="blocked")
    assert reason == "the engine cannot fence it: no power management configured (event 9027), and the inventory gives " \
                     "no BMC for it (bmc_address ...)"


def test_host_with_engine_power_management_needs_no_bmc_entry() -> None:
    world = cluster(dead_ago=400, code=None, pm_enabled=True, fence_agents=1)
    result = world.plan(bmcs=[])
    fence = fences(result)["host04"]
    assert fence.params["method"] == "engine"
    assert result.problems == []


@pytest.mark.parametrize("failure", [FENCE_FAILED, RESTART_FAILED, NOT_VERIFIED])
def test_without_a_bmc_a_failed_engine_fence_blocks(failure: int) -> None:
    world = cluster(code=FENCE_STARTED)
    with_pm(world)
    world.event(failure, 500, world.hosts[-1])
    reason = assert_refused(world.plan(bmcs=[]), "bmc_known", status="blocked")
    assert reason.startswith("the engine's power fence failed")
    assert reason.endswith("the inventory gives no BMC for it (bmc_address ...)")


def test_without_a_bmc_no_power_management_event_blocks_even_with_agents() -> None:
    world = cluster(code=NO_PM)
    with_pm(world)
    assert_refused(world.plan(bmcs=[]), "bmc_known", status="blocked")


@pytest.mark.parametrize("pm, agents, fence_method", [(True, 0, "engine_then_ipmi"), (True, None, "engine_then_ipmi"),
                                                      (False, 1, "engine_then_ipmi"), (True, 1, "ipmi")])
def test_without_a_bmc_the_engine_must_be_able_to_fence(pm: bool, agents: Optional[int], fence_method: str) -> None:
    world = cluster(dead_ago=400, code=None, pm_enabled=pm, fence_agents=agents)
    result = world.plan(ReconcilePolicy(fence_method=fence_method), bmcs=[])
    assert_refused(result, "bmc_known", status="blocked")


def two_dead(budget: int) -> Plan:
    world = World()
    world.up_hosts(3)
    world.dead_host("host04")
    heavy = world.dead_host("host05")
    world.vm("db", "unknown", heavy, priority=50)  # HA weight: fenced first, though its name sorts later
    return world.plan(ReconcilePolicy(fence_budget=budget))


def test_fence_budget_one_fences_the_host_with_most_ha_weight() -> None:
    result = two_dead(1)
    assert list(fences(result)) == ["host05"]
    reason = assert_refused(result, "fence_budget", status="waiting")
    assert reason == "the fence budget of this run (1) is used; next run"
    assert invariant(result, "fence_budget")["detail"] == "1 host(s) to fence in this run, budget 1"


def test_fence_budget_zero_fences_nothing() -> None:
    result = two_dead(0)
    assert fences(result) == {}
    for name in ("host04", "host05"):
        assert_refused(result, "fence_budget", status="waiting", target=name)


def test_fence_budget_two_fences_both() -> None:
    assert sorted(fences(two_dead(2))) == ["host04", "host05"]


def failed_attempts(count: int, last_ago: float, world: Optional[World] = None) -> World:
    """host04 with ``count`` failed fence attempts in this outage, the last ``last_ago`` s ago."""
    world = world or cluster(dead_ago=10000)
    episode = int(world.at(10000))
    for n in range(1, count + 1):
        world.record("fence", "id-host04", episode, last_ago + 100 * (count - n), n=n)
    return world


def test_max_fence_attempts_refuses() -> None:
    reason = assert_refused(failed_attempts(3, 5000).plan(), "fence_attempts")
    assert reason == "3 fence attempts in this outage already failed (policy.max_fence_attempts)"


def test_attempts_of_an_earlier_outage_do_not_count() -> None:
    world = cluster(dead_ago=600)
    for n in (1, 2, 3):
        world.record("fence", "id-host04", 1234, 5000, n=n)
    assert fences(world.plan())["host04"].params["attempt"] == 1


@pytest.mark.parametrize("count, last_ago, fenced", [
    (1, 299, False), (1, 301, True),   # 300 s after the first failure
    (2, 599, False), (2, 601, True),   # doubled after the second
])
def test_fence_backoff_doubles(count: int, last_ago: float, fenced: bool) -> None:
    result = failed_attempts(count, last_ago).plan()
    if fenced:
        assert fences(result)["host04"].params["attempt"] == count + 1
    else:
        reason = assert_refused(result, "fence_backoff", status="waiting")
        assert reason.startswith("the last fence attempt failed; next try in")


def test_live_lease_shown_by_a_lock_failure_refuses() -> None:
    world = cluster()
    web = world.vm("web", "unknown", world.hosts[-1], lease_domain_id="id-data1")
    world.event(VM_DOWN_ERROR, 30, world.hosts[0], web, LOCK_BUSY)
    reason = assert_refused(world.plan(), "storage_lease_live")
    assert reason == "its storage lease is live: sanlock refused web's lease elsewhere 30 s ago: the host still renews it"


def test_an_old_lock_failure_is_no_evidence() -> None:
    world = cluster()
    web = world.vm("web", "unknown", world.hosts[-1], lease_domain_id="id-data1")
    world.event(VM_DOWN_ERROR, 500, world.hosts[0], web, LOCK_BUSY)  # older than 2 x lease_wait (180 s)
    assert fences(world.plan())["host04"].params["storage"] == "unknown"


def test_a_lock_failure_of_a_vm_no_longer_on_the_host_is_no_evidence() -> None:
    world = cluster()
    web = world.vm("web", "up", world.hosts[0], lease_domain_id="id-data1")
    world.event(VM_DOWN_ERROR, 30, world.hosts[1], web, LOCK_BUSY)
    assert fences(world.plan())["host04"].params["storage"] == "unknown"


def test_a_lock_failure_for_missing_storage_is_no_evidence_of_a_live_lease() -> None:
    world = cluster()
    web = world.vm("web", "unknown", world.hosts[-1], lease_domain_id="id-data1")
    world.event(VM_DOWN_ERROR, 30, world.hosts[0], web,
                "VM web is down with error. Exit message: Failed to acquire lock: No such file or directory.")
    assert fences(world.plan())["host04"].params["storage"] == "unknown"


def test_sanlocks_error_code_for_a_live_holder_is_a_live_lease() -> None:
    world = cluster()
    web = world.vm("web", "unknown", world.hosts[-1], lease_domain_id="id-data1")
    world.event(VM_DOWN_ERROR, 30, world.hosts[0], web,
                "VM web is down with error. Exit message: resource busy: Failed to acquire lock: error -243.")
    reason = assert_refused(world.plan(), "storage_lease_live")
    assert reason == "its storage lease is live: sanlock refused web's lease elsewhere 30 s ago: the host still renews it"


def test_storage_evidence_9014_is_live() -> None:
    world = cluster(code=POLICY_SD_ACTIVE)
    snapshot = world.snapshot()
    memory = Memory(snapshot.events)
    host = snapshot.hosts_by_name["host04"]
    evidence = storage_evidence(snapshot, host, outage(snapshot, host, memory), memory, [], ReconcilePolicy())
    assert evidence.verdict == "live" and "9014" in evidence.reason


@pytest.mark.parametrize("policy", [ReconcilePolicy(), ReconcilePolicy(fence_when_cluster_fencing_disabled=True)])
def test_9014_is_refused_whatever_the_policy_allows(policy: ReconcilePolicy) -> None:
    world = cluster(code=POLICY_SD_ACTIVE)
    reason = assert_refused(world.plan(policy), "storage_lease_live")
    assert reason == ("the engine skipped fencing: the host's storage lease was live (fencing policy skip-if-SD-active, "
                      "event 9014): its VMs may still be writing")


@pytest.mark.parametrize("code, allowed_by_policy", [(POLICY_DISABLED, True), (POLICY_CONNECTIVITY, False)])
def test_cluster_fencing_policy_events(code: int, allowed_by_policy: bool) -> None:
    world = cluster(code=code)
    reason = assert_refused(world.plan(), "cluster_fencing_policy", status="respected")
    assert "event %d" % code in reason and "respects the cluster's fencing policy" in reason
    overridden = world.plan(ReconcilePolicy(fence_when_cluster_fencing_disabled=True))
    if allowed_by_policy:
        assert fences(overridden)["host04"].reason == "the cluster's fencing policy disables fencing (event 9015)"
    else:
        assert_refused(overridden, "cluster_fencing_policy", status="respected")


def test_cluster_fencing_disabled_without_event_is_respected_unless_allowed() -> None:
    world = World(fencing=Policy(enabled=False))
    world.up_hosts(3)
    world.dead_host("host04")
    reason = assert_refused(world.plan(), "cluster_fencing_policy", status="respected")
    assert "policy.fence_when_cluster_fencing_disabled" in reason
    assert "host04" in fences(world.plan(ReconcilePolicy(fence_when_cluster_fencing_disabled=True)))


@pytest.mark.parametrize("kind", ["manual_fence", "engine_fence"])
def test_fenced_by_the_reconciler_waits_for_the_boot(kind: str) -> None:
    world = cluster(dead_ago=1000)
    world.record(kind, "id-host04", int(world.at(1000)), 100, n=1)
    assert_waiting(world, "fenced by the reconciler 100 s ago; waiting for it to boot")


def test_fenced_by_the_reconciler_and_never_back_is_blocked() -> None:
    world = cluster(dead_ago=1000)
    world.record("manual_fence", "id-host04", int(world.at(1000)), 700, n=1)
    reason = assert_refused(world.plan(), "fenced_host_dead", status="blocked")
    assert reason == "fenced by the reconciler 700 s ago and it never came back: check its hardware"


@pytest.mark.parametrize("policy", [ReconcilePolicy(), ReconcilePolicy(fence_when_cluster_fencing_disabled=True)])
def test_hosted_engine_local_maintenance_is_respected(policy: ReconcilePolicy) -> None:
    world = cluster(hosted_engine=he_info(local_maintenance=True))
    result = world.plan(policy)
    assert result.destructive == []
    assert assert_refused(result, "local_maintenance", status="respected") == "it is in hosted-engine local maintenance"


def test_hosted_engine_without_local_maintenance_is_fenced() -> None:
    world = cluster(hosted_engine=he_info())
    assert "host04" in fences(world.plan())


# -- a powered-on host the executor refused: it does not take the fence budget again at once ----------

def refused_powered_on(world: World, ago: float, episode: Optional[int] = None, name: str = "host04") -> None:
    """The executor's record: ``name`` was powered on with no evidence it lost its storage, ``ago`` s ago."""
    world.record("refused:storage_lease_unknown", "id-" + name, int(world.at(600)) if episode is None else episode, ago)


def test_a_host_refused_as_powered_on_is_refused_within_the_backoff() -> None:
    world = cluster()
    refused_powered_on(world, 60)
    result = world.plan()
    reason = assert_refused(result, "storage_lease_unknown")
    assert reason == ("it was powered on 60 s ago and nothing shows it lost its storage: no HA VM with a storage lease ran on "
                      "it to show whether it still writes to storage")
    assert invariant(result, "fence_budget")["detail"] == "0 host(s) to fence in this run, budget 1"


def test_a_host_refused_as_powered_on_leaves_the_budget_to_the_next_host() -> None:
    world = World()
    world.up_hosts(3)
    world.dead_host("host04")
    heavy = world.dead_host("host05")
    world.vm("db", "unknown", heavy, priority=50)  # fenced first by HA weight, were it not refused
    refused_powered_on(world, 60, name="host05")
    result = world.plan()
    assert list(fences(result)) == ["host04"]
    assert_refused(result, "storage_lease_unknown", target="host05")


@pytest.mark.parametrize("ago, fenced", [(299, False), (301, True)])
def test_a_host_refused_as_powered_on_is_tried_again_after_the_backoff(ago: float, fenced: bool) -> None:
    world = cluster()
    refused_powered_on(world, ago)
    result = world.plan(ReconcilePolicy(fence_backoff=300))
    if fenced:
        assert fences(result)["host04"].params["storage"] == "unknown"
    else:
        assert_refused(result, "storage_lease_unknown")


def test_a_host_refused_as_powered_on_is_fenced_once_its_lease_is_shown_lost() -> None:
    world = cluster()
    episode = int(world.at(600))
    world.record("outage", "id-host04", episode, 580, witnesses="id-web")
    world.vm("web", "up", world.hosts[1], lease_domain_id="id-data1")  # taken over: the host's lease expired
    refused_powered_on(world, 30)
    assert fences(world.plan())["host04"].params["storage"] == "lost"


def test_a_refusal_of_an_earlier_outage_does_not_count() -> None:
    world = cluster()
    refused_powered_on(world, 60, episode=1234)
    assert "host04" in fences(world.plan())


# -- witnesses: what tells whether a powered-on host lost its storage --------------------------------

def test_first_sight_records_the_leased_ha_vms_as_witnesses() -> None:
    world = cluster()
    dead = world.hosts[-1]
    world.vm("web", "unknown", dead, lease_domain_id="id-data1")
    world.vm("api", "unknown", dead, lease_domain_id="id-data1")
    world.vm("nolease", "unknown", dead)
    world.vm("plain", "unknown", dead, ha=False, lease_domain_id="id-data1")
    result = world.plan()
    [record] = actions(result, "record_outage")
    assert record.target_id == "id-host04"
    assert record.params == {"episode": int(world.at(600)), "witnesses": ["id-api", "id-web"]}
    assert result.actions.index(record) < result.actions.index(fences(result)["host04"])
    assert fences(result)["host04"].params["storage"] == "unknown"
    assert fences(result)["host04"].params["storage_reason"] == "its leased VMs have not been taken over yet"


def test_first_sight_without_events_uses_now_as_the_episode() -> None:
    world = World()
    world.up_hosts(3)
    world.host("host04", "non_responsive")
    [record] = actions(world.plan(), "record_outage")
    assert record.params["episode"] == int(world.now)


def test_later_runs_read_the_witnesses_back_and_a_takeover_means_lost() -> None:
    world = cluster()
    episode = int(world.at(600))
    world.record("outage", "id-host04", episode, 580, witnesses="id-web")
    world.vm("web", "up", world.hosts[1], lease_domain_id="id-data1")  # the engine ran it elsewhere: sanlock let it go
    result = world.plan()
    assert actions(result, "record_outage") == []
    fence = fences(result)["host04"]
    assert fence.params["storage"] == "lost"
    assert fence.params["storage_reason"] == "web, whose lease the host held, runs on host02 now: the host's lease expired"


def test_a_witness_not_taken_over_is_unknown() -> None:
    world = cluster()
    world.record("outage", "id-host04", int(world.at(600)), 580, witnesses="id-web")
    world.vm("web", "unknown", world.hosts[-1], lease_domain_id="id-data1")
    assert fences(world.plan())["host04"].params["storage"] == "unknown"


def test_the_recorded_outage_gives_the_episode_when_the_engine_events_are_gone() -> None:
    world = World()
    world.up_hosts(3)
    world.host("host04", "non_responsive")
    episode = int(world.at(400))
    world.record("outage", "id-host04", episode, 400, witnesses="")
    result = world.plan()
    assert actions(result, "record_outage") == []
    fence = fences(result)["host04"]
    assert fence.params["episode"] == episode
    assert fence.reason == "the engine did nothing about it for 400 s"


def test_outage_and_stance_from_the_events() -> None:
    world = cluster(dead_ago=600, code=NO_PM)
    snapshot = world.snapshot()
    host = snapshot.hosts_by_name["host04"]
    out = outage(snapshot, host, Memory(snapshot.events))
    assert (out.start, out.non_responsive_since, out.episode) == (world.at(600), world.at(580), int(world.at(600)))
    view = stance(snapshot, host, out, ReconcilePolicy())
    assert (view.state, view.code) == ("gave_up", NO_PM)


# -- determinism ------------------------------------------------------------------------------------------

def busy_world() -> World:
    world = World()
    world.up_hosts(4)
    dead = world.dead_host("host05", pm_enabled=True, fence_agents=1, code=None, ago=900)
    world.vm("web", "unknown", dead, lease_domain_id="id-data1", priority=10)
    world.vm("db", "down", None, priority=90, gib=8)
    world.event(VM_DOWN_ERROR, 800, world.hosts[0], world.vms[-1], "VM db is down with error.")
    world.dead_host("host06", ago=60, code=None)
    return world


def test_the_same_snapshot_gives_the_same_plan() -> None:
    world = busy_world()
    first, second = world.plan(), world.plan()
    assert first.as_dict() == second.as_dict()
    assert [a.kind for a in first.actions] == ["record_outage", "fence_host", "record_outage", "start_vm"]


def test_event_order_in_the_answer_does_not_matter() -> None:
    world = busy_world()
    expected = world.plan().as_dict()
    random.Random(7).shuffle(world.events)
    assert world.plan().as_dict() == expected


def test_healthy_cluster_has_no_findings() -> None:
    world = World()
    world.up_hosts(3)
    world.vm("web", "up", world.hosts[0])
    result = world.plan()
    assert result.actions == [] and result.findings == []
    assert invariant(result, "healthy")["holds"] is True
