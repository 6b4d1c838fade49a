"""Hosted engine: metadata encoder, simulated HA agents, global/local maintenance, engine VM crash and fail-over."""

from __future__ import annotations

import os
import time
from typing import Iterator

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.he_metadata import SLOT, HostSlot, decode_slot, encode_global, encode_slot
from tests.lab.testing import LabHandle, running_lab

pytestmark = pytest.mark.lab

# the repository's copy of /work/shared/reference/hosted-engine.metadata (real ovirt-hosted-engine-ha output)
REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "fixtures", "reference",
                         "hosted-engine.metadata")
WALL = 1736157600.0  # Mon Jan  6 10:00:00 2025 UTC
CONF_WALL = 1736154000.0


def _set_tz(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()


@pytest.fixture()
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The reference volume was written on a host whose local time is UTC."""
    _set_tz(monkeypatch, "UTC")
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.skipif(not os.path.exists(REFERENCE), reason="reference metadata volume not available")
@pytest.mark.usefixtures("utc")
def test_encoder_reproduces_reference_slots() -> None:
    with open(REFERENCE, "rb") as handle:
        reference = handle.read()
    host1 = HostSlot(host_id=1, timestamp=182040, score=3400, engine_status={"vm": "up", "health": "good", "detail": "Up"},
                     hostname="host1.example.com", local_conf_timestamp=2345, state="EngineUp", wall_time=WALL, conf_wall_time=CONF_WALL)
    host2 = HostSlot(host_id=2, timestamp=99120, score=2400,
                     engine_status={"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"},
                     hostname="host2.example.com", local_conf_timestamp=2345, state="GlobalMaintenance", wall_time=WALL,
                     conf_wall_time=CONF_WALL)
    assert encode_global(True) == reference[0:SLOT]
    assert encode_slot(host1) == reference[SLOT:2 * SLOT]
    assert encode_slot(host2) == reference[2 * SLOT:3 * SLOT]
    assert reference[3 * SLOT] == 0
    decoded = decode_slot(reference[SLOT:2 * SLOT])
    assert decoded is not None and decoded["crc32"] == "8beb412e" and decoded["score"] == 3400


def test_slot_dates_are_in_the_hosts_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent writes time.ctime(): local time, whatever the zone (here a fixed UTC+3 and a fixed UTC-5, no tzdata needed)."""
    slot = HostSlot(host_id=1, timestamp=182040, score=3400, engine_status={"vm": "up", "health": "good", "detail": "Up"},
                    hostname="host1.example.com", local_conf_timestamp=2345, wall_time=WALL, conf_wall_time=CONF_WALL)
    try:
        _set_tz(monkeypatch, "LAB-3")
        east = encode_slot(slot)[512:].decode().rstrip("\0")
        _set_tz(monkeypatch, "LAB+5")
        west = encode_slot(slot)[512:].decode().rstrip("\0")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "timestamp=182040 (Mon Jan  6 13:00:00 2025)" in east and "vm_conf_refresh_time=2345 (Mon Jan  6 12:00:00 2025)" in east
    assert "timestamp=182040 (Mon Jan  6 05:00:00 2025)" in west and "vm_conf_refresh_time=2345 (Mon Jan  6 04:00:00 2025)" in west


def test_decoder_rejects_bad_crc() -> None:
    data = bytearray(encode_slot(HostSlot(host_id=3, timestamp=5, score=0, engine_status={"vm": "down"}, hostname="h")))
    data[4] = ord("9") if data[4] != ord("9") else ord("8")
    with pytest.raises(ValueError, match="crc32"):
        decode_slot(bytes(data))


def _slots(lab: LabHandle) -> dict[int, dict[str, object]]:
    with open(lab.info["hosted_engine"]["metadata_volume"], "rb") as handle:
        data = handle.read(SLOT * 8)
    result = {}
    for index in range(1, 8):
        slot = decode_slot(data[index * SLOT:(index + 1) * SLOT])
        if slot:
            result[index] = slot
    return result


def test_agents_publish_slots(lab: LabHandle) -> None:
    lab.step(11)
    slots = _slots(lab)
    assert {1, 2, 3} <= set(slots)
    assert slots[1]["hostname"] == "host01.lab.example"
    assert slots[1]["engine-status"] == {"vm": "up", "health": "good", "detail": "Up"}
    assert slots[2]["engine-status"]["reason"] == "vm not running on this host"  # type: ignore[index]
    # the lab's three hosted-engine hosts (other tests on the session lab may deploy and undeploy more)
    assert all(slots[index]["score"] == 3400 for index in (1, 2, 3)), slots
    before = slots[2]["host-ts"]
    lab.step(10)
    assert _slots(lab)[2]["host-ts"] != before


def test_global_maintenance_through_the_engine_vm(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    vms = lab_connection.system_service().vms_service()
    he_vm = vms.vm_service(lab.info["hosted_engine"]["vm_id"])
    he_vm.maintenance(maintenance_enabled=True)
    lab.step(10)
    with open(lab.info["hosted_engine"]["metadata_volume"], "rb") as handle:
        assert handle.read(16).rstrip(b"\0") == b"maintenance=1"
    host = lab_connection.system_service().hosts_service().list(search="name=host01", all_content=True)[0]
    assert host.hosted_engine.global_maintenance is True
    he_vm.maintenance(maintenance_enabled=False)
    lab.step(10)
    with open(lab.info["hosted_engine"]["metadata_volume"], "rb") as handle:
        assert handle.read(16).rstrip(b"\0") == b"maintenance=0"
    other = vms.vm_service(vms.list(search="name=vm0001")[0].id)
    with pytest.raises(ovirtsdk4.Error) as failure:
        other.maintenance(maintenance_enabled=True)
    assert failure.value.code == 409
    with pytest.raises(ovirtsdk4.Error, match="This VM is not managed by the engine"):
        he_vm.stop()


def test_local_maintenance_zeroes_the_score(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    service = hosts.host_service(hosts.list(search="name=host03")[0].id)
    service.deactivate()
    lab.step(11)
    slot = _slots(lab)[3]
    assert slot["maintenance"] is True and slot["score"] == 0
    assert service.get(all_content=True).hosted_engine.local_maintenance is True
    service.activate()
    # LocalMaintenance -> ReinitializeFSM (score 0) -> EngineDown, one agent loop each
    lab.step(11)
    assert _slots(lab)[3]["score"] == 0 and "state=ReinitializeFSM" in str(_slots(lab)[3]["extra"])
    lab.step(10)
    assert _slots(lab)[3]["score"] == 3400 and "state=EngineDown" in str(_slots(lab)[3]["extra"])


def test_stale_metadata_and_stopped_agent(lab: LabHandle) -> None:
    lab.step(10)
    before = _slots(lab)[2]["host-ts"]
    lab.fault("stale_metadata", "host02")
    lab.step(30)
    assert _slots(lab)[2]["host-ts"] == before
    lab.fault("agent_stopped", "host03")
    lab.step(10)
    assert _slots(lab)[3]["stopped"] is True
    lab.clear_faults()
    lab.step(11)
    slots = _slots(lab)
    assert slots[2]["host-ts"] != before and slots[3]["stopped"] is False


def test_engine_vm_crash_and_failover(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(str(tmp_path_factory.mktemp("helab")), hosts=3, vms=3, hosted_engine=True, virtual_clock=True) as lab:
        # the lab starts with agents that have been running (a fresh agent needs 60 s of history before it acts)
        assert {h["hosted_engine"]["state"] for h in lab.state()["hosts"] if "hosted_engine" in h} == {"EngineUp", "EngineDown"}
        connection = lab.connection()
        assert connection.system_service().get().product_info is not None
        lab.fault("engine_vm_crash")
        with pytest.raises(ovirtsdk4.Error, match="Could not connect"):
            connection.system_service().get()
        with pytest.raises(ovirtsdk4.ConnectionError):
            lab.connection().system_service().get()
        lab.step(10)
        state = lab.state()
        assert state["hosted_engine_vm"]["host"] in ("host02", "host03")
        assert state["hosted_engine_vm"]["status"] == "powering_up"
        assert state["engine"]["api_available"] is False
        # the guest boots (60 s), then the engine service answers (30 s)
        lab.step(90)
        assert lab.state()["engine"]["api_available"] is True
        fresh = lab.connection()
        vm = fresh.system_service().vms_service().vm_service(lab.info["hosted_engine"]["vm_id"]).get(follow="host")
        assert vm.status == t.VmStatus.UP and vm.host.name in ("host02", "host03")
        # the restarted engine does not fence during its first 300 s
        with pytest.raises(ovirtsdk4.Error, match="Engine Service start up sequence"):
            hosts = fresh.system_service().hosts_service()
            hosts.host_service(hosts.list(search="name=host03")[0].id).fence(fence_type="restart")
        fresh.close()
        connection.close(logout=False)
