"""The chaos runner in make test: a reduced count (the full 100 runs are in make bench, tests/benchmarks/bench_chaos.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.chaos.runner import one_run
from tests.chaos.summary import summarize

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_random_faults_with_the_reconciler_every_30_s_record_no_violation(tmp_path: Path) -> None:
    results = [one_run(index, 11, str(tmp_path), 900.0, 30.0, True) for index in range(2)]
    summary = summarize(results, argparse.Namespace(seed=11, duration=900.0, engine_ha="on", command="reconcile", every=30.0), 0.0)
    assert summary["violations"] == []
    assert summary["runs"] == 2 and sum(summary["faults"].values()) >= 4
    assert summary["reconciler"]["runs"] >= 2 * 900 // 30


def test_with_the_engines_ha_off_and_nothing_acting_the_lost_vm_is_reported_unrecovered(tmp_path: Path) -> None:
    shape = {"engine_uptime": 600, "hosts": [{"name": "host01"}, {"name": "host02"}, {"name": "host03"}],
             "vms": [{"name": "web", "host": "host02", "ha": True, "priority": 100}]}
    faults = [{"at": 60.0, "kind": "host_power_loss", "target": "host02", "until": None, "value": None}]
    result = one_run(0, 1, str(tmp_path), 300.0, None, False, shape=shape, faults=faults)
    # the run ends on its bound: the fault is cleared at the end of the faults window, host02 boots, and its HA VM
    # is still down (nobody restarts it) when the run's settle time is over
    assert result.unrecovered == ["web"]
    assert [(s.vm, s.start, s.end, s.cause) for s in result.spells] == [("web", 60.0, None, "host_power_loss")]
    assert result.violations == []


def test_with_the_engines_ha_on_the_same_loss_is_recovered_and_measured(tmp_path: Path) -> None:
    shape = {"engine_uptime": 600, "hosts": [{"name": "host01"}, {"name": "host02"}, {"name": "host03"}],
             "vms": [{"name": "web", "host": "host02", "ha": True, "priority": 100}]}
    faults = [{"at": 60.0, "kind": "host_power_loss", "target": "host02", "until": None, "value": None}]
    result = one_run(0, 1, str(tmp_path), 300.0, None, True, shape=shape, faults=faults)
    [spell] = result.spells
    assert spell.cause == "host_power_loss" and spell.end is not None and 60 < spell.end - spell.start < 120
    assert result.unrecovered == []
