"""The lab clock: real, scaled (faster than real time) or a stepped virtual clock."""

from __future__ import annotations

import threading
import time


class Clock:
    """Lab time in seconds since the lab started.

    ``real``: lab time follows the monotonic clock; ``scaled``: lab time runs ``scale`` times
    faster (so every engine timeout is divided by ``scale``); ``virtual``: lab time only moves
    when ``step`` is called.  ``step`` also works in the other modes (it adds an offset).
    """

    def __init__(self, mode: str = "real", scale: float = 1.0) -> None:
        if mode not in ("real", "scaled", "virtual"):
            raise ValueError(f"unknown clock mode {mode!r}")
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self.mode = mode
        self.scale = scale if mode == "scaled" else 1.0
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self.wall_start = time.time()

    @property
    def virtual(self) -> bool:
        return self.mode == "virtual"

    def now(self) -> float:
        with self._lock:
            if self.mode == "virtual":
                return self._offset
            return (time.monotonic() - self._t0) * self.scale + self._offset

    def wall(self) -> float:
        """Wall-clock time (epoch seconds) matching lab time ``now()``."""
        return self.wall_start + self.now()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("cannot step the clock backwards")
        with self._lock:
            self._offset += seconds

    def real_seconds(self, lab_seconds: float) -> float:
        """Real seconds that ``lab_seconds`` of lab time take (0 for the virtual clock)."""
        if self.mode == "virtual":
            return 0.0
        return lab_seconds / self.scale
