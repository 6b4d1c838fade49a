# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to connect to: one BMC and its credentials (private, may change)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping

from .errors import IpmiInputError

PRIVILEGE_LEVELS = {"user": 2, "operator": 3, "administrator": 4}
CIPHER_SUITES = (3, 17)
DEFAULT_PORT = 623


@dataclass(frozen=True)
class BmcTarget:
    """One BMC.  ``password`` is kept out of ``repr`` so it never lands in a traceback."""

    name: str
    address: str
    port: int = DEFAULT_PORT
    username: str = ""
    password: str = field(default="", repr=False)
    privilege: str = "administrator"
    cipher: int = 3
    timeout: float = 15.0

    @property
    def label(self) -> str:
        """How messages name the BMC: ``name (address:port)``."""
        where = "%s:%d" % (self.address, self.port)
        return where if self.name == where else "%s (%s)" % (self.name, where)

    def public(self) -> Dict[str, Any]:
        return {"name": self.name, "address": self.address, "port": self.port}


def targets_from_params(params: Mapping[str, Any]) -> List[BmcTarget]:
    """Build the BMC list from module options: ``bmcs`` entries inherit the top-level connection options."""
    common = {key: params.get(key) for key in ("port", "username", "password", "privilege", "cipher", "timeout")}
    entries: List[Mapping[str, Any]]
    if params.get("bmcs"):
        entries = params["bmcs"]
    elif params.get("address"):
        entries = [{"name": params.get("name"), "address": params["address"]}]
    else:
        raise IpmiInputError("one of address or bmcs is required: the BMC(s) to talk to")
    targets: List[BmcTarget] = []
    seen: Dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = "bmcs[%d]" % index if params.get("bmcs") else "address"
        merged = dict(common)
        merged.update({key: value for key, value in entry.items() if value is not None})
        target = _target(merged, where)
        if target.name in seen:
            raise IpmiInputError("%s.name: %r is used twice (also bmcs[%d]); names must be unique"
                                 % (where, target.name, seen[target.name]))
        seen[target.name] = index
        targets.append(target)
    return targets


def _target(values: Mapping[str, Any], where: str) -> BmcTarget:
    address = str(values.get("address") or "").strip()
    if not address:
        raise IpmiInputError("%s.address: expected a BMC host name or IP address, got nothing" % where)
    port = _int(values.get("port", DEFAULT_PORT), "%s.port" % where)
    if not 1 <= port <= 65535:
        raise IpmiInputError("%s.port: expected 1-65535, got %r" % (where, port))
    username = values.get("username")
    password = values.get("password")
    if username is None or password is None:
        raise IpmiInputError("%s: username and password are required (options, bmcs entries, or the environment "
                             "variables IPMI_USERNAME / IPMI_PASSWORD)" % where)
    privilege = str(values.get("privilege") or "administrator")
    if privilege not in PRIVILEGE_LEVELS:
        raise IpmiInputError("%s.privilege: expected one of %s, got %r"
                             % (where, ", ".join(PRIVILEGE_LEVELS), privilege))
    cipher = _int(values.get("cipher", 3), "%s.cipher" % where)
    if cipher not in CIPHER_SUITES:
        raise IpmiInputError("%s.cipher: expected 3 or 17 (cipher suite 0 sends no authentication and is never "
                             "used), got %r" % (where, cipher))
    timeout = float(values.get("timeout") or 15)
    if timeout <= 0:
        raise IpmiInputError("%s.timeout: expected a positive number of seconds, got %r" % (where, timeout))
    default_name = address if port == DEFAULT_PORT else "%s:%d" % (address, port)
    return BmcTarget(name=str(values.get("name") or default_name), address=address, port=port,
                     username=str(username), password=str(password), privilege=privilege, cipher=cipher,
                     timeout=timeout)


def _int(value: Any, field_name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise IpmiInputError("%s: expected an integer, got %r" % (field_name, value)) from None
