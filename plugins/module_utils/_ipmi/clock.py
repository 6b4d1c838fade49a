# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time for the power and fence logic, replaceable in tests (private, may change)."""
from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    """Monotonic time for deadlines, wall time for audit records."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wall(self) -> str:
        return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
