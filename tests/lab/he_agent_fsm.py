"""The ovirt-ha-agent's state machine for one host, on lab time.

A model of ovirt-hosted-engine-ha 2.5 (``agent/states.py``, ``agent/state_machine.py``, ``agent/state_decorators.py``,
``agent/constants.py.in``), written for the lab: same states, same transitions, same timers and score rules.  It knows
nothing of the lab's model: each iteration gets what the real agent collects (the other hosts' slots as last read
from the metadata volume, the global block, the broker's local monitors) and acts through two callbacks, the
``hosted-engine --vm-start`` / ``--vm-shutdown`` / ``--vm-poweroff`` of the real agent.

Times are the host's monotonic seconds (what the agent writes as the slot's timestamp).  An iteration returns the
seconds to sleep: ``LOOP_DELAY`` (10 s) or 0 for an immediate next iteration, which reuses the data collected in the
same second, as the real refresh does.

Deliberate differences from upstream, each small:
- the retry counter is cleared 600 s after the last start attempt (upstream compares that monotonic time with the
  wall clock, ``util.has_elapsed``, which clears it at the next refresh);
- a host counts as alive when its timestamp changed against a sample at least 60 s old (upstream: more than 60 s),
  because lab loops are exactly 10 s apart while real ones drift past 10 s; with exact 10 s loops the strict test
  leaves one iteration with "enough history" but no live hosts, which the real agent practically never hits;
- the CPU load is the current value, not the average over the history;
- the agent's own score in comparisons is computed from the current data (upstream: the data of the previous
  iteration, cached in the state object).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

LOOP_DELAY = 10
NOWAIT = 0
HOST_ALIVE_TIMEOUT = 60
ENGINE_STARTING_TIMEOUT = 600
ENGINE_BAD_HEALTH_TIMEOUT = 300
ENGINE_AWAY_EXPIRATION = 40
VM_UNEXPECTED_SHUTDOWN_EXPIRATION = 560
ENGINE_RETRY_EXPIRATION = 600
ENGINE_RETRY_MAX_ATTEMPTS = 3
RESTART_THRESHOLD_SCORE = 800
STATS_HISTORY = 15 * 60

STATES = ("ReinitializeFSM", "GlobalMaintenance", "LocalMaintenance", "UnknownLocalVmState", "AgentStopped", "EngineDown",
          "EngineStart", "EngineStarting", "EngineUp", "EngineUpBadHealth", "EngineStop", "EngineForceStop", "EngineMaybeAway",
          "EngineUnexpectedlyDown")
ZERO_SCORE = ("StartState", "ReinitializeFSM", "LocalMaintenance", "EngineUnexpectedlyDown", "AgentStopped")
# states where the free memory does not count (the VM runs here, or nobody moves it)
NO_MEMORY_PENALTY = ("GlobalMaintenance", "EngineUp", "EngineUpBadHealth")
# state -> (state after the timeout, seconds, sleep after the timeout); the timer starts at the first iteration that stays
TIMERS: dict[str, tuple[str, int, int]] = {
    "EngineStarting": ("EngineStop", ENGINE_STARTING_TIMEOUT, LOOP_DELAY),
    "EngineUpBadHealth": ("EngineStop", ENGINE_BAD_HEALTH_TIMEOUT, LOOP_DELAY),
    "EngineStop": ("EngineForceStop", ENGINE_BAD_HEALTH_TIMEOUT, LOOP_DELAY),
    "EngineMaybeAway": ("EngineUnexpectedlyDown", ENGINE_AWAY_EXPIRATION, NOWAIT),
    "EngineUnexpectedlyDown": ("EngineDown", VM_UNEXPECTED_SHUTDOWN_EXPIRATION, LOOP_DELAY),
}
# the metadata's "timeout=" line (the deadline of the state's timer)
TIMEOUT_LINE = {"EngineStop": ENGINE_BAD_HEALTH_TIMEOUT, "EngineUpBadHealth": ENGINE_BAD_HEALTH_TIMEOUT,
                "EngineUnexpectedlyDown": VM_UNEXPECTED_SHUTDOWN_EXPIRATION}
MAX_ITERATIONS = 10


@dataclass(frozen=True)
class ScoreConfig:
    """agent.conf's [score] section, with its defaults."""

    base: int = 3400
    network: int = 1600
    not_uptodate_config: int = 1000
    mgmt_bridge: int = 600
    free_memory: int = 400
    cpu_load: int = 1000
    engine_retry: int = 50
    cpu_load_min: float = 0.4
    cpu_load_max: float = 0.9


@dataclass(frozen=True)
class LocalStats:
    """The broker's local monitors as the agent reads them."""

    engine_health: dict[str, str]
    network: float = 1.0            # share of the 5 gateway probes that answered
    bridge: bool = True             # the management bridge is up (False also when vdsm does not answer)
    mem_free_mb: float = 1.0e9
    cpu_load: float = 0.0           # load per CPU, 0..1
    conf_uptodate: bool = True
    local_maintenance: bool = False


@dataclass(frozen=True)
class Stats:
    collect: int                                 # host monotonic seconds of this refresh
    cluster_maintenance: bool                    # the global block says maintenance=1
    hosts: dict[int, dict[str, Any]]             # the other hosts' slots as read (decoded), by host id
    local: LocalStats


class Actions(Protocol):
    def start_vm(self) -> bool:
        """``hosted-engine --vm-start``: False when the command itself failed."""

    def stop_vm(self, force: bool) -> bool:
        """``hosted-engine --vm-shutdown`` (or ``--vm-poweroff`` with force): False when the command failed."""


def engine_status_score(status: Optional[dict[str, Any]]) -> int:
    """Order of engine states for picking the best one: unknown < down < paused < bad health < good health."""
    if not status:
        return 0
    vm = status.get("vm")
    if vm in ("down", "down_unexpected", "down_missing"):
        return 1
    if vm != "up":
        return 0
    if status.get("detail") == "Paused":
        return 2
    return 4 if status.get("health") == "good" else 3


def host_score(config: ScoreConfig, local: LocalStats, min_memory_mb: float, retry_count: int, memory_counts: bool = True) -> int:
    """The score of a host in a state that computes one (see ZERO_SCORE for those that do not)."""
    score = config.base
    if not local.conf_uptodate:
        score -= config.not_uptodate_config
    if local.network < 1.0:
        score -= int((1.0 - local.network) * config.network)
    if not local.bridge:
        score -= config.mgmt_bridge
    if config.cpu_load_max == config.cpu_load_min:
        cpu = 0 if local.cpu_load < config.cpu_load_min else config.cpu_load
    else:
        cpu = int((local.cpu_load - config.cpu_load_min) / (config.cpu_load_max - config.cpu_load_min) * config.cpu_load)
        cpu = max(0, min(config.cpu_load, cpu))
    score -= cpu
    if memory_counts and local.mem_free_mb < min_memory_mb:
        score -= config.free_memory
    if retry_count > ENGINE_RETRY_MAX_ATTEMPTS:
        score = 0
    elif retry_count > 0:
        score -= config.engine_retry * retry_count
    return max(0, score)


@dataclass
class Agent:
    """One host's ovirt-ha-agent (a fresh instance per agent start)."""

    host_id: int
    min_memory_mb: float = 16384.0
    config: ScoreConfig = field(default_factory=ScoreConfig)
    state: str = "StartState"
    timeout_start: Optional[int] = None
    retry_count: int = 0
    failover: bool = True      # the lab's agents_failover_off fault sets this false
    retry_time: Optional[int] = None
    stats: Optional[Stats] = None
    history: list[Stats] = field(default_factory=list)
    alive_hosts: list[int] = field(default_factory=list)
    best_engine_status: dict[str, Any] = field(default_factory=dict)
    best_engine_host_id: int = 0
    best_score_host: Optional[dict[str, Any]] = None
    # (monotonic time, from, to) of every change of state, newest last (bounded)
    transitions: list[tuple[int, str, str]] = field(default_factory=list)

    # -- score and metadata ---------------------------------------------------------------------------------
    def score(self) -> int:
        if self.state in ZERO_SCORE or self.stats is None:
            return 0
        return host_score(self.config, self.stats.local, self.min_memory_mb, self.retry_count, self.state not in NO_MEMORY_PENALTY)

    def metadata(self) -> dict[str, Any]:
        """What the state adds to the slot: maintenance, state, stopped and, for some timers, their deadline."""
        data: dict[str, Any] = {"maintenance": self.state == "LocalMaintenance", "state": self.state, "stopped": self.state == "AgentStopped"}
        if self.state in TIMEOUT_LINE and self.timeout_start:
            # the real agent formats a monotonic time as a date, hence 1970
            data["timeout"] = time.ctime(self.timeout_start + TIMEOUT_LINE[self.state])
        return data

    # -- refresh ----------------------------------------------------------------------------------------------
    def refresh(self, stats: Stats) -> None:
        """New data: which hosts are alive (their timestamp moved within the last 60 s), the best engine, the best score."""
        historic = next((old for old in self.history if old.collect + HOST_ALIVE_TIMEOUT <= stats.collect), None)
        alive: list[dict[str, Any]] = []
        if historic is not None:
            for host_id, slot in stats.hosts.items():
                before = historic.hosts.get(host_id)
                if "engine-status" in slot and (before is None or before.get("host-ts") != slot.get("host-ts")):
                    alive.append(slot)
        self.alive_hosts = [slot["host-id"] for slot in alive]
        local_health = stats.local.engine_health
        best_engine = max(alive, key=lambda s: engine_status_score(s["engine-status"])) if alive else None
        if best_engine is None or engine_status_score(local_health) >= engine_status_score(best_engine["engine-status"]):
            self.best_engine_status, self.best_engine_host_id = dict(local_health), self.host_id
        else:
            self.best_engine_status, self.best_engine_host_id = dict(best_engine["engine-status"]), int(best_engine["host-id"])
        best_score = max(alive, key=lambda s: int(s["score"])) if alive else None
        self.best_score_host = best_score if best_score is not None and int(best_score["score"]) > 0 else None
        if self.retry_time is not None and stats.collect - self.retry_time >= ENGINE_RETRY_EXPIRATION:
            self.retry_time = None
            self.retry_count = 0
        self.history = [stats] + [old for old in self.history if old.collect > stats.collect - STATS_HISTORY]
        self.stats = stats

    # -- one iteration ------------------------------------------------------------------------------------------
    def iterate(self, now: int, collect: Callable[[int], Stats], actions: Actions) -> int:
        """One pass of the agent's loop at monotonic second ``now``; returns the seconds to sleep."""
        if self.stats is None or self.stats.collect != now:
            self.refresh(collect(now))
        timer = TIMERS.get(self.state)
        if timer is not None and self.timeout_start is not None and self.timeout_start + timer[1] < now:
            self.timeout_start = None
            return self.enter(timer[0], timer[2], now)
        target, sleep = self.consume(now, actions)
        if target != self.state:
            self.timeout_start = None
        elif timer is not None and self.timeout_start is None:
            self.timeout_start = now
        return self.enter(target, sleep, now)

    def enter(self, target: str, sleep: int, now: int) -> int:
        if target != self.state:
            self.transitions.append((now, self.state, target))
            del self.transitions[:-100]
            self.state = target
        return sleep

    def guard(self, *checks: str) -> Optional[tuple[str, int]]:
        """The state decorators, in the order a state lists them: global maintenance, unknown local VM, local maintenance."""
        assert self.stats is not None
        for check in checks:
            if check == "global" and self.stats.cluster_maintenance:
                return "GlobalMaintenance", LOOP_DELAY
            if check == "unknown" and self.stats.local.engine_health.get("vm") == "unknown":
                return "UnknownLocalVmState", LOOP_DELAY
            if check == "local" and self.stats.local.local_maintenance:
                return "LocalMaintenance", LOOP_DELAY
        return None

    def consume(self, now: int, actions: Actions) -> tuple[str, int]:
        handler = getattr(self, "_" + self.state)
        result: tuple[str, int] = handler(now, actions)
        return result

    # -- the states (names as upstream; each returns the next state and the sleep) ---------------------------
    def _StartState(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        return "ReinitializeFSM", LOOP_DELAY

    def _ReinitializeFSM(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        assert self.stats is not None
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        if self.stats.local.engine_health.get("vm") == "up":
            # the engine may still be starting: EngineStarting, not EngineUp (which would count bad health against it)
            return "EngineStarting", NOWAIT
        return "EngineDown", LOOP_DELAY

    def _GlobalMaintenance(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "local")) is not None:
            return guarded
        return "ReinitializeFSM", LOOP_DELAY

    def _LocalMaintenance(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("local")) is not None:
            return guarded
        return "ReinitializeFSM", LOOP_DELAY

    def _UnknownLocalVmState(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        return "ReinitializeFSM", NOWAIT

    def _AgentStopped(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        return "AgentStopped", LOOP_DELAY

    def _EngineDown(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        if self.best_engine_status.get("vm") == "up":
            # running here although this agent did not start it: watch it settle; elsewhere: nothing to do
            return ("EngineStarting", NOWAIT) if self.best_engine_host_id == self.host_id else ("EngineDown", LOOP_DELAY)
        if len(self.history) < 2 or self.history[0].collect - self.history[-1].collect < HOST_ALIVE_TIMEOUT:
            return "EngineDown", LOOP_DELAY  # not enough history to tell which hosts are alive
        if not self.failover:
            return "EngineDown", LOOP_DELAY  # the lab switched failover off (fault agents_failover_off): never start
        if self.best_score_host is None or int(self.best_score_host["score"]) <= self.score():
            # every host with the best score tries; the VM's sanlock lease lets one of them win
            return "EngineStart", NOWAIT
        return "EngineDown", LOOP_DELAY

    def _EngineStart(self, now: int, actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        self.retry_time = now
        if actions.start_vm():
            self.retry_count = 0
            return "EngineStarting", LOOP_DELAY
        self.retry_count += 1
        return "EngineDown", LOOP_DELAY

    def _EngineStarting(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        assert self.stats is not None
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        health = self.stats.local.engine_health
        if health.get("vm") == "up":
            return ("EngineUp" if health.get("health") == "good" else "EngineStarting"), LOOP_DELAY
        if health.get("vm") == "down":
            return "EngineForceStop", NOWAIT  # another host already took over (its lease won)
        return "EngineMaybeAway", NOWAIT

    def _EngineUp(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        assert self.stats is not None
        if (guarded := self.guard("global", "unknown")) is not None:
            return guarded
        health = self.stats.local.engine_health
        if health.get("vm") == "down":
            return "EngineMaybeAway", LOOP_DELAY
        if health.get("vm") == "down_unexpected":
            return "EngineUnexpectedlyDown", LOOP_DELAY
        if self.best_engine_status.get("vm") != "up":
            return "EngineMaybeAway", NOWAIT
        if self.best_engine_host_id != self.host_id:
            return "EngineStop", LOOP_DELAY
        best = self.best_score_host
        if best is not None and int(best["host-id"]) != self.host_id and int(best["score"]) >= self.score() + RESTART_THRESHOLD_SCORE:
            return "EngineStop", LOOP_DELAY  # a host scores 800 or more above this one: hand the VM over
        if health.get("health") == "bad":
            return "EngineUpBadHealth", LOOP_DELAY
        return "EngineUp", LOOP_DELAY

    def _EngineUpBadHealth(self, now: int, actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        return self._EngineUp(now, actions)

    def _EngineStop(self, _now: int, actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        assert self.stats is not None
        if (guarded := self.guard("global", "local", "unknown")) is not None:
            return guarded
        health = self.stats.local.engine_health
        if health.get("vm") != "up":
            return "EngineDown", LOOP_DELAY
        if health.get("detail") == "Paused":
            return "EngineForceStop", NOWAIT
        if self.timeout_start is None:
            return ("EngineStop", LOOP_DELAY) if actions.stop_vm(False) else ("ReinitializeFSM", LOOP_DELAY)
        return "EngineStop", LOOP_DELAY  # waiting for the guest to shut down

    def _EngineForceStop(self, _now: int, actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "local", "unknown")) is not None:
            return guarded
        return ("EngineDown", LOOP_DELAY) if actions.stop_vm(True) else ("ReinitializeFSM", LOOP_DELAY)

    def _EngineMaybeAway(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        assert self.stats is not None
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        local = self.stats.local.engine_health.get("vm")
        if local == "down":
            return "EngineDown", LOOP_DELAY
        if local == "down_unexpected":
            return "EngineUnexpectedlyDown", LOOP_DELAY
        if local == "up":
            return "EngineUp", LOOP_DELAY
        if self.best_engine_status.get("vm") == "up":
            return "EngineDown", LOOP_DELAY
        return "EngineMaybeAway", LOOP_DELAY

    def _EngineUnexpectedlyDown(self, _now: int, _actions: Actions) -> tuple[str, int]:  # pylint: disable=invalid-name
        if (guarded := self.guard("global", "unknown", "local")) is not None:
            return guarded
        if self.best_engine_status.get("vm") == "up" and self.best_engine_host_id == self.host_id:
            return "EngineUp", LOOP_DELAY
        return "EngineUnexpectedlyDown", LOOP_DELAY
