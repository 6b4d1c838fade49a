# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of single values (FQDN, UUID, host id, ...) shared by the writers (private, may change)."""
from __future__ import annotations

import ipaddress
import re

from .errors import ConfigError

MAX_HOST_ID = 2000

_UUID = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_LABEL = re.compile(r"\A(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_hostname(value: str) -> bool:
    """A DNS name (one label or more) or an IP address."""
    if is_ip_address(value):
        return True
    name = value[:-1] if value.endswith(".") else value
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


def is_fqdn(value: str) -> bool:
    """A DNS name with at least two labels, not an IP address and not all-numeric at the top."""
    if is_ip_address(value) or not is_hostname(value):
        return False
    labels = value.rstrip(".").split(".")
    return len(labels) >= 2 and not labels[-1].isdigit()


def check_uuid(field: str, value: str) -> str:
    if not isinstance(value, str) or not is_uuid(value):
        raise ConfigError(field, "a UUID like 82a24281-8a25-4772-b9c9-45971e811cb3", value)
    return value.lower()


def check_fqdn(field: str, value: str) -> str:
    if not isinstance(value, str) or not is_fqdn(value):
        raise ConfigError(field, "a fully qualified domain name like engine.example.com", value)
    return value


def check_host(field: str, value: str) -> str:
    if not isinstance(value, str) or not is_hostname(value):
        raise ConfigError(field, "a host name or an IP address", value)
    return value


def check_host_id(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HOST_ID:
        raise ConfigError(field, "an integer from 1 to {0}".format(MAX_HOST_ID), value)
    return value


def check_port(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(field, "a TCP port from 1 to 65535", value)
    return value


def check_int_range(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(field, "an integer from {0} to {1}".format(low, high), value)
    return value
