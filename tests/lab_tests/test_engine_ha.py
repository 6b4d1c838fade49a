"""The engine's own HA behaviour on the virtual clock: grace period, fencing through the BMCs, policy, HA restarts."""

from __future__ import annotations

import time
from typing import Iterator

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.testing import LabHandle, running_lab
from tests.lab_tests.helpers import codes, ipmitool_power, last_event_index

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def ha_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("halab")), hosts=4, vms=12, virtual_clock=True) as handle:
        yield handle


@pytest.fixture()
def conn(ha_lab: LabHandle) -> Iterator[ovirtsdk4.Connection]:
    connection = ha_lab.connection()
    yield connection
    connection.close()
    ha_lab.clear_faults()
    ha_lab.engine_ha(monitoring=True, soft_fence=True, power_fence=True, fencing_policy=True, startup_delay=True, quiet_time=True,
                     ha_restart=True, lease_restart=True)
    ha_lab.step(240)


def _past_startup(lab: LabHandle, margin: float = 200.0) -> None:
    """Move past the engine's 300 s start-up window (no fencing) and the 180 s quiet time of earlier tests."""
    now = lab.state()["clock"]["now"]
    lab.step(max(margin, 300.0 + margin - now))


def _skip_fencing_while_lease_alive(lab: LabHandle, conn: ovirtsdk4.Connection) -> ovirtsdk4.services.ClusterService:
    """Past start-up, fencing policy "skip if storage lease active", no soft fence: the set-up of the lease tests."""
    _past_startup(lab, margin=10.0)
    clusters = conn.system_service().clusters_service()
    cluster = clusters.cluster_service(clusters.list()[0].id)
    cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(enabled=True, skip_if_sd_active=t.SkipIfSdActive(enabled=True))))
    lab.engine_ha(soft_fence=False)
    return cluster


def _host(conn: ovirtsdk4.Connection, name: str) -> ovirtsdk4.services.HostService:
    hosts = conn.system_service().hosts_service()
    return hosts.host_service(hosts.list(search=f"name={name}")[0].id)


def test_no_fencing_during_engine_startup(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    if ha_lab.state()["clock"]["now"] >= 300:
        pytest.skip("the startup window already passed in this module")
    with pytest.raises(ovirtsdk4.Error, match="Fence is disabled due to the Engine Service start up sequence") as failure:
        _host(conn, "host02").fence(fence_type="restart")
    assert failure.value.code == 409
    ha_lab.step(300)


def test_fence_restart_powers_the_bmc_off_and_on(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab)
    bmc = ha_lab.host("host02")["bmc"]
    assert "Chassis Power is on" in ipmitool_power(bmc)
    since = last_event_index(conn)
    service = _host(conn, "host02")
    service.fence(fence_type="restart")
    # a healthy host with running VMs and a live storage lease: the lab calls that an unsafe fence, by this API user
    [violation] = ha_lab.expect_violations("unsafe_fence")
    assert violation["cause"]["kind"] == "api" and violation["cause"]["name"] == "admin@internal"
    assert violation["cause"]["request"] == "POST /hosts/host02/fence"
    log = [action for _when, action in ha_lab.host_state("host02")["power_log"]]
    assert log[-2:] == ["off", "on"]
    assert "Chassis Power is on" in ipmitool_power(bmc)
    assert service.get().status == t.HostStatus.NON_RESPONSIVE
    new = codes(conn, since)
    assert 9020 in new and 41 in new and 143 in new
    # the host boots (60 s) and the engine sees it up again
    ha_lab.step(61)
    assert service.get().status == t.HostStatus.UP
    # the engine's own sequence for a restart: reboot (stopped, VMs cleared), non_responsive (started), up (booted)
    assert ha_lab.host_state("host02")["status_log"][-3:] == ["reboot", "non_responsive", "up"]
    with pytest.raises(ovirtsdk4.Error, match=r"Another Power Management operation is still running, please retry in \d+ Sec") as failure:
        service.fence(fence_type="restart")
    assert failure.value.code == 409


def test_stuck_power_fails_the_restart(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab)
    ha_lab.fault("bmc_stuck_power", "host03")
    with pytest.raises(ovirtsdk4.Error, match="Cannot restart Host. Fence operation failed") as failure:
        _host(conn, "host03").fence(fence_type="restart")
    assert failure.value.code == 409
    ha_lab.clear_faults()


def test_wrong_password_gives_unknown_status(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    ha_lab.fault("bmc_wrong_password", "host03")
    assert _host(conn, "host03").fence(fence_type="status").status == t.PowerManagementStatus.UNKNOWN
    ha_lab.clear_faults()
    assert _host(conn, "host03").fence(fence_type="status").status == t.PowerManagementStatus.ON


def test_power_loss_is_fenced_and_ha_vms_restart(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab)
    since = last_event_index(conn)
    service = _host(conn, "host01")
    ha_vms = [v for v in conn.system_service().vms_service().list(search="host=host01") if v.high_availability.enabled]
    assert ha_vms
    ha_lab.fault("host_power_loss", "host01")
    ha_lab.step(1)
    assert service.get().status == t.HostStatus.CONNECTING
    # grace: 60 s + 20 s for the SPM + 0.5 s per running VM
    ha_lab.step(75)
    assert service.get().status == t.HostStatus.CONNECTING
    ha_lab.step(10)
    # non responsive, power off: no soft fence, power fence through a proxy host restarts it
    assert service.get().status in (t.HostStatus.NON_RESPONSIVE, t.HostStatus.REBOOT)
    log = [action for _when, action in ha_lab.host_state("host01")["power_log"]]
    assert log[-1] == "on"
    new = codes(conn, since)
    for code in (9008, 12, 539, 9020, 121, 119, 9602):
        assert code in new, (code, new)
    vms = conn.system_service().vms_service()
    for vm in ha_vms:
        current = vms.vm_service(vm.id).get(follow="host")
        assert current.status == t.VmStatus.UP and current.host.name != "host01"
    # restarted highest priority first
    priority = {vm.name: vm.high_availability.priority for vm in ha_vms}
    started = [e.vm.id for e in reversed(conn.system_service().events_service().list(from_=since)) if e.code == 32]
    names = {vm.id: vm.name for vm in ha_vms}
    order = [priority[names[vm_id]] for vm_id in started if vm_id in names]
    assert len(order) == len(ha_vms) and order == sorted(order, reverse=True), order
    ha_lab.step(61)
    assert service.get().status == t.HostStatus.UP
    assert ha_lab.host_state("host01")["status_log"][-5:] == ["connecting", "non_responsive", "reboot", "non_responsive", "up"]
    assert conn.system_service().hosts_service().list(search="name=host01")[0].spm.status == t.SpmStatus.NONE


def test_fencing_disabled_by_cluster_policy(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab, margin=10.0)
    clusters = conn.system_service().clusters_service()
    cluster = clusters.cluster_service(clusters.list()[0].id)
    cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(enabled=False)))
    try:
        since = last_event_index(conn)
        ha_lab.fault("host_network_cut", "host04")
        ha_lab.step(200)
        assert _host(conn, "host04").get().status == t.HostStatus.NON_RESPONSIVE
        assert 9015 in codes(conn, since)
        assert ha_lab.host_state("host04")["power_log"] == [] or ha_lab.host_state("host04")["power_log"][-1][1] != "off"
    finally:
        cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(enabled=True)))


def test_skip_if_storage_lease_alive(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """Management bridge down, storage fine: the proxy's vdsm sees the lease live and skips the fence, once (no retry)."""
    cluster = _skip_fencing_while_lease_alive(ha_lab, conn)
    try:
        since = last_event_index(conn)
        before = len(ha_lab.host_state("host04")["power_log"])
        ha_lab.fault("mgmt_bridge_down", "host04")
        ha_lab.step(400)
        new = codes(conn, since)
        assert new.count(9014) == 1 and 9020 not in new
        assert len(ha_lab.host_state("host04")["power_log"]) == before
        assert _host(conn, "host04").get().status == t.HostStatus.NON_RESPONSIVE
    finally:
        cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(skip_if_sd_active=t.SkipIfSdActive(enabled=False))))


def test_skip_if_connectivity_broken(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab, margin=10.0)
    clusters = conn.system_service().clusters_service()
    cluster = clusters.cluster_service(clusters.list()[0].id)
    cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(
        enabled=True, skip_if_connectivity_broken=t.SkipIfConnectivityBroken(enabled=True, threshold=50))))
    try:
        since = last_event_index(conn)
        ha_lab.fault("host_network_cut", "host03")
        ha_lab.fault("host_network_cut", "host04")
        ha_lab.step(200)
        assert 9013 in codes(conn, since)
    finally:
        cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(skip_if_connectivity_broken=t.SkipIfConnectivityBroken(enabled=False))))


def test_power_fence_switched_off(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    ha_lab.engine_ha(power_fence=False, soft_fence=False)
    ha_lab.fault("host_power_loss", "host03")
    ha_lab.step(300)
    assert _host(conn, "host03").get().status == t.HostStatus.NON_RESPONSIVE
    assert ha_lab.host_state("host03")["power_on"] is False


def test_ha_restart_retries_every_30_s_then_every_30_min_for_ever(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    vms = conn.system_service().vms_service()
    # no host may run anything: pin an HA VM to a host that is in maintenance
    hosts = conn.system_service().hosts_service()
    target = vms.list(search="name=vm0009")[0]
    vm_service = vms.vm_service(target.id)
    vm_service.update(t.Vm(placement_policy=t.VmPlacementPolicy(affinity=t.VmAffinity.PINNED, hosts=[t.Host(name="host02")]),
                           high_availability=t.HighAvailability(enabled=True, priority=100)))
    if vm_service.get(follow="host").host.name != "host02":
        vm_service.stop()
        vm_service.start()
    host_service = hosts.host_service(hosts.list(search="name=host02")[0].id)
    ha_lab.engine_ha(power_fence=False, soft_fence=False)
    ha_lab.fault("host_power_loss", "host02")
    ha_lab.step(120)
    since = last_event_index(conn)
    host_service.fence(fence_type="manual")
    ha_lab.step(30 * 10)
    new = codes(conn, since)
    assert new.count(9603) == 10 and 9605 not in new
    assert vm_service.get().status == t.VmStatus.DOWN
    # then every 1800 s after the tenth try (at +270 s), and the engine never gives up on an HA VM
    since = last_event_index(conn)
    ha_lab.step(1760)
    assert 9603 not in codes(conn, since)
    ha_lab.step(20)
    assert codes(conn, since).count(9603) == 1
    vm_service.update(t.Vm(placement_policy=t.VmPlacementPolicy(affinity=t.VmAffinity.MIGRATABLE, hosts=[])))


def test_vm_with_lease_restarts_without_fencing(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    vms = conn.system_service().vms_service()
    leased = vms.list(search="name=vm0003", follow="host")[0]
    assert leased.lease is not None and leased.high_availability.enabled
    origin = leased.host.name
    ha_lab.engine_ha(power_fence=False, soft_fence=False)
    since = last_event_index(conn)
    ha_lab.fault("host_network_cut", origin)
    ha_lab.step(70)
    # non responsive, but the old host still holds the lease: the engine's early try fails or waits
    assert ha_lab.truth()["running"]["vm0003"] == [origin]
    ha_lab.step(50)
    current = vms.vm_service(leased.id).get(follow="host")
    assert current.status == t.VmStatus.UP and current.host.name != origin
    # sanlock killed the copy on the cut-off host when its lease expired: one copy, no fence
    assert ha_lab.truth()["running"]["vm0003"] == [current.host.name]
    assert 9602 not in codes(conn, since) and ha_lab.host_state(origin)["power_on"]
    assert _host(conn, origin).get().status == t.HostStatus.NON_RESPONSIVE


def test_scaled_clock_runs_the_engine_in_real_time(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(str(tmp_path_factory.mktemp("scaled")), hosts=3, vms=3, time_scale=60, engine_uptime=600) as lab:
        lab.fault("host_power_loss", "host03")
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline:
            status = lab.host_state("host03")["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "up" and len(seen) > 1:
                break
            time.sleep(0.1)
        assert seen[0] == "up" and "connecting" in seen and seen[-1] == "up", seen
        assert [a for _when, a in lab.host_state("host03")["power_log"]][-1] == "on"


def test_auto_fence_skipped_during_engine_startup(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(str(tmp_path_factory.mktemp("startup")), hosts=3, vms=3, virtual_clock=True) as lab:
        connection = lab.connection()
        lab.fault("host_power_loss", "host03")
        lab.step(100)
        assert 9003 in codes(connection)
        lab.step(400)
        state = lab.host_state("host03")
        assert state["status"] == "non_responsive" and state["power_on"] is False
        assert state["fence_state"] == "skipped_startup"
        # an operator (or the collection) can still fence it by hand once the window passed
        _host(connection, "host03").fence(fence_type="restart")
        lab.step(61)
        assert lab.host_state("host03")["status"] == "up"
        connection.close()


def test_user_stop_of_ha_vm_is_not_restarted(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    vms = conn.system_service().vms_service()
    vm = vms.list(search="name=vm0001")[0]
    assert vm.high_availability.enabled
    service = vms.vm_service(vm.id)
    if service.get().status != t.VmStatus.UP:
        service.start()
    service.stop()
    ha_lab.step(60)
    assert service.get().status == t.VmStatus.DOWN
    service.start()


def test_deactivate_non_responsive_host_with_vms_is_refused(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    ha_lab.engine_ha(power_fence=False, soft_fence=False, lease_restart=False)
    host = _host(conn, "host04")
    if not conn.system_service().vms_service().list(search="host=host04"):
        vm = conn.system_service().vms_service().list(search="name=vm0012")[0]
        service = conn.system_service().vms_service().vm_service(vm.id)
        if service.get().status != t.VmStatus.DOWN:
            service.stop()
        service.start(vm=t.Vm(placement_policy=t.VmPlacementPolicy(hosts=[t.Host(name="host04")])))
    ha_lab.fault("host_network_cut", "host04")
    ha_lab.step(150)
    with pytest.raises(ovirtsdk4.Error, match="Host still has running VMs on it and is in Non Responsive state") as failure:
        host.deactivate()
    assert failure.value.code == 409


def test_unreachable_bmc_fails_the_power_fence(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab)
    since = last_event_index(conn)
    ha_lab.fault("bmc_unreachable", "host04")
    started = time.monotonic()
    assert _host(conn, "host04").fence(fence_type="status").status == t.PowerManagementStatus.UNKNOWN
    assert time.monotonic() - started < 20
    ha_lab.fault("host_power_loss", "host04")
    ha_lab.step(200)
    assert 9021 in codes(conn, since)
    assert ha_lab.host_state("host04")["status"] == "non_responsive"


def test_host_without_power_management_is_not_fenced(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    _past_startup(ha_lab, margin=10.0)
    service = _host(conn, "host04")
    service.update(t.Host(power_management=t.PowerManagement(enabled=False)))
    try:
        since = last_event_index(conn)
        ha_lab.engine_ha(soft_fence=False)
        ha_lab.fault("host_power_loss", "host04")
        ha_lab.step(200)
        assert 9027 in codes(conn, since)
        assert ha_lab.host_state("host04")["power_on"] is False
        with pytest.raises(ovirtsdk4.Error, match="Host fence is disabled"):
            service.fence(fence_type="restart")
    finally:
        service.update(t.Host(power_management=t.PowerManagement(enabled=True)))


def test_skip_if_sd_active_fences_a_host_whose_lease_went_stale(ha_lab: LabHandle, conn: ovirtsdk4.Connection) -> None:
    """A host that lost power stops renewing its lease: 90 s after its last good monitoring the engine fences it."""
    cluster = _skip_fencing_while_lease_alive(ha_lab, conn)
    try:
        since = last_event_index(conn)
        ha_lab.fault("host_power_loss", "host04")
        ha_lab.step(89)
        assert 9020 not in codes(conn, since)
        ha_lab.step(30)
        new = codes(conn, since)
        assert 9014 not in new and 9020 in new
        assert ha_lab.host_state("host04")["power_log"][-1][1] == "on"
    finally:
        cluster.update(t.Cluster(fencing_policy=t.FencingPolicy(skip_if_sd_active=t.SkipIfSdActive(enabled=False))))
