"""Simulated ovirt-ha-agent on every hosted-engine host: scores, states, metadata slots, engine VM fail-over."""

from __future__ import annotations

from typing import Optional

from tests.lab.actors import Actor
from tests.lab.engine import Engine
from tests.lab.he_metadata import HostSlot, MetadataVolume, encode_global, encode_slot
from tests.lab.model import Host, Vm

AGENT_LOOP = 10.0
ENGINE_START = 30.0
LEASE_EXPIRY = 80.0
RETRY_PENALTY_SECONDS = 600.0
TAKEOVER_MARGIN = 800

UP_GOOD = {"vm": "up", "health": "good", "detail": "Up"}
STARTING = {"vm": "up", "health": "bad", "detail": "Powering up", "reason": "failed liveliness check"}
ELSEWHERE = {"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
UNEXPECTED = {"vm": "down_unexpected", "health": "bad", "detail": "Down", "reason": "bad vm status"}


class HostedEngineAgents:
    def __init__(self, engine: Engine, volume: MetadataVolume) -> None:
        self.engine = engine
        self.model = engine.model
        self.volume = volume
        self.penalty_until: dict[str, float] = {}
        self.stopped_written: set[str] = set()
        self.vm_down_since: Optional[float] = None
        self.unreachable_since: Optional[float] = None
        self.last_global: Optional[bool] = None
        self.conf_wall = engine.clock.wall_start

    def he_hosts(self) -> list[Host]:
        return sorted((h for h in self.model.hosts.values() if h.he_configured and h.he_host_id), key=lambda h: h.he_host_id)

    def agent_alive(self, host: Host, now: float) -> bool:
        return host.storage_lease_alive(now) and not host.he_agent_stopped

    def score(self, host: Host, now: float) -> int:
        if host.he_local_maintenance or self.penalty_until.get(host.id, -1.0) > now:
            return 0
        value = 3400
        if not host.mgmt_bridge_ok:
            value -= 1600 + 600
        return max(value, 0)

    def state_of(self, host: Host, vm: Optional[Vm], now: float) -> tuple[str, dict[str, str]]:
        here = vm is not None and vm.host_id == host.id and vm.status != "down"
        if host.he_local_maintenance:
            return "LocalMaintenance", UP_GOOD if here else ELSEWHERE
        if self.penalty_until.get(host.id, -1.0) > now and not here:
            return "EngineUnexpectedlyDown", UNEXPECTED
        if self.model.global_maintenance:
            return "GlobalMaintenance", (UP_GOOD if vm is not None and vm.status == "up" else STARTING) if here else ELSEWHERE
        if here and vm is not None and vm.status == "up":
            return "EngineUp", UP_GOOD
        if here:
            return "EngineStarting", STARTING
        return "EngineDown", ELSEWHERE

    def publish(self, host: Host, now: float) -> None:
        vm = self.model.he_vm()
        state, status = self.state_of(host, vm, now)
        host.he_score = self.score(host, now)
        host.he_state = state
        host.he_agent_ts = int(now - host.booted_at)
        host.he_last_write = now
        if host.he_metadata_stale:
            return
        slot = HostSlot(host_id=host.he_host_id, timestamp=host.he_agent_ts, score=host.he_score, engine_status=status,
                        hostname=host.address, local_maintenance=host.he_local_maintenance, stopped=False, local_conf_timestamp=2345,
                        state=state, wall_time=self.engine.clock.wall(), conf_wall_time=self.conf_wall)
        self.volume.write(host.he_host_id, encode_slot(slot))
        self.stopped_written.discard(host.id)

    def publish_stopped(self, host: Host, now: float) -> None:
        slot = HostSlot(host_id=host.he_host_id, timestamp=int(now - host.booted_at), score=0, engine_status=ELSEWHERE,
                        hostname=host.address, local_maintenance=host.he_local_maintenance, stopped=True, local_conf_timestamp=2345,
                        state="AgentStopped", wall_time=self.engine.clock.wall(), conf_wall_time=self.conf_wall)
        self.volume.write(host.he_host_id, encode_slot(slot))
        host.he_score = 0
        self.stopped_written.add(host.id)

    # -- tick (model lock held) ----------------------------------------------------
    def tick(self) -> None:
        if not self.engine.features.he_agents:
            return
        now = self.engine.now()
        hosts = self.he_hosts()
        if any(self.agent_alive(h, now) for h in hosts) and self.last_global != self.model.global_maintenance:
            self.volume.write(0, encode_global(self.model.global_maintenance))
            self.last_global = self.model.global_maintenance
        for host in hosts:
            if host.he_agent_stopped and host.power_on and host.id not in self.stopped_written:
                self.publish_stopped(host, now)
            elif self.agent_alive(host, now) and now - host.he_last_write >= AGENT_LOOP:
                self.publish(host, now)
        self.engine_vm(now, hosts)

    def engine_vm(self, now: float, hosts: list[Host]) -> None:
        vm = self.model.he_vm()
        if vm is None:
            return
        host = self.model.hosts.get(vm.host_id) if vm.host_id else None
        if vm.status != "down" and host is not None:
            if host.id not in self.engine.truth.hosts_of(vm):
                # qemu is gone (power loss, or sanlock killed it when the lock could not be renewed)
                self.crash(vm, now, penalize=False)
            elif vm.status == "up" and self.better_host(host, hosts, now) is not None:
                # the agent on the engine's host gives way to a host whose score is 800 or more higher
                self.crash(vm, now, penalize=False)
            elif not (host.network_ok and host.mgmt_bridge_ok):
                self.unreachable_since = self.unreachable_since if self.unreachable_since is not None else now
                self.model.engine_up = False
                if now - self.unreachable_since >= LEASE_EXPIRY:
                    self.crash(vm, now, penalize=False)
            else:
                self.unreachable_since = None
                if vm.status == "powering_up" and vm.transition_due is not None and now >= vm.transition_due:
                    vm.status = "up"
                    vm.transition_due = None
                if vm.status == "up" and not self.model.engine_up:
                    self.engine_started(host, now)
        if vm.status == "down":
            self.failover(vm, now, hosts)

    def better_host(self, running: Host, hosts: list[Host], now: float) -> Optional[Host]:
        if self.model.global_maintenance or not self.agent_alive(running, now) or now - running.he_last_write > 0:
            return None
        mine = self.score(running, now)
        for other in hosts:
            if other.id != running.id and self.agent_alive(other, now) and self.score(other, now) - mine >= TAKEOVER_MARGIN:
                return other
        return None

    def engine_started(self, host: Host, now: float) -> None:
        self.model.engine_up = True
        self.model.engine_started_at = now

    def crash(self, vm: Vm, now: float, penalize: bool) -> None:
        """The engine VM went down unexpectedly (engine VM crash, or its host died)."""
        if vm.host_id and penalize:
            self.penalty_until[vm.host_id] = now + RETRY_PENALTY_SECONDS
        if vm.host_id:
            self.engine.truth.stop(vm, vm.host_id, "engine VM went down")
        self.model.previous_he_host_id = vm.host_id
        vm.status = "down"
        vm.host_id = None
        vm.transition_due = None
        vm.stop_time = now
        self.model.engine_up = False
        self.vm_down_since = now
        self.unreachable_since = None

    def failover(self, vm: Vm, now: float, hosts: list[Host]) -> None:
        self.model.engine_up = False
        if self.model.global_maintenance:
            return
        if self.vm_down_since is None:
            self.vm_down_since = now
        if now - self.vm_down_since < AGENT_LOOP:
            return
        candidates = [h for h in hosts if self.agent_alive(h, now) and h.responsive(now) and self.score(h, now) > 0]
        if not candidates:
            return
        best = max(candidates, key=lambda h: (self.score(h, now), -h.he_host_id))
        if self.engine.truth.start(vm, best, Actor("agent", best.name)) is not None:
            return
        vm.host_id = best.id
        vm.start_time = now
        vm.status = "powering_up"
        vm.transition_due = now + ENGINE_START
        self.vm_down_since = None
        best.he_last_write = -1.0e9
