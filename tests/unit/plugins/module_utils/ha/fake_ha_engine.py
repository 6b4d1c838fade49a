"""The fake engine of the engine-module tests, extended for the reconciler: its clock (the API root), its event log
(with the unique (origin, custom_id) index of the real engine), VM start, and BMCs tied to the hosts' power.

Every SDK call lands in ``engine.requests`` as (method, path), so tests can compare it with ``api_requests``.
"""
from __future__ import annotations

import copy
import datetime
import re
from typing import Any, Callable, Dict, List, Optional, Sequence

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.audit import AuditLog
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.model import Cluster, Snapshot
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.read import event_model
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import Memory, parse
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import BmcTarget
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.engine.fake_engine import (
    Collection, FakeEngine, FakeSystem, Item)

NOW = 1_700_000_000.0
GIB = 1024 ** 3
DUPLICATE_DETAIL = "[=Cannot add External Event. External Event with this custom id already exists.]"


def when(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def duplicate_error() -> sdk.Error:
    """What the engine answers a second external event with the same (origin, custom_id)."""
    return sdk.Error("Fault reason is \"Operation Failed\". Fault detail is \"%s\". HTTP response code is 400." % DUPLICATE_DETAIL,
                     code=400, fault=types.Fault(reason="Operation Failed", detail=DUPLICATE_DETAIL))


class HaEngine(FakeEngine):
    def __init__(self, now: float = NOW) -> None:
        self.vm_searches: List[str] = []
        super().__init__()
        self.now = now
        self.events: List[types.Event] = []
        self.started: Dict[str, Optional[str]] = {}  # VM id -> host id it was started on
        self.timeline: List[tuple] = []  # API requests and IPMI commands, in the order they happened
        self.searches: List[Optional[str]] = []  # the search of each event list, in order

    def record(self, method: str, path: str) -> None:
        self.timeline.append((method, path))
        super().record(method, path)

    def system_service(self) -> "HaSystem":
        return HaSystem(self)

    # -- building --------------------------------------------------------------------------------
    def add_host(self, name: str, cluster: Any, status: str = "up", pm: bool = False, he: Optional[dict] = None,
                 power: str = "on", free_gib: float = 64) -> Any:
        host = super().add_host(name, cluster, status=status, pm=pm, he=he, power=power)
        host.memory = host.max_scheduling_memory = int(free_gib * GIB)
        return host

    def set_status(self, host: Any, status: str) -> None:
        self.hosts[host.id].status = types.HostStatus(status)

    def add_event(self, code: int, ago: float, description: str = "", host: Any = None, vm: Any = None) -> types.Event:
        """An event the engine itself logged ``ago`` s before now."""
        event = types.Event(code=code, time=when(self.now - ago), description=description or "event %d" % code, origin="oVirt",
                            severity=types.LogSeverity.NORMAL, host=types.Host(id=host.id) if host is not None else None,
                            vm=types.Vm(id=vm.id) if vm is not None else None)
        return self._store(event)

    def store(self, event: types.Event) -> types.Event:
        """Store ``event`` as the engine would (index, id, time when not given), without any check."""
        return self._store(event)

    def _store(self, event: types.Event) -> types.Event:
        event = copy.deepcopy(event)
        event.index = len(self.events) + 1
        event.id = str(event.index)
        if event.time is None:
            event.time = when(self.now)
        self.events.append(event)
        return copy.deepcopy(event)

    # -- reading back ------------------------------------------------------------------------------
    def records(self, kind: Optional[str] = None) -> List[Any]:
        """Our records, oldest first (optionally of one kind)."""
        found = [parse(event_model(e)) for e in self.events]
        return [r for r in found if r is not None and (kind is None or r.kind == kind)]

    def kinds(self) -> List[str]:
        return [r.kind for r in self.records()]

    def posts(self) -> List[tuple]:
        return [r for r in self.requests if r == ("POST", "events")]

    def snapshot(self, cluster_id: str, name: str = "Default", *, events: bool = True) -> Snapshot:
        """The part of a snapshot the lease reads: the events (ours included; none when ``events`` is false, as when
        they fell out of the event window) and the engine's clock."""
        return Snapshot(cluster=Cluster(id=cluster_id, name=name), hosts=[], vms=[], domains=[],
                        events=[event_model(e) for e in self.events] if events else [], now=self.now)

    def memory(self) -> Memory:
        return Memory(event_model(e) for e in self.events)


_ATOM = re.compile(r'\s*(?P<key>[A-Za-z_]+)\s*(?P<neg>!?)=\s*(?:"(?P<quoted>[^"]*)"|(?P<word>[^\s"]+))')
_JOIN = re.compile(r"\s+(?P<op>and|or)\s+", re.IGNORECASE)


def _terms(search: Optional[str]) -> List[List[tuple]]:
    """``a=1 and b="x y" or c=3`` -> [[(a, 1), (b, x y)], [(c, 3)]]: ``and`` binds tighter, as in the engine; a quoted
    value may hold spaces (and the words ``and`` / ``or``)."""
    if not search or not search.strip():
        return []
    text = search.strip()
    alternatives: List[List[tuple]] = [[]]
    position = 0
    while True:
        atom = _ATOM.match(text, position)
        if atom is None:
            raise AssertionError("unparsable event search %r at %r" % (search, text[position:]))
        value = atom.group("quoted") if atom.group("quoted") is not None else atom.group("word")
        key = atom.group("key").lower()
        alternatives[-1].append((key + "!" if atom.group("neg") else key, value))
        position = atom.end()
        if position == len(text):
            return alternatives
        join = _JOIN.match(text, position)
        if join is None:
            raise AssertionError("unparsable event search %r at %r" % (search, text[position:]))
        if join.group("op").lower() == "or":
            alternatives.append([])
        position = join.end()


def _like(pattern: str, value: Optional[str]) -> bool:
    """The engine's ``=`` on a text field: ``*`` matches any run of characters, case-insensitive (ILIKE)."""
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("*"))
    return value is not None and re.fullmatch(regex, value.lower(), re.DOTALL) is not None


def _matches(event: types.Event, atoms: List[tuple]) -> bool:
    values = {"origin": event.origin, "type": str(event.code), "custom_event_id": str(event.custom_id),
              "message": event.description}
    for key, value in atoms:
        if key not in values:
            raise AssertionError("unsupported event search term %r" % key)
        if not _like(value, values[key]):
            return False
    return True


class FakeEvents:
    def __init__(self, engine: HaEngine) -> None:
        self.e = engine

    def add(self, event: types.Event, **_kwargs: Any) -> types.Event:
        self.e.record("POST", "events")
        if event.custom_id is not None and any(
                (e.origin, e.custom_id) == (event.origin, event.custom_id) for e in self.e.events):
            raise duplicate_error()
        assert event.flood_rate == 1, "external events with flood_rate 0 may be suppressed by the engine"
        return self.e._store(event)

    def list(self, search: Optional[str] = None, max: Optional[int] = None, **_kwargs: Any) -> List[types.Event]:  # noqa: A002
        self.e.record("GET", "events")
        self.e.searches.append(search)
        alternatives = _terms(search)
        found = [e for e in reversed(self.e.events) if not alternatives or any(_matches(e, a) for a in alternatives)]
        return copy.deepcopy(found[:max] if max else found)


class HaItem(Item):
    e: HaEngine

    def start(self, vm: Any = None, **_kwargs: Any) -> None:
        self.e.record("POST", self.path + "/start")
        obj = self.obj
        hosts = getattr(getattr(vm, "placement_policy", None), "hosts", None) or []
        host_id = hosts[0].id if hosts else None
        obj.status = types.VmStatus.UP
        obj.host = types.Host(id=host_id) if host_id else None
        self.e.started[self.id] = host_id


def _vm_matches(engine: HaEngine, vm: Any, atoms: List[tuple]) -> bool:
    """The engine's VM search terms the reconciler uses: cluster, status (= and !=), host, id."""
    cluster = engine.clusters.get(getattr(vm.cluster, "id", None))
    host = engine.hosts.get(getattr(vm.host, "id", None)) if vm.host is not None else None
    values = {"cluster": cluster.name if cluster else None, "status": vm.status.value if vm.status else None,
              "host": host.name if host else None, "id": vm.id}
    for key, value in atoms:
        negated = key.endswith("!")
        key = key.rstrip("!")
        if key not in values:
            raise AssertionError("unsupported VM search term %r" % key)
        if _like(value, values[key]) == negated:
            return False
    return True


class HaCollection(Collection):
    def list(self, search: Optional[str] = None, follow: Optional[str] = None, all_content: Optional[bool] = None,
             **kwargs: Any) -> List[Any]:
        if self.path != "vms" or not search or (" or " not in search and "!=" not in search):
            return super().list(search=search, follow=follow, all_content=all_content, **kwargs)
        self.e.record("GET", self.path)
        self.e.vm_searches.append(search)
        alternatives = _terms(search)
        return [copy.deepcopy(vm) for vm in self.table.values() if any(_vm_matches(self.e, vm, atoms) for atoms in alternatives)]

    def _service(self, obj_id: str) -> HaItem:
        return HaItem(self.e, "%s/%s" % (self.path, obj_id), self.table, obj_id)

    cluster_service = host_service = vm_service = _service


class HaSystem(FakeSystem):
    e: HaEngine

    def get(self, **_kwargs: Any) -> types.Api:
        self.e.record("GET", "")
        return types.Api(time=when(self.e.now))

    def events_service(self) -> FakeEvents:
        return FakeEvents(self.e)

    def hosts_service(self) -> HaCollection:
        return HaCollection(self.e, "hosts", self.e.hosts)

    def vms_service(self) -> HaCollection:
        return HaCollection(self.e, "vms", self.e.vms)


def audit_log(engine: HaEngine, cluster: Any) -> AuditLog:
    return AuditLog(engine.system_service(), cluster.id, cluster.name)


# -- BMCs ---------------------------------------------------------------------------------------------

class FakeBmcs:
    """Stands in for ``_ipmi.bulk`` (bmc_info, bmc_fence, bmc_power), one BMC per host name, power tied to the engine's
    host power.  ``unreachable``: names whose BMC does not answer; ``stuck``: names whose power ignores commands."""

    def __init__(self, engine: HaEngine) -> None:
        self.engine = engine
        self.calls: List[tuple] = []
        self.unreachable: set = set()
        self.stuck: set = set()
        self.requests: List[Any] = []  # the FenceRequest / PowerRequest of each command
        self.during_fence: Optional[Callable[[], None]] = None  # runs while a power off is under way

    def host_id(self, name: str) -> str:
        return self.engine.by_name(self.engine.hosts, name).id

    def power(self, name: str) -> str:
        return self.engine.power[self.host_id(name)]

    def unreachable_result(self, target: BmcTarget) -> Dict[str, Any]:
        return dict(target.public(), failed=True, reachable=False, power=None,
                    msg="BMC %s did not complete an IPMI login within 15s" % target.label)

    def note(self, *call: Any) -> None:
        self.calls.append(call)
        self.engine.timeline.append(("IPMI",) + call)

    def bmc_info(self, targets: Sequence[BmcTarget], parallel: int = 8) -> List[Dict[str, Any]]:
        results = []
        for target in targets:
            self.note("info", target.name)
            if target.name in self.unreachable:
                results.append(self.unreachable_result(target))
            else:
                results.append(dict(target.public(), failed=False, reachable=True, power=self.power(target.name)))
        return results

    def bmc_fence(self, targets: Sequence[BmcTarget], request: Any, parallel: int = 8) -> List[Dict[str, Any]]:
        results = []
        for target in targets:
            self.note("fence", target.name, request.action)
            self.requests.append(request)
            if self.during_fence is not None:
                self.during_fence()
            if target.name in self.unreachable:
                results.append(dict(self.unreachable_result(target), fenced=False, result="failed"))
            elif target.name in self.stuck:
                results.append(dict(target.public(), failed=True, fenced=False, result="failed", power_after="on",
                                    msg="BMC %s did not confirm power off; NOT fenced" % target.label))
            else:
                self.engine.power[self.host_id(target.name)] = "off"
                results.append(dict(target.public(), failed=False, fenced=True, result="success", power_after="off"))
        return results

    def bmc_power(self, targets: Sequence[BmcTarget], request: Any, parallel: int = 8) -> List[Dict[str, Any]]:
        results = []
        for target in targets:
            self.note("power", target.name, request.state)
            self.requests.append(request)
            if target.name in self.unreachable:
                results.append(self.unreachable_result(target))
            else:
                self.engine.power[self.host_id(target.name)] = request.state
                results.append(dict(target.public(), failed=False, power=request.state))
        return results

    def commands(self) -> List[tuple]:
        """The calls that change power (fence and power), without the reads."""
        return [c for c in self.calls if c[0] != "info"]

    def install(self, monkeypatch: Any) -> "FakeBmcs":
        from ansible_collections.ovirt_ha.core.plugins.module_utils._ha import executor

        for name in ("bmc_info", "bmc_fence", "bmc_power"):
            monkeypatch.setattr(executor.bulk, name, getattr(self, name))
        return self


def bmc_target(name: str) -> BmcTarget:
    return BmcTarget(name=name, address="192.0.2.%d" % (sum(map(ord, name)) % 200 + 1), username="admin", password="bmc-secret")
