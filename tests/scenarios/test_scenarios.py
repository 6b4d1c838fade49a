"""Every scenario under tests/scenarios/ on the virtual clock: expectations hold, no unexpected violation, and the
lab's journal is exactly expected.log (set UPDATE_SCENARIOS=1, or run python -m tests.scenarios --update NAME)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scenarios import harness

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("path", harness.discover(), ids=lambda p: p.name)
def test_scenario(path: Path, tmp_path: Path) -> None:
    scenario = harness.load(path)
    lines = harness.run(scenario, str(tmp_path))
    harness.compare(scenario, lines, update=os.environ.get("UPDATE_SCENARIOS") == "1")


def test_a_changed_engine_timing_fails_a_scenario_with_a_readable_diff(tmp_path: Path) -> None:
    """The expected logs pin the engine's real timings: a shorter grace period shows up as a diff naming it."""
    scenario = harness.load(harness.ROOT / "001-host-power-loss-engine-fences")
    scenario.layout["engine_timing"] = {"grace_base": 50}
    scenario.steps = [step for step in scenario.steps if "expect" not in step]
    lines = harness.run(scenario, str(tmp_path))
    with pytest.raises(harness.ScenarioError) as failure:
        harness.compare(scenario, lines)
    diff = str(failure.value)
    assert "-     10 event     9008 host02: Host host02 is not responding. It will stay in Connecting state for a grace period of 61" in diff
    assert "+     10 event     9008 host02: Host host02 is not responding. It will stay in Connecting state for a grace period of 51" in diff
    assert "python -m tests.scenarios --update 001-host-power-loss-engine-fences" in diff


def test_a_malformed_scenario_names_the_step_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "900-bad"
    bad.mkdir()
    (bad / "README.md").write_text("bad\n")
    (bad / "lab.yml").write_text("hosts: 2\n")
    (bad / "steps.yml").write_text("- at: 10\n  falt: host_power_loss\n")
    with pytest.raises(harness.ScenarioError, match=r"900-bad/steps.yml\[0\]: unknown key\(s\) falt"):
        harness.load(bad)
