"""The lab engine: validations and state changes for the API's actions, with the engine's wording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tests.lab import actors
from tests.lab.clock import Clock
from tests.lab.errors import ApiError, conflict
from tests.lab.model import Host, Model, Vm
from tests.lab.truth import Truth

RUNNING_VM = ("up", "powering_up", "powering_down", "migrating", "reboot_in_progress", "paused", "wait_for_launch", "unknown",
              "not_responding")
QUICK_SECONDS = 2.0
# vdsm and the host's own processes: not schedulable for VMs (max_scheduling_memory = memory - this)
HOST_RESERVED_MEMORY = 8 * 1024 ** 3
VM_UNKNOWN_RUN = "Cannot run VM because the VM is in Unknown status."


@dataclass
class Features:
    """The engine's own HA behaviours; each can be switched off (POST /lab/engine-ha)."""

    monitoring: bool = True
    soft_fence: bool = True
    power_fence: bool = True
    fencing_policy: bool = True
    startup_delay: bool = True
    quiet_time: bool = True
    ha_restart: bool = True
    lease_restart: bool = True
    he_agents: bool = True
    spm_election: bool = True

    def as_dict(self) -> dict[str, bool]:
        return dict(self.__dict__)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dict__ or not isinstance(value, bool):
                raise ValueError(f"unknown engine-ha feature or non-boolean value: {key}")
            setattr(self, key, value)


@dataclass
class Timing:
    """Engine defaults (seconds of lab time)."""

    grace_base: float = 60.0
    grace_spm: float = 20.0
    grace_per_vm: float = 0.5
    monitor_interval: float = 3.0
    soft_fence: float = 60.0
    startup: float = 300.0
    quiet: float = 180.0
    ha_retry: float = 30.0
    ha_retries: int = 10
    ha_long_retry: float = 1800.0
    lease_expiry: float = 80.0
    # the engine's wait after the last storage lease renewal before it fences with skip-if-SD-active
    sd_active_wait: float = 90.0
    # VMs with a lease on a non-responsive host: first restart try after ~10 host refreshes, then every 100
    lease_first_try: float = 20.0
    lease_retry: float = 200.0
    priority_wait: float = 600.0
    quick: float = QUICK_SECONDS
    extra: dict[str, float] = field(default_factory=dict)

    def update(self, values: dict[str, Any]) -> None:
        """Override defaults (a layout's ``engine_timing``), e.g. to show that a scenario depends on one."""
        for key, value in values.items():
            if key not in self.__dataclass_fields__ or key == "extra" or not isinstance(value, (int, float)):
                raise ValueError(f"unknown engine timing or non-numeric value: {key}")
            setattr(self, key, type(getattr(self, key))(value))


class Engine:
    """Owns the model's rules.  Methods expect ``model.lock`` to be held."""

    def __init__(self, model: Model, clock: Clock, truth: Truth, features: Optional[Features] = None) -> None:
        self.model = model
        self.clock = clock
        self.truth = truth
        self.features = features or Features()
        self.timing = Timing(quick=0.0 if clock.virtual else QUICK_SECONDS)
        self.pending: set[Any] = set()
        self.restart_queue: set[Vm] = set()

    # -- helpers ---------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def event(self, code: int, severity: str, text: str, host: Optional[Host] = None, vm: Optional[Vm] = None) -> None:
        cluster_id = host.cluster_id if host else (vm.cluster_id if vm else None)
        self.model.add_event(code, severity, text, self.now(), host_id=host.id if host else None, vm_id=vm.id if vm else None,
                             cluster_id=cluster_id)

    def user(self) -> str:
        return self.model.username.split("@")[0] + "@internal-authz"

    def schedule(self, obj: Any, status: str, final: str, seconds: Optional[float] = None) -> None:
        """Move ``obj`` to ``status`` now and to ``final`` after a short transition (immediately on the virtual clock)."""
        delay = self.timing.quick if seconds is None else seconds
        if delay <= 0:
            obj.status = final
            obj.transition_due = None
            if isinstance(obj, Host) and final == "maintenance":
                self.finish_host_now(obj)
            return
        obj.status = status
        obj.transition_due = self.now() + delay
        obj.transition_to = final
        self.pending.add(obj)

    def up_hosts(self, cluster_id: str, exclude: Optional[str] = None) -> list[Host]:
        return [h for h in self.model.hosts.values()
                if h.cluster_id == cluster_id and h.status == "up" and h.id != exclude and h.responsive(self.now())]

    def free_memory(self, host: Host) -> int:
        """What the scheduler's memory filter sees: the host's schedulable memory minus the VMs the engine has on it."""
        used = sum(vm.memory for vm in self.model.vms_on(host.id) if vm.status != "down")
        return host.memory - HOST_RESERVED_MEMORY - used

    def pick_host(self, vm: Vm, exclude: Optional[str] = None) -> Optional[Host]:
        candidates = [h for h in self.up_hosts(vm.cluster_id, exclude) if self.free_memory(h) >= vm.memory]
        if vm.placement_hosts:
            preferred = [h for h in candidates if h.id in vm.placement_hosts]
            if preferred or vm.affinity == "pinned":
                candidates = preferred
        if not candidates:
            return None
        load: dict[str, int] = {h.id: 0 for h in candidates}
        for other in self.model.vms.values():
            if other.host_id in load and other.status != "down":
                load[other.host_id] += 1
        return min(candidates, key=lambda h: (load[h.id], h.name))

    def no_host_message(self, vm: Vm, exclude: Optional[str] = None) -> str:
        """The engine's scheduling error: which filter rejected which host."""
        lines = []
        for host in sorted(self.model.hosts.values(), key=lambda h: h.name):
            if host.cluster_id != vm.cluster_id or host.id == exclude:
                continue
            if host.status != "up" or not host.responsive(self.now()):
                continue
            if vm.placement_hosts and vm.affinity == "pinned" and host.id not in vm.placement_hosts:
                lines.append(f"The host {host.name} did not satisfy internal filter PinToHost because it is not the host the VM is pinned to.")
            elif self.free_memory(host) < vm.memory:
                lines.append(f"The host {host.name} did not satisfy internal filter Memory because its available memory is too low "
                             f"({max(0, self.free_memory(host)) // 1024 ** 2} MB) to run the VM.")
        if not lines:
            return "Cannot run VM. There are no available running Hosts in the Host Cluster."
        return "Cannot run VM. There is no host that satisfies current scheduling constraints. See below for details:, " + ", ".join(lines)

    def vm_down(self, vm: Vm, error: bool, reason: str = "") -> None:
        """The VM stopped; with ``error`` an HA VM is queued for restart (events 119 and 9602)."""
        host = self.model.hosts.get(vm.host_id) if vm.host_id else None
        vm.status = "down"
        vm.transition_due = None
        vm.migrate_to = None
        vm.stop_time = self.now()
        vm.stop_reason = reason
        vm.down_with_error = error
        vm.paused_by_storage = False
        vm.host_id = None
        if vm.hosted_engine:
            return
        if error:
            self.event(119, "error", f"VM {vm.name} is down with error. Exit message: {reason or 'VM was killed'}.", host, vm)
            if vm.ha_enabled:
                self.event(9602, "error", f"Highly Available VM {vm.name} failed. It will be restarted automatically.", host, vm)
                vm.restart_attempts = 0
                vm.restart_due = self.now()
                vm.restart_queued = self.now()
                self.restart_queue.add(vm)
        else:
            vm.restart_due = None

    def run_vm(self, vm: Vm, host: Host) -> Optional[str]:
        """vdsm creates the VM on ``host``; returns vdsm's error when qemu could not start (a lease held elsewhere)."""
        error = self.truth.start(vm, host, actors.current())
        if error is not None:
            return error
        vm.host_id = host.id
        vm.start_time = self.now()
        vm.down_with_error = False
        vm.restart_due = None
        vm.stop_reason = ""
        self.schedule(vm, "powering_up", "up")
        return None

    def elect_spm(self) -> None:
        for dc_id in self.model.data_centers:
            hosts = [h for h in self.model.hosts.values() if self.model.clusters[h.cluster_id].data_center_id == dc_id]
            if any(h.spm == "spm" for h in hosts):
                continue
            ready = [h for h in hosts if h.status == "up" and h.responsive(self.now()) and h.spm_priority >= 0]
            if ready:
                best = max(ready, key=lambda h: (h.spm_priority, -int(h.name[-3:]) if h.name[-3:].isdigit() else 0))
                best.spm = "spm"

    # -- hosts -----------------------------------------------------------------
    def host_deactivate(self, host: Host) -> None:
        if host.status == "maintenance":
            raise conflict("Cannot switch Host to Maintenance mode. Host is already in Maintenance mode.")
        running = [vm for vm in self.model.vms_on(host.id) if vm.status in RUNNING_VM]
        if host.status == "non_responsive":
            if running:
                raise conflict("Cannot switch Host to Maintenance mode.\nHost still has running VMs on it and is in Non Responsive state.")
            if host.spm == "spm":
                raise conflict("Cannot switch Host to Maintenance mode.\nHost is Storage Pool Manager and is in Non Responsive state.\n"
                               "- If power management is configured, engine will try to fence the host automatically.\n"
                               "- Otherwise, either bring the node back up, or release the SPM resource.")
        if host.status in ("installing", "reboot", "preparing_for_maintenance", "connecting"):
            raise conflict("Cannot maintenance Host. Operation can be performed only when Host status is Up, Non Operational, "
                           "Non Responsive, Error or Install Failed.")
        pinned = [vm.name for vm in running if vm.affinity == "pinned" and not vm.hosted_engine]
        if pinned:
            raise conflict(f"Cannot switch the following Hosts to Maintenance mode: {host.name}.\nOne or more running VMs are indicated as "
                           f"non-migratable. The non-migratable VMs are: {', '.join(pinned)}.")
        host.spm = "none"
        if host.he_configured:
            host.he_local_maintenance = True
        for vm in running:
            target = self.pick_host(vm, exclude=host.id)
            if target is not None and vm.status == "up":
                self.migrate(vm, target)
        self.event(600, "normal", f"Host {host.name} was switched to Maintenance mode by {self.user()}.", host)
        self.schedule(host, "preparing_for_maintenance", "maintenance")
        self.elect_spm()

    def host_activate(self, host: Host) -> None:
        if host.status == "up":
            raise conflict("Cannot activate Host. Host in Up status.")
        if host.status == "non_responsive":
            raise conflict("Cannot activate Host. Host is in non responsive state.")
        if host.status in ("installing", "reboot", "preparing_for_maintenance"):
            raise conflict("Cannot activate Host. Operation can be performed only when Host status is Maintenance, Non Operational, "
                           "Non Responsive, Error or Install Failed.")
        host.he_local_maintenance = False
        host.fence_state = ""
        self.event(16, "normal", f"Activation of host {host.name} initiated by {self.user()}.", host)
        if host.responsive(self.now()):
            self.schedule(host, "unassigned", "up")
        else:
            host.status = "non_responsive"
            host.fail_since = self.now()

    def host_install(self, host: Host, deploy_he: Optional[bool], undeploy_he: Optional[bool], activate: Optional[bool]) -> None:
        if host.status not in ("maintenance", "install_failed", "non_operational", "down"):
            raise conflict("Cannot install Host. Please move Host to Maintenance mode first.")
        if deploy_he:
            host.he_configured = True
            if not host.he_host_id:
                used = {h.he_host_id for h in self.model.hosts.values()}
                host.he_host_id = next(i for i in range(1, 2001) if i not in used)
            host.he_agent_stopped = False
        elif undeploy_he:
            host.he_configured = False
            host.he_agent_stopped = True
        final = "maintenance" if activate is False else "up"
        if final == "up":
            host.he_local_maintenance = False
        self.schedule(host, "installing", final, None if self.clock.virtual else 5.0)

    # -- VMs -------------------------------------------------------------------
    def vm_start(self, vm: Vm, host: Optional[Host]) -> None:
        if vm.hosted_engine:
            raise ApiError(400, "[Cannot run VM. This VM is not managed by the engine.]")
        if vm.status == "unknown":
            raise conflict(VM_UNKNOWN_RUN)
        if vm.status != "down":
            raise conflict("Cannot run VM. VM is running.")
        if vm.lease_sd_id:
            domain = self.model.storage_domains.get(vm.lease_sd_id)
            if domain is None or domain.status != "active":
                raise conflict("Cannot run VM. The relevant Storage Domain is inaccessible.\n-Please handle Storage Domain issues and retry "
                               "the operation.")
        if host is not None and (host.cluster_id != vm.cluster_id or host.status != "up" or not host.responsive(self.now())
                                 or self.free_memory(host) < vm.memory):
            target = None
        else:
            target = host if host is not None else self.pick_host(vm)
        if target is None:
            raise conflict(self.no_host_message(vm))
        error = self.run_vm(vm, target)
        if error is not None:
            # vdsm failed to create it (sanlock refused the lease): the engine gives up after trying the host
            self.event(119, "error", f"VM {vm.name} is down with error. Exit message: {error}.", target, vm)
            self.event(54, "error", f"Failed to run VM {vm.name} (User: {self.user()}).", target, vm)
            return
        self.event(153, "normal", f"VM {vm.name} was started by {self.user()} (Host: {target.name}).", target, vm)

    def vm_stop(self, vm: Vm, reason: str = "", graceful: bool = False) -> None:
        verb = "shutdown" if graceful else "stop"
        if vm.hosted_engine:
            raise ApiError(400, f"[Cannot {verb} VM. This VM is not managed by the engine.]")
        if vm.status == "down":
            raise conflict(f"Cannot {verb} VM. VM is not running.")
        host = self.model.hosts.get(vm.host_id) if vm.host_id else None
        host_name = host.name if host else "N/A"
        if vm.status == "unknown":
            raise conflict(f"Cannot {verb} VM. VM is not running.")
        if host is not None and not host.responsive(self.now()):
            # vdsm on the VM's host does not answer: the destroy never reaches qemu, the engine's view stays as it was
            self.event(56, "error", f"Failed to power off VM {vm.name} (Host: {host_name}, User: {self.user()}).", host, vm)
            raise ApiError(400, "[Network error during communication with the Host.]")
        if graceful:
            self.event(73, "normal", f"VM shutdown initiated by {self.user()} on VM {vm.name} (Host: {host_name}).", host, vm)
            if self.timing.quick > 0:
                vm.status = "powering_down"
                vm.transition_due = self.now() + self.timing.quick
                vm.transition_to = "down"
                vm.stop_reason = reason
                self.pending.add(vm)
                return
        else:
            self.event(33, "normal", f"VM {vm.name} powered off by {self.user()} (Host: {host_name}).", host, vm)
        self.stop_process(vm, "powered off" if not graceful else "shut down")
        self.vm_down(vm, error=False, reason=reason)

    def stop_process(self, vm: Vm, why: str) -> None:
        if vm.host_id:
            self.truth.stop(vm, vm.host_id, why)

    def vm_migrate(self, vm: Vm, host: Optional[Host]) -> None:
        if vm.status != "up":
            raise conflict("Cannot migrate VM. VM is not running.")
        if vm.affinity == "pinned":
            raise conflict("Cannot migrate VM. VM is pinned to Host.")
        if host is not None and host.id == vm.host_id:
            raise conflict("Cannot migrate VM. source and destination is the same.")
        if host is not None and host.cluster_id != vm.cluster_id:
            raise conflict("Cannot migrate VM. Destination host is not present in destination cluster.")
        target = host if host is not None else self.pick_host(vm, exclude=vm.host_id)
        if target is None or target.status != "up":
            raise conflict("Cannot migrate VM. There are no available running Hosts in the Host Cluster.")
        self.migrate(vm, target)

    def migrate(self, vm: Vm, target: Host) -> None:
        source = self.model.hosts.get(vm.host_id) if vm.host_id else None
        self.event(62, "normal", f"Migration started (VM: {vm.name}, Source: {source.name if source else 'N/A'}, Destination: "
                   f"{target.name}, User: {self.user()}).", source, vm)
        if self.timing.quick <= 0:
            self.truth.move(vm, vm.host_id, target)
            vm.host_id = target.id
            return
        vm.migrate_to = target.id
        vm.status = "migrating"
        vm.transition_due = self.now() + self.timing.quick
        vm.transition_to = "up"
        self.pending.add(vm)

    def set_global_maintenance(self, vm: Vm, enabled: bool) -> None:
        if not vm.hosted_engine:
            raise conflict("Cannot maintenance VM. This VM is not a Hosted Engine VM.")
        self.model.global_maintenance = enabled

    # -- transitions (called every tick) -------------------------------------
    def finish_transitions(self) -> None:
        now = self.now()
        for obj in list(self.pending):
            if obj.transition_due is None:
                self.pending.discard(obj)
            elif now >= obj.transition_due and isinstance(obj, Host):
                self.finish_host(obj, now)
            elif now >= obj.transition_due and isinstance(obj, Vm):
                self.finish_vm(obj)

    def finish_host_now(self, host: Host) -> None:
        """Virtual clock: a host whose VMs could not all migrate stays preparing_for_maintenance."""
        if any(vm.status in RUNNING_VM for vm in self.model.vms_on(host.id)):
            host.status = "preparing_for_maintenance"
            host.transition_to = "maintenance"
            host.transition_due = self.now()
            self.pending.add(host)
        else:
            self.event(15, "normal", f"Host {host.name} was switched to Maintenance Mode.", host)

    def finish_host(self, host: Host, now: float) -> None:
        host.transition_due = None
        self.pending.discard(host)
        if host.transition_to == "maintenance" and any(vm.status in RUNNING_VM for vm in self.model.vms_on(host.id)):
            host.transition_due = now + 1.0
            self.pending.add(host)
            return
        host.status = host.transition_to
        if host.status == "maintenance":
            self.event(15, "normal", f"Host {host.name} was switched to Maintenance Mode.", host)

    def finish_vm(self, vm: Vm) -> None:
        self.pending.discard(vm)
        vm.transition_due = None
        if vm.status == "migrating" and vm.migrate_to:
            target = self.model.hosts[vm.migrate_to]
            self.truth.move(vm, vm.host_id, target)
            vm.host_id = target.id
            vm.migrate_to = None
        if vm.transition_to == "down":
            self.stop_process(vm, "shut down")
            self.vm_down(vm, error=False, reason=vm.stop_reason)
        else:
            vm.status = vm.transition_to
