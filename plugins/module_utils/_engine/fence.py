# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fence actions through the engine, verified (private, may change).

"Command sent" is not "fenced": after start, stop or restart the power state
is polled (fence ``status``) until it is the expected one, with back-off and a
deadline.  ``manual`` needs explicit confirmation that the host is down, and
stop/restart of the host that runs the hosted-engine VM needs ``force``.

The engine has no bulk fence status: ``fence_status_many`` finds all the
hosts with one search (more when the names would make its URL too long) and then asks one fence
status per host, sequentially, over the one SDK connection (its curl handle
is not safe to share between threads).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

from .errors import (EngineAuthError, EngineError, EngineNotFound, EngineRequestTimeout, EngineUnreachable, InputError,
                     SafetyRefusal, engine_call)
from .objects import enum_value, or_searches, search_quote
from .wait import wait_until

ACTIONS = ("status", "start", "stop", "restart", "manual")
EXPECTED_POWER = {"start": "on", "stop": "off", "restart": "on"}
MANUAL_ALLOWED_STATUS = ("non_responsive", "connecting", "down", "error", "unassigned", "kdumping", "reboot")
# Errors that are the engine's, not one host's: every further host would fail the same way (a timeout each).
ENGINE_WIDE_ERRORS = (EngineAuthError, EngineUnreachable, EngineRequestTimeout)


def get_host(system: Any, name: str) -> Any:
    with engine_call("looking up the host", obj="host %r" % name):
        found = [h for h in system.hosts_service().list(search="name=%s" % search_quote(name), all_content=True)
                 if h.name == name]
    if not found:
        raise EngineNotFound("no host named %r" % name, obj="host", expected="the name of an existing host")
    return found[0]


def is_engine_vm(vm: Any) -> bool:
    return enum_value(getattr(vm, "origin", None)) == "managed_hosted_engine"


def runs_engine_vm(system: Any, host: Any) -> bool:
    """Whether the hosted-engine VM runs on ``host`` (one VM search).

    ``hosted_engine.active`` only says the HA agent is alive; the VM's host
    is what counts.
    """
    with engine_call("listing the VMs on the host", obj="host %r" % host.name):
        vms = system.vms_service().list(search="host=%s" % search_quote(host.name))
    return any(is_engine_vm(vm) and getattr(vm.host, "id", host.id) == host.id for vm in vms)


def check_safety(system: Any, host: Any, action: str, confirm_host_is_down: bool, force: bool) -> None:
    """Refuse dangerous requests before any request that changes something."""
    status = enum_value(host.status)
    if action == "manual":
        if not confirm_host_is_down:
            raise SafetyRefusal(
                "refusing manual fence confirmation of host %s: it tells the engine the host is off and its VMs may be "
                "started elsewhere" % host.name, obj="host %r (status %s)" % (host.name, status),
                expected="confirm_host_is_down: true after checking the host is really powered off or rebooted")
        if status not in MANUAL_ALLOWED_STATUS:
            raise SafetyRefusal("refusing manual fence confirmation of host %s: the engine sees it %s" % (
                host.name, status), obj="host %r" % host.name,
                expected="a host in status %s" % " or ".join(MANUAL_ALLOWED_STATUS))
    if action in ("stop", "restart") and not force and runs_engine_vm(system, host):
        raise SafetyRefusal("refusing to %s host %s: it runs the hosted-engine VM" % (action, host.name),
                            obj="host %r" % host.name,
                            expected="another host, or force: true (the engine VM goes down with the host)")


def power_status(host_service: Any, name: str) -> Optional[str]:
    """The power state the fence agent reports: on, off or unknown."""
    with engine_call("reading the power status", obj="host %r" % name,
                     expected="power management enabled with a working fence agent"):
        # The SDK returns the action's power_management member, not the action.
        power_management = host_service.fence(fence_type="status")
    return enum_value(getattr(power_management, "status", None))


def fence_host(system: Any, name: str, action: str, *, confirm_host_is_down: bool, force: bool,
               check_mode: bool, wait: bool, timeout: float,
               sleep: Optional[Callable[[float], None]] = None) -> Dict[str, Any]:
    host = get_host(system, name)
    check_safety(system, host, action, confirm_host_is_down, force)
    service = system.hosts_service().host_service(host.id)
    result: Dict[str, Any] = {"host": name, "id": host.id, "action": action, "status": enum_value(host.status)}
    if action == "manual":
        result.update(changed=True, power_state=None)
        if not check_mode:
            with engine_call("confirming the host was rebooted (manual fence)", obj="host %r" % name):
                service.fence(fence_type="manual")
        return result
    before = power_status(service, name)
    result["power_state_before"] = before
    expected = EXPECTED_POWER.get(action)
    if action == "status" or (action != "restart" and before == expected):
        result.update(changed=False, power_state=before)
        return result
    result["changed"] = True
    if check_mode:
        result["power_state"] = expected
        return result
    with engine_call("fencing (%s)" % action, obj="host %r (power %s)" % (name, before),
                     expected="a host the engine may fence (stop needs maintenance)"):
        service.fence(fence_type=action)
    if not wait:
        result["power_state"] = None
        return result
    kwargs: Dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    final = wait_until(lambda: power_status(service, name), lambda state: state == expected,
                       what="host %s to report power %s after %s" % (name, expected, action),
                       describe=lambda state: "power %s" % state, timeout=timeout, interval=2, **kwargs)
    if final != expected:  # pragma: no cover - wait_until raises first
        raise EngineError("host %s did not reach power %s" % (name, expected))
    result["power_state"] = final
    return result


def parse_host_names(names: Sequence[Any]) -> List[str]:
    """The ``hosts`` option: a non-empty list of distinct, non-empty names."""
    if not names:
        raise InputError("hosts", "a non-empty list of host names")
    seen: List[str] = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name or name in seen:
            raise InputError("hosts[%d]" % index, "a host name listed once", name)
        seen.append(name)
    return seen


def find_hosts(system: Any, names: Sequence[str]) -> Dict[str, Any]:
    """The hosts called ``names`` by name, missing ones left out (one search, or one per URL-sized group of names)."""
    found: Dict[str, Any] = {}
    wanted = set(names)
    for search in or_searches(["name=%s" % search_quote(name) for name in names]):
        with engine_call("looking up the hosts", obj="hosts %s" % search[:200]):
            # The engine's name search ignores case and expands wildcards: keep exact matches only.
            found.update((h.name, h) for h in system.hosts_service().list(search=search) if h.name in wanted)
    return found


def fence_status_many(system: Any, names: Sequence[str]) -> List[Dict[str, Any]]:
    """The fence status of every host in ``names``, in that order; one host's failure is reported, not raised.

    Each entry has ``name``, ``id``, ``status`` (the engine's host status), ``power_state`` (on, off, unknown;
    None when not read), ``failed`` and, when failed, ``msg``.  Errors of the engine itself (auth, unreachable,
    a request timeout) are raised: they are no host's result.
    """
    hosts = find_hosts(system, names)
    results: List[Dict[str, Any]] = []
    for name in names:
        host = hosts.get(name)
        entry: Dict[str, Any] = {"name": name, "id": None, "status": None, "power_state": None, "failed": False}
        results.append(entry)
        if host is None:
            entry.update(failed=True, msg="no host named %r" % name)
            continue
        entry.update(id=host.id, status=enum_value(host.status))
        try:
            entry["power_state"] = power_status(system.hosts_service().host_service(host.id), name)
        except ENGINE_WIDE_ERRORS:
            raise
        except EngineError as error:
            entry.update(failed=True, msg=str(error))
    return results
