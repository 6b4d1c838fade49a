# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's policy: what it may do, and how long it leaves the engine to do it first (private, may change).

Only knobs that make the reconciler do less, or later, than its safety rules allow.  The rules themselves (confirm
off before recovering, never past the connectivity threshold, never the last host up, never a host whose storage
lease is live, never the hosted-engine VM's host, nothing in global maintenance) are not options.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Mapping, Optional, Tuple

FENCE_METHODS = ("engine_then_ipmi", "ipmi")

# The engine's own timings (ovirt-engine defaults; see shared/reference/HA-FACTS.md).
ENGINE_STARTUP_WINDOW = 300.0  # DisableFenceAtStartupInSec
ENGINE_SOFT_FENCE = 60.0  # the SSH soft fence's wait for the host to come back
ENGINE_FENCE_FLOW = 600.0  # a power fence in progress: stop, 18 status polls 10 s apart, start
ENGINE_REBOOT_WINDOW = 600.0  # ServerRebootTimeout: errors are ignored this long after a fence restart
ENGINE_PROXY_SEARCH = 90.0  # the fence proxy is looked for 3 times 30 s apart
ENGINE_HA_SHORT_RETRIES = 10  # NumOfTriesToRunFailedAutoStartVmInShortIntervals
ENGINE_HA_RETRY = 30.0  # RetryToRunAutoStartVmShortIntervalInSeconds
LEASE_EXPIRY = 80.0  # sanlock: a lease not renewed for 80 s is free


class PolicyError(ValueError):
    """A policy value is out of range; ``field`` names it (``policy.fence_budget``)."""

    def __init__(self, field: str, expected: str, got: Any) -> None:
        super().__init__("invalid %s: expected %s, got %r" % (field, expected, got))
        self.field = field
        self.expected = expected


# name: (type, default, minimum, maximum)
_NUMBERS: Dict[str, Tuple[type, float, float, float]] = {
    "fence_budget": (int, 1, 0, 100),
    "grace": (float, 30.0, 0, 3600),
    "engine_fence_timeout": (float, 300.0, 60, 86400),
    "lease_wait": (float, 90.0, LEASE_EXPIRY, 3600),
    "connectivity_threshold": (int, 50, 1, 100),
    "max_fence_attempts": (int, 3, 1, 100),
    "fence_backoff": (float, 300.0, 0, 86400),
    "max_start_attempts": (int, 5, 1, 1000),
    "start_backoff": (float, 300.0, 0, 86400),
    "engine_retry_wait": (float, 300.0, 0, 86400),
    "confirm_timeout": (float, 60.0, 5, 600),
}


@dataclass(frozen=True)
class ReconcilePolicy:
    fence_budget: int = 1
    fence_method: str = "engine_then_ipmi"
    grace: float = 30.0
    engine_fence_timeout: float = 300.0
    lease_wait: float = 90.0
    connectivity_threshold: int = 50
    fence_when_cluster_fencing_disabled: bool = False
    max_fence_attempts: int = 3
    fence_backoff: float = 300.0
    power_on_after_fence: bool = True
    start_ha_vms: bool = True
    max_start_attempts: int = 5
    start_backoff: float = 300.0
    engine_retry_wait: float = 300.0
    confirm_timeout: float = 60.0

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def policy_from_params(values: Optional[Mapping[str, Any]], prefix: str = "policy") -> ReconcilePolicy:
    """Build and check the policy; the first value out of range raises PolicyError naming it."""
    given = {k: v for k, v in (values or {}).items() if v is not None}
    known = {f.name for f in fields(ReconcilePolicy)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise PolicyError("%s.%s" % (prefix, unknown[0]), "one of %s" % ", ".join(sorted(known)), unknown[0])
    checked: Dict[str, Any] = {}
    for name, (kind, _default, low, high) in _NUMBERS.items():
        if name not in given:
            continue
        value = given[name]
        expected = "%s between %g and %g" % ("a whole number" if kind is int else "a number", low, high)
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise PolicyError("%s.%s" % (prefix, name), expected, value)
        if isinstance(value, bool) or not low <= number <= high or (kind is int and float(value) != number):
            raise PolicyError("%s.%s" % (prefix, name), expected, value)
        checked[name] = number
    if "fence_method" in given:
        if given["fence_method"] not in FENCE_METHODS:
            raise PolicyError("%s.fence_method" % prefix, "one of %s" % ", ".join(FENCE_METHODS), given["fence_method"])
        checked["fence_method"] = given["fence_method"]
    for name in ("fence_when_cluster_fencing_disabled", "power_on_after_fence", "start_ha_vms"):
        if name in given:
            if not isinstance(given[name], bool):
                raise PolicyError("%s.%s" % (prefix, name), "true or false", given[name])
            checked[name] = given[name]
    return ReconcilePolicy(**checked)
