"""The pure planner, HA VMs: which down VMs it starts, in which order, where, and why it leaves the others."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Vm
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.ha_world import (
    GIB, GUEST_DOWN, HA_FAILED, HA_RESTART_FAILED, USER_SHUTDOWN, USER_STOP, VM_DOWN_ERROR, VM_FENCED_DOWN, VM_STARTED,
    VM_STARTED_BY, World, fences, finding, he_info, starts)


def crashed(world: World, name: str, ago: float = 2000, *, gib: float = 4, priority: int = 0, **kwargs: Any) -> Vm:
    """An HA VM down with an error ``ago`` s ago (119 + 9602), the engine's ten short retries long over."""
    vm = world.vm(name, "down", None, gib=gib, priority=priority, stop_time=world.at(ago), **kwargs)
    world.event(VM_DOWN_ERROR, ago, world.hosts[0], vm, "VM %s is down with error. Exit message: VM was killed." % name)
    world.event(HA_FAILED, ago, world.hosts[0], vm)
    return vm


def hosts_with_free(*free_gib: float) -> World:
    world = World()
    for number, free in enumerate(free_gib, 1):
        world.host("host%02d" % number, free_gib=free)
    return world


def assert_left(world: World, name: str, status: str, problem: bool, rule: str = "",
                policy: Optional[ReconcilePolicy] = None) -> str:
    result = world.plan(policy)
    assert starts(result) == []
    note = finding(result, name)
    assert (note.kind, note.status, note.problem, note.rule) == ("vm", status, problem, rule)
    return note.reason


# -- why a down VM stays down -------------------------------------------------------------------------

@pytest.mark.parametrize("code", [USER_STOP, USER_SHUTDOWN, GUEST_DOWN])
def test_user_stopped_vm_is_respected(code: int) -> None:
    world = hosts_with_free(32)
    vm = crashed(world, "web", 5000)
    world.event(code, 100, world.hosts[0], vm)  # stopped by a user after an old crash
    reason = assert_left(world, "web", "respected", False, "user_stopped")
    assert reason == "stopped by a user (event %d)" % code


def test_vm_down_without_a_cause_is_respected() -> None:
    world = hosts_with_free(32)
    world.vm("web", "down", None, stop_time=world.at(100))
    reason = assert_left(world, "web", "respected", False, "user_stopped")
    assert "no event says it failed" in reason


def test_engine_still_in_its_short_retries_waits() -> None:
    world = hosts_with_free(32)
    vm = crashed(world, "web", 60)
    world.event(HA_RESTART_FAILED, 30, None, vm)
    world.event(HA_RESTART_FAILED, 0, None, vm)
    reason = assert_left(world, "web", "waiting", False)
    assert reason == "the engine is restarting it (2 of its 10 tries 30 s apart so far)"


def test_after_engine_retry_wait_the_reconciler_starts_it() -> None:
    world = hosts_with_free(32)
    crashed(world, "web", 301)
    [start] = starts(world.plan())
    assert start.target == "web" and start.params["host"] == "host01"
    assert start.reason.startswith("HA VM down with an error (event 9602 301 s ago)")


def test_after_ten_failed_retries_the_reconciler_starts_it() -> None:
    world = hosts_with_free(32)
    vm = crashed(world, "web", 290)
    for n in range(10):
        world.event(HA_RESTART_FAILED, 280 - 25 * n, None, vm)
    assert [a.target for a in starts(world.plan())] == ["web"]


def test_a_vm_down_because_its_host_was_fenced_counts_as_failed() -> None:
    world = hosts_with_free(32)
    vm = world.vm("web", "down", None, stop_time=world.at(400))
    world.event(VM_FENCED_DOWN, 400, world.hosts[0], vm)
    [start] = starts(world.plan())
    assert start.target == "web" and start.reason.startswith("HA VM down with an error (event 143 400 s ago)")


@pytest.mark.parametrize("ago, retries, waiting", [(200, 0, True), (200, 3, True), (301, 0, False), (200, 10, False)])
def test_the_engine_restarts_a_vm_of_a_fenced_host_by_itself_first(ago: float, retries: int, waiting: bool) -> None:
    world = hosts_with_free(32)
    vm = world.vm("web", "down", None, stop_time=world.at(ago))
    world.event(VM_FENCED_DOWN, ago, world.hosts[0], vm)  # the engine queued it for its HA restarts
    for n in range(retries):
        world.event(HA_RESTART_FAILED, ago - 10 - 15 * n, None, vm)
    if waiting:
        reason = assert_left(world, "web", "waiting", False)
        assert reason == "the engine is restarting it (%d of its 10 tries 30 s apart so far)" % retries
    else:
        assert [a.target for a in starts(world.plan())] == ["web"]


@pytest.mark.parametrize("started", [VM_STARTED, VM_STARTED_BY])
def test_an_old_crash_the_vm_recovered_from_is_not_the_cause(started: int) -> None:
    world = hosts_with_free(32)
    vm = world.vm("web", "down", None, stop_time=world.at(60))  # shut down from inside the guest a minute ago
    world.event(VM_DOWN_ERROR, 5000, world.hosts[0], vm, "VM web is down with error. Exit message: VM was killed.")
    world.event(HA_FAILED, 5000, world.hosts[0], vm)
    world.event(started, 4990, world.hosts[0], vm, "VM web started on Host host01")
    reason = assert_left(world, "web", "respected", False, "user_stopped")
    assert "no event says it failed" in reason


def test_a_start_after_the_crash_clears_it_even_within_the_tolerance() -> None:
    world = hosts_with_free(32)
    vm = world.vm("web", "down", None, stop_time=world.at(10))
    world.event(VM_DOWN_ERROR, 50, world.hosts[0], vm, "VM web is down with error.")
    world.event(VM_STARTED, 40, world.hosts[0], vm, "VM web started on Host host01")  # then a stop with no event
    assert_left(world, "web", "respected", False, "user_stopped")


@pytest.mark.parametrize("before_stop, started", [(59, True), (61, False)])
def test_a_cause_is_at_most_a_minute_older_than_the_stop(before_stop: float, started: bool) -> None:
    world = hosts_with_free(32)
    vm = world.vm("web", "down", None, stop_time=world.at(1000))
    world.event(VM_DOWN_ERROR, 1000 + before_stop, world.hosts[0], vm, "VM web is down with error.")
    if started:
        assert [a.target for a in starts(world.plan())] == ["web"]
    else:
        assert "no event says it failed" in assert_left(world, "web", "respected", False, "user_stopped")


def test_global_maintenance_refuses_starts() -> None:
    world = hosts_with_free(32)
    world.replace_host(world.hosts[0], hosted_engine=he_info(global_maintenance=True))
    crashed(world, "web")
    assert "global maintenance" in assert_left(world, "web", "refused", True, "global_maintenance")


def test_start_ha_vms_false_reports_only() -> None:
    world = hosts_with_free(32)
    crashed(world, "web")
    reason = assert_left(world, "web", "respected", True, policy=ReconcilePolicy(start_ha_vms=False))
    assert "policy.start_ha_vms is false" in reason


def test_hosted_engine_and_non_ha_vms_are_not_the_reconcilers() -> None:
    world = hosts_with_free(32)
    crashed(world, "HostedEngine", hosted_engine=True)
    crashed(world, "scratch", ha=False)
    result = world.plan()
    assert result.actions == [] and result.findings == []


# -- storage lease domain ---------------------------------------------------------------------------

@pytest.mark.parametrize("status, shown", [("inactive", "data1 is inactive"), ("maintenance", "data1 is maintenance"),
                                           (None, "id-data1 is missing")])
def test_lease_domain_not_active_blocks(status: Optional[str], shown: str) -> None:
    world = hosts_with_free(32)
    if status is not None:
        world.domain("data1", status)
    crashed(world, "web", lease_domain_id="id-data1")
    assert assert_left(world, "web", "blocked", True) == "its lease's storage domain %s" % shown


def test_lease_domain_active_starts() -> None:
    world = hosts_with_free(32)
    world.domain("data1", "active")
    crashed(world, "web", lease_domain_id="id-data1")
    assert [a.target for a in starts(world.plan())] == ["web"]


# -- start attempts -----------------------------------------------------------------------------------

def attempts(world: World, vm: Vm, count: int, last_ago: float) -> None:
    for n in range(1, count + 1):
        world.record("start", vm.id, int(vm.stop_time or 0), last_ago + 10 * (count - n), n=n)


def test_max_start_attempts_refuses() -> None:
    world = hosts_with_free(32)
    attempts(world, crashed(world, "web"), 5, 1000)
    reason = assert_left(world, "web", "refused", True, "start_attempts")
    assert reason == "5 start attempts already failed (policy.max_start_attempts)"


@pytest.mark.parametrize("last_ago, started", [(299, False), (301, True)])
def test_start_backoff(last_ago: float, started: bool) -> None:
    world = hosts_with_free(32)
    attempts(world, crashed(world, "web"), 1, last_ago)
    if started:
        assert starts(world.plan())[0].params["attempt"] == 2
    else:
        assert assert_left(world, "web", "waiting", True, "start_backoff").startswith("the last start failed; next try in")


def test_attempts_of_an_earlier_failure_do_not_count() -> None:
    world = hosts_with_free(32)
    vm = crashed(world, "web")
    for n in range(1, 6):
        world.record("start", vm.id, int(world.at(90000)), 80000, n=n)
    [start] = starts(world.plan())
    assert start.params["episode"] == int(vm.stop_time or 0) and start.params["attempt"] == 1


# -- order and placement ------------------------------------------------------------------------------

def test_starts_in_priority_order() -> None:
    world = hosts_with_free(64)
    crashed(world, "low", priority=10)
    crashed(world, "high", priority=100)
    crashed(world, "mid", priority=50)
    assert [(a.target, a.params["priority"]) for a in starts(world.plan())] == [("high", 100), ("mid", 50), ("low", 10)]


def test_goes_to_the_host_with_most_free_memory() -> None:
    world = hosts_with_free(8, 32, 16)
    crashed(world, "web", gib=4)
    [start] = starts(world.plan())
    assert (start.params["host"], start.params["host_id"]) == ("host02", "id-host02")


def test_memory_of_vms_planned_earlier_counts() -> None:
    world = hosts_with_free(32, 24)
    crashed(world, "first", gib=20, priority=2)
    crashed(world, "second", gib=20, priority=1)
    assert [(a.target, a.params["host"]) for a in starts(world.plan())] == [("first", "host01"), ("second", "host02")]


def test_no_fit_is_blocked_with_the_numbers() -> None:
    world = hosts_with_free(32, 24)
    crashed(world, "big", gib=40)
    reason = assert_left(world, "big", "blocked", True, "placement")
    assert reason == ("down with an error and cannot run anywhere: needs 40.0 GiB of memory; the most free on an up host "
                      "is 32.0 GiB (host01)")


def test_no_fit_after_earlier_vms_took_the_room() -> None:
    world = hosts_with_free(32)
    crashed(world, "first", gib=20, priority=2)
    crashed(world, "second", gib=20, priority=1)
    result = world.plan()
    assert [a.target for a in starts(result)] == ["first"]
    assert finding(result, "second").reason.endswith("the most free on an up host is 12.0 GiB (host01)")


def test_pinned_to_a_down_host_is_blocked() -> None:
    world = hosts_with_free(64)
    world.host("host09", "down")
    crashed(world, "web", affinity="pinned", placement_host_ids=("id-host09",))
    reason = assert_left(world, "web", "blocked", True, "placement")
    assert reason == "down with an error and cannot run anywhere: pinned to host09 (down)"


def test_pinned_goes_to_its_host_even_with_less_memory() -> None:
    world = hosts_with_free(64, 16)
    crashed(world, "web", gib=8, affinity="pinned", placement_host_ids=("id-host02",))
    assert starts(world.plan())[0].params["host"] == "host02"


def test_pinned_host_without_room_is_blocked() -> None:
    world = hosts_with_free(64, 4)
    crashed(world, "web", gib=8, affinity="pinned", placement_host_ids=("id-host02",))
    assert "most free on an up host is 4.0 GiB (host02)" in assert_left(world, "web", "blocked", True, "placement")


@pytest.mark.parametrize("preferred_free, host", [(16, "host02"), (4, "host01")])
def test_migratable_placement_hosts_are_preferred_when_they_fit(preferred_free: float, host: str) -> None:
    world = hosts_with_free(64, preferred_free)
    crashed(world, "web", gib=8, placement_host_ids=("id-host02",))
    assert starts(world.plan())[0].params["host"] == host


def test_no_host_up_is_blocked() -> None:
    world = World()
    world.host("host01", "maintenance")
    world.host("host02", "maintenance")
    vm = world.vm("web", "down", None, stop_time=world.at(1000))
    world.event(VM_DOWN_ERROR, 1000, None, vm)
    reason = assert_left(world, "web", "blocked", True, "placement")
    assert reason.endswith("no host of the cluster is up")


def test_max_scheduling_memory_is_already_net_of_running_vms() -> None:
    world = World()
    host = world.host("host01", free_gib=16)  # the engine says: 16 GiB left for a new VM
    world.replace_host(host, memory=64 * GIB)
    world.vm("busy", "up", host, ha=False, gib=40)  # its memory is in the engine's memCommited already
    crashed(world, "web", gib=16)
    assert [a.params["host"] for a in starts(world.plan())] == ["host01"]


def test_a_full_host_takes_no_vm_whatever_its_memory() -> None:
    world = World()
    host = world.host("host01", free_gib=0)
    world.replace_host(host, memory=64 * GIB)  # max_scheduling_memory 0: the engine has no room left on it
    crashed(world, "web", gib=1)
    reason = assert_left(world, "web", "blocked", True, "placement")
    assert reason.endswith("needs 1.0 GiB of memory; the most free on an up host is 0.0 GiB (host01)")


# -- VMs in unknown -------------------------------------------------------------------------------

def test_unknown_vm_with_a_lease_waits_for_the_engine() -> None:
    world = hosts_with_free(32, 32, 32)
    dead = world.dead_host("host04", ago=60, code=None)
    world.vm("web", "unknown", dead, lease_domain_id="id-data1")
    note = finding(world.plan(), "web")
    assert (note.status, note.problem) == ("waiting", False)
    assert "sanlock lets the lease go" in note.reason


def test_unknown_vm_on_a_host_fenced_in_this_run_waits() -> None:
    world = hosts_with_free(32, 32, 32)
    dead = world.dead_host("host04")
    world.vm("db", "unknown", dead)
    result = world.plan()
    assert "host04" in fences(result)
    note = finding(result, "db")
    assert (note.status, note.problem) == ("waiting", False)
    assert note.reason == "unknown on recovered by fencing host04 in this run"


def test_unknown_vm_on_a_refused_host_is_blocked_with_the_hosts_reason() -> None:
    world = hosts_with_free(32, 32, 32)
    dead = world.dead_host("host04")
    world.vm("db", "unknown", dead)
    result = world.plan(bmcs=[])
    note = finding(result, "db")
    assert (note.status, note.problem) == ("blocked", True)
    assert note.reason.startswith("unknown on its host host04: ") and "no BMC" in note.reason


def test_unknown_vm_on_a_reachable_host_is_left_to_the_engine() -> None:
    world = hosts_with_free(32)
    world.vm("db", "unknown", world.hosts[0])
    note = finding(world.plan(), "db")
    assert (note.status, note.problem) == ("blocked", True)
    assert "its host is not unreachable" in note.reason
