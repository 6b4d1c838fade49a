"""Populate a fresh model: one data center and cluster, N hosts with fence agents, M VMs, optional hosted engine."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from tests.lab.model import Cluster, DataCenter, FenceAgent, Host, Model, StorageDomain, Vm

HE_HOSTS = 3
NS = uuid.UUID("5b0e8d0c-3c52-4a6e-9d0b-2b7f3f0a6c11")


def stable_id(kind: str, name: str) -> str:
    """Ids derived from names, so the same lab layout has the same ids every time."""
    return str(uuid.uuid5(NS, f"{kind}/{name}"))


@dataclass
class BmcCredentials:
    port: int
    username: str
    password: str


def build(model: Model, hosts: int, vms: int, hosted_engine: bool, bmc_ports: list[int]) -> dict[str, BmcCredentials]:
    if hosts < 1:
        raise ValueError("a lab needs at least one host")
    dc = DataCenter(id=stable_id("dc", "Default"), name="Default")
    model.data_centers[dc.id] = dc
    cluster = Cluster(id=stable_id("cluster", "Default"), name="Default", data_center_id=dc.id)
    model.clusters[cluster.id] = cluster
    data = StorageDomain(id=stable_id("sd", "data"), name="data", master=True)
    model.storage_domains[data.id] = data
    he_sd = None
    if hosted_engine:
        he_sd = StorageDomain(id=stable_id("sd", "hosted_storage"), name="hosted_storage", path="/exports/hosted_engine",
                              hosted_engine=True, available=90 * 1024 ** 3, used=60 * 1024 ** 3)
        model.storage_domains[he_sd.id] = he_sd
    width = max(2, len(str(hosts)))
    credentials: dict[str, BmcCredentials] = {}
    host_list: list[Host] = []
    for index in range(1, hosts + 1):
        name = f"host{index:0{width}d}"
        host = Host(id=stable_id("host", name), name=name, address=f"{name}.lab.example", cluster_id=cluster.id,
                    spm="spm" if index == 1 else "none")
        if hosted_engine and index <= HE_HOSTS:
            host.he_configured = True
            host.he_host_id = index
        model.add_host(host)
        host_list.append(host)
        creds = BmcCredentials(port=bmc_ports[index - 1], username="labadmin", password=secrets.token_urlsafe(12))
        credentials[name] = creds
        agent = FenceAgent(id=stable_id("agent", name), host_id=host.id, address="127.0.0.1", port=creds.port, username=creds.username,
                           password=creds.password, options={"lanplus": "1"})
        model.agents[agent.id] = agent
    if hosted_engine:
        he_vm = Vm(id=stable_id("vm", "HostedEngine"), name="HostedEngine", cluster_id=cluster.id, status="up", host_id=host_list[0].id,
                   memory=16 * 1024 ** 3, cpus=4, hosted_engine=True, storage_sd_id=he_sd.id if he_sd else None, start_time=0.0)
        model.add_vm(he_vm)
        model.he_vm_id = he_vm.id
    vm_width = max(4, len(str(vms)))
    for index in range(1, vms + 1):
        name = f"vm{index:0{vm_width}d}"
        vm = Vm(id=stable_id("vm", name), name=name, cluster_id=cluster.id, status="up", host_id=host_list[(index - 1) % hosts].id,
                storage_sd_id=data.id)
        if index % 4 == 1:
            vm.ha_enabled = True
            vm.ha_priority = (1, 50, 100)[(index // 4) % 3]
        if index % 10 == 3:
            vm.ha_enabled = True
            vm.ha_priority = 50
            vm.lease_sd_id = data.id
        model.add_vm(vm)
    return credentials
