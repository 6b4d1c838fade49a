# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM high-availability settings for many VMs at once (private, may change).

Reads: 1 VM list, plus 1 storage domain list only when a lease is named, plus
1 host list only when pinned hosts are named or an HA VM has no lease (to warn
about hosts without power management).  Writes: 1 update per VM that differs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .diff import DifferenceTracker
from .errors import EngineNotFound, InputError, engine_call
from .objects import enum_value, list_hosts, list_storage_domains, list_vms

try:
    from ovirtsdk4 import types
except ImportError:
    types = None

RESUME_BEHAVIOURS = ("auto_resume", "leave_paused", "kill")
PLACEMENTS = ("migratable", "user_migratable", "pinned")
SETTINGS = ("high_availability", "priority", "lease", "resume_behaviour", "placement", "placement_hosts")


@dataclass(frozen=True)
class VmHaSpec:
    name: str
    field: str = "vms"  # where the entry came from, e.g. "vms[2]" or "names[0]"
    high_availability: Optional[bool] = None
    priority: Optional[int] = None
    lease: Optional[str] = None  # "" removes the lease
    resume_behaviour: Optional[str] = None
    placement: Optional[str] = None
    placement_hosts: Optional[List[str]] = None


def parse_specs(vms: Optional[Sequence[Mapping[str, Any]]], defaults: Mapping[str, Any],
                names: Optional[Sequence[str]] = None) -> List[VmHaSpec]:
    """Validate ``vms`` and ``names``; entries inherit the top-level settings."""
    entries: List[Tuple[str, Mapping[str, Any]]] = [("names[%d]" % i, {"name": n}) for i, n in enumerate(names or [])]
    entries += [("vms[%d]" % i, entry) for i, entry in enumerate(vms or [])]
    if not entries:
        raise InputError("vms", "a non-empty list of VMs (in vms or names)")
    specs: List[VmHaSpec] = []
    seen: Dict[str, str] = {}
    for where, entry in entries:
        name = entry.get("name")
        if not name:
            raise InputError(where + ".name", "a VM name")
        if name in seen:
            raise InputError(where + ".name", "each VM once (also listed as %s)" % seen[name], name)
        seen[name] = where
        values = {key: entry.get(key) if entry.get(key) is not None else defaults.get(key) for key in SETTINGS}
        priority = values["priority"]
        if priority is not None and not 0 <= int(priority) <= 100:
            raise InputError(where + ".priority", "an integer from 0 to 100", priority)
        if values["resume_behaviour"] not in (None,) + RESUME_BEHAVIOURS:
            raise InputError(where + ".resume_behaviour", " or ".join(RESUME_BEHAVIOURS), values["resume_behaviour"])
        if values["placement"] not in (None,) + PLACEMENTS:
            raise InputError(where + ".placement", " or ".join(PLACEMENTS), values["placement"])
        if values["placement"] == "pinned" and not values["placement_hosts"]:
            raise InputError(where + ".placement_hosts", "at least one host when placement is pinned")
        hosts = values["placement_hosts"]
        specs.append(VmHaSpec(
            name=name,
            field=where,
            high_availability=values["high_availability"],
            priority=None if priority is None else int(priority),
            lease=values["lease"],
            resume_behaviour=values["resume_behaviour"],
            placement=values["placement"],
            placement_hosts=sorted(hosts) if hosts else None,
        ))
    return specs


def current_settings(vm: Any, sd_names: Mapping[str, str], host_names: Mapping[str, str]) -> Dict[str, Any]:
    ha = vm.high_availability
    lease_id = getattr(getattr(vm.lease, "storage_domain", None), "id", None)
    placement = vm.placement_policy
    pinned = [host_names.get(h.id, h.id) for h in (getattr(placement, "hosts", None) or [])]
    return {
        "high_availability": bool(getattr(ha, "enabled", False)),
        "priority": getattr(ha, "priority", None),
        "lease": sd_names.get(lease_id, lease_id) if lease_id else "",
        "resume_behaviour": enum_value(vm.storage_error_resume_behaviour),
        "placement": enum_value(getattr(placement, "affinity", None)),
        "placement_hosts": sorted(pinned) if pinned else None,
    }


def plan_update(spec: VmHaSpec, vm: Any, tracker: DifferenceTracker, sd_ids: Mapping[str, str],
                host_ids: Mapping[str, str], sd_names: Mapping[str, str], host_names: Mapping[str, str]) -> Any:
    """The ``types.Vm`` patch for one VM, or None when nothing differs."""
    current = current_settings(vm, sd_names, host_names)
    changed = [key for key in SETTINGS
               if getattr(spec, key) is not None
               and tracker.add(spec.name, key, current[key], getattr(spec, key))]
    if not changed:
        return None
    patch = types.Vm()
    if "high_availability" in changed or "priority" in changed:
        enabled = current["high_availability"] if spec.high_availability is None else spec.high_availability
        priority = current["priority"] if spec.priority is None else spec.priority
        patch.high_availability = types.HighAvailability(enabled=enabled, priority=priority)
    if "lease" in changed:
        patch.lease = types.StorageDomainLease(
            storage_domain=types.StorageDomain(id=sd_ids[spec.lease]) if spec.lease else None)
    if "resume_behaviour" in changed:
        patch.storage_error_resume_behaviour = types.VmStorageErrorResumeBehaviour(spec.resume_behaviour)
    if "placement" in changed or "placement_hosts" in changed:
        affinity = spec.placement or current["placement"] or "migratable"
        if spec.placement_hosts is not None:
            host_refs = [host_ids[h] for h in spec.placement_hosts]
        else:
            host_refs = [h.id for h in (getattr(vm.placement_policy, "hosts", None) or [])]
        patch.placement_policy = types.VmPlacementPolicy(
            affinity=types.VmAffinity(affinity),
            hosts=[types.Host(id=h) for h in host_refs] if host_refs else None)
    return patch


def unprotected_warning(name: str, vm: Any, hosts: Sequence[Any]) -> Optional[str]:
    """Warn when an HA VM without a lease runs where a host failure cannot be fenced."""
    cluster_id = getattr(vm.cluster, "id", None)
    exposed = sorted(h.name for h in hosts
                     if (cluster_id is None or getattr(h.cluster, "id", None) == cluster_id)
                     and not getattr(h.power_management, "enabled", False))
    if not exposed:
        return None
    return ("VM %s is highly available but has no lease, and host(s) %s have no power management: "
            "if one of them fails the engine cannot fence it and will not restart the VM elsewhere. "
            "Give the VM a lease or configure power management." % (name, ", ".join(exposed)))


def apply_vm_ha(system: Any, specs: List[VmHaSpec], cluster: Optional[str], tracker: DifferenceTracker,
                check_mode: bool, warn: Callable[[str], None]) -> List[Dict[str, Any]]:
    """Compare and (unless check mode) update; return each VM's settings after."""
    vms = {vm.name: vm for vm in list_vms(system, cluster)}
    for spec in specs:
        if spec.name not in vms:
            where = " in cluster %r" % cluster if cluster else ""
            raise EngineNotFound("no VM named %r%s" % (spec.name, where), obj=spec.field + ".name",
                                 expected="the name of an existing VM")
    sd_ids: Dict[str, str] = {}
    if any(s.lease for s in specs):
        sd_ids = {sd.name: sd.id for sd in list_storage_domains(system)}
        for spec in specs:
            if spec.lease and spec.lease not in sd_ids:
                raise InputError(spec.field + ".lease", "the name of an existing storage domain", spec.lease)
    sd_names = {v: k for k, v in sd_ids.items()}
    hosts: Optional[List[Any]] = None

    def all_hosts() -> List[Any]:
        nonlocal hosts
        if hosts is None:
            hosts = list_hosts(system)
        return hosts

    host_ids: Dict[str, str] = {}
    if any(s.placement_hosts for s in specs):
        host_ids = {h.name: h.id for h in all_hosts()}
        for spec in specs:
            for host in spec.placement_hosts or []:
                if host not in host_ids:
                    raise InputError(spec.field + ".placement_hosts", "names of existing hosts", host)
    host_names = {v: k for k, v in host_ids.items()}
    patches = [(spec, plan_update(spec, vms[spec.name], tracker, sd_ids, host_ids, sd_names, host_names))
               for spec in specs]
    results = []
    for spec, patch in patches:
        vm = vms[spec.name]
        if patch is not None and not check_mode:
            with engine_call("updating the HA settings of VM %s" % spec.name, obj="VM %r" % spec.name,
                             expected="settings %s" % ", ".join(tracker.changes(spec.name))):
                vm = system.vms_service().vm_service(vm.id).update(patch)
        after = current_settings(vm, sd_names, host_names)
        if check_mode:
            after.update({k: getattr(spec, k) for k in SETTINGS if getattr(spec, k) is not None})
        after.update(name=spec.name, id=vm.id, changed=patch is not None)
        results.append(after)
    for result in results:
        if result["high_availability"] and not result["lease"]:
            message = unprotected_warning(result["name"], vms[result["name"]], all_hosts())
            if message:
                warn(message)
    return results
