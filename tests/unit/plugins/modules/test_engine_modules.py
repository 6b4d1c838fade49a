"""Module-level tests: real ovirtsdk4.types in a fake engine, assertions on the exit JSON."""
from __future__ import annotations

import ovirtsdk4 as sdk
import pytest
from ovirtsdk4 import types

from ansible_collections.ovirt_ha.core.plugins.modules import (
    cluster_fencing_policy, cluster_info, host_fence, host_power_management, hosted_engine_host,
    hosted_engine_maintenance, vm_ha)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.engine.fake_engine import (
    FakeEngine, run_module, small_cluster)


@pytest.fixture
def engine():
    return small_cluster()


def gets(engine):
    return [r for r in engine.requests if r[0] == "GET"]


# -- cluster_info ---------------------------------------------------------------

def test_cluster_info_snapshot(engine, capsys):
    result = run_module(cluster_info.main, {"cluster": "Default"}, engine, capsys)
    assert result["changed"] is False
    assert [h["name"] for h in result["hosts"]] == ["host01", "host02"]
    host01 = result["hosts"][0]
    assert host01["power_management"] == {"enabled": True, "automatic_pm_enabled": None, "kdump_detection": None,
                                          "fence_agents": 1}
    assert host01["hosted_engine"]["active"] is True
    assert result["summary"]["hosts_without_power_management"] == ["host02"]
    assert result["summary"]["ha_vms"] == 1
    assert result["summary"]["ha_vms_without_lease"] == ["vm1"]
    assert result["summary"]["vms_by_status"] == {"up": 2, "down": 1}
    assert result["cluster"]["fencing_policy"]["connectivity_broken_threshold"] == 50
    assert {s["name"]: s["status"] for s in result["storage_domains"]} == {"data1": "active", "data2": "maintenance"}
    vm1 = next(v for v in result["vms"] if v["name"] == "vm1")
    assert vm1["host"] == "host01" and vm1["priority"] == 50
    assert len(engine.requests) == result["api_requests"] == 4


def test_cluster_info_constant_requests(capsys):
    counts = []
    for size in (3, 60):
        engine = FakeEngine()
        cluster = engine.add_cluster("Default")
        for i in range(size):
            host = engine.add_host("h%03d" % i, cluster)
            engine.add_vm("vm%03d" % i, cluster, host=host, ha=i % 2 == 0)
        run_module(cluster_info.main, {"cluster": "Default"}, engine, capsys)
        counts.append(len(engine.requests))
    assert counts == [4, 4]


def test_cluster_info_query(engine, capsys):
    result = run_module(cluster_info.main, {"cluster": "Default", "query": "vms[?status=='down'].name"},
                        engine, capsys)
    assert result["query_result"] == ["vm2"]


def test_cluster_info_bad_query_fails_before_any_request(engine, capsys):
    result = run_module(cluster_info.main, {"cluster": "Default", "query": "vms[?"}, engine, capsys)
    assert result["failed"] and "invalid query" in result["msg"]
    assert engine.requests == []


def test_cluster_info_unknown_cluster(engine, capsys):
    result = run_module(cluster_info.main, {"cluster": "Nope"}, engine, capsys)
    assert result["failed"]
    assert result["msg"].startswith("no cluster named 'Nope'")
    assert result["error_type"] == "EngineNotFound"


# -- vm_ha -----------------------------------------------------------------------

def test_vm_ha_apply_then_idempotent(engine, capsys):
    args = {"high_availability": True, "priority": 100, "lease": "data1", "resume_behaviour": "kill",
            "vms": [{"name": "vm1"}, {"name": "vm2", "priority": 1}]}
    result = run_module(vm_ha.main, args, engine, capsys, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["vm1"] == {"priority": 50, "lease": "", "resume_behaviour": "auto_resume"}
    assert result["diff"]["after"]["vm2"] == {"high_availability": True, "lease": "data1", "resume_behaviour": "kill"}
    vm2 = engine.by_name(engine.vms, "vm2")
    assert vm2.high_availability.enabled and vm2.high_availability.priority == 1
    assert vm2.storage_error_resume_behaviour == types.VmStorageErrorResumeBehaviour.KILL
    engine.requests.clear()
    again = run_module(vm_ha.main, args, engine, capsys)
    assert again["changed"] is False
    assert [v["changed"] for v in again["vms"]] == [False, False]
    assert engine.requests == [("GET", "vms"), ("GET", "storagedomains")]


def test_vm_ha_check_mode_changes_nothing(engine, capsys):
    result = run_module(vm_ha.main, {"vms": [{"name": "vm2", "high_availability": True}]}, engine, capsys,
                        check_mode=True)
    assert result["changed"] is True
    assert result["vms"][0]["high_availability"] is True
    assert engine.mutations == []
    assert not engine.by_name(engine.vms, "vm2").high_availability.enabled


def test_vm_ha_warns_about_unprotected_vm(engine, capsys):
    result = run_module(vm_ha.main, {"vms": [{"name": "vm1"}], "high_availability": True}, engine, capsys)
    assert result["changed"] is False
    assert any("vm1" in w and "host02" in w for w in result["warning_msgs"])


def test_vm_ha_bulk_idempotent_request_count(capsys):
    engine = FakeEngine()
    cluster = engine.add_cluster("Default")
    host = engine.add_host("h1", cluster, pm=True)
    for i in range(100):
        engine.add_vm("vm%03d" % i, cluster, ha=True, priority=50, host=host)
    args = {"high_availability": True, "priority": 50, "vms": [{"name": "vm%03d" % i} for i in range(100)]}
    result = run_module(vm_ha.main, args, engine, capsys)
    assert result["changed"] is False
    assert len(engine.requests) <= 2


@pytest.mark.parametrize("vms, field", [
    ([{"name": "vm1", "priority": 101}], "vms[0].priority"),
    ([{"name": "vm1"}, {"name": "vm1"}], "vms[1].name"),
    ([{"name": "vm1", "placement": "pinned"}], "vms[0].placement_hosts"),
])
def test_vm_ha_bad_input_names_field(engine, capsys, vms, field):
    result = run_module(vm_ha.main, {"vms": vms}, engine, capsys)
    assert result["failed"] and field in result["msg"]
    assert engine.requests == []


def test_vm_ha_unknown_vm_or_storage_domain_changes_nothing(engine, capsys):
    result = run_module(vm_ha.main, {"vms": [{"name": "vm1"}, {"name": "ghost"}], "high_availability": False},
                        engine, capsys)
    assert result["failed"] and result["object"] == "vms[1].name"
    result = run_module(vm_ha.main, {"vms": [{"name": "vm1", "lease": "nosuch"}]}, engine, capsys)
    assert result["failed"] and "vms[0].lease" in result["msg"]
    assert engine.mutations == []


def test_vm_ha_remove_lease_and_pin(engine, capsys):
    sd = engine.by_name(engine.storage_domains, "data1")
    engine.add_vm("vm3", engine.by_name(engine.clusters, "Default"), ha=True, lease_sd=sd.id)
    result = run_module(vm_ha.main, {"vms": [{"name": "vm3", "lease": "", "placement": "pinned",
                                              "placement_hosts": ["host02"]}]}, engine, capsys, diff=True)
    assert result["changed"]
    vm3 = engine.by_name(engine.vms, "vm3")
    assert vm3.lease is None
    assert vm3.placement_policy.affinity == types.VmAffinity.PINNED
    assert result["diff"]["after"]["vm3"]["placement_hosts"] == ["host02"]


# -- host_power_management ----------------------------------------------------------

AGENT = {"type": "ipmilan", "address": "10.0.0.2", "username": "fence", "password": "s3cret-bmc", "port": 623,
         "options": {"lanplus": "1"}}


def test_pm_add_agent_enable_then_idempotent(engine, capsys):
    args = {"hosts": [{"name": "host02", "enabled": True, "kdump_detection": True, "agents": [AGENT]}]}
    result = run_module(host_power_management.main, args, engine, capsys, diff=True)
    assert result["changed"]
    assert result["hosts"][0]["agents_added"] == 1
    assert "s3cret-bmc" not in repr(result)
    host02 = engine.by_name(engine.hosts, "host02")
    assert host02.power_management.enabled
    assert [(a.type, a.address) for a in engine.agents[host02.id]] == [("ipmilan", "10.0.0.2")]
    engine.requests.clear()
    again = run_module(host_power_management.main, args, engine, capsys)
    assert again["changed"] is False
    assert engine.requests == [("GET", "hosts")]


def test_pm_update_in_place_and_purge(engine, capsys):
    host01 = engine.by_name(engine.hosts, "host01")
    engine.add_agent(host01, order=2, type="drac7", address="10.9.9.9")
    args = {"purge": True, "hosts": [{"name": "host01", "agents": [
        {"type": "ipmilan", "address": "10.0.0.1", "username": "other", "order": 1}]}]}
    result = run_module(host_power_management.main, args, engine, capsys, diff=True)
    assert result["hosts"][0]["agents_updated"] == 1 and result["hosts"][0]["agents_removed"] == 1
    assert [a.username for a in engine.agents[host01.id]] == ["other"]
    assert result["diff"]["before"]["host01"]["agent 1 ipmilan@10.0.0.1.username"] == "admin"


def test_pm_update_password_always_is_reported(engine, capsys):
    args = {"update_password": "always", "hosts": [{"name": "host01", "agents": [
        {"type": "ipmilan", "address": "10.0.0.1", "password": "new-secret"}]}]}
    result = run_module(host_power_management.main, args, engine, capsys, diff=True)
    assert result["changed"] and "new-secret" not in repr(result)


@pytest.mark.parametrize("code", [400, 404, 500])
def test_power_management_reads_agents_itself_when_the_engine_cannot_follow_the_link(engine, capsys, code):
    engine.follow_error = sdk.Error("cannot follow link agents", code=code)
    args = {"hosts": [{"name": "host01", "enabled": True, "agents": [AGENT]}]}
    result = run_module(host_power_management.main, args, engine, capsys, check_mode=True)
    assert not result.get("failed"), result
    assert ("GET", "hosts/%s/fenceagents" % engine.by_name(engine.hosts, "host01").id) in engine.requests


def test_an_auth_failure_on_the_followed_list_is_not_mistaken_for_an_unfollowable_link(engine, capsys):
    engine.follow_error = sdk.AuthError("token expired")
    result = run_module(cluster_info.main, {"cluster": "Default"}, engine, capsys)
    assert result["failed"] and result["error_type"] == "EngineAuthError"


def test_pm_check_mode_and_without_inlined_agents(engine, capsys):
    engine.inline_agents = False
    args = {"hosts": [{"name": "host02", "enabled": True, "agents": [AGENT]}]}
    result = run_module(host_power_management.main, args, engine, capsys, check_mode=True)
    assert result["changed"] and engine.mutations == []
    assert ("GET", "hosts/%s/fenceagents" % engine.by_name(engine.hosts, "host02").id) in engine.requests


def test_pm_bad_input(engine, capsys):
    args = {"hosts": [{"name": "host01", "agents": [{"type": "ipmilan", "address": "a", "port": 70000}]}]}
    result = run_module(host_power_management.main, args, engine, capsys)
    assert result["failed"] and "hosts[0].agents[0].port" in result["msg"]
    assert engine.requests == []


# -- cluster_fencing_policy -------------------------------------------------------------

def test_fencing_policy_apply_idempotent_check(engine, capsys):
    args = {"cluster": "Default", "skip_if_connectivity_broken": True, "connectivity_broken_threshold": 75,
            "ha_reservation": True}
    check = run_module(cluster_fencing_policy.main, args, engine, capsys, check_mode=True, diff=True)
    assert check["changed"] and engine.mutations == []
    assert check["diff"]["after"]["Default"] == {"skip_if_connectivity_broken": True,
                                                 "connectivity_broken_threshold": 75, "ha_reservation": True}
    result = run_module(cluster_fencing_policy.main, args, engine, capsys)
    assert result["changed"] and result["cluster"]["connectivity_broken_threshold"] == 75
    cluster = engine.by_name(engine.clusters, "Default")
    assert cluster.fencing_policy.enabled is True  # untouched fields kept
    assert cluster.ha_reservation is True
    again = run_module(cluster_fencing_policy.main, args, engine, capsys)
    assert again["changed"] is False


def test_fencing_policy_bad_threshold(engine, capsys):
    result = run_module(cluster_fencing_policy.main, {"cluster": "Default", "connectivity_broken_threshold": 120},
                        engine, capsys)
    assert result["failed"] and "connectivity_broken_threshold" in result["msg"] and engine.requests == []


# -- host_fence -----------------------------------------------------------------------------

def test_fence_status(engine, capsys):
    result = run_module(host_fence.main, {"host": "host01"}, engine, capsys)
    assert result["changed"] is False and result["power_state"] == "on"


def test_fence_stop_then_start_verified(engine, capsys, monkeypatch):
    host02 = engine.by_name(engine.hosts, "host02")
    host02.status = types.HostStatus.MAINTENANCE
    result = run_module(host_fence.main, {"host": "host02", "action": "stop"}, engine, capsys, diff=True)
    assert result["changed"] and result["power_state"] == "off" and result["power_state_before"] == "on"
    assert result["diff"] == {"before": {"host02": {"power": "on"}}, "after": {"host02": {"power": "off"}}}
    again = run_module(host_fence.main, {"host": "host02", "action": "stop"}, engine, capsys)
    assert again["changed"] is False
    check = run_module(host_fence.main, {"host": "host02", "action": "start"}, engine, capsys, check_mode=True)
    assert check["changed"] and engine.power[host02.id] == "off"
    start = run_module(host_fence.main, {"host": "host02", "action": "start"}, engine, capsys)
    assert start["power_state"] == "on"


def test_fence_stop_not_in_maintenance_reports_engine_fault(engine, capsys):
    result = run_module(host_fence.main, {"host": "host02", "action": "stop"}, engine, capsys)
    assert result["failed"] and result["http_code"] == 409
    assert result["engine_detail"] == "[Host not in maintenance]"
    assert "host 'host02'" in result["msg"]


def test_fence_refuses_engine_vm_host_and_unconfirmed_manual(engine, capsys):
    result = run_module(host_fence.main, {"host": "host01", "action": "restart"}, engine, capsys)
    assert result["failed"] and "hosted-engine VM" in result["msg"] and result["error_type"] == "SafetyRefusal"
    result = run_module(host_fence.main, {"host": "host02", "action": "manual"}, engine, capsys)
    assert result["failed"] and "confirm_host_is_down" in result["msg"]
    assert engine.mutations == []


def test_fence_manual_confirmed_on_non_responsive_host(engine, capsys):
    host02 = engine.by_name(engine.hosts, "host02")
    host02.status = types.HostStatus.NON_RESPONSIVE
    result = run_module(host_fence.main, {"host": "host02", "action": "manual", "confirm_host_is_down": True},
                        engine, capsys)
    assert result["changed"] and ("POST", "hosts/%s/fence:manual" % host02.id) in engine.requests


# -- hosted_engine_host / hosted_engine_maintenance ------------------------------------------

def test_he_host_undeploy_deploy(engine, capsys):
    host02 = engine.by_name(engine.hosts, "host02")
    same = run_module(hosted_engine_host.main, {"host": "host02"}, engine, capsys)
    assert same["changed"] is False and engine.mutations == []
    check = run_module(hosted_engine_host.main, {"host": "host02", "state": "undeployed"}, engine, capsys,
                       check_mode=True, diff=True)
    assert check["changed"] and engine.mutations == []
    assert check["diff"]["after"] == {"host02": {"hosted_engine_configured": False}}
    done = run_module(hosted_engine_host.main, {"host": "host02", "state": "undeployed"}, engine, capsys)
    assert done["changed"] and done["status"] == "up" and done["hosted_engine_configured"] is False
    assert [r[1].rsplit("/", 1)[1] for r in engine.mutations] == ["deactivate", "install"]
    assert host02.hosted_engine is None
    back = run_module(hosted_engine_host.main, {"host": "host02", "root_password": "rootpw"}, engine, capsys)
    assert back["changed"] and back["hosted_engine_configured"] is True


def test_he_maintenance_global_and_local(engine, capsys):
    args = {"global_maintenance": True, "hosts": [{"name": "host02", "local_maintenance": True}]}
    check = run_module(hosted_engine_maintenance.main, args, engine, capsys, check_mode=True)
    assert check["changed"] and engine.mutations == []
    result = run_module(hosted_engine_maintenance.main, args, engine, capsys)
    assert result["changed"] and result["global_maintenance"] is True
    assert result["hosts"] == {"host02": {"local_maintenance": True}}
    vm = engine.by_name(engine.vms, "HostedEngine")
    assert ("POST", "vms/%s/maintenance" % vm.id) in engine.mutations
    again = run_module(hosted_engine_maintenance.main, args, engine, capsys)
    assert again["changed"] is False


def test_he_maintenance_rejects_non_he_host(engine, capsys):
    engine.add_host("plain", engine.by_name(engine.clusters, "Default"))
    result = run_module(hosted_engine_maintenance.main, {"hosts": [{"name": "plain", "local_maintenance": True}]},
                        engine, capsys)
    assert result["failed"] and "not a hosted-engine host" in result["msg"]
    result = run_module(hosted_engine_maintenance.main, {}, engine, capsys)
    assert result["failed"] and "global_maintenance" in result["msg"]


def test_vm_ha_names_take_top_level_settings(engine, capsys):
    result = run_module(vm_ha.main, {"names": ["vm2", "ghost"], "high_availability": True}, engine, capsys)
    assert result["failed"] and result["object"] == "names[1].name"
    result = run_module(vm_ha.main, {"names": ["vm2"], "vms": [{"name": "vm1", "priority": 7}],
                                     "high_availability": True}, engine, capsys)
    assert result["changed"]
    assert engine.by_name(engine.vms, "vm2").high_availability.enabled
    assert engine.by_name(engine.vms, "vm1").high_availability.priority == 7
    result = run_module(vm_ha.main, {"names": ["vm1"], "vms": [{"name": "vm1"}]}, engine, capsys)
    assert result["failed"] and "also listed as names[0]" in result["msg"]


def test_he_local_maintenance_follows_host_maintenance(engine, capsys):
    host02 = engine.by_name(engine.hosts, "host02")
    host02.hosted_engine.local_maintenance = True  # set on the host itself, host still up
    result = run_module(hosted_engine_maintenance.main, {"hosts": [{"name": "host02", "local_maintenance": False}]},
                        engine, capsys)
    assert result["failed"] and "set on the host" in result["msg"] and engine.mutations == []
    result = run_module(hosted_engine_maintenance.main, {"hosts": [{"name": "host02", "local_maintenance": True}]},
                        engine, capsys)
    assert result["changed"] and host02.status == types.HostStatus.MAINTENANCE
    result = run_module(hosted_engine_maintenance.main, {"hosts": [{"name": "host02", "local_maintenance": False}]},
                        engine, capsys)
    assert result["changed"] and host02.status == types.HostStatus.UP
    assert host02.hosted_engine.local_maintenance is False


# -- the wrapper: auth from the environment, warnings, one session -------------------

def test_auth_from_environment_and_insecure_warning(engine, capsys, monkeypatch):
    from unittest import mock

    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.engine.fake_engine import FakeSession

    monkeypatch.setenv("OVIRT_URL", "https://env.example/ovirt-engine/api")
    monkeypatch.setenv("OVIRT_TOKEN", "env-token")
    seen = []

    def session(options):
        seen.append(options)
        return FakeSession(engine)

    target = "ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module.EngineSession"
    with patch_module_args({"cluster": "Default", "auth": {"insecure": True}}), mock.patch(target, session):
        with pytest.raises(SystemExit):
            cluster_info.main()
    out = capsys.readouterr().out
    assert len(seen) == 1
    assert seen[0].url == "https://env.example/ovirt-engine/api" and seen[0].token == "env-token"
    assert "TLS certificate is not verified" in out
    assert "env-token" not in out


def test_missing_url_names_the_field(engine, capsys, monkeypatch):
    monkeypatch.delenv("OVIRT_URL", raising=False)
    result = run_module(cluster_info.main, {"cluster": "Default", "auth": {"token": "tok-xyz"}}, engine, capsys)
    assert result["failed"] and "auth.url" in result["msg"]


def test_fence_wait_timeout_reports_last_power_state(engine, capsys):
    host02 = engine.by_name(engine.hosts, "host02")
    host02.status = types.HostStatus.MAINTENANCE
    engine.stuck_power = True
    result = run_module(host_fence.main, {"host": "host02", "action": "stop", "wait_timeout": 1}, engine, capsys)
    assert result["failed"] and result["error_type"] == "WaitTimeout"
    assert result["last_state"] == "power on"
    assert "host02 to report power off after stop" in result["msg"]


def test_engine_without_follow_support(engine, capsys):
    import ovirtsdk4 as sdk

    error = sdk.Error("bad follow", code=400, fault=types.Fault(reason="Invalid value", detail="follow"))
    engine.fail_once[("GET", "hosts")] = error
    result = run_module(cluster_info.main, {"cluster": "Default"}, engine, capsys)
    assert result["hosts"][0]["power_management"]["fence_agents"] is None  # not inlined, not fetched per host
    assert result["summary"]["hosts"] == 2
    engine.fail_once[("GET", "hosts")] = error
    args = {"hosts": [{"name": "host02", "enabled": True, "agents": [AGENT]}]}
    result = run_module(host_power_management.main, args, engine, capsys)
    assert result["changed"] and result["hosts"][0]["agents_added"] == 1
