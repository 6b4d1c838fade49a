# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's fencing policy and HA reservation (private, may change).

Reads: 1 cluster search.  Writes: 1 cluster update when something differs.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from .diff import DifferenceTracker
from .errors import InputError, engine_call
from .objects import get_cluster
from .snapshot import fencing_policy_dict

try:
    from ovirtsdk4 import types
except ImportError:
    types = None

POLICY_FIELDS = ("enabled", "skip_if_sd_active", "skip_if_connectivity_broken", "connectivity_broken_threshold",
                 "skip_if_gluster_bricks_up", "skip_if_gluster_quorum_not_met")


def validate(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The settings the user asked for (None = leave as is)."""
    wanted = {k: params.get(k) for k in POLICY_FIELDS + ("ha_reservation",) if params.get(k) is not None}
    threshold = wanted.get("connectivity_broken_threshold")
    if threshold is not None and not 0 <= threshold <= 100:
        raise InputError("connectivity_broken_threshold", "a percentage from 0 to 100", threshold)
    if not wanted:
        raise InputError("enabled", "at least one setting of the fencing policy or ha_reservation")
    return wanted


def policy_object(settings: Mapping[str, Any]) -> Any:
    return types.FencingPolicy(
        enabled=settings["enabled"],
        skip_if_sd_active=types.SkipIfSdActive(enabled=settings["skip_if_sd_active"]),
        skip_if_connectivity_broken=types.SkipIfConnectivityBroken(
            enabled=settings["skip_if_connectivity_broken"], threshold=settings["connectivity_broken_threshold"]),
        skip_if_gluster_bricks_up=settings["skip_if_gluster_bricks_up"],
        skip_if_gluster_quorum_not_met=settings["skip_if_gluster_quorum_not_met"])


def apply_fencing_policy(system: Any, cluster_name: str, wanted: Mapping[str, Any], tracker: DifferenceTracker,
                         check_mode: bool) -> Dict[str, Any]:
    cluster = get_cluster(system, cluster_name)
    current = fencing_policy_dict(cluster.fencing_policy) or {k: None for k in POLICY_FIELDS}
    current["ha_reservation"] = cluster.ha_reservation
    changed = [k for k, v in wanted.items() if tracker.add(cluster_name, k, current[k], v)]
    after = dict(current, **wanted)
    if changed and not check_mode:
        patch = types.Cluster()
        if any(k in POLICY_FIELDS for k in changed):
            patch.fencing_policy = policy_object(after)
        if "ha_reservation" in changed:
            patch.ha_reservation = after["ha_reservation"]
        with engine_call("updating the fencing policy", obj="cluster %r" % cluster_name,
                         expected=", ".join("%s=%s" % (k, after[k]) for k in changed)):
            updated = system.clusters_service().cluster_service(cluster.id).update(patch)
        after = fencing_policy_dict(updated.fencing_policy) or after
        after["ha_reservation"] = updated.ha_reservation
    return dict(after, name=cluster_name, id=cluster.id)
