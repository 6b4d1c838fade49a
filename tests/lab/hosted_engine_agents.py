"""Simulated ovirt-ha-agent and ovirt-ha-broker on every hosted-engine host, and the engine VM they look after.

Per host, three things (all under the model lock, once per lab tick):

- vdsm's view of the engine VM (``LocalVm``): ``Powering up`` for GUEST_BOOT seconds, ``Up``, ``Powering down`` for
  GUEST_SHUTDOWN seconds after the agent's shutdown, ``Paused`` while the host cannot reach the hosted-engine storage
  domain, ``Down`` (with vdsm's exit message) once the qemu process ended, gone after a destroy or when vdsm restarts
  with its host.  It follows the truth's processes: one that sanlock killed, or that died with its host, is Down here.
- the broker's engine-health monitor: the ``engine-health`` the agent reads and writes into its slot (``vm`` up, down,
  down_unexpected, down_missing or unknown; ``health`` good only when the engine's health page answers).
- the agent (``he_agent_fsm.Agent``): it runs while the host is powered, booted, reaches the hosted-engine storage
  domain and is not stopped; a new start is a fresh agent.  Its view of the other hosts is what it reads from the
  metadata volume, so a slot that stopped changing looks alive for another minute.  It starts the engine VM through
  the truth, as ``Actor("agent", host)``: when another host holds the VM's lease the VM goes down at once
  ("Storage of VM is locked"), the agent sees another host took over, and no penalty is counted.

The engine (the lab's API and the engine's own HA) is available while its VM's guest is up, the engine service has
run for ENGINE_START seconds in it, and its host's management network is up.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from tests.lab.actors import Actor
from tests.lab.engine import Engine
from tests.lab.he_agent_fsm import LOOP_DELAY, MAX_ITERATIONS, Agent, LocalStats, Stats
from tests.lab.he_metadata import SLOT, HostSlot, MetadataVolume, decode_slot, encode_global, encode_slot
from tests.lab.model import Host, Vm
from tests.lab.truth import LOCK_BUSY

GUEST_BOOT = 60.0
# the agents have been running this long when the lab starts (they need 60 s of history before they act)
WARM_UP = 80
ENGINE_START = 30.0
GUEST_SHUTDOWN = 30.0
MIB = 1024 ** 2
LOCKED = "Storage of VM is locked. Is another host already starting the VM?"
LOST_QEMU = "Lost connection with qemu process"
VDSM_DETAIL = {"Powering up": "Powering up", "Up": "Up", "Powering down": "Powering down", "Paused": "Paused", "Down": "Down"}
ENGINE_VIEW = {"Powering up": "powering_up", "Up": "up", "Powering down": "powering_down", "Paused": "paused"}
UNKNOWN_HEALTH = {"vm": "unknown", "health": "unknown", "detail": "unknown", "reason": "failed to getVmStats"}


@dataclasses.dataclass
class LocalVm:
    """vdsm's record of the engine VM on one host, and the guest inside it."""

    status: str
    since: float
    due: Optional[float] = None
    exit_message: str = ""
    exit_reason: str = ""          # lock | migrated | shutdown | error
    paused_from: str = ""
    service_from: Optional[float] = None   # the engine service starts here; it answers ENGINE_START seconds later
    service_failed: bool = False
    ignores_acpi: bool = False
    service_started: bool = False

    @property
    def running(self) -> bool:
        return self.status != "Down"


def _set(obj: Any, name: str, value: Any) -> None:
    """Assign only a change (model objects drop their cached XML on every assignment)."""
    if getattr(obj, name) != value:
        setattr(obj, name, value)


class HostActions:
    """The agent's START_VM / STOP_VM on one host."""

    def __init__(self, agents: "HostedEngineAgents", host: Host, vm: Vm, now: float) -> None:
        self.agents = agents
        self.host = host
        self.vm = vm
        self.now = now

    def start_vm(self) -> bool:
        return self.agents.start_vm(self.host, self.vm, self.now)

    def stop_vm(self, force: bool) -> bool:
        return self.agents.stop_vm(self.host, self.vm, force, self.now)


class HostedEngineAgents:
    def __init__(self, engine: Engine, volume: MetadataVolume) -> None:
        self.engine = engine
        self.model = engine.model
        self.truth = engine.truth
        self.volume = volume
        self.agents: dict[str, Agent] = {}
        self.next_due: dict[str, float] = {}
        self.vdsm: dict[str, LocalVm] = {}
        self.memory: dict[str, str] = {}            # the engine-health monitor's last vm state, per host
        self.health: dict[str, dict[str, str]] = {}
        self.boots: dict[str, Optional[float]] = {}
        self.service_fault: Optional[str] = None    # engine_service_down: once | persistent | hung
        self.last_host: Optional[str] = None
        self.quiet = False
        self.failover = True                        # fault agents_failover_off: the agents never start the engine VM
        self.written_global = self.model.global_maintenance
        self.volume.write(0, encode_global(self.written_global))
        vm = self.model.he_vm()
        if vm is not None:
            for host_id in self.truth.hosts_of(vm):
                # the lab starts with the engine VM up and its engine running for a long time
                self.vdsm[host_id] = LocalVm("Up", 0.0, service_from=-1.0e9, service_started=True)
                self.last_host = host_id

    # -- queries -----------------------------------------------------------------------------------------------
    def he_hosts(self) -> list[Host]:
        return sorted((h for h in self.model.hosts.values() if h.he_configured and h.he_host_id), key=lambda h: h.he_host_id)

    def he_domain(self) -> Optional[str]:
        vm = self.model.he_vm()
        return vm.storage_sd_id if vm is not None else None

    def booted(self, host: Host, now: float) -> bool:
        return host.power_on and now >= host.booted_at + host.boot_seconds

    def runnable(self, host: Host, now: float) -> bool:
        """ovirt-ha-agent runs: host powered and booted, the hosted-engine storage domain reachable, the agent not stopped."""
        return (host.he_configured and bool(host.he_host_id) and not host.he_agent_stopped and not host.he_broker_stopped
                and self.booted(host, now)
                and self.truth.reaches(host, self.he_domain(), now))

    @staticmethod
    def mono(host: Host, now: float) -> int:
        """The host's monotonic clock (seconds since it booted): the slot's timestamp."""
        return int(now - host.booted_at)

    def wall(self, host: Host, mono: int) -> float:
        return self.engine.clock.wall_start + host.booted_at + mono

    def engine_service(self, record: Optional[LocalVm], now: float) -> bool:
        """The engine's health page answers (what ``hosted-engine --check-liveliness`` asks)."""
        return (record is not None and record.status == "Up" and record.service_from is not None
                and now >= record.service_from + ENGINE_START and not record.service_failed)

    def describe(self, host: Host) -> dict[str, Any]:
        agent = self.agents.get(host.id)
        record = self.vdsm.get(host.id)
        return {"agent_running": agent is not None, "engine_health": self.health.get(host.id),
                "local_vm": record.status if record is not None else None,
                "retry_count": agent.retry_count if agent is not None else 0,
                "alive_hosts": list(agent.alive_hosts) if agent is not None else []}

    # -- the tick (model lock held) -------------------------------------------------------------------------------
    def warm_up(self, seconds: int = WARM_UP) -> None:
        """Before the lab's clock starts: run the agents over the last ``seconds`` so that at lab time 0 they are in
        their steady states (the engine's host EngineUp, the others EngineDown), as in a cluster that has been up."""
        now = self.engine.now()
        self.quiet = True
        try:
            for second in range(seconds, 0, -1):
                self.tick(now - second)
        finally:
            self.quiet = False
        self.log(now, f"the hosted-engine agents have been running for {seconds} s")

    def log(self, now: float, text: str) -> None:
        if not self.quiet:
            self.truth.journal.add(now, "agent", text)

    def tick(self, at: Optional[float] = None) -> None:
        now = self.engine.now() if at is None else at
        vm = self.model.he_vm()
        if vm is None:
            return
        self.sync_vdsm(vm, now)
        self.update_health(now)
        if self.engine.features.he_agents:
            self.sync_global(now)
            configured = self.he_hosts()
            # an agent on a host whose hosted-engine configuration was just removed stops (and says so in its slot)
            leaving = [self.model.hosts[h] for h in sorted(self.agents) if h in self.model.hosts and self.model.hosts[h] not in configured]
            for host in configured + leaving:
                self.run_agent(host, vm, now)
        else:
            self.agents.clear()
        self.update_engine(vm, now)

    def sync_vdsm(self, vm: Vm, now: float) -> None:
        """vdsm's records follow the qemu processes (truth), the guest boots and shuts down, storage loss pauses it."""
        for host in self.model.hosts.values():
            boot = host.booted_at if host.power_on else None
            if self.boots.get(host.id, boot) != boot or boot is None:
                # vdsm and the broker start afresh with the host
                self.vdsm.pop(host.id, None)
                self.memory.pop(host.id, None)
            self.boots[host.id] = boot
        running = self.truth.hosts_of(vm)
        arrived = sorted(h for h in running if h not in self.vdsm or not self.vdsm[h].running)
        for host_id, record in sorted(self.vdsm.items()):
            if not record.running or host_id in running:
                continue
            if arrived:
                # live migration: the guest goes on on the target, the source says it migrated away
                self.vdsm[arrived.pop(0)] = dataclasses.replace(record, since=now, status="Up" if record.status == "Paused" else record.status)
                self.down(record, now, "migrated", "Migration succeeded")
            else:
                self.down(record, now, "error", record.exit_message or LOST_QEMU)
        for host_id in arrived:
            self.vdsm[host_id] = LocalVm("Up", now, service_from=now - ENGINE_START, service_started=True)
        domain = self.he_domain()
        for host_id, record in self.vdsm.items():
            if not record.running:
                continue
            host = self.model.hosts[host_id]
            reaches = self.truth.reaches(host, domain, now)
            if record.status == "Paused" and reaches and record.paused_from:
                record.status, record.paused_from = record.paused_from, ""
            elif record.status != "Paused" and not reaches:
                record.status, record.paused_from = "Paused", record.status  # I/O error on its disk
            if record.status == "Powering up" and record.due is not None and now >= record.due:
                record.status, record.due, record.service_from = "Up", None, now
            elif record.status == "Powering down" and record.due is not None and now >= record.due:
                self.truth.stop(vm, host_id, "the guest shut down (hosted-engine --vm-shutdown)")
                self.down(record, now, "shutdown", "User shut down from within the guest")

    @staticmethod
    def down(record: LocalVm, now: float, reason: str, message: str) -> None:
        record.status, record.since, record.due, record.exit_reason, record.exit_message = "Down", now, None, reason, message
        record.paused_from = ""
        record.service_started = False

    def update_health(self, now: float) -> None:
        """The broker's engine-health monitor on every booted hosted-engine host (it follows vdsm's events)."""
        for host in self.he_hosts():
            if self.booted(host, now):
                self.health[host.id] = self.engine_health(host, now)
            else:
                self.health.pop(host.id, None)

    def engine_health(self, host: Host, now: float) -> dict[str, str]:
        if host.vdsm_hung:
            return dict(UNKNOWN_HEALTH)
        record = self.vdsm.get(host.id)
        memory = self.memory.get(host.id, "down")
        if record is None:
            memory = "down_missing" if memory == "up" else memory
            result = {"vm": memory, "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
        elif record.status == "Down":
            if record.exit_reason in ("lock", "migrated"):
                memory = "down"
            elif memory != "down":
                memory = "down_unexpected"
            reason = {"lock": LOCKED, "migrated": "VM migrated away successfully"}.get(record.exit_reason, "bad vm status")
            result = {"vm": memory, "health": "bad", "detail": "Down", "reason": reason}
        elif record.status in ("Powering up", "Paused"):
            memory = "up"
            result = {"vm": "up", "health": "bad", "detail": VDSM_DETAIL[record.status], "reason": "bad vm status"}
        else:
            memory = "up"
            result = ({"vm": "up", "health": "good", "detail": VDSM_DETAIL[record.status]} if self.engine_service(record, now) else
                      {"vm": "up", "health": "bad", "detail": VDSM_DETAIL[record.status], "reason": "failed liveliness check"})
        self.memory[host.id] = memory
        return result

    # -- global maintenance: slot 0 ----------------------------------------------------------------------------------
    def sync_global(self, now: float) -> None:
        """The engine's flag goes to the global block (through a running broker); a block written by someone else (the
        ``hosted-engine --set-maintenance`` of a host) becomes the flag."""
        found = self.read_global()
        if found is not None and found != self.written_global:
            self.written_global = found
            _set(self.model, "global_maintenance", found)
            self.log(now, f"global maintenance {'on' if found else 'off'} (written to the metadata volume)")
        elif self.model.global_maintenance != self.written_global and any(self.runnable(h, now) for h in self.he_hosts()):
            self.volume.write(0, encode_global(self.model.global_maintenance))
            self.written_global = self.model.global_maintenance

    def read_global(self) -> Optional[bool]:
        text = self.volume.read(0).split(b"\0", 1)[0].decode("utf-8", "replace")
        for line in text.splitlines():
            key, _sep, value = line.partition("=")
            if key.strip() == "maintenance":
                return value.strip().lower() in ("1", "true", "yes", "on")
        return None

    # -- the agents --------------------------------------------------------------------------------------------------
    def run_agent(self, host: Host, vm: Vm, now: float) -> None:
        agent = self.agents.get(host.id)
        if not self.runnable(host, now):
            if agent is not None:
                del self.agents[host.id]
                if host.he_agent_stopped and self.booted(host, now) and self.truth.reaches(host, self.he_domain(), now):
                    self.publish_stopped(host, agent)
                why = "stopped" if host.he_agent_stopped else "cannot run (host down or no hosted-engine storage)"
                self.log(now, f"{host.name}: ovirt-ha-agent {why}")
                _set(host, "he_state", "AgentStopped" if host.he_agent_stopped else "")
                _set(host, "he_score", 0)
            return
        if agent is None:
            agent = Agent(host_id=host.he_host_id, min_memory_mb=vm.memory / MIB)
            self.agents[host.id] = agent
            self.next_due[host.id] = now
            self.log(now, f"{host.name}: ovirt-ha-agent started")
        if now < self.next_due[host.id] or host.he_agent_hung:
            return
        actions = HostActions(self, host, vm, now)
        agent.failover = self.failover
        mono = self.mono(host, now)
        sleep = LOOP_DELAY
        for _iteration in range(MAX_ITERATIONS):
            seen = len(agent.transitions)
            sleep = agent.iterate(mono, lambda at: self.collect(host, at), actions)
            for _at, old, new in agent.transitions[seen:]:
                self.log(now, f"{host.name}: {old} -> {new} (score {agent.score()})")
            if sleep > 0:
                break
        self.next_due[host.id] = now + max(sleep, LOOP_DELAY)
        self.publish(host, agent)

    def collect(self, host: Host, mono: int) -> Stats:
        """What the agent gathers: the volume (the other hosts' slots, the global block) and the broker's monitors."""
        count = max(h.he_host_id for h in self.model.hosts.values())
        with open(self.volume.path, "rb") as handle:
            data = handle.read(SLOT * (count + 1))
        others: dict[int, dict[str, Any]] = {}
        for index in range(1, count + 1):
            if index == host.he_host_id:
                continue  # its own slot is old news to an agent
            try:
                slot = decode_slot(data[index * SLOT:(index + 1) * SLOT])
            except (ValueError, KeyError, IndexError):
                continue  # a bad slot is skipped, as the agent does
            if slot is not None and slot["host-id"] == index:
                others[index] = slot
        local = LocalStats(engine_health=dict(self.health.get(host.id, UNKNOWN_HEALTH)), network=host.he_gateway_ok / 5.0,
                           bridge=host.mgmt_bridge_ok and not host.vdsm_hung, mem_free_mb=self.engine.free_memory(host) / MIB,
                           cpu_load=host.cpu_load, conf_uptodate=not host.he_conf_outdated, local_maintenance=host.he_local_maintenance)
        return Stats(collect=mono, cluster_maintenance=bool(self.read_global()), hosts=others, local=local)

    def publish(self, host: Host, agent: Agent) -> None:
        """The agent's slot: what it just computed, unless the host's writes do not reach the volume (stale_metadata)."""
        stats = agent.stats
        assert stats is not None
        score = agent.score()
        _set(host, "he_score", score)
        _set(host, "he_state", agent.state)
        _set(host, "he_agent_ts", stats.collect)
        if host.he_metadata_stale:
            return
        self.write_slot(host, agent, agent.state, score)

    def publish_stopped(self, host: Host, agent: Agent) -> None:
        """A cleanly stopped agent's last word: state AgentStopped, score 0, stopped=1, its last timestamp."""
        if agent.stats is not None and not host.he_metadata_stale:
            agent.state = "AgentStopped"
            self.write_slot(host, agent, "AgentStopped", 0)

    def write_slot(self, host: Host, agent: Agent, state: str, score: int) -> None:
        stats = agent.stats
        assert stats is not None
        meta = agent.metadata()
        wall = self.wall(host, stats.collect)
        slot = HostSlot(host_id=host.he_host_id, timestamp=stats.collect, score=score, engine_status=stats.local.engine_health,
                        hostname=host.address, local_maintenance=bool(meta["maintenance"]), stopped=bool(meta["stopped"]),
                        local_conf_timestamp=stats.collect, state=state, wall_time=wall, conf_wall_time=wall,
                        extra_lines=[f"timeout={meta['timeout']}"] if "timeout" in meta else [])
        self.volume.write(host.he_host_id, encode_slot(slot))

    # -- the agent's actions (hosted-engine --vm-start / --vm-shutdown / --vm-poweroff) --------------------------------
    def start_vm(self, host: Host, vm: Vm, now: float, actor: Optional[Actor] = None) -> bool:
        if host.vdsm_hung:
            return False
        record = self.vdsm.get(host.id)
        if record is not None and record.running:
            return True  # "VM exists": already running here
        self.vdsm.pop(host.id, None)  # clean vdsm's state of a VM that is down
        error = self.truth.start(vm, host, actor or Actor("agent", host.name))
        if error is None:
            self.vdsm[host.id] = LocalVm("Powering up", now, due=now + GUEST_BOOT, service_failed=self.service_fault == "persistent")
            return True
        if error == LOCK_BUSY:
            # vdsm created the VM; qemu could not get the VM's lease and the VM is down with sanlock's error
            self.vdsm[host.id] = LocalVm("Down", now, exit_message=f"{error}", exit_reason="lock")
            return True
        self.log(now, f"{host.name}: starting the engine VM failed: {error}")
        return False

    def stop_vm(self, host: Host, vm: Vm, force: bool, now: float) -> bool:
        if host.vdsm_hung:
            return False
        record = self.vdsm.get(host.id)
        if record is None:
            return True  # "Virtual machine does not exist"
        if force:
            if record.running:
                self.truth.stop(vm, host.id, "powered off by the agent (hosted-engine --vm-poweroff)")
            del self.vdsm[host.id]
            return True
        if record.ignores_acpi:
            self.log(now, f"{host.name}: the engine VM's guest ignores the shutdown request")
        elif record.running and record.status != "Powering down":
            record.status, record.due = "Powering down", now + GUEST_SHUTDOWN
        return True

    # -- the engine and its VM, as the engine (and the API) sees them --------------------------------------------------
    def update_engine(self, vm: Vm, now: float) -> None:
        running = sorted(self.truth.hosts_of(vm))
        host_id = running[0] if running else None
        record = self.vdsm.get(host_id) if host_id else None
        up = False
        if host_id is not None and record is not None and record.running:
            service = self.engine_service(record, now)
            if service and not record.service_started:
                record.service_started = True
                self.model.engine_started_at = now
                self.log(now, f"the engine service is up in the engine VM on {self.model.hosts[host_id].name}")
            host = self.model.hosts[host_id]
            up = service and host.network_ok and host.mgmt_bridge_ok
            if vm.migrate_to is None:
                if vm.status == "down":
                    vm.start_time = record.since
                _set(vm, "host_id", host_id)
                _set(vm, "status", ENGINE_VIEW[record.status])
            self.last_host = host_id
        elif vm.status != "down" and vm.migrate_to is None:
            self.model.previous_he_host_id = self.last_host
            vm.status, vm.host_id, vm.transition_due, vm.stop_time = "down", None, None, now
        _set(self.model, "engine_up", up)

    # -- faults ------------------------------------------------------------------------------------------------------------
    def crash_vm(self, now: float) -> None:
        """engine_vm_crash: qemu dies; vdsm reports the VM down with an error (the agents take it from there)."""
        vm = self.model.he_vm()
        if vm is None:
            return
        for host_id in sorted(self.truth.hosts_of(vm)):
            self.truth.stop(vm, host_id, "engine VM crashed")
            record = self.vdsm.get(host_id)
            if record is not None:
                self.down(record, now, "error", LOST_QEMU)

    def service_down(self, mode: str) -> None:
        """engine_service_down: the engine service in the running guest fails (mode once | persistent | hung)."""
        self.service_fault = mode
        for record in self.vdsm.values():
            if record.running:
                record.service_failed = True
                record.service_started = False
                record.ignores_acpi = mode == "hung"

    def service_restored(self, now: float) -> None:
        self.service_fault = None
        for record in self.vdsm.values():
            if record.running and (record.service_failed or record.ignores_acpi):
                record.service_failed = record.ignores_acpi = False
                record.service_from = now
