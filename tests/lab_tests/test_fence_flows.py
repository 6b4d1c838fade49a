"""Fence flows of the engine on a hosted-engine lab: start from maintenance, soft fence of a hung vdsm."""

from __future__ import annotations

from typing import Iterator

import ovirtsdk4
import pytest

from tests.lab.testing import LabHandle, running_lab
from tests.lab_tests.helpers import codes, ipmitool_power, last_event_index
from tests.lab_tests.test_hosted_engine import _slots

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fence_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("fencelab")), hosts=4, vms=8, hosted_engine=True, virtual_clock=True,
                     engine_uptime=600) as handle:
        yield handle


@pytest.fixture()
def conn(fence_lab: LabHandle) -> Iterator[ovirtsdk4.Connection]:
    connection = fence_lab.connection()
    yield connection
    connection.close()
    fence_lab.clear_faults()
    fence_lab.step(240)  # boot after a restored power, and past the 180 s quiet time


def _host(conn: ovirtsdk4.Connection, name: str) -> ovirtsdk4.services.HostService:
    hosts = conn.system_service().hosts_service()
    return hosts.host_service(hosts.list(search=f"name={name}")[0].id)


def test_start_from_maintenance_stays_in_maintenance(fence_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """StartVds keeps a host in Maintenance (only Down/Non Responsive/Reboot become Non Responsive);
    the hosted-engine agent comes back in local maintenance."""
    service = _host(conn, "host03")
    service.deactivate()
    fence_lab.step(11)  # the agents write their slots every 10 s
    assert fence_lab.host_state("host03")["status"] == "maintenance"
    assert _slots(fence_lab)[3]["maintenance"] is True
    bmc = fence_lab.host("host03")["bmc"]
    assert "Chassis Power Control: Down/Off" in ipmitool_power(bmc, "off")  # out of band, the engine does not watch
    fence_lab.step(30)
    state = fence_lab.host_state("host03")
    assert state["status"] == "maintenance" and state["power_on"] is False
    since = last_event_index(conn)
    service.fence(fence_type="start")
    assert 20 in codes(conn, since)  # host started by the user
    state = fence_lab.host_state("host03")
    assert state["status"] == "maintenance" and state["power_on"] is True
    fence_lab.step(90)  # booted; the agent writes its slot again
    host = service.get(all_content=True)
    assert host.status.value == "maintenance"
    assert host.hosted_engine.local_maintenance is True and host.hosted_engine.score == 0
    slot = _slots(fence_lab)[3]
    assert slot["maintenance"] is True and slot["score"] == 0 and slot["stopped"] is False
    assert "maintenance" in fence_lab.host_state("host03")["status_log"][-1]
    service.activate()
    fence_lab.step(11)
    assert fence_lab.host_state("host03")["status"] == "up"
    assert _slots(fence_lab)[3]["maintenance"] is False


def test_stop_then_start_from_maintenance(fence_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """StopVds sets Down; a start from Down is Non Responsive until the host answers, then Up."""
    service = _host(conn, "host04")
    service.deactivate()
    fence_lab.step(5)
    service.fence(fence_type="stop")
    assert fence_lab.host_state("host04")["status"] == "down"
    fence_lab.step(190)  # quiet time between power operations
    service.fence(fence_type="start")
    assert fence_lab.host_state("host04")["status"] == "non_responsive"
    fence_lab.step(90)
    assert fence_lab.host_state("host04")["status"] == "up"


def test_hung_vdsm_is_cured_by_the_soft_fence(fence_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """Host reachable by SSH, vdsm not answering: the engine restarts vdsm (soft fence), no power fence."""
    power_log = list(fence_lab.host_state("host04")["power_log"])
    since = last_event_index(conn)
    fence_lab.fault("vdsm_hung", "host04")
    fence_lab.step(30)
    assert fence_lab.host_state("host04")["status"] == "connecting"
    fence_lab.step(60)  # grace period over: non responsive, soft fence restarts vdsm, the next check finds it up
    state = fence_lab.host_state("host04")
    assert state["status"] == "up" and state["vdsm_restarts"] == 1 and state["vdsm_hung"] is False
    assert state["power_log"] == power_log
    assert state["status_log"][-3:] == ["connecting", "non_responsive", "up"]
    seen = codes(conn, since)
    assert 9008 in seen and 12 in seen and 13 in seen
    assert 9020 not in seen and 198 not in seen


def test_persistently_hung_vdsm_is_power_fenced(fence_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """The vdsm restart does not help: the soft fence fails after 60 s, then the power fence reboots the host."""
    since = last_event_index(conn)
    fence_lab.fault("vdsm_hung", "host04", "persistent")
    fence_lab.step(90)
    state = fence_lab.host_state("host04")
    assert state["status"] == "non_responsive" and state["fence_state"] == "soft" and state["vdsm_restarts"] >= 1
    fence_lab.step(62)  # soft fence failed (198), power fence: reboot through the BMC
    assert 198 in codes(conn, since) and 9020 in codes(conn, since)
    actions = [action for unused_time, action in fence_lab.host_state("host04")["power_log"]]
    assert actions[-2:] == ["off", "on"]
    fence_lab.step(90)  # booted, vdsm fresh
    state = fence_lab.host_state("host04")
    assert state["status"] == "up" and state["vdsm_hung"] is False
