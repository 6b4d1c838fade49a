"""Engine API: /clusters (with fencing policy), /datacenters and their storage domains, /storagedomains, /templates."""

from __future__ import annotations

from typing import Any, Callable, Optional

import ovirtsdk4.types as t

from tests.lab.api_base import RoutesBase
from tests.lab.api_common import Request, Response, ok
from tests.lab.api_xml import MAC_POOL_ID, SCHEDULING_POLICY_ID, write
from tests.lab.errors import invalid, not_found
from tests.lab.model import BLANK_TEMPLATE_ID, Template


class InventoryRoutes(RoutesBase):
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
                    for flag in ("skip_if_gluster_bricks_up", "skip_if_gluster_quorum_not_met"):
                        if getattr(policy, flag) is not None:
                            setattr(cluster, flag, getattr(policy, flag))
                if body.ha_reservation is not None:
                    cluster.ha_reservation = body.ha_reservation
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

    def _template_field(self, template: Template, field: str) -> Optional[list[str]]:
        values: dict[str, Callable[[], list[str]]] = {
            "name": lambda: [template.name], "id": lambda: [template.id],
            # Blank belongs to no data center and serves all of them
            "datacenter": lambda: [dc.name for dc in self.model.data_centers.values()],
            # templates of the VMs named so (every lab VM is made from Blank)
            "vm.name": lambda: [vm.name for vm in self.model.vms.values()] if template.id == BLANK_TEMPLATE_ID else [],
        }
        getter = values.get(field)
        return getter() if getter else None

    def r_templates(self, method: str, rest: list[str], request: Request) -> Response:
        if method != "GET":
            raise not_found()
        with self.model.lock:
            if not rest:
                templates = self._filter(list(self.model.templates.values()), request, self._template_field)
                return ok(self.render.write_list("templates", (write(self.render.template(x)) for x in templates)))
            template = self.model.templates.get(rest[0])
            if template is None or len(rest) > 1:
                raise not_found()
            return ok(write(self.render.template(template)))

    def r_macpools(self, method: str, rest: list[str], request: Request) -> Response:
        return self._single("mac_pools", MAC_POOL_ID, self.render.mac_pool, method, rest)

    def r_schedulingpolicies(self, method: str, rest: list[str], request: Request) -> Response:
        return self._single("scheduling_policies", SCHEDULING_POLICY_ID, self.render.scheduling_policy, method, rest)

    @staticmethod
    def _single(root: str, obj_id: str, build: Callable[[], Any], method: str, rest: list[str]) -> Response:
        """A collection with the one object the lab has (read only)."""
        if method != "GET":
            raise not_found()
        if not rest:
            return ok(write([build()], root=root))
        if rest == [obj_id]:
            return ok(write(build()))
        raise not_found()
