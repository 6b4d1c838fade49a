"""The engine API under /ovirt-engine/api: dispatch, the API root and the host and VM actions."""

from __future__ import annotations

from typing import Optional

import ovirtsdk4.types as t

from tests.lab.api_common import Request, Response, action_done, ok
from tests.lab.api_events import EventRoutes
from tests.lab.api_hosts import HostRoutes
from tests.lab.api_inventory import InventoryRoutes
from tests.lab.api_vms import VmRoutes
from tests.lab.api_xml import API, write
from tests.lab.errors import incomplete, invalid, not_found
from tests.lab.model import Host

PRODUCT = t.ProductInfo(name="oVirt Engine", vendor="ovirt.org", instance_id="a5e0bf0c-2c43-4f25-9b7a-3c6d2e3f1a10",
                        version=t.Version(major=4, minor=5, build=6, revision=0, full_version="4.5.6-1.el9"))


class Api(HostRoutes, VmRoutes, InventoryRoutes, EventRoutes):
    """Every resource; ``handle`` routes a request to ``r_<collection>`` or to an action."""

    def handle(self, request: Request) -> Response:
        parts = [p for p in request.path[len(API):].split("/") if p]
        method = request.method
        if not parts:
            if method != "GET":
                raise not_found()
            return self.root()
        collection, rest = parts[0], parts[1:]
        handler = getattr(self, f"r_{collection}", None)
        if handler is None:
            raise not_found()
        if collection in ("hosts", "vms") and len(rest) == 2 and method == "POST" and rest[1] not in ("fenceagents", "tags"):
            response: Response = self.action(collection, rest[0], rest[1], request)
        else:
            response = handler(method, rest, request)
        return response

    def root(self) -> Response:
        with self.model.lock:
            hosts = list(self.model.hosts.values())
            vms = list(self.model.vms.values())
            summary = t.ApiSummary(
                hosts=t.ApiSummaryItem(total=len(hosts), active=sum(1 for h in hosts if h.status == "up")),
                vms=t.ApiSummaryItem(total=len(vms), active=sum(1 for v in vms if v.status != "down")),
                storage_domains=t.ApiSummaryItem(total=len(self.model.storage_domains),
                                                 active=sum(1 for s in self.model.storage_domains.values() if s.status == "active")),
                users=t.ApiSummaryItem(total=1, active=1))
            api = t.Api(product_info=PRODUCT, summary=summary, time=self.render.when(self.engine.now()),
                        authenticated_user=t.User(id="fdfc627c-d875-11e0-90f0-83df133b58cc", user_name=self.model.username))
        return ok(write(api))

    def action(self, collection: str, obj_id: str, name: str, request: Request) -> Response:
        body: t.Action = request.read(t.Action) if request.body.strip() else t.Action()
        if collection == "hosts" and name == "fence":
            with self.model.lock:
                self._host(obj_id)
            power = self.fencer.api_fence(obj_id, body.fence_type)
            self._job(f"Fence ({body.fence_type}) of host {obj_id}")
            self.after_action()
            if power is not None:
                return action_done(power_management=t.PowerManagement(status=t.PowerManagementStatus(power)))
            return action_done()
        with self.model.lock:
            if collection == "hosts":
                host = self._host(obj_id)
                if name == "deactivate":
                    self.engine.host_deactivate(host)
                elif name == "activate":
                    self.engine.host_activate(host)
                elif name == "install":
                    self.engine.host_install(host, body.deploy_hosted_engine, body.undeploy_hosted_engine, body.activate)
                elif name == "refresh":
                    pass
                else:
                    raise not_found()
                self._job(f"{name.capitalize()} host {host.name}")
            else:
                vm = self._vm(obj_id)
                if name == "start":
                    self.engine.vm_start(vm, self._target_host(body))
                elif name in ("stop", "shutdown"):
                    self.engine.vm_stop(vm, body.reason or "", graceful=name == "shutdown")
                elif name == "migrate":
                    self.engine.vm_migrate(vm, self._target_host(body))
                elif name == "maintenance":
                    if body.maintenance_enabled is None:
                        raise incomplete("Action", "maintenanceEnabled")
                    self.engine.set_global_maintenance(vm, body.maintenance_enabled)
                else:
                    raise not_found()
                self._job(f"{name.capitalize()} VM {vm.name}")
        self.after_action()
        return action_done()

    def _target_host(self, body: t.Action) -> Optional[Host]:
        ref = body.host
        if ref is None and body.vm is not None and body.vm.placement_policy is not None and body.vm.placement_policy.hosts:
            ref = body.vm.placement_policy.hosts[0]
        if ref is None:
            return None
        host = self.model.hosts.get(ref.id) if ref.id else (self.model.find_host(ref.name) if ref.name else None)
        if host is None:
            raise invalid(f"Entity not found: Host {ref.id or ref.name}")
        return host
