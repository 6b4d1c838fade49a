"""Ground truth and violations: the lab sees what a real cluster would suffer, not only what the engine's API says."""

from __future__ import annotations

import subprocess
import sys
from typing import Iterator

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.testing import LabHandle, LabViolation, running_lab
from tests.lab_tests.helpers import codes, ipmitool_power, last_event_index

pytestmark = pytest.mark.lab


@pytest.fixture()
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    # the engine does not fence by itself here: what happens next is up to the API client
    with running_lab(str(tmp_path_factory.mktemp("truth")), hosts=3, vms=6, virtual_clock=True, engine_uptime=600) as handle:
        handle.engine_ha(power_fence=False, soft_fence=False)
        yield handle


@pytest.fixture()
def conn(lab: LabHandle) -> Iterator[ovirtsdk4.Connection]:
    connection = lab.connection()
    yield connection
    connection.close()


def _vm(conn: ovirtsdk4.Connection, name: str) -> ovirtsdk4.services.VmService:
    vms = conn.system_service().vms_service()
    return vms.vm_service(vms.list(search=f"name={name}")[0].id)


def _host(conn: ovirtsdk4.Connection, name: str) -> ovirtsdk4.services.HostService:
    hosts = conn.system_service().hosts_service()
    return hosts.host_service(hosts.list(search=f"name={name}")[0].id)


def test_network_cut_host_keeps_running_its_vms_while_the_engine_says_unknown(lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    lab.fault("host_network_cut", "host02")
    lab.step(90)
    assert _vm(conn, "vm0002").get().status == t.VmStatus.UNKNOWN
    assert lab.truth()["running"]["vm0002"] == ["host02"]
    with pytest.raises(ovirtsdk4.Error, match=r"Cannot run VM because the VM is in Unknown status") as refused:
        _vm(conn, "vm0002").start()
    assert refused.value.code == 409


def test_start_on_a_second_host_while_the_first_still_runs_it_is_split_brain(lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    lab.fault("host_network_cut", "host02")
    lab.step(90)
    _host(conn, "host02").fence(fence_type="manual")
    unsafe, engine_split = lab.expect_violations("unsafe_fence", "split_brain")
    assert unsafe["objects"] == {"host": "host02", "vms": ["vm0002", "vm0005"]}
    assert unsafe["cause"]["request"] == "POST /hosts/host02/fence"
    # vm0005 is HA: the engine restarted it at once, on the word of the API client
    assert engine_split["objects"] == {"vm": "vm0005", "hosts": ["host01", "host02"]} and engine_split["cause"]["kind"] == "engine"
    assert "host02 confirmed rebooted by api admin@internal" in engine_split["detail"]
    # vm0002 is not HA: down in the engine's view until the API client starts it elsewhere
    _vm(conn, "vm0002").start(host=t.Host(name="host03"))
    [split] = lab.expect_violations("split_brain")
    assert split["objects"] == {"vm": "vm0002", "hosts": ["host02", "host03"]}
    assert split["cause"] == {"kind": "api", "name": "admin@internal", "request": "POST /vms/vm0002/start"}
    # host02 cannot reach its storage; once the network is back both copies write the same disks
    lab.clear_faults()
    lab.step(1)
    assert sorted(v["objects"]["vm"] for v in lab.expect_violations("disk_two_writers", "disk_two_writers")) == ["vm0002", "vm0005"]


def test_a_vm_lease_stops_the_second_copy(lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """vm0003 holds a lease; host03 keeps its storage (management bridge down): sanlock refuses every start elsewhere."""
    lab.engine_ha(lease_restart=False)
    lab.fault("mgmt_bridge_down", "host03")
    lab.step(90)
    since = last_event_index(conn)
    _host(conn, "host03").fence(fence_type="manual")
    lab.expect_violations("unsafe_fence")
    lab.step(120)
    new = codes(conn, since)
    assert new.count(9603) >= 3 and 119 in new
    assert lab.truth()["running"]["vm0003"] == ["host03"]
    assert _vm(conn, "vm0003").get().status == t.VmStatus.DOWN
    messages = [e["text"] for e in lab.journal() if e["source"] == "lease"]
    assert any("cannot acquire the lease held by host03" in m for m in messages)


def test_power_loss_stops_the_processes_and_the_lease_expires_80_s_later(lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    lab.fault("host_power_loss", "host03")
    truth = lab.truth()
    assert "vm0003" not in truth["running"] and "vm0006" not in truth["running"]
    [lease] = [entry for entry in truth["leases"] if entry["vm"] == "vm0003"]
    assert lease["holder"] == "host03" and lease["alive"]
    lab.step(79)
    assert [entry["alive"] for entry in lab.truth()["leases"] if entry["vm"] == "vm0003"] == [True]
    lab.step(1)
    assert not [entry for entry in lab.truth()["leases"] if entry["vm"] == "vm0003"]


def test_power_off_of_the_last_up_host_over_ipmi(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(str(tmp_path_factory.mktemp("last")), hosts=2, vms=2, virtual_clock=True, engine_uptime=600) as lab:
        lab.engine_ha(power_fence=False, soft_fence=False)
        lab.fault("host_power_loss", "host02")
        lab.step(90)
        assert "Chassis Power Control: Down/Off" in ipmitool_power(lab.host("host01")["bmc"], "off")
        kinds = lab.expect_violations("last_host_power_off", "unsafe_fence")
        assert {v["cause"]["kind"] for v in kinds} == {"ipmi"}
        assert all(v["objects"]["host"] == "host01" for v in kinds)


def test_fencing_during_global_maintenance_is_recorded(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(str(tmp_path_factory.mktemp("gm")), hosts=3, vms=0, hosted_engine=True, virtual_clock=True,
                     engine_uptime=600) as lab:
        lab.engine_ha(power_fence=False, soft_fence=False)
        connection = lab.connection()
        try:
            he_vm = connection.system_service().vms_service().list(search="name=HostedEngine")[0]
            connection.system_service().vms_service().vm_service(he_vm.id).maintenance(maintenance_enabled=True)
            lab.fault("host_power_loss", "host03")
            lab.step(90)
            _host(connection, "host03").fence(fence_type="manual")
        finally:
            connection.close()
        [violation] = lab.expect_violations("global_maintenance_action")
        assert violation["objects"] == {"host": "host03"} and "manual fence" in violation["detail"]


def test_an_unexpected_violation_fails_the_test_and_the_cli_exits_non_zero(lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    lab.fault("host_network_cut", "host03")
    lab.step(90)
    _host(conn, "host03").fence(fence_type="manual")
    cli = subprocess.run([sys.executable, "-m", "tests.lab", "violations", "--state-dir", lab.state_dir], capture_output=True, text=True,
                         timeout=60, check=False)
    assert cli.returncode == 1, cli.stdout
    assert "unsafe_fence: manual fence of host03" in cli.stdout and "1 violation(s)" in cli.stdout
    with pytest.raises(LabViolation, match="unsafe_fence"):
        lab.check_violations()
    # reported once: the guard after this test finds nothing new
    lab.check_violations()
