from __future__ import annotations

import calendar
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import REFERENCE, read_bytes

REF = read_bytes("hosted-engine.metadata")
WALL = calendar.timegm((2025, 1, 6, 10, 0, 0))
CONF_WALL = calendar.timegm((2025, 1, 6, 9, 0, 0))


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def slot(data: bytes, number: int) -> bytes:
    return data[number * md.SLOT_BYTES:(number + 1) * md.SLOT_BYTES]


def test_reference_volume():
    volume = md.read_volume(str(REFERENCE / "hosted-engine.metadata"))
    assert volume.problems == []
    assert volume.global_block is not None and volume.global_block.maintenance is True
    assert sorted(volume.hosts) == [1, 2]
    one, two = volume.hosts[1], volume.hosts[2]
    assert (one.host_id, one.timestamp, one.score, one.hostname) == (1, 182040, 3400, "host1.example.com")
    assert one.engine_status == {"vm": "up", "health": "good", "detail": "Up"}
    assert (one.local_maintenance, one.stopped, one.crc32) == (False, False, "8beb412e")
    assert (one.conf_on_shared_storage, one.local_conf_timestamp) == (True, 2345)
    assert one.state == "EngineUp"
    assert (two.score, two.engine_status["vm"], two.state) == (2400, "down", "GlobalMaintenance")
    assert one.extra_values()["timestamp"] == "182040 (Mon Jan  6 10:00:00 2025)"


def _render_like(block: md.HostBlock) -> bytes:
    return md.render_host_block(
        host_id=block.host_id, timestamp=block.timestamp, score=block.score, engine_status=block.engine_status,
        hostname=block.hostname, local_maintenance=bool(block.local_maintenance), stopped=bool(block.stopped),
        conf_on_shared_storage=bool(block.conf_on_shared_storage),
        local_conf_timestamp=block.local_conf_timestamp or 0, state=block.state or "",
        epoch=WALL - block.timestamp, conf_epoch=CONF_WALL - (block.local_conf_timestamp or 0))


def test_host_blocks_rendered_byte_identical_to_the_agent(utc):
    volume = md.parse_volume(REF)
    for number in (1, 2):
        assert _render_like(volume.hosts[number]) == slot(REF, number)


def test_whole_volume_re_serialised_byte_identical(utc):
    volume = md.parse_volume(REF)
    assert volume.global_block is not None
    out = md.render_global_block(bool(volume.global_block.maintenance))
    for number in range(1, len(REF) // md.SLOT_BYTES):
        block = volume.hosts.get(number)
        out += _render_like(block) if block else b"\0" * md.SLOT_BYTES
    assert out == REF


def test_global_block():
    assert md.render_global_block(True) == slot(REF, 0)
    assert md.parse_global_slot(md.render_global_block(False))[0].maintenance is False  # type: ignore[union-attr]


def test_write_and_clear_slot(tmp_path):
    path = tmp_path / "vol"
    path.write_bytes(REF)
    status = {"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
    block = md.render_host_block(3, 10, 1800, status, "host3.example.com")
    md.write_slot(str(path), 3, block)
    md.write_slot(str(path), 0, md.render_global_block(False))
    volume = md.read_volume(str(path))
    assert volume.problems == []
    assert volume.hosts[3].score == 1800 and volume.global_block.maintenance is False  # type: ignore[union-attr]
    assert slot(path.read_bytes(), 1) == slot(REF, 1)
    md.clear_slot(str(path), 3)
    assert 3 not in md.read_volume(str(path)).hosts
    with pytest.raises(ValueError):
        md.write_slot(str(path), 2001, block)


def _kinds(data: bytes) -> list[str]:
    return [problem.kind for problem in md.parse_volume(data).problems]


def test_bad_crc_is_a_problem_not_an_error():
    data = bytearray(REF)
    start = md.SLOT_BYTES + REF[md.SLOT_BYTES:].index(b"|3400|") + 1
    data[start:start + 4] = b"3401"
    volume = md.parse_volume(bytes(data))
    assert [p.kind for p in volume.problems] == ["crc_mismatch"]
    assert volume.problems[0].slot == 1
    assert sorted(volume.hosts) == [2]


def test_truncated_volume_and_slot():
    assert "truncated" in _kinds(REF[:100])
    volume = md.parse_volume(REF[:md.SLOT_BYTES + 300])
    assert [p.kind for p in volume.problems] == ["truncated"] and volume.hosts == {}


def test_unknown_version():
    fields = ["2", "2", "1", "1", "3400", "{}", "h", "0", "0", "00000000", "1", "0"]
    fields[9] = md.crc32_of(fields)
    data = md.render_global_block(False) + "|".join(fields).encode().ljust(md.SLOT_BYTES, b"\0")
    assert _kinds(data) == ["unknown_version"]
    fields = ["0", "0", "1", "1", "3400", "{}", "h"]
    data = md.render_global_block(False) + "|".join(fields).encode().ljust(md.SLOT_BYTES, b"\0")
    assert _kinds(data) == ["unknown_version"]


def test_legacy_seven_field_block_and_text_status():
    data = md.render_global_block(False) + b"1|1|500|1|2400|vm-up good-health-status|old.example.com".ljust(
        md.SLOT_BYTES, b"\0")
    volume = md.parse_volume(data)
    assert volume.problems == []
    block = volume.hosts[1]
    assert block.engine_status == "vm-up good-health-status" and block.stopped is None and block.crc32 is None


@pytest.mark.parametrize("head", [b"\xff\xfe garbage", b"abc|def", b"1|1|x|1|1|{}|h|0|0|00000000|1|0", b"1|1|2|3",
                                  b"1|1|1|1|1|{}|h\0|0"])
def test_garbage_slots_are_problems(head):
    data = md.render_global_block(True) + head.ljust(md.SLOT_BYTES, b"\0")
    volume = md.parse_volume(data)
    assert volume.hosts == {} and len(volume.problems) == 1


def test_host_id_mismatch_reported():
    block = md.render_host_block(5, 1, 3400, {"vm": "down"}, "h5")
    volume = md.parse_volume(md.render_global_block(False) + block)
    assert [p.kind for p in volume.problems] == ["host_id_mismatch"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3 * md.SLOT_BYTES))
def test_random_bytes_never_raise(data):
    md.parse_volume(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(REF) - 1), st.integers(0, 255)), min_size=1, max_size=20))
def test_mutated_reference_never_raises(mutations):
    data = bytearray(REF)
    for position, value in mutations:
        data[position] = value
    volume = md.parse_volume(bytes(data))
    flagged = {problem.slot for problem in volume.problems}
    for number in range(1, len(data) // md.SLOT_BYTES):
        # every slot is either read, reported, or empty
        assert number in volume.hosts or number in flagged or data[number * md.SLOT_BYTES] == 0


HOSTNAME = st.from_regex(r"\A[a-z][a-z0-9.-]{0,40}\Z", fullmatch=True)
STATUS = st.fixed_dictionaries({"vm": st.sampled_from(["up", "down", "down_unexpected", "down_missing", "unknown"]),
                                "health": st.sampled_from(["good", "bad", "unknown"]),
                                "detail": st.text(alphabet="abcUp ", max_size=10)})


@settings(max_examples=100, deadline=None)
@given(st.integers(1, md.MAX_HOST_ID), st.integers(0, 2**40), st.integers(0, 3400), STATUS, HOSTNAME,
       st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**40),
       st.sampled_from(["EngineUp", "EngineDown", "LocalMaintenance"]))
def test_host_block_round_trip_property(host_id, ts, score, status, hostname, maint, stopped, shared, conf_ts, state):
    block = md.render_host_block(host_id, ts, score, status, hostname, maint, stopped, shared, conf_ts, state,
                                 epoch=0, conf_epoch=0)
    assert len(block) == md.SLOT_BYTES
    parsed, problems = md.parse_host_slot(host_id, block)
    assert problems == [] and parsed is not None
    assert (parsed.host_id, parsed.timestamp, parsed.score, parsed.engine_status, parsed.hostname) == (
        host_id, ts, score, status, hostname)
    assert (parsed.local_maintenance, parsed.stopped, parsed.conf_on_shared_storage,
            parsed.local_conf_timestamp) == (maint, stopped, shared, conf_ts)
    assert parsed.state == state
    assert md.render_host_block(host_id, ts, score, parsed.engine_status, parsed.hostname, maint, stopped, shared,
                                conf_ts, state, epoch=0, conf_epoch=0) == block


@settings(max_examples=20, deadline=None)
@given(st.booleans())
def test_global_block_round_trip_property(flag):
    block, problems = md.parse_global_slot(md.render_global_block(flag))
    assert problems == [] and block is not None and block.maintenance is flag
