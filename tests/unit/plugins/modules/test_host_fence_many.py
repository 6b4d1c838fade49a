"""host_fence with ``hosts``: the fence status of many hosts in one module run (one search, one status per host)."""
from __future__ import annotations

from urllib.parse import quote

import ovirtsdk4 as sdk
import pytest
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine import fence, objects
from ansible_collections.ovirt_ha.core.plugins.modules import host_fence
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.engine.fake_engine import (
    FakeEngine, run_module, small_cluster)


@pytest.fixture
def engine() -> FakeEngine:
    engine = small_cluster()
    engine.power[engine.by_name(engine.hosts, "host02").id] = "off"
    return engine


def fault(code: int, detail: str) -> sdk.Error:
    return sdk.Error("Fault reason is \"Operation Failed\".", code=code,
                     fault=types.Fault(reason="Operation Failed", detail=detail))


def test_every_host_in_one_search_then_one_status_each_in_the_order_given(engine, capsys):
    result = run_module(host_fence.main, {"hosts": ["host02", "host01"]}, engine, capsys)
    assert result["changed"] is False and not result.get("failed")
    assert [(h["name"], h["status"], h["power_state"], h["failed"]) for h in result["hosts"]] == [
        ("host02", "up", "off", False), ("host01", "up", "on", False)]
    assert result["hosts"][0]["id"] == engine.by_name(engine.hosts, "host02").id
    assert "msg" not in result["hosts"][0] and "power_state" not in result
    ids = {h.name: h.id for h in engine.hosts.values()}
    assert engine.requests == [("GET", "hosts"), ("POST", "hosts/%s/fence:status" % ids["host02"]),
                               ("POST", "hosts/%s/fence:status" % ids["host01"])]


def test_a_host_not_found_is_reported_naming_it_and_the_others_are_read(engine, capsys):
    result = run_module(host_fence.main, {"hosts": ["host01", "host09"]}, engine, capsys)
    assert not result.get("failed")
    assert result["hosts"][0]["power_state"] == "on"
    assert result["hosts"][1] == {"name": "host09", "id": None, "status": None, "power_state": None,
                                  "failed": True, "msg": "no host named 'host09'"}
    assert len([r for r in engine.requests if r[1].endswith("fence:status")]) == 1


def test_one_host_whose_status_fails_does_not_fail_the_run(engine, capsys):
    host01 = engine.by_name(engine.hosts, "host01")
    engine.fail_once[("POST", "hosts/%s/fence:status" % host01.id)] = fault(409, "[Power Management is not enabled]")
    result = run_module(host_fence.main, {"hosts": ["host01", "host02"]}, engine, capsys)
    assert not result.get("failed")
    first, second = result["hosts"]
    assert first["failed"] and first["power_state"] is None
    assert "host 'host01'" in first["msg"] and "Power Management is not enabled" in first["msg"]
    assert second["failed"] is False and second["power_state"] == "off"


def test_fail_on_error_fails_naming_the_hosts_and_still_reports_all(engine, capsys):
    host01 = engine.by_name(engine.hosts, "host01")
    engine.fail_once[("POST", "hosts/%s/fence:status" % host01.id)] = fault(500, "[agent failed]")
    result = run_module(host_fence.main, {"hosts": ["host01", "host02", "nohost"], "fail_on_error": True},
                        engine, capsys)
    assert result["failed"]
    assert result["msg"].startswith("power status not read for 2 of 3 hosts: host01: ")
    assert "nohost: no host named 'nohost'" in result["msg"]
    assert [h["failed"] for h in result["hosts"]] == [True, False, True]


def test_all_read_with_fail_on_error_succeeds(engine, capsys):
    result = run_module(host_fence.main, {"hosts": ["host01"], "fail_on_error": True}, engine, capsys)
    assert not result.get("failed") and result["hosts"][0]["power_state"] == "on"


@pytest.mark.parametrize("error", [
    sdk.AuthError("HTTP response code is 401."),
    sdk.ConnectionError("Failed to connect"),
])
def test_an_error_of_the_engine_itself_fails_the_run(engine, capsys, error):
    host01 = engine.by_name(engine.hosts, "host01")
    engine.fail_once[("POST", "hosts/%s/fence:status" % host01.id)] = error
    result = run_module(host_fence.main, {"hosts": ["host01", "host02"]}, engine, capsys)
    assert result["failed"] and "hosts" not in result
    assert len([r for r in engine.requests if r[1].endswith("fence:status")]) == 1  # stopped at the first


def test_check_mode_reads_the_same_and_changes_nothing(engine, capsys):
    result = run_module(host_fence.main, {"hosts": ["host01", "host02"]}, engine, capsys, check_mode=True, diff=True)
    assert result["changed"] is False and [h["power_state"] for h in result["hosts"]] == ["on", "off"]
    assert all(r[1].endswith("fence:status") for r in engine.requests if r[0] == "POST")


@pytest.mark.parametrize("args, named", [
    ({"hosts": ["host01"], "action": "stop"}, "action"),
    ({"hosts": ["host01"], "host": "host01"}, "mutually exclusive"),
    ({}, "one of the following is required: host, hosts"),
    ({"hosts": []}, "hosts"),
    ({"hosts": ["host01", "host01"]}, "hosts[1]"),
])
def test_bad_input_fails_before_any_request(engine, capsys, args, named):
    result = run_module(host_fence.main, args, engine, capsys)
    assert result["failed"] and named in result["msg"], result["msg"]
    assert engine.requests == []


def test_long_names_are_searched_in_url_sized_groups_and_matched_exactly(engine, capsys):
    cluster = next(iter(engine.clusters.values()))
    long_names = ["host-%03d-%s" % (index, "x" * 240) for index in range(60)]
    for name in long_names + ["host 03"]:
        engine.add_host(name, cluster)
    names = ["host01", "host02", "host 03"] + long_names
    result = run_module(host_fence.main, {"hosts": names}, engine, capsys)
    assert [h["name"] for h in result["hosts"]] == names
    assert [h["power_state"] for h in result["hosts"][:3]] == ["on", "off", "on"]
    searches = [r for r in engine.requests if r[0] == "GET" and r[1] == "hosts"]
    # 63 names of about 250 bytes: more than one request line's worth, far fewer than one search per name
    assert 3 <= len(searches) <= 5


def test_or_searches_keep_each_url_within_the_limit():
    terms = ["name=%s" % ("h%04d" % index) * 3 for index in range(500)]
    searches = objects.or_searches(terms, max_bytes=1000)
    assert " or ".join(searches) == " or ".join(terms)
    assert all(len(quote(search)) <= 1000 for search in searches) and len(searches) > 1
    assert objects.or_searches(["name=" + "y" * 2000], max_bytes=1000) == ["name=" + "y" * 2000]
    assert objects.or_searches([]) == []


def test_the_search_joins_the_names_with_or_and_quotes_where_needed():
    seen = []

    class Hosts:
        def list(self, search=None, **_kwargs):
            seen.append(search)
            return [types.Host(id="1", name="HOST01"), types.Host(id="2", name="host01")]

    class System:
        def hosts_service(self):
            return Hosts()

    found = fence.find_hosts(System(), ["host01", "a b"])
    assert seen == ['name=host01 or name="a b"']
    assert {name: host.id for name, host in found.items()} == {"host01": "2"}
