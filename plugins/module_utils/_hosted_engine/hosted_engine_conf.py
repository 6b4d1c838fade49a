# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""/etc/ovirt-hosted-engine/hosted-engine.conf: read, update in place, render (private, may change).

Two readers see this file: ovirt-ha-agent/broker split each line at the first ``=`` and strip it
(quotes stay part of the value), and the ``hosted-engine`` command sources it with bash. A value is
therefore only writable when bash reads it back unchanged without quotes; others are refused.
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from .errors import ConfigError

# Characters bash leaves alone in the value of an assignment (no splitting, no globbing there);
# ``~`` (tilde expansion after ``=`` and ``:``), ``!``, quotes, ``$``, backquote, backslash,
# whitespace and the operators ``;&|<>()`` are excluded.
_SHELL_SAFE = re.compile(r"\A[A-Za-z0-9@%+=:,./_^#*?\[\]{}-]*\Z")
_KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")

# Option name -> key in the file, in the order the setup writes them.
KEYS: tuple[tuple[str, str], ...] = (
    ("fqdn", "fqdn"),
    ("vm_disk_id", "vm_disk_id"),
    ("vm_disk_vol_id", "vm_disk_vol_id"),
    ("vmid", "vmid"),
    ("storage", "storage"),
    ("nfs_version", "nfs_version"),
    ("mnt_options", "mnt_options"),
    ("conf", "conf"),
    ("host_id", "host_id"),
    ("console", "console"),
    ("domain_type", "domainType"),
    ("sp_uuid", "spUUID"),
    ("sd_uuid", "sdUUID"),
    ("connection_uuid", "connectionUUID"),
    ("vdsm_use_ssl", "vdsm_use_ssl"),
    ("gateway", "gateway"),
    ("bridge", "bridge"),
    ("network_test", "network_test"),
    ("tcp_t_address", "tcp_t_address"),
    ("tcp_t_port", "tcp_t_port"),
    ("metadata_volume_uuid", "metadata_volume_UUID"),
    ("metadata_image_uuid", "metadata_image_UUID"),
    ("lockspace_volume_uuid", "lockspace_volume_UUID"),
    ("lockspace_image_uuid", "lockspace_image_UUID"),
    ("conf_volume_uuid", "conf_volume_UUID"),
    ("conf_image_uuid", "conf_image_UUID"),
    ("iqn", "iqn"),
    ("portal", "portal"),
    ("user", "user"),
    ("password", "password"),
    ("port", "port"),
)
SECRET_KEYS = frozenset(["password"])


def is_shell_safe(value: str) -> bool:
    return bool(_SHELL_SAFE.match(value))


def check_value(field: str, value: str) -> str:
    if not is_shell_safe(value):
        raise ConfigError(
            field,
            "a value both bash and ovirt-ha-agent read the same unquoted (letters, digits and "
            "@%+=:,./_^#*?[]{}-; no spaces, quotes, $, ~, ! or backslash)",
            "<secret>" if field.endswith("password") else value,
        )
    return value


@dataclass
class Line:
    """One line as read; ``key`` is None for comments, blank and other lines kept verbatim."""

    text: str
    key: str | None = None
    value: str = ""


class HostedEngineConf:
    def __init__(self, lines: list[Line] | None = None) -> None:
        self.lines: list[Line] = lines or []

    @classmethod
    def parse(cls, text: str) -> "HostedEngineConf":
        lines = []
        for raw in text.splitlines(keepends=True):
            body = raw.rstrip("\r\n")
            if body.strip().startswith("#") or "=" not in body:
                lines.append(Line(raw))
                continue
            key, value = body.split("=", 1)
            lines.append(Line(raw, key.strip(), value.strip()))
        return cls(lines)

    def render(self) -> str:
        return "".join(line.text for line in self.lines)

    def values(self) -> dict[str, str]:
        """What the agent reads: the last occurrence of a key wins."""
        return {line.key: line.value for line in self.lines if line.key is not None}

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values().get(key, default)

    def set(self, key: str, value: str) -> None:
        """Update every occurrence of ``key`` in place, or append it; values are checked first."""
        if not _KEY.match(key):
            raise ConfigError(key, "a key of letters, digits and underscores", key)
        check_value(key, value)
        found = False
        for line in self.lines:
            if line.key == key:
                found = True
                if line.value != value:
                    line.value = value
                    line.text = "{0}={1}\n".format(key, value)
        if not found:
            if self.lines and not self.lines[-1].text.endswith("\n"):
                self.lines[-1].text += "\n"
            self.lines.append(Line("{0}={1}\n".format(key, value), key, value))

    def update(self, values: t.Mapping[str, str]) -> None:
        for key, value in values.items():
            self.set(key, value)

    def masked(self) -> str:
        """The text with secret values replaced, for diffs and logs."""
        out = []
        for line in self.lines:
            if line.key in SECRET_KEYS and line.value:
                out.append("{0}=********\n".format(line.key))
            else:
                out.append(line.text)
        return "".join(out)
