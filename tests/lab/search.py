"""The engine's search syntax, as far as the lab needs it: ``field=value`` terms (``=``, ``!=``, ``<``, ``>``, ``<=``,
``>=``), ``*`` wildcards, quoted values, ``and`` / ``or`` (``and`` binds tighter, as in the engine), adjacent terms
meaning ``and``, a bare word searching by name, an optional ``Hosts:``-style prefix; case-insensitive."""

from __future__ import annotations

import functools
import re
from typing import Callable, Optional

# (field, operator, pattern): the pattern lower-cased, ``*`` its only wildcard
Term = tuple[str, str, str]
# terms joined by ``and`` inside a group, groups joined by ``or``; an empty query matches everything
Query = list[list[Term]]
# (field, value) -> a number to compare by, or None when the value has no order for that field
Order = Callable[[str, str], Optional[float]]

_TOKEN = re.compile(r'\s*(?:"(?P<quoted>[^"]*)"|(?P<op>!=|<=|>=|=|<|>)|(?P<word>[^\s=!<>"]+))')
_PREFIX = re.compile(r"^[A-Za-z]+\s*:\s*")
_COMPARE = {"<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
MAX_TERMS = 200


class SearchError(ValueError):
    """The search expression cannot be parsed."""


@functools.lru_cache(maxsize=65536)
def _norm(value: str) -> str:
    return value.lower().replace("_", "").replace("-", "").replace(" ", "")


def _tokens(text: str, expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text) and len(tokens) <= 3 * MAX_TERMS:
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SearchError(f"Cannot parse search expression '{expression}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse(expression: Optional[str]) -> Query:
    """Return the ``or``-groups of ``and``-ed terms; an empty or ``*`` expression matches everything."""
    if expression is None:
        return []
    text = expression.strip()
    if not text or text == "*":
        return []
    text = _PREFIX.sub("", text)
    tokens = _tokens(text, expression)
    groups: Query = [[]]
    index = 0
    joined = False  # the last token was ``and`` / ``or``
    while index < len(tokens):
        kind, value = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "word" and value.lower() in ("and", "or") and following[0] != "op":
            if not groups[-1] or joined:
                raise SearchError(f"Cannot parse search expression '{expression}'")
            if value.lower() == "or":
                groups.append([])
            joined = True
            index += 1
            continue
        joined = False
        if kind == "word" and following[0] == "op":
            operand = tokens[index + 2] if index + 2 < len(tokens) else ("", "")
            if operand[0] not in ("word", "quoted"):
                raise SearchError(f"Cannot parse search expression '{expression}'")
            groups[-1].append((value.lower(), following[1], operand[1].lower()))
            index += 3
            continue
        if kind == "word" and re.match(r"^[\w.*-]+$", value):
            # a bare word searches by name
            groups[-1].append(("name", "=", value.lower()))
            index += 1
            continue
        raise SearchError(f"Cannot parse search expression '{expression}'")
    if not groups[-1] or joined:
        raise SearchError(f"Cannot parse search expression '{expression}'")
    return groups


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


def _number(unused_field: str, value: str) -> Optional[float]:
    try:
        return float(value)
    except ValueError:
        return None


def _term_hit(term: Term, values: list[str], order: Order) -> bool:
    field, op, pattern = term
    if op in _COMPARE:
        bound = order(field, pattern)
        if bound is None:
            raise SearchError(f"Invalid value '{pattern}' for '{field}{op}'")
        ranked = [order(field, v.lower()) for v in values]
        return any(rank is not None and _COMPARE[op](rank, bound) for rank in ranked)
    if field == "status":
        wanted = _norm(pattern)
        hit = any(_norm(v) == wanted for v in values) if "*" not in wanted else any(_wildcard(wanted).match(_norm(v)) for v in values)
    elif "*" not in pattern:
        hit = any(v.lower() == pattern for v in values)
    else:
        regex = _wildcard(pattern)
        hit = any(regex.match(v.lower()) for v in values)
    return hit if op == "=" else not hit


def matches(query: Query, getter: Callable[[str], Optional[list[str]]], order: Optional[Order] = None) -> bool:
    """``getter(field)`` gives the object's values for a field, or None for an unknown field; ``order`` ranks values
    for ``<`` and ``>`` (default: as numbers)."""
    return compile_query(query, order)(getter)


def compile_query(query: Query, order: Optional[Order] = None) -> Callable[[Callable[[str], Optional[list[str]]]], bool]:
    """The query as a predicate over an object's field getter, built once for a whole list.  Every field of the query
    is looked up for each object (an unknown one is an error even in a branch that does not decide); groups that are
    one plain ``field=value`` term each are merged into one set lookup per field (a long ``host=a or host=b ...``
    costs one test per object, not one per term); the rest are evaluated most selective term first."""
    rank = order or _number
    fields = sorted({term[0] for group in query for term in group})
    by_field: dict[str, set[str]] = {}
    others: list[list[Term]] = []
    for group in query:
        if len(group) == 1 and group[0][1] == "=" and "*" not in group[0][2]:
            field, _op, pattern = group[0]
            by_field.setdefault(field, set()).add(_norm(pattern) if field == "status" else pattern)
        else:
            others.append(sorted(group, key=_broad))

    def predicate(getter: Callable[[str], Optional[list[str]]]) -> bool:
        if not query:
            return True
        values: dict[str, list[str]] = {}
        for field in fields:
            found = getter(field)
            if found is None:
                raise SearchError(f"Unknown search field '{field}'")
            values[field] = found
        for field, wanted in by_field.items():
            if any((_norm(v) if field == "status" else v.lower()) in wanted for v in values[field]):
                return True
        return any(all(_term_hit(term, values[term[0]], rank) for term in group) for group in others)

    return predicate


def _broad(term: Term) -> bool:
    """Cluster and data center terms match nearly everything: test them last."""
    return term[0] in ("cluster", "datacenter")
