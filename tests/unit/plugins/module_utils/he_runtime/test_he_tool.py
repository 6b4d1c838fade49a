from __future__ import annotations

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import tool
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.he_runtime.he_volumes import (
    NOW, UP, block, volume)


def test_metadata_path_follows_vdsm_mount_names():
    conf = {"sdUUID": "sd-1", "storage": "nfs.example:/exports/he_storage", "domainType": "nfs"}
    assert tool.metadata_path(conf) == "/rhev/data-center/mnt/nfs.example:_exports_he__storage/sd-1/ha_agent/hosted-engine.metadata"
    assert tool.metadata_path(dict(conf, domainType="glusterfs")).startswith("/rhev/data-center/mnt/glusterSD/nfs.example:")
    assert tool.metadata_path({"sdUUID": "sd-1", "domainType": "iscsi"}) == "/rhev/data-center/mnt/blockSD/sd-1/ha_agent/hosted-engine.metadata"
    with pytest.raises(tool.ToolError, match="sdUUID"):
        tool.metadata_path({})
    with pytest.raises(tool.ToolError, match="host_id is 'x'"):
        tool.host_id_of({"host_id": "x"})


def test_maintenance_is_unchanged_only_when_both_flags_match():
    vol = volume(block(1, "EngineUp", UP), block(2), global_maintenance=True)
    assert tool.maintenance_commands(vol, 2, "global", False) == []
    assert tool.maintenance_commands(vol, 2, "none", False) == [["--set-maintenance", "--mode=none"]]
    local = volume(block(1, "EngineUp", UP), block(2, local=True), global_maintenance=True)
    # local maintenance on this host but global on too: "local" still has to clear the global flag
    assert tool.maintenance_commands(local, 2, "local", False) == [["--set-maintenance", "--mode=local"]]
    with pytest.raises(tool.ToolError, match="engine VM runs on this host"):
        tool.maintenance_commands(vol, 1, "local", True)
    with pytest.raises(tool.ToolError, match="slot 3 of the metadata volume is empty"):
        tool.maintenance_commands(vol, 3, "none", False)


def test_engine_vm_start_is_refused_while_another_host_may_run_it():
    vol = volume(block(1, "EngineUp", UP, age=30), block(2))
    with pytest.raises(tool.ToolError, match="host host1.example .* reports it up and may still run it"):
        tool.vm_commands(vol, 2, "started", tool.silent_hosts(vol, 120, observer=NOW))
    silent = volume(block(1, "EngineUp", UP, age=200), block(2))
    assert tool.vm_commands(silent, 2, "started", tool.silent_hosts(silent, 120, observer=NOW)) == [["--vm-start"]]
    assert tool.vm_commands(vol, 1, "started", {}) == []
    assert tool.vm_commands(vol, 2, "poweroff", {}) == []
    assert tool.vm_commands(vol, 1, "shutdown", {}) == [["--vm-shutdown"]]
    with pytest.raises(tool.ToolError, match="agent is in EngineStarting"):
        tool.vm_commands(volume(block(1, "EngineStarting")), 1, "started", {})


def test_clean_metadata_only_for_a_gone_host_that_stopped_or_is_dead():
    vol = volume(block(1, "EngineUp", UP), block(2, stopped=True), block(3))
    assert tool.clean_metadata_commands(vol, 1, 2, {}, []) == [["--clean-metadata", "--host-id=2"]]
    assert tool.clean_metadata_commands(vol, 1, 5, {}, []) == []
    with pytest.raises(tool.ToolError, match="this host's own"):
        tool.clean_metadata_commands(vol, 2, 2, {}, [])
    with pytest.raises(tool.ToolError, match="a host that still exists"):
        tool.clean_metadata_commands(vol, 1, 2, {}, ["host2.example"])
    with pytest.raises(tool.ToolError, match="slot 3 .* is alive"):
        tool.clean_metadata_commands(vol, 1, 3, {3: True}, [])
    with pytest.raises(tool.ToolError, match="not yet judged dead"):
        tool.clean_metadata_commands(vol, 1, 3, {}, [])
    assert tool.clean_metadata_commands(vol, 1, 3, {3: False}, []) == [["--clean-metadata", "--host-id=3", "--force-cleanup"]]


def test_lockspace_reset_needs_the_opt_in_global_maintenance_and_every_agent_stopped():
    stopped = volume(block(1, "AgentStopped", stopped=True), block(2, "AgentStopped", stopped=True), global_maintenance=True)
    assert tool.lockspace_commands(stopped, True) == [["--reinitialize-lockspace"]]
    with pytest.raises(tool.ToolError, match="confirm_all_agents_stopped"):
        tool.lockspace_commands(stopped, False)
    with pytest.raises(tool.ToolError, match="global maintenance is off"):
        tool.lockspace_commands(volume(block(1, stopped=True)), True)
    with pytest.raises(tool.ToolError, match="host2.example .* has not stopped"):
        tool.lockspace_commands(volume(block(1, stopped=True), block(2), global_maintenance=True), True)
