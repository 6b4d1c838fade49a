"""Unit tests of lab pieces that need no running lab: search syntax, clock, XML cache, files."""

from __future__ import annotations

import os
import stat
from typing import Callable, Optional

import pytest

from tests.lab.api_xml import Renderer
from tests.lab.clock import Clock
from tests.lab.files import write_all
from tests.lab.model import Host, Model
from tests.lab.search import SearchError, matches, parse


def _getter(values: dict[str, list[str]]) -> Callable[[str], Optional[list[str]]]:
    return values.get


@pytest.mark.parametrize("expression, expected", [
    ("name=host01", True), ("NAME=HOST01", True), ("name=host0*", True), ("name=host02", False), ("name!=host02", True),
    ("status=up and cluster=Default", True), ("status=nonresponsive", False), ("status=non_responsive", False),
    ('name="host01"', True), ("Hosts: name=host01", True), ("*", True), ("", True), ("host01", True),
    ("name=host02 or status=up", True), ("name=host02 or name=host03", False), ("name=host01 or name=x and status=down", True),
    ("name=x or name=host01 and status=down", False), ("name=x OR name=host0*", True), ("name=host01 status=up", True),
    ("name=host01 status=down", False),
])
def test_search_matches(expression: str, expected: bool) -> None:
    values = {"name": ["host01"], "status": ["up"], "cluster": ["Default"]}
    assert matches(parse(expression), _getter(values)) is expected


def test_search_status_ignores_underscores_and_case() -> None:
    assert matches(parse("status=NonResponsive"), _getter({"status": ["non_responsive"]}))


def test_search_errors() -> None:
    with pytest.raises(SearchError):
        matches(parse("colour=red"), _getter({"name": ["x"]}))
    with pytest.raises(SearchError):
        parse("name = = x")
    for broken in ("name=x or", "or name=x", "name=x and and status=up"):
        with pytest.raises(SearchError):
            parse(broken)
    # an unknown field is an error also in a group that does not decide the match
    with pytest.raises(SearchError):
        matches(parse("name=host01 or colour=red"), _getter({"name": ["host01"]}))


def test_search_comparisons_use_the_order_given() -> None:
    ranks = {"normal": 0.0, "warning": 1.0, "error": 2.0}
    values = _getter({"severity": ["warning"], "index": ["12"]})
    assert matches(parse("severity>normal"), values, lambda f, v: ranks.get(v)) is True
    assert matches(parse("severity>=error"), values, lambda f, v: ranks.get(v)) is False
    assert matches(parse("index<13 and index>11"), values) is True
    with pytest.raises(SearchError):
        matches(parse("severity>bogus"), values, lambda f, v: ranks.get(v))


def test_clock_modes() -> None:
    virtual = Clock("virtual")
    assert virtual.now() == 0.0
    virtual.advance(12.5)
    assert virtual.now() == 12.5 and virtual.real_seconds(30) == 0.0
    scaled = Clock("scaled", 20.0)
    assert scaled.real_seconds(60) == 3.0
    with pytest.raises(ValueError):
        virtual.advance(-1)
    with pytest.raises(ValueError):
        Clock("sideways")


def test_xml_cache_is_dropped_on_change() -> None:
    model = Model()
    host = Host(id="h1", name="host01", address="host01.lab.example", cluster_id="c1")
    model.add_host(host)
    renderer = Renderer(model, Clock("virtual"))
    first = renderer.write_one(host, lambda: renderer.host(host), "plain")
    assert host.cached("plain") == first and b"<status>up</status>" in first
    host.status = "maintenance"
    assert host.cached("plain") is None
    assert b"<status>maintenance</status>" in renderer.write_one(host, lambda: renderer.host(host), "plain")
    assert b'rel="fenceagents"' in first


def test_files_are_private(tmp_path: pytest.TempPathFactory) -> None:
    engine = {"url": "https://127.0.0.1:1/ovirt-engine/api", "http_url": "http://127.0.0.1:2/ovirt-engine/api", "ca_file": "/x",
              "username": "admin@internal", "password": "it's \"secret\""}
    bmc = {"address": "127.0.0.1", "port": 5, "username": "u", "password": "p'w"}
    info = {"engine": engine, "admin_url": "http://127.0.0.1:3/lab", "hosts": [{"name": "host01", "id": "i", "address": "a", "bmc": bmc}]}
    write_all(str(tmp_path), info)
    for name in ("lab.json", "lab.env", "inventory.yml"):
        assert stat.S_IMODE(os.stat(os.path.join(str(tmp_path), name)).st_mode) == 0o600
    import subprocess  # pylint: disable=import-outside-toplevel
    out = subprocess.run(["bash", "-c", f"source {tmp_path}/lab.env && printf %s \"$OVIRT_PASSWORD\""], capture_output=True, text=True,
                         check=True, timeout=10).stdout
    assert out == "it's \"secret\""
    import yaml  # pylint: disable=import-outside-toplevel
    inventory = yaml.safe_load(open(os.path.join(str(tmp_path), "inventory.yml"), encoding="utf-8"))  # pylint: disable=consider-using-with
    host = inventory["all"]["children"]["ovirt_hosts"]["hosts"]["host01"]
    assert host["bmc_password"] == "p'w" and host["bmc_port"] == 5
    assert inventory["all"]["children"]["ovirt_hosts"]["vars"]["ovirt_password"] == "it's \"secret\""
