"""The lab's cluster model: data center, clusters, hosts, VMs, storage domains, tags, templates, events, jobs.

Every object caches its serialized XML; assigning any public attribute drops the cache.
All access goes through ``Model.lock`` (one re-entrant lock for the whole model).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


# every engine has the root of the tag tree and the Blank template, both with the empty GUID
ROOT_TAG_ID = "00000000-0000-0000-0000-000000000000"
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"


def new_id() -> str:
    return str(uuid.uuid4())


class Cached:
    """Base for model objects: keeps ``_xml`` (serialized forms) and drops it on any change."""

    _xml: Optional[dict[Any, bytes]] = None

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            object.__setattr__(self, "_xml", None)

    def cached(self, key: Any) -> Optional[bytes]:
        return self._xml.get(key) if self._xml else None

    def store(self, key: Any, data: bytes) -> None:
        if self._xml is None:
            object.__setattr__(self, "_xml", {})
        assert self._xml is not None
        self._xml[key] = data


@dataclass(eq=False)
class DataCenter(Cached):
    id: str
    name: str
    status: str = "up"
    version: tuple[int, int] = (4, 7)


@dataclass(eq=False)
class Cluster(Cached):
    id: str
    name: str
    data_center_id: str
    fencing_enabled: bool = True
    skip_if_connectivity_broken: bool = False
    connectivity_threshold: int = 50
    skip_if_sd_active: bool = False
    skip_if_gluster_bricks_up: bool = False
    skip_if_gluster_quorum_not_met: bool = False
    ha_reservation: bool = False
    cpu_type: str = "Intel Nehalem Family"
    version: tuple[int, int] = (4, 7)


@dataclass(eq=False)
class FenceAgent(Cached):
    id: str
    host_id: str
    type: str = "ipmilan"
    address: str = "127.0.0.1"
    port: int = 623
    username: str = "admin"
    password: str = ""
    order: int = 1
    options: dict[str, str] = field(default_factory=dict)
    encrypt_options: bool = False
    concurrent: bool = False


@dataclass(eq=False)
class Host(Cached):
    id: str
    name: str
    address: str
    cluster_id: str
    status: str = "up"
    spm: str = "none"
    spm_priority: int = 5
    memory: int = 256 * 1024 ** 3
    cpu_sockets: int = 2
    cpu_cores: int = 16
    cpu_threads: int = 2
    cpu_name: str = "Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz"
    cpu_speed: int = 2900
    pm_enabled: bool = True
    pm_automatic: bool = True
    kdump_detection: bool = True
    # fence proxy preference ("cluster", "dc", "other_dc"); empty means the engine-wide default, not shown by the API
    pm_proxies: list[str] = field(default_factory=list)
    # physical and network facts (the truth, not the engine's view)
    power_on: bool = True
    network_ok: bool = True
    mgmt_bridge_ok: bool = True
    # storage domains this host cannot reach although its network is up (a broken path to one domain)
    storage_cut: list[str] = field(default_factory=list)
    # vdsm hung: the host answers SSH but not the engine; a vdsm restart (soft fence) cures it unless persistent,
    # a reboot always does
    vdsm_hung: bool = False
    vdsm_hang_persistent: bool = False
    vdsm_restarts: int = 0
    booted_at: float = -3600.0
    boot_seconds: float = 60.0
    power_log: list[tuple[float, str]] = field(default_factory=list)
    status_log: list[str] = field(default_factory=list)
    # engine bookkeeping
    fail_since: Optional[float] = None
    failed_checks: int = 0
    fence_state: str = ""
    fence_due: float = 0.0
    last_power_op: Optional[float] = None
    transition_due: Optional[float] = None
    transition_to: str = ""
    lease_try_due: Optional[float] = None
    non_responsive_since: Optional[float] = None
    # last renewal of the host's storage (sanlock) lease; underscore: changes every tick, not part of the API view
    _lease_renewed: float = 0.0
    # hosted engine
    he_configured: bool = False
    he_host_id: int = 0
    he_local_maintenance: bool = False
    he_score: int = 0
    he_agent_stopped: bool = False
    he_agent_hung: bool = False      # the agent's process lives but stopped publishing (fault agent_hung)
    he_broker_stopped: bool = False
    he_metadata_stale: bool = False
    he_agent_ts: int = 0
    he_state: str = ""
    # what the host's broker monitors see besides the bridge: gateway probes answered (of 5), load per CPU, whether
    # the hosted-engine configuration on the shared storage is newer than the host's copy
    he_gateway_ok: int = 5
    cpu_load: float = 0.0
    he_conf_outdated: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "status" and getattr(self, "status", None) != value and "status_log" in self.__dict__:
            self.status_log.append(value)
            del self.status_log[:-50]
        super().__setattr__(name, value)

    def responsive(self, now: float) -> bool:
        """Can the engine reach vdsm on this host (power, network, management bridge, booted)?"""
        return self.ssh_reachable(now) and not self.vdsm_hung

    def ssh_reachable(self, now: float) -> bool:
        """Can the engine open an SSH session to the host (its management address; soft fencing)?"""
        return self.power_on and self.network_ok and self.mgmt_bridge_ok and now >= self.booted_at + self.boot_seconds

    def restart_vdsm(self) -> None:
        """``systemctl restart vdsmd`` over SSH, as the engine's soft fence does."""
        self.vdsm_restarts += 1
        if not self.vdsm_hang_persistent:
            self.vdsm_hung = False

    def storage_lease_alive(self, now: float) -> bool:
        """The host renews its storage lease while powered, booted and on the storage network."""
        return self.power_on and self.network_ok and now >= self.booted_at + self.boot_seconds

    def renew_lease(self, now: float) -> None:
        if self.storage_lease_alive(now):
            object.__setattr__(self, "_lease_renewed", now)

    def lease_renewed_within(self, now: float, seconds: float) -> bool:
        """What the engine checks for skip_if_sd_active: a lease renewal in the last ``seconds``."""
        return now - self._lease_renewed <= seconds


@dataclass(eq=False)
class Vm(Cached):
    id: str
    name: str
    cluster_id: str
    status: str = "down"
    host_id: Optional[str] = None
    memory: int = 4 * 1024 ** 3
    cpus: int = 2
    ha_enabled: bool = False
    ha_priority: int = 0
    lease_sd_id: Optional[str] = None
    resume_behaviour: str = "auto_resume"
    affinity: str = "migratable"
    placement_hosts: list[str] = field(default_factory=list)
    storage_sd_id: Optional[str] = None
    hosted_engine: bool = False
    stop_reason: str = ""
    down_with_error: bool = False
    start_time: float = 0.0
    stop_time: float = 0.0
    transition_due: Optional[float] = None
    transition_to: str = ""
    migrate_to: Optional[str] = None
    restart_attempts: int = 0
    restart_due: Optional[float] = None
    restart_queued: float = 0.0
    paused_by_storage: bool = False


@dataclass(eq=False)
class StorageDomain(Cached):
    id: str
    name: str
    type: str = "data"
    storage_type: str = "nfs"
    address: str = "nfs.lab.example"
    path: str = "/exports/data"
    status: str = "active"
    master: bool = False
    available: int = 2 * 1024 ** 4
    used: int = 512 * 1024 ** 3
    hosted_engine: bool = False


@dataclass(eq=False)
class Event(Cached):
    id: int
    code: int
    severity: str
    description: str
    time: float
    origin: str = "oVirt"
    custom_id: Optional[int] = None
    host_id: Optional[str] = None
    vm_id: Optional[str] = None
    cluster_id: Optional[str] = None
    data_center_id: Optional[str] = None
    storage_domain_id: Optional[str] = None
    flood_rate: int = 30


@dataclass(eq=False)
class Tag(Cached):
    id: str
    name: str
    description: str = ""
    # None only for the root tag; every other tag hangs below one
    parent_id: Optional[str] = None


@dataclass(eq=False)
class Template(Cached):
    id: str
    name: str
    description: str = ""
    memory: int = 1024 ** 3


@dataclass(eq=False)
class Job(Cached):
    id: str
    description: str
    status: str
    start_time: float
    end_time: Optional[float] = None
    last_updated: float = 0.0
    external: bool = False
    auto_cleared: bool = True


class Model:
    """Everything the engine knows, plus the physical truth about each host."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.data_centers: dict[str, DataCenter] = {}
        self.clusters: dict[str, Cluster] = {}
        self.hosts: dict[str, Host] = {}
        self.vms: dict[str, Vm] = {}
        self.storage_domains: dict[str, StorageDomain] = {}
        self.agents: dict[str, FenceAgent] = {}
        self.events: list[Event] = []
        # (origin, custom_id) is unique among external events, deleted ones included (the engine deletes softly)
        self.events_by_custom_id: dict[tuple[str, int], Event] = {}
        # flood regulation of external events: key (severity and the linked objects) -> lab time of the last one stored
        self.event_flood: dict[tuple[Optional[str], ...], float] = {}
        self.tags: dict[str, Tag] = {ROOT_TAG_ID: Tag(id=ROOT_TAG_ID, name="root", description="root")}
        # host or VM id -> ids of the tags assigned to it, in assignment order
        self.assigned_tags: dict[str, list[str]] = {}
        self.templates: dict[str, Template] = {BLANK_TEMPLATE_ID: Template(id=BLANK_TEMPLATE_ID, name="Blank",
                                                                           description="Blank template")}
        self.jobs: dict[str, Job] = {}
        self.host_by_name: dict[str, Host] = {}
        self.vm_by_name: dict[str, Vm] = {}
        self.engine_up = True
        self.engine_started_at = 0.0
        self.global_maintenance = False
        self.he_vm_id: Optional[str] = None
        self.previous_he_host_id: Optional[str] = None
        self.username = "admin@internal"
        self.password = ""
        self.max_events = 20000
        # called with every new event (the lab's journal)
        self.on_event: Optional[Callable[[Event], None]] = None

    # -- lookups -------------------------------------------------------------
    def add_host(self, host: Host) -> None:
        self.hosts[host.id] = host
        self.host_by_name[host.name.lower()] = host

    def add_vm(self, vm: Vm) -> None:
        self.vms[vm.id] = vm
        self.vm_by_name[vm.name.lower()] = vm

    def find_host(self, key: str) -> Optional[Host]:
        return self.hosts.get(key) or self.host_by_name.get(key.lower())

    def remove_host(self, host: Host) -> None:
        """Forget a host and everything that belongs to it (fence agents, tag assignments)."""
        self.hosts.pop(host.id, None)
        if self.host_by_name.get(host.name.lower()) is host:
            del self.host_by_name[host.name.lower()]
        for agent in self.agents_of(host.id):
            del self.agents[agent.id]
        self.assigned_tags.pop(host.id, None)

    def find_tag(self, key: str) -> Optional[Tag]:
        if key in self.tags:
            return self.tags[key]
        return next((tag for tag in self.tags.values() if tag.name == key), None)

    def tags_of(self, obj_id: str) -> list[Tag]:
        return [self.tags[tag_id] for tag_id in self.assigned_tags.get(obj_id, []) if tag_id in self.tags]

    def find_vm(self, key: str) -> Optional[Vm]:
        return self.vms.get(key) or self.vm_by_name.get(key.lower())

    def find_storage_domain(self, key: str) -> Optional[StorageDomain]:
        if key in self.storage_domains:
            return self.storage_domains[key]
        for domain in self.storage_domains.values():
            if domain.name.lower() == key.lower():
                return domain
        return None

    def agents_of(self, host_id: str) -> list[FenceAgent]:
        return sorted((a for a in self.agents.values() if a.host_id == host_id), key=lambda a: (a.order, a.id))

    def vms_on(self, host_id: str) -> list[Vm]:
        return [vm for vm in self.vms.values() if vm.host_id == host_id]

    def he_vm(self) -> Optional[Vm]:
        return self.vms.get(self.he_vm_id) if self.he_vm_id else None

    # -- events --------------------------------------------------------------
    def add_event(self, code: int, severity: str, description: str, now: float, **links: Any) -> Event:
        event = Event(id=len(self.events) + 1 if not self.events else self.events[-1].id + 1, code=code, severity=severity,
                      description=description, time=now, **links)
        self.events.append(event)
        if len(self.events) > self.max_events:
            del self.events[: len(self.events) - self.max_events]
        if event.custom_id is not None:
            self.events_by_custom_id[(event.origin, event.custom_id)] = event
        if self.on_event is not None:
            self.on_event(event)
        return event
