# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Difference tracking for check mode and --diff (private, may change).

A module records each (object, field) comparison once; ``changed``,
the ``diff`` return value and the list of changes all come from it, so check
mode skips only the mutating call.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

SECRET = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class DifferenceTracker:
    def __init__(self) -> None:
        self._before: Dict[str, Dict[str, Any]] = {}
        self._after: Dict[str, Dict[str, Any]] = {}
        self._changes: List[Tuple[str, str]] = []

    def add(self, obj: str, name: str, before: Any, after: Any, *, secret: bool = False) -> bool:
        """Record a comparison; return True when the values differ.

        Secret values are compared but only a placeholder is kept.
        """
        differs = before != after
        shown_before, shown_after = (SECRET if before is not None else None, SECRET) if secret else (before, after)
        self._before.setdefault(obj, {})[name] = shown_before
        self._after.setdefault(obj, {})[name] = shown_after
        if differs:
            self._changes.append((obj, name))
        return differs

    def note(self, obj: str, name: str, before: Any, after: Any) -> None:
        """Record a change decided elsewhere (an added or removed item)."""
        self._before.setdefault(obj, {})[name] = before
        self._after.setdefault(obj, {})[name] = after
        if before != after:
            self._changes.append((obj, name))

    @property
    def changed(self) -> bool:
        return bool(self._changes)

    def changed_objects(self) -> List[str]:
        seen: List[str] = []
        for obj, _name in self._changes:
            if obj not in seen:
                seen.append(obj)
        return seen

    def changes(self, obj: str) -> List[str]:
        return [name for o, name in self._changes if o == obj]

    def diff(self, only_changed: bool = True) -> Dict[str, Dict[str, Dict[str, Any]]]:
        """``{"before": {obj: {field: v}}, "after": {...}}`` for Ansible's --diff."""
        objects = self.changed_objects() if only_changed else list(self._before)
        return {
            "before": {o: {n: self._before[o][n] for n in self._before[o]
                           if not only_changed or (o, n) in self._changes} for o in objects},
            "after": {o: {n: self._after[o][n] for n in self._after[o]
                          if not only_changed or (o, n) in self._changes} for o in objects},
        }
