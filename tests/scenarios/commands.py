"""Commands a scenario runs (``run: playbook fence_host.yml -e ovirt_ha_fence_host=host02``): the collection's code,
as a user runs it, against the scenario's lab.  Each returns the lines it adds to the journal (outcomes, not
timings, so the journal stays deterministic)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from typing import Any

from tests.lab.playbook import PLAYBOOK_TIMEOUT, ROOT, run_playbook
from tests.lab.testing import LabHandle


class CommandError(ValueError):
    """A command the harness does not know."""


def _playbook(lab: LabHandle, args: list[str], _work_dir: str) -> list[str]:
    if not args:
        raise CommandError("run: playbook needs the playbook's name (under playbooks/)")
    done = run_playbook(lab, args[0], *args[1:])
    return [f"playbook {args[0]}: exit {done.returncode}, changed={done.changed} failed={done.failed}"]


def _reconcile(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    """``reconcile [--check] [--as NAME] [--no-bmc HOST] [policy.KEY=VALUE ...]``: one pass of the ha_reconcile module,
    run the way Ansible runs a module (its file with an arguments file), against the lab's engine and BMCs."""
    result = reconcile_result(lab, args, work_dir)
    name = " ".join(["reconcile", *args])
    if not result["actions"] and not result["problems"] and not result.get("check_plan"):
        return [f"{name}: nothing to do"]
    lines = [f"{name}: lease {result['lease']['state']}"]
    for action in result["actions"]:
        detail = "; ".join(part for part in [*action["steps"], action["detail"]] if part)
        lines.append(f"{name}: {action['kind']} {action['target']} {action['result']}" + (f": {detail}" if detail else ""))
    if result.get("check_plan"):
        lines += [f"{name}: would {a['kind']} {a['target']}: {a['reason']}" for a in result["plan"]["actions"]]
    lines += [f"{name}: problem: {problem}" for problem in result["problems"]]
    lines.append(f"{name}: {'failed' if result.get('failed') else 'ok'}" + (", changed" if result.get("changed") else ""))
    # BMC ports are picked at random when the lab starts: keep them out of the journal
    return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in lines]


def reconcile_args(lab: LabHandle, args: list[str]) -> dict[str, Any]:
    engine = lab.info["engine"]
    check, holder, policy, skip = False, "reconciler", {}, set()
    words = list(args)
    while words:
        word = words.pop(0)
        if word == "--check":
            check = True
        elif word == "--as":
            holder = words.pop(0)
        elif word == "--no-bmc":
            skip.add(words.pop(0))
        elif word.startswith("policy.") and "=" in word:
            key, value = word[len("policy."):].split("=", 1)
            policy[key] = yaml_value(value)
        else:
            raise CommandError(f"reconcile: unknown argument {word!r}")
    # the inventory is up to date: a rotated BMC password (fault bmc_wrong_password) is known to it, not to the engine
    bmcs = [b for b in lab._call("GET", "/bmcs")["bmcs"] if b["name"] not in skip]  # pylint: disable=protected-access
    return {"cluster": "Default", "bmcs": bmcs, "policy": policy, "lease": {"holder": holder}, "_ansible_check_mode": check,
            "auth": {"url": engine["url"], "username": engine["username"], "password": engine["password"], "ca_file": engine["ca_file"]}}


def yaml_value(text: str) -> Any:
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_load(text)


def write_args(path: str, module_args: dict[str, Any]) -> str:
    """The module's arguments file, as Ansible writes it: it holds passwords, so it is 0600 from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args}, handle)
    return path


def reconcile_result(lab: LabHandle, args: list[str], work_dir: str) -> dict[str, Any]:
    module_args = reconcile_args(lab, args)
    path = write_args(os.path.join(work_dir, "reconcile-args.json"), module_args)
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".build"))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "plugins" / "modules" / "ha_reconcile.py"), path],
                          env=env, cwd=work_dir, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise CommandError(f"reconcile: the module did not answer JSON (exit {done.returncode}): {done.stdout[-2000:]} "
                           f"{done.stderr[-2000:]}") from exc
    result.setdefault("problems", [result["msg"]] if result.get("failed") and "msg" in result else [])
    result.setdefault("actions", [])
    result.setdefault("lease", {"state": "none"})
    result["check_plan"] = module_args["_ansible_check_mode"]
    return result


def _reconcile_race(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    """``reconcile_race N [ARGS]``: N reconcilers started at the same instant (two AWX nodes, a cron job on a second
    controller); each one's outcome, in the order they were started."""
    count = int(args[0]) if args and args[0].isdigit() else 2
    rest = args[1:] if args and args[0].isdigit() else args
    procs = []
    for index in range(count):
        module_args = reconcile_args(lab, rest)
        path = write_args(os.path.join(work_dir, f"race-{index}.json"), module_args)
        procs.append(subprocess.Popen(  # pylint: disable=consider-using-with
            [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "plugins" / "modules" / "ha_reconcile.py"), path],
            env=dict(os.environ, PYTHONPATH=str(ROOT / ".build")), cwd=work_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, _err = proc.communicate(timeout=PLAYBOOK_TIMEOUT)
        results.append(json.loads(out))
    # which one wins depends on the operating system's scheduling; what must hold does not
    took = sum(1 for r in results if r["lease"]["state"] in ("held", "released", "lost"))
    fenced = sum(1 for r in results for a in r.get("actions", []) if a["kind"] == "fence_host" and a["result"] == "done")
    started = sum(1 for r in results for a in r.get("actions", []) if a["kind"] == "start_vm" and a["result"] == "done")
    return [f"reconcile_race {count}: the run lease was taken by {took} of {count}; hosts fenced {fenced}, VMs started {started}"]


COMMANDS: dict[str, Any] = {"playbook": _playbook, "reconcile": _reconcile, "reconcile_race": _reconcile_race}


def _he_reconcile(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    # he_commands imports this module: imported when first used
    from tests.scenarios.he_commands import he_reconcile  # pylint: disable=import-outside-toplevel

    return he_reconcile(lab, args, work_dir)


def _he_reconcile_race(lab: LabHandle, args: list[str], work_dir: str) -> list[str]:
    from tests.scenarios.he_commands import he_reconcile_race  # pylint: disable=import-outside-toplevel

    return he_reconcile_race(lab, args, work_dir)


COMMANDS["he_reconcile"] = _he_reconcile
COMMANDS["he_reconcile_race"] = _he_reconcile_race


def run(lab: LabHandle, command: Any, work_dir: str) -> list[str]:
    words = shlex.split(str(command))
    if not words or words[0] not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; known: {', '.join(sorted(COMMANDS))}")
    lines: list[str] = COMMANDS[words[0]](lab, words[1:], work_dir)
    return lines
