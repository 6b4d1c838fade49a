"""Who is acting right now: the engine's own HA, an agent, an API client (SSO user and request), an IPMI client.

Every violation the lab records names its actor, so a test can tell "the engine did this" from "the playbook did
this".  The actor travels with the thread of work (a context variable): the HTTP handler sets it per request, the
clock tick sets it for the engine and the agents, fence jobs carry the actor that queued them.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class Actor:
    kind: str  # engine | agent | api | ipmi | lab
    name: str = ""
    request: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name or None, "request": self.request or None}

    def __str__(self) -> str:
        text = self.kind if not self.name else f"{self.kind} {self.name}"
        return f"{text} ({self.request})" if self.request else text


ENGINE = Actor("engine")
LAB = Actor("lab")

_CURRENT: contextvars.ContextVar[Actor] = contextvars.ContextVar("lab_actor", default=LAB)


def current() -> Actor:
    return _CURRENT.get()


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    token = _CURRENT.set(actor)
    try:
        yield actor
    finally:
        _CURRENT.reset(token)
