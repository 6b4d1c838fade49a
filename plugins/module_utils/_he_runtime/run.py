# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosted_engine_reconcile module's run: lease, read, plan, remember; release (private, may change)."""
from __future__ import annotations

import os
import time
import typing as t

from .._hosted_engine.hosted_engine_conf import HostedEngineConf
from .._hosted_engine.metadata import read_volume
from .._hosted_engine.tool import ToolError, metadata_path
from .diagnose import Memory, Policy, plan
from .store import Lease, LeaseBusy, load_memory, save_memory

POLICY_KEYS = {"liveness_timeout": float, "engine_down_grace": float, "lock_grace": float, "max_global_maintenance": float,
               "restart_stale_agents": bool, "local_restart_first": bool}


def policy_of(values: t.Mapping[str, t.Any]) -> Policy:
    unknown = sorted(set(values) - set(POLICY_KEYS))
    if unknown:
        raise ToolError("policy: unknown key(s) {0}; known: {1}".format(", ".join(unknown), ", ".join(sorted(POLICY_KEYS))))
    policy = Policy()
    for key, value in values.items():
        if value is None:
            continue
        kind = POLICY_KEYS[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise ToolError("policy.{0}: expected true or false, got {1!r}".format(key, value))
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ToolError("policy.{0}: expected a number of seconds, got {1!r}".format(key, value))
            if value < 0:
                raise ToolError("policy.{0}: expected 0 or more seconds, got {1:g}".format(key, value))
        setattr(policy, key, value)
    return policy


def inventory_of(hosts: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    found: dict[str, dict[str, t.Any]] = {}
    for index, host in enumerate(hosts):
        if not host.get("name") or not host.get("hostname"):
            raise ToolError("hosts[{0}]: expected name (the inventory host) and hostname (as its agent writes it)".format(index))
        found[str(host["hostname"])] = {"name": str(host["name"]), "reachable": bool(host.get("reachable", True))}
    return found


def _paths(params: t.Mapping[str, t.Any]) -> tuple[str, str]:
    path = params["metadata_path"]
    if not path:
        try:
            with open(params["config"], encoding="utf-8") as handle:
                conf = HostedEngineConf.parse(handle.read()).values()
        except OSError as exc:
            raise ToolError("config: cannot read {0}: {1}".format(params["config"], exc.strerror))
        path = metadata_path(conf, params["mount_root"])
    return path, params["state_dir"] or os.path.dirname(path)


def run(module: t.Any) -> None:
    params = module.params
    try:
        path, state_dir = _paths(params)
        if params["phase"] == "release":
            token = params["lease_token"] or ""
            released = Lease(state_dir, params["lease"]["holder"], 0).release(token) if token and not module.check_mode else False
            module.exit_json(changed=False, lease={"state": "released" if released else "not held"})
        policy = policy_of(params["policy"] or {})
        inventory = inventory_of(params["hosts"])
        ttl = float(params["lease"].get("ttl") or 180)
        if not 30 <= ttl <= 3600:
            raise ToolError("lease.ttl: expected 30 to 3600 seconds, got {0:g}".format(ttl))
    except ToolError as exc:
        module.fail_json(msg=str(exc))
        return
    lease = Lease(state_dir, params["lease"]["holder"], ttl)
    lease_info: dict[str, t.Any] = {"state": "not taken (check mode)"}
    if not module.check_mode:
        try:
            lease_info = dict(lease.acquire(), state="held")
        except LeaseBusy as exc:
            module.exit_json(changed=False, action=None, findings=[{"severity": "info", "kind": "lease_busy", "host": None,
                                                                    "message": str(exc)}],
                             problems=[], lease={"state": "busy", "message": str(exc)}, hosts=[], engine={})
        except OSError as exc:
            module.fail_json(msg="cannot take the run lease in {0}: {1}".format(state_dir, exc.strerror))
    try:
        volume = read_volume(path)
        memory = Memory.from_dict(load_memory(state_dir))
        result = plan(volume, memory, policy, inventory, time.time())
        if result.action is not None and result.action["operation"] == "start_engine_vm":
            result.memory.tried.append([float(result.action["host_id"]), result.now])
        elif result.action is not None and result.action["operation"] == "restart_agent":
            result.memory.restarted.append([float(result.action["host_id"]), result.now])
        if not module.check_mode:
            save_memory(state_dir, result.memory.as_dict())
    except OSError as exc:
        if not module.check_mode:
            lease.release(lease.token)
        module.fail_json(msg="cannot read the metadata volume {0} or the pass's memory in {1}: {2}"
                         .format(path, state_dir, exc.strerror))
        return
    if result.action is None and not module.check_mode:
        lease.release(lease.token)  # nothing to do under it
        lease_info["state"] = "released"
    problems = [f["message"] for f in result.findings if f["severity"] == "error" and result.action is None]
    module.exit_json(changed=False, action=result.action, findings=result.findings, problems=problems,
                     hosts=[h.as_dict() for h in result.hosts], engine=result.engine, lease=lease_info,
                     lease_token=lease.token if result.action is not None and not module.check_mode else None,
                     cluster_time=result.now)
