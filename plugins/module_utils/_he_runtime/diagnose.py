# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosted-engine pass's diagnosis and plan, from the metadata volume alone (private, may change).

Pure: one read of the volume, what earlier runs remembered (``Memory``), the policy and the inventory's hosts in;
findings and at most one action out.  The agents stay in charge: the pass acts only where they cannot or do not,
and after their own timers (HA-FACTS.md): it never starts the engine VM while any host is starting, running or
stopping it, nor while a host that last reported it up may still run it (its sanlock lock outlives the host's last
write by up to 80 s).

Time is the cluster's: the median wall-clock time the agents last wrote (their ``timestamp=N (date)`` lines) or the
observer's clock, whichever is later.  A host is stale when its timestamp did not move for ``liveness_timeout``
seconds of the observer's clock (remembered across runs), or when its own last write is that much older than the
cluster's time.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from .._hosted_engine.metadata import MetadataVolume
from .._hosted_engine.tool import BUSY_STATES, cluster_now, wall_time
from .._hosted_engine.vm_status import engine_health, engine_vm_state


TRY_EXPIRATION = 600.0  # as the agent forgets its failed starts after 600 s


@dataclass
class Policy:
    liveness_timeout: float = 60.0
    engine_down_grace: float = 90.0            # the agents' 60 s of history plus three of their 10 s loops
    lock_grace: float = 120.0                  # a dead host's sanlock lease expires 80 s after its last renewal
    max_global_maintenance: t.Optional[float] = None   # seconds; None: report only
    restart_stale_agents: bool = True
    local_restart_first: bool = True


@dataclass
class Memory:
    """What the pass keeps between runs, next to the volume (``store.py``)."""

    seen: dict[str, list[float]] = field(default_factory=dict)   # host id -> [timestamp, observer time it changed]
    global_maintenance_since: t.Optional[float] = None
    engine_down_since: t.Optional[float] = None
    tried: list[list[float]] = field(default_factory=list)      # [host id, cluster time] of the pass's starts
    restarted: list[list[float]] = field(default_factory=list)  # [host id, cluster time] of its agent restarts

    def as_dict(self) -> dict[str, t.Any]:
        return {"seen": self.seen, "global_maintenance_since": self.global_maintenance_since,
                "engine_down_since": self.engine_down_since, "tried": self.tried, "restarted": self.restarted}

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> "Memory":
        seen = data.get("seen") or {}
        return cls(seen={str(k): [float(v[0]), float(v[1])] for k, v in seen.items()},
                   global_maintenance_since=data.get("global_maintenance_since"),
                   engine_down_since=data.get("engine_down_since"),
                   tried=_pairs(data.get("tried")), restarted=_pairs(data.get("restarted")))

    def recent(self, name: str, now: float) -> list[int]:
        """Hosts of the ``tried`` or ``restarted`` list in the last TRY_EXPIRATION seconds (older ones are forgotten)."""
        kept = [entry for entry in getattr(self, name) if now - entry[1] < TRY_EXPIRATION]
        setattr(self, name, kept)
        return [int(entry[0]) for entry in kept]


def _pairs(value: t.Any) -> list[list[float]]:
    return [[float(h[0]), float(h[1])] for h in value or [] if isinstance(h, list) and len(h) == 2]


@dataclass
class HostView:
    host_id: int
    hostname: str
    name: t.Optional[str]        # inventory name, when the inventory knows the host
    reachable: bool
    state: t.Optional[str]
    score: int
    engine_vm: str
    engine_health: str
    local_maintenance: bool
    stopped: bool
    stale_for: float             # seconds without a new timestamp (0 while it moves)
    live: bool

    def as_dict(self) -> dict[str, t.Any]:
        return dict(self.__dict__)


@dataclass
class Plan:
    hosts: list[HostView]
    findings: list[dict[str, t.Any]]
    action: t.Optional[dict[str, t.Any]]
    engine: dict[str, t.Any]
    memory: Memory
    now: float


def classify(volume: MetadataVolume, memory: Memory, now: float, policy: Policy,
             inventory: t.Mapping[str, t.Mapping[str, t.Any]], observer: float) -> list[HostView]:
    """Judge every block: stale when its timestamp stood still for liveness_timeout seconds of the observer's clock
    (remembered across runs, robust to a host whose clock is off), or when its last write is that much older than the
    cluster's time (one read suffices)."""
    views = []
    for block in sorted(volume.hosts.values(), key=lambda b: b.host_id):
        key = str(block.host_id)
        seen = memory.seen.get(key)
        if seen is None or seen[0] != block.timestamp:
            memory.seen[key] = seen = [float(block.timestamp), observer]
        unchanged = observer - seen[1]
        wall = wall_time(block)
        behind = now - wall if wall is not None else 0.0
        stale_for = max(unchanged, behind) if max(unchanged, behind) >= policy.liveness_timeout else 0.0
        known = inventory.get(block.hostname) or {}
        views.append(HostView(
            host_id=block.host_id, hostname=block.hostname, name=known.get("name"), reachable=bool(known.get("reachable")),
            state=block.state, score=block.score, engine_vm=engine_vm_state(block), engine_health=engine_health(block),
            local_maintenance=bool(block.local_maintenance), stopped=bool(block.stopped), stale_for=stale_for,
            live=not block.stopped and stale_for == 0.0))
    for key in list(memory.seen):
        if int(key) not in volume.hosts:
            del memory.seen[key]
    return views


def _finding(severity: str, kind: str, message: str, host: t.Optional[HostView] = None) -> dict[str, t.Any]:
    return {"severity": severity, "kind": kind, "host": host.name or host.hostname if host else None, "message": message}


def _action(operation: str, host: HostView, reason: str) -> dict[str, t.Any]:
    return {"operation": operation, "host": host.name, "hostname": host.hostname, "host_id": host.host_id, "reason": reason}


def plan(volume: MetadataVolume, memory: Memory, policy: Policy, inventory: t.Mapping[str, t.Mapping[str, t.Any]],
         observer: float) -> Plan:
    now = cluster_now(volume, observer)
    hosts = classify(volume, memory, now, policy, inventory, observer)
    findings: list[dict[str, t.Any]] = []
    for problem in volume.problems:
        findings.append({"severity": "warning", "kind": "metadata_" + problem.kind, "host": None, "message": problem.message})
    engine, action = _engine_pass(volume, memory, policy, hosts, now, findings)
    restarted = memory.recent("restarted", now)
    agents_action = _agents_pass(hosts, findings, restarted)
    if action is None and policy.restart_stale_agents and engine["state"] != "global_maintenance":
        action = agents_action
    return Plan(hosts, findings, action, engine, memory, now)


def _engine_pass(volume: MetadataVolume, memory: Memory, policy: Policy, hosts: list[HostView], now: float,
                 findings: list[dict[str, t.Any]]) -> tuple[dict[str, t.Any], t.Optional[dict[str, t.Any]]]:
    if not hosts:
        findings.append(_finding("error", "no_hosts", "the metadata volume holds no host block: no agent ever wrote it"))
        return {"state": "unknown", "host": None}, None
    glob = bool(volume.global_block and volume.global_block.maintenance)
    if glob:
        memory.global_maintenance_since = memory.global_maintenance_since or now
        since = now - memory.global_maintenance_since
        limit = policy.max_global_maintenance
        if limit is not None and since >= limit:
            target = next((h for h in hosts if h.live and h.reachable and not h.local_maintenance and h.name), None)
            if target is not None:
                return ({"state": "global_maintenance", "host": None},
                        _action("maintenance_none", target, "global maintenance has been on for {0:.0f} s (policy allows {1:.0f} s)"
                                .format(since, limit)))
            findings.append(_finding("error", "global_maintenance_stuck", "global maintenance has been on for {0:.0f} s "
                                     "and no live, reachable host outside local maintenance can clear it".format(since)))
        else:
            findings.append(_finding("warning", "global_maintenance", "global maintenance is on (seen for {0:.0f} s): "
                                     "the agents will not restart the engine VM".format(since)))
        return {"state": "global_maintenance", "host": None}, None
    memory.global_maintenance_since = None

    running = [h for h in hosts if h.engine_vm == "up" and h.live]
    if running:
        best = max(running, key=lambda h: (h.engine_health == "good", h.score))
        memory.engine_down_since, memory.tried = None, []
        if best.engine_health != "good":
            findings.append(_finding("warning", "engine_bad_health", "the engine VM runs on {0} in {1} but the engine "
                                     "does not answer; its agent restarts it after 300 s".format(best.hostname, best.state), best))
        return {"state": "up" if best.engine_health == "good" else "up_bad_health", "host": best.hostname}, None
    busy = [h for h in hosts if h.live and h.state in BUSY_STATES]
    if busy:
        findings.append(_finding("info", "agent_handling", "{0} is in {1}: the agent is handling the engine VM"
                                 .format(busy[0].hostname, busy[0].state), busy[0]))
        return {"state": "agent_handling", "host": busy[0].hostname}, None
    maybe = [h for h in hosts if h.engine_vm == "up" and not h.live and h.stale_for < policy.lock_grace and not h.stopped]
    if maybe:
        findings.append(_finding("warning", "engine_host_silent", "{0} last reported the engine VM up and has been silent "
                                 "for {1:.0f} s: it may still run it until its lock expires ({2:.0f} s)"
                                 .format(maybe[0].hostname, maybe[0].stale_for, policy.lock_grace), maybe[0]))
        return {"state": "unknown", "host": maybe[0].hostname}, None
    if memory.engine_down_since is None:
        # since when: the last write of a dead host that still said "up" (it went silent then), else this run
        last_up = [now - h.stale_for for h in hosts if h.engine_vm == "up" and not h.live]
        memory.engine_down_since = max(last_up) if last_up else now
    down_for = now - memory.engine_down_since
    if down_for < policy.engine_down_grace:
        findings.append(_finding("warning", "engine_down", "the engine VM runs nowhere (for {0:.0f} s); the agents get "
                                 "{1:.0f} s to start it".format(down_for, policy.engine_down_grace)))
        return {"state": "down", "host": None}, None
    tried = memory.recent("tried", now)
    candidates = [h for h in hosts if h.live and h.reachable and h.name and not h.local_maintenance]
    crashed = [h for h in candidates if h.state == "EngineUnexpectedlyDown" and h.host_id not in tried]
    eligible = [h for h in candidates if h.score > 0 and h.host_id not in tried]
    if policy.local_restart_first and crashed and not tried:
        target, why = crashed[0], "restart where it crashed first"
    elif eligible:
        target, why = max(eligible, key=lambda h: (h.score, -h.host_id)), "best score"
    else:
        findings.append(_finding("error", "engine_down_no_host", "the engine VM has run nowhere for {0:.0f} s and no live, "
                                 "reachable host outside local maintenance with a score above 0 is left to start it "
                                 "(tried: {1})".format(down_for, ", ".join(str(i) for i in tried) or "none")))
        return {"state": "down", "host": None}, None
    findings.append(_finding("error", "engine_down", "the engine VM has run nowhere for {0:.0f} s and no agent is starting "
                             "it".format(down_for)))
    return ({"state": "down", "host": None},
            _action("start_engine_vm", target, "down for {0:.0f} s; {1} ({2}, score {3})".format(down_for, why, target.state,
                                                                                                 target.score)))


def _agents_pass(hosts: list[HostView], findings: list[dict[str, t.Any]], restarted: list[int]) -> t.Optional[dict[str, t.Any]]:
    """Stale agents; a restart per host at most once in TRY_EXPIRATION seconds (one that did not help is reported)."""
    action = None
    for host in hosts:
        if host.stopped:
            findings.append(_finding("warning", "agent_stopped", "the agent of {0} was stopped (its last block says so); "
                                     "it is not restarted: someone stopped it".format(host.hostname), host))
        elif not host.live:
            reach = "reachable" if host.reachable else "not reachable from here"
            findings.append(_finding("warning", "agent_stale", "the agent of {0} has not published for {1:.0f} s ({2})"
                                     .format(host.hostname, host.stale_for, reach), host))
            if host.host_id in restarted:
                findings.append(_finding("error", "agent_stale_after_restart", "the agent of {0} was restarted and still "
                                         "does not publish: check its storage connection and logs".format(host.hostname), host))
            elif action is None and host.reachable and host.name:
                action = _action("restart_agent", host, "no new timestamp for {0:.0f} s".format(host.stale_for))
    return action
