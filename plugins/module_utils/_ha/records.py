# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's memory, kept in the engine's event log (private, may change).

The reconciler is stateless between runs: what must survive a run (fence attempts per host, start attempts per VM,
the lease witnesses of a host's outage, the run lease) is an external event with origin ``ovirt_ha.core``.  Each
event's ``custom_id`` is derived from what it records, and the engine refuses a second event with the same
(origin, custom_id) (a unique index of its audit log): posting the same decision twice records it once, and two
reconcilers racing for the same run lease cannot both win.  Any controller can run the next pass.

The description ends with a machine-readable tag: ``[ovirt_ha.core kind=... ref=... episode=... n=... k=v]``.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

from .model import Event

ORIGIN = "ovirt_ha.core"
_TAG = re.compile(r"\[ovirt_ha\.core ([^\]]*)\]\s*$")


@dataclass(frozen=True)
class Record:
    """One of our events, parsed."""

    kind: str
    ref: str
    episode: int
    n: int
    fields: Dict[str, str]
    event: Event


def custom_id(cluster_id: str, kind: str, ref: str, episode: int, n: int = 0) -> int:
    """A stable positive 31-bit id for one decision (the engine's custom_id is a signed 32-bit int)."""
    key = "%s|%s|%s|%d|%d" % (cluster_id, kind, ref, episode, n)
    return (zlib.crc32(key.encode("utf-8")) & 0x7FFFFFFF) or 1


def tag(kind: str, ref: str, episode: int, n: int = 0, **extra: str) -> str:
    parts = ["kind=%s" % kind, "ref=%s" % ref, "episode=%d" % episode, "n=%d" % n]
    parts.extend("%s=%s" % (key, value) for key, value in sorted(extra.items()))
    return "[%s %s]" % (ORIGIN, " ".join(parts))


def parse(event: Event) -> Optional[Record]:
    if event.origin != ORIGIN:
        return None
    match = _TAG.search(event.description or "")
    if match is None:
        return None
    values: Dict[str, str] = {}
    for part in match.group(1).split():
        key, sep, value = part.partition("=")
        if sep:
            values[key] = value
    try:
        return Record(kind=values.pop("kind"), ref=values.pop("ref"), episode=int(values.pop("episode")),
                      n=int(values.pop("n")), fields=values, event=event)
    except (KeyError, ValueError):
        return None


class Memory:
    """What earlier runs recorded, indexed for the planner."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.records: List[Record] = [r for r in (parse(e) for e in events) if r is not None]

    def of(self, kind: str, ref: str, episode: Optional[int] = None) -> List[Record]:
        return [r for r in self.records if r.kind == kind and r.ref == ref and (episode is None or r.episode == episode)]

    def attempts(self, kind: str, ref: str, episode: int) -> List[Record]:
        """Records of ``kind`` for ``ref`` in this episode, oldest first."""
        return sorted(self.of(kind, ref, episode), key=lambda r: r.event.index)

    def latest(self, kind: str) -> Optional[Record]:
        found = [r for r in self.records if r.kind == kind]
        return max(found, key=lambda r: r.event.index) if found else None
