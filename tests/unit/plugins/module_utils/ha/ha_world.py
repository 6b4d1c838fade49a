"""Hand-built reconciler snapshots for the planner tests: hosts, VMs and events in the engine's own codes.

``World`` collects hosts, VMs, domains and events (numbered in the order they are added, times given as seconds
before ``NOW``) and turns them into a ``Snapshot``; ``plan()`` runs the pure planner on it.  Our own records (the
reconciler's memory) are events too, made with ``World.record`` exactly as ``audit.py`` tags them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import (
    Cluster, Domain, Event, Host, HostedEngineInfo, Policy, Snapshot, Vm)
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.planner import Action, Finding, Plan, plan
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, Memory, custom_id, tag

NOW = 1_700_000_000.0
GIB = 1024 ** 3
CLUSTER_ID = "cluster-1"

# engine event codes (ovirt-engine AuditLogType), as engine_view.py reads them
CONNECTING, NON_RESPONSIVE, UP_AGAIN = 9008, 12, 13
FENCE_STARTED, FENCE_PROXY_OP, RESTARTED, RESTART_FAILED = 539, 9020, 121, 122
FENCE_FAILED, NOT_VERIFIED = 9002, 9005
NO_PM, NO_PROXY, STARTUP_SKIP = 9027, 9004, 9003
POLICY_CONNECTIVITY, POLICY_SD_ACTIVE, POLICY_DISABLED = 9013, 9014, 9015
VM_DOWN_ERROR, VM_FENCED_DOWN, HA_FAILED, HA_RESTART_FAILED = 119, 143, 9602, 9603
USER_STOP, USER_SHUTDOWN, GUEST_DOWN, VM_STARTED, VM_STARTED_BY = 33, 73, 61, 32, 153

LOCK_BUSY = "VM web is down with error. Exit message: resource busy: Failed to acquire lock: Lease is held by another host."


def he_info(*, global_maintenance: bool = False, local_maintenance: bool = False, active: bool = False) -> HostedEngineInfo:
    return HostedEngineInfo(configured=True, active=active, score=3400, global_maintenance=global_maintenance,
                            local_maintenance=local_maintenance)


class World:
    """One cluster as the reconciler would read it at ``now``."""

    def __init__(self, now: float = NOW, fencing: Optional[Policy] = None) -> None:
        self.now = now
        self.cluster = Cluster(id=CLUSTER_ID, name="Default", fencing=fencing or Policy(), data_center_id="dc1")
        self.hosts: List[Host] = []
        self.vms: List[Vm] = []
        self.domains: List[Domain] = []
        self.events: List[Event] = []

    # -- objects -----------------------------------------------------------------------------
    def host(self, name: str, status: str = "up", *, free_gib: float = 64, **kwargs: Any) -> Host:
        host = Host(id="id-" + name, name=name, status=status, memory=int(free_gib * GIB),
                    max_scheduling_memory=int(free_gib * GIB), **kwargs)
        self.hosts.append(host)
        return host

    def up_hosts(self, count: int, first: int = 1) -> List[Host]:
        return [self.host("host%02d" % number) for number in range(first, first + count)]

    def vm(self, name: str, status: str = "up", host: Optional[Host] = None, *, ha: bool = True, gib: float = 0,
           **kwargs: Any) -> Vm:
        vm = Vm(id="id-" + name, name=name, status=status, host_id=host.id if host is not None else None, ha=ha,
                memory=int(gib * GIB), **kwargs)
        self.vms.append(vm)
        return vm

    def domain(self, name: str, status: Optional[str] = "active") -> Domain:
        domain = Domain(id="id-" + name, name=name, status=status)
        self.domains.append(domain)
        return domain

    def replace_host(self, host: Host, **changes: Any) -> Host:
        new = replace(host, **changes)
        self.hosts[self.hosts.index(host)] = new
        return new

    # -- events ------------------------------------------------------------------------------
    def at(self, ago: float) -> float:
        return self.now - ago

    def event(self, code: int, ago: float, host: Optional[Host] = None, vm: Optional[Vm] = None, text: str = "") -> Event:
        event = Event(index=len(self.events) + 1, code=code, time=self.at(ago), description=text or "event %d" % code,
                      host_id=host.id if host is not None else None, vm_id=vm.id if vm is not None else None)
        self.events.append(event)
        return event

    def record(self, kind: str, ref: str, episode: int, ago: float, n: int = 0, **fields: str) -> Event:
        """One of our records, tagged as audit.py tags it."""
        event = Event(index=len(self.events) + 1, code=0, time=self.at(ago), origin=ORIGIN,
                      custom_id=custom_id(CLUSTER_ID, kind, ref, episode, n),
                      description="ovirt_ha.core test record %s" % tag(kind, ref, episode, n, **fields))
        self.events.append(event)
        return event

    def went_non_responsive(self, host: Host, ago: float) -> int:
        """9008 then 12 (20 s later) for ``host``; returns the outage's episode (int of the 9008 time)."""
        self.event(CONNECTING, ago, host, text="Host %s is not responding. It will stay in Connecting state for a grace "
                   "period of 60 seconds and after that an attempt to fence the host will be issued." % host.name)
        self.event(NON_RESPONSIVE, ago - 20, host, text="Host %s is non responsive." % host.name)
        return int(self.at(ago))

    def dead_host(self, name: str, *, ago: float = 600, code: Optional[int] = NO_PM, **kwargs: Any) -> Host:
        """A non-responsive host the engine gave up on: non responsive ``ago`` s, then ``code`` (9027 by default)."""
        host = self.host(name, "non_responsive", **kwargs)
        self.went_non_responsive(host, ago)
        if code is not None:
            self.event(code, ago - 30, host)
        return host

    # -- running the planner -------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(cluster=self.cluster, hosts=list(self.hosts), vms=list(self.vms), domains=list(self.domains),
                        events=list(self.events), now=self.now)

    def plan(self, policy: Optional[ReconcilePolicy] = None, bmcs: Optional[Sequence[str]] = None) -> Plan:
        """The plan; ``bmcs`` defaults to every host of the cluster."""
        snapshot = self.snapshot()
        names = [h.name for h in self.hosts] if bmcs is None else list(bmcs)
        return plan(snapshot, policy or ReconcilePolicy(), Memory(snapshot.events), names)


# -- reading a plan ------------------------------------------------------------------------------

def actions(result: Plan, kind: str) -> List[Action]:
    return [a for a in result.actions if a.kind == kind]


def fences(result: Plan) -> Dict[str, Action]:
    return {a.target: a for a in actions(result, "fence_host")}


def starts(result: Plan) -> List[Action]:
    return actions(result, "start_vm")


def finding(result: Plan, target: str) -> Finding:
    found = [f for f in result.findings if f.target == target]
    assert len(found) == 1, "expected one finding for %s, got %r" % (target, result.findings)
    return found[0]


def invariant(result: Plan, rule: str) -> Dict[str, Any]:
    return next(i for i in result.invariants if i["rule"] == rule)
