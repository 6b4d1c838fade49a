"""The engine's own HA behaviour, run on every clock tick.

Host monitoring (up -> connecting for the grace period -> non_responsive), soft fence, power fence through a
proxy host with the cluster fencing policy, no fencing in the first 300 s after engine start, 180 s quiet time,
HA VM restart by priority with retries, VM leases, SPM election.  Every piece can be switched off (Features).
"""

from __future__ import annotations

import threading
from typing import Callable

from tests.lab.actors import ENGINE, acting
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
        with acting(ENGINE):
            return self._tick()

    def _tick(self) -> list[Callable[[], None]]:
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
                if host.status == "up" and host.responsive(now):
                    self.sync_reported(host, now)
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
                host.lease_try_due = None
                host.non_responsive_since = None
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
                host.non_responsive_since = now
                engine.event(12, "error", f"Host {host.name} is non responsive.", host)
                for vm in self.model.vms_on(host.id):
                    if vm.status in RUNNING_VM and not vm.hosted_engine:
                        vm.status = "unknown"
                host.fence_state = "pending"
            return
        self.lease_vms(host, now)
        self.treat(host, now)

    def sync_reported(self, host: Host, now: float) -> None:
        """What vdsm on a responsive host reports: VMs the engine placed there whose qemu is gone are down with error;
        a VM the engine has as down that runs there is up again on that host."""
        engine = self.engine
        truth = engine.truth
        for vm in self.model.vms_on(host.id):
            if vm.hosted_engine or vm.status not in RUNNING_VM or host.id in truth.hosts_of(vm):
                continue
            reason = "VM was lost when its host lost power" if host.booted_at > vm.start_time else "qemu process ended"
            engine.vm_down(vm, error=True, reason=reason)
        for vm in truth.processes_on(host.id):
            if not vm.hosted_engine and vm.status == "down":
                vm.host_id = host.id
                vm.status = "up"
                vm.down_with_error = False
                vm.restart_due = None
                engine.restart_queue.discard(vm)

    def lease_vms(self, host: Host, now: float) -> None:
        """HA VMs with a storage lease on a non-responsive host: the engine runs them elsewhere without fencing, first
        after ~10 host refreshes, then every 100; sanlock lets the start succeed only once the old lease expired."""
        timing = self.engine.timing
        if host.non_responsive_since is None:
            host.non_responsive_since = now
        since = host.non_responsive_since
        if not self.engine.features.lease_restart or now - since < timing.lease_first_try:
            return
        if host.lease_try_due is not None and now < host.lease_try_due:
            return
        host.lease_try_due = now + timing.lease_retry
        for vm in self.model.vms_on(host.id):
            if not (vm.lease_sd_id and vm.ha_enabled and vm.status in RUNNING_VM):
                continue
            domain = self.model.storage_domains.get(vm.lease_sd_id)
            target = self.engine.pick_host(vm, exclude=host.id)
            if domain is None or domain.status != "active" or target is None:
                continue
            error = self.engine.truth.start(vm, target, ENGINE)
            if error is not None:
                self.engine.event(119, "error", f"VM {vm.name} is down with error. Exit message: {error}.", target, vm)
                continue
            vm.host_id = target.id
            vm.start_time = now
            vm.status = "up"
            self.engine.event(32, "normal", f"VM {vm.name} started on Host {target.name}", target, vm)

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
            if cluster.skip_if_sd_active:
                # the engine waits once until 90 s passed since the host's last good monitoring, then asks the proxy to
                # fence; vdsm on the proxy skips it when the host renewed its storage lease in the last 80 s (no retry)
                last_good = host.fail_since if host.fail_since is not None else now
                if now < last_good + engine.timing.sd_active_wait:
                    return
                if host.lease_renewed_within(now, engine.timing.lease_expiry):
                    engine.event(9014, "alert", f"Host {host.name} became non responsive and was not restarted due to the Cluster Fencing "
                                 f"Policy.", host)
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
        """Due HA VMs, highest priority first; a lower priority waits while a higher one is still queued (600 s at most)."""
        engine = self.engine
        now = engine.now()
        timing = engine.timing
        queued = sorted(engine.restart_queue, key=lambda v: (-v.ha_priority, v.name))
        for vm in queued:
            if vm.restart_due is None or vm.restart_due > now:
                continue
            blocked = any(other.ha_priority > vm.ha_priority and other.status == "down" and other in engine.restart_queue
                          for other in queued)
            if blocked and now - vm.restart_queued < timing.priority_wait:
                continue
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
        error = engine.run_vm(vm, target) if target is not None and lease_ok else "no host"
        if target is not None and error is None:
            vm.restart_attempts = 0
            engine.restart_queue.discard(vm)
            engine.event(32, "normal", f"VM {vm.name} started on Host {target.name}", target, vm)
            return
        if target is not None and error != "no host":
            engine.event(119, "error", f"VM {vm.name} is down with error. Exit message: {error}.", target, vm)
        vm.restart_attempts += 1
        engine.event(9603, "error", f"Restart of the Highly Available VM {vm.name} failed.", None, vm)
        # ten tries 30 s apart, then every 30 minutes, for ever (the engine never gives up on an HA VM)
        vm.restart_due = now + (timing.ha_retry if vm.restart_attempts < timing.ha_retries else timing.ha_long_retry)
