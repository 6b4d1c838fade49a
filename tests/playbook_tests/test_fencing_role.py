"""The ovirt_ha.core.fencing role through playbooks/configure_fencing.yml, against the lab (real SDK over HTTPS,
real IPMI over UDP): check mode, apply, re-apply, bad input, and a BMC password that changed after it was stored.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_fencing_role.py
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml

from tests.lab.playbook import PlaybookRun, run_playbook
from tests.lab.testing import LabHandle, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("lab")), hosts=3, vms=6) as handle:
        yield handle


def run(lab: LabHandle, *args: str, inventory: Optional[str] = None) -> PlaybookRun:
    return run_playbook(lab, "configure_fencing.yml", *args, inventory=inventory)


def report(done: PlaybookRun) -> dict[str, Any]:
    """The run's report of the Default cluster (custom stat ovirt_ha_fencing)."""
    result: dict[str, Any] = done.stats("ovirt_ha_fencing")["Default"]
    return result


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
    assert checked.changed >= 1 and report(checked)["check_mode"] is True
    assert threshold(lab) == before

    applied = run(lab, *policy, "--diff")
    assert applied.returncode == 0, applied.text[-3000:]
    found = report(applied)
    assert found["changed"] is True and "more than 60% of the cluster" in found["policy_effect"]
    assert threshold(lab) == 60
    assert [(h["name"], h["pm_enabled"], h["agent_reachable"], h["power_state"], h["proxy_available"], h["ready"])
            for h in found["hosts"]] == [(f"host0{i}", True, True, "on", True, True) for i in (1, 2, 3)]
    assert found["hosts"][0]["proxies"] == ["host02", "host03"]
    bmc = lab.info["hosts"][0]["bmc"]
    assert [(a.type, a.address, a.port) for a in agents(lab)["host01"]] == [("ipmilan", bmc["address"], bmc["port"])]

    again = run(lab, *policy)
    assert again.returncode == 0 and again.changed == 0, again.text[-3000:]
    assert report(again)["changed"] is False and report(again)["restored_password"] == []
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
        assert checked.changed == 1 and report(checked)["restored_password"] == ["host03"]

        fixed = run(lab, "-e", "ovirt_ha_restore_password=true", "--diff", inventory=rotated)
        assert fixed.returncode == 0, fixed.text[-3000:]
        assert fixed.changed == 1
        found = report(fixed)
        assert found["restored_password"] == ["host03"]
        assert [h["name"] for h in found["hosts"] if h["changed"]] == ["host03"]
        assert all(h["ready"] for h in found["hosts"])

        again = run(lab, "-e", "ovirt_ha_restore_password=true", inventory=rotated)
        assert again.returncode == 0 and again.changed == 0, again.text[-3000:]
        assert report(again)["restored_password"] == []
        assert current["host03"] not in fixed.text + again.text + detected.text
    finally:
        lab.clear_faults()
    # the BMC has its first password again: store it back so the lab is as it was
    assert report(run(lab, "-e", "ovirt_ha_restore_password=true"))["restored_password"] == ["host03"]
