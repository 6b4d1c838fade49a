"""The engine's own HA behaviour, run on every clock tick.

Host monitoring (up -> connecting for the grace period -> non_responsive), soft fence, power fence through a
proxy host with the cluster fencing policy, no fencing in the first 300 s after engine start, 180 s quiet time,
HA VM restart by priority with retries, VM leases, SPM election.  Every piece can be switched off (Features).
"""

from __future__ import annotations

import threading
from typing import Callable

from tests.lab.engine import RUNNING_VM, Engine
from tests.lab.engine_fence import Fencer
from tests.lab.errors import ApiError
from tests.lab.model import Host, Vm

MONITORED = ("up", "connecting", "non_responsive", "initializing", "unassigned", "non_operational")


class HaMonitor:
    def __init__(self, engine: Engine, fencer: Fencer) -> None:
        self.engine = engine
        self.model = engine.model
        self.fencer = fencer
        self.jobs: list[Callable[[], None]] = []
        self.running_fences: set[str] = set()
        self._fence_lock = threading.Lock()

    def grace(self, host: Host) -> float:
        timing = self.engine.timing
        running = sum(1 for vm in self.model.vms_on(host.id) if vm.status in RUNNING_VM)
        return timing.grace_base + (timing.grace_spm if host.spm == "spm" else 0.0) + timing.grace_per_vm * running

    # -- the tick (model lock held); returns fence jobs to run without the lock ---------------------------------
    def tick(self) -> list[Callable[[], None]]:
        self.jobs = []
        engine = self.engine
        engine.finish_transitions()
        now = engine.now()
        for host in self.model.hosts.values():
            host.renew_lease(now)
        if engine.features.monitoring and self.model.engine_up:
            for host in list(self.model.hosts.values()):
                if host.status in MONITORED:
                    self.monitor(host)
        if engine.features.spm_election:
            engine.elect_spm()
        if engine.features.ha_restart and self.model.engine_up:
            self.restart_ha_vms()
        return self.jobs

    def monitor(self, host: Host) -> None:
        engine = self.engine
        now = engine.now()
        if host.responsive(now):
            if host.status != "up":
                previous = host.status
                host.status = "up"
                host.fail_since = None
                host.failed_checks = 0
                host.fence_state = ""
                for vm in self.model.vms_on(host.id):
                    if vm.status == "unknown":
                        vm.status = "up"
                if previous in ("non_responsive", "connecting"):
                    engine.event(13, "normal", f"Status of host {host.name} was set to Up.", host)
            return
        if host.status in ("up", "initializing", "unassigned", "non_operational"):
            host.status = "connecting"
            host.fail_since = now
            host.failed_checks = 1
            engine.event(9008, "warning", f"Host {host.name} is not responding. It will stay in Connecting state for a grace period of "
                         f"{int(self.grace(host))} seconds and after that an attempt to fence the host will be issued.", host)
            return
        assert host.fail_since is not None or host.status == "non_responsive"
        since = host.fail_since if host.fail_since is not None else now
        host.failed_checks = max(host.failed_checks, int((now - since) / engine.timing.monitor_interval) + 1)
        if host.status == "connecting":
            if now - since >= self.grace(host) and host.failed_checks >= 2:
                host.status = "non_responsive"
                engine.event(12, "error", f"Host {host.name} is non responsive.", host)
                for vm in self.model.vms_on(host.id):
                    if vm.status in RUNNING_VM and not vm.hosted_engine:
                        vm.status = "unknown"
                host.fence_state = "pending"
            return
        self.lease_vms(host, now, since)
        self.treat(host, now)

    def lease_vms(self, host: Host, now: float, since: float) -> None:
        """HA VMs with a storage lease restart elsewhere once the lease expired, without fencing."""
        if not self.engine.features.lease_restart or now - since < self.engine.timing.lease_expiry:
            return
        for vm in self.model.vms_on(host.id):
            if vm.lease_sd_id and vm.ha_enabled and vm.status != "down":
                domain = self.model.storage_domains.get(vm.lease_sd_id)
                if domain is not None and domain.status == "active":
                    self.engine.vm_down(vm, error=True, reason="Lease expired on a non responsive host")

    def treat(self, host: Host, now: float) -> None:
        engine = self.engine
        features = engine.features
        timing = engine.timing
        state = host.fence_state
        if state == "pending":
            if features.startup_delay and now - self.model.engine_started_at < timing.startup and host.id != self.model.previous_he_host_id:
                # one shot, as in the engine: the host stays non responsive until it answers again or someone fences it
                engine.event(9003, "alert", f"Host {host.name} became non responsive. Fence operation skipped as the system is still "
                             f"initializing and this is not a host where hosted engine was running on previously.", host)
                host.fence_state = "skipped_startup"
                return
            if features.soft_fence and host.power_on and host.network_ok:
                # SSH soft fence: restart vdsm, then wait (at most the soft fence time) for the host to come up
                host.fence_state = "soft"
                host.fence_due = now + timing.soft_fence
                if host.ssh_reachable(now):
                    host.restart_vdsm()
                return
            host.fence_state = "power_pending"
        if state == "soft":
            if now < host.fence_due:
                return
            engine.event(198, "error", f"Soft fencing on host {host.name} failed.", host)
            host.fence_state = "power_pending"
        if host.fence_state == "no_proxy" and now >= host.fence_due:
            host.fence_state = "power_pending"
        if host.fence_state == "power_pending":
            self.power_fence_decision(host, now)

    def power_fence_decision(self, host: Host, now: float) -> None:
        engine = self.engine
        cluster = self.model.clusters[host.cluster_id]
        if not engine.features.power_fence:
            host.fence_state = "disabled"
            return
        if engine.features.fencing_policy:
            if not cluster.fencing_enabled:
                engine.event(9015, "alert", f"Host {host.name} became Non Responsive and was not restarted due to disabled fencing in the "
                             f"Cluster Fencing Policy.", host)
                host.fence_state = "skipped"
                return
            if cluster.skip_if_connectivity_broken:
                members = [h for h in self.model.hosts.values() if h.cluster_id == cluster.id]
                broken = [h for h in members if h.status in ("connecting", "non_responsive")]
                percent = int(100 * len(broken) / max(1, len(members)))
                if percent >= cluster.connectivity_threshold:
                    engine.event(9013, "alert", f"Host {host.name} became non responsive and was not restarted due to Fencing Policy: "
                                 f"{percent} percents of the Hosts in the Cluster have connectivity issues.", host)
                    host.fence_state = "skipped"
                    return
            if cluster.skip_if_sd_active and host.lease_renewed_within(now, engine.timing.lease_expiry):
                engine.event(9014, "alert", f"Host {host.name} became non responsive and was not restarted due to the Cluster Fencing Policy.",
                             host)
                host.fence_state = "skipped"
                return
        if not host.pm_enabled or not self.model.agents_of(host.id):
            engine.event(9027, "warning", f"Host {host.name} is not responding. Host cannot be fenced automatically because power management "
                         f"for the host is disabled.", host)
            host.fence_state = "no_pm"
            return
        if engine.features.quiet_time and host.last_power_op is not None and now < host.last_power_op + engine.timing.quiet:
            return
        try:
            agents, proxy = self.fencer.validate(host, "restart", internal=True)
        except ApiError:
            if host.fence_state != "no_proxy":
                engine.event(9004, "normal", "There is no other host in the data center that can be used to test the power management "
                             "settings.", host)
            host.fence_state = "no_proxy"
            host.fence_due = now + 60.0
            return
        host.fence_state = "power_running"
        engine.event(539, "normal", f"Auto fence for host {host.name} was started.", host)
        host_id, proxy_name = host.id, proxy.name

        def job() -> None:
            with self._fence_lock:
                if host_id in self.running_fences:
                    return
                self.running_fences.add(host_id)
            try:
                ok, _message = self.fencer.restart(host_id, agents, proxy_name, internal=True)
                with self.model.lock:
                    target = self.model.hosts.get(host_id)
                    if target is not None and not ok:
                        target.fence_state = "failed"
            finally:
                with self._fence_lock:
                    self.running_fences.discard(host_id)

        self.jobs.append(job)

    # -- HA VMs ---------------------------------------------------------------
    def restart_ha_vms(self) -> None:
        engine = self.engine
        now = engine.now()
        due = [vm for vm in self.engine.restart_queue if vm.restart_due is not None and vm.restart_due <= now]
        for vm in sorted(due, key=lambda v: (-v.ha_priority, v.name)):
            self.try_restart(vm, now)

    def try_restart(self, vm: Vm, now: float) -> None:
        engine = self.engine
        timing = engine.timing
        if vm.status != "down" or not vm.ha_enabled:
            vm.restart_due = None
            engine.restart_queue.discard(vm)
            return
        target = engine.pick_host(vm)
        lease_ok = True
        if vm.lease_sd_id:
            domain = self.model.storage_domains.get(vm.lease_sd_id)
            lease_ok = domain is not None and domain.status == "active"
        if target is not None and lease_ok:
            engine.run_vm(vm, target)
            vm.restart_attempts = 0
            engine.restart_queue.discard(vm)
            engine.event(32, "normal", f"VM {vm.name} started on Host {target.name}", target, vm)
            return
        vm.restart_attempts += 1
        engine.event(9603, "error", f"Restart of the Highly Available VM {vm.name} failed.", None, vm)
        if vm.restart_attempts == timing.ha_retries:
            engine.event(9605, "error", f"Highly Available VM {vm.name} could not be restarted automatically, exceeded the maximum number of "
                         f"attempts.", None, vm)
        vm.restart_due = now + (timing.ha_retry if vm.restart_attempts < timing.ha_retries else timing.ha_long_retry)
