from __future__ import annotations

from ansible_collections.ovirt_ha.core.plugins.module_utils._he_runtime.diagnose import Memory, Policy, plan
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.he_runtime.he_volumes import (
    BAD, CRASHED, NOW, UP, block, inventory, volume)

HOSTS = inventory(1, 2, 3)


def run(vol, memory=None, policy=None, hosts=HOSTS, observer=NOW):
    return plan(vol, memory or Memory(), policy or Policy(), hosts, observer)


def kinds(result):
    return [f["kind"] for f in result.findings]


def test_engine_up_on_a_live_host_plans_nothing():
    result = run(volume(block(1, "EngineUp", UP), block(2), block(3)))
    assert result.action is None
    assert result.engine == {"state": "up", "host": "host1.example"}
    assert result.findings == []


def test_engine_down_waits_the_agents_grace_then_restarts_where_it_crashed():
    def vol(now):
        return volume(block(1, "EngineUnexpectedlyDown", CRASHED, score=0, now=now), block(2, now=now),
                      block(3, score=3000, now=now))
    memory = Memory()
    first = run(vol(NOW), memory)
    assert first.action is None and "engine_down" in kinds(first)
    assert run(vol(NOW + 89), memory, observer=NOW + 89).action is None
    later = run(vol(NOW + 91), memory, observer=NOW + 91)
    assert later.action["operation"] == "start_engine_vm"
    assert later.action["host"] == "host1"  # local restart first, although its score is 0


def test_after_a_local_attempt_the_best_score_elsewhere_is_chosen():
    vol = volume(block(1, "EngineUnexpectedlyDown", CRASHED, score=0), block(2, score=2400), block(3, score=3000))
    memory = Memory(engine_down_since=NOW - 200, tried=[[1.0, NOW - 60]])
    result = run(vol, memory)
    assert result.action["host"] == "host3"


def test_no_start_while_a_silent_host_that_ran_the_engine_may_still_hold_its_lock():
    vol = volume(block(1, "EngineUp", UP, age=100), block(2), block(3))
    result = run(vol, Memory(engine_down_since=NOW - 1000))
    assert result.action["operation"] == "restart_agent"  # its agent, if the host answers: never the VM elsewhere
    assert "engine_host_silent" in kinds(result)
    # once it has been silent past the lock grace, and the engine has been down past the agents' grace
    later = run(volume(block(1, "EngineUp", UP, age=220), block(2), block(3)), Memory())
    assert later.action["operation"] == "start_engine_vm" and later.action["host"] in ("host2", "host3")


def test_an_agent_starting_or_stopping_the_vm_is_left_alone_whatever_the_timers():
    for state in ("EngineStart", "EngineStarting", "EngineStop", "EngineForceStop", "EngineMaybeAway"):
        result = run(volume(block(1, state), block(2), block(3)), Memory(engine_down_since=NOW - 5000))
        assert result.action is None, state
        assert result.engine["state"] == "agent_handling"


def test_bad_health_is_reported_not_acted_on():
    result = run(volume(block(1, "EngineUpBadHealth", BAD), block(2), block(3)), Memory(engine_down_since=NOW - 5000))
    assert result.action is None
    assert result.engine["state"] == "up_bad_health"
    assert "engine_bad_health" in kinds(result)


def test_unreachable_and_local_maintenance_hosts_are_never_chosen():
    vol = volume(block(1, score=3400, local=True), block(2, score=3400), block(3, score=2000))
    result = run(vol, Memory(engine_down_since=NOW - 500), hosts=inventory(1, 2, 3, unreachable=(2,)))
    assert result.action["host"] == "host3"
    nobody = run(vol, Memory(engine_down_since=NOW - 500), hosts=inventory(1, 2, 3, unreachable=(2, 3)))
    assert nobody.action is None and "engine_down_no_host" in kinds(nobody)


def test_global_maintenance_reports_until_the_policy_limit_then_clears_it_from_a_host_outside_local_maintenance():
    def vol(now):
        return volume(block(1, "GlobalMaintenance", local=True, now=now), block(2, "GlobalMaintenance", now=now),
                      global_maintenance=True)
    memory = Memory()
    assert run(vol(NOW), memory).action is None
    assert run(vol(NOW + 500), memory, policy=Policy(max_global_maintenance=600), observer=NOW + 500).action is None
    cleared = run(vol(NOW + 601), memory, policy=Policy(max_global_maintenance=600), observer=NOW + 601)
    assert cleared.action["operation"] == "maintenance_none" and cleared.action["host"] == "host2"
    # without the policy key: reported forever
    assert run(vol(NOW), Memory(global_maintenance_since=NOW - 10 ** 6)).action is None


def test_nothing_but_reports_during_global_maintenance_even_with_the_engine_down_and_stale_agents():
    vol = volume(block(1, "GlobalMaintenance"), block(2, age=500), global_maintenance=True)
    result = run(vol, Memory(engine_down_since=NOW - 5000))
    assert result.action is None


def test_a_stale_agent_is_restarted_once_and_a_stopped_one_never():
    vol = volume(block(1, "EngineUp", UP), block(2, age=90), block(3, "AgentStopped", stopped=True, score=0, age=900))
    memory = Memory()
    first = run(vol, memory)
    assert first.action == {"operation": "restart_agent", "host": "host2", "hostname": "host2.example", "host_id": 2,
                            "reason": "no new timestamp for 90 s"}
    assert "agent_stopped" in kinds(first)
    memory.restarted.append([2.0, NOW])
    again = run(vol, memory, observer=NOW + 30)
    assert again.action is None and "agent_stale_after_restart" in kinds(again)


def test_a_timestamp_that_stops_moving_is_stale_by_the_remembered_observations_too():
    # the host's own wall clock looks fresh (it is ahead), but its timestamp has not moved for 70 s of cluster time
    memory = Memory()
    ahead = NOW + 5000
    run(volume(block(1, "EngineUp", UP), block(2, ts=500, now=ahead)), memory)
    later = run(volume(block(1, "EngineUp", UP, now=NOW + 70), block(2, ts=500, now=ahead)), memory, observer=NOW + 70)
    assert [h.live for h in later.hosts] == [True, False]


def test_memory_round_trips_and_old_attempts_expire():
    memory = Memory(tried=[[1.0, NOW - 700], [2.0, NOW - 10]], restarted=[[3.0, NOW]])
    again = Memory.from_dict(memory.as_dict())
    assert again.recent("tried", NOW) == [2]
    assert again.recent("restarted", NOW) == [3]
