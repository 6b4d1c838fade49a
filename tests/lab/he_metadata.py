"""The hosted-engine metadata volume (ovirt-hosted-engine-ha 2.x layout): encoder and decoder.

Slot N sits at byte N*4096; slot 0 holds ``maintenance=0|1``; host slot bytes 0..511 hold 12 ``|``-joined
fields with a crc32, bytes 512..4095 human-readable ``key=value`` lines.  See shared/reference/FORMATS.md.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

SLOT = 4096
HEADER = 512
MAX_HOSTS = 2000


@dataclass
class HostSlot:
    host_id: int
    timestamp: int
    score: int
    engine_status: dict[str, str]
    hostname: str
    local_maintenance: bool = False
    stopped: bool = False
    conf_on_shared_storage: bool = True
    local_conf_timestamp: int = 0
    state: str = "EngineDown"
    wall_time: float = 0.0
    conf_wall_time: float = 0.0
    extra_lines: list[str] = field(default_factory=list)


def ctime(wall: float) -> str:
    """The agent's human-readable date: ``time.ctime`` of the epoch seconds, so in the host's local time zone."""
    return time.ctime(wall)


def engine_status_json(status: dict[str, str]) -> str:
    """Keys in the agent's order: vm, health, detail, reason (reason only when present)."""
    ordered = {key: status[key] for key in ("vm", "health", "detail", "reason") if key in status}
    return json.dumps(ordered)


def header_string(slot: HostSlot, crc: str) -> str:
    fields = [1, 1, slot.timestamp, slot.host_id, slot.score, engine_status_json(slot.engine_status), slot.hostname,
              int(slot.local_maintenance), int(slot.stopped), crc, int(slot.conf_on_shared_storage), slot.local_conf_timestamp]
    return "|".join(str(f) for f in fields)


def crc32_of(slot: HostSlot) -> str:
    return f"{zlib.crc32(header_string(slot, '00000000').encode('utf-8')) & 0xFFFFFFFF:08x}"


def encode_slot(slot: HostSlot) -> bytes:
    header = header_string(slot, crc32_of(slot)).encode("utf-8")
    if len(header) > HEADER:
        raise ValueError("host slot header longer than 512 bytes")
    lines = [
        "metadata_parse_version=1",
        "metadata_feature_version=1",
        f"timestamp={slot.timestamp} ({ctime(slot.wall_time)})",
        f"host-id={slot.host_id}",
        f"score={slot.score}",
        f"vm_conf_refresh_time={slot.local_conf_timestamp} ({ctime(slot.conf_wall_time)})",
        f"conf_on_shared_storage={slot.conf_on_shared_storage}",
        f"maintenance={slot.local_maintenance}",
        f"state={slot.state}",
        f"stopped={slot.stopped}",
        *slot.extra_lines,
    ]
    extra = ("\n".join(lines) + "\n").encode("utf-8")
    return header.ljust(HEADER, b"\0") + extra[: SLOT - HEADER].ljust(SLOT - HEADER, b"\0")


def encode_global(maintenance: bool) -> bytes:
    return f"maintenance={int(maintenance)}".encode("ascii").ljust(SLOT, b"\0")


def decode_slot(data: bytes) -> Optional[dict[str, Any]]:
    """Parse a host slot; None for an empty slot.  Raises ValueError on a bad crc."""
    if not data or data[0] == 0:
        return None
    header = data[:HEADER].rstrip(b"\0").decode("utf-8")
    parts = header.split("|")
    if len(parts) < 7:
        raise ValueError("host slot has fewer than 7 fields")
    # the engine status JSON contains no '|', so a plain split is safe
    result: dict[str, Any] = {
        "host-id": int(parts[3]), "host-ts": int(parts[2]), "score": int(parts[4]), "engine-status": json.loads(parts[5]),
        "hostname": parts[6],
    }
    if len(parts) >= 12:
        result.update({"maintenance": parts[7] == "1", "stopped": parts[8] == "1", "crc32": parts[9],
                       "conf_on_shared_storage": parts[10] == "1", "local_conf_timestamp": int(parts[11])})
        check = "|".join(parts[:9] + ["00000000"] + parts[10:])
        if f"{zlib.crc32(check.encode('utf-8')) & 0xFFFFFFFF:08x}" != parts[9]:
            raise ValueError(f"crc32 mismatch in slot of host {parts[3]}")
    result["extra"] = data[HEADER:].rstrip(b"\0").decode("utf-8")
    return result


class MetadataVolume:
    """A metadata volume file: a sparse file of (MAX_HOSTS + 1) slots."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            with open(path, "wb") as handle:
                handle.truncate(SLOT * (MAX_HOSTS + 1))

    def write(self, index: int, data: bytes) -> None:
        with open(self.path, "r+b") as handle:
            handle.seek(index * SLOT)
            handle.write(data)

    def read(self, index: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(index * SLOT)
            return handle.read(SLOT)
