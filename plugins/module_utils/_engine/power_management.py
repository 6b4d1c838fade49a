# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host power management and fence agents (private, may change).

An agent's identity is (order, type, address): an agent with the same three
is updated in place, anything else is a new agent, and agents not listed are
removed only with ``purge``.  The engine never returns passwords, so a
password is sent when the agent is created, and on every run only with
``update_password: always``.

Reads: 1 host list (``follow=agents``; one fence-agent list per host only if
the engine does not inline agents).  Writes: one request per agent added,
updated or removed and one per host whose power management settings differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .diff import DifferenceTracker
from .errors import EngineNotFound, InputError, engine_call
from .objects import enum_value, inlined_agents, list_hosts

try:
    from ovirtsdk4 import types
except ImportError:
    types = None

AGENT_FIELDS = ("username", "port", "options", "encrypt_options", "concurrent")
HOST_FIELDS = ("enabled", "kdump_detection", "automatic_pm_enabled", "pm_proxies")
PM_PROXIES = ("cluster", "dc", "other_dc")

AgentKey = Tuple[int, str, str]


@dataclass(frozen=True)
class AgentSpec:
    order: int
    type: str
    address: str
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    port: Optional[int] = None
    options: Optional[Dict[str, str]] = None
    encrypt_options: Optional[bool] = None
    concurrent: Optional[bool] = None

    @property
    def key(self) -> AgentKey:
        return (self.order, self.type, self.address)

    @property
    def label(self) -> str:
        return "agent %d %s@%s" % self.key


@dataclass(frozen=True)
class HostPmSpec:
    name: str
    agents: Optional[List[AgentSpec]]
    enabled: Optional[bool] = None
    kdump_detection: Optional[bool] = None
    automatic_pm_enabled: Optional[bool] = None
    pm_proxies: Optional[List[str]] = None


def parse_specs(hosts: Sequence[Mapping[str, Any]]) -> List[HostPmSpec]:
    if not hosts:
        raise InputError("hosts", "a non-empty list of hosts")
    specs, seen = [], set()
    for index, entry in enumerate(hosts):
        where = "hosts[%d]" % index
        name = entry.get("name")
        if not name or name in seen:
            raise InputError(where + ".name", "a host name listed once", name)
        seen.add(name)
        agents: Optional[List[AgentSpec]] = None
        if entry.get("agents") is not None:
            agents = []
            keys = set()
            for a_index, agent in enumerate(entry["agents"]):
                a_where = "%s.agents[%d]" % (where, a_index)
                for required in ("type", "address"):
                    if not agent.get(required):
                        raise InputError("%s.%s" % (a_where, required), "a non-empty string")
                order = agent.get("order") if agent.get("order") is not None else a_index + 1
                if int(order) < 1:
                    raise InputError(a_where + ".order", "an integer >= 1", order)
                port = agent.get("port")
                if port is not None and not 0 < int(port) < 65536:
                    raise InputError(a_where + ".port", "a port number 1-65535", port)
                spec = AgentSpec(
                    order=int(order), type=agent["type"], address=agent["address"],
                    username=agent.get("username"), password=agent.get("password"),
                    port=None if port is None else int(port),
                    options=None if agent.get("options") is None else
                    {str(k): str(v) for k, v in agent["options"].items()},
                    encrypt_options=agent.get("encrypt_options"), concurrent=agent.get("concurrent"))
                if spec.key in keys:
                    raise InputError(a_where, "a unique (order, type, address)", spec.key)
                keys.add(spec.key)
                agents.append(spec)
        proxies = entry.get("pm_proxies")
        for proxy in proxies or []:
            if proxy not in PM_PROXIES:
                raise InputError(where + ".pm_proxies", "items from " + ", ".join(PM_PROXIES), proxy)
        if entry.get("enabled") and agents is not None and not agents:
            raise InputError(where + ".agents", "at least one agent when enabled is true")
        specs.append(HostPmSpec(name=name, agents=agents, enabled=entry.get("enabled"),
                                kdump_detection=entry.get("kdump_detection"),
                                automatic_pm_enabled=entry.get("automatic_pm_enabled"), pm_proxies=proxies))
    return specs


def agent_key(agent: Any) -> AgentKey:
    return (int(agent.order or 0), str(agent.type), str(agent.address))


def agent_settings(agent: Any) -> Dict[str, Any]:
    return {
        "username": agent.username,
        "port": agent.port,
        "options": {o.name: o.value for o in (agent.options or [])},
        "encrypt_options": agent.encrypt_options,
        "concurrent": agent.concurrent,
    }


def host_settings(host: Any) -> Dict[str, Any]:
    pm = host.power_management
    return {
        "enabled": bool(getattr(pm, "enabled", False)),
        "kdump_detection": getattr(pm, "kdump_detection", None),
        "automatic_pm_enabled": getattr(pm, "automatic_pm_enabled", None),
        "pm_proxies": [enum_value(p.type) for p in (getattr(pm, "pm_proxies", None) or [])] or None,
    }


def agent_object(spec: AgentSpec, with_password: bool) -> Any:
    return types.Agent(
        order=spec.order, type=spec.type, address=spec.address, username=spec.username,
        password=spec.password if with_password else None, port=spec.port,
        options=None if spec.options is None else [types.Option(name=k, value=v) for k, v in sorted(spec.options.items())],
        encrypt_options=spec.encrypt_options, concurrent=spec.concurrent)


@dataclass
class HostPlan:
    host: Any
    add: List[AgentSpec] = field(default_factory=list)
    update: List[Tuple[Any, AgentSpec, bool]] = field(default_factory=list)  # (agent, spec, send password)
    remove: List[Any] = field(default_factory=list)
    host_patch: Any = None

    @property
    def changed(self) -> bool:
        return bool(self.add or self.update or self.remove or self.host_patch is not None)


def plan_host(spec: HostPmSpec, host: Any, agents: List[Any], tracker: DifferenceTracker,
              update_password: str, purge: bool) -> HostPlan:
    plan = HostPlan(host=host)
    existing = {agent_key(a): a for a in agents}
    obj = spec.name
    if spec.agents is not None:
        for agent_spec in spec.agents:
            label = agent_spec.label
            current = existing.get(agent_spec.key)
            if current is None:
                tracker.note(obj, label, None, {k: getattr(agent_spec, k) for k in AGENT_FIELDS})
                plan.add.append(agent_spec)
                continue
            now = agent_settings(current)
            differs = [k for k in AGENT_FIELDS if getattr(agent_spec, k) is not None
                       and tracker.add(obj, "%s.%s" % (label, k), now[k], getattr(agent_spec, k))]
            send_password = update_password == "always" and agent_spec.password is not None
            if send_password:
                tracker.add(obj, label + ".password", "unknown", "updated", secret=True)
            if differs or send_password:
                plan.update.append((current, agent_spec, send_password))
        if purge:
            wanted = {a.key for a in spec.agents}
            for key, current in sorted(existing.items()):
                if key not in wanted:
                    tracker.note(obj, "agent %d %s@%s" % key, "present", None)
                    plan.remove.append(current)
    now = host_settings(host)
    desired = {k: getattr(spec, k) for k in HOST_FIELDS if getattr(spec, k) is not None}
    if "pm_proxies" in desired:
        desired["pm_proxies"] = desired["pm_proxies"] or None
    differs = [k for k, v in desired.items() if tracker.add(obj, k, now[k], v)]
    if differs:
        merged = dict(now, **desired)
        plan.host_patch = types.Host(power_management=types.PowerManagement(
            enabled=merged["enabled"], kdump_detection=merged["kdump_detection"],
            automatic_pm_enabled=merged["automatic_pm_enabled"],
            pm_proxies=[types.PmProxy(type=types.PmProxyType(p)) for p in merged["pm_proxies"] or []] or None))
    return plan


def apply_power_management(system: Any, specs: List[HostPmSpec], tracker: DifferenceTracker, check_mode: bool,
                           update_password: str, purge: bool,
                           warn: Callable[[str], None]) -> List[Dict[str, Any]]:
    hosts = {h.name: h for h in list_hosts(system, follow="agents")}
    for index, spec in enumerate(specs):
        if spec.name not in hosts:
            raise EngineNotFound("no host named %r" % spec.name, obj="hosts[%d].name" % index,
                                 expected="the name of an existing host")
    plans = []
    for spec in specs:
        host = hosts[spec.name]
        agents = inlined_agents(host)
        if agents is None:  # engine did not inline the agents
            with engine_call("listing fence agents", obj="host %r" % spec.name):
                agents = list(system.hosts_service().host_service(host.id).fence_agents_service().list())
        plans.append((spec, agents, plan_host(spec, host, list(agents), tracker, update_password, purge)))
    results = []
    for spec, agents, plan in plans:
        if plan.changed and not check_mode:
            host_service = system.hosts_service().host_service(plan.host.id)
            agents_service = host_service.fence_agents_service()
            what = "host %r" % spec.name
            for agent in plan.remove:
                with engine_call("removing fence agent %d %s@%s" % agent_key(agent), obj=what):
                    agents_service.agent_service(agent.id).remove()
            for agent, agent_spec, send_password in plan.update:
                with engine_call("updating " + agent_spec.label, obj=what):
                    agents_service.agent_service(agent.id).update(agent_object(agent_spec, send_password))
            for agent_spec in plan.add:
                with engine_call("adding " + agent_spec.label, obj=what,
                                 expected="a valid fence agent (type, address, username, password)"):
                    agents_service.add(agent_object(agent_spec, True))
            if plan.host_patch is not None:
                with engine_call("updating power management", obj=what):
                    host_service.update(plan.host_patch)
        settings = host_settings(plan.host)
        settings.update({k: getattr(spec, k) for k in HOST_FIELDS if getattr(spec, k) is not None})
        kept = len(agents) - len(plan.remove) + len(plan.add)
        if settings["enabled"] and kept == 0:
            warn("host %s: power management is enabled but the host has no fence agent" % spec.name)
        results.append(dict(name=spec.name, id=plan.host.id, changed=plan.changed, agents=kept,
                            agents_added=len(plan.add), agents_updated=len(plan.update),
                            agents_removed=len(plan.remove), **settings))
    return results
