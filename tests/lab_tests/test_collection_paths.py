"""The lab answers the requests the collection's own engine code makes (module_utils driven over the real SDK)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.diff import DifferenceTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.fencing_policy import POLICY_FIELDS, apply_fencing_policy
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.snapshot import cluster_snapshot
from tests.lab.testing import LabHandle

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]

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


def test_cluster_info_module_reports_fence_agent_counts(lab: LabHandle, tmp_path: Path) -> None:
    """The same through ansible-playbook and the cluster_info module (connection from the environment, as docs/lab.md shows)."""
    playbook = tmp_path / "cluster_info.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - ovirt_ha.core.cluster_info:\n        cluster: Default\n      register: snap\n"
        "    - ansible.builtin.copy:\n        content: '{{ snap | to_json }}'\n        dest: " + str(tmp_path / "out.json") + "\n        mode: '0600'\n")
    engine = lab.info["engine"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
               OVIRT_CAFILE=engine["ca_file"])
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", str(playbook),
               "-e", "ansible_python_interpreter=" + str(ROOT / ".venv" / "bin" / "python")]
    done = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    snap = json.loads((tmp_path / "out.json").read_text())
    assert [h["power_management"]["fence_agents"] for h in snap["hosts"]] == [1, 1, 1, 1]
    assert snap["cluster"]["ha_reservation"] is False
