"""Engine API: /vms and /vms/{id} (get, update of HA, lease, resume behaviour, placement) and /vms/{id}/tags."""

from __future__ import annotations

from typing import Optional

import ovirtsdk4.types as t

from tests.lab.api_common import Request, Response, ok
from tests.lab.api_tags import TagRoutes
from tests.lab.api_xml import VM_SUBCOLLECTIONS
from tests.lab.errors import conflict, invalid, not_found
from tests.lab.model import Vm


class VmRoutes(TagRoutes):
    def _vm(self, vm_id: str) -> Vm:
        vm = self.model.vms.get(vm_id)
        if vm is None:
            raise not_found()
        return vm

    def _vm_field(self, vm: Vm, field: str) -> Optional[list[str]]:
        # a plain chain, not a table of closures: a search over 10,000 VMs calls this for every field of every VM
        if field == "name":
            return [vm.name]
        if field == "status":
            return [vm.status]
        if field == "cluster":
            return self._cluster_name(vm.cluster_id)
        if field == "id":
            return [vm.id]
        if field == "host":
            host = self.model.hosts.get(vm.host_id) if vm.host_id and vm.status != "down" else None
            return [host.name] if host else []
        if field == "datacenter":
            return self._dc_name(vm.cluster_id)
        if field == "type":
            return ["server"]
        if field == "tag":
            return self._tag_names(vm.id)
        return None

    def _vm_xml(self, vm: Vm, request: Request) -> bytes:
        return self.render.write_one(vm, lambda: self.render.vm(vm), "plain", request.follow())

    def r_vms(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                vms = self._filter(list(self.model.vms.values()), request, self._vm_field)
                return ok(self.render.write_list("vms", (self._vm_xml(vm, request) for vm in vms)))
            if not rest:
                raise not_found()
            vm = self._vm(rest[0])
            if len(rest) > 1 and rest[1] == "tags":
                return self.assigned_tags("vms", vm.id, method, rest[2:], request)
            if len(rest) == 2 and rest[1] in VM_SUBCOLLECTIONS and method == "GET":
                # linked from every VM; the lab models none of their content
                return ok(self.render.write_list(VM_SUBCOLLECTIONS[rest[1]], []))
            if len(rest) > 1:
                raise not_found()
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
