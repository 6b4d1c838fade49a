"""Worker processes (order, parallelism bound, hard deadline) and the self-fence guard."""
from __future__ import annotations

import os
import time

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi import bulk
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.errors import FenceRefused
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FenceRequest
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.pool import run_jobs
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.safety import (
    check_not_self, local_bmc_addresses_from_ipmitool)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ipmi.fake_bmc import FakeBmc, target


def _work(job, report):
    kind, value = job
    report({"stage": "started", "pid": os.getpid()})
    if kind == "sleep":
        time.sleep(value)
    elif kind == "raise":
        raise RuntimeError("boom")
    elif kind == "print":
        print("noise on stdout")
    return {"job": value, "pid": os.getpid(), "start": time.monotonic()}


def _on_deadline(job, progress, budget):
    return {"killed": job[1], "progress": progress, "budget": budget}


def test_results_in_job_order_each_in_its_own_process():
    jobs = [("sleep", 0.2), ("sleep", 0.0), ("sleep", 0.1)]
    results = run_jobs(jobs, _work, lambda job: 5, _on_deadline, parallel=3)
    assert [r["job"] for r in results] == [0.2, 0.0, 0.1]
    assert len({r["pid"] for r in results} | {os.getpid()}) == 4


def test_hard_deadline_kills_and_keeps_progress():
    started = time.monotonic()
    results = run_jobs([("sleep", 30), ("sleep", 0)], _work, lambda job: 0.5, _on_deadline, parallel=2)
    assert time.monotonic() - started < 5
    assert results[0]["killed"] == 30 and results[0]["progress"]["stage"] == "started"
    assert results[1]["job"] == 0


def test_parallelism_is_bounded():
    jobs = [("sleep", 0.3)] * 4
    started = time.monotonic()
    run_jobs(jobs, _work, lambda job: 5, _on_deadline, parallel=2)
    assert time.monotonic() - started >= 0.6


def test_worker_exception_and_stdout_are_contained(capfd):
    results = run_jobs([("raise", 1), ("print", 2)], _work, lambda job: 5, _on_deadline, parallel=2)
    assert "internal error" in results[0]["error"]["msg"] and results[1]["job"] == 2
    assert "noise" not in capfd.readouterr().out


def test_self_fence_refused_by_address_and_name():
    with pytest.raises(FenceRefused) as info:
        check_not_self([target("h1", address="10.9.9.9"), target("h2", address="10.0.0.2")], ["10.9.9.9"], set())
    assert "h1 (10.9.9.9:623) is this machine's own BMC" in str(info.value) and "delegate_to" in str(info.value)
    with pytest.raises(FenceRefused):
        check_not_self([target("myhost.example.com")], [], {"myhost"})
    check_not_self([target("h2", address="10.0.0.2")], ["10.9.9.9"], {"myhost"})


def test_local_bmc_address_parsing():
    text = "IP Address Source       : Static Address\nIP Address              : 10.1.2.3\nSubnet Mask : 255.0.0.0\n"
    assert local_bmc_addresses_from_ipmitool(["printf", text]) == ["10.1.2.3"]
    assert local_bmc_addresses_from_ipmitool(["false"]) == []
    assert local_bmc_addresses_from_ipmitool(["/nonexistent/ipmitool"]) == []


@pytest.fixture
def fake_factory(monkeypatch):
    bmcs = {}

    def factory(tgt):
        return bmcs[tgt.name].factory(tgt)

    monkeypatch.setattr(bulk, "session_factory", factory)
    return bmcs


def test_bulk_fence_mixed_fleet_through_workers(fake_factory):
    from pyghmi.exceptions import IpmiException
    fake_factory.update(ok=FakeBmc("on"), stuck=FakeBmc("on", stuck=True),
                        dead=FakeBmc(login_error=IpmiException("None")))
    targets = [target(name) for name in ("ok", "stuck", "dead")]
    request = FenceRequest(action="off", power_wait=0, power_timeout=0.5, poll_interval=0.05)
    results = bulk.bmc_fence(targets, request, parallel=3)
    by_name = {r["name"]: r for r in results}
    assert by_name["ok"]["result"] == "success" and by_name["ok"]["failed"] is False
    assert by_name["stuck"]["failed"] is True and by_name["stuck"]["error"]["kind"] == "timed_out"
    assert by_name["stuck"]["error"]["states_seen"][0].startswith("on")
    assert by_name["dead"]["error"]["kind"] == "unreachable" and "dead (192.0.2.10:623)" in by_name["dead"]["msg"]


def test_bulk_info_and_power(fake_factory):
    from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.power import PowerRequest
    from pyghmi.exceptions import IpmiException
    fake_factory.update(a=FakeBmc("off"), b=FakeBmc(login_error=IpmiException("Incorrect password provided")))
    info = bulk.bmc_info([target("a"), target("b")])
    assert info[0]["power"] == "off" and info[0]["chassis"]["power"] == "off" and info[0]["authenticated"]
    assert info[1]["reachable"] is True and info[1]["authenticated"] is False
    assert info[1]["error"]["kind"] == "authentication_failed"
    power = bulk.bmc_power([target("a")], PowerRequest(state="on", poll_interval=0.01))
    assert power[0]["changed"] is True and power[0]["power"] == "on"
