"""ipmi_info / ipmi_power / ipmi_fence: exit JSON with a fake at the pyghmi boundary (workers still forked)."""
from __future__ import annotations

import json
import os

import pytest
from pyghmi.exceptions import IpmiException

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi import bulk
from ansible_collections.ovirt_ha.core.plugins.modules import ipmi_fence, ipmi_info, ipmi_power
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import REFERENCE
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ipmi.fake_bmc import FakeBmc


@pytest.fixture
def bmcs(monkeypatch):
    fleet = {}
    monkeypatch.setattr(bulk, "session_factory", lambda target: fleet[target.name].factory(target))
    monkeypatch.delenv("IPMI_USERNAME", raising=False)
    monkeypatch.delenv("IPMI_PASSWORD", raising=False)
    return fleet


def run(main, args, capsys, check_mode=False):
    rc, result = run_main(main, args, capsys, check_mode=check_mode)
    result["rc"] = rc
    return result


CREDS = {"username": "admin", "password": "topsecret-pw"}


def entries(*names):
    return [{"name": name, "address": "192.0.2.%d" % (index + 1)} for index, name in enumerate(names)]


def test_info_reports_every_bmc_and_does_not_fail_by_default(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"), h2=FakeBmc(login_error=IpmiException("None")))
    result = run(ipmi_info.main, dict(CREDS, bmcs=entries("h1", "h2"), timeout=2), capsys)
    assert result["rc"] == 0 and result["changed"] is False
    assert result["summary"] == {"total": 2, "ok": 1, "unreachable": 1, "authentication_failed": 0,
                                 "command_refused": 0, "timed_out": 0}
    assert result["bmcs"][0]["chassis"]["power"] == "on"
    assert "topsecret-pw" not in json.dumps(result)


def test_info_fail_on_error(bmcs, capsys):
    bmcs.update(h1=FakeBmc(login_error=IpmiException("Incorrect password provided")))
    result = run(ipmi_info.main, dict(CREDS, bmcs=entries("h1"), fail_on_error=True), capsys)
    assert result["rc"] == 1 and result["failed"] is True
    assert "h1 (192.0.2.1:623) rejected the password" in result["msg"]


def test_env_fallback_for_credentials(bmcs, capsys, monkeypatch):
    monkeypatch.setenv("IPMI_USERNAME", "envuser")
    monkeypatch.setenv("IPMI_PASSWORD", "envpass")
    seen = {}

    def factory(target):
        seen["creds"] = (target.username, target.password)
        return FakeBmc("on").factory(target)

    monkeypatch.setattr(bulk, "session_factory", factory)
    result = run(ipmi_info.main, dict(address="192.0.2.9"), capsys)
    assert result["rc"] == 0 and result["bmcs"][0]["name"] == "192.0.2.9"


def test_power_idempotence_and_check_mode(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"), h2=FakeBmc("off"))
    result = run(ipmi_power.main, dict(CREDS, bmcs=entries("h1", "h2"), state="on"), capsys, check_mode=True)
    assert result["changed"] is True
    assert [b["changed"] for b in result["bmcs"]] == [False, True]
    # no command was sent, so nothing was waited for (the real-UDP tests check the BMC side)
    assert result["bmcs"][1]["command"] == "on" and "states_seen" not in result["bmcs"][1]
    result = run(ipmi_power.main, dict(CREDS, bmcs=entries("h1"), state="on"), capsys)
    assert result["changed"] is False and result["bmcs"][0]["command"] is None


def test_power_failure_names_each_failing_bmc(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"), h2=FakeBmc(login_error=IpmiException("Unauthorized name in RAKP2")))
    result = run(ipmi_power.main, dict(CREDS, bmcs=entries("h1", "h2"), state="status"), capsys)
    assert result["rc"] == 1 and result["msg"].startswith("1 of 2 BMC(s) failed: BMC h2 (192.0.2.2:623)")
    assert result["bmcs"][0]["power"] == "on" and result["bmcs"][1]["error"]["kind"] == "authentication_failed"


def test_power_rejects_bad_wait_timeout(bmcs, capsys):
    result = run(ipmi_power.main, dict(CREDS, address="x", state="on", wait_timeout=0), capsys)
    assert result["rc"] == 1 and "wait_timeout" in result["msg"]


def test_fence_stuck_power_fails_with_states_seen(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on", stuck=True))
    result = run(ipmi_fence.main, dict(CREDS, bmcs=entries("h1"), action="off", power_wait=0, power_timeout=0.5,
                                       detect_own_bmc=False), capsys)
    assert result["rc"] == 1 and result["failed"] is True
    record = result["bmcs"][0]
    assert record["result"] == "failed" and record["fenced"] is False
    assert "NOT fenced" in result["msg"] and "states seen: on" in result["msg"]


def test_fence_success_and_audit_record(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"))
    result = run(ipmi_fence.main, dict(CREDS, bmcs=entries("h1"), action="reboot", power_wait=0,
                                       detect_own_bmc=False), capsys)
    assert result["rc"] == 0 and result["changed"] is True
    record = result["bmcs"][0]
    assert record["fenced"] is True and [p["command"] for p in record["phases"]] == ["off", "on"]
    assert record["started_at"] and record["finished_at"] and record["elapsed"] is not None


def test_fence_refuses_own_bmc(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"))
    result = run(ipmi_fence.main, dict(CREDS, bmcs=entries("h1"), action="off",
                                       own_bmc_addresses=["192.0.2.1"], detect_own_bmc=False), capsys)
    assert result["rc"] == 1 and "own BMC" in result["msg"] and result["error_kind"] == "refused"
    assert bmcs["h1"].logins == 0


def test_fence_check_mode_sends_nothing(bmcs, capsys):
    bmcs.update(h1=FakeBmc("on"))
    result = run(ipmi_fence.main, dict(CREDS, bmcs=entries("h1"), action="off", detect_own_bmc=False), capsys,
                 check_mode=True)
    assert result["changed"] is True and result["bmcs"][0]["commands"] == ["off"]
    assert result["bmcs"][0]["fenced"] is False


def test_cipher_zero_is_not_an_option(bmcs, capsys):
    result = run(ipmi_info.main, dict(CREDS, address="x", cipher=0), capsys)
    assert result["rc"] == 1 and "cipher" in result["msg"]


MODULE_ARGS = {"ipmi_fence": dict(action="off", detect_own_bmc=False), "ipmi_power": dict(state="off"),
               "ipmi_info": dict(fail_on_error=True)}


class DyingBmc(FakeBmc):
    """The worker process dies during the login (as after a crash in pyghmi or the OOM killer)."""

    def factory(self, target):
        os._exit(3)


@pytest.mark.parametrize("module", [ipmi_fence, ipmi_power, ipmi_info], ids=lambda m: m.__name__.rsplit(".")[-1])
def test_worker_that_dies_fails_the_bmc_and_the_task(bmcs, capsys, module):
    # a BMC without a result must not read as success ("when unsure, exit non-zero")
    bmcs.update(h1=DyingBmc(), h2=FakeBmc("off"))
    args = MODULE_ARGS[module.__name__.rsplit(".")[-1]]
    result = run(module.main, dict(CREDS, bmcs=entries("h1", "h2"), **args), capsys)
    assert result["rc"] == 1 and result["failed"] is True
    first, second = result["bmcs"]
    assert first["name"] == "h1" and first["address"] == "192.0.2.1" and first["failed"] is True
    assert "ended without a result (exit code 3)" in first["msg"]
    assert first.get("fenced", False) is False
    assert second["name"] == "h2" and second["failed"] is False
    assert "1 of 2 BMC(s) failed" in result["msg"]


@pytest.mark.parametrize("module,patched", [(ipmi_fence, "fence"), (ipmi_power, "set_power")],
                         ids=["ipmi_fence", "ipmi_power"])
def test_unexpected_error_fails_the_bmc_without_the_password(bmcs, capsys, monkeypatch, module, patched):
    def explode(*args, **kwargs):
        raise ValueError("bad byte in topsecret-pw")

    monkeypatch.setattr(bulk, patched, explode)
    bmcs.update(h1=FakeBmc("on"))
    args = MODULE_ARGS[module.__name__.rsplit(".")[-1]]
    result = run(module.main, dict(CREDS, bmcs=entries("h1"), **args), capsys)
    assert result["rc"] == 1 and result["bmcs"][0]["failed"] is True
    assert "unexpected ValueError: bad byte in ********" in result["bmcs"][0]["msg"]
    assert result["bmcs"][0].get("fenced", False) is False


def test_unexpected_error_text_is_scrubbed_before_it_leaves_the_worker(bmcs, monkeypatch):
    # module output is masked by Ansible's no_log too; the worker's own result must not need that
    def explode(*args, **kwargs):
        raise ValueError("x topsecret-pw")

    monkeypatch.setattr(bulk, "set_power", explode)
    bmcs.update(h1=FakeBmc("on"))
    targets = [bulk.BmcTarget(name="h1", address="192.0.2.1", username="admin", password="topsecret-pw")]
    results = bulk.bmc_power(targets, bulk.PowerRequest(state="off"))
    assert results[0]["failed"] is True and "topsecret-pw" not in json.dumps(results)


def test_fence_refuses_the_host_running_the_engine_vm_unless_forced(bmcs, capsys):
    # the reference volume shows the engine VM up on host1.example.com
    bmcs.update({"host1": FakeBmc("on"), "host2.example.com": FakeBmc("on")})
    args = dict(CREDS, action="off", detect_own_bmc=False, power_wait=0,
                hosted_engine_metadata=str(REFERENCE / "hosted-engine.metadata"),
                bmcs=[{"name": "host1", "address": "192.0.2.1"}, {"name": "host2.example.com", "address": "192.0.2.2"}])
    result = run(ipmi_fence.main, args, capsys)
    assert result["rc"] == 1 and result["error_kind"] == "refused"
    assert "refusing to fence host1 (192.0.2.1:623)" in result["msg"] and "host2" not in result["msg"]
    assert bmcs["host1"].commands == [] and bmcs["host1"].logins == 0
    checked = run(ipmi_fence.main, args, capsys, check_mode=True)
    assert checked["rc"] == 1 and checked["error_kind"] == "refused"
    forced = run(ipmi_fence.main, dict(args, force=True), capsys)
    assert forced["rc"] == 0 and [entry["fenced"] for entry in forced["bmcs"]] == [True, True]
    other = run(ipmi_fence.main, dict(args, bmcs=args["bmcs"][1:]), capsys)
    assert other["rc"] == 0 and other["bmcs"][0]["fenced"] is True


def test_fence_fails_before_acting_when_the_metadata_cannot_be_read(bmcs, capsys, tmp_path):
    bmcs.update(h1=FakeBmc("on"))
    result = run(ipmi_fence.main, dict(CREDS, bmcs=entries("h1"), action="reboot", detect_own_bmc=False,
                                       hosted_engine_metadata=str(tmp_path / "missing")), capsys)
    assert result["rc"] == 1 and result["msg"].startswith("hosted_engine_metadata: cannot read")
    assert bmcs["h1"].logins == 0
