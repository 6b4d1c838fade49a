# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the reconciler's snapshot from the engine in 6 requests, whatever the cluster's size (private, may change).

1 the API root (the engine's clock), 2 the cluster (fencing policy), 3 its hosts (``all_content`` for the
hosted-engine fields, fence agents inlined), 4 the storage domains of its data center, 5 the events that matter
(the engine's HA events and our own records, newest first, bounded), 6 the VMs the planner can act on or must know
about: every VM that is not up (HA VMs down or unknown), every VM on a host the engine cannot reach, and the
witnesses recorded for those hosts.  A healthy cluster's thousands of running VMs are not read: free memory comes
from the hosts (``max_scheduling_memory``, net of their VMs).  An engine that refuses ``follow`` or the event
search costs one more request each, never one per host or VM.
"""
from __future__ import annotations

from typing import Any, List, Optional, Set, Tuple
from urllib.parse import quote

from .._engine.errors import EngineBadRequest, EngineError, engine_call
from .._engine.objects import MAX_SEARCH_BYTES, enum_value, get_cluster, inlined_agents, list_hosts, list_vms, search_quote
from .model import UNREACHABLE, Cluster, Domain, Event, Host, HostedEngineInfo, Policy, Snapshot, Vm
from .records import ORIGIN, Memory

READ_REQUESTS = 6
# what the planner reads from the engine's log (see engine_view.py), besides our own records
EVENT_CODES = (9008, 12, 13, 494, 539, 9020, 121, 122, 9002, 9005, 9027, 9004, 9003, 9013, 9014, 9015, 119, 143, 9602, 9603, 33, 73,
               61, 32, 153)
DEFAULT_EVENT_WINDOW = 2000


def event_search() -> str:
    return " or ".join(["origin=%s" % ORIGIN] + ["type=%d" % code for code in EVENT_CODES])


def _epoch(value: Any) -> Optional[float]:
    return value.timestamp() if value is not None else None


def _id(link: Any) -> Optional[str]:
    return getattr(link, "id", None) if link is not None else None


def host_model(host: Any) -> Host:
    pm = host.power_management
    he = host.hosted_engine
    agents = inlined_agents(host)
    return Host(
        id=host.id, name=host.name, status=enum_value(host.status) or "unknown", pm_enabled=bool(getattr(pm, "enabled", False)),
        fence_agents=None if agents is None else len(agents), spm=enum_value(getattr(host.spm, "status", None)) == "spm",
        memory=int(host.memory or 0), max_scheduling_memory=int(host.max_scheduling_memory or 0),
        hosted_engine=None if he is None or not he.configured else HostedEngineInfo(
            configured=True, active=bool(he.active), score=int(he.score or 0), global_maintenance=bool(he.global_maintenance),
            local_maintenance=bool(he.local_maintenance)))


def vm_model(vm: Any) -> Vm:
    ha = vm.high_availability
    placement = vm.placement_policy
    lease = vm.lease
    return Vm(
        id=vm.id, name=vm.name, status=enum_value(vm.status) or "unknown", host_id=_id(vm.host),
        ha=bool(getattr(ha, "enabled", False)), priority=int(getattr(ha, "priority", 0) or 0),
        lease_domain_id=_id(getattr(lease, "storage_domain", None)), memory=int(vm.memory or 0),
        affinity=enum_value(getattr(placement, "affinity", None)) or "migratable",
        placement_host_ids=tuple(h.id for h in (getattr(placement, "hosts", None) or []) if h.id),
        hosted_engine=enum_value(vm.origin) == "managed_hosted_engine", stop_time=_epoch(vm.stop_time))


def event_model(event: Any) -> Event:
    return Event(index=int(event.index if event.index is not None else event.id), code=int(event.code or 0),
                 time=_epoch(event.time) or 0.0, description=event.description or "", severity=enum_value(event.severity) or "normal",
                 origin=event.origin or "", custom_id=event.custom_id, host_id=_id(event.host), vm_id=_id(event.vm))


def cluster_model(cluster: Any) -> Cluster:
    policy = cluster.fencing_policy
    broken = getattr(policy, "skip_if_connectivity_broken", None)
    fencing = Policy(
        enabled=getattr(policy, "enabled", True) is not False,
        skip_if_sd_active=bool(getattr(getattr(policy, "skip_if_sd_active", None), "enabled", False)),
        skip_if_connectivity_broken=bool(getattr(broken, "enabled", False)),
        threshold=int(getattr(broken, "threshold", None) or 50))
    return Cluster(id=cluster.id, name=cluster.name, fencing=fencing, data_center_id=_id(cluster.data_center))


def read_events(system: Any, window: int) -> Tuple[List[Event], int]:
    """The engine's HA events and our records, newest ``window`` first; (events, requests made)."""
    service = system.events_service()
    try:
        with engine_call("listing events"):
            return [event_model(e) for e in service.list(search=event_search(), max=window)], 1
    except EngineBadRequest:
        # an engine whose search does not know one of the terms: read the newest events unfiltered
        with engine_call("listing events"):
            return [event_model(e) for e in service.list(max=window)], 2


def vm_search(cluster_name: str, unreachable: List[Any], events: List[Event]) -> Optional[str]:
    """The search for the VMs the planner needs (see the module docstring); None: read all the cluster's VMs."""
    names = sorted(h.name for h in unreachable)
    ids = {h.id for h in unreachable}
    witnesses: Set[str] = set()
    for record in Memory(events).records:
        if record.kind == "outage" and record.ref in ids:
            witnesses.update(v for v in record.fields.get("witnesses", "").split(",") if v)
    # and binds tighter than or in the engine's search; the hosts are the cluster's, so their VMs are too
    terms = ["cluster=%s and status!=up" % search_quote(cluster_name)] + ["host=%s" % search_quote(n) for n in names]
    terms += ["id=%s" % vm_id for vm_id in sorted(witnesses)]
    search = " or ".join(terms)
    # too long for one request line: read all the cluster's VMs instead
    return search if len(quote(search)) <= MAX_SEARCH_BYTES else None


def read_snapshot(system: Any, cluster_name: str, window: int = DEFAULT_EVENT_WINDOW) -> Snapshot:
    requests = 0
    with engine_call("reading the engine's clock (API root)"):
        api = system.get()
    requests += 1
    now = _epoch(getattr(api, "time", None))
    if now is None:
        raise EngineError("the engine's API root has no time; the reconciler needs the engine's clock",
                          expected="an oVirt engine 4.x API root with <time>")
    cluster = get_cluster(system, cluster_name)
    requests += 1
    hosts = list_hosts(system, cluster_name, all_content=True, follow="agents")
    # list_hosts asks once more, without follow, when the engine refuses to inline the fence agents
    requests += 2 if hosts and inlined_agents(hosts[0]) is None else 1
    dc_id = _id(cluster.data_center)
    with engine_call("listing storage domains", obj="data center of cluster %r" % cluster_name):
        if dc_id:
            domains = list(system.data_centers_service().data_center_service(dc_id).storage_domains_service().list())
        else:
            domains = list(system.storage_domains_service().list())
    requests += 1
    events, cost = read_events(system, window)
    requests += cost
    search = vm_search(cluster_name, [h for h in hosts if enum_value(h.status) in UNREACHABLE], events)
    if search is None:
        vms = list_vms(system, cluster_name)
    else:
        with engine_call("listing the VMs to reconcile", obj="cluster %r" % cluster_name):
            vms = list(system.vms_service().list(search=search))
    requests += 1
    return Snapshot(
        cluster=cluster_model(cluster), hosts=[host_model(h) for h in hosts], vms=[vm_model(v) for v in vms],
        domains=[Domain(id=d.id, name=d.name, status=enum_value(d.status) or enum_value(d.external_status)) for d in domains],
        events=events, now=now, requests=requests)
