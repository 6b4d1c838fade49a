"""Populate a fresh model from a layout: one data center and cluster, hosts with fence agents, VMs, an optional
hosted engine.  A layout is either generated from counts (``up --hosts N --vms M``) or given as a file
(``up --layout lab.yml``, the shape of a scenario); both go through ``build``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from tests.lab.model import Cluster, DataCenter, FenceAgent, Host, Model, StorageDomain, Vm

HE_HOSTS = 3
NS = uuid.UUID("5b0e8d0c-3c52-4a6e-9d0b-2b7f3f0a6c11")
GIB = 1024 ** 3
LAYOUT_KEYS = ("hosts", "vms", "vm_hosts", "hosted_engine", "cluster", "engine_ha", "engine_timing", "engine_uptime", "end")
HOST_KEYS = ("name", "memory_gib", "power_management", "bmc", "spm_priority", "hosted_engine")
VM_KEYS = ("name", "host", "memory_gib", "ha", "priority", "lease", "affinity", "placement", "resume_behaviour")
POLICY_KEYS = ("enabled", "skip_if_sd_active", "skip_if_connectivity_broken", "threshold")


class LayoutError(ValueError):
    """The layout file is not what the lab understands (the message names the field)."""


def stable_id(kind: str, name: str) -> str:
    """Ids derived from names, so the same lab layout has the same ids every time."""
    return str(uuid.uuid5(NS, f"{kind}/{name}"))


@dataclass
class BmcCredentials:
    port: int
    username: str
    password: str


def generated_layout(hosts: int, vms: int, hosted_engine: bool, vm_hosts: Optional[list[str]] = None) -> dict[str, Any]:
    """The layout of ``up --hosts N --vms M``: VMs round-robin (over ``vm_hosts`` when given); every 4th HA
    (priorities 1/50/100), every 10th from the 3rd HA with a lease on the master domain."""
    if hosts < 1:
        raise LayoutError("a lab needs at least one host")
    width = max(2, len(str(hosts)))
    all_names = [f"host{index:0{width}d}" for index in range(1, hosts + 1)]
    host_list = [{"name": name, "hosted_engine": hosted_engine and index < HE_HOSTS} for index, name in enumerate(all_names)]
    names = vm_hosts or all_names
    unknown = sorted(set(names) - set(all_names))
    if unknown:
        raise LayoutError(f"vm_hosts: no host {unknown[0]!r} in the layout")
    vm_width = max(4, len(str(vms)))
    vm_list: list[dict[str, Any]] = []
    for index in range(1, vms + 1):
        vm: dict[str, Any] = {"name": f"vm{index:0{vm_width}d}", "host": names[(index - 1) % len(names)]}
        if index % 4 == 1:
            vm.update(ha=True, priority=(1, 50, 100)[(index // 4) % 3])
        if index % 10 == 3:
            vm.update(ha=True, priority=50, lease="data")
        vm_list.append(vm)
    return {"hosts": host_list, "vms": vm_list, "hosted_engine": hosted_engine}


def _check(entry: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise LayoutError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(allowed)}")
    return entry


def normalize(layout: Any) -> dict[str, Any]:
    """Check a layout (from a file) and expand ``hosts: N`` / ``vms: M`` counts."""
    layout = dict(_check(layout, LAYOUT_KEYS, "layout"))
    hosts = layout.get("hosts", 3)
    vms = layout.get("vms", 0)
    if isinstance(hosts, int) or isinstance(vms, int):
        generated = generated_layout(hosts if isinstance(hosts, int) else len(hosts), vms if isinstance(vms, int) else 0,
                                     bool(layout.get("hosted_engine")), layout.pop("vm_hosts", None))
        if isinstance(hosts, int):
            layout["hosts"] = generated["hosts"]
        if isinstance(vms, int):
            layout["vms"] = generated["vms"]
    for index, host in enumerate(layout["hosts"]):
        _check(host, HOST_KEYS, f"hosts[{index}]")
        if not isinstance(host.get("name"), str) or not host["name"]:
            raise LayoutError(f"hosts[{index}].name: expected a host name")
    names = {h["name"] for h in layout["hosts"]}
    for index, vm in enumerate(layout["vms"]):
        _check(vm, VM_KEYS, f"vms[{index}]")
        if not isinstance(vm.get("name"), str) or not vm["name"]:
            raise LayoutError(f"vms[{index}].name: expected a VM name")
        for key in ("host",):
            if vm.get(key) is not None and vm[key] not in names:
                raise LayoutError(f"vms[{index}].host: no host {vm[key]!r} in the layout")
        for placed in vm.get("placement", []):
            if placed not in names:
                raise LayoutError(f"vms[{index}].placement: no host {placed!r} in the layout")
    cluster = _check(layout.get("cluster", {}), ("fencing_policy", "ha_reservation"), "cluster")
    _check(cluster.get("fencing_policy", {}), POLICY_KEYS, "cluster.fencing_policy")
    return layout


def load(path: str) -> dict[str, Any]:
    """Read and check a layout file (YAML or JSON)."""
    import yaml  # pylint: disable=import-outside-toplevel

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f"cannot read layout {path}: {exc}") from exc
    return normalize(data if data is not None else {})


def build(model: Model, layout: dict[str, Any], bmc_ports: list[int]) -> dict[str, BmcCredentials]:
    """Fill ``model`` from a normalized layout; returns each host's BMC credentials (hosts with ``bmc: false`` get
    none).  ``bmc_ports`` has one port per host."""
    dc = DataCenter(id=stable_id("dc", "Default"), name="Default")
    model.data_centers[dc.id] = dc
    cluster = Cluster(id=stable_id("cluster", "Default"), name="Default", data_center_id=dc.id)
    _apply_cluster(cluster, layout.get("cluster", {}))
    model.clusters[cluster.id] = cluster
    data = StorageDomain(id=stable_id("sd", "data"), name="data", master=True)
    model.storage_domains[data.id] = data
    he_sd = None
    if layout.get("hosted_engine"):
        he_sd = StorageDomain(id=stable_id("sd", "hosted_storage"), name="hosted_storage", path="/exports/hosted_engine",
                              hosted_engine=True, available=90 * GIB, used=60 * GIB)
        model.storage_domains[he_sd.id] = he_sd
    credentials: dict[str, BmcCredentials] = {}
    host_list: list[Host] = []
    he_ids = 0
    for index, entry in enumerate(layout["hosts"]):
        name = entry["name"]
        host = Host(id=stable_id("host", name), name=name, address=f"{name}.lab.example", cluster_id=cluster.id,
                    spm="spm" if index == 0 else "none", memory=int(entry.get("memory_gib", 256)) * GIB,
                    spm_priority=int(entry.get("spm_priority", 5)), pm_enabled=bool(entry.get("power_management", True)))
        if he_sd is not None and entry.get("hosted_engine"):
            he_ids += 1
            host.he_configured = True
            host.he_host_id = he_ids
        model.add_host(host)
        host_list.append(host)
        creds = BmcCredentials(port=bmc_ports[index], username="labadmin", password=secrets.token_urlsafe(12))
        if entry.get("bmc", True):
            credentials[name] = creds
        if entry.get("power_management", True):
            agent = FenceAgent(id=stable_id("agent", name), host_id=host.id, address="127.0.0.1", port=creds.port, username=creds.username,
                               password=creds.password, options={"lanplus": "1"})
            model.agents[agent.id] = agent
    if he_sd is not None:
        first = next((h for h in host_list if h.he_configured), host_list[0])
        he_vm = Vm(id=stable_id("vm", "HostedEngine"), name="HostedEngine", cluster_id=cluster.id, status="up", host_id=first.id,
                   memory=16 * GIB, cpus=4, hosted_engine=True, storage_sd_id=he_sd.id, start_time=0.0)
        model.add_vm(he_vm)
        model.he_vm_id = he_vm.id
    for entry in layout["vms"]:
        model.add_vm(_vm(model, cluster, data, entry))
    return credentials


def _apply_cluster(cluster: Cluster, spec: dict[str, Any]) -> None:
    policy = spec.get("fencing_policy", {})
    cluster.fencing_enabled = bool(policy.get("enabled", True))
    cluster.skip_if_sd_active = bool(policy.get("skip_if_sd_active", False))
    cluster.skip_if_connectivity_broken = bool(policy.get("skip_if_connectivity_broken", False))
    cluster.connectivity_threshold = int(policy.get("threshold", 50))
    cluster.ha_reservation = bool(spec.get("ha_reservation", False))


def _vm(model: Model, cluster: Cluster, data: StorageDomain, entry: dict[str, Any]) -> Vm:
    host: Optional[Host] = model.host_by_name[entry["host"].lower()] if entry.get("host") else None
    vm = Vm(id=stable_id("vm", entry["name"]), name=entry["name"], cluster_id=cluster.id, status="up" if host else "down",
            host_id=host.id if host else None, storage_sd_id=data.id, memory=int(entry.get("memory_gib", 4)) * GIB,
            ha_enabled=bool(entry.get("ha", False)), ha_priority=int(entry.get("priority", 0)),
            affinity=str(entry.get("affinity", "migratable")), resume_behaviour=str(entry.get("resume_behaviour", "auto_resume")),
            placement_hosts=[model.host_by_name[name.lower()].id for name in entry.get("placement", [])])
    if entry.get("lease"):
        domain = model.find_storage_domain(str(entry["lease"]))
        if domain is None:
            raise LayoutError(f"vms: {entry['name']}.lease: no storage domain {entry['lease']!r} (the lab has 'data')")
        vm.lease_sd_id = domain.id
    return vm
