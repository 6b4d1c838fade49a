"""Ground truth beside the engine's view, and the violations a real cluster would suffer.

The engine's view (``Vm.status``, ``Vm.host_id``) is what the API shows.  The truth is where each VM's qemu process
really runs and who holds each storage (sanlock) lease.  They part ways exactly where HA goes wrong: a host whose
network is cut still runs its VMs; a manual fence ("host has been rebooted") of a powered host marks its VMs down
in the engine while their processes go on.  The lab records each violation with its lab time, the objects and the
actor that caused it (see ``actors``).

Leases: a VM with a lease (``Vm.lease_sd_id``) and the hosted-engine VM (its lock on the hosted-engine storage)
run only while their host holds the resource.  A second host cannot acquire it while the holder renews it; a holder
that cannot reach the lease's storage stops renewing, and 80 s after the last renewal the lease is free and
sanlock on the holder has killed the process (its watchdog), so a VM with a lease cannot end up on two hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tests.lab.actors import Actor
from tests.lab.clock import Clock
from tests.lab.journal import Journal
from tests.lab.model import Host, Model, Vm

LEASE_EXPIRY = 80.0
LOCK_BUSY = "resource busy: Failed to acquire lock: Lease is held by another host"
LOCK_NO_STORAGE = "Failed to acquire lock: No such file or directory"


@dataclass
class Lease:
    resource: str
    domain_id: str
    holder: str
    renewed: float


@dataclass
class Violation:
    id: int
    time: float
    kind: str
    objects: dict[str, Any]
    cause: Actor
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "kind": self.kind, "objects": self.objects, "cause": self.cause.as_dict(),
                "caused_by": str(self.cause), "detail": self.detail}


@dataclass
class Truth:
    model: Model
    clock: Clock
    journal: Journal
    running: dict[str, set[str]] = field(default_factory=dict)
    started_by: dict[tuple[str, str], tuple[float, Actor]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    episodes: set[tuple[str, str, frozenset[str]]] = field(default_factory=set)
    vouched: dict[str, Actor] = field(default_factory=dict)
    power_intent: dict[str, Actor] = field(default_factory=dict)

    # -- queries -------------------------------------------------------------------
    def hosts_of(self, vm: Vm) -> set[str]:
        return set(self.running.get(vm.id, ()))

    def processes_on(self, host_id: str) -> list[Vm]:
        return [self.model.vms[vm_id] for vm_id, hosts in self.running.items() if host_id in hosts and vm_id in self.model.vms]

    def reaches(self, host: Host, domain_id: Optional[str], now: float) -> bool:
        """The host does I/O on the domain: powered, booted, on the storage network, the domain up and not cut off."""
        if not host.storage_lease_alive(now):
            return False
        if domain_id is None:
            return True
        domain = self.model.storage_domains.get(domain_id)
        return domain is not None and domain.status == "active" and domain_id not in host.storage_cut

    @staticmethod
    def lease_of(vm: Vm) -> Optional[tuple[str, str]]:
        """(resource, storage domain id) of the VM's sanlock lease, if it has one."""
        if vm.hosted_engine and vm.storage_sd_id:
            return f"he:{vm.id}", vm.storage_sd_id
        if vm.lease_sd_id:
            return f"vm:{vm.id}", vm.lease_sd_id
        return None

    def lease_alive(self, lease: Lease, now: float) -> bool:
        return now - lease.renewed < LEASE_EXPIRY

    def names(self, host_ids: set[str]) -> list[str]:
        return sorted(self.model.hosts[h].name for h in host_ids if h in self.model.hosts)

    # -- processes -------------------------------------------------------------------
    def adopt_running(self, now: float) -> None:
        """At lab start: every VM the engine has running really runs there, holding its lease."""
        for vm in self.model.vms.values():
            host = self.model.hosts.get(vm.host_id) if vm.host_id else None
            if vm.status != "down" and host is not None:
                self.running.setdefault(vm.id, set()).add(host.id)
                self.started_by[(vm.id, host.id)] = (now, Actor("lab"))
                lease = self.lease_of(vm)
                if lease is not None:
                    self.leases[lease[0]] = Lease(lease[0], lease[1], host.id, now)

    def start(self, vm: Vm, host: Host, actor: Actor) -> Optional[str]:
        """qemu starts on ``host`` (vdsm's create); returns vdsm's error when sanlock refuses the lease."""
        now = self.clock.now()
        if host.id in self.running.get(vm.id, ()):
            return None
        lease = self.lease_of(vm)
        if lease is not None:
            resource, domain_id = lease
            held = self.leases.get(resource)
            if held is not None and held.holder != host.id:
                if self.lease_alive(held, now):
                    self.journal.add(now, "lease", f"{vm.name}: {host.name} cannot acquire the lease held by "
                                     f"{self.model.hosts[held.holder].name} ({LOCK_BUSY})")
                    return LOCK_BUSY
                self.expire(held, now)
            if not self.reaches(host, domain_id, now):
                return LOCK_NO_STORAGE
            self.leases[resource] = Lease(resource, domain_id, host.id, now)
        self.running.setdefault(vm.id, set()).add(host.id)
        self.started_by[(vm.id, host.id)] = (now, actor)
        self.journal.add(now, "qemu", f"{vm.name} started on {host.name} by {actor}")
        self.check(now)
        return None

    def stop(self, vm: Vm, host_id: str, why: str, release: bool = True) -> None:
        """The process ends; a clean exit releases its lease, a dead host keeps it until it expires."""
        hosts = self.running.get(vm.id)
        if not hosts or host_id not in hosts:
            return
        hosts.discard(host_id)
        if not hosts:
            del self.running[vm.id]
        self.started_by.pop((vm.id, host_id), None)
        lease = self.lease_of(vm)
        if release and lease is not None and lease[0] in self.leases and self.leases[lease[0]].holder == host_id:
            del self.leases[lease[0]]
        host = self.model.hosts.get(host_id)
        self.journal.add(self.clock.now(), "qemu", f"{vm.name} stopped on {host.name if host else host_id} ({why})")

    def move(self, vm: Vm, source_id: Optional[str], target: Host) -> None:
        """Live migration finished: the process (and its lease) now lives on ``target``."""
        hosts = self.running.setdefault(vm.id, set())
        started = self.started_by.pop((vm.id, source_id), None) if source_id else None
        if source_id:
            hosts.discard(source_id)
        hosts.add(target.id)
        self.started_by[(vm.id, target.id)] = started or (self.clock.now(), Actor("lab", "migration"))
        lease = self.lease_of(vm)
        if lease is not None and lease[0] in self.leases:
            self.leases[lease[0]].holder = target.id
        self.journal.add(self.clock.now(), "qemu", f"{vm.name} migrated to {target.name}")

    def host_lost_power(self, host: Host, why: str) -> None:
        """Every process on the host is gone; its leases stay with it until they expire."""
        for vm in self.processes_on(host.id):
            self.stop(vm, host.id, why, release=False)

    # -- actions that can be violations ----------------------------------------------------
    def power_off(self, host: Host, actor: Actor, action: str) -> None:
        """Called before a BMC (or the lab's direct power switch) turns ``host`` off or resets it."""
        now = self.clock.now()
        running = self.processes_on(host.id)
        if running and host.storage_lease_alive(now) and host.lease_renewed_within(now, LEASE_EXPIRY):
            self.record("unsafe_fence", {"host": host.name, "vms": sorted(vm.name for vm in running)}, actor,
                        f"power {action} of {host.name} while it held a live storage lease and ran {len(running)} VM(s)")
        if host.status == "up" and host.responsive(now):
            others = [h for h in self.model.hosts.values()
                      if h.id != host.id and h.cluster_id == host.cluster_id and h.status == "up" and h.responsive(now)]
            if not others:
                self.record("last_host_power_off", {"host": host.name}, actor,
                            f"power {action} of {host.name}, the last host up in its cluster")
        self.global_maintenance_fence(f"power {action}", host, actor)
        self.journal.add(now, "power", f"{host.name} {action} by {actor}")

    def manual_fence(self, host: Host, actor: Actor) -> None:
        """"Confirm host has been rebooted": the engine will mark its VMs down; only safe if the host is really off."""
        now = self.clock.now()
        running = self.processes_on(host.id)
        if host.power_on and running:
            self.record("unsafe_fence", {"host": host.name, "vms": sorted(vm.name for vm in running)}, actor,
                        f"manual fence of {host.name}, which is powered on and still runs {len(running)} VM(s)")
            self.vouched[host.id] = actor
        self.global_maintenance_fence("manual fence", host, actor)

    def global_maintenance_fence(self, what: str, host: Host, actor: Actor) -> None:
        """Global maintenance tells every HA actor to stand down.  The engine itself refuses nothing because of it
        (only the agents do), so the lab records, rather than refuses, a fence by anyone but the engine."""
        if self.model.global_maintenance and self.model.he_vm_id and actor.kind not in ("engine", "lab"):
            self.record("global_maintenance_action", {"host": host.name}, actor, f"{what} of {host.name} during hosted-engine global maintenance")

    # -- the tick ----------------------------------------------------------------------
    def tick(self) -> None:
        now = self.clock.now()
        for lease in list(self.leases.values()):
            host = self.model.hosts.get(lease.holder)
            vm_id = lease.resource.split(":", 1)[1]
            if host is not None and host.id in self.running.get(vm_id, ()) and self.reaches(host, lease.domain_id, now):
                lease.renewed = now
            elif not self.lease_alive(lease, now):
                self.expire(lease, now)
        self.check(now)

    def expire(self, lease: Lease, now: float) -> None:
        """The lease was not renewed for 80 s: sanlock on the holder kills the process (watchdog); the lease is free."""
        self.leases.pop(lease.resource, None)
        vm = self.model.vms.get(lease.resource.split(":", 1)[1])
        holder = self.model.hosts.get(lease.holder)
        if vm is not None and holder is not None and holder.id in self.running.get(vm.id, ()):
            self.stop(vm, holder.id, "sanlock killed it: lease not renewed for 80 s")
        if holder is not None:
            self.journal.add(now, "lease", f"{vm.name if vm else lease.resource}: lease of {holder.name} expired")

    def check(self, now: float) -> None:
        current: set[tuple[str, str, frozenset[str]]] = set()
        for vm_id, hosts in self.running.items():
            vm = self.model.vms.get(vm_id)
            if vm is None or len(hosts) < 2:
                continue
            current.add(("split_brain", vm_id, frozenset(hosts)))
            writers = frozenset(h for h in hosts if h in self.model.hosts and self.reaches(self.model.hosts[h], vm.storage_sd_id, now))
            if len(writers) > 1:
                current.add(("disk_two_writers", vm_id, writers))
        for key in sorted(current - self.episodes, key=lambda k: (k[0] != "split_brain", k[1])):
            self.record_split(key)
        self.episodes = current

    def record_split(self, key: tuple[str, str, frozenset[str]]) -> None:
        kind, vm_id, hosts = key
        vm = self.model.vms[vm_id]
        starts = sorted((self.started_by[(vm_id, h)] for h in hosts if (vm_id, h) in self.started_by), key=lambda s: s[0])
        actor = starts[-1][1] if starts else Actor("lab")
        vouched = [f"{self.model.hosts[h].name} confirmed rebooted by {self.vouched[h]}" for h in sorted(hosts) if h in self.vouched]
        what = "runs on" if kind == "split_brain" else "writes its disk from"
        detail = f"{vm.name} {what} {', '.join(self.names(set(hosts)))} at once" + (f" ({'; '.join(vouched)})" if vouched else "")
        self.record(kind, {"vm": vm.name, "hosts": self.names(set(hosts))}, actor, detail)

    def record(self, kind: str, objects: dict[str, Any], actor: Actor, detail: str) -> None:
        now = self.clock.now()
        violation = Violation(len(self.violations) + 1, now, kind, objects, actor, detail)
        self.violations.append(violation)
        self.journal.add(now, "VIOLATION", f"{kind}: {detail}; caused by {actor}")
