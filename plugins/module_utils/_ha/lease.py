# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconciler at a time per cluster: a run lease in the engine's event log (private, may change).

The primitive: the engine keeps (origin, custom_id) of external events unique (a unique index of its audit log;
AddExternalEventCommand refuses a duplicate with HTTP 400, and two posts racing past that check collide in the
database).  Lease generation ``g`` of a cluster is the event with the custom_id derived from (cluster, "lease", g);
whoever stores it holds the lease until the expiry written in it (engine time).  To take the lease a run reads the
latest generation (from the snapshot's events): if it was released or has expired it posts ``g + 1``.  Two
reconcilers that race post the same generation and exactly one is stored; the other reads the holder back and
stands down.  The generation is the fencing token: before every mutating action the holder checks its lease has
time left for the action (renewing it as ``g + 1`` when not) and that nobody stored a later generation.  A holder
that crashed blocks the cluster only until its lease expires.  Works across machines: only the engine is shared.
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from .._engine.errors import EngineError
from .audit import AuditLog
from .model import Snapshot
from .records import Memory, Record, custom_id, parse

DEFAULT_TTL = 180.0
DEFAULT_ACTION_BUDGET = 60.0
ENGINE_CALL_BUDGET = 30.0
STALE_RETRIES = 5


class LeaseBusy(EngineError):
    """Another reconciler holds the cluster's run lease."""


class LeaseLost(EngineError):
    """The run lease ran out or another reconciler took a later generation: stop acting."""


class LeaseUnavailable(EngineError):
    """Nobody seems to hold the lease, yet it could not be taken: a problem to report, not another reconciler."""


def action_budget(policy: Any, bmc_timeout: float) -> float:
    """The longest a single action may take once started: a confirmed power off over IPMI (two exchanges of
    ``bmc_timeout``, the power wait, ``confirm_timeout`` of polling, logout), with a margin.  The lease must have at
    least this much left before such an action starts."""
    return 2 * bmc_timeout + 2.0 + float(policy.confirm_timeout) + 15.0


def default_holder() -> str:
    return "%s:%d" % (socket.gethostname(), os.getpid())


@dataclass
class RunLease:
    log: AuditLog
    holder: str
    ttl: float = DEFAULT_TTL
    action_budget: float = DEFAULT_ACTION_BUDGET
    clock: Callable[[], float] = time.monotonic
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    generation: int = 0
    expires: float = 0.0  # engine time
    engine_at_start: float = 0.0
    local_at_start: float = 0.0
    state: str = "not_taken"
    other: Optional[Dict[str, Any]] = None

    def engine_now(self) -> float:
        """The engine's time now, from its clock at the snapshot and our monotonic clock since."""
        return self.engine_at_start + (self.clock() - self.local_at_start)

    def acquire(self, snapshot: Snapshot, memory: Memory) -> None:
        """Take the lease or raise LeaseBusy; an engine error while trying is raised as is (nothing was done)."""
        self.engine_at_start, self.local_at_start = snapshot.now, self.clock()
        cluster = snapshot.cluster.id
        latest = _latest(memory, "lease", cluster) or self._lookup_latest()
        generation = 1
        if latest is not None:
            released = bool(memory.of("release", cluster, latest.episode))
            expires = float(latest.fields.get("expires", 0))
            if not released and snapshot.now < expires:
                self.busy(latest, expires)
            generation = latest.episode + 1
        for _attempt in range(STALE_RETRIES):
            other = self._post(generation, self.engine_now())
            if other is None:
                return
            record = parse(other)
            if record is None:
                raise LeaseUnavailable("the engine answered the run lease with an event that is not a lease record",
                                       obj="cluster %r" % snapshot.cluster.name)
            expires = float(record.fields.get("expires", 0))
            if self.engine_now() < expires and not memory.of("release", cluster, record.episode):
                self.busy(record, expires)
            # this generation's id is taken by a lease long over (custom ids stay taken for weeks): the next one
            generation += 1
        raise LeaseUnavailable("could not take the run lease: %d generations in a row were taken by leases that are over"
                               % STALE_RETRIES, obj="cluster %r" % snapshot.cluster.name)

    def _lookup_latest(self) -> Optional[Record]:
        """The newest lease record of the cluster, when the snapshot's events did not reach back to it."""
        found = self.log.search('message="*run lease of cluster %s taken*"' % self.log.cluster_name)
        records = [r for r in (parse(e) for e in found) if r is not None and r.kind == "lease" and r.ref == self.log.cluster_id]
        return max(records, key=lambda r: r.episode) if records else None

    def _post(self, generation: int, now: float) -> Optional[Any]:
        """Post generation ``generation``; None when it is ours now, else the event that holds it."""
        expires = now + self.ttl
        text = "ovirt_ha.core run lease of cluster %s taken by %s (generation %d, expires in %d s)" % (
            self.log.cluster_name, self.holder, generation, self.ttl)
        posted = self.log.post("lease", self.log.cluster_id, generation, text, holder=self.token, expires="%d" % expires,
                               run=self.holder.replace(" ", "_"))
        record = parse(posted.event) if posted.event is not None else None
        if record is not None and record.fields.get("holder") == self.token:
            self.generation, self.expires, self.state = generation, float(expires), "held"
            return None
        if posted.event is None:
            raise LeaseLost("the engine refused the run lease and holds no record of it", obj="cluster %r" % self.log.cluster_name)
        return posted.event

    def busy(self, record: Record, expires: float) -> None:
        self.state = "busy"
        self.other = {"holder": record.fields.get("run"), "generation": record.episode, "expires_in": int(expires - self.engine_now())}
        raise LeaseBusy("another reconciler (%s) holds the run lease of cluster %s for %d s more" % (
            record.fields.get("run"), self.log.cluster_name, max(0, expires - self.engine_now())), obj="cluster %r" % self.log.cluster_name)

    def check(self, what: str, budget: Optional[float] = None) -> None:
        """Before a mutating action that may take ``budget`` seconds (the longest action by default): enough lease
        left for it (renew otherwise), and no later generation by another."""
        if self.state != "held":
            raise LeaseLost("not holding the run lease; refusing to %s" % what)
        if self.engine_now() + (self.action_budget if budget is None else budget) > self.expires:
            if self._post(self.generation + 1, self.engine_now()) is not None:
                self.state = "lost"
                raise LeaseLost("the run lease ran out and another reconciler took it; not going to %s" % what)
            return
        later = self.log.find(custom_id(self.log.cluster_id, "lease", self.log.cluster_id, self.generation + 1))
        record = parse(later) if later is not None else None
        if record is not None and record.fields.get("holder") != self.token:
            self.state = "lost"
            raise LeaseLost("another reconciler (%s) took a later run lease; not going to %s" % (record.fields.get("run"), what))

    def release(self) -> Optional[str]:
        """Give the lease back so the next run need not wait for it to expire; returns a warning on failure."""
        if self.state != "held":
            return None
        try:
            self.log.post("release", self.log.cluster_id, self.generation, "ovirt_ha.core run lease of cluster %s released by %s" % (
                self.log.cluster_name, self.holder))
        except EngineError as exc:
            return "could not release the run lease (it expires by itself in %d s): %s" % (max(0, self.expires - self.engine_now()), exc)
        self.state = "released"
        return None

    def as_dict(self) -> Dict[str, Any]:
        result: Dict[str, Any] = {"state": self.state, "holder": self.holder}
        if self.generation:
            result.update(generation=self.generation, expires_in=max(0, int(self.expires - self.engine_now())))
        if self.other is not None:
            result["other"] = self.other
        return result


def _latest(memory: Memory, kind: str, ref: str) -> Optional[Record]:
    found = [r for r in memory.records if r.kind == kind and r.ref == ref]
    return max(found, key=lambda r: r.episode) if found else None
