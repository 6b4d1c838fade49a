from __future__ import annotations

import json
import shutil

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from ansible_collections.ovirt_ha.core.plugins.modules import hosted_engine_status
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import REFERENCE


def run(args, capsys):
    return run_main(hosted_engine_status.main, args, capsys)


def test_reference_volume_gives_the_vm_status_view(capsys):
    code, out = run({"path": str(REFERENCE / "hosted-engine.metadata")}, capsys)
    assert code == 0
    assert out["changed"] is False
    expected = json.loads((REFERENCE / "vm-status.json").read_text())
    view = out["vm_status"]
    assert sorted(view) == ["1", "2", "global_maintenance"]
    for host in ("1", "2"):
        assert list(view[host]) == list(expected[host])
        assert {k: type(v) for k, v in view[host].items()} == {k: type(v) for k, v in expected[host].items()}
    assert view["global_maintenance"] is True and out["global_maintenance"] is True
    assert (view["1"]["score"], view["1"]["engine-status"]["vm"], view["1"]["live-data"]) == (3400, "up", True)
    assert (view["2"]["score"], view["2"]["engine-status"]["vm"]) == (2400, "down")
    assert out["engine_host"]["host_id"] == 1 and out["engine_host"]["hostname"] == "host1.example.com"
    assert out["stale_hosts"] == [] and out["problems"] == [] and out["liveness_judged"] is False


def test_corrupt_volume_is_reported_not_fatal(tmp_path, capsys):
    path = tmp_path / "vol"
    data = bytearray((REFERENCE / "hosted-engine.metadata").read_bytes())
    data[md.SLOT_BYTES + 5] = ord("9")     # inside host 1's timestamp: checksum no longer matches
    data += b"\xde\xad\xbe\xef" * 1024     # slot 4: binary garbage
    path.write_bytes(bytes(data))
    code, out = run({"path": str(path)}, capsys)
    assert code == 0
    kinds = sorted(problem["kind"] for problem in out["problems"])
    assert kinds == ["crc_mismatch", "not_text"]
    assert sorted(out["vm_status"]) == ["2", "global_maintenance"]
    assert out["engine_host"] is None


def test_observing_finds_a_stale_host(tmp_path, capsys):
    path = tmp_path / "vol"
    shutil.copy(REFERENCE / "hosted-engine.metadata", path)
    code, out = run({"path": str(path), "observe_seconds": 0.3, "poll_interval": 0.1, "liveness_timeout": 0.2},
                    capsys)
    assert code == 0
    assert out["stale_hosts"] == [1, 2] and out["liveness_judged"] is True
    assert out["vm_status"]["1"]["live-data"] is False
    assert out["engine_host"] is None


def test_missing_volume_fails_with_the_path(tmp_path, capsys):
    code, out = run({"path": str(tmp_path / "nope")}, capsys)
    assert code == 1 and out["failed"] is True
    assert str(tmp_path / "nope") in out["msg"]


@pytest.mark.parametrize("args", [{"max_host_id": 0}, {"observe_seconds": -1}, {"observe_seconds": 901},
                                  {"poll_interval": 0}, {"liveness_timeout": -5}])
def test_bad_options(args, capsys):
    code, out = run(dict({"path": str(REFERENCE / "hosted-engine.metadata")}, **args), capsys)
    assert code == 1 and out["failed"] is True
    # the message names the one option at fault, what was expected and what was given
    (name, value), = args.items()
    assert out["msg"].startswith(name + ": expected") and out["msg"].endswith("got %s" % value)
