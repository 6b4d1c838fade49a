"""The lab answers the requests the collection's own engine code makes (module_utils driven over the real SDK)."""

from __future__ import annotations

from typing import Any

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.diff import DifferenceTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.fencing_policy import POLICY_FIELDS, apply_fencing_policy
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.snapshot import cluster_snapshot

pytestmark = pytest.mark.lab

FLIPPED = {"enabled": False, "skip_if_sd_active": True, "skip_if_connectivity_broken": True, "connectivity_broken_threshold": 80,
           "skip_if_gluster_bricks_up": True, "skip_if_gluster_quorum_not_met": True, "ha_reservation": True}


def _apply(system: Any, wanted: dict[str, Any], check_mode: bool = False) -> tuple[dict[str, Any], DifferenceTracker]:
    tracker = DifferenceTracker()
    return apply_fencing_policy(system, "Default", wanted, tracker, check_mode), tracker


def _read(system: Any) -> dict[str, Any]:
    cluster = system.clusters_service().list(search="name=Default")[0]
    policy = cluster.fencing_policy
    return {"enabled": policy.enabled, "skip_if_sd_active": policy.skip_if_sd_active.enabled,
            "skip_if_connectivity_broken": policy.skip_if_connectivity_broken.enabled,
            "connectivity_broken_threshold": policy.skip_if_connectivity_broken.threshold,
            "skip_if_gluster_bricks_up": policy.skip_if_gluster_bricks_up,
            "skip_if_gluster_quorum_not_met": policy.skip_if_gluster_quorum_not_met, "ha_reservation": cluster.ha_reservation}


def test_every_fencing_policy_field_round_trips(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    before = _read(system)
    assert set(FLIPPED) == set(POLICY_FIELDS) | {"ha_reservation"}
    assert before == {"enabled": True, "skip_if_sd_active": False, "skip_if_connectivity_broken": False,
                      "connectivity_broken_threshold": 50, "skip_if_gluster_bricks_up": False,
                      "skip_if_gluster_quorum_not_met": False, "ha_reservation": False}
    try:
        checked, tracker = _apply(system, FLIPPED, check_mode=True)
        assert tracker.changed and {k: checked[k] for k in FLIPPED} == FLIPPED
        assert _read(system) == before
        applied, unused_tracker = _apply(system, FLIPPED)
        assert {k: applied[k] for k in FLIPPED} == FLIPPED
        assert _read(system) == FLIPPED
        again, tracker = _apply(system, FLIPPED)
        assert not tracker.changed and {k: again[k] for k in FLIPPED} == FLIPPED
        # ha_reservation alone: the policy is left as it is
        cluster = system.clusters_service().list(search="name=Default")[0]
        updated = system.clusters_service().cluster_service(cluster.id).update(t.Cluster(ha_reservation=False))
        assert updated.ha_reservation is False and updated.fencing_policy.skip_if_gluster_bricks_up is True
        assert _read(system) == dict(FLIPPED, ha_reservation=False)
    finally:
        _apply(system, before)
    assert _read(system) == before


def test_cluster_snapshot_counts_inlined_fence_agents(lab_connection: ovirtsdk4.Connection) -> None:
    """cluster_info's path: one host list with all_content and follow=agents."""
    snapshot = cluster_snapshot(lab_connection.system_service(), "Default")
    counts = {h["name"]: h["power_management"]["fence_agents"] for h in snapshot["hosts"]}
    assert counts == {"host01": 1, "host02": 1, "host03": 1, "host04": 1}
