"""Every finding kind of the health report, created in the lab and cleared again, read through the real ovirtsdk4
over HTTPS (cluster_snapshot), the real metadata volume (read_volume, build_status) and the real BMCs (bmc_info);
admission control and the finding events against the lab's engine.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_report_lab.py
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set

import pytest
import yaml
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.snapshot import cluster_snapshot
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.liveness import LivenessTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.metadata import SLOT_BYTES, read_volume
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.vm_status import build_status
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.audit import AuditLog
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.bulk import bmc_info
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import BmcTarget
from ansible_collections.ovirt_ha.core.plugins.module_utils._report import document, events
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.findings import Thresholds
from ansible_collections.ovirt_ha.core.plugins.modules import ha_capacity_info, ha_finding_events
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from tests.lab.testing import LabHandle, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# engine HA that would repair what the tests break is off: the report must see the problem, not the engine's fix
LAYOUT = {
    "engine_uptime": 600,
    "engine_ha": {"soft_fence": False, "power_fence": False, "ha_restart": False, "lease_restart": False},
    "cluster": {"fencing_policy": {"enabled": True, "skip_if_connectivity_broken": True, "threshold": 50}},
    "hosts": [{"name": "host01", "memory_gib": 64}, {"name": "host02", "memory_gib": 64, "power_management": False},
              {"name": "host03", "memory_gib": 64}, {"name": "host04", "memory_gib": 64}],
    "vms": [{"name": "web", "host": "host01", "ha": True, "priority": 100, "memory_gib": 8, "lease": "data"},
            {"name": "app", "host": "host02", "ha": True, "priority": 50, "memory_gib": 4},
            {"name": "spare", "ha": True, "priority": 1},
            {"name": "big", "host": "host03", "ha": True, "priority": 50, "memory_gib": 40, "lease": "data"},
            {"name": "filler1", "memory_gib": 40}, {"name": "filler2", "memory_gib": 40},
            {"name": "batch", "host": "host04", "memory_gib": 24}],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    work = tmp_path_factory.mktemp("report-lab")
    layout = work / "layout.yml"
    layout.write_text(yaml.safe_dump(LAYOUT))
    with running_lab(str(work / "state"), virtual_clock=True, layout=str(layout)) as handle:
        yield handle


def snapshot(lab: LabHandle) -> Dict[str, Any]:
    connection = lab.connection()
    try:
        return cluster_snapshot(connection.system_service(), "Default")
    finally:
        connection.close()


def report(lab: LabHandle, **kwargs: Any) -> Dict[str, Any]:
    return document.build(snapshot(lab), **kwargs)


def keys(lab: LabHandle, **kwargs: Any) -> Set[str]:
    return {f["key"] for f in report(lab, **kwargs)["findings"]}


def system_call(lab: LabHandle, action: Any) -> Any:
    connection = lab.connection()
    try:
        return action(connection.system_service())
    finally:
        connection.close()


def vm_service(system: Any, name: str) -> Any:
    return system.vms_service().vm_service(system.vms_service().list(search="name=%s" % name)[0].id)


def host_service(system: Any, name: str) -> Any:
    return system.hosts_service().host_service(system.hosts_service().list(search="name=%s" % name)[0].id)


BASELINE = {"ha_vm_down/spare", "ha_vm_unprotected/app", "host_no_power_management/host02"}


def test_the_layout_has_exactly_its_three_problems(lab: LabHandle) -> None:
    doc = report(lab)
    assert {f["key"] for f in doc["findings"]} == BASELINE
    assert doc["verdict"]["state"] == "failing"
    assert doc["capacity"]["host_failures_tolerated"] == 1


def test_ha_vm_down_clears_when_the_vm_runs(lab: LabHandle) -> None:
    system_call(lab, lambda s: vm_service(s, "spare").start())
    lab.step(5)
    assert "ha_vm_down/spare" not in keys(lab)
    system_call(lab, lambda s: vm_service(s, "spare").stop())
    lab.step(5)
    assert "ha_vm_down/spare" in keys(lab)


def test_unprotected_vm_clears_with_a_lease(lab: LabHandle) -> None:
    def lease(domain: Optional[str]) -> None:
        def update(system: Any) -> None:
            sd = system.storage_domains_service().list(search="name=data")[0] if domain else None
            vm_service(system, "app").update(types.Vm(lease=types.StorageDomainLease(
                storage_domain=types.StorageDomain(id=sd.id) if sd else None)))
        system_call(lab, update)
    lease("data")
    assert "ha_vm_unprotected/app" not in keys(lab)
    lease(None)
    assert "ha_vm_unprotected/app" in keys(lab)


def test_host_without_power_management(lab: LabHandle) -> None:
    def power_management(enabled: bool) -> None:
        system_call(lab, lambda s: host_service(s, "host01").update(types.Host(
            power_management=types.PowerManagement(enabled=enabled))))
    power_management(False)
    found = keys(lab)
    assert "host_no_power_management/host01" in found
    assert "ha_vm_unprotected/web" not in found  # web holds a lease: restartable without a fence
    power_management(True)
    assert "host_no_power_management/host01" not in keys(lab)


def bmc_checks(lab: LabHandle) -> List[Dict[str, Any]]:
    targets = [BmcTarget(name=h["name"], address=h["bmc"]["address"], port=h["bmc"]["port"], username=h["bmc"]["username"],
                         password=h["bmc"]["password"], timeout=3) for h in lab.info["hosts"] if h.get("bmc")]
    return bmc_info(targets)


def test_fence_check_failure_from_the_real_bmcs(lab: LabHandle) -> None:
    assert not any(k.startswith("host_fence_check_failed") for k in keys(lab, bmc_checks=bmc_checks(lab)))
    lab.fault("bmc_wrong_password", "host03")
    try:
        doc = report(lab, bmc_checks=bmc_checks(lab))
    finally:
        lab.clear_faults()
    found = {f["key"]: f for f in doc["findings"]}
    assert "host_fence_check_failed/host03" in found and found["host_fence_check_failed/host03"]["severity"] == "critical"
    assert next(h for h in doc["hosts"] if h["name"] == "host03")["fence_check"]["state"] == "failed"
    assert not any(k.startswith("host_fence_check_failed") for k in keys(lab, bmc_checks=bmc_checks(lab)))


def wait_status(lab: LabHandle, host: str, status: str, limit: int = 40) -> None:
    for _attempt in range(limit):
        if lab.host_state(host)["status"] == status:
            return
        lab.step(10)
    raise AssertionError("%s never became %s: %s" % (host, status, lab.host_state(host)["status"]))


def test_unreachable_hosts_and_the_fencing_policy(lab: LabHandle) -> None:
    lab.fault("host_network_cut", "host04")
    try:
        wait_status(lab, "host04", "non_responsive")
        found = keys(lab)
        assert {"host_unreachable/host04", "fencing_policy_skips_next_failure/Default"} <= found  # 2 of 4 = 50 %
        assert "fencing_policy_skips/Default" not in found
        lab.fault("host_network_cut", "host03")
        wait_status(lab, "host03", "non_responsive")
        found = keys(lab)
        assert {"host_unreachable/host03", "fencing_policy_skips/Default"} <= found
        assert "fencing_policy_skips_next_failure/Default" not in found
    finally:
        lab.clear_faults()
    wait_status(lab, "host03", "up")
    wait_status(lab, "host04", "up")
    assert keys(lab) == BASELINE


def set_policy(lab: LabHandle, **fields: Any) -> None:
    def update(system: Any) -> None:
        cluster = system.clusters_service().list(search="name=Default")[0]
        policy = types.FencingPolicy(enabled=fields.get("enabled", True), skip_if_connectivity_broken=types.SkipIfConnectivityBroken(
            enabled=True, threshold=fields.get("threshold", 50)))
        system.clusters_service().cluster_service(cluster.id).update(types.Cluster(fencing_policy=policy))
    system_call(lab, update)


def test_fencing_disabled_and_a_threshold_one_failure_reaches(lab: LabHandle) -> None:
    set_policy(lab, enabled=False)
    assert "fencing_disabled/Default" in keys(lab)
    set_policy(lab, threshold=25)
    found = keys(lab)
    assert "fencing_disabled/Default" not in found and "fencing_policy_skips_next_failure/Default" in found
    set_policy(lab, threshold=50)
    assert keys(lab) == BASELINE


def test_storage_domain_down_and_low_space(lab: LabHandle) -> None:
    lab.fault("storage_domain_down", "data")
    try:
        assert "storage_domain_down/data" in keys(lab)
    finally:
        lab.clear_faults()
    lab.step(5)
    assert "storage_domain_down/data" not in keys(lab)
    # the lab's data domain is 20 % used: a 90 % free threshold makes it low, the default 10 % does not
    assert "storage_domain_low_space/data" in keys(lab, thresholds=Thresholds(storage_free_percent=90))
    assert "storage_domain_low_space/data" not in keys(lab)


def test_spm_missing_when_the_only_spm_candidate_is_in_maintenance(lab: LabHandle) -> None:
    def priorities(value: int) -> None:
        def update(system: Any) -> None:
            for name in ("host02", "host03", "host04"):
                host_service(system, name).update(types.Host(spm=types.Spm(priority=value)))
        system_call(lab, update)
    priorities(-1)
    try:
        system_call(lab, lambda s: host_service(s, "host01").deactivate())
        wait_status(lab, "host01", "maintenance")
        assert "spm_missing/Default" in keys(lab)
        system_call(lab, lambda s: host_service(s, "host01").activate())
        wait_status(lab, "host01", "up")
        lab.step(10)
    finally:
        priorities(5)
    assert "spm_missing/Default" not in keys(lab)
    # the VMs host01's maintenance moved away come back where the layout had them
    system_call(lab, lambda s: vm_service(s, "web").migrate(host=types.Host(name="host01")))
    lab.step(5)
    assert keys(lab) == BASELINE


def auth(lab: LabHandle) -> Dict[str, Any]:
    engine = lab.info["engine"]
    return {"url": engine["url"], "username": engine["username"], "password": engine["password"], "ca_file": engine["ca_file"]}


def test_capacity_breaks_when_fillers_take_the_memory_and_recovers(lab: LabHandle, capsys: Any) -> None:
    def start(name: str, host: str) -> None:
        system_call(lab, lambda s: vm_service(s, name).start(vm=types.Vm(placement_policy=types.VmPlacementPolicy(
            hosts=[types.Host(name=host)]))))
    start("filler1", "host01")
    start("filler2", "host02")
    lab.step(5)
    try:
        doc = report(lab)
        found = {f["key"]: f for f in doc["findings"]}
        assert "capacity_insufficient/Default" in found, sorted(found)
        # the module answers the same from its own read, and fails when asked to
        rc, module = run_main(ha_capacity_info.main, {"cluster": "Default", "auth": auth(lab)}, capsys)
        assert rc == 0 and module["levels"] == doc["capacity"]["levels"] and module["api_requests"] == 4
        rc, strict = run_main(ha_capacity_info.main, {"cluster": "Default", "auth": auth(lab), "fail_on_insufficient": True},
                              capsys)
        assert rc == 1 and "tolerates 0" in strict["msg"]
        level = doc["capacity"]["levels"][0]
        assert not level["ok"] and level["breaking"]["failed_hosts"] == ["host03"]
        assert [u["vm"] for u in level["breaking"]["unplaced"]] == ["big"]
        assert "host03" in found["capacity_insufficient/Default"]["message"]
    finally:
        for name in ("filler1", "filler2"):
            system_call(lab, lambda s, n=name: vm_service(s, n).stop())
        lab.step(5)
    assert "capacity_insufficient/Default" not in keys(lab)
    rc, module = run_main(ha_capacity_info.main, {"cluster": "Default", "auth": auth(lab), "host_failures": 2}, capsys)
    assert rc == 0 and module["host_failures_tolerated"] >= 1 and len(module["levels"]) >= 1


def test_finding_events_open_once_and_clear_once(lab: LabHandle, capsys: Any) -> None:
    def run() -> List[events.Transition]:
        connection = lab.connection()
        try:
            system = connection.system_service()
            snap = cluster_snapshot(system, "Default")
            found = document.build(snap)["findings"]
            changes = events.transitions(found, events.read_records(system), snap["cluster"]["id"])
            log = AuditLog(system, snap["cluster"]["id"], "Default")
            for change in changes:
                events.post(log, change, events.object_ids(snap))
            return changes
        finally:
            connection.close()

    findings = report(lab)["findings"]
    rc, checked = run_main(ha_finding_events.main, {"cluster": "Default", "findings": findings, "auth": auth(lab)}, capsys,
                           check_mode=True, diff=True)
    assert rc == 0 and checked["changed"] is True and sorted(c["key"] for c in checked["opened"]) == sorted(BASELINE)
    assert checked["diff"]["after"]["cluster Default"]["open findings"] == sorted(BASELINE)
    assert system_call(lab, lambda s: s.events_service().list(search="origin=ovirt_ha.core", max=10)) == []
    first = run()
    assert sorted((c.state, c.key) for c in first) == sorted((events.OPEN, k) for k in BASELINE)
    rc, again = run_main(ha_finding_events.main, {"cluster": "Default", "findings": findings, "auth": auth(lab)}, capsys)
    assert rc == 0 and again["changed"] is False and again["open_before"] == sorted(BASELINE) and again["api_requests"] == 2
    assert run() == []  # nothing changed: nothing posted
    system_call(lab, lambda s: vm_service(s, "spare").start())
    lab.step(5)
    assert [(c.state, c.key, c.episode) for c in run()] == [(events.CLEAR, "ha_vm_down/spare", 1)]
    system_call(lab, lambda s: vm_service(s, "spare").stop())
    lab.step(5)
    assert [(c.state, c.key, c.episode) for c in run()] == [(events.OPEN, "ha_vm_down/spare", 2)]
    stored = system_call(lab, lambda s: s.events_service().list(search="origin=ovirt_ha.core", max=100))
    spare = [e for e in stored if "spare" in (e.description or "")]
    assert len(spare) == 3 and all(e.vm is not None for e in spare if "cleared" not in e.description)
    assert len({e.custom_id for e in stored}) == len(stored)
    # a second post of a transition already stored is refused by the engine and counts as posted
    connection = lab.connection()
    try:
        system = connection.system_service()
        log = AuditLog(system, report(lab)["cluster"]["id"], "Default")
        again = events.Transition(events.OPEN, "ha_vm_down/spare", 2, report(lab)["findings"][0])
        assert events.post(log, again, {}) is False
    finally:
        connection.close()


# -- the hosted engine: its own lab, read from the metadata volume -------------------------------------------------

@pytest.fixture(scope="module")
def he_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("report-he")), hosts=3, vms=3, hosted_engine=True, virtual_clock=True,
                     engine_uptime=600) as handle:
        handle.engine_ha(power_fence=False, soft_fence=False)
        yield handle


class Volume:
    """Reads the lab's metadata volume as hosted_engine_status does, judging liveness on the lab's clock."""

    def __init__(self, lab: LabHandle) -> None:
        self.lab = lab
        self.path = lab.info["hosted_engine"]["metadata_volume"]
        self.tracker = LivenessTracker(timeout=60)

    def status(self) -> Dict[str, Any]:
        now = float(self.lab.state()["clock"]["now"]) if "clock" in self.lab.state() else 0.0
        volume = read_volume(self.path, 10)
        for block in volume.hosts.values():
            self.tracker.observe(block.host_id, block.timestamp, now)
        return build_status(volume, {b.host_id: self.tracker.is_alive(b.host_id, now) for b in volume.hosts.values()})

    def kinds(self) -> Set[str]:
        return {f["key"] for f in document.build(snapshot_or_empty(self.lab), he_status=self.status())["findings"]
                if f["kind"].startswith("he_")}


def snapshot_or_empty(lab: LabHandle) -> Dict[str, Any]:
    """The engine's snapshot, or an empty one while the engine is down (its VM crashed)."""
    try:
        return snapshot(lab)
    except Exception:  # pylint: disable=broad-except
        return {"cluster": {"name": "Default"}, "hosts": [], "vms": [], "storage_domains": []}


def test_he_global_maintenance_from_the_engine_and_the_volume(he_lab: LabHandle) -> None:
    volume = Volume(he_lab)
    assert volume.kinds() == set()

    def maintenance(enabled: bool) -> None:
        system_call(he_lab, lambda s: vm_service(s, "HostedEngine").maintenance(maintenance_enabled=enabled))
        he_lab.step(20)
    maintenance(True)
    try:
        assert "he_global_maintenance/Default" in keys(he_lab)  # the engine's view alone
        assert "he_global_maintenance/Default" in volume.kinds()
    finally:
        maintenance(False)
    assert volume.kinds() == set() and "he_global_maintenance/Default" not in keys(he_lab)


def test_he_score_gap(he_lab: LabHandle) -> None:
    volume = Volume(he_lab)
    he_lab.fault("gateway_down", "host03")
    try:
        he_lab.step(30)
        assert "he_score_gap/host03" in volume.kinds()
    finally:
        he_lab.clear_faults()
    he_lab.step(30)
    assert "he_score_gap/host03" not in volume.kinds()


def test_he_stale_host(he_lab: LabHandle) -> None:
    volume = Volume(he_lab)
    he_lab.fault("stale_metadata", "host03")
    try:
        volume.kinds()
        he_lab.step(70)
        assert "he_stale_host/host03" in volume.kinds()
    finally:
        he_lab.clear_faults()
    he_lab.step(20)
    assert "he_stale_host/host03" not in volume.kinds()


def test_he_metadata_problem_a_block_failing_its_checksum(he_lab: LabHandle) -> None:
    volume = Volume(he_lab)
    path = Path(volume.path)
    data = bytearray(path.read_bytes())
    slot = 3 * SLOT_BYTES
    data[slot + 40] = (data[slot + 40] + 1) % 256 or 65  # one byte of host 3's block, its checksum left alone
    fd = os.open(str(path), os.O_WRONLY)
    try:
        os.pwrite(fd, bytes(data[slot:slot + SLOT_BYTES]), slot)
    finally:
        os.close(fd)
    assert any(k.startswith("he_metadata_problem/") for k in volume.kinds())
    he_lab.step(20)  # the agent writes its block again on its next loop
    assert not any(k.startswith("he_metadata_problem/") for k in volume.kinds())


def test_he_all_scores_zero_with_the_engine_down(he_lab: LabHandle) -> None:
    volume = Volume(he_lab)
    he_lab.fault("agent_stopped", "host02")
    he_lab.fault("agent_stopped", "host03")
    he_lab.fault("engine_vm_crash")
    try:
        he_lab.step(20)
        found = volume.kinds()
        assert "he_all_scores_zero/Default" in found, found
    finally:
        he_lab.clear_faults()
    for _attempt in range(30):
        he_lab.step(10)
        if "he_all_scores_zero/Default" not in volume.kinds():
            break
    assert "he_all_scores_zero/Default" not in volume.kinds()


# kind -> the test above that creates it in the lab and clears it again
COVERAGE = {
    "ha_vm_down": "test_ha_vm_down_clears_when_the_vm_runs",
    "ha_vm_unprotected": "test_unprotected_vm_clears_with_a_lease",
    "host_no_power_management": "test_host_without_power_management",
    "host_fence_check_failed": "test_fence_check_failure_from_the_real_bmcs",
    "host_unreachable": "test_unreachable_hosts_and_the_fencing_policy",
    "fencing_policy_skips": "test_unreachable_hosts_and_the_fencing_policy",
    "fencing_policy_skips_next_failure": "test_fencing_disabled_and_a_threshold_one_failure_reaches",
    "fencing_disabled": "test_fencing_disabled_and_a_threshold_one_failure_reaches",
    "storage_domain_down": "test_storage_domain_down_and_low_space",
    "storage_domain_low_space": "test_storage_domain_down_and_low_space",
    "spm_missing": "test_spm_missing_when_the_only_spm_candidate_is_in_maintenance",
    "capacity_insufficient": "test_capacity_breaks_when_fillers_take_the_memory_and_recovers",
    "he_global_maintenance": "test_he_global_maintenance_from_the_engine_and_the_volume",
    "he_score_gap": "test_he_score_gap",
    "he_stale_host": "test_he_stale_host",
    "he_metadata_problem": "test_he_metadata_problem_a_block_failing_its_checksum",
    "he_all_scores_zero": "test_he_all_scores_zero_with_the_engine_down",
}


def test_every_finding_kind_has_a_lab_test_that_creates_and_clears_it() -> None:
    """A new kind in findings.KINDS needs its lab test here; each named test asserts the kind present, then absent."""
    from ansible_collections.ovirt_ha.core.plugins.module_utils._report.findings import KINDS  # pylint: disable=import-outside-toplevel

    assert set(COVERAGE) == set(KINDS)
    source = Path(__file__).read_text()
    for kind, test in COVERAGE.items():
        body = source.split("def %s(" % test, 1)[1].split("\ndef ", 1)[0]
        assert kind in body and "not in" in body or "BASELINE" in body or "startswith" in body, (kind, test)
