# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host into maintenance and back, through the engine (private, may change).

Maintenance is the host's ``deactivate`` action: the engine migrates its VMs away (and sets the hosted-engine agent's
local maintenance on a hosted-engine host); the host stays ``preparing_for_maintenance`` while VMs remain. A wait
that runs out names those VMs (the stragglers) rather than only the host's status.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .diff import DifferenceTracker
from .errors import WaitTimeout, engine_call
from .fence import get_host
from .hosted_engine import wait_host
from .objects import enum_value

WANTED = {"maintenance": "maintenance", "active": "up"}


def vms_on(system: Any, host_name: str) -> List[str]:
    with engine_call("listing the VMs still on the host", obj="host %r" % host_name):
        return sorted(vm.name for vm in system.vms_service().list(search="host=%s" % host_name))


def set_host_state(system: Any, name: str, state: str, tracker: DifferenceTracker, check_mode: bool, *, timeout: float,
                   sleep: Optional[Callable[[float], None]] = None) -> Dict[str, Any]:
    host = get_host(system, name)
    before = enum_value(host.status)
    want = WANTED[state]
    tracker.add(name, "status", before, want)
    result: Dict[str, Any] = {"host": name, "id": host.id, "status": before}
    if before == want:
        return result
    if check_mode:
        result["status"] = want
        return result
    service = system.hosts_service().host_service(host.id)
    if before != "preparing_for_maintenance" and before != want:
        verb = "moving the host to maintenance" if state == "maintenance" else "activating the host"
        with engine_call(verb, obj="host %r" % name):
            if state == "maintenance":
                service.deactivate()
            else:
                service.activate()
    try:
        final = wait_host(system, host.id, name, want, timeout, sleep=sleep)
    except WaitTimeout as exc:
        if state == "maintenance":
            left = vms_on(system, name)
            if left:
                raise WaitTimeout("%s; VMs still on the host: %s" % (exc, ", ".join(left)), last_state=exc.last_state) from exc
        raise
    result["status"] = enum_value(final.status)
    return result
