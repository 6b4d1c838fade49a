# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosted-engine metadata volume shared by all HA hosts (private, may change).

Layout: 4096-byte slots, slot N at N*4096. Slot 0 holds the cluster-wide block (``maintenance=0|1``),
slots 1..2000 the host blocks. A host block is 512 bytes of ``|``-joined fields, NUL-padded, then the
human-readable ``key=value`` lines, NUL-padded to the end of the slot. A slot starting with NUL is empty.

Reading never raises on bad data: every block that cannot be used becomes a Problem.
"""
from __future__ import annotations

import json
import os
import re
import time
import typing as t
import zlib
from dataclasses import dataclass, field

SLOT_BYTES = 4096
BLOCK_BYTES = 512
MAX_HOST_ID = 2000
PARSE_VERSION = 1
FEATURE_VERSION = 1
EMPTY_CRC32 = "00000000"
MIN_FIELDS = 7
FIELD_NAMES = ("parse_version", "feature_version", "timestamp", "host_id", "score", "engine_status", "hostname",
               "local_maintenance", "stopped", "crc32", "conf_on_shared_storage", "local_conf_timestamp")


@dataclass(frozen=True)
class Problem:
    """Something wrong with one slot (or the whole volume when slot is None)."""

    kind: str      # crc_mismatch, truncated, unparsable, unknown_version, host_id_mismatch, not_text, ...
    slot: int | None
    message: str

    def as_dict(self) -> dict[str, t.Any]:
        return {"kind": self.kind, "slot": self.slot, "message": self.message}


@dataclass
class HostBlock:
    slot: int
    host_id: int
    timestamp: int
    score: int
    engine_status: dict[str, t.Any] | str   # dict from JSON; the legacy text form stays a string
    hostname: str
    local_maintenance: bool | None = None
    stopped: bool | None = None
    crc32: str | None = None
    conf_on_shared_storage: bool | None = None
    local_conf_timestamp: int | None = None
    extra: str = ""
    parse_version: int = PARSE_VERSION
    feature_version: int = FEATURE_VERSION
    field_count: int = 12

    def extra_values(self) -> dict[str, str]:
        """The human-readable part as a dict (values keep their text, e.g. ``182040 (Mon Jan ...)``)."""
        out = {}
        for line in self.extra.splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
        return out

    @property
    def state(self) -> str | None:
        return self.extra_values().get("state")


@dataclass
class GlobalBlock:
    maintenance: bool | None
    other: dict[str, str] = field(default_factory=dict)


@dataclass
class MetadataVolume:
    global_block: GlobalBlock | None
    hosts: dict[int, HostBlock]          # by slot number
    problems: list[Problem]
    size: int


def crc32_of(fields: t.Sequence[str]) -> str:
    """CRC over the ``|``-joined fields with the crc field (index 9) set to 00000000."""
    tokens = list(fields)
    tokens[9] = EMPTY_CRC32
    return "%08x" % (zlib.crc32("|".join(tokens).encode("utf-8")) & 0xFFFFFFFF)


def _flag(text: str) -> bool:
    return int(text) > 0


def parse_global_slot(data: bytes) -> tuple[GlobalBlock | None, list[Problem]]:
    problems: list[Problem] = []
    body = data[:SLOT_BYTES].rstrip(b"\0")
    if not body:
        return None, problems
    if b"\0" in body:
        problems.append(Problem("not_text", 0, "global block has NUL bytes inside its text"))
    try:
        text = body.replace(b"\0", b"").decode("utf-8")
    except UnicodeDecodeError:
        return None, [Problem("not_text", 0, "global block is not UTF-8 text")]
    block = GlobalBlock(maintenance=None)
    for token in text.split("\n"):
        if not token:
            continue
        if "=" not in token:
            problems.append(Problem("unparsable", 0, "global block entry {0!r} is not key=value".format(token[:60])))
            continue
        key, value = token.split("=", 1)
        if key == "maintenance":
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                block.maintenance = True
            elif lowered in ("0", "false", "no", "off", ""):
                block.maintenance = False
            else:
                problems.append(Problem("unparsable", 0, "global maintenance value {0!r}".format(value[:20])))
        else:
            block.other[key] = value
            problems.append(Problem("unknown_key", 0, "unknown global metadata key {0!r}".format(key[:40])))
    return block, problems


def parse_host_slot(slot: int, data: bytes) -> tuple[HostBlock | None, list[Problem]]:
    """Parse one host slot. Returns (None, []) for an empty slot, (None, [problem]) for a bad one."""
    if not data or data[:1] == b"\0":
        return None, []
    if len(data) < BLOCK_BYTES:
        message = "slot {0} has {1} of {2} bytes".format(slot, len(data), BLOCK_BYTES)
        return None, [Problem("truncated", slot, message)]
    raw = data[:BLOCK_BYTES].rstrip(b"\0")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, [Problem("not_text", slot, "slot {0}: first 512 bytes are not text".format(slot))]
    if "\0" in text:
        return None, [Problem("not_text", slot, "slot {0}: NUL bytes inside the fields".format(slot))]
    version = re.match(r"\d+", text)
    if not version:
        return None, [Problem("unparsable", slot, "slot {0}: no metadata version at the start".format(slot))]
    if int(version.group()) > FEATURE_VERSION:
        return None, [Problem("unknown_version", slot, "slot {0}: metadata parse version {1} is newer than {2}"
                              .format(slot, version.group(), FEATURE_VERSION))]
    tokens = text.split("|")
    if len(tokens) < MIN_FIELDS:
        return None, [Problem("unparsable", slot, "slot {0}: {1} fields, at least {2} expected"
                              .format(slot, len(tokens), MIN_FIELDS))]
    problems: list[Problem] = []
    try:
        feature_version = int(tokens[1])
        if feature_version < PARSE_VERSION:
            return None, [Problem("unknown_version", slot, "slot {0}: metadata feature version {1} is older than {2}"
                                  .format(slot, feature_version, PARSE_VERSION))]
        block = HostBlock(
            slot=slot,
            parse_version=int(tokens[0]),
            feature_version=feature_version,
            timestamp=int(tokens[2]),
            host_id=int(tokens[3]),
            score=int(tokens[4]),
            engine_status=_engine_status(tokens[5]),
            hostname=tokens[6],
            field_count=len(tokens),
        )
        if len(tokens) >= 8:
            block.local_maintenance = _flag(tokens[7])
        if len(tokens) >= 9:
            block.stopped = _flag(tokens[8])
        if len(tokens) >= 10:
            block.crc32 = tokens[9]
            expected = crc32_of(tokens)
            if tokens[9] != expected:
                return None, [Problem("crc_mismatch", slot, "slot {0}: checksum {1} does not match the data ({2})"
                                      .format(slot, tokens[9][:16], expected))]
        if len(tokens) >= 12:
            block.conf_on_shared_storage = _flag(tokens[10])
            block.local_conf_timestamp = int(tokens[11])
    except ValueError as exc:
        return None, [Problem("unparsable", slot, "slot {0}: {1}".format(slot, exc))]
    extra = data[BLOCK_BYTES:SLOT_BYTES].rstrip(b"\0")
    try:
        block.extra = extra.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Problem("not_text", slot, "slot {0}: the human-readable part is not text".format(slot)))
    if block.host_id != slot:
        problems.append(Problem("host_id_mismatch", slot, "slot {0} holds a block for host id {1}"
                                .format(slot, block.host_id)))
    return block, problems


def _engine_status(text: str) -> dict[str, t.Any] | str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def parse_volume(data: bytes) -> MetadataVolume:
    """Every slot of a metadata volume image; never raises on its content."""
    problems: list[Problem] = []
    hosts: dict[int, HostBlock] = {}
    global_block: GlobalBlock | None = None
    if len(data) < SLOT_BYTES:
        problems.append(Problem("truncated", None, "volume has {0} bytes, less than one {1}-byte slot"
                                .format(len(data), SLOT_BYTES)))
    if data:
        global_block, found = parse_global_slot(data[:SLOT_BYTES])
        problems.extend(found)
    slots = min(MAX_HOST_ID, (len(data) + SLOT_BYTES - 1) // SLOT_BYTES - 1)
    for slot in range(1, slots + 1):
        chunk = data[slot * SLOT_BYTES:(slot + 1) * SLOT_BYTES]
        block, found = parse_host_slot(slot, chunk)
        problems.extend(found)
        if block is not None:
            hosts[slot] = block
    return MetadataVolume(global_block, hosts, problems, len(data))


def read_volume(path: str, max_host_id: int = MAX_HOST_ID) -> MetadataVolume:
    """Read the volume file (slot 0 and host slots up to max_host_id). OSError propagates."""
    with open(path, "rb") as handle:
        data = handle.read(SLOT_BYTES * (max_host_id + 1))
    return parse_volume(data)


def render_host_block(
    host_id: int,
    timestamp: int,
    score: int,
    engine_status: t.Mapping[str, t.Any] | str,
    hostname: str,
    local_maintenance: bool = False,
    stopped: bool = False,
    conf_on_shared_storage: bool = True,
    local_conf_timestamp: int = 0,
    state: str = "EngineDown",
    extra_metadata: t.Mapping[str, t.Any] | None = None,
    epoch: float | None = None,
    conf_epoch: float | None = None,
) -> bytes:
    """A full 4096-byte host slot as ovirt-ha-agent writes it.

    ``timestamp`` and ``local_conf_timestamp`` are the writer's monotonic seconds; ``epoch`` and
    ``conf_epoch`` are the wall-clock times their zero stands for (for the human-readable dates).
    The human-readable part lists state, maintenance, stopped and ``extra_metadata`` sorted by key.
    """
    status = engine_status if isinstance(engine_status, str) else json.dumps(dict(engine_status))
    if "|" in status or "|" in hostname or "\0" in hostname:
        raise ValueError("engine status and hostname must not contain '|' or NUL")
    tokens = [str(PARSE_VERSION), str(FEATURE_VERSION), str(int(timestamp)), str(int(host_id)), str(int(score)),
              status, hostname, "1" if local_maintenance else "0", "1" if stopped else "0", EMPTY_CRC32,
              "1" if conf_on_shared_storage else "0", str(int(local_conf_timestamp))]
    tokens[9] = crc32_of(tokens)
    head = "|".join(tokens).encode("utf-8")
    if len(head) > BLOCK_BYTES:
        raise ValueError("host block is {0} bytes, more than {1}".format(len(head), BLOCK_BYTES))
    wall = time.time() - time.monotonic() if epoch is None else epoch
    conf_wall = wall if conf_epoch is None else conf_epoch
    metadata: dict[str, t.Any] = {"maintenance": local_maintenance, "state": state, "stopped": stopped}
    metadata.update(extra_metadata or {})
    info = (
        "metadata_parse_version={0}\n"
        "metadata_feature_version={1}\n"
        "timestamp={2} ({3})\n"
        "host-id={4}\n"
        "score={5}\n"
        "vm_conf_refresh_time={6} ({7})\n"
        "conf_on_shared_storage={8}\n"
    ).format(PARSE_VERSION, FEATURE_VERSION, int(timestamp), time.ctime(int(timestamp) + wall), int(host_id),
             int(score), int(local_conf_timestamp), time.ctime(int(local_conf_timestamp) + conf_wall),
             "True" if conf_on_shared_storage else "False")
    for key in sorted(metadata):
        info += "{0}={1}\n".format(key, metadata[key])
    body = info.encode("utf-8")
    if len(body) > SLOT_BYTES - BLOCK_BYTES:
        raise ValueError("human-readable part is {0} bytes, more than {1}".format(
            len(body), SLOT_BYTES - BLOCK_BYTES))
    return head.ljust(BLOCK_BYTES, b"\0") + body.ljust(SLOT_BYTES - BLOCK_BYTES, b"\0")


def render_global_block(maintenance: bool) -> bytes:
    """Slot 0 as ``hosted-engine --set-maintenance --mode=global|none`` leaves it."""
    return "maintenance={0}".format(1 if maintenance else 0).encode("ascii").ljust(SLOT_BYTES, b"\0")


def write_slot(path: str, slot: int, block: bytes) -> None:
    """Write one slot in place (other hosts' slots untouched), then fsync."""
    if not 0 <= slot <= MAX_HOST_ID or len(block) != SLOT_BYTES:
        raise ValueError("slot must be 0..{0} and the block {1} bytes".format(MAX_HOST_ID, SLOT_BYTES))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o660)
    try:
        os.pwrite(fd, block, slot * SLOT_BYTES)
        os.fsync(fd)
    finally:
        os.close(fd)


def clear_slot(path: str, slot: int) -> None:
    write_slot(path, slot, b"\0" * SLOT_BYTES)
