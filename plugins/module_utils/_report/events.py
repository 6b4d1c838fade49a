# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine events for findings that open or clear (private, may change).

A scheduled report must not flood the event log: one event when a finding appears ("open"), one when it goes
away ("clear"), none while it stays.  What is open is read back from the engine's log itself (our external
events, origin ``ovirt_ha.core``, tagged like the reconciler's records, ``records.py``), so any controller can run
the next report.  Each event's ``custom_id`` is derived from the cluster, the finding's key, the transition and
its episode (the how-many-th time this finding opens); the engine refuses a second event with the same
(origin, custom_id), so two reports racing post each transition once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._engine.errors import engine_call
from .._ha.audit import AuditLog
from .._ha.read import event_model
from .._ha.records import ORIGIN, Memory, Record

OPEN, CLEAR = "finding_open", "finding_clear"
DEFAULT_WINDOW = 5000
# the engine's LogSeverity for each finding severity
EVENT_SEVERITY = {"critical": "error", "warning": "warning", "info": "normal"}


def ref_of(key: str) -> str:
    """The finding's key as a record ref (no blank, no bracket: the tag is split on blanks)."""
    return re.sub(r"[\s\[\]]", "_", key)


@dataclass(frozen=True)
class Transition:
    state: str  # OPEN or CLEAR
    key: str
    episode: int
    finding: Optional[Dict[str, Any]]  # None for a clear of a finding no longer reported

    def as_dict(self) -> Dict[str, Any]:
        return {"key": self.key, "state": "open" if self.state == OPEN else "clear", "episode": self.episode}


def open_findings(records: Sequence[Record], cluster_id: str) -> Dict[str, Tuple[int, str]]:
    """ref -> (episode, key) of the findings whose latest record is an open."""
    latest: Dict[str, Record] = {}
    for record in records:
        if record.kind not in (OPEN, CLEAR) or record.fields.get("cluster") != cluster_id:
            continue
        if record.ref not in latest or record.event.index > latest[record.ref].event.index:
            latest[record.ref] = record
    return {ref: (r.episode, r.fields.get("key", ref)) for ref, r in latest.items() if r.kind == OPEN}


def transitions(findings: Sequence[Dict[str, Any]], records: Sequence[Record], cluster_id: str) -> List[Transition]:
    """What to post: an open for each finding not open yet, a clear for each open one no longer found."""
    now_open = open_findings(records, cluster_id)
    episodes: Dict[str, int] = {}
    for record in records:
        if record.kind == OPEN and record.fields.get("cluster") == cluster_id:
            episodes[record.ref] = max(episodes.get(record.ref, 0), record.episode)
    current = {ref_of(f["key"]): f for f in findings}
    out = [Transition(OPEN, f["key"], episodes.get(ref, 0) + 1, f) for ref, f in sorted(current.items()) if ref not in now_open]
    out += [Transition(CLEAR, key, episode, None) for ref, (episode, key) in sorted(now_open.items()) if ref not in current]
    return out


def read_records(system: Any, window: int = DEFAULT_WINDOW) -> List[Record]:
    with engine_call("reading the health report's events"):
        events = [event_model(e) for e in system.events_service().list(search="origin=%s" % ORIGIN, max=window)]
    return Memory(events).records


def post(log: AuditLog, change: Transition, ids: Dict[str, str]) -> bool:
    """Post one transition; False when the engine already had it (another report posted it)."""
    finding = change.finding
    if change.state == OPEN and finding is not None:
        text = "ovirt_ha.core health report, %s: %s. Fix: %s (%s)" % (finding["severity"], finding["message"],
                                                                      finding["fix"], finding["runbook"])
        severity = EVENT_SEVERITY.get(finding["severity"], "normal")
    else:
        text = "ovirt_ha.core health report, cleared: %s" % change.key
        severity = "normal"
    obj = change.key.partition("/")[2]
    object_type = finding["object_type"] if finding else ""
    posted = log.post(change.state, ref_of(change.key), change.episode, text, severity=severity,
                      host_id=ids.get("host/" + obj) if object_type in ("host", "") else None,
                      vm_id=ids.get("vm/" + obj) if object_type in ("vm", "") else None,
                      cluster=log.cluster_id, key=ref_of(change.key))
    return posted.new


def object_ids(snapshot: Optional[Dict[str, Any]]) -> Dict[str, str]:
    """``host/NAME`` and ``vm/NAME`` -> id, from a ``cluster_info`` snapshot, to link events to their objects."""
    ids: Dict[str, str] = {}
    for kind, items in (("host", (snapshot or {}).get("hosts") or []), ("vm", (snapshot or {}).get("vms") or [])):
        for item in items:
            if item.get("id"):
                ids["%s/%s" % (kind, item["name"])] = item["id"]
    return ids
