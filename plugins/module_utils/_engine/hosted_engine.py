# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hosted-engine hosts and maintenance through the engine (private, may change).

Deploy/undeploy is a host reinstall with ``deploy_hosted_engine`` or
``undeploy_hosted_engine``; the host must be in maintenance first.  Global
maintenance is the ``maintenance`` action of the hosted-engine VM; local
maintenance is the host's maintenance mode (the engine sets the HA agent's
local maintenance when an HA host enters maintenance and clears it on
activation).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .diff import DifferenceTracker
from .errors import EngineError, EngineNotFound, engine_call
from .fence import get_host, is_engine_vm
from .objects import enum_value, list_hosts, list_vms
from .wait import wait_until

try:
    from ovirtsdk4 import types
except ImportError:
    types = None

FAILED_HOST_STATES = ("install_failed", "non_operational", "error")
MAINTENANCE_STATES = ("maintenance", "preparing_for_maintenance")


def he_configured(host: Any) -> bool:
    return bool(getattr(host.hosted_engine, "configured", False))


def wait_host(system: Any, host_id: str, name: str, want: Optional[str], timeout: float,
              extra: Optional[Callable] = None, sleep: Optional[Callable[[float], None]] = None) -> Any:
    """Poll the host until its status is ``want`` (any when None) and ``extra`` holds."""
    service = system.hosts_service().host_service(host_id)

    def fetch() -> Any:
        with engine_call("reading host status", obj="host %r" % name):
            return service.get(all_content=True)

    kwargs: Dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    return wait_until(
        fetch, lambda h: (want is None or enum_value(h.status) == want) and (extra is None or extra(h)),
        what="host %s to be %s" % (name, want or "updated"),
        describe=lambda h: "status %s, hosted_engine %s" % (enum_value(h.status), h.hosted_engine and {
            "configured": h.hosted_engine.configured, "local_maintenance": h.hosted_engine.local_maintenance}),
        failed=lambda h: "host is %s" % enum_value(h.status) if enum_value(h.status) in FAILED_HOST_STATES else None,
        timeout=timeout, interval=2, **kwargs)


def set_host_deployment(system: Any, name: str, deployed: bool, tracker: DifferenceTracker, check_mode: bool, *,
                        root_password: Optional[str], activate: bool, timeout: float,
                        sleep: Optional[Callable[[float], None]] = None) -> Dict[str, Any]:
    host = get_host(system, name)
    before = he_configured(host)
    tracker.add(name, "hosted_engine_configured", before, deployed)
    result: Dict[str, Any] = {"host": name, "id": host.id, "hosted_engine_configured": deployed,
                              "status": enum_value(host.status)}
    if before == deployed or check_mode:
        if before == deployed:
            result["hosted_engine_configured"] = before
        return result
    service = system.hosts_service().host_service(host.id)
    if enum_value(host.status) != "maintenance":
        with engine_call("moving the host to maintenance before reinstalling it", obj="host %r" % name):
            service.deactivate()
        wait_host(system, host.id, name, "maintenance", timeout, sleep=sleep)
    verb = "deploying" if deployed else "undeploying"
    with engine_call("%s hosted-engine on the host (host install)" % verb, obj="host %r" % name,
                     expected="a host in maintenance, reachable over SSH with the given credentials"):
        service.install(
            deploy_hosted_engine=True if deployed else None,
            undeploy_hosted_engine=None if deployed else True,
            root_password=root_password,
            ssh=None if root_password else types.Ssh(authentication_method=types.SshAuthenticationMethod.PUBLICKEY),
            activate=activate)
    final = wait_host(system, host.id, name, "up" if activate else "maintenance", timeout,
                      extra=lambda h: he_configured(h) == deployed, sleep=sleep)
    result.update(status=enum_value(final.status), hosted_engine_configured=he_configured(final))
    return result


def engine_vm(system: Any, name: Optional[str]) -> Any:
    vms = list_vms(system)
    found = [v for v in vms if (v.name == name if name else is_engine_vm(v))]
    if not found and not name:
        found = [v for v in vms if v.name == "HostedEngine"]
    if not found:
        raise EngineNotFound("the hosted-engine VM was not found", obj="VM %r" % (name or "HostedEngine"),
                             expected="a VM with origin managed_hosted_engine, or set engine_vm")
    return found[0]


def set_maintenance(system: Any, global_maintenance: Optional[bool], local: List[Dict[str, Any]],
                    tracker: DifferenceTracker, check_mode: bool, *, engine_vm_name: Optional[str], timeout: float,
                    sleep: Optional[Callable[[float], None]] = None) -> Dict[str, Any]:
    hosts = {h.name: h for h in list_hosts(system, all_content=True)}
    he_hosts = [h for h in hosts.values() if he_configured(h)]
    for index, entry in enumerate(local):
        host = hosts.get(entry["name"])
        if host is None:
            raise EngineNotFound("no host named %r" % entry["name"], obj="hosts[%d].name" % index,
                                 expected="the name of an existing host")
        if not he_configured(host):
            raise EngineError("host %s is not a hosted-engine host" % entry["name"], obj="hosts[%d].name" % index,
                              expected="a host with hosted_engine.configured true")
    result: Dict[str, Any] = {"hosts": {}}
    if global_maintenance is not None:
        if not he_hosts:
            raise EngineError("no hosted-engine host found, cannot read or set global maintenance",
                              expected="at least one host with hosted_engine.configured true")
        before = any(bool(h.hosted_engine.global_maintenance) for h in he_hosts)
        result["global_maintenance"] = global_maintenance
        if tracker.add("hosted_engine", "global_maintenance", before, global_maintenance) and not check_mode:
            vm = engine_vm(system, engine_vm_name)
            with engine_call("setting global maintenance", obj="hosted-engine VM %r" % vm.name):
                system.vms_service().vm_service(vm.id).maintenance(maintenance_enabled=global_maintenance)
            probe = he_hosts[0]
            wait_host(system, probe.id, probe.name, None, timeout, sleep=sleep,
                      extra=lambda h: bool(getattr(h.hosted_engine, "global_maintenance", False))
                      == global_maintenance)
    for entry in local:
        host = hosts[entry["name"]]
        want = entry["local_maintenance"]
        result["hosts"][host.name] = {"local_maintenance": want}
        # Through the engine, local maintenance is the host's maintenance mode; the agent's flag follows it.
        before = enum_value(host.status) in MAINTENANCE_STATES
        if not want and not before and host.hosted_engine.local_maintenance:
            raise EngineError("host %s is %s but its HA agent reports local maintenance, which was set on the host "
                              "itself; the engine cannot clear it" % (host.name, enum_value(host.status)),
                              obj="host %r" % host.name,
                              expected="local maintenance cleared on the host (hosted-engine --set-maintenance "
                                       "--mode=none)")
        if not tracker.add(host.name, "local_maintenance", before, want) or check_mode:
            result["hosts"][host.name]["local_maintenance"] = want if check_mode else before
            continue
        service = system.hosts_service().host_service(host.id)
        with engine_call("%s local maintenance" % ("entering" if want else "leaving"), obj="host %r" % host.name,
                         expected="a host the engine can move to maintenance (its VMs can migrate)"):
            if want:
                service.deactivate()
            else:
                service.activate()
        wait_host(system, host.id, host.name, "maintenance" if want else "up", timeout, sleep=sleep,
                  extra=lambda h: bool(getattr(h.hosted_engine, "local_maintenance", False)) == want)
    return result
