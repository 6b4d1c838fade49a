"""The lab's journal: one line per thing that happened, over lab time (engine events, power, qemu processes,
storage leases, faults, violations, scenario steps).  Scenarios compare it line by line with ``expected.log``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 50000


@dataclass(frozen=True)
class Entry:
    index: int
    time: float
    source: str
    text: str

    def line(self) -> str:
        return f"{format_time(self.time)} {self.source:<9} {self.text}"

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "time": self.time, "source": self.source, "text": self.text, "line": self.line()}


def format_time(seconds: float) -> str:
    """Lab seconds, right-aligned; a tenth only when the time is not whole (scaled clocks)."""
    whole = abs(seconds - round(seconds)) < 0.05
    return f"{seconds:7.0f}" if whole else f"{seconds:7.1f}"


class Journal:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[Entry] = []
        self.next_index = 1

    def add(self, time: float, source: str, text: str) -> None:
        with self.lock:
            self.entries.append(Entry(self.next_index, time, source, text))
            self.next_index += 1
            if len(self.entries) > MAX_ENTRIES:
                del self.entries[: len(self.entries) - MAX_ENTRIES]

    def since(self, index: int = 0) -> list[Entry]:
        with self.lock:
            return [e for e in self.entries if e.index > index]
