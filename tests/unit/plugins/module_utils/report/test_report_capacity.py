"""Admission control against its plain definition (brute force) on small random clusters, and worked examples."""
from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._report import capacity
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.capacity import GIB, Cluster, HostCap, Protected


def brute_force(cluster: Cluster, failed: Tuple[str, ...]) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The definition, computed the plain way: every VM of the failed hosts in restart order, every survivor looked at."""
    free = {h.name: h.free_memory for h in cluster.hosts}
    vcpus = {h.name: h.free_vcpus for h in cluster.hosts}
    lost = sorted((v for v in cluster.vms if v.host in failed), key=lambda v: (-v.priority, -v.memory, v.name))
    placed, unplaced = [], []
    for vm in lost:
        fits = []
        for h in cluster.hosts:
            if h.name in failed or (vm.allowed is not None and h.name not in vm.allowed):
                continue
            if free[h.name] < vm.memory or (h.cpus and vm.cpus > h.cpus):
                continue
            budget = vcpus[h.name]
            if budget is not None and budget < vm.cpus:
                continue
            fits.append(h.name)
        if not fits:
            unplaced.append(vm.name)
            continue
        best = min(fits, key=lambda name: (-free[name], name))
        free[best] -= vm.memory
        if vcpus[best] is not None:
            vcpus[best] = vcpus[best] - vm.cpus  # type: ignore[operator]
        placed.append((vm.name, best))
    return placed, unplaced


@st.composite
def clusters(draw: Any) -> Cluster:
    n_hosts = draw(st.integers(1, 6))
    names = ["h%d" % i for i in range(n_hosts)]
    overcommit = draw(st.sampled_from([None, 1.0, 2.0]))
    hosts = []
    for name in names:
        cpus = draw(st.sampled_from([0, 2, 4, 8]))
        free_vcpus = None if overcommit is None or not cpus else cpus * overcommit - draw(st.integers(0, 4))
        hosts.append(HostCap(name, draw(st.integers(0, 12)) * GIB, cpus, free_vcpus, draw(st.booleans())))
    vms = []
    for i in range(draw(st.integers(0, 14))):
        restricted = draw(st.booleans())
        allowed = frozenset(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))) if restricted else None
        vms.append(Protected("vm%02d" % i, draw(st.sampled_from(names)), draw(st.sampled_from([0, 1, 50, 100])),
                             draw(st.integers(1, 6)) * GIB, draw(st.sampled_from([1, 2, 4, 6])), allowed))
    return Cluster(hosts, vms)


@settings(max_examples=300, deadline=None)
@given(clusters(), st.integers(1, 3))
def test_every_scenario_matches_the_brute_force(cluster: Cluster, n: int) -> None:
    for failed in itertools.combinations([h.name for h in cluster.hosts], min(n, len(cluster.hosts))):
        placed, unplaced = capacity.scenario(cluster, failed)
        expected_placed, expected_unplaced = brute_force(cluster, failed)
        assert placed == expected_placed, failed
        assert [u.vm for u in unplaced] == expected_unplaced, failed


@settings(max_examples=200, deadline=None)
@given(clusters(), st.integers(1, 3))
def test_the_verdict_matches_the_brute_force(cluster: Cluster, n: int) -> None:
    result = capacity.admission(cluster, n)
    tolerated = 0
    for k in range(1, n + 1):
        if k > len(cluster.hosts):
            if cluster.vms:
                break  # every host lost, and VMs to restart
            tolerated = k  # nothing to restart: nothing can break
            continue
        if any(brute_force(cluster, failed)[1] for failed in itertools.combinations([h.name for h in cluster.hosts], k)):
            break
        tolerated = k
    assert result["host_failures_tolerated"] == tolerated
    assert result["ok"] == (tolerated == n)


def snap(hosts: List[Dict[str, Any]], vms: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"cluster": {"name": "Default", "ha_reservation": False}, "hosts": hosts, "vms": vms}


def host(name: str, free_gib: int, status: str = "up", cpus: int = 32, he: bool = False) -> Dict[str, Any]:
    return {"name": name, "status": status, "max_scheduling_memory": free_gib * GIB, "cpus": cpus,
            "hosted_engine": {"configured": True} if he else None}


def vm(name: str, host_name: Optional[str], gib: int, ha: bool = True, priority: int = 50,
       placement: Optional[List[str]] = None, status: str = "up", cpus: int = 2, he: bool = False) -> Dict[str, Any]:
    return {"name": name, "host": host_name, "status": status, "high_availability": ha, "priority": priority,
            "memory": gib * GIB, "cpus": cpus, "placement_hosts": placement or [], "hosted_engine": he,
            "placement": "pinned" if placement else "migratable"}


def test_a_cluster_that_survives_one_failure_but_not_two() -> None:
    snapshot = snap([host("a", 8), host("b", 8), host("c", 8)],
                    [vm("x", "a", 6), vm("y", "b", 6), vm("z", "c", 2), vm("plain", "a", 50, ha=False)])
    result = capacity.capacity_report(snapshot, host_failures=2)
    assert result["host_failures_tolerated"] == 1 and not result["ok"]
    one, two = result["levels"]
    assert one["ok"] and one["scenarios"] == 3 and one["exhaustive"]
    assert not two["ok"] and two["breaking"]["failed_hosts"] == ["a", "b"]
    assert [u["vm"] for u in two["breaking"]["unplaced"]] == ["y"]
    assert "needs 6.0 GiB" in two["breaking"]["unplaced"][0]["reason"]


def test_priority_goes_first_and_pinning_is_respected() -> None:
    snapshot = snap([host("a", 0), host("b", 4), host("c", 100)],
                    [vm("low", "a", 4, priority=1, placement=["b"]), vm("high", "a", 4, priority=100, placement=["b", "a"])])
    result = capacity.capacity_report(snapshot)
    unplaced = result["levels"][0]["breaking"]["unplaced"]
    assert [u["vm"] for u in unplaced] == ["low"]  # high took b's 4 GiB first; c has room but low may not go there
    assert "may run only on" not in unplaced[0]["reason"]
    lone = capacity.capacity_report(snap([host("a", 10), host("b", 10)], [vm("pinned", "a", 1, placement=["a"])]))
    assert lone["levels"][0]["breaking"]["unplaced"][0]["reason"] == "may run only on hosts a, none of them left up"


def test_cpu_filter_and_overcommit() -> None:
    snapshot = snap([host("a", 64, cpus=4), host("b", 64, cpus=4), host("c", 8, cpus=32)],
                    [vm("wide", "c", 4, cpus=16), vm("n1", "a", 1, cpus=4), vm("n2", "a", 1, cpus=4)])
    result = capacity.capacity_report(snapshot)
    assert result["levels"][0]["breaking"]["unplaced"][0]["reason"].startswith("needs 16 vCPUs")
    tight = capacity.capacity_report(snap([host("a", 64, cpus=4), host("b", 64, cpus=4)],
                                          [vm("n1", "a", 1, cpus=4), vm("n2", "a", 1, cpus=4), vm("on_b", "b", 1, cpus=2)]),
                                     cpu_overcommit=1.5)
    # b has 4 x 1.5 = 6 vCPUs, 2 used: n1 fits, n2 does not
    assert [u["vm"] for u in tight["levels"][0]["breaking"]["unplaced"]] == ["n2"]


def test_the_engine_vm_needs_a_hosted_engine_host_and_non_up_hosts_do_not_count() -> None:
    snapshot = snap([host("a", 20, he=True), host("b", 20), host("c", 100, status="non_responsive", he=True)],
                    [vm("HostedEngine", "a", 16, ha=False, he=True), vm("gone", "c", 1)])
    result = capacity.capacity_report(snapshot)
    assert result["hosts_up"] == 2 and result["protected_vms"] == 1
    unplaced = result["levels"][0]["breaking"]["unplaced"]
    assert unplaced[0]["vm"] == "HostedEngine" and "hosted-engine hosts a" in unplaced[0]["reason"]


def test_max_scenarios_bounds_the_work() -> None:
    snapshot = snap([host("h%02d" % i, 100) for i in range(30)], [vm("v%02d" % i, "h%02d" % i, 1) for i in range(30)])
    result = capacity.capacity_report(snapshot, host_failures=2, max_scenarios=100)
    one, two = result["levels"]
    assert one["exhaustive"] and one["scenarios"] == 30
    assert not two["exhaustive"] and two["scenarios"] == 70
    assert result["host_failures_tolerated"] == 1 and not result["ok"]
