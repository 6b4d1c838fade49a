# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed IPMI failures (private, may change).

pyghmi's own exception texts are often empty (``'None'``) or protocol jargon;
every failure here names the BMC and says what to check.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional


class IpmiError(Exception):
    """A failure talking to one BMC, or a refusal to act on it."""

    kind = "error"

    def __init__(self, message: str, *, bmc: Optional[str] = None, states_seen: Optional[List[str]] = None,
                 detail: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.bmc = bmc
        self.states_seen = list(states_seen or [])
        self.detail = detail

    def __str__(self) -> str:
        text = self.message
        if self.detail:
            text += " (pyghmi: %s)" % self.detail
        return text

    def to_result(self) -> Dict[str, Any]:
        result: Dict[str, Any] = {"kind": self.kind, "msg": str(self)}
        if self.states_seen:
            result["states_seen"] = list(self.states_seen)
        return result


class BmcUnreachable(IpmiError):
    """No IPMI answer at all: wrong address or port, IPMI over LAN off, firewall, name not resolvable."""

    kind = "unreachable"


class BmcAuthenticationFailed(IpmiError):
    """The BMC answered but refused the user, the password, or the privilege level."""

    kind = "authentication_failed"


class BmcCommandRefused(IpmiError):
    """The BMC answered a command with a non-zero completion code."""

    kind = "command_refused"

    def __init__(self, message: str, *, code: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code

    def to_result(self) -> Dict[str, Any]:
        result = super().to_result()
        if self.code is not None:
            result["completion_code"] = self.code
        return result


class BmcTimedOut(IpmiError):
    """A deadline passed: the power never reached the wanted state, or the BMC stopped answering."""

    kind = "timed_out"


class PowerStateTimeout(BmcTimedOut):
    """The BMC kept answering, but never reported the wanted power state in time."""


class FenceRefused(IpmiError):
    """A safety rule forbids the action (for example fencing the machine the module runs on)."""

    kind = "refused"


class IpmiInputError(IpmiError):
    """An option is invalid; the message names the field and the expected form."""

    kind = "invalid_input"


ERROR_KINDS = {
    cls.kind: cls
    for cls in (IpmiError, BmcUnreachable, BmcAuthenticationFailed, BmcCommandRefused, BmcTimedOut, FenceRefused,
                IpmiInputError)
}


def error_from_result(result: Dict[str, Any], bmc: Optional[str] = None) -> IpmiError:
    """Rebuild a typed error from ``to_result()`` output (results cross process boundaries as dicts)."""
    cls = ERROR_KINDS.get(str(result.get("kind")), IpmiError)
    return cls(str(result.get("msg", "")), bmc=bmc, states_seen=result.get("states_seen"))
