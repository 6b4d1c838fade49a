# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded polling with back-off (private, may change)."""
from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

from .errors import EngineError, InputError, WaitTimeout

T = TypeVar("T")


def wait_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    describe: Callable[[T], str],
    timeout: float,
    failed: Optional[Callable[[T], Optional[str]]] = None,
    interval: float = 1.0,
    max_interval: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Poll ``fetch`` until ``done`` is true; return the last value.

    The interval doubles up to ``max_interval`` and never sleeps past the
    deadline.  ``failed`` may return a reason to stop early (a state that
    will not turn into the wanted one).  On timeout a ``WaitTimeout`` says
    what was awaited and the last state seen.
    """
    deadline = clock() + max(timeout, 0)
    delay = interval
    attempts = 0
    while True:
        value = fetch()
        attempts += 1
        if done(value):
            return value
        if failed is not None:
            reason = failed(value)
            if reason:
                raise EngineError("while waiting for %s: %s" % (what, reason), obj=describe(value))
        remaining = deadline - clock()
        if remaining <= 0:
            last = describe(value)
            raise WaitTimeout("timed out after %ss (%d checks) waiting for %s; last state seen: %s"
                              % (timeout, attempts, what, last), last_state=last)
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval)


def positive_seconds(value: int, field: str = "wait_timeout") -> int:
    """A timeout option: a positive number of seconds."""
    if value <= 0:
        raise InputError(field, "a positive number of seconds", value)
    return value
