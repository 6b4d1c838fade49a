from __future__ import annotations

import json

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.vm_status import build_status
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_bytes, read_text

UP = {"vm": "up", "health": "good", "detail": "Up"}
DOWN = {"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}


def _types(view):
    return {key: type(value) for key, value in view.items()}


def test_reference_volume_matches_vm_status_json_keys_and_types():
    expected = json.loads(read_text("vm-status.json"))
    status = build_status(md.parse_volume(read_bytes("hosted-engine.metadata")))
    view = status["vm_status"]
    assert set(view) == {"1", "2", "global_maintenance"}
    for host in ("1", "2"):
        assert list(view[host]) == list(expected[host])
        assert _types(view[host]) == _types(expected[host])
    assert view["global_maintenance"] is True and status["global_maintenance"] is True
    assert view["1"]["score"] == 3400 and view["1"]["engine-status"]["vm"] == "up"
    assert view["2"]["score"] == 2400 and view["2"]["engine-status"]["vm"] == "down"
    assert status["engine_host"] == {"host_id": 1, "hostname": "host1.example.com", "health": "good", "score": 3400}
    assert status["stale_hosts"] == [] and status["problems"] == []


def _volume(*blocks: bytes, maintenance: bool = False) -> bytes:
    return md.render_global_block(maintenance) + b"".join(blocks)


def _block(host_id: int, score: int = 3400, status=None, hostname: str | None = None, stopped: bool = False):
    return md.render_host_block(host_id, 100 + host_id, score, status or DOWN, hostname or "h%d" % host_id,
                                stopped=stopped, epoch=0)


def _kinds(status):
    return [problem["kind"] for problem in status["problems"]]


def test_engine_up_on_two_hosts():
    status = build_status(md.parse_volume(_volume(_block(1, status=UP), _block(2, status=UP))))
    assert "engine_up_on_several_hosts" in _kinds(status)
    assert status["engine_host"]["host_id"] in (1, 2)


def test_all_scores_zero_and_no_engine_host():
    status = build_status(md.parse_volume(_volume(_block(1, 0), _block(2, 0))))
    assert _kinds(status) == ["all_scores_zero"]
    assert status["engine_host"] is None


def test_duplicate_host_id_and_hostname():
    status = build_status(md.parse_volume(_volume(_block(1), md.render_host_block(1, 5, 3400, DOWN, "h1", epoch=0))))
    kinds = _kinds(status)
    assert "host_id_mismatch" in kinds and "duplicate_host_id" in kinds and "duplicate_hostname" in kinds


def test_crc_failure_reported_and_other_hosts_kept():
    bad = bytearray(_block(2))
    bad[bad.index(b"|3400|") + 1] = ord("2")
    status = build_status(md.parse_volume(_volume(_block(1), bytes(bad))))
    assert _kinds(status) == ["crc_mismatch"]
    assert set(status["vm_status"]) == {"1", "global_maintenance"}


def test_liveness_marks_stale_hosts():
    volume = md.parse_volume(_volume(_block(1, status=UP), _block(2), _block(3, stopped=True)))
    status = build_status(volume, {1: True, 2: False, 3: None})
    assert status["stale_hosts"] == [2]
    assert [status["vm_status"][h]["live-data"] for h in ("1", "2", "3")] == [True, False, False]
    # a stale host's engine status does not count
    status = build_status(md.parse_volume(_volume(_block(1, status=UP), _block(2, status=UP))), {2: False})
    assert "engine_up_on_several_hosts" not in _kinds(status) and status["engine_host"]["host_id"] == 1


def test_legacy_text_status_understood():
    legacy = b"1|1|500|1|2400|vm-up good-health-status|old.example.com".ljust(md.SLOT_BYTES, b"\0")
    status = build_status(md.parse_volume(_volume(legacy)))
    assert status["engine_host"]["hostname"] == "old.example.com"
    assert set(status["vm_status"]["1"]) == {"host-id", "host-ts", "score", "engine-status", "hostname", "live-data"}


def test_empty_or_garbage_volume():
    assert build_status(md.parse_volume(b""))["vm_status"] == {"global_maintenance": False}
    status = build_status(md.parse_volume(b"\xff" * 5000))
    assert status["problems"] and status["engine_host"] is None
