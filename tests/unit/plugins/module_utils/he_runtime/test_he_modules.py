"""The two modules' run functions with a stand-in AnsibleModule: lease and memory files, check mode, errors."""
from __future__ import annotations

import os

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._he_runtime import run as he_run
from ansible_collections.ovirt_ha.core.plugins.module_utils._he_runtime import store
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import tool_module
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.he_runtime.he_volumes import CRASHED, UP, block


class Done(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class FakeModule:
    def __init__(self, params, check_mode=False, on_command=None):
        self.params = params
        self.check_mode = check_mode
        self._diff = True
        self.ran = []
        self.on_command = on_command

    def exit_json(self, **result):
        raise Done(result)

    def fail_json(self, **result):
        raise Done(dict(result, failed=True))

    def run_command(self, argv):
        self.ran.append(argv)
        return self.on_command(argv) if self.on_command else (0, "", "")


def write_volume(path, *blocks, global_maintenance=False):
    data = md.render_global_block(global_maintenance)
    for index, data_block in enumerate(blocks, start=1):
        assert md.parse_host_slot(index, data_block)[0].host_id == index
        data += data_block
    path.write_bytes(data)


def call(fn, module):
    with pytest.raises(Done) as done:
        fn(module)
    return done.value.result


def plan_params(path, **extra):
    params = {"phase": "plan", "hosts": [{"name": "h%d" % i, "hostname": "host%d.example" % i, "reachable": True} for i in (1, 2, 3)],
              "policy": {}, "lease": {"holder": "unit", "ttl": 180}, "lease_token": None, "config": "/nonexistent",
              "metadata_path": str(path), "mount_root": "/rhev", "state_dir": None}
    params.update(extra)
    return params


def test_a_plan_with_an_action_keeps_the_lease_until_released(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUnexpectedlyDown", CRASHED, score=0), block(2))
    result = call(he_run.run, FakeModule(plan_params(volume, policy={"engine_down_grace": 0})))
    assert result["action"]["operation"] == "start_engine_vm" and result["action"]["host"] == "h1"
    assert result["lease"]["state"] == "held" and result["lease_token"]
    assert os.path.exists(tmp_path / store.LEASE)
    busy = call(he_run.run, FakeModule(plan_params(volume, policy={"engine_down_grace": 0})))
    assert busy["lease"]["state"] == "busy" and busy["action"] is None
    released = call(he_run.run, FakeModule(plan_params(volume, phase="release", lease_token=result["lease_token"])))
    assert released["lease"] == {"state": "released"}
    assert not os.path.exists(tmp_path / store.LEASE)
    assert store.load_memory(str(tmp_path))["tried"][0][0] == 1.0


def test_check_mode_writes_no_lease_and_no_memory(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUp", UP), block(2, age=90), block(3))
    result = call(he_run.run, FakeModule(plan_params(volume), check_mode=True))
    assert result["action"]["operation"] == "restart_agent"
    assert sorted(os.listdir(tmp_path)) == ["hosted-engine.metadata"]


def test_bad_policy_and_hosts_are_refused_by_name(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUp", UP))
    bad = call(he_run.run, FakeModule(plan_params(volume, policy={"lock_grace": -1})))
    assert bad["failed"] and bad["msg"] == "policy.lock_grace: expected 0 or more seconds, got -1"
    ttl = call(he_run.run, FakeModule(plan_params(volume, lease={"holder": "x", "ttl": 5})))
    assert "lease.ttl: expected 30 to 3600 seconds" in ttl["msg"]
    assert sorted(os.listdir(tmp_path)) == ["hosted-engine.metadata"]


def tool_params(tmp_path, volume, **extra):
    conf = tmp_path / "hosted-engine.conf"
    conf.write_text("host_id=2\nsdUUID=sd\n", encoding="utf-8")
    params = {"maintenance": None, "engine_vm": None, "clean_metadata_host_id": None, "known_hosts": [],
              "reinitialize_lockspace": False, "confirm_all_agents_stopped": False, "restart_services": False,
              "config": str(conf), "metadata_path": str(volume), "mount_root": "/rhev", "command": "/usr/sbin/hosted-engine",
              "systemctl": "/usr/bin/systemctl", "wait": True, "timeout": 5, "liveness_timeout": 60}
    params.update(extra)
    return params


def test_global_maintenance_runs_the_tool_once_and_is_confirmed_from_the_volume(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUp", UP), block(2))

    def tool(argv):
        assert argv == ["/usr/sbin/hosted-engine", "--set-maintenance", "--mode=global"]
        write_volume(volume, block(1, "EngineUp", UP), block(2), global_maintenance=True)  # what the broker writes
        return 0, "", ""
    module = FakeModule(tool_params(tmp_path, volume, maintenance="global"), on_command=tool)
    result = call(tool_module.run, module)
    assert result["changed"] and result["verified"] and result["after"]["global_maintenance"]
    assert result["diff"]["before"]["global_maintenance"] is False
    again = call(tool_module.run, FakeModule(tool_params(tmp_path, volume, maintenance="global")))
    assert not again["changed"] and again["commands"] == []


def test_check_mode_runs_nothing_and_a_failing_tool_is_reported_with_its_output(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUp", UP), block(2))
    check = FakeModule(tool_params(tmp_path, volume, maintenance="global"), check_mode=True)
    result = call(tool_module.run, check)
    assert result["changed"] and check.ran == []
    failing = FakeModule(tool_params(tmp_path, volume, maintenance="global"),
                         on_command=lambda argv: (1, "", "Cannot connect to the HA daemon, please check the logs.\n"))
    failed = call(tool_module.run, failing)
    assert failed["failed"] and "exit 1): Cannot connect to the HA daemon" in failed["msg"]


def test_the_result_not_shown_in_time_fails_and_two_operations_are_refused(tmp_path):
    volume = tmp_path / "hosted-engine.metadata"
    write_volume(volume, block(1, "EngineUp", UP), block(2))
    late = call(tool_module.run, FakeModule(tool_params(tmp_path, volume, maintenance="global", timeout=1)))
    assert late["failed"] and "did not show in the metadata volume within 1 s" in late["msg"]
    both = call(tool_module.run, FakeModule(tool_params(tmp_path, volume, maintenance="none", restart_services=True)))
    assert both["msg"] == ("expected exactly one of maintenance, engine_vm, clean_metadata_host_id, reinitialize_lockspace, "
                           "restart_services; got maintenance, restart_services")
