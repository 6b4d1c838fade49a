"""The scenario harness: one directory per HA case, run on the lab's virtual clock, its journal compared line by line.

A scenario (``tests/scenarios/NNN-short-name/``) holds:

- ``README.md``: what it shows and why it matters;
- ``lab.yml``: the lab's initial shape (a layout, see ``tests/lab/builder.py``), plus ``end`` (lab seconds to run);
- ``steps.yml``: a list of steps, each at a lab time ``at`` (seconds): ``fault`` (with ``target``, ``value``),
  ``clear_faults``, ``engine_ha`` (switches), ``operator`` (what an administrator does through the real SDK, see
  ``operator.py``), ``run`` (a command of the collection, see ``commands.py``), ``expect`` (the state of hosts and
  VMs, in the engine's view and in the truth, and the violations recorded since the last ``expect``);
- ``expected.log``: the lab's journal over virtual time (engine events, power, qemu processes, leases, faults,
  violations, steps).  ``--update`` rewrites it, so a reviewer sees a change of behaviour as a diff.

The lab records violations; a scenario fails on any it did not list in an ``expect`` step.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from tests.lab.testing import LabHandle, running_lab
from tests.scenarios import commands, operator

ROOT = Path(__file__).resolve().parent
STEP_KEYS = ("at", "fault", "target", "value", "clear_faults", "engine_ha", "operator", "run", "expect", "note", "every", "until")
MAX_REPEATS = 1000
MAX_END = 7 * 24 * 3600


class ScenarioError(AssertionError):
    """The scenario is malformed, or it did not go as written (an expectation failed, the log differs)."""


@dataclass
class Scenario:
    path: Path
    layout: dict[str, Any]
    steps: list[dict[str, Any]]
    end: float
    expected: Optional[list[str]] = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def discover(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name[:3].isdigit() and (p / "steps.yml").exists())


def load(path: Path) -> Scenario:
    for required in ("README.md", "lab.yml", "steps.yml"):
        if not (path / required).exists():
            raise ScenarioError(f"{path.name}: missing {required}")
    layout = yaml.safe_load((path / "lab.yml").read_text(encoding="utf-8")) or {}
    steps = yaml.safe_load((path / "steps.yml").read_text(encoding="utf-8")) or []
    if not isinstance(steps, list):
        raise ScenarioError(f"{path.name}/steps.yml: expected a list of steps")
    last = 0.0
    for index, step in enumerate(steps):
        where = f"{path.name}/steps.yml[{index}]"
        if not isinstance(step, dict) or "at" not in step:
            raise ScenarioError(f"{where}: each step is a mapping with 'at' (lab seconds)")
        unknown = sorted(set(step) - set(STEP_KEYS))
        if unknown:
            raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(STEP_KEYS)}")
        if float(step["at"]) < last:
            raise ScenarioError(f"{where}: 'at' {step['at']} is before the previous step ({last})")
        last = float(step["at"])
    steps = expand(path.name, steps)
    last = max([last] + [float(s["at"]) for s in steps])
    end = float(layout.pop("end", last))
    if not last <= end <= MAX_END:
        raise ScenarioError(f"{path.name}/lab.yml: end {end} must be after the last step ({last}) and at most {MAX_END}")
    expected_path = path / "expected.log"
    expected = expected_path.read_text(encoding="utf-8").splitlines() if expected_path.exists() else None
    return Scenario(path, layout, steps, end, expected)


def expand(name: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A step with ``every: S`` and ``until: T`` repeats at at, at+S, ... <= T (a reconciler on a schedule);
    steps at the same time keep their order in the file."""
    out: list[tuple[float, int, dict[str, Any]]] = []
    for index, step in enumerate(steps):
        if "every" not in step:
            out.append((float(step["at"]), index, step))
            continue
        every, until = float(step["every"]), float(step.get("until", step["at"]))
        if every <= 0 or (until - float(step["at"])) / every > MAX_REPEATS:
            raise ScenarioError(f"{name}/steps.yml[{index}]: every must be > 0 and repeat at most {MAX_REPEATS} times")
        when = float(step["at"])
        while when <= until:
            repeated = {k: v for k, v in step.items() if k not in ("every", "until")}
            repeated["at"] = when
            out.append((when, index, repeated))
            when += every
    return [step for _when, _index, step in sorted(out, key=lambda item: (item[0], item[1]))]


def run(scenario: Scenario, work_dir: str) -> list[str]:
    """Run the scenario on a fresh lab; returns the journal's lines."""
    layout_path = os.path.join(work_dir, "lab.yml")
    with open(layout_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(scenario.layout, handle)
    state_dir = os.path.join(work_dir, "lab")
    with running_lab(state_dir, virtual_clock=True, layout=layout_path) as lab:
        try:
            for step in scenario.steps:
                _goto(lab, float(step["at"]))
                _do(lab, scenario, step, work_dir)
        except ScenarioError as exc:
            journal = "\n".join(entry["line"] for entry in lab.journal())
            raise ScenarioError(f"{exc}\n-- the lab's journal until then:\n{journal}") from exc
        _goto(lab, scenario.end)
        lines = [entry["line"] for entry in lab.journal()]
        lab.check_violations()
    return lines


def _goto(lab: LabHandle, when: float) -> None:
    now = float(lab.state()["clock"]["now"])
    if when > now:
        lab.step(when - now)


def _note(lab: LabHandle, text: str) -> None:
    lab._call("POST", "/journal", {"source": "step", "text": text})  # pylint: disable=protected-access


def _do(lab: LabHandle, scenario: Scenario, step: dict[str, Any], work_dir: str) -> None:
    if "note" in step:
        _note(lab, str(step["note"]))
    if "engine_ha" in step:
        lab.engine_ha(**step["engine_ha"])
        _note(lab, "engine HA switches: " + ", ".join(f"{k}={'on' if v else 'off'}" for k, v in sorted(step["engine_ha"].items())))
    if step.get("clear_faults"):
        # true: every fault; a fault kind: only that one
        lab.clear_faults(None if step["clear_faults"] is True else str(step["clear_faults"]))
    if "fault" in step:
        lab.fault(str(step["fault"]), step.get("target"), step.get("value"))
    if "operator" in step:
        _note(lab, f"operator: {step['operator']}")
        outcome = operator.act(lab, str(step["operator"]))
        if outcome:
            _note(lab, f"operator: {outcome}")
    if "run" in step:
        for line in commands.run(lab, step["run"], work_dir):
            _note(lab, line)
    if "expect" in step:
        expect(lab, scenario, step["expect"])


def expect(lab: LabHandle, scenario: Scenario, wanted: dict[str, Any]) -> None:
    """Compare the engine's view and the truth with what the step expects; violations since the last check."""
    state = lab.state()
    truth = lab.truth()
    hosts = {h["name"]: h for h in state["hosts"]}
    vms = {v["name"]: v for v in state["vms"] or []}
    if state.get("hosted_engine_vm"):
        vms["HostedEngine"] = {"name": "HostedEngine", **state["hosted_engine_vm"],
                               "running_on": truth["running"].get("HostedEngine", [])}
    problems = []
    checked = []
    for name, fields in wanted.items():
        if name == "violations":
            kinds = list(fields or [])
            try:
                lab.expect_violations(*kinds)
            except AssertionError as exc:
                problems.append(str(exc))
            checked.append("violations " + (", ".join(kinds) if kinds else "none"))
            continue
        actual = hosts.get(name) or vms.get(name)
        if actual is None:
            problems.append(f"no host or VM {name!r}")
            continue
        for key, value in fields.items():
            seen = _field(actual, key, truth)
            if seen != value:
                problems.append(f"{name}.{key}: expected {value!r}, lab has {seen!r}")
            checked.append(f"{name}.{key}={value}")
    if problems:
        raise ScenarioError(f"{scenario.name}: at {state['clock']['now']:.0f} s:\n  " + "\n  ".join(problems))
    _note(lab, "expect ok: " + "; ".join(checked))


def _field(actual: dict[str, Any], key: str, truth: dict[str, Any]) -> Any:
    if key == "running_on":
        return truth["running"].get(actual["name"], [])
    if key == "power":
        return "on" if actual.get("power_on") else "off"
    if key == "score":
        return (actual.get("hosted_engine") or {}).get("score")
    if key == "he_state":
        return (actual.get("hosted_engine") or {}).get("state")
    return actual.get(key)


def compare(scenario: Scenario, lines: list[str], update: bool = False) -> None:
    """Raise with a readable diff when the journal differs from expected.log; with ``update``, rewrite it."""
    if update:
        (scenario.path / "expected.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    if scenario.expected is None:
        raise ScenarioError(f"{scenario.name}: no expected.log yet; run `python -m tests.scenarios --update {scenario.name}`")
    if lines != scenario.expected:
        diff = difflib.unified_diff(scenario.expected, lines, f"{scenario.name}/expected.log", "this run", lineterm="", n=2)
        raise ScenarioError(f"{scenario.name}: the lab's journal differs from expected.log "
                            f"(if the change is intended: python -m tests.scenarios --update {scenario.name}):\n" + "\n".join(diff))
