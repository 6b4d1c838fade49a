# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Power state changes with verification, for ipmi_power (private, may change)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .client import PowerControl
from .clock import Clock
from .errors import PowerStateTimeout

POWER_STATES = ("on", "off", "reset", "cycle", "soft", "status")
# the state each command must end in
_EXPECTED = {"on": "on", "off": "off", "soft": "off", "reset": "on", "cycle": "on"}
POLL_INTERVAL = 0.25


@dataclass(frozen=True)
class PowerRequest:
    state: str
    wait: bool = True
    wait_timeout: float = 60.0
    check_mode: bool = False
    poll_interval: float = POLL_INTERVAL


def wait_for_power(ctl: PowerControl, wanted: str, timeout: float, clock: Clock, seen: List[str],
                   label: str, poll_interval: float = POLL_INTERVAL) -> str:
    """Poll until the BMC reports ``wanted``; raise PowerStateTimeout with every state seen when ``timeout`` passes."""
    deadline = clock.monotonic() + timeout
    while True:
        state = ctl.power_state()
        seen.append(state)
        if state == wanted:
            return state
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            states = _compress(seen)
            raise PowerStateTimeout("BMC %s did not report power %s within %gs; states seen: %s"
                                    % (label, wanted, timeout, ", ".join(states)), states_seen=states)
        clock.sleep(min(poll_interval, remaining))


def set_power(ctl: PowerControl, request: PowerRequest, label: str, clock: Optional[Clock] = None) -> Dict[str, Any]:
    """Bring one BMC to ``request.state``; idempotent for on/off/soft, always acts for reset/cycle.

    Returns the per-BMC result (without name/address, added by the caller).
    """
    clock = clock or Clock()
    before = ctl.power_state()
    result: Dict[str, Any] = {"power_before": before, "power": before, "changed": False, "command": None}
    if request.state == "status":
        return result
    command = request.state
    if command in ("on", "off", "soft") and before == _EXPECTED[command]:
        return result
    if command in ("reset", "cycle") and before == "off":
        # a reset or cycle of a machine that is off does nothing on most BMCs
        # (or is refused); the intent is "running again afterwards"
        command = "on"
        result["msg"] = "power was off: sent 'on' instead of '%s'" % request.state
    result.update(changed=True, command=command)
    if request.check_mode:
        result["power"] = _EXPECTED[command]
        return result
    ctl.send_power(command)
    if request.wait:
        seen: List[str] = []
        result["power"] = wait_for_power(ctl, _EXPECTED[command], request.wait_timeout, clock, seen, label,
                                         request.poll_interval)
        result["states_seen"] = _compress(seen)
    else:
        result["power"] = ctl.power_state()
    return result


def _compress(states: List[str]) -> List[str]:
    """``on, on, on, off`` -> ``on x3, off``: readable in a failure message, bounded in size."""
    out: List[str] = []
    count = 0
    for index, state in enumerate(states):
        count += 1
        if index + 1 == len(states) or states[index + 1] != state:
            out.append(state if count == 1 else "%s x%d" % (state, count))
            count = 0
    return out


compress_states = _compress
