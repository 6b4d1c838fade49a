"""The simulated ovirt-ha-agent's state machine on its own: score rules, timers, retries (no lab needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tests.lab.he_agent_fsm import (LOOP_DELAY, Agent, LocalStats, ScoreConfig, Stats, engine_status_score, host_score)

UP_GOOD = {"vm": "up", "health": "good", "detail": "Up"}
UP_BAD = {"vm": "up", "health": "bad", "detail": "Up", "reason": "failed liveliness check"}
STARTING = {"vm": "up", "health": "bad", "detail": "Powering up", "reason": "bad vm status"}
DOWN = {"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
LOCKED = {"vm": "down", "health": "bad", "detail": "Down", "reason": "Storage of VM is locked. Is another host already starting the VM?"}
UNEXPECTED = {"vm": "down_unexpected", "health": "bad", "detail": "Down", "reason": "bad vm status"}


def test_score_penalties() -> None:
    config = ScoreConfig()
    good = LocalStats(engine_health=DOWN)
    assert host_score(config, good, 16384, 0) == 3400
    # the management bridge costs 600, not more
    assert host_score(config, LocalStats(engine_health=DOWN, bridge=False), 16384, 0) == 2800
    assert host_score(config, LocalStats(engine_health=DOWN, network=0.0), 16384, 0) == 1800
    assert host_score(config, LocalStats(engine_health=DOWN, network=0.6), 16384, 0) == 3400 - 640
    assert host_score(config, LocalStats(engine_health=DOWN, conf_uptodate=False), 16384, 0) == 2400
    assert host_score(config, LocalStats(engine_health=DOWN, cpu_load=0.65), 16384, 0) == 2900
    assert host_score(config, LocalStats(engine_health=DOWN, cpu_load=0.95), 16384, 0) == 2400
    low_memory = LocalStats(engine_health=DOWN, mem_free_mb=8192)
    assert host_score(config, low_memory, 16384, 0) == 3000
    assert host_score(config, low_memory, 16384, 0, memory_counts=False) == 3400
    assert [host_score(config, good, 16384, n) for n in (1, 2, 3, 4)] == [3350, 3300, 3250, 0]
    everything = LocalStats(engine_health=DOWN, network=0.0, bridge=False, conf_uptodate=False, cpu_load=1.0, mem_free_mb=0)
    assert host_score(config, everything, 16384, 0) == 0


def test_engine_status_order() -> None:
    ordered = [{"vm": "unknown", "health": "unknown", "detail": "unknown"}, DOWN, {"vm": "up", "health": "bad", "detail": "Paused"},
               UP_BAD, UP_GOOD]
    assert [engine_status_score(s) for s in ordered] == [0, 1, 2, 3, 4]
    assert engine_status_score(UNEXPECTED) == engine_status_score(LOCKED) == 1


@dataclass
class Host:
    """One agent with a scripted world: its local engine health, the other hosts' slots, what its commands do."""

    host_id: int = 1
    health: dict[str, str] = field(default_factory=lambda: dict(DOWN))
    others: dict[int, dict[str, Any]] = field(default_factory=dict)
    start_ok: bool = True
    starts: int = 0
    stops: list[bool] = field(default_factory=list)
    maintenance: bool = False
    local_maintenance: bool = False
    bridge: bool = True
    now: int = 1000
    agent: Agent = field(init=False)
    sleep: int = 0

    def __post_init__(self) -> None:
        self.agent = Agent(host_id=self.host_id)

    def start_vm(self) -> bool:
        self.starts += 1
        return self.start_ok

    def stop_vm(self, force: bool) -> bool:
        self.stops.append(force)
        return True

    def collect(self, now: int) -> Stats:
        return Stats(collect=now, cluster_maintenance=self.maintenance, hosts={k: dict(v) for k, v in self.others.items()},
                     local=LocalStats(engine_health=dict(self.health), bridge=self.bridge, local_maintenance=self.local_maintenance))

    def run(self, seconds: int, until: Optional[str] = None) -> int:
        """Run the agent's loop for ``seconds`` (the other hosts' timestamps move every 10 s); returns the time spent."""
        start = self.now
        end = self.now + seconds
        while self.now < end:
            for slot in self.others.values():
                slot["host-ts"] = slot.get("host-ts", 0) + 10
            for _iteration in range(10):
                self.sleep = self.agent.iterate(self.now, self.collect, self)
                if self.sleep:
                    break
            if until is not None and self.agent.state == until:
                return self.now - start
            self.now += self.sleep or LOOP_DELAY
        return self.now - start


def other(host_id: int, score: int, status: dict[str, str]) -> dict[str, Any]:
    return {"host-id": host_id, "host-ts": 0, "score": score, "engine-status": dict(status), "hostname": f"host{host_id}"}


def test_an_agent_waits_for_60_s_of_history_then_starts_the_vm() -> None:
    host = Host(others={2: other(2, 3400, DOWN)})
    assert host.run(200, until="EngineStarting") == 60
    assert host.starts == 1 and host.agent.retry_count == 0
    assert [t[2] for t in host.agent.transitions] == ["ReinitializeFSM", "EngineDown", "EngineStart", "EngineStarting"]


def test_a_host_with_a_lower_score_leaves_the_start_to_the_best_one() -> None:
    host = Host(others={2: other(2, 3400, DOWN)}, bridge=False)
    host.run(300)
    assert host.agent.state == "EngineDown" and host.starts == 0 and host.agent.score() == 2800


def test_the_lock_loser_force_stops_and_counts_no_retry() -> None:
    host = Host(others={2: other(2, 3400, DOWN)})
    host.run(200, until="EngineStarting")
    # another host got the VM's lease: vdsm reports the VM down with sanlock's error, the other host powers it up
    host.health = dict(LOCKED)
    host.others[2]["engine-status"] = dict(STARTING)
    host.now += LOOP_DELAY
    host.run(10)
    assert [t[2] for t in host.agent.transitions[-2:]] == ["EngineForceStop", "EngineDown"]
    assert host.stops == [True] and host.agent.retry_count == 0 and host.agent.score() == 3400
    host.health = dict(DOWN)
    host.run(60)
    assert host.agent.state == "EngineDown" and host.starts == 1


def test_failed_start_commands_cost_50_each_then_0_and_expire_after_600_s() -> None:
    host = Host(others={2: other(2, 1000, DOWN)}, start_ok=False)
    host.run(60)
    scores = []
    for _attempt in range(4):
        host.run(10)
        scores.append(host.agent.score())
    assert host.starts == 4 and host.agent.retry_count == 4
    assert scores == [3350, 3300, 3250, 0]
    # with score 0 it no longer starts; 600 s after the last attempt the count is cleared and it tries again
    last = host.agent.retry_time
    host.run(590)
    assert host.starts == 4 and host.agent.score() == 0
    while host.starts == 4:
        host.run(10)
    assert last is not None and host.now - last == 600 + LOOP_DELAY
    assert host.agent.retry_count == 1 and host.agent.score() == 3350


def test_bad_health_stops_the_vm_after_300_s_and_force_stops_300_s_later() -> None:
    host = Host(health=dict(UP_GOOD), others={2: other(2, 3400, DOWN)})
    host.run(100)
    assert host.agent.state == "EngineUp"
    host.health = dict(UP_BAD)
    to_stop = host.run(1000, until="EngineStop")
    assert 310 <= to_stop <= 330 and host.stops == []
    host.run(10)
    assert host.stops == [False]  # the shutdown request; the guest does not shut down
    to_force = host.run(1000, until="EngineDown")
    assert 300 <= to_force <= 320 and host.stops == [False, True]


def test_maybe_away_becomes_unexpectedly_down_which_holds_the_score_at_0_for_560_s() -> None:
    host = Host(health=dict(UP_GOOD), others={2: other(2, 3400, DOWN)})
    host.run(100)
    host.health = {"vm": "down_missing", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
    assert host.run(10, until="EngineMaybeAway") == 0
    away = host.run(200, until="EngineUnexpectedlyDown")
    assert 40 <= away <= 60 and host.agent.score() == 0
    held = host.run(1000, until="EngineDown")
    assert 560 <= held <= 580 and host.agent.score() == 3400


def test_engine_starting_gives_up_after_600_s() -> None:
    host = Host(health=dict(STARTING), others={2: other(2, 3400, DOWN)})
    host.run(20)
    assert host.agent.state == "EngineStarting"
    waited = host.run(1000, until="EngineStop")
    assert 600 <= waited <= 620


def test_global_maintenance_does_nothing_until_it_clears() -> None:
    host = Host(others={2: other(2, 3400, DOWN)}, maintenance=True)
    host.run(300)
    assert host.agent.state == "GlobalMaintenance" and host.starts == 0 and host.agent.score() == 3400
    host.maintenance = False
    host.run(30, until="EngineStarting")
    assert host.starts == 1


def test_local_maintenance_scores_0_and_reinitializes_when_it_ends() -> None:
    host = Host(others={2: other(2, 3400, UP_GOOD)})
    host.run(100)
    assert host.agent.state == "EngineDown"
    host.local_maintenance = True
    host.run(10)
    assert host.agent.state == "LocalMaintenance" and host.agent.score() == 0 and host.agent.metadata()["maintenance"] is True
    host.local_maintenance = False
    host.run(10)
    assert host.agent.state == "ReinitializeFSM" and host.agent.score() == 0
    host.run(10)
    assert host.agent.state == "EngineDown" and host.agent.score() == 3400


def test_the_engine_host_hands_over_to_a_host_800_points_better() -> None:
    host = Host(health=dict(UP_GOOD), others={2: other(2, 3400, DOWN)})
    host.run(100)
    assert host.agent.state == "EngineUp"
    host.bridge = False  # 2800 here: 600 below the other host, it stays
    host.run(100)
    assert host.agent.state == "EngineUp" and host.stops == []
    host.agent.config = ScoreConfig(mgmt_bridge=800)  # 2600 here: 800 below, it hands over
    host.run(10)
    assert host.agent.state == "EngineStop"
    host.run(10)
    assert host.stops == [False]


def test_an_unknown_local_vm_state_waits_until_vdsm_answers_again() -> None:
    host = Host(health=dict(UP_GOOD), others={2: other(2, 3400, DOWN)})
    host.run(100)
    host.health = {"vm": "unknown", "health": "unknown", "detail": "unknown", "reason": "failed to getVmStats"}
    host.run(100)
    assert host.agent.state == "UnknownLocalVmState" and host.stops == [] and host.starts == 0
    host.health = dict(UP_GOOD)
    host.run(10)
    assert [t[2] for t in host.agent.transitions[-3:]] == ["ReinitializeFSM", "EngineStarting", "EngineUp"]
