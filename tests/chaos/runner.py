"""One chaos run: a random lab, random faults over lab time, optionally the reconciler on a schedule, and the
measurements (violations, and for each HA VM every spell without a serving copy, attributed to the fault behind it).

"Serving" is the truth, not the engine's view: a qemu process of the VM runs on a host that reaches the VM's
storage. A VM on a host whose management network is down still serves; one on a host whose every network is cut
does not (its disks are gone), whatever the engine says.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / ".build") not in sys.path:
    sys.path.insert(0, str(ROOT / ".build"))

# fault kind: (weight, shortest, longest duration in lab seconds; None: until the end of the run)
FAULTS: dict[str, tuple[int, int, Optional[int]]] = {
    "host_power_loss": (5, 120, 900),
    "host_network_cut": (4, 60, 900),
    "mgmt_bridge_down": (3, 60, 900),
    "vdsm_hung": (2, 30, 600),
    "host_network_blip": (2, 10, 40),
    "host_power_and_bmc_loss": (1, 120, 900),
    "bmc_unreachable": (1, 60, 900),
    "bmc_stuck_power": (1, 60, 900),
    "storage_domain_down": (1, 30, 200),
    "engine_api_500": (1, 10, 60),
}
HOST_KINDS = {k for k in FAULTS if k not in ("storage_domain_down", "engine_api_500")}
STEP = 5.0
SETTLE = 600.0


@dataclass
class Spell:
    vm: str
    start: float
    end: Optional[float]
    cause: str


@dataclass
class RunResult:
    index: int
    seed: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    spells: list[Spell] = field(default_factory=list)
    reconciler_runs: int = 0
    reconciler_failures: int = 0
    unrecovered: list[str] = field(default_factory=list)


def layout(rng: random.Random) -> dict[str, Any]:
    hosts = [{"name": f"host{i:02d}", "power_management": rng.random() < 0.5} for i in range(1, rng.randint(4, 6) + 1)]
    names = [h["name"] for h in hosts]
    vms = []
    for index in range(1, rng.randint(8, 12) + 1):
        vm: dict[str, Any] = {"name": f"vm{index:02d}", "host": rng.choice(names)}
        if rng.random() < 0.7:
            vm.update(ha=True, priority=rng.choice([1, 50, 100]))
            if rng.random() < 0.4:
                vm["lease"] = "data"
        vms.append(vm)
    # the fencing policy playbooks/configure_fencing.yml sets: the engine does not fence a host with a live lease
    return {"engine_uptime": 600, "hosts": hosts, "vms": vms,
            "cluster": {"fencing_policy": {"enabled": True, "skip_if_sd_active": True, "skip_if_connectivity_broken": True, "threshold": 50}}}


def _tick(when: float) -> float:
    """Lab times on the runner's step grid (faults happen between steps)."""
    return float(int(when // STEP) * STEP)


def schedule(rng: random.Random, hosts: list[str], duration: float) -> list[dict[str, Any]]:
    """Faults at random times, at most two at once, each of a kind not already active."""
    events: list[dict[str, Any]] = []
    when = rng.uniform(30, 120)
    kinds, weights = zip(*((k, w) for k, (w, _lo, _hi) in FAULTS.items()))
    while when < duration - 300:
        kind = rng.choices(kinds, weights)[0]
        _weight, shortest, longest = FAULTS[kind]
        length = None if longest is None else rng.uniform(shortest, longest)
        active = [e for e in events if e["at"] <= when < (e["until"] if e["until"] is not None else float("inf"))]
        if len(active) < 2 and kind not in {e["kind"] for e in active}:
            target = rng.choice(hosts) if kind in HOST_KINDS else None
            if target is None or target not in {e["target"] for e in active}:
                events.append({"at": _tick(when), "kind": kind, "target": target,
                               "until": None if length is None else _tick(when + length),
                               "value": round(rng.uniform(10, 40)) if kind == "host_network_blip" else None})
        when += rng.uniform(60, 200)
    return events


class Reconciler:
    """The reconciler's module code, run in-process against the lab (the real SDK over HTTPS, the real BMCs)."""

    def __init__(self, lab: LabHandle) -> None:
        from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.options import build_request  # pylint: disable=import-outside-toplevel

        bmcs = [dict(b) for b in lab._call("GET", "/bmcs")["bmcs"]]  # pylint: disable=protected-access
        params = {"cluster": "Default", "bmcs": bmcs, "policy": {"confirm_timeout": 10}, "lease": {"holder": "chaos"},
                  "event_window": 2000, "bmc_port": 623, "bmc_username": None, "bmc_password": None, "bmc_timeout": 5}
        self.request, self.order = build_request(params, False)
        self.lab = lab

    def run(self) -> bool:
        from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import EngineError  # pylint: disable=import-outside-toplevel
        from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.reconcile import reconcile  # pylint: disable=import-outside-toplevel

        try:
            connection = self.lab.connection(timeout=30)
        except Exception:  # pylint: disable=broad-exception-caught
            return False
        try:
            result = reconcile(connection.system_service(), self.request, self.order)
            return not result["problems"]
        except EngineError:
            return False  # the engine is down or failing: the run changed nothing, as designed
        except Exception:  # pylint: disable=broad-exception-caught
            return False
        finally:
            try:
                connection.close()
            except Exception:  # pylint: disable=broad-exception-caught
                pass


def serving(truth: dict[str, Any], state: dict[str, Any]) -> set[str]:
    """HA VMs with a copy that runs on a host reaching the storage (the truth's view)."""
    hosts = truth["hosts"]
    domains = {d["name"]: d["status"] for d in state["storage_domains"]}
    data_up = domains.get("data") == "active"
    out = set()
    for vm, running in truth["running"].items():
        if data_up and any(hosts[h]["storage_lease_alive"] for h in running if h in hosts):
            out.add(vm)
    return out


def one_run(index: int, seed: int, work: str, duration: float, every: Optional[float], engine_ha: bool,
            shape: Optional[dict[str, Any]] = None, faults: Optional[list[dict[str, Any]]] = None) -> RunResult:
    """One run; ``shape`` and ``faults`` replace the seeded random ones (a test that needs a given story)."""
    rng = random.Random(seed * 100003 + index)
    shape = shape if shape is not None else layout(rng)
    hosts = [h["name"] for h in shape["hosts"]]
    if not engine_ha:
        shape["engine_ha"] = {"power_fence": False, "soft_fence": False, "ha_restart": False, "lease_restart": False}
    faults = faults if faults is not None else schedule(rng, hosts, duration)
    path = os.path.join(work, f"chaos-{index}.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(shape, handle)
    result = RunResult(index, seed, faults=faults)
    ha_vms = {v["name"]: v["host"] for v in shape["vms"] if v.get("ha")}
    with running_lab(os.path.join(work, f"lab-{index}"), virtual_clock=True, layout=path) as lab:
        reconciler = Reconciler(lab) if every else None
        down_since: dict[str, tuple[float, str]] = {}
        active: dict[tuple[str, Optional[str]], float] = {}
        next_run = every or 0.0
        now = 0.0
        end = duration + SETTLE
        while now < end:
            for fault in faults:
                if fault["at"] == now:
                    lab.fault(fault["kind"], fault["target"], fault["value"])
                    active[(fault["kind"], fault["target"])] = now
                if fault["until"] is not None and fault["until"] == now:
                    lab.clear_faults(fault["kind"])
                    active.pop((fault["kind"], fault["target"]), None)
            if now == duration:
                lab.clear_faults()
                active.clear()
            if reconciler is not None and now >= next_run:
                result.reconciler_runs += 1
                result.reconciler_failures += 0 if reconciler.run() else 1
                next_run += every or 0.0
            state, truth = lab.state(), lab.truth()
            up = serving(truth, state)
            placed = {v["name"]: v["host"] for v in state["vms"] or []}
            for vm in ha_vms:
                if vm not in up and vm not in down_since:
                    down_since[vm] = (now, cause(active, placed.get(vm) or ha_vms[vm], truth["running"].get(vm, [])))
                elif vm in up and vm in down_since:
                    start, why = down_since.pop(vm)
                    result.spells.append(Spell(vm, start, now, why))
            lab.step(STEP)
            now += STEP
        for vm, (start, why) in down_since.items():
            result.spells.append(Spell(vm, start, None, why))
            result.unrecovered.append(vm)
        result.violations = lab.violations()
        lab.accounted = result.violations[-1]["id"] if result.violations else 0
    return result


def cause(active: dict[tuple[str, Optional[str]], float], host: Optional[str], running: list[str]) -> str:
    """The fault behind a VM's outage: one on its host (or a cluster-wide one), the oldest first."""
    candidates = [(t, kind) for (kind, target), t in active.items() if target is None or target == host or target in running]
    return min(candidates)[1] if candidates else "cascade"
