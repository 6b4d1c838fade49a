"""Fence operations: the API's fence action (status/start/stop/restart/manual) and the engine's own power fence.

The model lock is released while the fence agent runs (ipmitool against the host's BMC through a proxy host).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Iterator, Optional

from tests.lab import actors
from tests.lab.actors import ENGINE
from tests.lab.engine import Engine
from tests.lab.errors import ApiError, conflict, not_found
from tests.lab.fencing import FenceResult, PowerAgentRunner
from tests.lab.model import FenceAgent, Host


MANUAL_FENCE_STATUSES = ("down", "install_failed", "maintenance", "non_operational", "non_responsive", "reboot", "installing", "connecting",
                         "kdumping")


class Fencer:
    def __init__(self, engine: Engine, runner: PowerAgentRunner) -> None:
        self.engine = engine
        self.model = engine.model
        self.runner = runner

    # -- validation (lock held) ---------------------------------------------------
    def proxy_for(self, host: Host) -> Optional[Host]:
        now = self.engine.now()
        dc_id = self.model.clusters[host.cluster_id].data_center_id
        for other in sorted(self.model.hosts.values(), key=lambda h: (h.cluster_id != host.cluster_id, h.name)):
            if other.id != host.id and other.status == "up" and other.responsive(now) \
                    and self.model.clusters[other.cluster_id].data_center_id == dc_id:
                return other
        return None

    def validate(self, host: Host, action: str, internal: bool) -> tuple[list[FenceAgent], Host]:
        if not host.pm_enabled:
            raise conflict("Cannot fence Host, Host fence is disabled.")
        agents = self.model.agents_of(host.id)
        if not agents:
            raise conflict(f"Cannot {action} Host. Power Management is enabled for Host but no Agent type selected.")
        now = self.engine.now()
        timing = self.engine.timing
        if action != "status" and self.engine.features.startup_delay and now - self.model.engine_started_at < timing.startup \
                and host.id != self.model.previous_he_host_id:
            raise conflict("Fence is disabled due to the Engine Service start up sequence.")
        if action in ("restart", "start", "stop") and not internal and self.engine.features.quiet_time and host.last_power_op is not None:
            left = int(host.last_power_op + timing.quiet - now)
            if left > 0:
                raise conflict(f"Another Power Management operation is still running, please retry in {left} Sec.")
        if action == "start":
            if host.status == "connecting":
                raise conflict("Due to intermittent connectivity to this Host, fence operations are not allowed at this time. The system is "
                               "trying to reconnect, please try again in 30 seconds.")
            if host.status not in ("down", "non_responsive", "reboot", "maintenance"):
                raise conflict("Cannot perform Start operation, Host has to be in one of the following statuses: Down ,Non Responsive or "
                               "Maintenance.")
        if action == "stop" and host.status != "maintenance":
            raise conflict("Cannot perform Stop operation, Host has to be in Maintenance mode in order to be stopped.")
        proxy = self.proxy_for(host)
        if proxy is None:
            raise conflict(f"Cannot {action} Host.\nThere is no other Host in the Data Center that can be used to test the Power "
                           f"Management settings.")
        return [copy.copy(a) for a in agents], proxy

    # -- agent calls (no lock) --------------------------------------------------------
    @contextlib.contextmanager
    def _on_behalf(self, host_id: str, internal: bool) -> Iterator[None]:
        """The power commands the fence agent sends to this host's BMC are the engine's (or its API caller's)."""
        actor = ENGINE if internal else actors.current()
        truth = self.engine.truth
        with self.model.lock:
            truth.power_intent[host_id] = actor
        try:
            yield
        finally:
            with self.model.lock:
                if truth.power_intent.get(host_id) is actor:
                    del truth.power_intent[host_id]

    def _power(self, agents: list[FenceAgent], action: str) -> FenceResult:
        last = FenceResult(False, message="no fence agent")
        for agent in agents:
            if action == "status":
                last = self.runner.run(agent, "status")
            else:
                last = self.runner.set_and_verify(agent, action)
            if last.ok:
                return last
        return last

    # -- API ---------------------------------------------------------------------
    def api_fence(self, host_id: str, fence_type: Optional[str]) -> Optional[str]:
        """Run a fence action for the API.  Returns the power status for ``status``."""
        if fence_type not in ("status", "start", "stop", "restart", "manual"):
            raise ApiError(400, "Action [fenceType] required for fence" if not fence_type else
                           f"Invalid value '{fence_type}' for fence type", reason="Incomplete parameters" if not fence_type else "Invalid value")
        if fence_type == "manual":
            with self.model.lock:
                host = self._host(host_id)
                self.manual(host)
            return None
        with self.model.lock:
            host = self._host(host_id)
            agents, proxy = self.validate(host, fence_type, internal=False)
            proxy_name = proxy.name
            name = host.name
        if fence_type == "status":
            result = self._power(agents, "status")
            return result.power if result.ok else "unknown"
        if fence_type == "restart":
            ok, message = self.restart(host_id, agents, proxy_name, internal=False)
        elif fence_type == "start":
            ok, message = self.start(host_id, agents, proxy_name)
        else:
            ok, message = self.stop(host_id, agents, proxy_name)
        if not ok:
            raise conflict(f"Cannot {fence_type} Host. Fence operation failed.", message or f"Fence of {name} failed")
        return None

    def _host(self, host_id: str) -> Host:
        host = self.model.hosts.get(host_id)
        if host is None:
            raise not_found()
        return host

    def _started(self, host: Host, action: str, agents: list[FenceAgent], proxy_name: str) -> None:
        host.last_power_op = self.engine.now()
        agent = agents[0]
        self.engine.event(9020, "normal", f"Executing power management {action} on Host {host.name} using Proxy Host {proxy_name} and "
                          f"Fence Agent {agent.type}:{agent.address}.", host)

    def _failed(self, host: Host, action: str, agents: list[FenceAgent], proxy_name: str, result: FenceResult) -> None:
        agent = agents[0]
        self.engine.event(9021, "warning", f"Execution of power management {action} on Host {host.name} using Proxy Host {proxy_name} and "
                          f"Fence Agent {agent.type}:{agent.address} failed.", host)
        if result.power not in ("unknown", ""):
            self.engine.event(9005, "alert", f"Failed to verify Host {host.name} {action} status, Please {action} Host {host.name} manually.",
                              host)

    def clear_vms(self, host: Host) -> None:
        for vm in self.model.vms_on(host.id):
            if vm.status == "down":
                continue
            self.engine.event(143, "normal", f"Vm {vm.name} was shut down due to {host.name} host reboot or manual fence", host, vm)
            self.engine.vm_down(vm, error=True, reason="Host was fenced")
        host.spm = "none"
        self.engine.elect_spm()

    def manual(self, host: Host) -> None:
        """"Confirm host has been rebooted": the engine takes the user's word; VMs down, SPM released."""
        if host.status not in MANUAL_FENCE_STATUSES:
            raise conflict("Cannot confirm 'Host has been rebooted' Host. Valid Host statuses are \"Non operational\", \"Maintenance\" or "
                           "\"Connecting\".")
        self.engine.truth.manual_fence(host, actors.current())
        self.engine.event(494, "normal", f"Manual fence for host {host.name} was started.", host)
        self.clear_vms(host)
        self.engine.event(348, "normal", f"All VMs' status on Non Responsive Host {host.name} were changed to 'Down' by {self.engine.user()}",
                          host)

    def restart(self, host_id: str, agents: list[FenceAgent], proxy_name: str, internal: bool) -> tuple[bool, str]:
        with self._on_behalf(host_id, internal):
            return self._restart(host_id, agents, proxy_name, internal)

    def _restart(self, host_id: str, agents: list[FenceAgent], proxy_name: str, internal: bool) -> tuple[bool, str]:
        with self.model.lock:
            host = self._host(host_id)
            was_maintenance = host.status == "maintenance"
            self._started(host, "restart", agents, proxy_name)
        status = self._power(agents, "status")
        if not (status.ok and status.power == "off"):
            stopped = self._power(agents, "off")
            if not stopped.ok:
                with self.model.lock:
                    self._failed(host, "stop", agents, proxy_name, stopped)
                    host.status = "non_responsive"
                    if internal:
                        self.engine.event(9002, "alert", f"Failed to power fence host {host.name}. Please check the host status and it's power "
                                          f"management settings, and then manually reboot it and click \"Confirm Host Has Been Rebooted\"", host)
                        self.engine.event(122, "error", f"A restart initiated by the engine to Host {host.name} has failed.", host)
                    else:
                        self.engine.event(107, "error", f"Failed to restart Host {host.name}, (User: {self.engine.user()}).", host)
                return False, stopped.message
        with self.model.lock:
            host.status = "reboot"
            self.clear_vms(host)
        started = self._power(agents, "on")
        with self.model.lock:
            host.last_power_op = self.engine.now()
            if not started.ok:
                self._failed(host, "start", agents, proxy_name, started)
                host.status = "non_responsive"
                return False, started.message
            host.status = "maintenance" if was_maintenance else "non_responsive"
            host.fence_state = "rebooted"
            host.fail_since = self.engine.now()
            if internal:
                self.engine.event(121, "normal", f"Host {host.name} was restarted by the engine.", host)
            else:
                self.engine.event(41, "normal", f"Host {host.name} was restarted by {self.engine.user()}.", host)
        return True, ""

    def start(self, host_id: str, agents: list[FenceAgent], proxy_name: str) -> tuple[bool, str]:
        with self._on_behalf(host_id, internal=False):
            return self._start(host_id, agents, proxy_name)

    def _start(self, host_id: str, agents: list[FenceAgent], proxy_name: str) -> tuple[bool, str]:
        with self.model.lock:
            host = self._host(host_id)
            self._started(host, "start", agents, proxy_name)
            if host.status != "maintenance":
                host.status = "non_responsive"
        result = self._power(agents, "on")
        with self.model.lock:
            if not result.ok:
                self._failed(host, "start", agents, proxy_name, result)
                self.engine.event(118, "error", f"Failed to start Host {host.name}, (User: {self.engine.user()}).", host)
                return False, result.message
            host.fail_since = self.engine.now()
            self.engine.event(20, "normal", f"Host {host.name} was started by {self.engine.user()}.", host)
        return True, ""

    def stop(self, host_id: str, agents: list[FenceAgent], proxy_name: str) -> tuple[bool, str]:
        with self._on_behalf(host_id, internal=False):
            return self._stop(host_id, agents, proxy_name)

    def _stop(self, host_id: str, agents: list[FenceAgent], proxy_name: str) -> tuple[bool, str]:
        with self.model.lock:
            host = self._host(host_id)
            self._started(host, "stop", agents, proxy_name)
        result = self._power(agents, "off")
        with self.model.lock:
            if not result.ok:
                self._failed(host, "stop", agents, proxy_name, result)
                self.engine.event(137, "error", f"Failed to stop Host {host.name}, (User: {self.engine.user()}).", host)
                return False, result.message
            host.status = "down"
            self.clear_vms(host)
            self.engine.event(21, "normal", f"Host {host.name} was stopped by {self.engine.user()}.", host)
        return True, ""
