# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent.conf, broker.conf and ha.conf: INI files read by Python's configparser (private, may change).

Lines are kept as read (comments, blank lines, order); set() changes a value in place or appends it at
the end of its section.
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from .errors import ConfigError, ParseError
from .validators import check_host, check_int_range, check_port

_SECTION = re.compile(r"\A\[([^\]]+)\]\s*\Z")

# agent.conf [score]: option name -> (key, default) as ovirt-ha-agent ships them.
SCORE_DEFAULTS: tuple[tuple[str, str, t.Union[int, float]], ...] = (
    ("base_score", "base-score", 3400),
    ("network_score_penalty", "network-score-penalty", 1600),
    ("not_uptodate_config_penalty", "not-uptodate-config-penalty", 1000),
    ("mgmt_bridge_score_penalty", "mgmt-bridge-score-penalty", 600),
    ("free_memory_score_penalty", "free-memory-score-penalty", 400),
    ("cpu_load_score_penalty", "cpu-load-score-penalty", 1000),
    ("engine_retry_score_penalty", "engine-retry-score-penalty", 50),
    ("cpu_load_penalty_min", "cpu-load-penalty-min", 0.4),
    ("cpu_load_penalty_max", "cpu-load-penalty-max", 0.9),
)
STATE_TRANSITIONS = ("maintenance", "start", "stop", "up", "down")
_EMAIL = re.compile(r"\A[^@\s,|]+@[^@\s,|]+\Z")


@dataclass
class Line:
    text: str
    section: str | None
    key: str | None = None
    value: str = ""


@dataclass
class IniFile:
    lines: list[Line] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, source: str = "ini") -> "IniFile":
        lines = []
        section: str | None = None
        for number, raw in enumerate(text.splitlines(keepends=True), 1):
            stripped = raw.strip()
            match = _SECTION.match(stripped)
            if match:
                section = match.group(1)
                lines.append(Line(raw, section))
            elif not stripped or stripped[0] in "#;":
                lines.append(Line(raw, section))
            else:
                separator = _separator(stripped)
                if separator is None:
                    raise ParseError(source, number, "expected key=value, got {0!r}".format(stripped[:80]))
                key, value = raw.split(separator, 1)
                lines.append(Line(raw, section, key.strip(), value.strip()))
        return cls(lines)

    def render(self) -> str:
        return "".join(line.text for line in self.lines)

    def sections(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for line in self.lines:
            if line.section is not None and line.key is None and line.text.strip().startswith("["):
                out.setdefault(line.section, {})
            if line.key is not None:
                out.setdefault(line.section or "", {})[line.key] = line.value
        return out

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        return self.sections().get(section, {}).get(key, default)

    def set(self, section: str, key: str, value: str) -> None:
        if "\n" in value or value != value.strip():
            raise ConfigError("{0}.{1}".format(section, key), "a value on one line without surrounding spaces",
                              value)
        last: int | None = None
        for index, line in enumerate(self.lines):
            if line.section == section:
                if line.key is not None or line.text.strip().startswith("["):
                    last = index
                if line.key == key:
                    if line.value != value:
                        self.lines[index] = Line("{0}={1}\n".format(key, value), section, key, value)
                    return
        if self.lines and not self.lines[-1].text.endswith("\n"):
            self.lines[-1].text += "\n"
        if last is None:
            if self.lines and self.lines[-1].text.strip():
                self.lines.append(Line("\n", self.lines[-1].section))
            self.lines.append(Line("[{0}]\n".format(section), section))
            last = len(self.lines) - 1
        self.lines.insert(last + 1, Line("{0}={1}\n".format(key, value), section, key, value))


def _separator(text: str) -> str | None:
    positions = [(text.find(sep), sep) for sep in ("=", ":") if text.find(sep) > 0]
    return min(positions)[1] if positions else None


def score_values(score: t.Mapping[str, t.Any]) -> dict[str, str]:
    """agent.conf [score] keys -> text, defaults filled in, each value checked."""
    known = {name: (key, default) for name, key, default in SCORE_DEFAULTS}
    unknown = sorted(set(score) - set(known))
    if unknown:
        raise ConfigError("agent_conf.score.{0}".format(unknown[0]),
                          "one of " + ", ".join(name for name, _key, _default in SCORE_DEFAULTS))
    out: dict[str, str] = {}
    numbers: dict[str, float] = {}
    for name, key, default in SCORE_DEFAULTS:
        value = score.get(name, default)
        field_name = "agent_conf.score.{0}".format(name)
        if isinstance(default, float):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ConfigError(field_name, "a number from 0 to 1", value) from None
            if isinstance(value, bool) or not 0.0 <= number <= 1.0:
                raise ConfigError(field_name, "a number from 0 to 1", value)
            numbers[name] = number
            out[key] = repr(number)
        else:
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            out[key] = str(check_int_range(field_name, value, 0, 100000))
    if numbers["cpu_load_penalty_min"] > numbers["cpu_load_penalty_max"]:
        raise ConfigError("agent_conf.score.cpu_load_penalty_min", "a value not above cpu_load_penalty_max",
                          numbers["cpu_load_penalty_min"])
    return out


def broker_values(params: t.Mapping[str, t.Any]) -> dict[str, dict[str, str]]:
    """broker.conf sections from the module's options, each value checked."""
    server = check_host("broker_conf.smtp_server", params["smtp_server"])
    port = check_port("broker_conf.smtp_port", params["smtp_port"])
    timeout = check_int_range("broker_conf.smtp_timeout", params["smtp_timeout"], 1, 3600)
    for address in list(params["destination_emails"]) + [params["source_email"]]:
        if not isinstance(address, str) or not _EMAIL.match(address):
            raise ConfigError("broker_conf.destination_emails/source_email", "e-mail addresses like "
                              "root@localhost", address)
    if not params["destination_emails"]:
        raise ConfigError("broker_conf.destination_emails", "at least one e-mail address")
    transitions = list(params["state_transition"])
    for item in transitions:
        if item not in STATE_TRANSITIONS:
            raise ConfigError("broker_conf.state_transition", "items from " + ", ".join(STATE_TRANSITIONS), item)
    return {
        "email": {
            "smtp-server": server,
            "smtp-port": str(port),
            "smtp-timeout": str(timeout),
            "destination-emails": ",".join(params["destination_emails"]),
            "source-email": params["source_email"],
        },
        "notify": {"state_transition": "|".join(transitions)},
    }
