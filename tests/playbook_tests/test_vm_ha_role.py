"""The ovirt_ha.core.vm_ha role through playbooks/configure_vm_ha.yml, against the lab (real SDK over HTTPS):
names and patterns, priority classes, the engine's lease rule, check mode, re-apply, the down-HA-VM warning and the
capacity check.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_vm_ha_role.py
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import yaml

from tests.lab.playbook import PlaybookRun, run_playbook
from tests.lab.testing import LabHandle, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
# host01 is the largest; its two database VMs (48 GiB) do not fit into what host02 and host03 have left (44 GiB:
# 32 GiB each, 8 GiB reserved by the engine, 4 GiB used by web on host02).
LAYOUT = {"hosts": [{"name": "host01", "memory_gib": 64}, {"name": "host02", "memory_gib": 32},
                    {"name": "host03", "memory_gib": 32}],
          "vms": [{"name": "db-1", "host": "host01", "memory_gib": 24}, {"name": "db-2", "host": "host01", "memory_gib": 24},
                  {"name": "web", "host": "host02", "memory_gib": 4},
                  {"name": "batch", "ha": True, "priority": 1}]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    state = tmp_path_factory.mktemp("lab")
    layout = state / "lab.yml"
    layout.write_text(yaml.safe_dump(LAYOUT))
    with running_lab(str(state / "state"), layout=str(layout)) as handle:
        yield handle


def run(lab: LabHandle, variables: dict[str, Any], *args: str) -> PlaybookRun:
    return run_playbook(lab, "configure_vm_ha.yml", *args, variables=variables)


def report(done: PlaybookRun) -> dict[str, Any]:
    result: dict[str, Any] = done.stats("ovirt_ha_vm_ha")
    return result


def settings(lab: LabHandle) -> dict[str, tuple[Any, ...]]:
    connection = lab.connection()
    try:
        system = connection.system_service()
        domains = {sd.id: sd.name for sd in system.storage_domains_service().list()}
        return {vm.name: (vm.high_availability.enabled, vm.high_availability.priority,
                          domains.get(getattr(getattr(vm.lease, "storage_domain", None), "id", None)),
                          vm.storage_error_resume_behaviour.value)
                for vm in system.vms_service().list()}
    finally:
        connection.close()


DB = {"ovirt_ha_cluster": "Default", "ovirt_ha_vm_patterns": ["db-*"],
      "ovirt_ha_vm_defaults": {"priority": "high", "lease": "data"}, "ovirt_ha_vms": [{"name": "web", "priority": "medium"}]}


def test_patterns_classes_and_the_lease_rule_check_mode_apply_reapply(lab: LabHandle) -> None:
    before = settings(lab)
    checked = run(lab, DB, "--check", "--diff")
    assert checked.returncode == 0, checked.text[-3000:]
    assert checked.changed == 1 and sorted(report(checked)["changed"]) == ["db-1", "db-2", "web"]
    assert settings(lab) == before

    applied = run(lab, DB, "--diff")
    assert applied.returncode == 0, applied.text[-3000:]
    after = settings(lab)
    # a VM that gets a lease resumes with kill (the engine's rule); web takes the default lease, its own priority
    assert after["db-1"] == after["db-2"] == (True, 100, "data", "kill")
    assert after["web"] == (True, 50, "data", "kill")
    assert after["batch"] == before["batch"]

    again = run(lab, DB)
    assert again.returncode == 0 and again.changed == 0, again.text[-3000:]
    assert report(again)["changed"] == []
    assert lab.info["engine"]["password"] not in applied.text + again.text


@pytest.mark.parametrize("variables, named", [
    ({"ovirt_ha_vms": [{"name": "db-1", "lease": "data", "resume_behaviour": "auto_resume"}]},
     "vm_ha_vms[0].resume_behaviour: VM db-1 has a lease (data), and the engine resumes a VM with a lease only with kill"),
    ({"ovirt_ha_vms": [{"name": "web"}, {"name": "db-2", "priority": "urgent"}]},
     "vm_ha_vms[1].priority: urgent is neither 0-100 nor a priority class (low, medium, high)"),
    ({"ovirt_ha_vms": [{"name": "web", "priority": 101}]}, "vm_ha_vms[0].priority must be 0-100"),
    ({"ovirt_ha_vms": [{"name": "web", "prio": 1}]}, "vm_ha_vms[0].prio is not a setting"),
    ({"ovirt_ha_vm_patterns": ["db-*"]}, "vm_ha_patterns needs vm_ha_cluster"),
    ({"ovirt_ha_cluster": "Default", "ovirt_ha_vm_patterns": ["nothing-*"]}, "vm_ha_patterns matches no VM"),
    ({"ovirt_ha_vms": [{"name": "web"}], "ovirt_ha_capacity_check": "maybe"}, "value of vm_ha_capacity_check must be one of: off, warn, fail"),
])
def test_bad_input_fails_in_preflight_naming_the_field_and_changes_nothing(
        lab: LabHandle, variables: dict[str, Any], named: str) -> None:
    before = settings(lab)
    done = run(lab, variables)
    assert done.returncode != 0
    assert named in done.stdout, done.stdout[-3000:]
    assert done.changed == 0
    assert settings(lab) == before


def test_the_lease_rule_also_holds_for_a_lease_the_vm_already_has(lab: LabHandle) -> None:
    assert run(lab, DB).returncode == 0
    assert settings(lab)["db-1"][2] == "data"
    done = run(lab, {"ovirt_ha_cluster": "Default", "ovirt_ha_vms": [{"name": "db-1", "resume_behaviour": "leave_paused"}]})
    assert done.returncode != 0
    assert "vm_ha_vms[0].resume_behaviour: VM db-1 has a lease (data)" in done.stdout


def test_down_ha_vms_are_reported_and_capacity_warns_or_fails(lab: LabHandle) -> None:
    assert run(lab, DB).returncode == 0  # the database VMs HA (already so when the first test ran)
    warned = run(lab, dict(DB, ovirt_ha_capacity_check="warn"))
    assert warned.returncode == 0 and warned.changed == 0, warned.text[-3000:]
    found = report(warned)
    assert found["ha_vms_down"] == ["batch"]
    assert "highly available VMs of cluster Default are down and were not restarted by the engine" in warned.stdout
    gib = 1024 ** 3
    assert found["capacity"] == {"largest_host": "host01", "ha_memory_on_it": 48 * gib,
                                 "free_on_other_hosts": 44 * gib, "ok": False}
    assert "if host01 fails, its highly available VMs need 48.0 GiB and the other hosts that are up have 44.0 GiB" \
        in warned.stdout

    failed = run(lab, dict(DB, ovirt_ha_capacity_check="fail"))
    assert failed.returncode != 0
    assert "if host01 fails, its highly available VMs need 48.0 GiB" in failed.stdout

    smaller = dict(DB, ovirt_ha_capacity_check="fail", ovirt_ha_vms=[{"name": "db-2", "high_availability": False}],
                   ovirt_ha_vm_patterns=["db-1"])
    passed = run(lab, smaller)
    assert passed.returncode == 0, passed.text[-3000:]
    assert report(passed)["capacity"]["ok"] is True and report(passed)["changed"] == ["db-2"]
