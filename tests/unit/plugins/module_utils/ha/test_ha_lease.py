"""The run lease on unique event custom ids, against a fake event log that refuses a duplicate (origin, custom_id)
with HTTP 400 as the real engine does."""
from __future__ import annotations

from typing import Any, List

import ovirtsdk4 as sdk
import pytest
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import EngineBadRequest, EngineError
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.audit import AuditLog, safe_post
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.lease import (
    ENGINE_CALL_BUDGET, STALE_RETRIES, LeaseBusy, LeaseLost, LeaseUnavailable, RunLease)
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Snapshot
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, Memory, custom_id, parse, tag
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.fake_ha_engine import (
    DUPLICATE_DETAIL, HaEngine, audit_log, when)

LOOKUP = 'origin=ovirt_ha.core and message="*run lease of cluster Default taken*"'


class Clock:
    """The controller's monotonic clock; ``tick`` moves it and the engine's clock together."""

    def __init__(self, engine: HaEngine) -> None:
        self.engine = engine
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.engine.now += seconds


@pytest.fixture
def engine() -> HaEngine:
    return HaEngine()


@pytest.fixture
def cluster(engine: HaEngine) -> Any:
    return engine.add_cluster("Default")


@pytest.fixture
def clock(engine: HaEngine) -> Clock:
    return Clock(engine)


def lease(engine: HaEngine, cluster: Any, clock: Clock, holder: str = "ctl-a:1", **kwargs: Any) -> RunLease:
    return RunLease(audit_log(engine, cluster), holder, clock=clock, **kwargs)


def take(engine: HaEngine, cluster: Any, clock: Clock, holder: str = "ctl-a:1", **kwargs: Any) -> RunLease:
    """A lease acquired from a snapshot read now."""
    run = lease(engine, cluster, clock, holder, **kwargs)
    run.acquire(engine.snapshot(cluster.id), engine.memory())
    return run


def blind_snapshot(engine: HaEngine, cluster: Any) -> Snapshot:
    """A snapshot whose event window no longer holds any lease record."""
    return engine.snapshot(cluster.id, events=False)


def stale_generations(engine: HaEngine, cluster: Any, generations: List[int], expired_ago: float = 86400,
                      name: str = "Default", ref: str = "") -> None:
    """Lease records of a long-gone reconciler, still holding their custom ids in the engine, worded as RunLease words
    them for cluster ``name`` (another name: the cluster was renamed since, so the lease search does not find them)."""
    ref = ref or cluster.id
    for generation in generations:
        engine.store(types.Event(
            origin=ORIGIN, time=when(engine.now - expired_ago),
            custom_id=custom_id(cluster.id, "lease", ref, generation),
            description="ovirt_ha.core run lease of cluster %s taken by ctl-old:9 (generation %d, expires in 120 s) %s" % (
                name, generation, tag("lease", ref, generation, holder="old", expires="%d" % (engine.now - expired_ago),
                                      run="ctl-old:9"))))


def lookups(engine: HaEngine) -> List[Any]:
    """The event searches the lease made for its latest record."""
    return [s for s in engine.searches if s is not None and "message=" in s]


# -- acquire -----------------------------------------------------------------------------------------

def test_fresh_acquire_takes_generation_one(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=120)
    assert (run.state, run.generation, run.expires) == ("held", 1, engine.now + 120)
    [record] = engine.records("lease")
    assert (record.episode, record.fields["holder"], record.fields["run"]) == (1, run.token, "ctl-a:1")
    assert record.event.custom_id == custom_id(cluster.id, "lease", cluster.id, 1)
    assert run.as_dict() == {"state": "held", "holder": "ctl-a:1", "generation": 1, "expires_in": 120}
    assert lookups(engine) == [LOOKUP]  # the snapshot held no lease record: it asked the engine for the newest


def test_held_lease_makes_the_next_run_busy_naming_the_holder(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    take(engine, cluster, clock, ttl=120)
    clock.tick(20)
    other = lease(engine, cluster, clock, "ctl-b:2")
    posts = len(engine.posts())
    with pytest.raises(LeaseBusy) as info:
        other.acquire(engine.snapshot(cluster.id), engine.memory())
    assert "another reconciler (ctl-a:1) holds the run lease of cluster Default for 100 s more" in str(info.value)
    assert other.state == "busy"
    assert other.other == {"holder": "ctl-a:1", "generation": 1, "expires_in": 100}
    assert len(engine.posts()) == posts  # it did not even try
    assert lookups(engine) == [LOOKUP]  # the first run's only: the second found the lease in its snapshot


def test_released_lease_is_taken_as_the_next_generation(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    first = take(engine, cluster, clock)
    assert first.release() is None
    assert first.state == "released"
    [release] = engine.records("release")
    assert release.episode == 1
    second = take(engine, cluster, clock, "ctl-b:2")
    assert (second.state, second.generation) == ("held", 2)


def test_expired_lease_is_taken_as_the_next_generation(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    take(engine, cluster, clock, ttl=60)
    clock.tick(61)
    second = take(engine, cluster, clock, "ctl-b:2")
    assert (second.state, second.generation) == ("held", 2)


def test_two_racing_reconcilers_exactly_one_holds(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    snapshot, memory = engine.snapshot(cluster.id), engine.memory()  # both read before either posts
    a, b = lease(engine, cluster, clock, "ctl-a:1"), lease(engine, cluster, clock, "ctl-b:2")
    a.acquire(snapshot, memory)
    with pytest.raises(LeaseBusy) as info:
        b.acquire(snapshot, memory)
    assert "ctl-a:1" in str(info.value)
    assert [a.state, b.state] == ["held", "busy"]
    assert [r.fields["run"] for r in engine.records("lease")] == ["ctl-a:1"]


def test_the_newest_lease_out_of_the_window_is_looked_up(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, [1, 2])
    run = lease(engine, cluster, clock)
    run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert (run.state, run.generation) == ("held", 3)
    assert lookups(engine) == [LOOKUP]
    assert len(engine.posts()) == 1  # straight to the generation after the newest: no stale id tried


def test_a_stale_custom_id_the_lookup_misses_advances_the_generation(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, [1, 2], name="Old")  # taken before the cluster was renamed Default
    run = lease(engine, cluster, clock)
    run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert (run.state, run.generation) == ("held", 3)
    assert len(engine.posts()) == 3  # 1 and 2 refused as duplicates of leases long over


def test_the_lookup_is_case_insensitive_as_the_engines_search(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, [1, 2, 3], name="DEFAULT")
    run = lease(engine, cluster, clock)
    run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert (run.state, run.generation, len(engine.posts())) == ("held", 4, 1)


def test_the_lookup_ignores_the_lease_records_of_another_cluster_id(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, [7, 8], ref="an-earlier-cluster-named-Default")
    run = lease(engine, cluster, clock)
    run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert (run.state, run.generation, len(engine.posts())) == ("held", 1, 1)


def test_stale_custom_ids_are_tried_a_bounded_number_of_times(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, list(range(1, STALE_RETRIES + 1)), name="Old")
    run = lease(engine, cluster, clock)
    with pytest.raises(LeaseUnavailable) as info:
        run.acquire(blind_snapshot(engine, cluster), Memory([]))
    # nobody holds it: this is not another reconciler at work (LeaseBusy), but a problem to report
    assert not isinstance(info.value, LeaseBusy)
    assert "%d generations in a row were taken by leases that are over" % STALE_RETRIES in str(info.value)
    assert len(engine.posts()) == STALE_RETRIES
    assert run.state != "held" and run.other is None


def test_many_stale_generations_do_not_lock_the_cluster_out(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    stale_generations(engine, cluster, list(range(1, 3 * STALE_RETRIES)))
    run = lease(engine, cluster, clock)
    run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert run.state == "held" and run.generation == 3 * STALE_RETRIES
    assert len(engine.posts()) == 1


def test_a_stale_id_that_is_still_live_is_busy(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    take(engine, cluster, clock, "ctl-a:1")  # generation 1, live, but not in the next reader's window
    posts = len(engine.posts())
    other = lease(engine, cluster, clock, "ctl-b:2")
    with pytest.raises(LeaseBusy):
        other.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert other.other is not None and other.other["holder"] == "ctl-a:1"
    assert len(engine.posts()) == posts  # the lookup found it live: no post


def test_an_engine_error_of_the_lookup_is_raised_as_is(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    engine.fail_next = sdk.Error("engine down", code=503)
    run = lease(engine, cluster, clock)
    with pytest.raises(EngineError) as info:
        run.acquire(blind_snapshot(engine, cluster), Memory([]))
    assert not isinstance(info.value, (LeaseBusy, LeaseUnavailable))
    assert engine.posts() == [] and run.state == "not_taken"


# -- check: renew, or lost ---------------------------------------------------------------------------

def test_check_with_time_left_does_not_renew(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=120, action_budget=60)
    clock.tick(59)
    run.check("fence host host04")
    assert (run.generation, run.state) == (1, "held")
    assert len(engine.records("lease")) == 1


def test_check_renews_when_less_than_the_action_budget_is_left(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=120, action_budget=60)
    clock.tick(61)
    run.check("fence host host04")
    assert (run.generation, run.state, run.expires) == (2, "held", engine.now + 120)
    assert [(r.episode, r.fields["holder"]) for r in engine.records("lease")] == [(1, run.token), (2, run.token)]


@pytest.mark.parametrize("budget, renewed", [(None, True), (ENGINE_CALL_BUDGET, False)])
def test_check_renews_for_the_budget_of_the_action(engine: HaEngine, cluster: Any, clock: Clock, budget: Any,
                                                   renewed: bool) -> None:
    run = take(engine, cluster, clock, ttl=180, action_budget=107)
    clock.tick(100)  # 80 s left: too little for the longest action, enough for one engine call
    run.check("confirm host host04 rebooted (manual fence)", budget)
    assert (run.generation, run.state) == (2 if renewed else 1, "held")
    assert len(engine.records("lease")) == (2 if renewed else 1)


def test_check_raises_lease_lost_when_another_took_the_next_generation(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=60, action_budget=10)
    clock.tick(70)  # our lease expired while we were slow; another run takes generation 2
    other = take(engine, cluster, clock, "ctl-b:2", ttl=120)
    assert other.generation == 2
    with pytest.raises(LeaseLost) as info:
        run.check("fence host host04")
    assert "fence host host04" in str(info.value)
    assert run.state == "lost"


def test_check_detects_a_later_generation_even_with_time_left(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=600, action_budget=10)
    log = audit_log(engine, cluster)
    log.post("lease", cluster.id, 2, "lease taken by another", holder="someone-else", expires="%d" % (engine.now + 600),
             run="ctl-b:2")
    with pytest.raises(LeaseLost) as info:
        run.check("start VM web")
    assert "another reconciler (ctl-b:2) took a later run lease" in str(info.value)


def test_check_without_the_lease_refuses(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    with pytest.raises(LeaseLost):
        lease(engine, cluster, clock).check("fence host host04")


def test_release_of_a_lease_not_held_posts_nothing(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    assert lease(engine, cluster, clock).release() is None
    assert engine.posts() == []


def test_release_failure_is_a_warning(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    run = take(engine, cluster, clock, ttl=120)
    engine.fail_next = sdk.Error("engine down", code=503)
    warning = run.release()
    assert warning is not None and warning.startswith("could not release the run lease (it expires by itself in 120 s)")
    assert run.state == "held"


# -- the audit log under the lease ----------------------------------------------------------------------

def test_post_twice_records_once(engine: HaEngine, cluster: Any) -> None:
    log = audit_log(engine, cluster)
    first = log.post("fence", "id-host04", 7, "fencing host04", n=1, host_id="id-host04")
    second = log.post("fence", "id-host04", 7, "fencing host04", n=1, host_id="id-host04")
    assert first.new is True and second.new is False
    assert second.event == first.event
    assert len(engine.records("fence")) == 1
    stored = engine.events[-1]
    assert (stored.origin, stored.flood_rate, stored.host.id, stored.cluster.id) == (ORIGIN, 1, "id-host04", cluster.id)
    assert log.requests == 3  # post, refused post, find


def test_a_bad_request_that_is_not_a_duplicate_is_raised(engine: HaEngine, cluster: Any) -> None:
    engine.fail_next = sdk.Error(
        "bad", code=400, fault=types.Fault(reason="Incomplete parameters", detail="Event [description] required"))
    with pytest.raises(EngineBadRequest):
        audit_log(engine, cluster).post("fence", "id-host04", 7, "x")


def test_safe_post_turns_failures_into_a_warning(engine: HaEngine, cluster: Any) -> None:
    engine.fail_next = sdk.Error("engine down", code=503)
    warning = safe_post(audit_log(engine, cluster), "start", "id-web", 1, "starting web")
    assert warning is not None and warning.startswith("could not record start in the engine's event log")


def test_post_raises_other_engine_errors(engine: HaEngine, cluster: Any) -> None:
    log = AuditLog(engine.system_service(), cluster.id, cluster.name)
    engine.fail_next = sdk.Error("engine down", code=503)
    with pytest.raises(EngineError):
        log.post("lease", cluster.id, 1, "x")


def test_a_racing_duplicate_reported_as_internal_error_reads_the_stored_record(engine: HaEngine, cluster: Any) -> None:
    log = audit_log(engine, cluster)
    first = log.post("fence", "id-host04", 7, "fencing host04", n=1)
    engine.fail_next = sdk.Error("x", code=400, fault=types.Fault(reason="Operation Failed", detail="[Internal Engine Error]"))
    again = log.post("fence", "id-host04", 7, "fencing host04", n=1)
    assert again.new is False and again.event == first.event


def test_an_internal_error_that_stored_nothing_is_not_recorded(engine: HaEngine, cluster: Any) -> None:
    engine.fail_next = sdk.Error("x", code=400, fault=types.Fault(reason="Operation Failed", detail="[Internal Engine Error]"))
    warning = safe_post(audit_log(engine, cluster), "fence", "id-host04", 7, "fencing host04", n=1)
    assert engine.records("fence") == []
    assert warning is not None and "Internal Engine Error" in warning


@pytest.mark.parametrize("detail", ["[Internal Engine Error]", DUPLICATE_DETAIL])
def test_a_refusal_whose_record_is_not_there_raises_the_original_error(engine: HaEngine, cluster: Any, detail: str) -> None:
    log = audit_log(engine, cluster)
    engine.fail_next = sdk.Error("x", code=400, fault=types.Fault(reason="Operation Failed", detail=detail))
    with pytest.raises(EngineBadRequest) as info:
        log.post("fence", "id-host04", 7, "fencing host04", n=1)
    assert info.value.detail == detail
    assert engine.records() == []
    assert log.requests == 2  # the refused post, the find that found nothing


def test_search_lists_our_records_matching_the_query_newest_first(engine: HaEngine, cluster: Any, clock: Clock) -> None:
    log = audit_log(engine, cluster)
    log.post("fence", "id-host04", 7, "fencing host04", n=1)
    engine.add_event(9027, 10, "host04: run lease of cluster Default taken")  # the engine's own, not ours
    first = take(engine, cluster, clock)
    first.release()
    clock.tick(1)
    second = take(engine, cluster, clock, "ctl-b:2")
    found = log.search('message="*run lease of cluster Default taken*"')
    assert [(r.kind, r.episode) for r in (parse(e) for e in found) if r is not None] == [("lease", 2), ("lease", 1)]
    assert len(found) == 2 and second.generation == 2
    assert engine.searches[-1] == LOOKUP
