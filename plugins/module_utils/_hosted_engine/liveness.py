# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host liveness from successive reads of the metadata volume (private, may change).

A host's timestamp is its own monotonic clock, so clocks of different hosts cannot be compared: a host
is alive while its timestamp keeps changing, and dead once it stayed the same for ``timeout`` seconds of
the observer's clock (ovirt-ha-broker uses 60 s; the agent writes every 10 s).
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

HOST_ALIVE_TIMEOUT = 60.0


@dataclass
class _Seen:
    timestamp: int
    changed_at: float    # observer's clock when this timestamp was first seen
    first_seen: float


@dataclass
class LivenessTracker:
    timeout: float = HOST_ALIVE_TIMEOUT
    _hosts: dict[int, _Seen] = field(default_factory=dict)

    def observe(self, host_id: int, timestamp: int, now: float) -> None:
        seen = self._hosts.get(host_id)
        if seen is None:
            self._hosts[host_id] = _Seen(timestamp, now, now)
        elif seen.timestamp != timestamp:
            seen.timestamp = timestamp
            seen.changed_at = now

    def forget(self, host_id: int) -> None:
        self._hosts.pop(host_id, None)

    def is_alive(self, host_id: int, now: float) -> bool | None:
        """True: changed within timeout. False: unchanged for timeout. None: not observed long enough."""
        seen = self._hosts.get(host_id)
        if seen is None:
            return None
        if now - seen.changed_at < self.timeout:
            return True if seen.changed_at > seen.first_seen else None
        return False

    def observed_for(self, host_id: int, now: float) -> float:
        seen = self._hosts.get(host_id)
        return 0.0 if seen is None else now - seen.first_seen

    def to_dict(self) -> dict[str, t.Any]:
        """State to keep between runs (e.g. in a cache file); the clock must be the same across runs."""
        return {str(host): [seen.timestamp, seen.changed_at, seen.first_seen] for host, seen in self._hosts.items()}

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any], timeout: float = HOST_ALIVE_TIMEOUT) -> "LivenessTracker":
        tracker = cls(timeout=timeout)
        for host, values in data.items():
            try:
                timestamp, changed_at, first_seen = values
                tracker._hosts[int(host)] = _Seen(int(timestamp), float(changed_at), float(first_seen))
            except (TypeError, ValueError):
                continue
        return tracker
