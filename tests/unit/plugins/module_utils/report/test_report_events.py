"""Which finding transitions to post, from the records already in the event log (the lab test posts them for real)."""
from __future__ import annotations

from typing import List

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Event
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import ORIGIN, Memory, Record, tag
from ansible_collections.ovirt_ha.core.plugins.module_utils._report import events


def record(index: int, kind: str, key: str, episode: int, cluster: str = "c1") -> Event:
    ref = events.ref_of(key)
    return Event(index=index, code=9801, time=float(index), origin=ORIGIN, custom_id=index,
                 description="text %s" % tag(kind, ref, episode, cluster=cluster, key=ref))


def records(*items: Event) -> List[Record]:
    return Memory(list(items)).records


def finding(key: str) -> dict:
    return {"key": key, "severity": "warning", "object_type": "vm", "message": "m", "fix": "f", "runbook": "r"}


def test_new_findings_open_at_episode_one_and_stay_quiet_while_open() -> None:
    changes = events.transitions([finding("ha_vm_down/a b")], [], "c1")
    assert [(c.state, c.key, c.episode) for c in changes] == [(events.OPEN, "ha_vm_down/a b", 1)]
    assert events.ref_of("ha_vm_down/a b") == "ha_vm_down/a_b"
    logged = records(record(1, events.OPEN, "ha_vm_down/a b", 1))
    assert events.transitions([finding("ha_vm_down/a b")], logged, "c1") == []


def test_a_finding_that_went_away_clears_and_reopens_at_the_next_episode() -> None:
    logged = records(record(1, events.OPEN, "k/x", 1))
    assert [(c.state, c.episode) for c in events.transitions([], logged, "c1")] == [(events.CLEAR, 1)]
    logged = records(record(1, events.OPEN, "k/x", 1), record(2, events.CLEAR, "k/x", 1))
    assert events.transitions([], logged, "c1") == []
    assert [(c.state, c.episode) for c in events.transitions([finding("k/x")], logged, "c1")] == [(events.OPEN, 2)]


def test_other_clusters_and_other_records_are_ignored() -> None:
    logged = records(record(1, events.OPEN, "k/x", 1, cluster="c2"),
                     Event(index=2, code=9801, time=2.0, origin=ORIGIN, description="text %s" % tag("fence", "h1", 5)))
    assert [(c.state, c.episode) for c in events.transitions([finding("k/x")], logged, "c1")] == [(events.OPEN, 1)]
    assert events.transitions([], logged, "c1") == []
