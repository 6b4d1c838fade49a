# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One IPMI-over-LAN session to one BMC, on pyghmi (private, may change).

Only chassis commands are used (Get Chassis Status, Chassis Control), sent raw
with our own polling: pyghmi's ``set_power(wait=True)`` costs about a second
per transition and its OEM probing adds round trips.

pyghmi facts this relies on (1.6): one session per (BMC, user, password) per
process with a shared I/O thread, so each BMC is handled in its own worker
process (see ``pool``); credentials must be ``bytes`` or a second session to
the same BMC hangs; an unreachable BMC fails with the text ``'None'``; a login
that never completes is retried forever, hence the caller's hard deadline;
sessions not logged out fill the BMC's session table, hence ``close()`` in a
``finally``.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Callable, Dict, List, Optional, Protocol

from .errors import BmcAuthenticationFailed, BmcCommandRefused, BmcTimedOut, BmcUnreachable, IpmiError
from .target import PRIVILEGE_LEVELS, BmcTarget

NETFN_CHASSIS = 0x00
CMD_GET_CHASSIS_STATUS = 0x01
CMD_CHASSIS_CONTROL = 0x02
CHASSIS_CONTROL = {"off": 0x00, "on": 0x01, "cycle": 0x02, "reset": 0x03, "soft": 0x05}

# IPMI 2.0 table 5-2, the completion codes a chassis command meets in practice
COMPLETION_CODES = {
    0xC0: "node busy", 0xC1: "command not supported", 0xC3: "timeout while processing the command",
    0xC7: "request data length invalid", 0xC9: "parameter out of range", 0xCC: "invalid data field in request",
    0xCE: "response could not be provided", 0xD4: "insufficient privilege level",
    0xD5: "command not supported in the present state", 0xFF: "unspecified error",
}
RESTORE_POLICIES = ("always-off", "previous", "always-on", "unknown")

_AUTH_TEXTS = ("incorrect password", "unauthorized name", "rakp", "privelege", "privilege", "unauthorized role",
               "invalid role", "insufficient privilege", "cipher suite 17 refused")


class PowerControl(Protocol):
    """What the power and fence logic needs from a BMC connection."""

    def power_state(self) -> str:
        """'on' or 'off'."""

    def chassis_status(self) -> Dict[str, Any]:
        """Decoded Get Chassis Status."""

    def send_power(self, action: str) -> None:
        """Send one Chassis Control command; raises BmcCommandRefused on a non-zero completion code."""


class RawSession(Protocol):
    """The slice of ``pyghmi.ipmi.private.session.Session`` used here (and faked in unit tests)."""

    def raw_command(self, netfn: int, command: int, data: Any = ...) -> Dict[str, Any]:
        ...

    def logout(self) -> Any:
        ...


SessionFactory = Callable[[BmcTarget], RawSession]


class LoginProgress:
    """Whether the BMC answered anything during login: tells 'unreachable' from 'login stalled'."""

    heard = False


_POLL = 0.02  # seconds per event-loop turn while waiting for a reply


class _PyghmiSession:
    """Drives one pyghmi session with a short event-loop turn and our own deadlines.

    pyghmi's blocking calls can miss a reply that lands between two of its
    waits and then sleep until the retransmit timer (0.5-1.5 s); on a fresh
    process that happens often.  Running pyghmi asynchronously (callbacks) and
    turning its event loop every 20 ms keeps each exchange in milliseconds.
    """

    def __init__(self, session: Any, session_class: Any, exchange_timeout: float) -> None:
        self._session = session
        self._class = session_class
        self._exchange_timeout = exchange_timeout  # bound of each login or command, not of the whole session

    def _loop_until(self, done: Callable[[], bool]) -> bool:
        end = time.monotonic() + self._exchange_timeout
        while not done():
            if time.monotonic() >= end:
                return False
            self._class.wait_for_rsp(timeout=_POLL)
        return True

    def raw_command(self, netfn: int, command: int, data: Any = ()) -> Dict[str, Any]:
        replies: List[Dict[str, Any]] = []
        session = self._session
        session.raw_command(netfn=netfn, command=command, data=data, callback=replies.append)
        try:
            if not self._loop_until(lambda: bool(replies)):
                return {"error": "timeout", "code": 0xFFFF}
        finally:
            # with a callback pyghmi leaves the command bookkeeping to the caller
            session.incommand = False
            while session.evq:
                session.evq.popleft().set()
        return replies[0]

    def logout(self) -> None:
        self._session.logout()


def _shorten_pyghmi_waits(pyghmi_session: Any) -> None:
    """Make pyghmi's own blocking waits (e.g. inside login) wake every 20 ms.

    Its waits end at the retransmit timer even when the reply is already
    queued; a shorter wait only means more turns of its loop, whose timeout
    and retransmit logic keep reading their own timers.  Process-wide: called
    in the per-BMC worker process only.
    """
    if getattr(pyghmi_session, "_ovirt_ha_short_waits", False):
        return
    original = pyghmi_session._io_wait

    def short_wait(timeout: float, myaddr: Any = None, evq: Any = None) -> Any:
        return original(min(timeout, _POLL), myaddr, evq)

    pyghmi_session._io_wait = short_wait
    pyghmi_session._ovirt_ha_short_waits = True


def pyghmi_session_factory(target: BmcTarget, progress: Optional[LoginProgress] = None) -> RawSession:
    """Log in with the cipher suite pinned; raises pyghmi's exceptions, or IpmiException on our deadline."""
    from pyghmi import exceptions as pyghmi_exceptions  # imported lazily: the dependency guard is in module.py
    from pyghmi.ipmi.private import session as pyghmi_session

    tracker: LoginProgress = progress if progress is not None else LoginProgress()
    suite = target.cipher
    _shorten_pyghmi_waits(pyghmi_session)

    class _PinnedSuiteSession(pyghmi_session.Session):
        # pyghmi proposes suite 17 and falls back to 3 when refused; pin the
        # suite the user asked for instead of negotiating down silently.
        def _open_rmcpplus_request(self) -> None:
            if suite == 3:
                self.attemptedhash = 1
            elif self.attemptedhash == 1:
                self.onlogon({"error": "cipher suite 17 refused by the BMC"})
                return
            super()._open_rmcpplus_request()

        def _handle_ipmi_packet(self, data: Any, sockaddr: Any = None, qent: Any = None) -> Any:
            tracker.heard = True
            return super()._handle_ipmi_packet(data, sockaddr=sockaddr, qent=qent)

    outcome: List[Dict[str, Any]] = []
    session = _PinnedSuiteSession(
        bmc=target.address, userid=target.username.encode("utf-8"), password=target.password.encode("utf-8"),
        port=target.port, privlevel=PRIVILEGE_LEVELS[target.privilege], keepalive=False, onlogon=outcome.append)
    driver = _PyghmiSession(session, _PinnedSuiteSession, target.timeout)
    if not driver._loop_until(lambda: bool(outcome) or bool(session.broken)):
        session.logout()
        raise pyghmi_exceptions.IpmiException("None")
    if session.broken or "error" in outcome[0]:
        error = outcome[0].get("error") if outcome else getattr(session, "errormsg", None)
        raise pyghmi_exceptions.IpmiException(str(error))
    return driver


def login_error(target: BmcTarget, exc: BaseException, heard: bool) -> IpmiError:
    """Map a failed login to a typed error a person can act on."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, socket.gaierror):
        return BmcUnreachable("BMC %s: cannot resolve address %r (%s); check the BMC address in the inventory or DNS"
                              % (target.label, target.address, exc.strerror or exc), bmc=target.name)
    if isinstance(exc, OSError):
        return BmcUnreachable("BMC %s: network error %s; check the address and that this machine can reach it "
                              "over UDP" % (target.label, exc), bmc=target.name)
    if "cipher suite 17 refused" in lowered:
        return BmcAuthenticationFailed("BMC %s refused cipher suite 17; use cipher 3 or enable suite 17 on the BMC"
                                       % target.label, bmc=target.name)
    if "incorrect password" in lowered:
        return BmcAuthenticationFailed("BMC %s rejected the password of user %r; check the password stored for this "
                                       "BMC (IPMI_PASSWORD or the password option)"
                                       % (target.label, target.username), bmc=target.name, detail=text)
    if "unauthorized name" in lowered:
        return BmcAuthenticationFailed("BMC %s does not know the user %r; check the username (IPMI_USERNAME or the "
                                       "username option) and that the user is enabled for IPMI over LAN"
                                       % (target.label, target.username), bmc=target.name, detail=text)
    if any(word in lowered for word in _AUTH_TEXTS):
        return BmcAuthenticationFailed("BMC %s refused the login of user %r at privilege %r; check the user's IPMI "
                                       "privilege on the BMC or lower the privilege option"
                                       % (target.label, target.username, target.privilege),
                                       bmc=target.name, detail=text)
    if "insufficient resources" in lowered:
        return BmcCommandRefused("BMC %s has no free session slot; wait for stale sessions to expire or reset the "
                                 "BMC" % target.label, bmc=target.name, detail=text)
    if heard:
        return BmcAuthenticationFailed("BMC %s answered but the login never completed; usually an unknown user "
                                       "name or a BMC-side Kg key; check the username and the BMC's IPMI settings"
                                       % target.label, bmc=target.name, detail=None if text == "None" else text)
    return BmcUnreachable("BMC %s did not answer IPMI over LAN (UDP); check the address and port, that IPMI over "
                          "LAN is enabled on the BMC, and firewalls in between" % target.label,
                          bmc=target.name, detail=None if text in ("None", "") else text)


class BmcConnection:
    """A logged-in session to one BMC; use as a context manager so it always logs out."""

    def __init__(self, target: BmcTarget, factory: Optional[SessionFactory] = None) -> None:
        self.target = target
        self._factory = factory
        self._session: Optional[RawSession] = None

    def __enter__(self) -> "BmcConnection":
        self.open()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def open(self) -> None:
        progress = LoginProgress()
        try:
            if self._factory is not None:
                self._session = self._factory(self.target)
            else:
                self._session = pyghmi_session_factory(self.target, progress)
        except IpmiError:
            raise
        except Exception as exc:  # pyghmi raises IpmiException, socket errors, even struct.error
            raise login_error(self.target, exc, progress.heard) from None

    def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.logout()
        except Exception:  # the BMC may be gone already; nothing left to release on our side
            pass

    def _command(self, command: int, data: Any, what: str) -> Dict[str, Any]:
        if self._session is None:
            raise BmcUnreachable("BMC %s: no session (not logged in)" % self.target.label, bmc=self.target.name)
        try:
            response = self._session.raw_command(netfn=NETFN_CHASSIS, command=command, data=data)
        except Exception as exc:
            raise BmcTimedOut("BMC %s stopped answering during %s; it may be resetting or the network dropped "
                              "packets" % (self.target.label, what), bmc=self.target.name,
                              detail=str(exc) or None) from None
        if not isinstance(response, dict) or "error" in response and not response.get("code"):
            detail = response.get("error") if isinstance(response, dict) else repr(response)
            raise BmcTimedOut("BMC %s gave no usable answer to %s" % (self.target.label, what),
                              bmc=self.target.name, detail=str(detail))
        code = int(response.get("code") or 0)
        if code == 0xFFFF:
            raise BmcTimedOut("BMC %s did not answer %s in time" % (self.target.label, what), bmc=self.target.name)
        if code:
            meaning = COMPLETION_CODES.get(code, "completion code not in the IPMI table")
            hint = "; the user needs the operator or administrator privilege" if code == 0xD4 else ""
            raise BmcCommandRefused("BMC %s refused %s: completion code 0x%02X (%s)%s"
                                    % (self.target.label, what, code, meaning, hint),
                                    bmc=self.target.name, code=code)
        return response

    def chassis_status(self) -> Dict[str, Any]:
        data = bytearray(self._command(CMD_GET_CHASSIS_STATUS, (), "Get Chassis Status").get("data") or b"")
        if not data:
            raise BmcCommandRefused("BMC %s answered Get Chassis Status with no data" % self.target.label,
                                    bmc=self.target.name)
        current = data[0]
        status: Dict[str, Any] = {
            "power": "on" if current & 0x01 else "off",
            "power_overload": bool(current & 0x02),
            "power_interlock": bool(current & 0x04),
            "main_power_fault": bool(current & 0x08),
            "power_control_fault": bool(current & 0x10),
            "power_restore_policy": RESTORE_POLICIES[(current >> 5) & 0x03],
        }
        if len(data) > 2:
            misc = data[2]
            status.update({"chassis_intrusion": bool(misc & 0x01), "front_panel_lockout": bool(misc & 0x02),
                           "drive_fault": bool(misc & 0x04), "cooling_fault": bool(misc & 0x08)})
        return status

    def power_state(self) -> str:
        return str(self.chassis_status()["power"])

    def send_power(self, action: str) -> None:
        self._command(CMD_CHASSIS_CONTROL, (CHASSIS_CONTROL[action],), "chassis power %s" % action)
