"""Model objects to ovirtsdk4 types and XML, written with the SDK's own Writer (cached per object)."""

from __future__ import annotations

import datetime
from typing import Any, Callable, Iterable, Optional

import ovirtsdk4.types as t
from ovirtsdk4.writer import Writer

from tests.lab.clock import Clock
from tests.lab.engine import HOST_RESERVED_MEMORY
from tests.lab.model import BLANK_TEMPLATE_ID, Cluster, DataCenter, Event, FenceAgent, Host, Job, Model, StorageDomain, Template, Vm

API = "/ovirt-engine/api"
HOST_LINKS: tuple[str, ...] = ("fenceagents", "nics", "networkattachments", "statistics", "storage", "permissions", "tags")
# a VM's sub-collections the lab models no content of (link name -> the list's root element), beside its tags
VM_SUBCOLLECTIONS = {"affinitylabels": "affinity_labels", "applications": "applications", "cdroms": "cdroms",
                     "diskattachments": "disk_attachments", "graphicsconsoles": "graphics_consoles", "hostdevices": "host_devices",
                     "katelloerrata": "katello_errata", "mediateddevices": "vm_mediated_devices", "nics": "nics",
                     "numanodes": "vm_numa_nodes", "permissions": "permissions", "reporteddevices": "reported_devices",
                     "sessions": "sessions", "snapshots": "snapshots", "statistics": "statistics", "watchdogs": "watchdogs"}
VM_LINKS: tuple[str, ...] = (*VM_SUBCOLLECTIONS, "tags")
# the one MAC pool, scheduling policy and migration policy every cluster of the lab links to
MAC_POOL_ID = "58ca604b-017d-0374-0220-00000000014e"
SCHEDULING_POLICY_ID = "b4ed2332-a7ac-4d5f-9596-99a439cb2812"
MIGRATION_POLICY_ID = "80554327-0569-496b-bdeb-fcbbf52b827b"


def _link(obj: Any, href: str) -> Any:
    obj.href = href
    return obj


def _version(pair: tuple[int, int]) -> t.Version:
    return t.Version(major=pair[0], minor=pair[1])


class Renderer:
    """Builds SDK objects for the model and serializes them."""

    def __init__(self, model: Model, clock: Clock) -> None:
        self.model = model
        self.clock = clock

    def when(self, lab_time: float) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock.wall_start + lab_time, tz=datetime.timezone.utc)

    # -- single objects -------------------------------------------------------
    def data_center(self, dc: DataCenter) -> t.DataCenter:
        return _link(t.DataCenter(id=dc.id, name=dc.name, status=t.DataCenterStatus(dc.status), local=False,
                                  version=_version(dc.version), storage_format=t.StorageFormat.V5), f"{API}/datacenters/{dc.id}")

    def cluster(self, cluster: Cluster) -> t.Cluster:
        policy = t.FencingPolicy(
            enabled=cluster.fencing_enabled,
            skip_if_connectivity_broken=t.SkipIfConnectivityBroken(enabled=cluster.skip_if_connectivity_broken,
                                                                   threshold=cluster.connectivity_threshold),
            skip_if_sd_active=t.SkipIfSdActive(enabled=cluster.skip_if_sd_active),
            skip_if_gluster_bricks_up=cluster.skip_if_gluster_bricks_up,
            skip_if_gluster_quorum_not_met=cluster.skip_if_gluster_quorum_not_met,
        )
        # the engine's defaults for a new cluster; every field is always there (clients read them without checking)
        migration = t.MigrationOptions(auto_converge=t.InheritableBoolean.INHERIT, compressed=t.InheritableBoolean.INHERIT,
                                       encrypted=t.InheritableBoolean.INHERIT,
                                       bandwidth=t.MigrationBandwidth(assignment_method=t.MigrationBandwidthAssignmentMethod.AUTO),
                                       policy=t.MigrationPolicy(id=MIGRATION_POLICY_ID))
        return _link(t.Cluster(id=cluster.id, name=cluster.name, description="", comment="", fencing_policy=policy,
                               version=_version(cluster.version), cpu=t.Cpu(type=cluster.cpu_type, architecture=t.Architecture.X86_64),
                               data_center=_link(t.DataCenter(id=cluster.data_center_id), f"{API}/datacenters/{cluster.data_center_id}"),
                               ha_reservation=cluster.ha_reservation, ballooning_enabled=False, gluster_service=False, virt_service=True,
                               threads_as_cores=False, trusted_service=False, tunnel_migration=False, maintenance_reason_required=False,
                               optional_reason=False, switch_type=t.SwitchType.LEGACY, firewall_type=t.FirewallType.FIREWALLD,
                               ksm=t.Ksm(enabled=True, merge_across_nodes=True), migration=migration,
                               error_handling=t.ErrorHandling(on_error=t.MigrateOnError.MIGRATE),
                               memory_policy=t.MemoryPolicy(over_commit=t.MemoryOverCommit(percent=100),
                                                            transparent_huge_pages=t.TransparentHugePages(enabled=True)),
                               required_rng_sources=[t.RngSource.URANDOM], bios_type=t.BiosType.Q35_OVMF,
                               fips_mode=t.FipsMode.DISABLED, log_max_memory_used_threshold=95,
                               log_max_memory_used_threshold_type=t.LogMaxMemoryUsedThresholdType.PERCENTAGE,
                               mac_pool=_link(t.MacPool(id=MAC_POOL_ID), f"{API}/macpools/{MAC_POOL_ID}"),
                               scheduling_policy=_link(t.SchedulingPolicy(id=SCHEDULING_POLICY_ID),
                                                       f"{API}/schedulingpolicies/{SCHEDULING_POLICY_ID}")),
                     f"{API}/clusters/{cluster.id}")

    def mac_pool(self) -> t.MacPool:
        return _link(t.MacPool(id=MAC_POOL_ID, name="Default", description="Default MAC pool", allow_duplicates=False,
                               default_pool=True, ranges=[t.Range(from_="56:6f:1a:7e:00:00", to="56:6f:1a:7e:ff:ff")]),
                     f"{API}/macpools/{MAC_POOL_ID}")

    def scheduling_policy(self) -> t.SchedulingPolicy:
        return _link(t.SchedulingPolicy(id=SCHEDULING_POLICY_ID, name="none", description="No load balancing operations",
                                        locked=True, default_policy=True), f"{API}/schedulingpolicies/{SCHEDULING_POLICY_ID}")

    def vm_memory_on(self, host: Host) -> int:
        return sum(vm.memory for vm in self.model.vms_on(host.id) if vm.status != "down")

    def host(self, host: Host, all_content: bool = False, running: Optional[int] = None, used: Optional[int] = None) -> t.Host:
        if used is None:
            used = self.vm_memory_on(host)
        if all_content and running is None:
            running = sum(1 for vm in self.model.vms_on(host.id) if vm.status != "down")
        if not all_content:
            running = None
        obj = t.Host(
            id=host.id, name=host.name, address=host.address, status=t.HostStatus(host.status), type=t.HostType.RHEL,
            cluster=_link(t.Cluster(id=host.cluster_id), f"{API}/clusters/{host.cluster_id}"),
            spm=t.Spm(priority=host.spm_priority, status=t.SpmStatus(host.spm)),
            # what the scheduler's memory filter sees: memory for VMs, net of the VMs the host runs
            memory=host.memory, max_scheduling_memory=max(0, host.memory - HOST_RESERVED_MEMORY - used),
            cpu=t.Cpu(name=host.cpu_name, speed=float(host.cpu_speed),
                      topology=t.CpuTopology(sockets=host.cpu_sockets, cores=host.cpu_cores, threads=host.cpu_threads)),
            power_management=t.PowerManagement(enabled=host.pm_enabled, automatic_pm_enabled=host.pm_automatic,
                                               kdump_detection=host.kdump_detection,
                                               pm_proxies=[t.PmProxy(type=t.PmProxyType(kind)) for kind in host.pm_proxies] or None),
            port=54321, protocol=t.HostProtocol.STOMP, external_status=t.ExternalStatus.OK,
            # the engine always reports both kernel command lines, empty when none was set
            os=t.OperatingSystem(type="RHEL", version=t.Version(full_version="9.4", major=9, minor=4), custom_kernel_cmdline="",
                                 reported_kernel_cmdline="BOOT_IMAGE=(hd0,msdos1)/vmlinuz-5.14.0-427.el9.x86_64 root=/dev/mapper/rhel-root ro"),
            version=t.Version(full_version="vdsm-4.50.5.1-1.el9", major=4, minor=50, build=5, revision=1),
            summary=t.VmSummary(active=running, total=running) if running is not None else None,
            ksm=t.Ksm(enabled=True), transparent_huge_pages=t.TransparentHugePages(enabled=True),
        )
        if all_content and host.he_configured:
            obj.hosted_engine = t.HostedEngine(active=self._he_active(host), configured=True,
                                               global_maintenance=self.model.global_maintenance,
                                               local_maintenance=host.he_local_maintenance, score=host.he_score)
        return _link(obj, f"{API}/hosts/{host.id}")

    def host_key(self, host: Host, all_content: bool, running: Optional[int], used: int) -> Any:
        """Cache key for a host's XML: everything it depends on outside the host object itself."""
        if not all_content:
            return ("plain", used)
        he = (self._he_active(host), self.model.global_maintenance) if host.he_configured else None
        return ("all", running, he, used)

    def _he_active(self, host: Host) -> bool:
        return host.power_on and not host.he_agent_stopped and host.network_ok

    def vm(self, vm: Vm) -> t.Vm:
        obj = t.Vm(
            id=vm.id, name=vm.name, status=t.VmStatus(vm.status), type=t.VmType.SERVER, memory=vm.memory,
            cpu=t.Cpu(topology=t.CpuTopology(sockets=vm.cpus, cores=1, threads=1)),
            cluster=_link(t.Cluster(id=vm.cluster_id), f"{API}/clusters/{vm.cluster_id}"),
            high_availability=t.HighAvailability(enabled=vm.ha_enabled, priority=vm.ha_priority),
            storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour(vm.resume_behaviour),
            placement_policy=t.VmPlacementPolicy(
                affinity=t.VmAffinity(vm.affinity),
                hosts=[_link(t.Host(id=h), f"{API}/hosts/{h}") for h in vm.placement_hosts] or None),
            origin="managed_hosted_engine" if vm.hosted_engine else "ovirt",
            stateless=False, delete_protected=False,
            template=_link(t.Template(id=BLANK_TEMPLATE_ID), f"{API}/templates/{BLANK_TEMPLATE_ID}"),
        )
        if vm.host_id and vm.status != "down":
            obj.host = _link(t.Host(id=vm.host_id), f"{API}/hosts/{vm.host_id}")
        if vm.lease_sd_id:
            obj.lease = t.StorageDomainLease(storage_domain=_link(t.StorageDomain(id=vm.lease_sd_id), f"{API}/storagedomains/{vm.lease_sd_id}"))
        if vm.status != "down" and vm.start_time:
            obj.start_time = self.when(vm.start_time)
        if vm.status == "down" and vm.stop_time:
            obj.stop_time = self.when(vm.stop_time)
            if vm.stop_reason:
                obj.stop_reason = vm.stop_reason
        return _link(obj, f"{API}/vms/{vm.id}")

    def template(self, template: Template) -> t.Template:
        return _link(t.Template(id=template.id, name=template.name, description=template.description, status=t.TemplateStatus.OK,
                                type=t.VmType.SERVER, memory=template.memory, origin="ovirt", stateless=False, delete_protected=False,
                                cpu=t.Cpu(topology=t.CpuTopology(sockets=1, cores=1, threads=1), architecture=t.Architecture.X86_64),
                                os=t.OperatingSystem(type="other", boot=t.Boot(devices=[t.BootDevice.HD])),
                                high_availability=t.HighAvailability(enabled=False, priority=0),
                                version=t.TemplateVersion(version_number=1, version_name="base version"),
                                creation_time=self.when(-86400.0 * 30)),
                     f"{API}/templates/{template.id}")

    def storage_domain(self, sd: StorageDomain, in_dc: bool = False) -> t.StorageDomain:
        dc_id = next(iter(self.model.data_centers))
        obj = t.StorageDomain(
            id=sd.id, name=sd.name, type=t.StorageDomainType(sd.type), master=sd.master, available=sd.available, used=sd.used,
            committed=sd.used, storage=t.HostStorage(type=t.StorageType(sd.storage_type), address=sd.address, path=sd.path),
            storage_format=t.StorageFormat.V5, external_status=t.ExternalStatus.OK,
            data_centers=[_link(t.DataCenter(id=dc_id), f"{API}/datacenters/{dc_id}")],
        )
        if in_dc:
            obj.status = t.StorageDomainStatus(sd.status)
            obj.data_center = _link(t.DataCenter(id=dc_id), f"{API}/datacenters/{dc_id}")
            return _link(obj, f"{API}/datacenters/{dc_id}/storagedomains/{sd.id}")
        return _link(obj, f"{API}/storagedomains/{sd.id}")

    def agent(self, agent: FenceAgent) -> t.Agent:
        # the password is never returned
        return _link(t.Agent(id=agent.id, type=agent.type, address=agent.address, port=agent.port, username=agent.username,
                             order=agent.order, encrypt_options=agent.encrypt_options, concurrent=agent.concurrent,
                             options=[t.Option(name=k, value=v) for k, v in sorted(agent.options.items())] or None,
                             host=_link(t.Host(id=agent.host_id), f"{API}/hosts/{agent.host_id}")),
                     f"{API}/hosts/{agent.host_id}/fenceagents/{agent.id}")

    def event(self, event: Event) -> t.Event:
        obj = t.Event(id=str(event.id), index=event.id, code=event.code, severity=t.LogSeverity(event.severity),
                      description=event.description, time=self.when(event.time), origin=event.origin,
                      custom_id=event.custom_id, flood_rate=event.flood_rate)
        if event.host_id:
            obj.host = _link(t.Host(id=event.host_id), f"{API}/hosts/{event.host_id}")
        if event.vm_id:
            obj.vm = _link(t.Vm(id=event.vm_id), f"{API}/vms/{event.vm_id}")
        if event.cluster_id:
            obj.cluster = _link(t.Cluster(id=event.cluster_id), f"{API}/clusters/{event.cluster_id}")
        if event.data_center_id:
            obj.data_center = _link(t.DataCenter(id=event.data_center_id), f"{API}/datacenters/{event.data_center_id}")
        if event.storage_domain_id:
            obj.storage_domain = _link(t.StorageDomain(id=event.storage_domain_id), f"{API}/storagedomains/{event.storage_domain_id}")
        return _link(obj, f"{API}/events/{event.id}")

    def job(self, job: Job) -> t.Job:
        return _link(t.Job(id=job.id, description=job.description, status=t.JobStatus(job.status), start_time=self.when(job.start_time),
                           end_time=self.when(job.end_time) if job.end_time is not None else None,
                           last_updated=self.when(job.last_updated), external=job.external, auto_cleared=job.auto_cleared,
                           owner=_link(t.User(id="fdfc627c-d875-11e0-90f0-83df133b58cc"),
                                       f"{API}/users/fdfc627c-d875-11e0-90f0-83df133b58cc")),
                     f"{API}/jobs/{job.id}")

    # -- serialization --------------------------------------------------------
    def follow(self, obj: Any, follow: list[str]) -> Any:
        """Inline linked objects named in ``follow`` (cluster, host, data_center; agents of a host)."""
        for name in follow:
            if name == "agents" and isinstance(obj, t.Host):
                obj.agents = [self.agent(a) for a in self.model.agents_of(obj.id)]
                continue
            link = getattr(obj, name, None)
            if link is None or link.id is None:
                continue
            if name == "cluster" and link.id in self.model.clusters:
                setattr(obj, name, self.cluster(self.model.clusters[link.id]))
            elif name == "host" and link.id in self.model.hosts:
                setattr(obj, name, self.host(self.model.hosts[link.id]))
            elif name == "data_center" and link.id in self.model.data_centers:
                setattr(obj, name, self.data_center(self.model.data_centers[link.id]))
        return obj

    def write_one(self, item: Any, build: Callable[[], Any], key: Any, follow: Optional[list[str]] = None) -> bytes:
        if follow:
            return self.add_links(item, Writer.write(self.follow(build(), follow)).encode("utf-8"))
        data = item.cached(key)
        if data is None:
            data = self.add_links(item, Writer.write(build()).encode("utf-8"))
            item.store(key, data)
        return data

    @staticmethod
    def add_links(item: Any, data: bytes) -> bytes:
        """The engine lists a host's or VM's sub-collections as <link> elements (the SDK's Writer does not write them)."""
        if isinstance(item, Host):
            base, rels = f"{API}/hosts/{item.id}", HOST_LINKS
        elif isinstance(item, Vm):
            base, rels = f"{API}/vms/{item.id}", VM_LINKS
        else:
            return data
        end = data.index(b">") + 1
        links = "".join(f'<link href="{base}/{rel}" rel="{rel}"/>' for rel in rels)
        return data[:end] + links.encode("ascii") + data[end:]

    def write_list(self, root: str, parts: Iterable[bytes]) -> bytes:
        body = b"".join(parts)
        if not body:
            return f"<{root}/>".encode("ascii")
        return b"<" + root.encode("ascii") + b">" + body + b"</" + root.encode("ascii") + b">"


def write(obj: Any, root: Optional[str] = None) -> bytes:
    return Writer.write(obj, root=root).encode("utf-8")
