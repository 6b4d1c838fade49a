# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors for engine operations (private, may change).

Every failure a module can report is an ``EngineError``.  SDK exceptions are
translated once, in ``engine_call``; the module wrapper turns the typed error
into one ``fail_json``.
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Dict, Iterator, Optional

try:
    import ovirtsdk4 as _sdk
except ImportError:  # the module wrapper reports the missing dependency
    _sdk = None


class EngineError(Exception):
    """A failure talking to the engine or a refusal to act."""

    def __init__(
        self,
        message: str,
        *,
        code: Optional[int] = None,
        reason: Optional[str] = None,
        detail: Optional[str] = None,
        obj: Optional[str] = None,
        expected: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.detail = detail
        self.obj = obj
        self.expected = expected

    def __str__(self) -> str:
        parts = [self.message]
        if self.obj:
            parts.append("object: %s" % self.obj)
        if self.expected:
            parts.append("expected: %s" % self.expected)
        engine = []
        if self.code is not None:
            engine.append("HTTP %s" % self.code)
        if self.reason:
            engine.append(self.reason)
        if self.detail:
            engine.append(self.detail)
        if engine:
            parts.append("engine said: %s" % " - ".join(engine))
        return "; ".join(parts)

    def to_result(self) -> Dict[str, Any]:
        """The keys a module returns with ``fail_json``."""
        result: Dict[str, Any] = {"msg": str(self), "error_type": type(self).__name__}
        for key, value in (
            ("http_code", self.code),
            ("engine_reason", self.reason),
            ("engine_detail", self.detail),
            ("object", self.obj),
            ("expected", self.expected),
        ):
            if value is not None:
                result[key] = value
        return result


class EngineAuthError(EngineError):
    """SSO refused the credentials or the token, or the user lacks permission."""


class EngineUnreachable(EngineError):
    """No connection: name not resolved, connection refused, TLS failure."""


class EngineRequestTimeout(EngineError):
    """A single request exceeded ``auth.timeout``."""


class EngineNotFound(EngineError):
    """The object does not exist (HTTP 404 or not in a list)."""


class EngineConflict(EngineError):
    """The engine refused the operation in the object's current state (HTTP 409)."""


class EngineBadRequest(EngineError):
    """The engine rejected the request content (HTTP 400)."""


class WaitTimeout(EngineError):
    """A bounded wait ran out; ``last_state`` is what was seen last."""

    def __init__(self, message: str, *, last_state: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.last_state = last_state

    def to_result(self) -> Dict[str, Any]:
        result = super().to_result()
        if self.last_state is not None:
            result["last_state"] = self.last_state
        return result


class InputError(EngineError):
    """A module option is invalid; ``field`` names it (e.g. ``vms[2].priority``)."""

    def __init__(self, field: str, expected: str, got: Any = None) -> None:
        got_text = "" if got is None else ", got %r" % (got,)
        super().__init__("invalid %s: expected %s%s" % (field, expected, got_text))
        self.field = field

    def __str__(self) -> str:
        return self.message


class SafetyRefusal(EngineError):
    """The module refuses an action that could harm the cluster unless forced."""


def _fault_parts(exc: BaseException) -> tuple:
    fault = getattr(exc, "fault", None)
    reason = getattr(fault, "reason", None) if fault is not None else None
    detail = getattr(fault, "detail", None) if fault is not None else None
    return reason, detail


def from_sdk(exc: BaseException, *, action: str, obj: Optional[str] = None,
             expected: Optional[str] = None) -> EngineError:
    """Translate an ovirtsdk4 exception raised while doing ``action``."""
    code = getattr(exc, "code", None)
    reason, detail = _fault_parts(exc)
    kwargs: Dict[str, Any] = dict(code=code, reason=reason, detail=detail, obj=obj, expected=expected)
    text = str(exc) if not (reason or detail) else ""
    message = "%s failed%s" % (action, ": " + text if text else "")
    cls: type = EngineError
    if _sdk is not None:
        if isinstance(exc, _sdk.AuthError):
            cls = EngineAuthError
        elif isinstance(exc, _sdk.ConnectionError):
            cls = EngineUnreachable
        elif isinstance(exc, _sdk.TimeoutError):
            cls = EngineRequestTimeout
        elif isinstance(exc, _sdk.NotFoundError):
            cls = EngineNotFound
    if cls is EngineError:
        curl = _curl_error(str(exc)) if code is None else None
        if code == 409:
            cls = EngineConflict
        elif code == 400:
            cls = EngineBadRequest
        elif curl is not None and curl[0] in CURL_TIMEOUT:
            cls = EngineRequestTimeout
            message = "%s failed: no answer within auth.timeout (%s)" % (action, curl[1])
        elif curl is not None and curl[0] in CURL_UNREACHABLE:
            cls = EngineUnreachable
            message = "%s failed: cannot reach the engine (%s)" % (action, curl[1])
        elif (curl is not None and curl[0] in CURL_TLS) or (code is None and _mentions_tls(str(exc))):
            cls = EngineUnreachable
            message = "%s failed: TLS verification of the engine failed (%s); set auth.ca_file to the engine CA" % (
                action, curl[1] if curl else exc)
    return cls(message, **kwargs)


# libcurl error codes the SDK passes through as plain errors.
CURL_TIMEOUT = (28,)
CURL_UNREACHABLE = (5, 6, 7, 52, 55, 56)
CURL_TLS = (35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91)


def _mentions_tls(text: str) -> bool:
    return "SSL" in text or "certificate" in text


def _curl_error(text: str) -> Optional[tuple]:
    """(code, message) from an SDK error text such as ``[(<Curl>, 28, 'Operation timed out ...')]``."""
    match = re.search(r"[(,]\s*(\d+),\s*['\"]([^'\"]*)['\"]\)", text)
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


@contextlib.contextmanager
def engine_call(action: str, obj: Optional[str] = None, expected: Optional[str] = None) -> Iterator[None]:
    """Run SDK calls, translating SDK errors into typed ``EngineError``."""
    if _sdk is None:
        yield
        return
    try:
        yield
    except _sdk.Error as exc:
        raise from_sdk(exc, action=action, obj=obj, expected=expected) from exc
