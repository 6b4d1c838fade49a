"""The ha_reconcile module run in-process (tests/unit/module_runner.py), patched at the session or reconcile boundary."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional
from unittest import mock

import pytest
import yaml  # type: ignore[import-untyped]

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.lease import DEFAULT_TTL, action_budget
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.options import POLICY_OPTIONS
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy
from ansible_collections.ovirt_ha.core.plugins.modules import ha_reconcile
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.engine.fake_engine import AUTH, FakeSession
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.ha.fake_ha_engine import FakeBmcs, HaEngine

SESSION = "ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module.EngineSession"
BMC_PASSWORD = "bmc-top-secret"
ENTRY_PASSWORD = "entry-top-secret"


class Sessions:
    """Stands in for EngineSession: counts the connections the module opened."""

    def __init__(self, engine: HaEngine) -> None:
        self.engine = engine
        self.opened: List[Any] = []

    def __call__(self, options: Any) -> FakeSession:
        self.opened.append(options)
        return FakeSession(self.engine)


def lab() -> HaEngine:
    engine = HaEngine()
    cluster = engine.add_cluster("Default")
    for n in (1, 2, 3):
        engine.add_host("host%02d" % n, cluster)
    dead = engine.add_host("host04", cluster, status="non_responsive", power="off")
    engine.add_event(9008, 600, host=dead)
    engine.add_event(12, 580, host=dead)
    engine.add_event(9027, 570, host=dead)
    return engine


def run(args: Dict[str, Any], capsys: Any, engine: Optional[HaEngine] = None, *, check_mode: bool = False) -> tuple:
    """(exit JSON, sessions opened, raw stdout)."""
    engine = engine or lab()
    sessions = Sessions(engine)
    args = dict(args, auth=AUTH)
    with mock.patch(SESSION, sessions):
        rc, result = run_main(ha_reconcile.main, args, capsys, check_mode=check_mode)
    result["rc"] = rc
    return result, sessions, json.dumps(result)


# -- argument spec -------------------------------------------------------------------------------------

def test_argument_spec_hides_every_password(monkeypatch: Any) -> None:
    class Captured(Exception):
        pass

    def capture(spec: Dict[str, Any], **_kwargs: Any) -> None:
        raise Captured(spec)

    monkeypatch.setattr(ha_reconcile, "EngineModule", capture)
    with pytest.raises(Captured) as info:
        ha_reconcile.main()
    spec = info.value.args[0]
    assert spec["bmc_password"]["no_log"] is True
    assert spec["bmcs"]["options"]["password"]["no_log"] is True
    assert spec["policy"]["options"] is POLICY_OPTIONS
    assert spec["cluster"] == {"type": "str", "required": True}
    assert spec["lease"]["options"]["ttl"] == {"type": "float", "default": 180}
    documented = yaml.safe_load(ha_reconcile.DOCUMENTATION)["options"]["lease"]["suboptions"]["ttl"]
    assert documented["default"] == 180 == DEFAULT_TTL


def test_the_default_lease_ttl_covers_the_default_longest_action() -> None:
    assert DEFAULT_TTL >= action_budget(ReconcilePolicy(), 15) + 30


def test_passwords_never_reach_the_output(capsys: Any) -> None:
    def leaky(system: Any, request: Any, order: List[str]) -> Dict[str, Any]:
        passwords = [t.password for t in request.bmcs.values()]
        return {"problems": [], "summary": {"echo": "BMC said: %s" % " ".join(passwords)}, "plan": {}, "changed": False,
                "run_warnings": []}

    args = {"cluster": "Default", "bmc_username": "admin", "bmc_password": BMC_PASSWORD,
            "bmcs": [{"name": "host04", "address": "10.0.0.4"},
                     {"name": "host03", "address": "10.0.0.3", "password": ENTRY_PASSWORD}]}
    with mock.patch.object(ha_reconcile, "reconcile", leaky):
        result, _sessions, raw = run(args, capsys)
    assert not result.get("failed"), result
    assert BMC_PASSWORD not in raw and ENTRY_PASSWORD not in raw
    assert result["summary"]["echo"] == "BMC said: ******** ********"  # it was there, and masked


# -- validation before connecting ---------------------------------------------------------------------

@pytest.mark.parametrize("policy, field, expected", [
    ({"lease_wait": 10}, "policy.lease_wait", "a number between"),
    ({"fence_budget": 500}, "policy.fence_budget", "a whole number between"),
    ({"connectivity_threshold": 0}, "policy.connectivity_threshold", "a whole number between")])
def test_bad_policy_fails_before_connecting_naming_the_field(capsys: Any, policy: Dict[str, Any], field: str,
                                                             expected: str) -> None:
    engine = lab()
    result, sessions, _raw = run({"cluster": "Default", "policy": policy}, capsys, engine)
    assert result["failed"] is True
    assert result["msg"].startswith("invalid %s: expected %s" % (field, expected))
    assert result["error_type"] == "InputError"
    assert sessions.opened == [] and engine.requests == []


def test_a_lease_ttl_below_the_longest_action_fails_before_connecting(capsys: Any) -> None:
    engine = lab()
    result, sessions, _raw = run({"cluster": "Default", "lease": {"ttl": 120}}, capsys, engine)
    assert result["failed"] is True and result["error_type"] == "InputError"
    assert result["msg"].startswith("invalid lease.ttl: expected seconds between 137 ")
    assert sessions.opened == [] and engine.requests == []


def test_the_request_carries_the_action_budget_of_the_options(capsys: Any) -> None:
    seen: List[Any] = []

    def capture(system: Any, request: Any, order: List[str]) -> Dict[str, Any]:
        seen.append(request)
        return {"problems": [], "plan": {}, "changed": False, "run_warnings": []}

    with mock.patch.object(ha_reconcile, "reconcile", capture):
        result, _sessions, _raw = run({"cluster": "Default", "bmc_timeout": 10, "policy": {"confirm_timeout": 100},
                                       "lease": {"ttl": 300}}, capsys)
    assert not result.get("failed"), result.get("msg")
    [request] = seen
    assert (request.lease_ttl, request.action_budget) == (300, 2 * 10 + 2 + 100 + 15)


def test_bmc_entry_without_credentials_fails_before_connecting(capsys: Any) -> None:
    engine = lab()
    result, sessions, _raw = run({"cluster": "Default", "bmcs": [{"name": "host04", "address": "10.0.0.4"}]}, capsys, engine)
    assert result["failed"] is True and "invalid bmcs" in result["msg"] and "username and password" in result["msg"]
    assert sessions.opened == []


def test_bmc_entry_for_an_unknown_host_fails_naming_it(capsys: Any) -> None:
    engine = lab()
    args = {"cluster": "Default", "bmc_username": "admin", "bmc_password": BMC_PASSWORD,
            "bmcs": [{"name": "host04", "address": "10.0.0.4"}, {"name": "host99", "address": "10.0.0.99"}]}
    result, _sessions, _raw = run(args, capsys, engine)
    assert result["failed"] is True and result["msg"].startswith("invalid bmcs[1].name")
    assert [r for r in engine.requests if r[0] != "GET"] == []


# -- the result ---------------------------------------------------------------------------------------

def test_problems_fail_the_task_with_a_message(capsys: Any) -> None:
    def unhealthy(system: Any, request: Any, order: List[str]) -> Dict[str, Any]:
        return {"problems": ["host host04: refused", "vm web: blocked"], "plan": {}, "changed": False, "run_warnings": []}

    with mock.patch.object(ha_reconcile, "reconcile", unhealthy):
        result, sessions, _raw = run({"cluster": "Default"}, capsys)
    assert result["failed"] is True
    assert result["msg"] == "the cluster is not healthy after this run: host host04: refused; vm web: blocked"
    assert result["problems"] == ["host host04: refused", "vm web: blocked"]
    assert len(sessions.opened) == 1


def test_no_problems_succeeds(capsys: Any) -> None:
    def healthy(system: Any, request: Any, order: List[str]) -> Dict[str, Any]:
        assert request.cluster == "Default" and request.policy.fence_budget == 2 and request.check_mode is False
        return {"problems": [], "plan": {}, "changed": True, "run_warnings": []}

    with mock.patch.object(ha_reconcile, "reconcile", healthy):
        result, _sessions, _raw = run({"cluster": "Default", "policy": {"fence_budget": 2}}, capsys)
    assert not result.get("failed") and result["changed"] is True


def test_run_warnings_are_ansible_warnings_too(capsys: Any) -> None:
    def warned(system: Any, request: Any, order: List[str]) -> Dict[str, Any]:
        return {"problems": [], "plan": {}, "changed": True, "run_warnings": ["host host04 stays powered off: BMC refused"]}

    with mock.patch.object(ha_reconcile, "reconcile", warned):
        result, _sessions, _raw = run({"cluster": "Default"}, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["run_warnings"] == ["host host04 stays powered off: BMC refused"]
    # plain strings on older ansible-core, {"event": {"msg": ...}} summaries on newer ones
    [warning] = result["warnings"]
    assert "host host04 stays powered off: BMC refused" in json.dumps(warning)


def test_check_mode_end_to_end(capsys: Any, monkeypatch: Any) -> None:
    engine = lab()
    bmc = FakeBmcs(engine).install(monkeypatch)
    args = {"cluster": "Default", "bmc_username": "admin", "bmc_password": BMC_PASSWORD,
            "bmcs": [{"name": "host04", "address": "10.0.0.4"}]}
    result, _sessions, _raw = run(args, capsys, engine, check_mode=True)
    assert not result.get("failed"), result.get("msg")
    assert [a["kind"] for a in result["plan"]["actions"]] == ["record_outage", "fence_host"]
    assert result["lease"]["state"] == "check_mode"
    assert result["changed"] is True  # what a real run would change: it would fence host04
    assert [r for r in engine.requests if r[0] != "GET"] == [] and bmc.calls == []


def test_real_run_end_to_end(capsys: Any, monkeypatch: Any) -> None:
    engine = lab()
    bmc = FakeBmcs(engine).install(monkeypatch)
    args = {"cluster": "Default", "bmc_username": "admin", "bmc_password": BMC_PASSWORD,
            "bmcs": [{"name": "host04", "address": "10.0.0.4"}], "lease": {"holder": "cron on ctl-a"}}
    result, _sessions, _raw = run(args, capsys, engine)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert [a["result"] for a in result["actions"]] == ["done", "done"]
    assert bmc.commands() == [("power", "host04", "on")]
    assert engine.records("lease")[0].fields["run"] == "cron_on_ctl-a"
    assert result["api_requests"] == len(engine.requests)
