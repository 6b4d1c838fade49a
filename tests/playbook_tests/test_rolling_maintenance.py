"""playbooks/rolling_maintenance.yml (the rolling_maintenance role) against the lab, on a clock 10 times real time:
four hosts, three of them hosted-engine hosts, HA VMs on all. Every host cycles through maintenance with every HA
VM running throughout (the lab's truth: migrations only, no stop) and the hosted-engine scores back to full; with
too little capacity the run is refused before the first host; a host that does not come back stops the run with the
hosts after it untouched.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_rolling_maintenance.py
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.lab.playbook import ROOT, PlaybookRun, run_playbook
from tests.lab.testing import LabHandle, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
HOSTS = [{"name": f"host0{i}", "memory_gib": 64, "hosted_engine": i <= 3} for i in range(1, 5)]
VMS = [{"name": f"app-{i}", "host": f"host0{(i % 4) + 1}", "ha": True, "priority": 50, "memory_gib": 4} for i in range(8)]


def start(factory: pytest.TempPathFactory, name: str, layout: dict[str, Any]) -> Any:
    state = factory.mktemp(name)
    path = state / "lab.yml"
    path.write_text(yaml.safe_dump(dict(layout, engine_uptime=600)))
    return running_lab(str(state / "state"), layout=str(path), time_scale=10)


@pytest.fixture(name="lab")
def fixture_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with start(tmp_path_factory, "rolling", {"hosts": HOSTS, "vms": VMS, "hosted_engine": True}) as handle:
        yield handle


def run(lab: LabHandle, variables: dict[str, Any], *args: str) -> PlaybookRun:
    return run_playbook(lab, "rolling_maintenance.yml", *args, variables=variables, timeout=600)


def hosts(lab: LabHandle) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in lab.state()["hosts"]}


def ha_vm_stops(lab: LabHandle) -> list[str]:
    return [e["line"] for e in lab.journal() if " qemu " in e["line"] and "app-" in e["line"] and " stopped on " in e["line"]]


def test_every_host_cycles_with_every_ha_vm_running_throughout(lab: LabHandle) -> None:
    done = run(lab, {"ovirt_ha_rolling_timeout": 300})
    assert done.returncode == 0, done.stdout[-4000:]
    state = hosts(lab)
    assert all(h["status"] == "up" for h in state.values())
    # each host went through maintenance once, hosted-engine hosts after host04, the engine VM's host (host01) last
    order = [line.split("Host ", 1)[1].split(" ", 1)[0] for line in (e["line"] for e in lab.journal())
             if "was switched to Maintenance mode" in line]
    assert order == ["host04", "host02", "host03", "host01"]
    assert all(state[name]["hosted_engine"]["score"] == 3400 for name in ("host01", "host02", "host03"))
    assert not any(state[name]["hosted_engine"]["local_maintenance"] for name in ("host01", "host02", "host03"))
    assert ha_vm_stops(lab) == []  # migrations only
    assert lab.truth()["violations"] == 0
    assert lab.info["engine"]["password"] not in done.text


def test_a_host_that_does_not_come_back_stops_the_run(lab: LabHandle, tmp_path: Path) -> None:
    hook = tmp_path / "break_host02.yml"
    hook.write_text(yaml.safe_dump([{
        "name": "The update of host02 goes wrong: it loses power",
        "ansible.builtin.command": {"argv": [str(ROOT / ".venv" / "bin" / "python"), "-m", "tests.lab", "fault", "--state-dir",
                                             lab.state_dir, "host_power_loss", "host02"], "chdir": str(ROOT)},
        "when": "ovirt_ha_current_host == 'host02'", "changed_when": True}]))
    done = run(lab, {"ovirt_ha_rolling_timeout": 60, "ovirt_ha_rolling_tasks_file": str(hook)})
    assert done.returncode != 0
    assert "host02" in done.stdout[-3000:]
    journal = [e["line"] for e in lab.journal()]
    touched = [line.split("Host ", 1)[1].split(" ", 1)[0] for line in journal if "was switched to Maintenance mode" in line]
    assert touched == ["host04", "host02"]  # host03 and host01 were left as they were
    state = hosts(lab)
    assert state["host03"]["status"] == state["host01"]["status"] == "up"
    assert ha_vm_stops(lab) == []


def test_too_little_capacity_is_refused_before_the_first_host(tmp_path_factory: pytest.TempPathFactory) -> None:
    # two hosts of 32 GiB, HA VMs of 2 x 20 GiB: with one host gone they do not fit
    layout = {"hosts": [{"name": "host01", "memory_gib": 32}, {"name": "host02", "memory_gib": 32}],
              "vms": [{"name": "db-1", "host": "host01", "ha": True, "memory_gib": 20},
                      {"name": "db-2", "host": "host02", "ha": True, "memory_gib": 20}]}
    with start(tmp_path_factory, "rolling-full", layout) as lab:
        done = run(lab, {})
        assert done.returncode != 0
        assert "rolling maintenance refused before host01" in done.stdout
        assert not any("was switched to Maintenance mode" in e["line"] for e in lab.journal())
        assert all(h["status"] == "up" for h in hosts(lab).values())


def test_check_mode_changes_nothing_in_the_lab(lab: LabHandle, tmp_path: Path) -> None:
    before = lab.state()
    round_file = tmp_path / "round.txt"
    done = run(lab, {"ovirt_ha_rolling_timeout": 300, "ovirt_ha_engine_vm_update": True,
                     "ovirt_ha_rolling_state_file": str(round_file)}, "--check")
    assert done.returncode == 0, done.stdout[-4000:]
    assert done.changed > 0  # it says what it would do: global maintenance, every host to maintenance and back
    after = lab.state()
    # no host changed status (not even for a moment), none went to local maintenance, global maintenance never set
    assert {h["name"]: h["status_log"] for h in after["hosts"]} == {h["name"]: h["status_log"] for h in before["hosts"]}
    assert all(h["status"] == "up" for h in after["hosts"])
    assert not any(h["hosted_engine"]["local_maintenance"] for h in after["hosts"] if "hosted_engine" in h)
    assert after["engine"]["global_maintenance"] is False
    assert not any("Maintenance" in e["line"] for e in lab.journal())
    assert not round_file.exists()
    assert ha_vm_stops(lab) == []


def recording_hook(lab: LabHandle, tmp_path: Path, fail_on: str) -> tuple[Path, Path]:
    """A user's tasks file that writes down, for each host, whether the lab's engine was in global maintenance while
    the host was in maintenance, and fails (an update that went wrong) on ``fail_on``."""
    record = tmp_path / "global_maintenance.txt"
    hook = tmp_path / "update.yml"
    hook.write_text(yaml.safe_dump([
        {"name": "The lab's view while the host is in maintenance",
         "ansible.builtin.uri": {"url": lab.admin_url + "/state", "return_content": True}, "register": "lab_now"},
        {"name": "Write down global maintenance",
         "ansible.builtin.lineinfile": {"path": str(record), "create": True, "mode": "0600",
                                        "line": "{{ ovirt_ha_current_host }} {{ lab_now.json.engine.global_maintenance }}"}},
        {"name": "The update goes wrong", "ansible.builtin.fail": {"msg": "the update of {{ ovirt_ha_current_host }} failed"},
         "when": f"ovirt_ha_current_host == '{fail_on}'"}]))
    return hook, record


def test_global_maintenance_only_for_an_engine_vm_update_and_cleared_when_a_task_fails(lab: LabHandle, tmp_path: Path) -> None:
    hook, record = recording_hook(lab, tmp_path, fail_on="host02")
    plain = run(lab, {"ovirt_ha_rolling_timeout": 300, "ovirt_ha_rolling_tasks_file": str(hook), "ovirt_ha_rolling_hosts": ["host04"]})
    assert plain.returncode == 0, plain.stdout[-4000:]
    assert record.read_text().splitlines() == ["host04 False"]  # hosts cycled without global maintenance

    record.unlink()
    engine_update = run(lab, {"ovirt_ha_rolling_timeout": 300, "ovirt_ha_rolling_tasks_file": str(hook),
                              "ovirt_ha_engine_vm_update": True})
    assert engine_update.returncode != 0
    assert "the update of host02 failed" in engine_update.failures()
    # set for the whole run (both hosts it reached), cleared at the end although host02's update failed
    assert record.read_text().splitlines() == ["host04 True", "host02 True"]
    state = lab.state()
    assert state["engine"]["global_maintenance"] is False
    touched = [e["line"].split("Host ", 1)[1].split(" ", 1)[0] for e in lab.journal() if "was switched to Maintenance mode" in e["line"]]
    assert touched == ["host04", "host04", "host02"]  # the run stopped at host02: host03 and host01 untouched
    hosts_now = {h["name"]: h for h in state["hosts"]}
    assert hosts_now["host03"]["status"] == hosts_now["host01"]["status"] == "up"
    assert ha_vm_stops(lab) == []


def set_global_maintenance(lab: LabHandle, enabled: bool) -> None:
    """What an administrator does before the run: the engine VM's maintenance action, through the engine API."""
    connection = lab.connection()
    try:
        vms = connection.system_service().vms_service()
        engine_vm = vms.list(search="name=HostedEngine")[0]
        vms.vm_service(engine_vm.id).maintenance(maintenance_enabled=enabled)
    finally:
        connection.close()


def test_global_maintenance_set_before_the_run_stays_set(lab: LabHandle, tmp_path: Path) -> None:
    hook, record = recording_hook(lab, tmp_path, fail_on="none")
    set_global_maintenance(lab, True)
    try:
        done = run(lab, {"ovirt_ha_rolling_timeout": 300, "ovirt_ha_rolling_tasks_file": str(hook),
                         "ovirt_ha_engine_vm_update": True, "ovirt_ha_rolling_hosts": ["host04"]})
        assert done.returncode == 0, done.stdout[-4000:]
        assert record.read_text().splitlines() == ["host04 True"]
        assert lab.state()["engine"]["global_maintenance"] is True  # the administrator's setting, left as it was
    finally:
        set_global_maintenance(lab, False)
