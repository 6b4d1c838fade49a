"""Fault injection: what each fault kind does to the model, the BMCs and the engine API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Optional

from tests.lab.engine import Engine
from tests.lab.model import Host, StorageDomain

HOST_FAULTS = ("host_power_loss", "host_network_cut", "mgmt_bridge_down", "vdsm_hung", "bmc_unreachable", "bmc_wrong_password",
               "bmc_stuck_power", "host_power_and_bmc_loss", "host_network_blip", "gateway_down", "engine_storage_down")
AGENT_FAULTS = ("stale_metadata", "agent_stopped", "agent_hung")
ENGINE_FAULTS = ("agents_failover_off", "engine_vm_crash", "engine_service_down", "engine_api_down", "engine_api_slow", "engine_api_500")
CLUSTER_FAULTS = ("storage_domain_down", "all_mgmt_down")
KINDS = HOST_FAULTS + AGENT_FAULTS + ENGINE_FAULTS + CLUSTER_FAULTS
BLIP_SECONDS = 20.0
SERVICE_MODES = ("once", "persistent", "hung")


class FaultError(ValueError):
    """Unknown fault kind or target."""


@dataclass
class ApiFaults:
    down: bool = False
    slow: float = 0.0
    error_500: bool = False
    # with a value N: the next N API requests still succeed, then every one gets 500 (the engine failing mid-run)
    error_500_after: Optional[int] = None

    def count_request(self) -> None:
        if self.error_500_after is not None:
            self.error_500_after -= 1
            if self.error_500_after < 0:
                self.error_500 = True
                self.error_500_after = None


@dataclass
class Faults:
    engine: Engine
    bmcs: Any = None
    api: ApiFaults = field(default_factory=ApiFaults)
    active: dict[tuple[str, str], Any] = field(default_factory=dict)
    agents: Any = None
    bmc_passwords: dict[str, str] = field(default_factory=dict)
    current_passwords: dict[str, str] = field(default_factory=dict)
    # hosts whose BMC does not answer (also honoured by the direct power switch used without BMC simulators)
    dead_bmcs: set[str] = field(default_factory=set)
    # host_network_blip: host id -> lab time its network comes back by itself
    blips: dict[str, float] = field(default_factory=dict)

    def _host(self, target: Optional[str]) -> Host:
        if not target:
            raise FaultError("this fault needs a target host (name or id)")
        host = self.engine.model.find_host(target)
        if host is None:
            raise FaultError(f"no host {target!r}")
        return host

    def _domain(self, target: Optional[str]) -> StorageDomain:
        model = self.engine.model
        if not target:
            return next(sd for sd in model.storage_domains.values() if sd.master)
        domain = model.find_storage_domain(target)
        if domain is None:
            raise FaultError(f"no storage domain {target!r}")
        return domain

    def inject(self, kind: str, target: Optional[str] = None, value: Any = None) -> dict[str, Any]:
        """Apply a fault (model lock held by the caller)."""
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        name = self._host(target).name if kind in HOST_FAULTS or kind in AGENT_FAULTS else (
            self._domain(target).name if kind == "storage_domain_down" else "")
        self.engine.truth.journal.add(self.engine.now(), "fault", f"{kind} {name}".rstrip() + (f" ({value})" if value is not None else ""))
        return self._inject(kind, target, value)

    def _inject(self, kind: str, target: Optional[str], value: Any) -> dict[str, Any]:
        model = self.engine.model
        now = self.engine.now()
        name = ""
        if kind in HOST_FAULTS or kind in AGENT_FAULTS:
            host = self._host(target)
            name = host.name
            if kind in ("host_power_loss", "host_power_and_bmc_loss"):
                if host.power_on:
                    self.engine.truth.host_lost_power(host, "power loss")
                host.power_on = False
                if kind == "host_power_and_bmc_loss":
                    # the BMC shares the host's power: it is gone too, so nobody can fence the host or ask its power state
                    self.set_bmc_unreachable(host, True)
            elif kind == "host_network_cut":
                host.network_ok = False
            elif kind == "host_network_blip":
                value = float(value) if value is not None else BLIP_SECONDS
                if value <= 0:
                    raise FaultError("host_network_blip needs --value SECONDS > 0")
                host.network_ok = False
                self.blips[host.id] = now + value
            elif kind == "gateway_down":
                answered = int(value) if value is not None else 0
                if not 0 <= answered < 5:
                    raise FaultError("gateway_down --value is how many of the agent's 5 gateway probes still answer (0-4)")
                host.he_gateway_ok = answered
            elif kind == "engine_storage_down":
                domain = self._he_domain()
                if domain.id not in host.storage_cut:
                    host.storage_cut = [*host.storage_cut, domain.id]
            elif kind == "mgmt_bridge_down":
                host.mgmt_bridge_ok = False
            elif kind == "vdsm_hung":
                host.vdsm_hung = True
                host.vdsm_hang_persistent = str(value).lower() in ("persistent", "true", "1")
            elif kind == "stale_metadata":
                host.he_metadata_stale = True
            elif kind == "agent_stopped":
                host.he_agent_stopped = True
            elif kind == "agent_hung":
                host.he_agent_hung = True
            elif kind == "bmc_unreachable":
                self.set_bmc_unreachable(host, True)
            elif self.bmcs is not None:
                if kind == "bmc_wrong_password":
                    # the BMC's password is rotated; the engine keeps the old one (GET /lab/bmcs tells the new one)
                    self.current_passwords[name] = secrets.token_urlsafe(12)
                    self.bmcs.set_password(name, self.current_passwords[name])
                elif kind == "bmc_stuck_power":
                    self.bmcs.set_stuck_power(name, True)
        elif kind == "storage_domain_down":
            domain = self._domain(target)
            name = domain.name
            domain.status = "inactive"
            self.storage_down(domain)
        elif kind == "all_mgmt_down":
            for host in model.hosts.values():
                host.mgmt_bridge_ok = False
        elif kind == "agents_failover_off":
            if self.agents is None:
                raise FaultError("agents_failover_off needs a hosted-engine lab (--hosted-engine)")
            self.agents.failover = False
        elif kind == "engine_vm_crash":
            if self.agents is not None:
                self.agents.crash_vm(now)
            else:
                model.engine_up = False
        elif kind == "engine_service_down":
            mode = str(value) if value is not None else "once"
            if mode not in SERVICE_MODES:
                raise FaultError(f"engine_service_down --value is one of {', '.join(SERVICE_MODES)}")
            if self.agents is not None:
                self.agents.service_down(mode)
            else:
                model.engine_up = False
        elif kind == "engine_api_down":
            self.api.down = True
        elif kind == "engine_api_slow":
            self.api.slow = float(value if value is not None else 5.0)
        elif kind == "engine_api_500":
            if value is None:
                self.api.error_500 = True
            else:
                self.api.error_500_after = int(value)
        self.active[(kind, name)] = value
        return {"kind": kind, "target": name or None, "value": value}

    def _he_domain(self) -> StorageDomain:
        domain = next((sd for sd in self.engine.model.storage_domains.values() if sd.hosted_engine), None)
        if domain is None:
            raise FaultError("engine_storage_down needs a lab with --hosted-engine")
        return domain

    def set_bmc_unreachable(self, host: Host, flag: bool) -> None:
        if flag:
            self.dead_bmcs.add(host.name)
        else:
            self.dead_bmcs.discard(host.name)
        if self.bmcs is not None:
            self.bmcs.set_unreachable(host.name, flag)

    def tick(self) -> None:
        """Faults that end by themselves (model lock held)."""
        now = self.engine.now()
        for host_id, due in list(self.blips.items()):
            host = self.engine.model.hosts.get(host_id)
            if now < due or host is None:
                continue
            del self.blips[host_id]
            if ("host_network_cut", host.name) not in self.active:
                host.network_ok = True
            self.active.pop(("host_network_blip", host.name), None)
            self.engine.truth.journal.add(now, "fault", f"host_network_blip {host.name} over: the network is back")

    def storage_down(self, domain: StorageDomain) -> None:
        """VMs whose disks live on the domain pause (EIO); the engine VM's pause is the agents' business."""
        for vm in self.engine.model.vms.values():
            if vm.storage_sd_id == domain.id and vm.status == "up" and not vm.hosted_engine:
                vm.status = "paused"
                vm.paused_by_storage = True

    def storage_up(self, domain: StorageDomain) -> None:
        """Storage back: each paused VM follows its storage_error_resume_behaviour."""
        for vm in self.engine.model.vms.values():
            if vm.storage_sd_id == domain.id and vm.paused_by_storage and not vm.hosted_engine:
                vm.paused_by_storage = False
                if vm.resume_behaviour == "auto_resume":
                    vm.status = "up"
                elif vm.resume_behaviour == "kill":
                    self.engine.stop_process(vm, "killed after a storage error")
                    self.engine.vm_down(vm, error=True, reason="VM was killed after a storage error")

    def clear(self, only: Optional[str] = None) -> None:
        """Remove every fault (or only those of kind ``only``): hosts powered and connected again, BMCs restored, API
        healthy."""
        model = self.engine.model
        now = self.engine.now()
        selected = [(kind, name) for (kind, name) in self.active if only is None or kind == only]
        for (kind, name) in selected:
            host = model.find_host(name) if name else None
            if kind in ("host_power_loss", "host_power_and_bmc_loss") and host is not None:
                if not host.power_on:
                    host.power_on = True
                    host.booted_at = now
                if kind == "host_power_and_bmc_loss":
                    self.set_bmc_unreachable(host, False)
            elif kind in ("host_network_cut", "host_network_blip") and host is not None:
                host.network_ok = True
                self.blips.pop(host.id, None)
            elif kind == "mgmt_bridge_down" and host is not None:
                host.mgmt_bridge_ok = True
            elif kind == "all_mgmt_down":
                for each in model.hosts.values():
                    each.mgmt_bridge_ok = True
            elif kind == "gateway_down" and host is not None:
                host.he_gateway_ok = 5
            elif kind == "engine_storage_down" and host is not None:
                he_domains = {sd.id for sd in model.storage_domains.values() if sd.hosted_engine}
                host.storage_cut = [sd for sd in host.storage_cut if sd not in he_domains]
            elif kind == "vdsm_hung" and host is not None:
                host.vdsm_hung = False
                host.vdsm_hang_persistent = False
            elif kind == "stale_metadata" and host is not None:
                host.he_metadata_stale = False
            elif kind == "agent_stopped" and host is not None:
                host.he_agent_stopped = False
            elif kind == "agent_hung" and host is not None:
                host.he_agent_hung = False
            elif kind == "bmc_unreachable" and host is not None:
                self.set_bmc_unreachable(host, False)
            elif kind.startswith("bmc_") and host is not None and self.bmcs is not None:
                self.restore_bmc(kind, host)
            elif kind == "storage_domain_down":
                domain = model.find_storage_domain(name)
                if domain is not None:
                    domain.status = "active"
                    self.storage_up(domain)
            elif kind in ("engine_vm_crash", "engine_service_down") and model.he_vm() is None:
                model.engine_up = True
                model.engine_started_at = now
            elif kind == "engine_service_down" and self.agents is not None:
                self.agents.service_restored(now)
            elif kind == "agents_failover_off" and self.agents is not None:
                self.agents.failover = True
        if only is None:
            self.api = ApiFaults()
        elif only == "engine_api_down":
            self.api.down = False
        elif only == "engine_api_slow":
            self.api.slow = 0.0
        elif only == "engine_api_500":
            self.api.error_500, self.api.error_500_after = False, None
        if selected:
            self.engine.truth.journal.add(now, "fault", "cleared: " + ", ".join(f"{k} {n}".rstrip() for k, n in selected))
        for key in selected:
            del self.active[key]

    def restore_bmc(self, kind: str, host: Host) -> None:
        if kind == "bmc_wrong_password":
            agent = self.engine.model.agents_of(host.id)
            original = self.bmc_passwords.get(host.name)
            if original is None and agent:
                original = agent[0].password
            if original is not None:
                self.bmcs.set_password(host.name, original)
            self.current_passwords.pop(host.name, None)
        elif kind == "bmc_stuck_power":
            self.bmcs.set_stuck_power(host.name, False)

    def describe(self) -> list[dict[str, Any]]:
        return [{"kind": kind, "target": name or None, "value": value} for (kind, name), value in self.active.items()]
