# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verified fence sequence, for ipmi_fence (private, may change).

"Command sent" is not "fenced": an action succeeds only when the BMC reports
the power state it must end in.  ``off`` = send off, wait ``power_wait``,
poll until the BMC reports off or ``power_timeout`` passes, re-send up to
``retries`` times.  ``reboot`` with method ``onoff`` = verified off, then
verified on; with method ``cycle`` = one Chassis Control power cycle, then
verified on (weaker: the off in between is usually not observed, and then
the host does not count as fenced).  A timeout is always a failure.  Every step lands in an audit record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .client import PowerControl
from .clock import Clock
from .errors import BmcCommandRefused, BmcTimedOut, IpmiError, PowerStateTimeout
from .power import POLL_INTERVAL, compress_states, wait_for_power

FENCE_ACTIONS = ("off", "on", "reboot", "status")
FENCE_METHODS = ("onoff", "cycle")

Progress = Callable[[Dict[str, Any]], None]


@dataclass(frozen=True)
class FenceRequest:
    action: str
    method: str = "onoff"
    power_wait: float = 2.0
    power_timeout: float = 20.0
    retries: int = 0
    delay: float = 0.0
    check_mode: bool = False
    poll_interval: float = POLL_INTERVAL

    def budget(self) -> float:
        """Longest time the sequence may take once logged in (for the per-BMC hard deadline)."""
        phases = 2 if self.action == "reboot" else 1
        per_attempt = self.power_wait + self.power_timeout + 2 * self.poll_interval + 1.0
        return self.delay + phases * per_attempt * (self.retries + 1)


def plan(action: str, method: str, power: str) -> List[str]:
    """The power commands the action needs from ``power``, e.g. ['off', 'on'] for a reboot of a running host."""
    if action == "status":
        return []
    if action in ("off", "on"):
        return [] if power == action else [action]
    if power == "off":
        return ["on"]
    return ["off", "on"] if method == "onoff" else ["cycle"]


class _Audit:
    def __init__(self, record: Dict[str, Any], clock: Clock, progress: Optional[Progress]) -> None:
        self.record = record
        self.clock = clock
        self.progress = progress

    def publish(self) -> None:
        if self.progress is not None:
            self.progress(self.record)


def new_record(request: FenceRequest, clock: Clock) -> Dict[str, Any]:
    return {
        "action": request.action, "method": request.method, "check_mode": request.check_mode,
        "started_at": clock.wall(), "finished_at": None, "elapsed": None,
        "power_before": None, "power_after": None, "commands": [], "phases": [],
        "changed": False, "fenced": False, "result": "running",
    }


def fence(ctl: PowerControl, request: FenceRequest, label: str, clock: Optional[Clock] = None,
          progress: Optional[Progress] = None, record: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Run the fence action against one logged-in BMC; return its audit record (never raises IpmiError)."""
    clock = clock or Clock()
    record = record if record is not None else new_record(request, clock)
    started = clock.monotonic()
    audit = _Audit(record, clock, progress)
    try:
        power = ctl.power_state()
        record["power_before"] = record["power_after"] = power
        commands = plan(request.action, request.method, power)
        record["commands"] = commands
        audit.publish()
        if request.check_mode or not commands:
            record["changed"] = bool(commands)
            record["result"] = "success"
            # an "off" that found the power already off is confirmed by that reading
            record["fenced"] = not request.check_mode and request.action == "off" and power == "off"
        else:
            if request.delay > 0:
                record["delayed"] = request.delay
                clock.sleep(request.delay)
            # fenced = the power was seen off: already off when read, or off confirmed after a command
            off_seen = power == "off"
            for command in commands:
                final = "off" if command == "off" else "on"
                _phase(ctl, request, command, final, label, audit)
                record["power_after"] = final
                record["changed"] = True
                off_seen = off_seen or command == "off" or _phase_saw_off(audit.record["phases"][-1])
                if off_seen and request.action in ("off", "reboot"):
                    record["fenced"] = True  # kept even if the later power on fails
            record["result"] = "success"
            # a cycle whose off was never observed rebooted the host, maybe; it is not a confirmed fence
            record["fenced"] = off_seen and request.action in ("off", "reboot")
    except IpmiError as error:
        record["result"] = "failed"
        record["error"] = error.to_result()
    record["finished_at"] = clock.wall()
    record["elapsed"] = round(clock.monotonic() - started, 3)
    audit.publish()
    return record


def _phase_saw_off(phase: Dict[str, Any]) -> bool:
    return any(state.split(" ")[0] == "off" for attempt in phase["attempts"] for state in attempt["states_seen"])


def _phase(ctl: PowerControl, request: FenceRequest, command: str, final: str, label: str, audit: _Audit) -> None:
    """Send ``command`` and confirm ``final``, with up to ``retries`` re-sends; raise when never confirmed."""
    clock = audit.clock
    phase: Dict[str, Any] = {"command": command, "expect": final, "attempts": [], "confirmed": False}
    audit.record["phases"].append(phase)
    all_seen: List[str] = []
    last_error: Optional[IpmiError] = None
    for number in range(1, request.retries + 2):
        attempt: Dict[str, Any] = {"attempt": number, "sent_at": clock.wall(), "states_seen": []}
        phase["attempts"].append(attempt)
        audit.publish()
        try:
            ctl.send_power(command)
        except BmcCommandRefused as error:
            attempt["error"] = error.to_result()
            last_error = error
            clock.sleep(request.poll_interval)
            continue
        audit.record["changed"] = True  # accepted by the BMC: something may have changed, confirmed or not
        clock.sleep(request.power_wait)
        seen: List[str] = []
        try:
            wait_for_power(ctl, final, request.power_timeout, clock, seen, label, request.poll_interval)
        except PowerStateTimeout as error:
            last_error = error
            continue
        finally:
            attempt["states_seen"] = compress_states(seen)
            all_seen.extend(seen)
            audit.publish()
        attempt["confirmed_at"] = clock.wall()
        phase["confirmed"] = True
        return
    states = compress_states(all_seen)
    attempts = request.retries + 1
    verdict = "; NOT fenced" if command != "on" else ""
    if isinstance(last_error, BmcCommandRefused) and not all_seen:
        raise BmcCommandRefused("BMC %s refused power %s on all %d attempt(s): %s%s"
                                % (label, command, attempts, last_error.message, verdict), code=last_error.code)
    raise BmcTimedOut("BMC %s did not confirm power %s after %d attempt(s) of power %s (power_wait %gs, "
                      "power_timeout %gs each); states seen: %s%s"
                      % (label, final, attempts, command, request.power_wait, request.power_timeout,
                         ", ".join(states) or "none", verdict), states_seen=states)
