"""A fake at the pyghmi boundary: what ``RawSession`` sees of a BMC, scripted per test."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.client import CHASSIS_CONTROL, BmcConnection
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import BmcTarget

_ACTIONS = {code: name for name, code in CHASSIS_CONTROL.items()}


class FakeClock:
    """Virtual time: sleep() advances it, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: List[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0)

    def wall(self) -> str:
        return "T+%.2f" % (self.now - 1000.0)


class FakeBmc:
    """Power state machine with fault switches; ``commands`` records every chassis control sent."""

    def __init__(self, power: str = "on", *, stuck: bool = False, refuse: Optional[int] = None,
                 lag_polls: int = 0, login_error: Optional[BaseException] = None,
                 stop_answering_after: Optional[int] = None) -> None:
        self.power = power
        self.stuck = stuck
        self.refuse = refuse
        self.lag_polls = lag_polls  # status polls before a command takes effect
        self.login_error = login_error
        self.stop_answering_after = stop_answering_after
        self.commands: List[str] = []
        self.calls = 0
        self.logins = 0
        self.logouts = 0
        self._pending: Optional[str] = None
        self._pending_polls = 0

    # RawSession
    def raw_command(self, netfn: int, command: int, data: Any = ()) -> Dict[str, Any]:
        self.calls += 1
        if self.stop_answering_after is not None and self.calls > self.stop_answering_after:
            return {"error": "timeout", "code": 0xFFFF}
        if (netfn, command) == (0, 1):
            if self._pending is not None:
                if self._pending_polls <= 0:
                    self.power, self._pending = self._pending, None
                else:
                    self._pending_polls -= 1
            return {"netfn": 1, "command": 1, "code": 0, "data": bytearray([1 if self.power == "on" else 0, 0, 0, 0])}
        if (netfn, command) == (0, 2):
            action = _ACTIONS[data[0]]
            self.commands.append(action)
            if self.refuse is not None:
                return {"netfn": 1, "command": 2, "code": self.refuse, "data": bytearray()}
            if not (self.stuck and action != "on"):
                final = "off" if action in ("off", "soft") else "on"
                if self.lag_polls:
                    self._pending, self._pending_polls = final, self.lag_polls
                else:
                    self.power = final
            return {"netfn": 1, "command": 2, "code": 0, "data": bytearray()}
        return {"netfn": netfn + 1, "command": command, "code": 0xC1, "data": bytearray()}

    def logout(self) -> None:
        self.logouts += 1

    def factory(self, target: BmcTarget) -> "FakeBmc":
        self.logins += 1
        if self.login_error is not None:
            raise self.login_error
        return self


def target(name: str = "host01", **kwargs: Any) -> BmcTarget:
    values: Dict[str, Any] = dict(name=name, address="192.0.2.10", port=623, username="admin", password="s3cret")
    values.update(kwargs)
    return BmcTarget(**values)


def connected(bmc: FakeBmc, name: str = "host01") -> BmcConnection:
    conn = BmcConnection(target(name), bmc.factory)
    conn.open()
    return conn
