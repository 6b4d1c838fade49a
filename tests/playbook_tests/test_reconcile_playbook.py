"""playbooks/reconcile.yml as users run it: two engines in one inventory, repaired in one run, each under its own
lease, each with its JSON report; and a run that cannot repair fails, saying why, with its report written anyway."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.lab, pytest.mark.slow]
LAYOUT = {"engine_uptime": 600, "hosts": [{"name": "host01"}, {"name": "host02", "power_management": False}, {"name": "host03"}],
          "vms": [{"name": "web", "host": "host02", "ha": True, "priority": 100}]}


@pytest.fixture()
def labs(tmp_path: Path) -> Iterator[list[LabHandle]]:
    layout = tmp_path / "lab.yml"
    layout.write_text(yaml.safe_dump(LAYOUT))
    with running_lab(str(tmp_path / "a"), virtual_clock=True, layout=str(layout)) as first:
        with running_lab(str(tmp_path / "b"), virtual_clock=True, layout=str(layout)) as second:
            yield [first, second]


def inventory(labs: list[LabHandle], tmp_path: Path, report_dir: Path) -> Path:
    """One reconcile target per engine (its auth, its BMC group, its report), and each engine's hosts with their BMCs."""
    groups: dict[str, Any] = {"reconcile_targets": {"hosts": {}}}
    for index, lab in enumerate(labs):
        engine = lab.info["engine"]
        group = f"engine{index}_hosts"
        groups["reconcile_targets"]["hosts"][f"engine{index}"] = {
            "ansible_connection": "local", "ovirt_ha_bmc_group": group, "ovirt_ha_report_path": str(report_dir / f"engine{index}.json"),
            "ovirt_ha_auth": {"url": engine["url"], "username": engine["username"], "password": engine["password"], "ca_file": engine["ca_file"]},
            "ovirt_ha_lease_holder": f"controller-{index}"}
        members = {}
        for host in lab.info["hosts"]:
            if host["bmc"]:
                members[f"e{index}-{host['name']}"] = {
                    "ovirt_host_name": host["name"], "bmc_address": host["bmc"]["address"], "bmc_port": host["bmc"]["port"],
                    "bmc_username": host["bmc"]["username"], "bmc_password": host["bmc"]["password"], "ansible_connection": "local"}
        groups[group] = {"hosts": members}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": groups}}))
    os.chmod(path, 0o600)
    return path


def run(inventory_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"))
    for key in ("OVIRT_URL", "OVIRT_USERNAME", "OVIRT_PASSWORD", "OVIRT_CAFILE"):
        env.pop(key, None)
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory_path), str(ROOT / "playbooks" / "reconcile.yml"),
               "-e", "ovirt_ha_reconcile_targets=reconcile_targets", "--forks", "2", *args]
    return subprocess.run(command, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=600, check=False)


def test_two_engines_are_repaired_in_one_run_each_under_its_own_lease(labs: list[LabHandle], tmp_path: Path) -> None:
    for lab in labs:
        lab.fault("host_power_loss", "host02")
        lab.step(100)
    done = run(inventory(labs, tmp_path, tmp_path), "-e", "ovirt_ha_cluster=Default")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for index, lab in enumerate(labs):
        report = json.loads((tmp_path / f"engine{index}.json").read_text())
        assert report["ok"] is True and report["cluster"] == "Default"
        done_actions = [(a["kind"], a["target"], a["result"]) for a in report["actions"]]
        assert done_actions == [("record_outage", "host02", "done"), ("fence_host", "host02", "done")]
        assert oct((tmp_path / f"engine{index}.json").stat().st_mode & 0o777) == "0o600"
        leases = [e["text"] for e in lab.journal() if "run lease" in e["text"]]
        assert any(f"taken by controller-{index}" in text for text in leases)
        assert lab.truth()["running"]["web"] in (["host01"], ["host03"])
    # no secret in the job's output
    for lab in labs:
        assert lab.info["engine"]["password"] not in done.stdout
        assert all(h["bmc"]["password"] not in done.stdout for h in lab.info["hosts"] if h["bmc"])


def test_a_run_that_cannot_repair_fails_saying_why_and_still_writes_its_report(labs: list[LabHandle], tmp_path: Path) -> None:
    lab = labs[0]
    lab.fault("host_network_cut", "host02")  # powered on, no lease witness: the reconciler refuses
    lab.step(100)
    inventory_path = inventory(labs[:1], tmp_path, tmp_path)
    done = run(inventory_path)
    assert done.returncode == 2, done.stdout[-3000:]
    assert "is not healthy after this run" in done.stdout and "host02 is powered on and may still write to its storage" in done.stdout
    report = json.loads((tmp_path / "engine0.json").read_text())
    assert report["ok"] is False and any("storage" in p for p in report["problems"])
    assert lab.truth()["running"]["web"] == ["host02"]
