"""``he_reconcile``: the ha_runtime role's hosted-engine pass, as the role runs it, against the scenario's lab.

Plan with ``hosted_engine_reconcile`` on one host (the metadata volume the lab's agents write), run the planned
action with ``hosted_engine_tool`` on its host (the stand-in ``hosted-engine`` and ``systemctl`` talk to that host's
lab socket, as they do in the molecule containers), then release the lease.  Reachable means what SSH would see:
the host is powered and vdsm answers (booted, on the network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lab.testing import LabHandle
from tests.scenarios.commands import PLAYBOOK_TIMEOUT, ROOT, CommandError, write_args, yaml_value

STANDIN = ROOT / "tests" / "lab" / "standin"
TOOL_ARGS = {"start_engine_vm": {"engine_vm": "started"}, "maintenance_none": {"maintenance": "none"},
             "restart_agent": {"restart_services": True}}


def _module_argv(name: str, module_args: dict[str, Any], args_path: str) -> list[str]:
    write_args(args_path, module_args)
    return [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "plugins" / "modules" / f"{name}.py"), args_path]


def _module_env(env: dict[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT / ".build"), **(env or {}))


def _module(name: str, module_args: dict[str, Any], work_dir: str, env: dict[str, str]) -> dict[str, Any]:
    argv = _module_argv(name, module_args, os.path.join(work_dir, f"{name}-args.json"))
    done = subprocess.run(argv, env=_module_env(env), cwd=work_dir, capture_output=True, text=True,
                          timeout=PLAYBOOK_TIMEOUT, check=False)
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise CommandError(f"{name}: no JSON (exit {done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}") from exc
    return result


def _start_module(name: str, module_args: dict[str, Any], work_dir: str, tag: str) -> subprocess.Popen:
    argv = _module_argv(name, module_args, os.path.join(work_dir, f"{name}-{tag}-args.json"))
    return subprocess.Popen(argv, env=_module_env(), cwd=work_dir,  # pylint: disable=consider-using-with
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _hosts(lab: LabHandle) -> list[dict[str, Any]]:
    state = lab.state()
    he = {h["name"]: h for h in lab.info["hosted_engine"]["hosts"]}
    return [{"name": h["name"], "hostname": he[h["name"]]["address"], "reachable": bool(h["power_on"] and h["responsive"])}
            for h in state["hosts"] if h["name"] in he]


def host_env(lab: LabHandle, name: str, work_dir: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A simulated host's hosted-engine.conf (its host id) and the environment of its stand-in commands."""
    he = next(h for h in lab.info["hosted_engine"]["hosts"] if h["name"] == name)
    root = Path(work_dir) / "hosts" / name
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "hosted-engine.conf"
    conf.write_text(f"host_id={he['host_id']}\nsdUUID={lab.info['hosted_engine']['storage_domain_id']}\n", encoding="utf-8")
    commands = {}
    for name, script in (("hosted-engine", "hosted_engine_cli.py"), ("systemctl", "systemctl_cli.py")):
        wrapper = root / name  # what a host has on its PATH: an executable that runs the stand-in
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN / script} "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        commands[name] = str(wrapper)
    args = {"config": str(conf), "metadata_path": lab.info["hosted_engine"]["metadata_volume"],
            "command": commands["hosted-engine"], "systemctl": commands["systemctl"], "wait": False}
    return args, {"HE_STANDIN_SOCKET": os.path.join(he["socket_dir"], "lab.sock")}


def he_reconcile(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    """``he_reconcile [--check] [policy.KEY=VALUE ...]``"""
    check, policy = False, {}
    for word in args:
        if word == "--check":
            check = True
        elif word.startswith("policy.") and "=" in word:
            key, value = word[len("policy."):].split("=", 1)
            policy[key] = yaml_value(value)
        else:
            raise CommandError(f"he_reconcile: unknown argument {word!r}")
    if not lab.info.get("hosted_engine"):
        raise CommandError("he_reconcile needs a hosted-engine lab (hosted_engine: true in lab.yml)")
    metadata = lab.info["hosted_engine"]["metadata_volume"]
    common = {"metadata_path": metadata, "lease": {"holder": "scenario"}, "_ansible_check_mode": check}
    planned = _module("hosted_engine_reconcile", dict(common, hosts=_hosts(lab), policy=policy), work_dir, {})
    name = " ".join(["he_reconcile", *args])
    if planned.get("failed"):
        return [f"{name}: failed: {planned.get('msg')}"]
    lines = [f"{name}: {f['severity']} {f['kind']}" + (f" ({f['host']})" if f["host"] else "") for f in planned["findings"]]
    action = planned["action"]
    if action is None:
        return lines + [f"{name}: nothing to do" + ("; problems" if planned["problems"] else "")]
    if check:
        return lines + [f"{name}: would {action['operation']} on {action['host']}"]
    tool_args, env = host_env(lab, action["host"], work_dir)
    done = _module("hosted_engine_tool", dict(tool_args, **TOOL_ARGS[action["operation"]]), work_dir, env)
    outcome = f"failed: {done.get('msg')}" if done.get("failed") else ("done" if done.get("changed") else "no change")
    _module("hosted_engine_reconcile", dict(common, phase="release", lease_token=planned["lease_token"]), work_dir, {})
    return lines + [f"{name}: {action['operation']} on {action['host']}: {outcome}"]


def he_reconcile_race(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    """``he_reconcile_race N``: N passes planned at the same instant (two schedulers, a cron job and an AWX schedule);
    each that got the lease does its action. What must hold: one lease, at most one action."""
    count = int(args[0]) if args and args[0].isdigit() else 2
    metadata = lab.info["hosted_engine"]["metadata_volume"]
    common = {"metadata_path": metadata, "hosts": _hosts(lab), "policy": {}, "_ansible_check_mode": False}
    procs = [_start_module("hosted_engine_reconcile", dict(common, lease={"holder": f"pass-{i}"}), work_dir, str(i))
             for i in range(count)]
    plans = [json.loads(proc.communicate(timeout=PLAYBOOK_TIMEOUT)[0]) for proc in procs]
    held = [p for p in plans if p["lease"]["state"] == "held"]
    done = 0
    for planned in held:
        action = planned["action"]
        tool_args, env = host_env(lab, action["host"], work_dir)
        result = _module("hosted_engine_tool", dict(tool_args, **TOOL_ARGS[action["operation"]]), work_dir, env)
        done += 1 if result.get("changed") else 0
        _module("hosted_engine_reconcile", {"metadata_path": metadata, "phase": "release", "lease_token": planned["lease_token"]},
                work_dir, {})
    # a pass with nothing to do gives the lease back at once, so how many found it busy depends on scheduling
    return [f"he_reconcile_race {count}: {len(held)} kept the lease for an action; actions done {done}"]
