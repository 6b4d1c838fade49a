# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Posting the reconciler's records to the engine's event log (private, may change).

Each record is an external event (origin ``ovirt_ha.core``) with a ``custom_id`` derived from what it records.  A
second post of the same record is refused by the engine (unique (origin, custom_id)): that is the idempotence the
reconciler relies on, so "already there" counts as recorded.  ``flood_rate`` is set to 1: for external events the
engine applies its 30 s flood suppression only when the rate is 0 (EventFloodRegulator), and a suppressed event
is never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .._engine.errors import EngineBadRequest, EngineError, engine_call
from .model import Event
from .read import event_model
from .records import ORIGIN, custom_id, tag

try:
    from ovirtsdk4 import types
except ImportError:  # the module wrapper reports the missing dependency
    types = None

DUPLICATE = "custom id already exists"
SEVERITIES = ("normal", "warning", "error", "alert")
MAX_DESCRIPTION = 3800


@dataclass
class Posted:
    event: Optional[Event]  # what the engine stored (ours, or the record that was already there)
    new: bool


class AuditLog:
    """Posts records for one cluster; counts its requests."""

    def __init__(self, system: Any, cluster_id: str, cluster_name: str) -> None:
        self.system = system
        self.cluster_id = cluster_id
        self.cluster_name = cluster_name
        self.requests = 0

    def post(self, kind: str, ref: str, episode: int, text: str, *, n: int = 0, severity: str = "normal",
             host_id: Optional[str] = None, vm_id: Optional[str] = None, **fields: str) -> Posted:
        """Record a decision once; an engine that already holds this record answers with a duplicate refusal."""
        ident = custom_id(self.cluster_id, kind, ref, episode, n)
        description = "%s %s" % (text[:MAX_DESCRIPTION], tag(kind, ref, episode, n, **fields))
        event = types.Event(origin=ORIGIN, custom_id=ident, severity=types.LogSeverity(severity), description=description,
                            flood_rate=1, cluster=types.Cluster(id=self.cluster_id),
                            host=types.Host(id=host_id) if host_id else None, vm=types.Vm(id=vm_id) if vm_id else None)
        self.requests += 1
        try:
            with engine_call("recording %s in the engine's event log" % kind, obj="cluster %r" % self.cluster_name):
                stored = self.system.events_service().add(event)
        except EngineBadRequest as exc:
            detail = (exc.detail or "").lower()
            if DUPLICATE not in detail and "internal engine error" not in detail:
                raise
            # refused as a duplicate, or two posts collided in the database: the record must be there now
            found = self.find(ident)
            if found is None:
                raise
            return Posted(found, new=False)
        model = event_model(stored)
        return Posted(model, new=ident == model.custom_id and description == model.description)

    def search(self, query: str, window: int = 20) -> list:
        """Our newest records matching an engine search (``message=...``), newest first."""
        self.requests += 1
        with engine_call("reading the event log"):
            return [event_model(e) for e in self.system.events_service().list(search="origin=%s and %s" % (ORIGIN, query), max=window)]

    def find(self, ident: int) -> Optional[Event]:
        """Our record with this custom_id, if the engine has it."""
        self.requests += 1
        with engine_call("reading the event log"):
            found = self.system.events_service().list(search="origin=%s and custom_event_id=%d" % (ORIGIN, ident), max=1)
        return event_model(found[0]) if found else None


def safe_post(log: AuditLog, *args: Any, **kwargs: Any) -> Optional[str]:
    """Post a record that is only an audit trail: a failure to record is a warning, never a reason to stop."""
    try:
        log.post(*args, **kwargs)
    except EngineError as exc:
        return "could not record %s in the engine's event log: %s" % (args[0] if args else "a decision", exc)
    return None
