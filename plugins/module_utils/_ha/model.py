# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's typed snapshot of one cluster (private, may change).

Plain data, no SDK: ``read.py`` fills it from the engine in a constant number of requests, the planner reads
it, unit tests build it by hand.  Times are engine time in epoch seconds (the engine's clock, read from the API
root), so controllers with skewed clocks agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# hosts the engine cannot reach
UNREACHABLE = ("connecting", "non_responsive")
# VM states in which qemu may be running
RUNNING = ("up", "powering_up", "powering_down", "migrating", "reboot_in_progress", "paused", "wait_for_launch",
           "unknown", "not_responding", "suspended", "saving_state", "restoring_state")


@dataclass(frozen=True)
class HostedEngineInfo:
    configured: bool
    active: bool
    score: int
    global_maintenance: bool
    local_maintenance: bool


@dataclass(frozen=True)
class Host:
    id: str
    name: str
    status: str
    pm_enabled: bool = False
    fence_agents: Optional[int] = None  # None: not known (the engine did not inline them)
    spm: bool = False
    memory: int = 0
    max_scheduling_memory: int = 0
    hosted_engine: Optional[HostedEngineInfo] = None


@dataclass(frozen=True)
class Vm:
    id: str
    name: str
    status: str
    host_id: Optional[str] = None
    ha: bool = False
    priority: int = 0
    lease_domain_id: Optional[str] = None
    memory: int = 0
    affinity: str = "migratable"
    placement_host_ids: Tuple[str, ...] = ()
    hosted_engine: bool = False
    stop_time: Optional[float] = None


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    status: Optional[str]


@dataclass(frozen=True)
class Policy:
    """The cluster's fencing policy as the engine holds it."""

    enabled: bool = True
    skip_if_sd_active: bool = False
    skip_if_connectivity_broken: bool = False
    threshold: int = 50


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    fencing: Policy = field(default_factory=Policy)
    data_center_id: Optional[str] = None


@dataclass(frozen=True)
class Event:
    index: int
    code: int
    time: float
    description: str = ""
    severity: str = "normal"
    origin: str = "oVirt"
    custom_id: Optional[int] = None
    host_id: Optional[str] = None
    vm_id: Optional[str] = None


@dataclass
class Snapshot:
    cluster: Cluster
    hosts: List[Host]
    vms: List[Vm]
    domains: List[Domain]
    events: List[Event]  # oldest first
    now: float
    requests: int = 0

    def __post_init__(self) -> None:
        self.hosts_by_id: Dict[str, Host] = {h.id: h for h in self.hosts}
        self.hosts_by_name: Dict[str, Host] = {h.name: h for h in self.hosts}
        self.vms_by_id: Dict[str, Vm] = {v.id: v for v in self.vms}
        self.domains_by_id: Dict[str, Domain] = {d.id: d for d in self.domains}
        self.events.sort(key=lambda e: e.index)
        self._host_events: Dict[str, List[Event]] = {}
        self._vm_events: Dict[str, List[Event]] = {}
        for event in self.events:
            if event.host_id:
                self._host_events.setdefault(event.host_id, []).append(event)
            if event.vm_id:
                self._vm_events.setdefault(event.vm_id, []).append(event)

    def host_events(self, host_id: str, since: float = float("-inf")) -> List[Event]:
        return [e for e in self._host_events.get(host_id, []) if e.time >= since]

    def vm_events(self, vm_id: str, since: float = float("-inf")) -> List[Event]:
        return [e for e in self._vm_events.get(vm_id, []) if e.time >= since]

    def vms_on(self, host_id: str) -> List[Vm]:
        return [v for v in self.vms if v.host_id == host_id and v.status in RUNNING]

    def engine_vm(self) -> Optional[Vm]:
        return next((v for v in self.vms if v.hosted_engine), None)

    def global_maintenance(self) -> bool:
        return any(h.hosted_engine is not None and h.hosted_engine.global_maintenance for h in self.hosts)
