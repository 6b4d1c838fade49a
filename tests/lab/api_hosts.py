"""Engine API: /hosts (list, add), /hosts/{id} (get, update, remove), /hosts/{id}/fenceagents and /hosts/{id}/tags."""

from __future__ import annotations

import functools
from typing import Callable, Optional

import ovirtsdk4.types as t

from tests.lab.api_common import Request, Response, ok
from tests.lab.api_tags import TagRoutes
from tests.lab.api_xml import write
from tests.lab.errors import conflict, incomplete, not_found
from tests.lab.model import FenceAgent, Host, new_id


EMPTY_SUBCOLLECTIONS = {"nics": "host_nics", "networkattachments": "network_attachments", "statistics": "statistics",
                        "storage": "host_storages", "permissions": "permissions"}
DUPLICATE_HOST = "Cannot add Host. The Host name is already in use, please choose a unique name and try again."
REMOVE_OPERATIONAL = "Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first."
REMOVABLE = ("maintenance", "down", "install_failed")


class HostRoutes(TagRoutes):
    def _host(self, host_id: str) -> Host:
        host = self.model.hosts.get(host_id)
        if host is None:
            raise not_found()
        return host

    def _host_field(self, host: Host, field: str) -> Optional[list[str]]:
        values: dict[str, Callable[[], list[str]]] = {
            "name": lambda: [host.name], "status": lambda: [host.status], "cluster": lambda: self._cluster_name(host.cluster_id),
            "id": lambda: [host.id], "address": lambda: [host.address], "datacenter": lambda: self._dc_name(host.cluster_id),
            "spm_role": lambda: [host.spm], "type": lambda: ["rhel"], "tag": lambda: self._tag_names(host.id),
        }
        getter = values.get(field)
        return getter() if getter else None

    def _host_xml(self, host: Host, request: Request, running: Optional[int] = None, used: Optional[int] = None) -> bytes:
        all_content = request.flag("all_content")
        if all_content and running is None:
            running = sum(1 for vm in self.model.vms_on(host.id) if vm.status != "down")
        if used is None:
            used = self.render.vm_memory_on(host)
        key = self.render.host_key(host, all_content, running, used)
        return self.render.write_one(host, lambda: self.render.host(host, all_content, running, used), key, request.follow())

    def r_hosts(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                hosts = self._filter(list(self.model.hosts.values()), request, self._host_field)
                counts: dict[str, int] = {}
                used: dict[str, int] = {}
                for vm in self.model.vms.values():
                    if vm.host_id and vm.status != "down":
                        counts[vm.host_id] = counts.get(vm.host_id, 0) + 1
                        used[vm.host_id] = used.get(vm.host_id, 0) + vm.memory
                all_content = request.flag("all_content")
                return ok(self.render.write_list("hosts", (self._host_xml(h, request, counts.get(h.id, 0) if all_content else None,
                                                                          used.get(h.id, 0)) for h in hosts)))
            if not rest and method == "POST":
                return ok(self._host_xml(self.add_host(request.read(t.Host)), request), 201)
            if not rest:
                raise not_found()
            host = self._host(rest[0])
            if len(rest) == 1 and method == "GET":
                return ok(self._host_xml(host, request))
            if len(rest) == 1 and method == "PUT":
                return ok(self.update_host(host, request))
            if len(rest) == 1 and method == "DELETE":
                self.remove_host(host)
                return Response(200, b"")
            if len(rest) == 1:
                raise not_found()
            if rest[1] == "fenceagents":
                return self.fence_agents(method, host, rest[2:], request)
            if rest[1] == "tags":
                return self.assigned_tags("hosts", host.id, method, rest[2:], request)
            if rest[1] in EMPTY_SUBCOLLECTIONS and len(rest) == 2 and method == "GET":
                # linked from every host; the lab models none of their content
                return ok(self.render.write_list(EMPTY_SUBCOLLECTIONS[rest[1]], []))
        raise not_found()

    def add_host(self, body: t.Host) -> Host:
        """AddVds: a new host is installed (``installing``), then ``up``; it has no fence agent until one is added.
        The root password or SSH key is used for the installation only and never stored."""
        missing = [name for name in ("name", "address") if not getattr(body, name)]
        if missing:
            raise incomplete("Host", *missing)
        ref = body.cluster
        if ref is not None and (ref.id or ref.name):
            cluster = self.model.clusters.get(ref.id) if ref.id else next(
                (c for c in self.model.clusters.values() if c.name.lower() == (ref.name or "").lower()), None)
            if cluster is None:
                raise not_found(f"Entity not found: Cluster: {'id' if ref.id else 'name'}={ref.id or ref.name}")
        else:
            cluster = next((c for c in self.model.clusters.values() if c.name == "Default"), None)
            if cluster is None:
                raise incomplete("Host", "cluster")
        if body.name.lower() in self.model.host_by_name:
            raise conflict(DUPLICATE_HOST)
        host = Host(id=new_id(), name=body.name, address=body.address, cluster_id=cluster.id, status="installing", pm_enabled=False,
                    booted_at=self.engine.now() - 3600.0)
        if body.spm is not None and body.spm.priority is not None:
            host.spm_priority = body.spm.priority
        self.model.add_host(host)
        self.engine.event(42, "normal", f"Host {host.name} was added by {self.engine.user()}.", host)
        self.engine.schedule(host, "installing", "up")
        self._job(f"Adding new Host {host.name} to Cluster {cluster.name}")
        return host

    def remove_host(self, host: Host) -> None:
        if host.status not in REMOVABLE:
            raise conflict(REMOVE_OPERATIONAL)
        self.engine.pending.discard(host)
        self.model.remove_host(host)
        # nothing of it left in the ground truth either (it runs no VM in these states)
        self.engine.truth.vouched.pop(host.id, None)
        self.engine.truth.power_intent.pop(host.id, None)
        for vm in self.model.vms.values():
            if host.id in vm.placement_hosts:
                vm.placement_hosts = [h for h in vm.placement_hosts if h != host.id]
        self.engine.event(44, "normal", f"Host {host.name} was removed by {self.engine.user()}.")
        self._job(f"Removing Host {host.name}")

    def update_host(self, host: Host, request: Request) -> bytes:
        body: t.Host = request.read(t.Host)
        if body.power_management is not None:
            pm = body.power_management
            if pm.enabled is not None:
                host.pm_enabled = pm.enabled
            if pm.automatic_pm_enabled is not None:
                host.pm_automatic = pm.automatic_pm_enabled
            if pm.kdump_detection is not None:
                host.kdump_detection = pm.kdump_detection
            if pm.pm_proxies is not None:
                host.pm_proxies = [proxy.type.value for proxy in pm.pm_proxies if proxy.type is not None]
        if body.spm is not None and body.spm.priority is not None:
            host.spm_priority = body.spm.priority
        if body.name is not None and body.name != host.name:
            if host.status not in ("maintenance", "down"):
                raise conflict("Cannot edit Host. Host parameters cannot be modified while Host is operational.\n"
                               "Please switch Host to Maintenance mode first.")
            self.model.host_by_name.pop(host.name.lower(), None)
            host.name = body.name
            self.model.host_by_name[host.name.lower()] = host
        return self._host_xml(host, request)

    def fence_agents(self, method: str, host: Host, rest: list[str], request: Request) -> Response:
        if not rest and method == "GET":
            return ok(self.render.write_list("agents", (self.render.write_one(a, functools.partial(self.render.agent, a), "plain")
                                                        for a in self.model.agents_of(host.id))))
        if not rest and method == "POST":
            body: t.Agent = request.read(t.Agent)
            missing = [name for name in ("address", "type") if getattr(body, name) in (None, "")]
            if missing:
                raise incomplete("Agent", *missing)
            existing = self.model.agents_of(host.id)
            agent = FenceAgent(id=new_id(), host_id=host.id, type=body.type, address=body.address, port=body.port or 623,
                               username=body.username or "", password=body.password or "",
                               order=body.order if body.order is not None else (max((a.order for a in existing), default=0) + 1),
                               options={o.name: o.value for o in (body.options or []) if o.name},
                               encrypt_options=bool(body.encrypt_options), concurrent=bool(body.concurrent))
            self.model.agents[agent.id] = agent
            return ok(write(self.render.agent(agent)), 201)
        if not rest:
            raise not_found()
        found = self.model.agents.get(rest[0])
        if found is None or found.host_id != host.id or len(rest) > 1:
            raise not_found()
        agent = found
        if method == "GET":
            return ok(write(self.render.agent(agent)))
        if method == "DELETE":
            del self.model.agents[agent.id]
            return Response(200, b"")
        if method == "PUT":
            body = request.read(t.Agent)
            for name in ("type", "address", "port", "username", "password", "order", "encrypt_options", "concurrent"):
                value = getattr(body, name)
                if value is not None:
                    setattr(agent, name, value)
            if body.options is not None:
                agent.options = {o.name: o.value for o in body.options if o.name}
            return ok(write(self.render.agent(agent)))
        raise not_found()
