# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vdsm vm.conf of the engine VM (private, may change).

``key=value`` lines, repeated ``devices={k:v,...}`` lines whose values may be nested maps
(``address:{bus:0x00, slot:0x06}``), and optionally ``xmlBase64=`` with the libvirt domain XML.
Device values are kept as strings; maps as dicts. Parsing tolerates the spaces older writers left
after commas; rendering writes the compact form the agent writes.
"""
from __future__ import annotations

import base64
import binascii
import re
import typing as t
from dataclasses import dataclass, field

from .errors import ConfigError, ParseError
from .validators import check_uuid

Device = t.Dict[str, t.Any]  # values: str or a nested Device
_KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.-]*\Z")
_FORBIDDEN_IN_DEVICE = set("{},\n\r")
# vdsm nests two levels (devices={...,address:{...}}); a deeper file is damaged, and must not exhaust the stack.
_MAX_DEPTH = 8


def parse_device(text: str, source: str = "vm.conf", number: int = 0) -> Device:
    """Parse ``{k:v,k:{...}}`` into a dict."""
    value, end = _parse_map(text, 0, source, number)
    if text[end:].strip():
        raise ParseError(source, number, "text after the closing brace: {0!r}".format(text[end:]))
    return value


def _parse_map(text: str, start: int, source: str, number: int, depth: int = 1) -> tuple[Device, int]:
    if depth > _MAX_DEPTH:
        raise ParseError(source, number, "braces nested deeper than {0} levels".format(_MAX_DEPTH))
    position = _skip_spaces(text, start)
    if position >= len(text) or text[position] != "{":
        raise ParseError(source, number, "expected an opening brace at column " + str(position + 1))
    result: Device = {}
    position += 1
    while True:
        position = _skip_spaces(text, position)
        if position >= len(text):
            raise ParseError(source, number, "missing closing brace")
        if text[position] == "}":
            return result, position + 1
        colon = text.find(":", position)
        if colon < 0:
            raise ParseError(source, number, "expected key:value at column {0}".format(position + 1))
        key = text[position:colon].strip()
        if not key or any(ch in key for ch in "{},"):
            raise ParseError(source, number, "bad key {0!r}".format(key))
        position = _skip_spaces(text, colon + 1)
        if position < len(text) and text[position] == "{":
            nested, position = _parse_map(text, position, source, number, depth + 1)
            result[key] = nested
        else:
            end = position
            while end < len(text) and text[end] not in ",}":
                end += 1
            result[key] = text[position:end].strip()
            position = end
        position = _skip_spaces(text, position)
        if position < len(text) and text[position] == ",":
            position += 1


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t":
        position += 1
    return position


def _scalar(field_name: str, value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    if not isinstance(value, str) or _FORBIDDEN_IN_DEVICE.intersection(value):
        raise ConfigError(field_name, "a string without braces, commas or newlines", value)
    return value


def format_device(device: t.Mapping[str, t.Any], field_name: str = "devices") -> str:
    parts = []
    for key, value in device.items():
        if not isinstance(key, str) or not key or _FORBIDDEN_IN_DEVICE.intersection(key) or ":" in key:
            raise ConfigError("{0}.{1}".format(field_name, key), "a key without braces, commas or colons", key)
        name = "{0}.{1}".format(field_name, key)
        if isinstance(value, dict):
            parts.append("{0}:{1}".format(key, format_device(value, name)))
        else:
            parts.append("{0}:{1}".format(key, _scalar(name, value)))
    return "{" + ",".join(parts) + "}"


@dataclass
class Entry:
    text: str
    key: str | None = None   # None: comment/blank kept verbatim
    value: str = ""
    device: Device | None = None


@dataclass
class VmConf:
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, source: str = "vm.conf") -> "VmConf":
        entries = []
        for number, raw in enumerate(text.splitlines(keepends=True), 1):
            body = raw.rstrip("\r\n")
            if not body.strip() or body.lstrip().startswith("#"):
                entries.append(Entry(raw))
                continue
            if "=" not in body:
                raise ParseError(source, number, "expected key=value, got {0!r}".format(body[:80]))
            key, value = body.split("=", 1)
            key = key.strip()
            if key == "devices":
                entries.append(Entry(raw, key, value, parse_device(value, source, number)))
            else:
                entries.append(Entry(raw, key, value))
        return cls(entries)

    @classmethod
    def build(cls, params: t.Mapping[str, t.Any], devices: t.Sequence[t.Mapping[str, t.Any]] = (),
              xml: str | None = None) -> "VmConf":
        """A vm.conf from structured input: params in the given order, then devices, then xmlBase64."""
        if "vmId" not in params:
            raise ConfigError("vm_conf.params.vmId", "the engine VM's UUID")
        conf = cls()
        for key, value in params.items():
            name = "vm_conf.params.{0}".format(key)
            if not isinstance(key, str) or not _KEY.match(key) or key in ("devices", "xmlBase64"):
                raise ConfigError(name, "a vdsm key (letters, digits, _ . -); devices and xml have their own "
                                  "options", key)
            if key == "vmId":
                value = check_uuid(name, str(value))
            if key in ("memSize", "smp", "maxVCpus"):
                if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
                    raise ConfigError(name, "a positive integer", value)
            text = _scalar(name, value) if not isinstance(value, str) else value
            if "\n" in text or "\r" in text:
                raise ConfigError(name, "a value on one line", value)
            conf.entries.append(Entry("{0}={1}\n".format(key, text), key, text))
        for index, device in enumerate(devices):
            if not isinstance(device, dict):
                raise ConfigError("vm_conf.devices[{0}]".format(index), "a dict", device)
            text = format_device(device, "vm_conf.devices[{0}]".format(index))
            conf.entries.append(Entry("devices={0}\n".format(text), "devices", text,
                                      parse_device(text)))
        if xml is not None:
            encoded = base64.standard_b64encode(xml.encode("utf-8")).decode("ascii")
            conf.entries.append(Entry("xmlBase64={0}\n".format(encoded), "xmlBase64", encoded))
        return conf

    def render(self) -> str:
        return "".join(entry.text for entry in self.entries)

    def params(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries if e.key not in (None, "devices")}

    def devices(self) -> list[Device]:
        return [e.device for e in self.entries if e.device is not None]

    def xml(self) -> str | None:
        encoded = self.params().get("xmlBase64")
        if encoded is None:
            return None
        try:
            return base64.standard_b64decode(encoded.strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ParseError("vm.conf", 0, "xmlBase64 is not base64 of UTF-8 text") from None
