"""The simulated ovirt-ha-agents in a running lab, on the virtual clock: the nine cases of the Self Hosted Engine
feature page and the hosted-engine faults.

The engine's own fencing is off in the nine cases (the agents alone decide).  Every test looks at the metadata volume
(decoded with the collection's parser, as ``hosted-engine --vm-status`` would show it), the agents' states and the
truth (where the engine VM's qemu really runs); the lab's violation guard fails a test that ends with two copies.
"""

from __future__ import annotations

import contextlib
import os
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterator

import ovirtsdk4
import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from tests.lab.testing import LabHandle, running_lab
from tests.lab_tests.helpers import codes, ipmitool_power, last_event_index

pytestmark = pytest.mark.lab

LOCKED = "Storage of VM is locked. Is another host already starting the VM?"
WARM_UP = 70  # a freshly started agent needs 60 s of history about the other hosts before it starts the engine VM


@contextlib.contextmanager
def he_lab(factory: pytest.TempPathFactory, name: str, hosts: int = 3, fencing: bool = False, **opts: Any) -> Iterator[LabHandle]:
    opts.setdefault("no_bmcs", True)
    with running_lab(str(factory.mktemp(name)), hosts=hosts, vms=hosts, hosted_engine=True, virtual_clock=True, engine_uptime=600,
                     **opts) as lab:
        if not fencing:
            lab.engine_ha(soft_fence=False, power_fence=False)
        yield lab


def slots(lab: LabHandle) -> dict[str, md.HostBlock]:
    """The host slots by host name, read with the collection's parser (which must find nothing wrong)."""
    volume = md.read_volume(lab.info["hosted_engine"]["metadata_volume"], max_host_id=8)
    assert volume.problems == [], volume.problems
    return {block.hostname.split(".")[0]: block for block in volume.hosts.values()}


def status(block: md.HostBlock) -> dict[str, Any]:
    """The slot's engine status (JSON since 2014; the legacy text form would be a string)."""
    assert isinstance(block.engine_status, dict), block.engine_status
    return block.engine_status


def global_maintenance(lab: LabHandle) -> bool | None:
    volume = md.read_volume(lab.info["hosted_engine"]["metadata_volume"], max_host_id=0)
    return volume.global_block.maintenance if volume.global_block else None


def agents(lab: LabHandle) -> dict[str, dict[str, Any]]:
    return {h["name"]: h["hosted_engine"] for h in lab.state()["hosts"] if "hosted_engine" in h}


def engine_vm_on(lab: LabHandle) -> list[str]:
    """Where the engine VM's qemu really runs."""
    result: list[str] = lab.truth()["running"].get("HostedEngine", [])
    return result


def api_up(lab: LabHandle) -> bool:
    return bool(lab.state()["engine"]["api_available"])


def step_until(lab: LabHandle, check: Callable[[], bool], limit: float, stride: float = 1.0) -> float:
    """Step the clock until ``check()``; returns the lab seconds it took (fails after ``limit``)."""
    waited = 0.0
    while not check():
        assert waited < limit, f"not within {limit} s of lab time"
        lab.step(stride)
        waited += stride
    return waited


def journal_since(lab: LabHandle, index: int, source: str = "") -> list[str]:
    return [e["text"] for e in lab.journal(index) if not source or e["source"] == source]


def last_index(lab: LabHandle) -> int:
    entries = lab.journal()
    return int(entries[-1]["index"]) if entries else 0


def write_global_block(lab: LabHandle, maintenance: bool) -> None:
    """What ``hosted-engine --set-maintenance --mode=global|none`` on a host does: the broker writes slot 0."""
    with open(lab.info["hosted_engine"]["metadata_volume"], "r+b") as handle:
        handle.write(md.render_global_block(maintenance))


# -- 1. the engine VM's host loses the management network -------------------------------------------------------------
def test_1_engine_host_loses_the_management_network_and_the_engine_moves(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "mgmt") as lab:
        lab.fault("mgmt_bridge_down", "host01")
        lab.fault("gateway_down", "host01")  # the gateway is reached through the management network
        lab.step(10)
        assert slots(lab)["host01"].score == 3400 - 600 - 1600
        assert agents(lab)["host01"]["state"] == "EngineStop"  # 3400 elsewhere is 800 or more above: hand over
        moved = step_until(lab, lambda: api_up(lab), 300)
        [target] = engine_vm_on(lab)
        assert target in ("host02", "host03") and moved <= 150
        blocks = slots(lab)
        assert blocks["host01"].state == "EngineDown" and status(blocks["host01"])["vm"] == "down_unexpected"
        lab.step(10)
        assert slots(lab)[target].state == "EngineUp" and slots(lab)[target].engine_status == {"vm": "up", "health": "good", "detail": "Up"}
        lab.clear_faults()
        lab.step(10)
        assert slots(lab)["host01"].score == 3400


# -- 2. every host's management network is down -----------------------------------------------------------------------
def test_2_all_management_networks_down_nothing_moves(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "allmgmt") as lab:
        since = last_index(lab)
        lab.fault("all_mgmt_down")
        assert not api_up(lab)  # the engine VM's network is down with its host's bridge
        lab.step(900)
        blocks = slots(lab)
        assert {name: b.score for name, b in blocks.items()} == {"host01": 2800, "host02": 2800, "host03": 2800}
        assert {name: b.state for name, b in blocks.items()} == {"host01": "EngineUp", "host02": "EngineDown", "host03": "EngineDown"}
        assert engine_vm_on(lab) == ["host01"]
        assert not [line for line in journal_since(lab, since) if "HostedEngine" in line]  # nobody tried to start it
        lab.clear_faults()
        lab.step(1)
        assert api_up(lab) and all(h["mgmt_bridge_ok"] for h in lab.truth()["hosts"].values())


# -- 3. hypervisor crash -------------------------------------------------------------------------------------------------
def test_3_hypervisor_crash_restarts_the_engine_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "crash") as lab:
        before = slots(lab)["host01"].timestamp
        since = last_index(lab)
        lab.fault("host_power_loss", "host01")
        assert engine_vm_on(lab) == []
        # the other agents see host01's slot stop changing; after 60 s they call it dead; its lease frees after 80 s
        starting = step_until(lab, lambda: bool(engine_vm_on(lab)), 300)
        assert 70 <= starting <= 130
        [target] = engine_vm_on(lab)
        lab.step(1)
        assert agents(lab)[target]["state"] == "EngineStarting" and slots(lab)["host01"].timestamp == before
        refused = [line for line in journal_since(lab, since, "lease") if "cannot acquire" in line]
        assert refused  # the first tries, while host01's lease was still alive, failed on the lock
        up = step_until(lab, lambda: api_up(lab), 300)
        assert 120 <= starting + up <= 300
        lab.step(10)
        assert slots(lab)[target].state == "EngineUp" and engine_vm_on(lab) == [target]
        loser = "host03" if target == "host02" else "host02"
        assert slots(lab)[loser].state == "EngineDown" and agents(lab)[loser]["retry_count"] == 0


# -- 4. engine VM crash ---------------------------------------------------------------------------------------------------
def test_4_engine_vm_crash_zeroes_the_local_score_and_another_host_restarts_it(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "vmcrash") as lab:
        lab.fault("engine_vm_crash")
        restarted = step_until(lab, lambda: bool(engine_vm_on(lab)), 60)
        host01 = slots(lab)["host01"]
        assert host01.state == "EngineUnexpectedlyDown" and host01.score == 0 and status(host01)["vm"] == "down_unexpected"
        [target] = engine_vm_on(lab)
        assert target != "host01" and restarted <= 20
        up = step_until(lab, lambda: api_up(lab), 200)
        assert restarted + up <= 120
        # the hold's deadline, as the agent writes it: a monotonic time formatted as a date (so in 1970)
        assert slots(lab)["host01"].extra_values()["timeout"].endswith("1970")
        # the hold ends after 560 s (the timer starts at the first loop in the state)
        held = step_until(lab, lambda: slots(lab)["host01"].state == "EngineDown", 700, stride=5)
        assert 450 <= restarted + up + held <= 600 and slots(lab)["host01"].score == 3400
        assert engine_vm_on(lab) == [target]


def test_4_engine_vm_crash_restarted_locally_when_no_other_host_can(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The local host's score is 0 for 560 s after the crash; with the other hosts in local maintenance nobody else
    qualifies, so once the hold ends the same host starts it again."""
    with he_lab(tmp_path_factory, "vmlocal") as lab:
        connection = lab.connection()
        try:
            hosts = connection.system_service().hosts_service()
            for name in ("host02", "host03"):
                hosts.host_service(hosts.list(search=f"name={name}")[0].id).deactivate()
        finally:
            connection.close()
        lab.step(10)
        assert {slots(lab)[n].state for n in ("host02", "host03")} == {"LocalMaintenance"}
        lab.fault("engine_vm_crash")
        lab.step(10)
        assert slots(lab)["host01"].state == "EngineUnexpectedlyDown"
        back = step_until(lab, lambda: bool(engine_vm_on(lab)), 700, stride=5)
        assert engine_vm_on(lab) == ["host01"] and 560 <= back <= 600
        step_until(lab, lambda: api_up(lab), 200)


# -- 5. the engine service fails inside a running VM --------------------------------------------------------------------
def test_5_engine_service_down_restarts_the_vm_after_the_timeout(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "service") as lab:
        health = lab.info["engine"]["http_url"].replace("/api", "/services/health")
        with urllib.request.urlopen(health, timeout=10) as answer:  # nosec - the lab's own 127.0.0.1 listener
            assert b"DB Up" in answer.read()
        lab.fault("engine_service_down")
        with pytest.raises(ovirtsdk4.ConnectionError):
            lab.connection().system_service().get()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(health, timeout=10)  # pylint: disable=consider-using-with  # nosec
        lab.step(10)
        block = slots(lab)["host01"]
        assert block.state == "EngineUpBadHealth" and status(block)["reason"] == "failed liveliness check"
        assert engine_vm_on(lab) == ["host01"]  # the VM stays up
        stopping = step_until(lab, lambda: agents(lab)["host01"]["state"] == "EngineStop", 400)
        assert 300 <= stopping <= 340
        back = step_until(lab, lambda: api_up(lab), 400)
        assert len(engine_vm_on(lab)) == 1 and back <= 200
        lab.clear_faults()


def test_5_a_guest_that_ignores_the_shutdown_is_force_stopped_300_s_later(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "hung") as lab:
        lab.fault("engine_service_down", value="hung")
        step_until(lab, lambda: agents(lab)["host01"]["state"] == "EngineStop", 400)
        lab.step(10)
        assert engine_vm_on(lab) == ["host01"] and slots(lab)["host01"].state == "EngineStop"
        forced = step_until(lab, lambda: engine_vm_on(lab) != ["host01"], 400)
        assert 290 <= forced <= 330
        step_until(lab, lambda: api_up(lab), 400)
        assert len(engine_vm_on(lab)) == 1


# -- 6. the engine VM's storage is down on its host -----------------------------------------------------------------------
def test_6_engine_storage_down_on_its_host_restarts_it_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "storage") as lab:
        since = last_index(lab)
        lab.fault("engine_storage_down", "host01")
        stale = slots(lab)["host01"].timestamp
        lab.step(1)
        assert lab.state()["hosted_engine_vm"]["status"] == "paused" and not api_up(lab)
        killed = step_until(lab, lambda: engine_vm_on(lab) != ["host01"], 200)
        assert 79 <= killed <= 81
        assert any("sanlock killed it" in line for line in journal_since(lab, since, "qemu"))
        step_until(lab, lambda: len(engine_vm_on(lab)) == 1, 60)
        assert engine_vm_on(lab) != ["host01"]
        step_until(lab, lambda: api_up(lab), 200)
        assert slots(lab)["host01"].timestamp == stale  # its agent cannot write without that storage
        lab.clear_faults()
        lab.step(30)
        assert slots(lab)["host01"].timestamp != stale and agents(lab)["host01"]["agent_running"]


# -- 7. the engine VM's host is degraded while the VM is up ---------------------------------------------------------------
def test_7_degraded_host_bridge_600_stays_gateway_1600_hands_over(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "degraded") as lab:
        lab.fault("mgmt_bridge_down", "host01")
        lab.step(300)
        assert slots(lab)["host01"].score == 2800 and slots(lab)["host01"].state == "EngineUp"  # 600 < 800: stays
        assert engine_vm_on(lab) == ["host01"]
        lab.clear_faults()
        lab.fault("gateway_down", "host01")
        lab.step(10)
        assert slots(lab)["host01"].score == 1800 and agents(lab)["host01"]["state"] == "EngineStop"
        step_until(lab, lambda: api_up(lab) and engine_vm_on(lab) != ["host01"], 300)
        lab.fault("gateway_down", "host02", value=3)  # 2 of 5 probes fail: int(0.4 * 1600) = 640
        lab.step(10)
        assert slots(lab)["host02"].score == 3400 - 640


# -- 8. many hosts starting at once ------------------------------------------------------------------------------------------
def test_8_many_hosts_racing_with_equal_scores_end_with_one_copy(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "race", hosts=5) as lab:
        connection = lab.connection()
        try:
            hosts = connection.system_service().hosts_service()
            for name in ("host04", "host05"):
                service = hosts.host_service(hosts.list(search=f"name={name}")[0].id)
                service.deactivate()
                service.install(deploy_hosted_engine=True, activate=True)
            vms = connection.system_service().vms_service()
            vms.vm_service(lab.info["hosted_engine"]["vm_id"]).maintenance(maintenance_enabled=True)
        finally:
            connection.close()
        lab.step(WARM_UP)
        assert {b.state for b in slots(lab).values()} == {"GlobalMaintenance"} and len(slots(lab)) == 5
        lab.fault("engine_vm_crash")
        lab.step(60)
        assert engine_vm_on(lab) == []
        since = last_index(lab)
        write_global_block(lab, False)  # maintenance off from a host: every agent goes for the VM at its next loops
        seen_locked: set[str] = set()
        for _second in range(120):
            lab.step(1)
            assert len(engine_vm_on(lab)) <= 1
            seen_locked |= {name for name, b in slots(lab).items() if status(b).get("reason") == LOCKED}
        [winner] = engine_vm_on(lab)
        tries = [line for line in journal_since(lab, since, "agent") if "EngineStart -> EngineStarting" in line]
        refused = [line for line in journal_since(lab, since, "lease") if "cannot acquire" in line]
        assert len(tries) >= 4 and len(refused) == len(tries) - 1
        assert seen_locked and winner not in seen_locked  # the losers' brokers said "Storage of VM is locked"
        states = agents(lab)
        assert all(states[name]["retry_count"] == 0 for name in states)  # a lost race is not a failed start
        assert all(slots(lab)[name].score == 3400 for name in states)
        assert lab.state()["engine"]["global_maintenance"] is False


# -- 9. global maintenance -----------------------------------------------------------------------------------------------------
def test_9_global_maintenance_agents_do_nothing_until_it_clears(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "gm") as lab:
        connection = lab.connection()
        try:
            vms = connection.system_service().vms_service()
            vms.vm_service(lab.info["hosted_engine"]["vm_id"]).maintenance(maintenance_enabled=True)
        finally:
            connection.close()
        lab.step(10)
        assert global_maintenance(lab) is True
        assert {b.state for b in slots(lab).values()} == {"GlobalMaintenance"}
        since = last_index(lab)
        lab.fault("engine_vm_crash")
        lab.step(1200)
        assert engine_vm_on(lab) == [] and not api_up(lab)
        assert {b.state for b in slots(lab).values()} == {"GlobalMaintenance"}
        assert not [line for line in journal_since(lab, since, "qemu") if "started" in line]
        write_global_block(lab, False)
        back = step_until(lab, lambda: api_up(lab), 300)
        assert len(engine_vm_on(lab)) == 1 and back <= 130
        assert lab.state()["engine"]["global_maintenance"] is False


# -- faults ------------------------------------------------------------------------------------------------------------------
def test_host_network_blip_goes_connecting_and_back_without_a_fence(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "blip", fencing=True) as lab:
        connection = lab.connection()
        try:
            since = last_event_index(connection)
            lab.fault("host_network_blip", "host02")
            lab.step(1)
            assert lab.host_state("host02")["status"] == "connecting"
            lab.step(18)
            assert lab.host_state("host02")["status"] == "connecting" and lab.state()["faults"]
            lab.step(2)
            state = lab.host_state("host02")
            assert state["status"] == "up" and state["power_log"] == [] and state["fence_state"] == ""
            assert lab.state()["faults"] == []  # the fault ended by itself
            new = codes(connection, since)
            assert 9008 in new and 13 in new and 12 not in new
        finally:
            connection.close()
        lab.fault("host_network_blip", "host03", value=5)
        lab.step(6)
        assert lab.host_state("host03")["status"] == "up" and engine_vm_on(lab) == ["host01"]


def test_host_power_and_bmc_loss_cannot_be_fenced(tmp_path_factory: pytest.TempPathFactory) -> None:
    with he_lab(tmp_path_factory, "pbmc", fencing=True, no_bmcs=False) as lab:
        lab.fault("host_power_and_bmc_loss", "host03")
        assert "Chassis Power is" not in ipmitool_power(lab.host("host03")["bmc"])  # the BMC does not answer
        step_until(lab, lambda: lab.host_state("host03")["fence_state"] == "failed", 300, stride=5)
        state = lab.host_state("host03")
        assert state["status"] == "non_responsive" and state["power_on"] is False
        assert engine_vm_on(lab) == ["host01"]
        lab.clear_faults()
        assert "Chassis Power is on" in ipmitool_power(lab.host("host03")["bmc"])
        step_until(lab, lambda: lab.host_state("host03")["status"] == "up", 200, stride=5)


def test_slot_dates_follow_the_lab_hosts_time_zone(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "LAB-3")  # UTC+3, no tzdata needed; the lab server inherits it
    time.tzset()
    try:
        with he_lab(tmp_path_factory, "tz") as lab:
            values = slots(lab)["host01"].extra_values()
            written = time.mktime(time.strptime(values["timestamp"].split("(", 1)[1].rstrip(")"), "%a %b %d %H:%M:%S %Y"))
            assert abs(written - time.time()) < 600, values["timestamp"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert os.environ.get("TZ") != "LAB-3"
