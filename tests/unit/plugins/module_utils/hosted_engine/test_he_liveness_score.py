from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.ini_conf import IniFile
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.liveness import LivenessTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.score import (
    Monitors, ScoreWeights, cpu_load_penalty, host_score, network_share, would_take_over,
)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_text


def test_liveness_changes_unchanged_and_unknown():
    tracker = LivenessTracker(timeout=60)
    tracker.observe(1, 100, now=0)
    tracker.observe(2, 500, now=0)
    assert tracker.is_alive(1, now=0) is None          # one read tells nothing
    tracker.observe(1, 110, now=10)
    tracker.observe(2, 500, now=10)
    assert tracker.is_alive(1, now=10) is True
    assert tracker.is_alive(2, now=10) is None         # unchanged, but not for 60 s yet
    tracker.observe(2, 500, now=60)
    assert tracker.is_alive(2, now=60) is False
    tracker.observe(1, 110, now=69.9)
    assert tracker.is_alive(1, now=69.9) is True
    assert tracker.is_alive(1, now=70) is False        # 60 s since its last change
    assert tracker.is_alive(3, now=70) is None
    again = LivenessTracker.from_dict(tracker.to_dict(), timeout=60)
    assert again.is_alive(2, now=60) is False and again.is_alive(1, now=20) is True
    tracker.forget(2)
    assert tracker.is_alive(2, now=100) is None


def test_liveness_does_not_compare_clocks_between_hosts():
    tracker = LivenessTracker(timeout=60)
    tracker.observe(1, 10**9, now=0)
    tracker.observe(1, 10**9 + 10, now=10)
    assert tracker.is_alive(1, now=10) is True


def test_default_weights_come_from_reference_agent_conf():
    section = IniFile.parse(read_text("agent.conf")).sections()["score"]
    assert ScoreWeights.from_agent_conf(section) == ScoreWeights()
    custom = ScoreWeights.from_agent_conf({"base-score": "2000", "cpu-load-penalty-min": "0.5", "bogus": "1",
                                           "network-score-penalty": "x"})
    assert (custom.base_score, custom.cpu_load_penalty_min, custom.network_score_penalty) == (2000, 0.5, 1600)


def test_scores():
    assert host_score(Monitors()) == 3400
    # the agent truncates (1 - 0.8) * 1600 = 319.99..., so 4 of 5 probes cost 319, not 320
    assert host_score(Monitors(network=network_share(4))) == 3400 - 319
    assert host_score(Monitors(network=0.0)) == 1800
    assert host_score(Monitors(bridge_up=False)) == 2800
    assert host_score(Monitors(cpu_load=0.65)) == 2900
    assert host_score(Monitors(cpu_load=0.95)) == 2400
    assert host_score(Monitors(free_memory_mb=1000, engine_memory_mb=16384)) == 3000
    assert host_score(Monitors(free_memory_mb=1000, engine_memory_mb=16384, engine_running_here=True)) == 3400
    assert host_score(Monitors(free_memory_mb=1000, engine_memory_mb=16384, global_maintenance=True)) == 3400
    assert host_score(Monitors(config_up_to_date=False)) == 2400
    assert host_score(Monitors(engine_retries=2)) == 3300
    assert host_score(Monitors(engine_retries=4)) == 0
    assert host_score(Monitors(local_maintenance=True)) == 0
    assert host_score(Monitors(unexpected_down=True)) == 0
    assert host_score(Monitors(network=0, bridge_up=False, cpu_load=1, config_up_to_date=False)) == 0
    assert host_score(Monitors(), ScoreWeights(base_score=2000)) == 2000
    assert would_take_over(3400, 2600) and not would_take_over(3400, 2601)


def test_cpu_penalty_with_equal_bounds():
    weights = ScoreWeights(cpu_load_penalty_min=0.5, cpu_load_penalty_max=0.5)
    assert cpu_load_penalty(0.4, weights) == 0 and cpu_load_penalty(0.5, weights) == 1000


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.booleans(), st.floats(0, 1), st.floats(0, 64000), st.floats(0, 64000), st.booleans(),
       st.integers(0, 10))
def test_score_bounds_property(network, bridge, load, free, need, uptodate, retries):
    score = host_score(Monitors(network=network, bridge_up=bridge, cpu_load=load, free_memory_mb=free,
                                engine_memory_mb=need, config_up_to_date=uptodate, engine_retries=retries))
    assert 0 <= score <= 3400
    better = host_score(Monitors(network=1.0, bridge_up=True, cpu_load=0.0, free_memory_mb=need,
                                 engine_memory_mb=need, config_up_to_date=True, engine_retries=min(retries, 0)))
    assert better >= score
