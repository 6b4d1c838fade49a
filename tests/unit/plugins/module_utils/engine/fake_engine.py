"""A fake engine at the ovirtsdk4 service boundary, holding real ovirtsdk4.types objects.

Only the service methods the engine modules call exist; every call is recorded
in ``engine.requests`` as (method, path) so tests can count requests.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import ovirtsdk4 as sdk
from ovirtsdk4 import types


def _match(obj: Any, search: Optional[str], clusters: Dict[str, Any]) -> bool:
    if not search:
        return True
    if " or " in search:
        return any(_match(obj, term, clusters) for term in search.split(" or "))
    key, _sep, value = search.partition("=")
    value = value.strip('"')
    if key == "name":
        return obj.name == value
    if key == "host":
        host = clusters.get("__hosts__", {}).get(getattr(obj.host, "id", None))
        return host is not None and host.name == value
    if key == "cluster":
        cluster = clusters.get(getattr(obj.cluster, "id", None))
        return cluster is not None and cluster.name == value
    raise AssertionError("unsupported search %r" % search)


class FakeEngine:
    def __init__(self) -> None:
        self.requests: List[tuple] = []
        self.clusters: Dict[str, Any] = {}
        self.hosts: Dict[str, Any] = {}
        self.vms: Dict[str, Any] = {}
        self.storage_domains: Dict[str, Any] = {}
        self.agents: Dict[str, List[Any]] = {}
        self.power: Dict[str, str] = {}
        self.inline_agents = True
        self.follow_error: Optional[BaseException] = None  # raised by a list with follow=, as an engine may
        self.stuck_power = False  # BMC accepts power commands, power stays as it is
        self.fail_next: Optional[BaseException] = None
        self.fail_once: Dict[tuple, BaseException] = {}  # (method, path) -> error raised once
        self._next_id = 1000

    # -- building the model -------------------------------------------------
    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def add_cluster(self, name: str = "Default", **kwargs: Any) -> Any:
        cluster = types.Cluster(id=self.new_id(), name=name, data_center=types.DataCenter(id="dc1"), **kwargs)
        self.clusters[cluster.id] = cluster
        return cluster

    def add_host(self, name: str, cluster: Any, status: str = "up", pm: bool = False, he: Optional[dict] = None,
                 power: str = "on") -> Any:
        host = types.Host(id=self.new_id(), name=name, address=name + ".example.com",
                          cluster=types.Cluster(id=cluster.id), status=types.HostStatus(status),
                          spm=types.Spm(status=types.SpmStatus.NONE),
                          power_management=types.PowerManagement(enabled=pm),
                          hosted_engine=types.HostedEngine(**he) if he is not None else None)
        self.hosts[host.id] = host
        self.agents[host.id] = []
        self.power[host.id] = power
        return host

    def add_agent(self, host: Any, **kwargs: Any) -> Any:
        agent = types.Agent(id=self.new_id(), **kwargs)
        self.agents[host.id].append(agent)
        return agent

    def add_vm(self, name: str, cluster: Any, status: str = "up", ha: bool = False, priority: int = 1,
               lease_sd: Optional[str] = None, host: Any = None, origin: Optional[str] = None) -> Any:
        vm = types.Vm(id=self.new_id(), name=name, cluster=types.Cluster(id=cluster.id),
                      status=types.VmStatus(status), origin=origin,
                      high_availability=types.HighAvailability(enabled=ha, priority=priority),
                      lease=types.StorageDomainLease(storage_domain=types.StorageDomain(id=lease_sd))
                      if lease_sd else None,
                      storage_error_resume_behaviour=types.VmStorageErrorResumeBehaviour.AUTO_RESUME,
                      placement_policy=types.VmPlacementPolicy(affinity=types.VmAffinity.MIGRATABLE),
                      host=types.Host(id=host.id) if host is not None else None)
        self.vms[vm.id] = vm
        return vm

    def add_storage_domain(self, name: str, status: str = "active") -> Any:
        sd = types.StorageDomain(id=self.new_id(), name=name, type=types.StorageDomainType.DATA,
                                 status=types.StorageDomainStatus(status), used=10, available=90, master=False)
        self.storage_domains[sd.id] = sd
        return sd

    def by_name(self, table: Dict[str, Any], name: str) -> Any:
        return next(o for o in table.values() if o.name == name)

    # -- the SDK surface -------------------------------------------------------
    def record(self, method: str, path: str) -> None:
        self.requests.append((method, path))
        error, self.fail_next = self.fail_next, None
        error = error or self.fail_once.pop((method, path), None)
        if error is not None:
            raise error

    @property
    def mutations(self) -> List[tuple]:
        return [r for r in self.requests if r[0] not in ("GET",) and not r[1].endswith("fence:status")]

    def system_service(self) -> "FakeSystem":
        return FakeSystem(self)


class FakeSystem:
    def __init__(self, engine: FakeEngine) -> None:
        self.e = engine

    def clusters_service(self) -> "Collection":
        return Collection(self.e, "clusters", self.e.clusters)

    def hosts_service(self) -> "Collection":
        return Collection(self.e, "hosts", self.e.hosts)

    def vms_service(self) -> "Collection":
        return Collection(self.e, "vms", self.e.vms)

    def storage_domains_service(self) -> "Collection":
        return Collection(self.e, "storagedomains", self.e.storage_domains)

    def data_centers_service(self) -> Any:
        engine = self.e

        class DataCenters:
            def data_center_service(self, dc_id: str) -> Any:
                class DataCenter:
                    def storage_domains_service(self) -> Collection:
                        return Collection(engine, "datacenters/%s/storagedomains" % dc_id, engine.storage_domains)
                return DataCenter()
        return DataCenters()


class Collection:
    def __init__(self, engine: FakeEngine, path: str, table: Dict[str, Any]) -> None:
        self.e, self.path, self.table = engine, path, table

    def list(self, search: Optional[str] = None, follow: Optional[str] = None, all_content: Optional[bool] = None,
             **_kwargs: Any) -> List[Any]:
        self.e.record("GET", self.path)
        if follow and self.e.follow_error is not None:
            raise self.e.follow_error
        result = []
        for obj in self.table.values():
            if not _match(obj, search, dict(self.e.clusters, __hosts__=self.e.hosts)):
                continue
            obj = copy.deepcopy(obj)
            if self.path == "hosts":
                if not all_content:
                    obj.hosted_engine = None
                if follow == "agents" and self.e.inline_agents:
                    obj.agents = copy.deepcopy(self.e.agents[obj.id])
            result.append(obj)
        return result

    def _service(self, obj_id: str) -> "Item":
        return Item(self.e, "%s/%s" % (self.path, obj_id), self.table, obj_id)

    cluster_service = host_service = vm_service = _service


class Item:
    def __init__(self, engine: FakeEngine, path: str, table: Dict[str, Any], obj_id: str) -> None:
        self.e, self.path, self.table, self.id = engine, path, table, obj_id

    @property
    def obj(self) -> Any:
        if self.id not in self.table:
            raise sdk.NotFoundError("HTTP response code is 404.", code=404)
        return self.table[self.id]

    def get(self, **_kwargs: Any) -> Any:
        self.e.record("GET", self.path)
        return copy.deepcopy(self.obj)

    def update(self, patch: Any, **_kwargs: Any) -> Any:
        self.e.record("PUT", self.path)
        obj = self.obj
        if isinstance(patch, types.Vm):
            for attr in ("high_availability", "storage_error_resume_behaviour", "placement_policy"):
                if getattr(patch, attr) is not None:
                    setattr(obj, attr, getattr(patch, attr))
            if patch.lease is not None:
                obj.lease = patch.lease if patch.lease.storage_domain is not None else None
        elif isinstance(patch, types.Host):
            pm = patch.power_management
            for attr in ("enabled", "kdump_detection", "automatic_pm_enabled", "pm_proxies"):
                if getattr(pm, attr) is not None:
                    setattr(obj.power_management, attr, getattr(pm, attr))
        elif isinstance(patch, types.Cluster):
            if patch.fencing_policy is not None:
                obj.fencing_policy = patch.fencing_policy
            if patch.ha_reservation is not None:
                obj.ha_reservation = patch.ha_reservation
        return copy.deepcopy(obj)

    # hosts
    def fence_agents_service(self) -> "Agents":
        return Agents(self.e, self.path + "/fenceagents", self.id)

    def fence(self, fence_type: str, **_kwargs: Any) -> Any:
        self.e.record("POST", "%s/fence:%s" % (self.path, fence_type))
        obj = self.obj
        if fence_type == "status":
            # like the SDK: the action's power_management member
            return types.PowerManagement(status=types.PowerManagementStatus(self.e.power[self.id]))
        if fence_type != "manual" and self.e.stuck_power:
            return None
        if fence_type == "stop":
            if obj.status != types.HostStatus.MAINTENANCE:
                raise sdk.Error("Fault reason is \"Operation Failed\".", code=409,
                                fault=types.Fault(reason="Operation Failed", detail="[Host not in maintenance]"))
            self.e.power[self.id] = "off"
        elif fence_type in ("start", "restart"):
            self.e.power[self.id] = "on"
        elif fence_type == "manual":
            obj.status = types.HostStatus.DOWN
        return None

    def deactivate(self, **_kwargs: Any) -> None:
        self.e.record("POST", self.path + "/deactivate")
        self.obj.status = types.HostStatus.MAINTENANCE
        if self.obj.hosted_engine is not None:
            self.obj.hosted_engine.local_maintenance = True

    def activate(self, **_kwargs: Any) -> None:
        self.e.record("POST", self.path + "/activate")
        self.obj.status = types.HostStatus.UP
        if self.obj.hosted_engine is not None:
            self.obj.hosted_engine.local_maintenance = False

    def install(self, deploy_hosted_engine: Optional[bool] = None, undeploy_hosted_engine: Optional[bool] = None,
                activate: Optional[bool] = None, **_kwargs: Any) -> None:
        self.e.record("POST", self.path + "/install")
        obj = self.obj
        if deploy_hosted_engine:
            obj.hosted_engine = types.HostedEngine(configured=True, active=False, score=3400,
                                                   global_maintenance=False, local_maintenance=False)
        if undeploy_hosted_engine:
            obj.hosted_engine = None
        obj.status = types.HostStatus.UP if activate else types.HostStatus.MAINTENANCE

    # vms
    def maintenance(self, maintenance_enabled: bool, **_kwargs: Any) -> None:
        self.e.record("POST", self.path + "/maintenance")
        for host in self.e.hosts.values():
            if host.hosted_engine is not None:
                host.hosted_engine.global_maintenance = maintenance_enabled


class Agents:
    def __init__(self, engine: FakeEngine, path: str, host_id: str) -> None:
        self.e, self.path, self.host_id = engine, path, host_id

    def list(self, **_kwargs: Any) -> List[Any]:
        self.e.record("GET", self.path)
        return copy.deepcopy(self.e.agents[self.host_id])

    def add(self, agent: Any, **_kwargs: Any) -> Any:
        self.e.record("POST", self.path)
        agent = copy.deepcopy(agent)
        agent.id = self.e.new_id()
        agent.password = None  # the engine never returns passwords
        self.e.agents[self.host_id].append(agent)
        return agent

    def agent_service(self, agent_id: str) -> Any:
        engine, path, host_id = self.e, "%s/%s" % (self.path, agent_id), self.host_id

        class AgentItem:
            def update(self, patch: Any, **_kwargs: Any) -> Any:
                engine.record("PUT", path)
                agent = next(a for a in engine.agents[host_id] if a.id == agent_id)
                for attr in ("username", "port", "options", "encrypt_options", "concurrent"):
                    if getattr(patch, attr) is not None:
                        setattr(agent, attr, getattr(patch, attr))
                return agent

            def remove(self, **_kwargs: Any) -> None:
                engine.record("DELETE", path)
                engine.agents[host_id] = [a for a in engine.agents[host_id] if a.id != agent_id]
        return AgentItem()


def small_cluster(engine: Optional[FakeEngine] = None) -> FakeEngine:
    """Two hosts (host01 runs the engine VM), three VMs, two storage domains."""
    engine = engine or FakeEngine()
    cluster = engine.add_cluster("Default", ha_reservation=False, fencing_policy=types.FencingPolicy(
        enabled=True, skip_if_sd_active=types.SkipIfSdActive(enabled=False),
        skip_if_connectivity_broken=types.SkipIfConnectivityBroken(enabled=False, threshold=50),
        skip_if_gluster_bricks_up=False, skip_if_gluster_quorum_not_met=False))
    he = dict(configured=True, active=True, score=3400, global_maintenance=False, local_maintenance=False)
    h1 = engine.add_host("host01", cluster, pm=True, he=he)
    h2 = engine.add_host("host02", cluster, pm=False, he=dict(he, active=False))
    engine.add_agent(h1, order=1, type="ipmilan", address="10.0.0.1", username="admin", port=623,
                     options=[types.Option(name="lanplus", value="1")], encrypt_options=False, concurrent=False)
    engine.add_storage_domain("data1")
    engine.add_storage_domain("data2", status="maintenance")
    engine.add_vm("HostedEngine", cluster, host=h1, origin="managed_hosted_engine")
    engine.add_vm("vm1", cluster, ha=True, priority=50, host=h1)
    engine.add_vm("vm2", cluster, status="down")
    return engine


# -- running a module against the fake engine ----------------------------------

class FakeSession:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.closed = False
        self.logout_error = None

    @property
    def system(self) -> FakeSystem:
        return self.engine.system_service()

    def __enter__(self) -> "FakeSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closed = True


AUTH = {"url": "https://engine.test/ovirt-engine/api", "username": "admin@internal", "password": "pw"}


def run_module(main: Any, args: Dict[str, Any], engine: FakeEngine, capsys: Any, *, check_mode: bool = False,
               diff: bool = False) -> Dict[str, Any]:
    """Run ``main()`` with ``args``; return the exit JSON plus ``failed`` and ``rc``."""
    from unittest import mock

    from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main

    args = dict(args)
    args.setdefault("auth", AUTH)
    target = "ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module.EngineSession"
    with mock.patch(target, lambda options: FakeSession(engine)):
        rc, result = run_main(main, args, capsys, check_mode=check_mode, diff=diff)
    result["rc"] = rc
    # ansible-core 2.19 returns structured warnings; keep the plain messages.
    result["warning_msgs"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result
