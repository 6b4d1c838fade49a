# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""otopi answer files (answers.conf): typed ``key=TYPE:value`` entries in sections (private, may change).

Read by otopi with a case-preserving RawConfigParser: values are stripped, a ``multi-str`` value holds one
string per line, continuation lines indented by one space (as otopi writes them).
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from .errors import ConfigError, ParseError

SECTIONS = ("environment:default", "environment:init", "environment:override", "environment:enforce")
TYPES = ("none", "bool", "int", "str", "multi-str")
_FALSE = ("f", "F", "false", "False")
_SECTION = re.compile(r"\A\[([^\]]+)\]\s*\Z")
_SECRET = re.compile(r"(?i)(passw|secret|token|privkey)")

Value = t.Union[None, bool, int, str, t.List[str]]


def type_name(value: Value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "multi-str"
    raise ConfigError("value", "null, a boolean, an integer, a string or a list of strings", value)


def parse_typed(source: str, number: int, typed: str) -> Value:
    if ":" not in typed:
        raise ParseError(source, number, "value {0!r} has no TYPE: prefix".format(typed))
    kind, value = typed.split(":", 1)
    if kind == "none":
        return None
    if kind == "bool":
        return value not in _FALSE
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise ParseError(source, number, "int value {0!r} is not an integer".format(value)) from None
    if kind == "str":
        return value
    if kind == "multi-str":
        return value.splitlines()
    raise ParseError(source, number, "unknown type {0!r} (expected one of {1})".format(kind, ", ".join(TYPES)))


def format_typed(key: str, value: Value) -> str:
    kind = type_name(value)
    if kind == "none":
        text = "None"
    elif kind == "multi-str":
        items = t.cast(t.List[str], value)
        for item in items:
            _check_line(key, item)
        text = "\n ".join(items)
    else:
        text = str(value)
        _check_line(key, text)
    return "{0}:{1}".format(kind, text)


def _check_line(key: str, text: str) -> None:
    if "\n" in text or "\r" in text or text != text.strip():
        raise ConfigError(key, "a value on one line without leading or trailing spaces", text)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET.search(key))


@dataclass
class Entry:
    text: str                 # exact text of the entry including continuation lines
    section: str | None
    key: str | None = None
    value: Value = None


@dataclass
class AnswerFile:
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, source: str = "answers.conf") -> "AnswerFile":
        entries: list[Entry] = []
        section: str | None = None
        lines = text.splitlines(keepends=True)
        index = 0
        while index < len(lines):
            raw = lines[index]
            number = index + 1
            body = raw.rstrip("\r\n")
            stripped = body.strip()
            index += 1
            match = _SECTION.match(stripped)
            if match:
                section = match.group(1)
                entries.append(Entry(raw, section))
                continue
            if not stripped or stripped[0] in "#;":
                entries.append(Entry(raw, section))
                continue
            if "=" not in body:
                raise ParseError(source, number, "expected key=TYPE:value, got {0!r}".format(body))
            if section is None:
                raise ParseError(source, number, "entry before any [section]")
            # continuation lines belong to this value (indented, non-empty)
            parts = [raw]
            while index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip():
                parts.append(lines[index])
                index += 1
            key, typed = body.split("=", 1)
            typed = "\n".join([typed.strip()] + [part.strip() for part in parts[1:]])
            entries.append(Entry("".join(parts), section, key.strip(), parse_typed(source, number, typed)))
        return cls(entries)

    def render(self) -> str:
        return "".join(entry.text for entry in self.entries)

    def values(self, section: str = "environment:default") -> dict[str, Value]:
        return {e.key: e.value for e in self.entries if e.key is not None and e.section == section}

    def set(self, key: str, value: Value, section: str = "environment:default") -> None:
        if not key or "=" in key or key != key.strip() or "\n" in key or key.startswith("["):
            raise ConfigError(key or "<empty key>", "an otopi key like OVEHOSTED_VM/vmMemSizeMB", key)
        text = "{0}={1}\n".format(key, format_typed(key, value))
        last_in_section: int | None = None
        for position, entry in enumerate(self.entries):
            if entry.section == section:
                last_in_section = position
            if entry.key == key and entry.section == section:
                if entry.value != value or type_name(entry.value) != type_name(value):
                    self.entries[position] = Entry(text, section, key, value)
                return
        if last_in_section is None:
            if self.entries and not self.entries[-1].text.endswith("\n"):
                self.entries[-1].text += "\n"
            self.entries.append(Entry("[{0}]\n".format(section), section))
            self.entries.append(Entry(text, section, key, value))
            return
        # after the section's last entry that holds a value, so trailing blank lines stay trailing
        insert = last_in_section
        while insert > 0 and self.entries[insert].key is None and not self.entries[insert].text.startswith("["):
            insert -= 1
        if not self.entries[insert].text.endswith("\n"):
            self.entries[insert].text += "\n"
        self.entries.insert(insert + 1, Entry(text, section, key, value))

    def masked(self, extra_secret_keys: t.Iterable[str] = ()) -> str:
        secrets = set(extra_secret_keys)
        out = []
        for entry in self.entries:
            if entry.key is not None and entry.value is not None and (
                    entry.key in secrets or is_secret_key(entry.key)):
                out.append("{0}={1}:********\n".format(entry.key, type_name(entry.value)))
            else:
                out.append(entry.text)
        return "".join(out)
