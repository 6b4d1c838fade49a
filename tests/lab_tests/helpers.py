"""Small helpers for the lab tests."""

from __future__ import annotations

import subprocess
from typing import Any


def ipmitool_power(bmc: dict[str, Any], action: str = "status") -> str:
    """Ask a lab BMC directly (as an operator would), password through the environment."""
    proc = subprocess.run(
        ["ipmitool", "-I", "lanplus", "-H", bmc["address"], "-p", str(bmc["port"]), "-U", bmc["username"], "-E", "-N", "1", "-R", "2",
         "chassis", "power", action],
        env={"IPMI_PASSWORD": bmc["password"], "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=20, check=False)
    return (proc.stdout + proc.stderr).strip()


def codes(connection: Any, since: int = 0) -> list[int]:
    """Event codes newer than index ``since``, oldest first."""
    events = connection.system_service().events_service().list(from_=since)
    return [e.code for e in reversed(events)]


def last_event_index(connection: Any) -> int:
    events = connection.system_service().events_service().list(max=1)
    return int(events[0].index) if events else 0
