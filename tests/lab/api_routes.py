"""The engine API's resources and actions under /ovirt-engine/api."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import ovirtsdk4.types as t

from tests.lab.api_common import Request, Response, action_done, ok
from tests.lab.api_xml import API, Renderer, write
from tests.lab.engine import Engine
from tests.lab.engine_fence import Fencer
from tests.lab.errors import ApiError, conflict, incomplete, invalid, not_found
from tests.lab.model import Event, FenceAgent, Host, Job, Vm, new_id
from tests.lab.search import SearchError, matches, parse

PRODUCT = t.ProductInfo(name="oVirt Engine", vendor="ovirt.org", instance_id="a5e0bf0c-2c43-4f25-9b7a-3c6d2e3f1a10",
                        version=t.Version(major=4, minor=5, build=6, revision=0, full_version="4.5.6-1.el9"))


class Api:
    def __init__(self, engine: Engine, fencer: Fencer, renderer: Renderer, after_action: Callable[[], None]) -> None:
        self.engine = engine
        self.model = engine.model
        self.fencer = fencer
        self.render = renderer
        self.after_action = after_action

    # -- dispatch -------------------------------------------------------------
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
        if collection in ("hosts", "vms") and len(rest) == 2 and method == "POST" and rest[1] not in ("fenceagents",):
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

    # -- common list helpers -----------------------------------------------------
    def _filter(self, items: list[Any], request: Request, getter: Callable[[Any, str], Optional[list[str]]]) -> list[Any]:
        try:
            terms = parse(request.query.get("search"))
            if terms:
                items = [item for item in items if matches(terms, functools.partial(getter, item))]
        except SearchError as exc:
            raise invalid(str(exc)) from exc
        limit = request.max()
        if limit is not None and limit >= 0:
            items = items[:limit]
        return items

    def _cluster_name(self, cluster_id: str) -> list[str]:
        cluster = self.model.clusters.get(cluster_id)
        return [cluster.name] if cluster else []

    def _dc_name(self, cluster_id: str) -> list[str]:
        cluster = self.model.clusters.get(cluster_id)
        dc = self.model.data_centers.get(cluster.data_center_id) if cluster else None
        return [dc.name] if dc else []

    # -- hosts ------------------------------------------------------------------
    def _host(self, host_id: str) -> Host:
        host = self.model.hosts.get(host_id)
        if host is None:
            raise not_found()
        return host

    def _host_field(self, host: Host, field: str) -> Optional[list[str]]:
        values: dict[str, Callable[[], list[str]]] = {
            "name": lambda: [host.name], "status": lambda: [host.status], "cluster": lambda: self._cluster_name(host.cluster_id),
            "id": lambda: [host.id], "address": lambda: [host.address], "datacenter": lambda: self._dc_name(host.cluster_id),
            "spm_role": lambda: [host.spm], "type": lambda: ["rhel"],
        }
        getter = values.get(field)
        return getter() if getter else None

    def _host_xml(self, host: Host, request: Request, running: Optional[int] = None) -> bytes:
        all_content = request.flag("all_content")
        if all_content and running is None:
            running = sum(1 for vm in self.model.vms_on(host.id) if vm.status != "down")
        key = self.render.host_key(host, all_content, running)
        return self.render.write_one(host, lambda: self.render.host(host, all_content, running), key, request.follow())

    def r_hosts(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                hosts = self._filter(list(self.model.hosts.values()), request, self._host_field)
                counts: dict[str, int] = {}
                if request.flag("all_content"):
                    for vm in self.model.vms.values():
                        if vm.host_id and vm.status != "down":
                            counts[vm.host_id] = counts.get(vm.host_id, 0) + 1
                all_content = request.flag("all_content")
                return ok(self.render.write_list("hosts", (self._host_xml(h, request, counts.get(h.id, 0) if all_content else None)
                                                           for h in hosts)))
            if not rest:
                raise ApiError(405, "Adding hosts is not supported by the lab", reason="Operation Failed")
            host = self._host(rest[0])
            if len(rest) == 1 and method == "GET":
                return ok(self._host_xml(host, request))
            if len(rest) == 1 and method == "PUT":
                return ok(self.update_host(host, request))
            if rest[1] == "fenceagents":
                return self.fence_agents(method, host, rest[2:], request)
        raise not_found()

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

    # -- actions --------------------------------------------------------------
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

    def _job(self, description: str) -> None:
        now = self.engine.now()
        job = Job(id=new_id(), description=description, status="finished", start_time=now, end_time=now, last_updated=now)
        self.model.jobs[job.id] = job
        if len(self.model.jobs) > 1000:
            self.model.jobs.pop(next(iter(self.model.jobs)))

    # -- VMs --------------------------------------------------------------------
    def _vm(self, vm_id: str) -> Vm:
        vm = self.model.vms.get(vm_id)
        if vm is None:
            raise not_found()
        return vm

    def _vm_field(self, vm: Vm, field: str) -> Optional[list[str]]:
        host = self.model.hosts.get(vm.host_id) if vm.host_id and vm.status != "down" else None
        values: dict[str, Callable[[], list[str]]] = {
            "name": lambda: [vm.name], "status": lambda: [vm.status], "cluster": lambda: self._cluster_name(vm.cluster_id),
            "id": lambda: [vm.id], "host": lambda: [host.name] if host else [], "datacenter": lambda: self._dc_name(vm.cluster_id),
            "type": lambda: ["server"],
        }
        getter = values.get(field)
        return getter() if getter else None

    def _vm_xml(self, vm: Vm, request: Request) -> bytes:
        return self.render.write_one(vm, lambda: self.render.vm(vm), "plain", request.follow())

    def r_vms(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                vms = self._filter(list(self.model.vms.values()), request, self._vm_field)
                return ok(self.render.write_list("vms", (self._vm_xml(vm, request) for vm in vms)))
            if not rest or len(rest) > 1:
                raise not_found()
            vm = self._vm(rest[0])
            if method == "GET":
                return ok(self._vm_xml(vm, request))
            if method == "PUT":
                self.update_vm(vm, request.read(t.Vm))
                return ok(self._vm_xml(vm, request))
        raise not_found()

    def update_vm(self, vm: Vm, body: t.Vm) -> None:
        if body.high_availability is not None:
            if body.high_availability.enabled is not None:
                vm.ha_enabled = body.high_availability.enabled
            if body.high_availability.priority is not None:
                vm.ha_priority = body.high_availability.priority
        if body.lease is not None:
            domain_ref = body.lease.storage_domain
            if domain_ref is None or (domain_ref.id is None and domain_ref.name is None):
                vm.lease_sd_id = None
            else:
                domain = self.model.find_storage_domain(domain_ref.id or domain_ref.name)
                if domain is None:
                    raise conflict("Cannot edit VM. Storage Domain doesn't exist.")
                vm.lease_sd_id = domain.id
        if body.storage_error_resume_behaviour is not None:
            vm.resume_behaviour = body.storage_error_resume_behaviour.value
        if body.placement_policy is not None:
            policy = body.placement_policy
            if policy.affinity is not None:
                vm.affinity = policy.affinity.value
            if policy.hosts is not None:
                ids = []
                for ref in policy.hosts:
                    host = self.model.hosts.get(ref.id) if ref.id else self.model.find_host(ref.name or "")
                    if host is None:
                        raise invalid(f"Entity not found: Host {ref.id or ref.name}")
                    ids.append(host.id)
                vm.placement_hosts = ids
        if body.name is not None and body.name != vm.name:
            self.model.vm_by_name.pop(vm.name.lower(), None)
            vm.name = body.name
            self.model.vm_by_name[vm.name.lower()] = vm

    # -- clusters, data centers, storage domains ----------------------------------------
    def r_clusters(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                clusters = self._filter(list(self.model.clusters.values()), request,
                                        lambda c, f: {"name": [c.name], "id": [c.id]}.get(f))
                return ok(self.render.write_list("clusters", (write(self.render.follow(self.render.cluster(c), request.follow()))
                                                              for c in clusters)))
            cluster = self.model.clusters.get(rest[0]) if len(rest) == 1 else None
            if cluster is None:
                raise not_found()
            if method == "GET":
                return ok(write(self.render.follow(self.render.cluster(cluster), request.follow())))
            if method == "PUT":
                body: t.Cluster = request.read(t.Cluster)
                policy = body.fencing_policy
                if policy is not None:
                    if policy.enabled is not None:
                        cluster.fencing_enabled = policy.enabled
                    broken = policy.skip_if_connectivity_broken
                    if broken is not None:
                        if broken.enabled is not None:
                            cluster.skip_if_connectivity_broken = broken.enabled
                        if broken.threshold is not None:
                            if not 0 <= broken.threshold <= 100:
                                raise invalid("Fencing policy threshold must be between 0 and 100")
                            cluster.connectivity_threshold = broken.threshold
                    if policy.skip_if_sd_active is not None and policy.skip_if_sd_active.enabled is not None:
                        cluster.skip_if_sd_active = policy.skip_if_sd_active.enabled
                if body.name:
                    cluster.name = body.name
                return ok(write(self.render.cluster(cluster)))
        raise not_found()

    def r_datacenters(self, method: str, rest: list[str], request: Request) -> Response:
        if method != "GET":
            raise not_found()
        with self.model.lock:
            if not rest:
                return ok(self.render.write_list("data_centers", (write(self.render.data_center(d)) for d in self.model.data_centers.values())))
            dc = self.model.data_centers.get(rest[0])
            if dc is None:
                raise not_found()
            if len(rest) == 1:
                return ok(write(self.render.data_center(dc)))
            if rest[1] == "storagedomains":
                if len(rest) == 2:
                    parts = [write(self.render.storage_domain(s, in_dc=True)) for s in self.model.storage_domains.values()]
                    return ok(self.render.write_list("storage_domains", parts))
                domain = self.model.storage_domains.get(rest[2])
                if domain is not None and len(rest) == 3:
                    return ok(write(self.render.storage_domain(domain, in_dc=True)))
        raise not_found()

    def r_storagedomains(self, method: str, rest: list[str], request: Request) -> Response:
        if method != "GET":
            raise not_found()
        with self.model.lock:
            if not rest:
                domains = self._filter(list(self.model.storage_domains.values()), request,
                                       lambda s, f: {"name": [s.name], "id": [s.id], "status": [s.status], "type": [s.type]}.get(f))
                return ok(self.render.write_list("storage_domains", (write(self.render.storage_domain(s)) for s in domains)))
            domain = self.model.storage_domains.get(rest[0])
            if domain is None or len(rest) > 1:
                raise not_found()
            return ok(write(self.render.storage_domain(domain)))

    # -- events and jobs -----------------------------------------------------------
    def _event_field(self, event: Event, field: str) -> Optional[list[str]]:
        host = self.model.hosts.get(event.host_id) if event.host_id else None
        vm = self.model.vms.get(event.vm_id) if event.vm_id else None
        values: dict[str, Callable[[], list[str]]] = {
            "code": lambda: [str(event.code)], "severity": lambda: [event.severity], "host": lambda: [host.name] if host else [],
            "vm": lambda: [vm.name] if vm else [], "origin": lambda: [event.origin], "id": lambda: [str(event.id)],
            "custom_id": lambda: [str(event.custom_id)] if event.custom_id is not None else [],
        }
        getter = values.get(field)
        return getter() if getter else None

    def r_events(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                start = request.query.get("from")
                events = list(reversed(self.model.events))
                if start is not None:
                    try:
                        first = int(start)
                    except ValueError as exc:
                        raise invalid(f"Value '{start}' of parameter 'from' isn't a valid integer") from exc
                    events = [e for e in events if e.id > first]
                events = self._filter(events, request, self._event_field)
                return ok(self.render.write_list("events", (self.render.write_one(e, functools.partial(self.render.event, e), "plain")
                                                            for e in events)))
            if not rest and method == "POST":
                return self.add_event(request.read(t.Event))
            if len(rest) == 1:
                try:
                    index = int(rest[0])
                except ValueError as exc:
                    raise not_found() from exc
                event = next((e for e in self.model.events if e.id == index), None)
                if event is None:
                    raise not_found()
                if method == "GET":
                    return ok(write(self.render.event(event)))
                if method == "DELETE":
                    self.model.events.remove(event)
                    return Response(200, b"")
        raise not_found()

    def add_event(self, body: t.Event) -> Response:
        missing = [name for name in ("description", "severity", "origin") if getattr(body, name) in (None, "")]
        if missing:
            raise incomplete("Event", *missing)
        if body.custom_id is not None and body.custom_id in self.model.events_by_custom_id:
            existing = self.model.events_by_custom_id[body.custom_id]
            if existing in self.model.events:
                return ok(write(self.render.event(existing)), 200)
        links: dict[str, Any] = {}
        if body.host is not None:
            host = self.model.hosts.get(body.host.id or "") or self.model.find_host(body.host.name or "")
            links["host_id"] = host.id if host else None
        if body.vm is not None:
            vm = self.model.vms.get(body.vm.id or "") or self.model.find_vm(body.vm.name or "")
            links["vm_id"] = vm.id if vm else None
        event = self.model.add_event(body.code if body.code is not None else 9801 if body.severity.value == "normal" else 9802,
                                     body.severity.value, body.description, self.engine.now(), origin=body.origin,
                                     custom_id=body.custom_id, flood_rate=body.flood_rate or 0, **links)
        return ok(write(self.render.event(event)), 201)

    def r_jobs(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                jobs = self._filter(list(reversed(list(self.model.jobs.values()))), request,
                                    lambda j, f: {"description": [j.description], "status": [j.status], "id": [j.id]}.get(f))
                return ok(self.render.write_list("jobs", (write(self.render.job(j)) for j in jobs)))
            if not rest and method == "POST":
                body: t.Job = request.read(t.Job)
                if not body.description:
                    raise incomplete("Job", "description")
                now = self.engine.now()
                job = Job(id=new_id(), description=body.description, status="started", start_time=now, last_updated=now, external=True,
                          auto_cleared=bool(body.auto_cleared))
                self.model.jobs[job.id] = job
                return ok(write(self.render.job(job)), 201)
            job_obj = self.model.jobs.get(rest[0]) if rest else None
            if job_obj is None:
                raise not_found()
            if len(rest) == 1 and method == "GET":
                return ok(write(self.render.job(job_obj)))
            if len(rest) == 2 and method == "POST" and rest[1] in ("end", "clear"):
                body_action = request.read(t.Action) if request.body.strip() else t.Action()
                job_obj.status = "finished" if body_action.succeeded is not False else "failed"
                job_obj.end_time = self.engine.now()
                return action_done()
        raise not_found()
