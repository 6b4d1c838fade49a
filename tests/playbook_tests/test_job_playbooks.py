"""The job playbooks (playbooks/*.yml) run the way a user runs them, against the lab, checked through the SDK.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_job_playbooks.py
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("lab")), hosts=3, vms=6, hosted_engine=True) as handle:
        yield handle


def run(lab: LabHandle, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    engine = lab.info["engine"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"),
               OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
               OVIRT_CAFILE=engine["ca_file"])
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", os.path.join(lab.state_dir, "inventory.yml"),
               str(ROOT / "playbooks" / name), *args]
    return subprocess.run(command, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300, check=False)


def changed_count(done: subprocess.CompletedProcess[str]) -> int:
    counts = re.findall(r"changed=(\d+)", done.stdout)
    assert counts, done.stdout[-3000:]
    return sum(int(n) for n in counts)


def he_path(lab: LabHandle) -> str:
    return "ovirt_ha_he_metadata_path=" + lab.info["hosted_engine"]["metadata_volume"]


def vm(lab: LabHandle, name: str) -> Any:
    connection = lab.connection()
    try:
        return connection.system_service().vms_service().list(search=f"name={name}")[0]
    finally:
        connection.close()


def test_health_report_passes_on_a_healthy_cluster_and_leaks_no_secret(lab: LabHandle) -> None:
    done = run(lab, "health_report.yml", "-e", he_path(lab), "-e", "ovirt_ha_fail_on_problems=true")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert '"verdict": "the cluster can survive the next failure"' in done.stdout, done.stdout[-3000:]
    for secret in [lab.info["engine"]["password"]] + [h["bmc"]["password"] for h in lab.info["hosts"]]:
        assert secret not in done.stdout + done.stderr


def test_health_report_fails_on_an_unreachable_bmc_only_when_asked(lab: LabHandle) -> None:
    lab.fault("bmc_unreachable", "host02")
    try:
        lenient = run(lab, "health_report.yml", "-e", "ovirt_ha_bmc_timeout=3")
        strict = run(lab, "health_report.yml", "-e", "ovirt_ha_bmc_timeout=3", "-e", "ovirt_ha_fail_on_problems=true")
    finally:
        lab.clear_faults()
    assert lenient.returncode == 0, lenient.stdout[-3000:]
    assert strict.returncode != 0
    assert "host_fence_check_failed/host02" in strict.stdout and "HA is broken now" in strict.stdout


def test_configure_vm_ha_check_mode_changes_nothing_then_applies_once(lab: LabHandle) -> None:
    vms = '{"ovirt_ha_vms": [{"name": "vm0002", "priority": 50}, {"name": "vm0004"}]}'
    assert not vm(lab, "vm0002").high_availability.enabled
    checked = run(lab, "configure_vm_ha.yml", "-e", vms, "--check", "--diff")
    assert checked.returncode == 0 and changed_count(checked) == 1, checked.stdout[-3000:]
    assert not vm(lab, "vm0002").high_availability.enabled
    applied = run(lab, "configure_vm_ha.yml", "-e", vms)
    assert applied.returncode == 0 and changed_count(applied) == 1, applied.stdout[-3000:]
    assert vm(lab, "vm0002").high_availability.enabled and vm(lab, "vm0002").high_availability.priority == 50
    assert vm(lab, "vm0004").high_availability.enabled
    again = run(lab, "configure_vm_ha.yml", "-e", vms)
    assert again.returncode == 0 and changed_count(again) == 0, again.stdout[-3000:]


def test_configure_vm_ha_rejects_input_that_is_not_a_list(lab: LabHandle) -> None:
    done = run(lab, "configure_vm_ha.yml", "-e", "ovirt_ha_vms=vm0001")
    assert done.returncode != 0
    assert "Elements value for option 'vm_ha_vms' is of type str" in done.stdout


def test_configure_fencing_stores_working_agents_and_is_idempotent(lab: LabHandle) -> None:
    first = run(lab, "configure_fencing.yml", "--diff")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    connection = lab.connection()
    try:
        system = connection.system_service()
        host = system.hosts_service().list(search="name=host01")[0]
        agents = system.hosts_service().host_service(host.id).fence_agents_service().list()
        bmc = lab.info["hosts"][0]["bmc"]
        assert [(a.type, a.address, a.port) for a in agents] == [("ipmilan", bmc["address"], bmc["port"])]
        cluster = system.clusters_service().list(search="name=Default")[0]
        assert cluster.fencing_policy.skip_if_sd_active.enabled
        assert cluster.fencing_policy.skip_if_connectivity_broken.threshold == 50
    finally:
        connection.close()
    again = run(lab, "configure_fencing.yml")
    assert again.returncode == 0 and changed_count(again) == 0, again.stdout[-3000:]


def test_configure_fencing_stops_before_storing_a_password_the_bmc_refuses(lab: LabHandle) -> None:
    lab.fault("bmc_wrong_password", "host03")
    try:
        done = run(lab, "configure_fencing.yml", "-e", '{"ovirt_ha_fencing_policy": {"connectivity_broken_threshold": 60}}')
    finally:
        lab.clear_faults()
    assert done.returncode != 0
    assert "host03" in done.stdout
    connection = lab.connection()
    try:
        cluster = connection.system_service().clusters_service().list(search="name=Default")[0]
        assert cluster.fencing_policy.skip_if_connectivity_broken.threshold != 60
    finally:
        connection.close()


@pytest.fixture()
def stepped_lab(tmp_path: Path) -> Iterator[LabHandle]:
    """A lab on a virtual clock whose engine may fence (start-up window over) but has power fencing switched off."""
    with running_lab(str(tmp_path / "lab"), hosts=3, vms=6, virtual_clock=True, engine_uptime=600) as handle:
        handle.engine_ha(power_fence=False, soft_fence=False)
        yield handle


def ha_vms_on(lab: LabHandle, host_name: str) -> list[str]:
    connection = lab.connection()
    try:
        system = connection.system_service()
        host = system.hosts_service().list(search=f"name={host_name}")[0]
        return sorted(v.name for v in system.vms_service().list(search=f"host={host_name}")
                      if v.high_availability.enabled and v.host is not None and v.host.id == host.id)
    finally:
        connection.close()


def test_fence_host_refuses_a_host_the_engine_sees_up(stepped_lab: LabHandle) -> None:
    done = run(stepped_lab, "fence_host.yml", "-e", "ovirt_ha_fence_host=host02")
    assert done.returncode != 0
    assert "refusing to fence host02: the engine reports it as up" in done.stdout
    assert stepped_lab.host_state("host02")["power_on"] is True


def test_fence_host_fences_over_ipmi_then_the_engine_restarts_the_ha_vms(stepped_lab: LabHandle) -> None:
    stranded = ha_vms_on(stepped_lab, "host02")
    assert stranded, "the lab should place HA VMs on host02"
    stepped_lab.fault("host_network_cut", "host02")  # host still powered: the dangerous case for a restart
    stepped_lab.step(200)
    assert stepped_lab.host_state("host02")["status"] == "non_responsive"
    assert stepped_lab.host_state("host02")["power_on"] is True

    done = run(stepped_lab, "fence_host.yml", "-e", "ovirt_ha_fence_host=host02", "-e", "ovirt_ha_power_on_after=false")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert stepped_lab.host_state("host02")["power_on"] is False
    stepped_lab.step(120)
    connection = stepped_lab.connection()
    try:
        vms = {v.name: v for v in connection.system_service().vms_service().list()}
        for name in stranded:
            assert vms[name].status.value == "up", name
            assert vms[name].host is not None
    finally:
        connection.close()
    assert not ha_vms_on(stepped_lab, "host02")
