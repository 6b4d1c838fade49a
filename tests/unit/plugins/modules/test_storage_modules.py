"""multipath_paths_info and gluster_volume_check, run in-process against the stand-in commands of tests/lab/standin."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from ansible_collections.ovirt_ha.core.plugins.modules import gluster_volume_check, multipath_paths_info
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main

ROOT = Path(__file__).resolve().parents[3]
STANDIN = ROOT / "lab" / "standin"
FIXTURES = ROOT / "unit" / "fixtures" / "storage"
GOOD = {"performance.quick-read": "off", "performance.read-ahead": "off", "performance.io-cache": "off",
        "performance.strict-o-direct": "on", "cluster.eager-lock": "enable", "cluster.quorum-type": "auto",
        "cluster.server-quorum-type": "server", "features.shard": "on", "storage.owner-uid": "36",
        "storage.owner-gid": "36"}


def wrapper(tmp_path: Path, name: str, env: str, value: Path) -> str:
    script = tmp_path / name
    script.write_text("#!/bin/sh\n%s=%s exec %s %s \"$@\"\n" % (env, value, sys.executable, STANDIN / (name + ".py")))
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def multipath(tmp_path):
    shutil.copy(FIXTURES / "multipath-ll.txt", tmp_path / "ll.txt")
    return wrapper(tmp_path, "multipath", "MULTIPATH_STANDIN_OUTPUT", tmp_path / "ll.txt")


def test_degraded_luns_fail_by_name(multipath, capsys):
    code, out = run_main(multipath_paths_info.main, {"multipath_command": multipath}, capsys)
    assert code == 1
    assert [d["wwid"] for d in out["degraded"]] == ["3600508b400105e210000900000490000"]
    assert "3600508b400105e210000900000490000 (mpatha) has 1 working path(s) of 1, expected at least 2" in out["msg"]
    code, out = run_main(multipath_paths_info.main, {"multipath_command": multipath, "min_paths": 3,
                                                     "fail_on_degraded": False}, capsys)
    assert code == 0 and len(out["degraded"]) == 3 and out["changed"] is False


def test_selected_luns_and_missing_ones(multipath, capsys):
    code, out = run_main(multipath_paths_info.main, {"multipath_command": multipath,
                                                     "wwids": ["36001405a1b2c3d4e5f60718293a4b5c6", "mpatha"],
                                                     "min_paths": 1}, capsys)
    assert code == 0 and [m["paths_up"] for m in out["maps"]] == [2, 1]
    code, out = run_main(multipath_paths_info.main, {"multipath_command": multipath, "wwids": ["36000nosuch"]},
                         capsys)
    assert code == 1 and out["missing"] == ["36000nosuch"] and "36000nosuch has no multipath map" in out["msg"]
    code, out = run_main(multipath_paths_info.main, {"multipath_command": multipath, "min_paths": 0}, capsys)
    assert code == 1 and out["msg"].startswith("min_paths:")


@pytest.fixture
def gluster(tmp_path):
    state = tmp_path / "volumes.json"
    state.write_text(json.dumps({
        "engine": {"bricks": ["h1:/b/engine", "h2:/b/engine", "h3:/b/engine"], "options": dict(GOOD)},
        "data": {"bricks": ["h1:/b/data", "h2:/b/data", "h3:/b/data"],
                 "options": {"storage.owner-uid": "0", "transport.address-family": "inet"}},
        "iso": {"replica": 2, "bricks": ["h1:/b/iso", "h2:/b/iso"], "options": dict(GOOD)}}))
    return wrapper(tmp_path, "gluster", "GLUSTER_STANDIN_STATE", state), state


def test_gluster_report_per_volume(gluster, capsys):
    command, _state = gluster
    code, out = run_main(gluster_volume_check.main, {"gluster_command": command, "fail_on_findings": False}, capsys)
    assert code == 0 and out["changed"] is False
    by_name = {v["name"]: v for v in out["volumes"]}
    assert by_name["engine"]["findings"] == []
    assert {f["option"] for f in by_name["data"]["findings"]} == set(GOOD)
    assert [f["kind"] for f in by_name["iso"]["findings"]] == ["replica", "bricks"]


def test_gluster_set_options_check_mode_then_real_then_idempotent(gluster, capsys):
    command, state = gluster
    args = {"gluster_command": command, "volumes": ["data"], "set_options": True}
    code, out = run_main(gluster_volume_check.main, args, capsys, check_mode=True, diff=True)
    assert code == 0 and out["changed"] is True
    assert "data storage.owner-uid=0" in out["diff"]["before"] and "data storage.owner-uid=36" in out["diff"]["after"]
    assert json.loads(state.read_text())["data"]["options"]["storage.owner-uid"] == "0"  # nothing set
    code, out = run_main(gluster_volume_check.main, args, capsys)
    assert code == 0 and out["changed"] is True and out["volumes"][0]["findings"] == []
    assert json.loads(state.read_text())["data"]["options"]["storage.owner-uid"] == "36"
    code, out = run_main(gluster_volume_check.main, args, capsys)
    assert code == 0 and out["changed"] is False


def test_gluster_replica_is_never_fixed_and_unknown_volumes_fail(gluster, capsys):
    command, _state = gluster
    code, out = run_main(gluster_volume_check.main, {"gluster_command": command, "volumes": ["iso"],
                                                     "set_options": True}, capsys)
    assert code == 1 and "replica count is 2, expected 3" in out["msg"]
    code, out = run_main(gluster_volume_check.main, {"gluster_command": command, "volumes": ["nosuch"]}, capsys)
    assert code == 1 and out["msg"].startswith("volumes: no gluster volume nosuch")
