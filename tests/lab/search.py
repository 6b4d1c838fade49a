"""The engine's search syntax, as far as the lab needs it: ``name=``, ``status=``, ``cluster=``, ``host=``,
``id=``, ``!=``, ``*`` wildcards, ``and``; case-insensitive."""

from __future__ import annotations

import fnmatch
import re
from typing import Callable, Optional

_TERM = re.compile(r'^\s*([A-Za-z_.]+)\s*(!=|=)\s*(?:"([^"]*)"|(\S+))\s*$')
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class SearchError(ValueError):
    """The search expression cannot be parsed."""


def _norm(value: str) -> str:
    return value.lower().replace("_", "").replace("-", "").replace(" ", "")


def parse(expression: Optional[str]) -> list[tuple[str, bool, str]]:
    """Return (field, negate, pattern) terms; an empty or ``*`` expression matches everything."""
    if expression is None:
        return []
    text = expression.strip()
    if not text or text == "*":
        return []
    # a leading "Hosts:" / "Vms:" prefix is accepted by the engine
    text = re.sub(r"^[A-Za-z]+\s*:\s*", "", text)
    terms = []
    for part in _AND.split(text):
        if not part.strip():
            continue
        match = _TERM.match(part)
        if not match:
            # a bare word searches by name
            if re.match(r"^[\w.*-]+$", part.strip()):
                terms.append(("name", False, part.strip().lower()))
                continue
            raise SearchError(f"Cannot parse search expression '{expression}'")
        field, op, quoted, plain = match.groups()
        terms.append((field.lower(), op == "!=", (quoted if quoted is not None else plain).lower()))
    return terms


def matches(terms: list[tuple[str, bool, str]], getter: Callable[[str], Optional[list[str]]]) -> bool:
    """``getter(field)`` gives the object's values for a field, or None for an unknown field."""
    for field, negate, pattern in terms:
        values = getter(field)
        if values is None:
            raise SearchError(f"Unknown search field '{field}'")
        if field == "status":
            hit = any(fnmatch.fnmatchcase(_norm(v), _norm(pattern)) for v in values)
        else:
            hit = any(fnmatch.fnmatchcase(v.lower(), pattern) for v in values)
        if hit == negate:
            return False
    return True
