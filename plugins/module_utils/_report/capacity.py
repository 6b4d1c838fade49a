# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admission control: can every HA VM restart if any N hosts fail (private, may change).

The anchor is vSphere HA's "host failures cluster tolerates" and oVirt's ``ha_reservation``.  For each set of N
hosts that are up now, the VMs to restart are the HA VMs running on them (and the hosted-engine VM, restarted
by the agents on a hosted-engine host).  They are placed one at a time in the engine's order: highest priority
first, then the largest memory first, then by name, each on the surviving host with the most free memory
(ties: the first name) among those it may run on (a pinned VM's placement hosts; for the engine VM, the hosted-engine
hosts) that have the memory (``max_scheduling_memory``, net of what the host runs) and as many logical CPUs as
the VM has vCPUs (the engine's CPU filter); with ``cpu_overcommit`` also the vCPUs left under that ratio.  A VM
that finds no host does not fit: the loss of those N hosts breaks it.  This is a simulation of a greedy restart,
not an optimal packing: the engine does not search for one either.  Affinity groups and labels are not in the
snapshot and are not considered.

Fast: a scenario costs O(k log k) in the k VMs it restarts (the hosts sorted once by free memory, and a heap of
the hosts the scenario touched), not O(hosts x VMs); ``brute_force`` in the tests is the plain definition.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

from .findings import VM_RUNNING

GIB = 1024 ** 3
DEFAULT_MAX_SCENARIOS = 100000
ENGINE_VM_PRIORITY = 1 << 30  # the agents restart the engine VM whatever the HA VMs' priorities


@dataclass(frozen=True)
class HostCap:
    name: str
    free_memory: int
    cpus: int  # 0: unknown, the CPU filter passes
    free_vcpus: Optional[float]  # None: no vCPU budget (cpu_overcommit not set)
    hosted_engine: bool = False


@dataclass(frozen=True)
class Protected:
    name: str
    host: str
    priority: int
    memory: int
    cpus: int
    allowed: Optional[FrozenSet[str]]  # None: any host
    hosted_engine: bool = False

    def order(self) -> Tuple[int, int, str]:
        return (-self.priority, -self.memory, self.name)


@dataclass
class Cluster:
    """The capacity model of one snapshot: the hosts that are up and the VMs to protect on them."""

    hosts: List[HostCap]
    vms: List[Protected]
    by_host: Dict[str, List[Protected]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.host_index = {h.name: h for h in self.hosts}
        self.by_host = {h.name: [] for h in self.hosts}
        for vm in sorted(self.vms, key=Protected.order):
            self.by_host.setdefault(vm.host, []).append(vm)
        # every host sorted once by free memory, most first (ties: the first name)
        self.sorted_hosts = sorted(self.hosts, key=lambda h: (-h.free_memory, h.name))


def model(snapshot: Dict[str, Any], cpu_overcommit: Optional[float] = None) -> Cluster:
    """The capacity model of a ``cluster_info`` snapshot."""
    hosts = [h for h in snapshot.get("hosts") or [] if h.get("status") == "up"]
    up = {h["name"] for h in hosts}
    vcpus_used: Dict[str, int] = {}
    protected: List[Protected] = []
    he_hosts = frozenset(h["name"] for h in hosts if (h.get("hosted_engine") or {}).get("configured"))
    for vm in snapshot.get("vms") or []:
        host = vm.get("host")
        if host not in up or vm.get("status") not in VM_RUNNING:
            continue
        vcpus_used[host] = vcpus_used.get(host, 0) + int(vm.get("cpus") or 0)
        if vm.get("hosted_engine"):
            protected.append(Protected(vm["name"], host, ENGINE_VM_PRIORITY, int(vm.get("memory") or 0),
                                       int(vm.get("cpus") or 0), he_hosts, hosted_engine=True))
        elif vm.get("high_availability"):
            # the engine keeps a pinned VM to its placement hosts; a migratable one only prefers them
            placement = (vm.get("placement_hosts") or []) if vm.get("placement") == "pinned" else []
            protected.append(Protected(vm["name"], host, int(vm.get("priority") or 0), int(vm.get("memory") or 0),
                                       int(vm.get("cpus") or 0), frozenset(placement) if placement else None))
    caps = []
    for h in hosts:
        cpus = int(h.get("cpus") or 0)
        budget = None if cpu_overcommit is None or not cpus else cpus * cpu_overcommit - vcpus_used.get(h["name"], 0)
        caps.append(HostCap(h["name"], int(h.get("max_scheduling_memory") or 0), cpus, budget,
                            h["name"] in he_hosts))
    return Cluster(caps, protected)


def _cpu_ok(host: HostCap, vm: Protected, used_vcpus: float) -> bool:
    if host.cpus and vm.cpus > host.cpus:
        return False
    return host.free_vcpus is None or host.free_vcpus - used_vcpus >= vm.cpus


@dataclass(frozen=True)
class Unplaced:
    vm: str
    priority: int
    memory: int
    reason: str

    def as_dict(self) -> Dict[str, Any]:
        return {"vm": self.vm, "priority": self.priority, "memory": self.memory, "reason": self.reason}


def _reason(cluster: Cluster, vm: Protected, failed: FrozenSet[str], best_free: int) -> str:
    if vm.allowed is not None and not (vm.allowed - failed) & set(cluster.host_index):
        where = "hosted-engine hosts" if vm.hosted_engine else "hosts"
        return "may run only on %s %s, none of them left up" % (where, ", ".join(sorted(vm.allowed)))
    if best_free < vm.memory:
        return "needs %.1f GiB; the most free memory on a host it may use is %.1f GiB" % (vm.memory / GIB, best_free / GIB)
    return "needs %d vCPUs; no host it may use with the memory has them" % vm.cpus


def scenario(cluster: Cluster, failed: Sequence[str]) -> Tuple[List[Tuple[str, str]], List[Unplaced]]:
    """Restart the protected VMs of the ``failed`` hosts: ([(vm, host)], [Unplaced]) in restart order."""
    down = frozenset(failed)
    lost = sorted((vm for name in failed for vm in cluster.by_host.get(name, ())), key=Protected.order)
    used_mem: Dict[str, int] = {}
    used_cpu: Dict[str, float] = {}
    touched: List[Tuple[int, str]] = []  # heap of (-free memory now, name) of hosts this scenario placed on
    ordered = cluster.sorted_hosts
    pointer = 0
    placed: List[Tuple[str, str]] = []
    unplaced: List[Unplaced] = []
    for vm in lost:
        choice: Optional[str] = None
        best_free = 0
        if vm.allowed is not None:
            best_key: Optional[Tuple[int, str]] = None
            for name in vm.allowed:
                host = cluster.host_index.get(name)
                if host is None or name in down:
                    continue
                free = host.free_memory - used_mem.get(name, 0)
                best_free = max(best_free, free)
                if free >= vm.memory and _cpu_ok(host, vm, used_cpu.get(name, 0)):
                    key = (-free, name)
                    if best_key is None or key < best_key:
                        best_key = key
            choice = best_key[1] if best_key else None
            if choice is not None and choice not in used_mem:
                used_mem[choice] = 0
                heapq.heappush(touched, (-cluster.host_index[choice].free_memory, choice))
        else:
            skipped: List[Tuple[int, str]] = []
            first = True
            while True:
                # the next host by free memory: the touched heap's top or the next untouched host in sorted order
                while pointer < len(ordered) and (ordered[pointer].name in down or ordered[pointer].name in used_mem):
                    pointer += 1
                untouched = (-ordered[pointer].free_memory, ordered[pointer].name) if pointer < len(ordered) else None
                if touched and (untouched is None or touched[0] < untouched):
                    key = heapq.heappop(touched)
                elif untouched is not None:
                    key = untouched
                    used_mem[key[1]] = 0
                    pointer += 1
                else:
                    break
                free = -key[0]
                if first:
                    best_free, first = free, False
                if free < vm.memory:
                    skipped.append(key)
                    break  # no host further down has more
                if _cpu_ok(cluster.host_index[key[1]], vm, used_cpu.get(key[1], 0)):
                    choice = key[1]
                    break
                skipped.append(key)
            for key in skipped:
                heapq.heappush(touched, key)
        if choice is None:
            unplaced.append(Unplaced(vm.name, vm.priority, vm.memory, _reason(cluster, vm, down, best_free)))
            continue
        used_mem[choice] = used_mem.get(choice, 0) + vm.memory
        used_cpu[choice] = used_cpu.get(choice, 0) + vm.cpus
        if vm.allowed is not None:
            # the chosen host's heap entry is stale: replace it
            touched = [k for k in touched if k[1] != choice]
            heapq.heapify(touched)
        heapq.heappush(touched, (-(cluster.host_index[choice].free_memory - used_mem[choice]), choice))
        placed.append((vm.name, choice))
    return placed, unplaced


def failure_sets(cluster: Cluster, n: int) -> Iterator[Tuple[str, ...]]:
    """Every set of n hosts, the heaviest first (hosts ordered by the memory of the VMs they would lose)."""
    load = {h.name: sum(v.memory for v in cluster.by_host.get(h.name, ())) for h in cluster.hosts}
    ordered = sorted(load, key=lambda name: (-load[name], name))
    return itertools.combinations(ordered, n)


def admission(cluster: Cluster, host_failures: int = 1, max_scenarios: int = DEFAULT_MAX_SCENARIOS) -> Dict[str, Any]:
    """For N = 1 .. host_failures: does every scenario of N failed hosts restart every protected VM?

    A level stops at ``max_scenarios`` (``exhaustive`` false); the levels above the first that fails are not
    computed (losing more hosts does not help)."""
    levels: List[Dict[str, Any]] = []
    tolerated = 0
    budget = max_scenarios
    for n in range(1, host_failures + 1):
        if n > len(cluster.hosts) and cluster.vms:
            levels.append({"failures": n, "ok": False, "scenarios": 0, "breaking_scenarios": 0, "exhaustive": True,
                           "breaking": {"failed_hosts": [], "unplaced": [],
                                        "reason": "the cluster has only %d hosts up" % len(cluster.hosts)}})
            break
        count = broken = 0
        breaking: Optional[Dict[str, Any]] = None
        exhaustive = True
        for failed in failure_sets(cluster, n):
            if count >= budget:
                exhaustive = False
                break
            count += 1
            _placed, unplaced = scenario(cluster, failed)
            if unplaced:
                broken += 1
                if breaking is None:
                    breaking = {"failed_hosts": sorted(failed), "unplaced": [u.as_dict() for u in unplaced]}
        budget -= count
        ok = broken == 0
        levels.append({"failures": n, "ok": ok, "scenarios": count, "breaking_scenarios": broken,
                       "exhaustive": exhaustive, "breaking": breaking})
        if not ok:
            break
        if exhaustive:
            tolerated = n
        if budget <= 0:
            break
    return {
        "host_failures_checked": host_failures,
        "host_failures_tolerated": tolerated,
        "ok": len(levels) == host_failures and all(level["ok"] and level["exhaustive"] for level in levels),
        "hosts_up": len(cluster.hosts),
        "protected_vms": len(cluster.vms),
        "protected_memory": sum(v.memory for v in cluster.vms),
        "free_memory": sum(h.free_memory for h in cluster.hosts),
        "levels": levels,
    }


def capacity_report(snapshot: Dict[str, Any], host_failures: int = 1, max_scenarios: int = DEFAULT_MAX_SCENARIOS,
                    cpu_overcommit: Optional[float] = None) -> Dict[str, Any]:
    result = admission(model(snapshot, cpu_overcommit), host_failures, max_scenarios)
    result["ha_reservation"] = bool((snapshot.get("cluster") or {}).get("ha_reservation"))
    result["cpu_overcommit"] = cpu_overcommit
    return result
