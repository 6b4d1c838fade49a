"""Faults injected through the admin endpoint and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.cli import REPO, LabError
from tests.lab.testing import LabHandle

pytestmark = pytest.mark.lab


def test_engine_api_500(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    lab_connection.system_service().get()
    lab.fault("engine_api_500")
    try:
        with pytest.raises(ovirtsdk4.Error) as failure:
            lab_connection.system_service().hosts_service().list()
        assert failure.value.code == 500
    finally:
        lab.clear_faults()
    assert lab_connection.system_service().hosts_service().list()


def test_engine_api_down_refuses_connections(lab: LabHandle) -> None:
    lab.fault("engine_api_down")
    try:
        with pytest.raises(ovirtsdk4.ConnectionError):
            lab.connection().system_service().get()
    finally:
        lab.clear_faults()
    connection = lab.connection()
    assert connection.system_service().get().product_info.name == "oVirt Engine"
    connection.close()


def test_engine_api_slow_hits_the_client_timeout(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    lab_connection.system_service().get()
    slow = lab.connection(timeout=1)
    slow.system_service().get()
    lab.fault("engine_api_slow", value=2)
    try:
        started = time.monotonic()
        with pytest.raises(ovirtsdk4.Error):
            slow.system_service().hosts_service().list()
        assert time.monotonic() - started < 5
    finally:
        lab.clear_faults()
        slow.close(logout=False)


def test_storage_domain_down_pauses_and_resumes(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    vms = lab_connection.system_service().vms_service()
    killed = vms.vm_service(vms.list(search="name=vm0007")[0].id)
    killed.update(t.Vm(storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.KILL))
    paused = vms.vm_service(vms.list(search="name=vm0006")[0].id)
    paused.update(t.Vm(storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.LEAVE_PAUSED))
    lab.fault("storage_domain_down", "data")
    dc = lab_connection.system_service().data_centers_service().list()[0]
    domains = lab_connection.system_service().data_centers_service().data_center_service(dc.id).storage_domains_service().list()
    assert {d.name: d.status for d in domains}["data"] == t.StorageDomainStatus.INACTIVE
    assert vms.list(search="name=vm0008")[0].status == t.VmStatus.PAUSED
    lab.clear_faults()
    assert vms.list(search="name=vm0008")[0].status == t.VmStatus.UP
    assert paused.get().status == t.VmStatus.PAUSED
    assert killed.get().status in (t.VmStatus.DOWN, t.VmStatus.UP, t.VmStatus.POWERING_UP)
    paused.stop()
    paused.start()
    paused.update(t.Vm(storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.AUTO_RESUME))
    killed.update(t.Vm(storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.AUTO_RESUME))
    if killed.get().status == t.VmStatus.DOWN:
        killed.start()


def test_unknown_fault_is_rejected(lab: LabHandle) -> None:
    with pytest.raises(LabError, match="unknown fault kind"):
        lab.fault("meteor_strike", "host01")
    with pytest.raises(LabError, match="needs a target host"):
        lab.fault("host_power_loss")


def test_fault_through_the_command_line(lab: LabHandle) -> None:
    env = dict(os.environ, PYTHONPATH=REPO)
    run = [sys.executable, "-m", "tests.lab"]
    subprocess.run([*run, "fault", "mgmt_bridge_down", "host04", "--state-dir", lab.state_dir], check=True, env=env, cwd=REPO,
                   capture_output=True, timeout=60)
    assert lab.host_state("host04")["mgmt_bridge_ok"] is False
    subprocess.run([*run, "fault", "--clear", "--state-dir", lab.state_dir], check=True, env=env, cwd=REPO, capture_output=True, timeout=60)
    assert lab.host_state("host04")["mgmt_bridge_ok"] is True
    lab.step(5)
    assert lab.host_state("host04")["status"] == "up"


def test_admin_errors_are_json(lab: LabHandle) -> None:
    with pytest.raises(LabError, match="404"):
        lab._call("GET", "/nothing-here")  # pylint: disable=protected-access
    with pytest.raises(LabError, match="unknown engine-ha feature"):
        lab.engine_ha(teleport=True)
    assert isinstance(urllib.error.HTTPError, type)


def test_engine_crash_without_hosted_engine_until_cleared(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.lab.testing import running_lab  # pylint: disable=import-outside-toplevel

    with running_lab(str(tmp_path_factory.mktemp("crash")), hosts=2, vms=2, virtual_clock=True, no_bmcs=True) as lab:
        lab.fault("engine_vm_crash")
        with pytest.raises(ovirtsdk4.ConnectionError):
            lab.connection().system_service().get()
        assert lab.state()["engine"]["up"] is False
        lab.clear_faults()
        connection = lab.connection()
        assert connection.system_service().get().product_info.name == "oVirt Engine"
        # a restarted engine does not fence in its first 300 s
        hosts = connection.system_service().hosts_service()
        with pytest.raises(ovirtsdk4.Error, match="Engine Service start up sequence"):
            hosts.host_service(hosts.list()[1].id).fence(fence_type="restart")
        connection.close()
