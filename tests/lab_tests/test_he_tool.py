"""The lab's hosted-engine command on each host's socket, through the stand-in ``hosted-engine`` a container runs:
the real tool's preconditions, streams and exit codes, and what each command does to the engine VM, the metadata
volume and the agents (read back with the collection's own volume parser, as ``hosted-engine --vm-status`` would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from tests.lab.testing import LabHandle
from tests.lab_tests.test_he_agents import he_lab

pytestmark = pytest.mark.lab
STANDIN = Path(__file__).resolve().parents[1] / "lab" / "standin"


@pytest.fixture(name="lab")
def fixture_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with he_lab(tmp_path_factory, "he-tool") as lab:
        yield lab


def tool(lab: LabHandle, host: str, *argv: str, script: str = "hosted_engine_cli.py") -> subprocess.CompletedProcess:
    he = next(h for h in lab.info["hosted_engine"]["hosts"] if h["name"] == host)
    env = dict(os.environ, HE_STANDIN_SOCKET=os.path.join(he["socket_dir"], "lab.sock"))
    return subprocess.run([sys.executable, str(STANDIN / script), *argv], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def volume(lab: LabHandle) -> md.MetadataVolume:
    return md.read_volume(lab.info["hosted_engine"]["metadata_volume"], 10)


def he_state(lab: LabHandle, host: str) -> dict:
    return next(h for h in lab.state()["hosts"] if h["name"] == host)["hosted_engine"]


def test_set_maintenance_writes_both_flags_in_every_mode_and_refuses_local_on_the_engine_host(lab: LabHandle) -> None:
    done = tool(lab, "host02", "--set-maintenance", "--mode=global")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert volume(lab).global_block.maintenance is True
    lab.step(20)
    assert he_state(lab, "host02")["state"] == "GlobalMaintenance"
    # local clears global (the tool writes both); the agent publishes local maintenance in its block
    assert tool(lab, "host02", "--set-maintenance", "--mode=local").returncode == 0
    lab.step(20)
    assert volume(lab).global_block.maintenance is False
    assert volume(lab).hosts[2].local_maintenance is True
    refused = tool(lab, "host01", "--set-maintenance", "--mode=local")
    assert refused.returncode == 1
    assert "the engine VM is running on the current host" in refused.stderr
    assert tool(lab, "host02", "--set-maintenance", "--mode=none").returncode == 0
    lab.step(20)
    assert volume(lab).hosts[2].local_maintenance is False
    bad = tool(lab, "host02", "--set-maintenance", "--mode=later")
    assert (bad.returncode, bad.stdout) == (1, "Invalid value 'later' for --mode\n")


def test_vm_start_elsewhere_is_refused_by_the_lock_not_by_the_tool(lab: LabHandle) -> None:
    started = tool(lab, "host02", "--vm-start")
    assert started.returncode == 0 and "VM in WaitForLaunch" in started.stdout  # the tool does not look at other hosts
    assert lab.truth()["running"].get("HostedEngine", []) == ["host01"]
    lab.step(20)
    assert volume(lab).hosts[2].engine_status["reason"] == "Storage of VM is locked. Is another host already starting the VM?"
    again = tool(lab, "host01", "--vm-start")
    assert again.returncode == 1 and "VM exists and its status is Up" in again.stdout
    lab.check_violations()


def test_poweroff_then_start_on_another_host(lab: LabHandle) -> None:
    missing = tool(lab, "host03", "--vm-poweroff")
    assert missing.returncode == 1 and "Virtual machine does not exist" in missing.stderr
    assert tool(lab, "host02", "--set-maintenance", "--mode=global").returncode == 0
    assert tool(lab, "host01", "--vm-poweroff").returncode == 0
    assert lab.truth()["running"].get("HostedEngine", []) == []
    assert tool(lab, "host03", "--vm-start").returncode == 0
    lab.step(100)
    assert lab.truth()["running"].get("HostedEngine", []) == ["host03"]
    assert tool(lab, "host03", "--check-liveliness").stdout == "Hosted Engine is up!\n"
    journal = [e["line"] for e in lab.journal()]
    assert any("HostedEngine started on host03 by tool host03 (hosted-engine --vm-start)" in line for line in journal)


def test_clean_metadata_exits_0_when_it_refuses_and_wipes_only_a_stopped_block(lab: LabHandle) -> None:
    held = tool(lab, "host01", "--clean-metadata", "--host-id=3")
    assert held.returncode == 0 and "SanlockException" in held.stderr  # host03's agent holds its host id
    assert 3 in volume(lab).hosts
    assert tool(lab, "host03", "--lab-service", "ovirt-ha-agent", "stop").returncode == 0
    lab.step(1)
    assert volume(lab).hosts[3].stopped is True
    done = tool(lab, "host01", "--clean-metadata", "--host-id=3")
    assert done.returncode == 0 and "Cleaning the metadata block!" in done.stderr
    assert 3 not in volume(lab).hosts


def test_reinitialize_lockspace_needs_global_maintenance_and_every_agent_stopped(lab: LabHandle) -> None:
    refused = tool(lab, "host02", "--reinitialize-lockspace")
    assert refused.returncode == 1 and "global maintenance mode only" in refused.stderr
    assert tool(lab, "host02", "--set-maintenance", "--mode=global").returncode == 0
    active = tool(lab, "host02", "--reinitialize-lockspace")
    assert active.returncode == 1 and "with an active agent" in active.stderr


def test_systemctl_standin_restarts_a_hung_agent(lab: LabHandle) -> None:
    lab.fault("agent_hung", "host02")
    lab.step(30)
    frozen = volume(lab).hosts[2].timestamp
    lab.step(30)
    assert volume(lab).hosts[2].timestamp == frozen
    done = tool(lab, "host02", "restart", "ovirt-ha-agent", script="systemctl_cli.py")
    assert done.returncode == 0
    lab.step(20)
    assert volume(lab).hosts[2].timestamp != frozen
    inactive = tool(lab, "host02", "is-active", "ovirt-ha-broker", script="systemctl_cli.py")
    assert (inactive.returncode, inactive.stdout) == (0, "active\n")
