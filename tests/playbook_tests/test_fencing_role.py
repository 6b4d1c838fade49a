"""The ovirt_ha.core.fencing role through playbooks/configure_fencing.yml, against the lab (real SDK over HTTPS,
real IPMI over UDP): check mode, apply, re-apply, bad input, and a BMC password that changed after it was stored.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_fencing_role.py
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("lab")), hosts=3, vms=6) as handle:
        yield handle


class Run:
    """One ansible-playbook run: its recap, custom stats (set_stats, as AWX keeps them) and failure messages."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.returncode = done.returncode
        self.stdout = done.stdout
        self.text = done.stdout + done.stderr

    @property
    def changed(self) -> int:
        counts = re.findall(r"changed=(\d+)", self.stdout)
        assert counts, self.text[-3000:]
        return sum(int(n) for n in counts)

    @property
    def report(self) -> dict[str, Any]:
        found = re.search(r"^\tRUN: (.*)$", self.stdout, re.M)
        assert found, self.text[-3000:]
        report: dict[str, Any] = json.loads(found.group(1))["ovirt_ha_fencing"]["Default"]
        return report

    def failures(self) -> list[str]:
        return [str(json.loads(line.split(" => ", 1)[1]).get("msg")) for line in self.stdout.splitlines()
                if "FAILED! => {" in line]


def run(lab: LabHandle, *args: str, inventory: Optional[str] = None) -> Run:
    engine = lab.info["engine"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_SHOW_CUSTOM_STATS="true",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"),
               OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
               OVIRT_CAFILE=engine["ca_file"])
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"),
               "-i", inventory or os.path.join(lab.state_dir, "inventory.yml"),
               str(ROOT / "playbooks" / "configure_fencing.yml"), *args]
    done = subprocess.run(command, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300, check=False)
    return Run(done)


def agents(lab: LabHandle) -> dict[str, list[Any]]:
    connection = lab.connection()
    try:
        hosts = connection.system_service().hosts_service()
        return {h.name: hosts.host_service(h.id).fence_agents_service().list() for h in hosts.list()}
    finally:
        connection.close()


def threshold(lab: LabHandle) -> int:
    connection = lab.connection()
    try:
        cluster = connection.system_service().clusters_service().list(search="name=Default")[0]
        return int(cluster.fencing_policy.skip_if_connectivity_broken.threshold)
    finally:
        connection.close()


def inventory_with(lab: LabHandle, tmp_path: Path, host: str, **bmc: Any) -> str:
    """A copy of the lab's inventory (mode 0600) with some BMC variables of one host changed (None removes one)."""
    inventory = yaml.safe_load(Path(lab.state_dir, "inventory.yml").read_text())
    hostvars = inventory["all"]["children"]["ovirt_hosts"]["hosts"][host]
    for key, value in bmc.items():
        if value is None:
            hostvars.pop(key, None)
        else:
            hostvars[key] = value
    path = tmp_path / "inventory.yml"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def test_check_mode_changes_nothing_then_apply_then_reapply_changes_nothing(lab: LabHandle) -> None:
    policy = ("-e", '{"ovirt_ha_fencing_policy": {"connectivity_broken_threshold": 60}}')
    before = threshold(lab)
    assert before != 60
    checked = run(lab, *policy, "--check", "--diff")
    assert checked.returncode == 0, checked.text[-3000:]
    assert checked.changed >= 1 and checked.report["check_mode"] is True
    assert threshold(lab) == before

    applied = run(lab, *policy, "--diff")
    assert applied.returncode == 0, applied.text[-3000:]
    report = applied.report
    assert report["changed"] is True and "more than 60% of the cluster" in report["policy_effect"]
    assert threshold(lab) == 60
    assert [(h["name"], h["pm_enabled"], h["agent_reachable"], h["power_state"], h["proxy_available"], h["ready"])
            for h in report["hosts"]] == [(f"host0{i}", True, True, "on", True, True) for i in (1, 2, 3)]
    assert report["hosts"][0]["proxies"] == ["host02", "host03"]
    bmc = lab.info["hosts"][0]["bmc"]
    assert [(a.type, a.address, a.port) for a in agents(lab)["host01"]] == [("ipmilan", bmc["address"], bmc["port"])]

    again = run(lab, *policy)
    assert again.returncode == 0 and again.changed == 0, again.text[-3000:]
    assert again.report["changed"] is False and again.report["restored_password"] == []
    for secret in [lab.info["engine"]["password"]] + [h["bmc"]["password"] for h in lab.info["hosts"]]:
        assert secret not in applied.text + again.text
    assert run(lab).returncode == 0 and threshold(lab) == 50


@pytest.mark.parametrize("extra, named", [
    ('{"ovirt_ha_fencing_policy": {"connectivity_broken_threshold": 150}}', "fencing_policy.connectivity_broken_threshold"),
    ('{"ovirt_ha_fencing_policy": {"skip_if_sd_activ": true}}', "fencing_policy.skip_if_sd_activ is not an option"),
    ('{"ovirt_ha_pm_proxies": ["cluster", "everywhere"]}', "fencing_pm_proxies"),
    ('{"ovirt_ha_fencing_group": "no_such_group"}', "fencing_group: the inventory has no host in group no_such_group"),
    ('{"ovirt_ha_cluster": "NoSuchCluster"}', "NoSuchCluster"),
])
def test_bad_input_fails_in_preflight_naming_the_variable_and_changes_nothing(lab: LabHandle, extra: str, named: str) -> None:
    before = threshold(lab)
    done = run(lab, "-e", extra)
    assert done.returncode != 0
    assert any(named in failure for failure in done.failures()), done.failures()
    assert done.changed == 0
    assert threshold(lab) == before


def test_a_host_without_its_bmc_password_fails_in_preflight_naming_it(lab: LabHandle, tmp_path: Path) -> None:
    done = run(lab, "-e", '{"ovirt_ha_fencing_policy": {"connectivity_broken_threshold": 70}}',
               inventory=inventory_with(lab, tmp_path, "host02", bmc_password=None))
    assert done.returncode != 0
    assert any("host02: bmc_password" in failure for failure in done.failures()), done.failures()
    assert threshold(lab) != 70


def test_verify_detects_a_stale_engine_password_and_the_restore_fixes_only_that_host(lab: LabHandle, tmp_path: Path) -> None:
    assert run(lab).returncode == 0  # the inventory's settings stored (unchanged when the first test ran)
    lab.fault("bmc_wrong_password", "host03")
    try:
        current = {b["name"]: b["password"] for b in lab._call("GET", "/bmcs")["bmcs"]}  # pylint: disable=protected-access
        rotated = inventory_with(lab, tmp_path, "host03", bmc_password=current["host03"])

        detected = run(lab, inventory=rotated)
        assert detected.returncode != 0
        failure = " ".join(detected.failures())
        assert "cannot read the power status of host03 " in failure and "host01" not in failure, failure
        assert "fencing_restore_password=true" in failure
        assert detected.changed == 0

        checked = run(lab, "--check", "-e", "ovirt_ha_restore_password=true", inventory=rotated)
        assert checked.returncode == 0, checked.text[-3000:]
        assert checked.changed == 1 and checked.report["restored_password"] == ["host03"]

        fixed = run(lab, "-e", "ovirt_ha_restore_password=true", "--diff", inventory=rotated)
        assert fixed.returncode == 0, fixed.text[-3000:]
        assert fixed.changed == 1
        report = fixed.report
        assert report["restored_password"] == ["host03"]
        assert [h["name"] for h in report["hosts"] if h["changed"]] == ["host03"]
        assert all(h["ready"] for h in report["hosts"])

        again = run(lab, "-e", "ovirt_ha_restore_password=true", inventory=rotated)
        assert again.returncode == 0 and again.changed == 0, again.text[-3000:]
        assert again.report["restored_password"] == []
        assert current["host03"] not in fixed.text + again.text + detected.text
    finally:
        lab.clear_faults()
    # the BMC has its first password again: store it back so the lab is as it was
    assert run(lab, "-e", "ovirt_ha_restore_password=true").report["restored_password"] == ["host03"]
