# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha_reconcile's options turned into a checked request, before anything connects (private, may change)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from .._engine.errors import InputError
from .._ipmi.errors import IpmiError
from .._ipmi.target import BmcTarget, targets_from_params
from .lease import DEFAULT_TTL, action_budget, default_holder
from .policy import FENCE_METHODS, PolicyError, ReconcilePolicy, policy_from_params
from .read import DEFAULT_EVENT_WINDOW
from .reconcile import Request

_TYPES = {int: "int", float: "float", bool: "bool", str: "str"}

# the argument spec of the policy suboptions, from the policy's own defaults (one source of truth)
POLICY_OPTIONS: Dict[str, Any] = {
    name: dict(type=_TYPES[type(value)], default=value, **({"choices": list(FENCE_METHODS)} if name == "fence_method" else {}))
    for name, value in ReconcilePolicy().as_dict().items()
}


def build_request(params: Mapping[str, Any], check_mode: bool) -> Tuple[Request, List[str]]:
    """(request, BMC names in the order given); the first bad value raises InputError naming its option."""
    try:
        policy = policy_from_params(params.get("policy") or {})
    except PolicyError as exc:
        raise InputError(exc.field, exc.expected, params["policy"].get(exc.field.split(".", 1)[1]))
    lease = params.get("lease") or {}
    ttl = float(DEFAULT_TTL if lease.get("ttl") is None else lease["ttl"])
    budget = action_budget(policy, float(params.get("bmc_timeout") or 15))
    if not budget + 30 <= ttl <= 3600:
        raise InputError("lease.ttl", "seconds between %d (the longest action, a confirmed power off, plus 30 s) and 3600"
                         % (budget + 30), lease.get("ttl"))
    window = int(DEFAULT_EVENT_WINDOW if params.get("event_window") is None else params["event_window"])
    if not 100 <= window <= 100000:
        raise InputError("event_window", "a number of events between 100 and 100000", params.get("event_window"))
    entries = params.get("bmcs") or []
    targets: Dict[str, BmcTarget] = {}
    order: List[str] = []
    if entries:
        try:
            built = targets_from_params({"bmcs": entries, "port": params.get("bmc_port") or 623, "username": params.get("bmc_username"),
                                         "password": params.get("bmc_password"), "privilege": "administrator", "cipher": 3,
                                         "timeout": params.get("bmc_timeout") or 15})
        except IpmiError as exc:
            raise InputError("bmcs", "BMC entries with name, address and credentials (%s)" % exc)
        for target in built:
            targets[target.name] = target
            order.append(target.name)
    holder = lease.get("holder") or default_holder()
    return Request(cluster=params["cluster"], policy=policy, bmcs=targets, holder=holder, lease_ttl=ttl, check_mode=check_mode,
                   event_window=window, action_budget=budget), order
