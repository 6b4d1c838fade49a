from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat

import pytest

from ansible_collections.ovirt_ha.core.plugins.modules import hosted_engine_config
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import REFERENCE

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
FILE = {"owner": OWNER, "group": GROUP}
HE_CONF = dict(
    FILE,
    fqdn="engine.example.com", host_id=1, domain_type="nfs", storage="nfs.example.com:/exports/hosted_engine",
    vmid="82a24281-8a25-4772-b9c9-45971e811cb3", vm_disk_id="6f3b2c1e-7a55-4c2e-9f0b-1d2e3f4a5b6c",
    vm_disk_vol_id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", sd_uuid="2164faa8-b18b-4036-b686-5a6eec95081b",
    connection_uuid="e29cf818-5ee5-46e1-85c1-8aeefa33e95d",
    metadata_volume_uuid="3c0d9f8e-2b1a-4c6d-8e7f-a9b8c7d6e5f4", metadata_image_uuid="5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
    lockspace_volume_uuid="7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
    lockspace_image_uuid="9f8e7d6c-5b4a-4392-8170-f6e5d4c3b2a1", conf_volume_uuid="1a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d",
    conf_image_uuid="2b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e", gateway="192.168.122.1",
)
ISCSI = dict(HE_CONF, domain_type="iscsi", storage="192.168.122.20", iqn="iqn.2024-01.com.example:he", portal="1",
             user="chap", password="Chap-Secret-42", port=3260)


def run(args, capsys, check=False, diff=False):
    return run_main(hosted_engine_config.main, args, capsys, check_mode=check, diff=diff)


def all_files(root):
    return {
        "root": str(root),
        "hosted_engine_conf": HE_CONF,
        "answers_conf": dict(FILE, values={"OVEHOSTED_VM/vmMemSizeMB": 16384, "OVEHOSTED_CORE/deployProceed": True,
                                           "OVEHOSTED_STORAGE/LunID": None, "NET/rules": ["a b", "c"]}),
        "vm_conf": dict(FILE, params={"vmId": HE_CONF["vmid"], "memSize": 4096, "vmName": "HostedEngine"},
                        devices=[{"device": "vnc", "type": "graphics"}], xml="<domain/>"),
        "agent_conf": dict(FILE, score={"base_score": 3000}),
        "broker_conf": dict(FILE, destination_emails=["ops@example.com"], state_transition=["start", "stop"]),
    }


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_apply_then_reapply_is_unchanged(tmp_path, capsys):
    code, out = run(all_files(tmp_path), capsys)
    assert code == 0 and out["changed"] is True
    assert [f["name"] for f in out["files"]] == ["hosted_engine_conf", "answers_conf", "vm_conf", "agent_conf",
                                                 "broker_conf"]
    he = tmp_path / "etc/ovirt-hosted-engine/hosted-engine.conf"
    assert mode_of(he) == 0o440 and mode_of(tmp_path / "var/run/ovirt-hosted-engine-ha/vm.conf") == 0o640
    assert mode_of(tmp_path / "etc/ovirt-hosted-engine/answers.conf") == 0o640
    text = he.read_text()
    assert "host_id=1\n" in text and "domainType=nfs\n" in text and "vdsm_use_ssl=true\n" in text
    assert "NET/rules=multi-str:a b\n c\n" in (tmp_path / "etc/ovirt-hosted-engine/answers.conf").read_text()
    assert "base-score=3000\n" in (tmp_path / "etc/ovirt-hosted-engine-ha/agent.conf").read_text()
    assert "state_transition=start|stop\n" in (tmp_path / "var/lib/ovirt-hosted-engine-ha/broker.conf").read_text()
    assert not [name for name in os.listdir(he.parent) if name.startswith(".ansible_he_")]
    code, out = run(all_files(tmp_path), capsys)
    assert code == 0 and out["changed"] is False and not any(f["changed"] for f in out["files"])


def test_check_mode_writes_nothing_and_reports_diff(tmp_path, capsys):
    code, out = run(all_files(tmp_path), capsys, check=True, diff=True)
    assert code == 0 and out["changed"] is True
    assert not (tmp_path / "etc").exists()
    assert len(out["diff"]) == 5 and out["diff"][0]["before"] == ""
    assert "fqdn=engine.example.com" in out["diff"][0]["after"]


def test_mode_only_change_is_a_change(tmp_path, capsys):
    run({"root": str(tmp_path), "hosted_engine_conf": HE_CONF}, capsys)
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": dict(HE_CONF, mode="0400")}, capsys, check=True)
    assert out["changed"] is True and mode_of(tmp_path / "etc/ovirt-hosted-engine/hosted-engine.conf") == 0o440
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": dict(HE_CONF, mode="0400")}, capsys)
    assert out["changed"] is True and mode_of(tmp_path / "etc/ovirt-hosted-engine/hosted-engine.conf") == 0o400


def test_reference_file_with_same_values_is_left_byte_identical(tmp_path, capsys):
    target = tmp_path / "etc/ovirt-hosted-engine/hosted-engine.conf"
    target.parent.mkdir(parents=True)
    shutil.copy(REFERENCE / "hosted-engine.conf", target)
    os.chmod(target, 0o440)
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": HE_CONF}, capsys)
    assert code == 0 and out["changed"] is False
    assert target.read_bytes() == (REFERENCE / "hosted-engine.conf").read_bytes()
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": dict(HE_CONF, host_id=7)}, capsys, diff=True)
    assert out["changed"] is True
    text = target.read_text()
    assert "host_id=7\n" in text and "# The following are used only for iSCSI storage\n" in text
    assert text.replace("host_id=7\n", "host_id=1\n") == (REFERENCE / "hosted-engine.conf").read_text()
    assert "-host_id=1" not in out["diff"][0]["after"] and "host_id=7" in out["diff"][0]["after"]


def test_iscsi_password_masked_in_diff_and_output(tmp_path, capsys):
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": ISCSI,
                     "answers_conf": dict(FILE, values={"A/b": "x"},
                                          secret_values={"OVEHOSTED_STORAGE/iSCSIPortalPassword": "Answer-Secret-7"})},
                    capsys, diff=True)
    assert code == 0
    dumped = json.dumps(out)
    assert "Chap-Secret-42" not in dumped and "Answer-Secret-7" not in dumped
    assert "password=********" in out["diff"][0]["after"]
    he = (tmp_path / "etc/ovirt-hosted-engine/hosted-engine.conf").read_text()
    assert "password=Chap-Secret-42\n" in he and "iqn=iqn.2024-01.com.example:he\n" in he
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": dict(ISCSI, password="Other-Secret-9")}, capsys,
                    diff=True)
    assert "Chap-Secret-42" not in json.dumps(out) and "Other-Secret-9" not in json.dumps(out)


@pytest.mark.parametrize("change,field", [
    ({"fqdn": "engine"}, "hosted_engine_conf.fqdn"),
    ({"fqdn": "192.168.1.1"}, "hosted_engine_conf.fqdn"),
    ({"vmid": "not-a-uuid"}, "hosted_engine_conf.vmid"),
    ({"sd_uuid": "2164faa8-b18b-4036-b686-5a6eec95081"}, "hosted_engine_conf.sd_uuid"),
    ({"host_id": 0}, "hosted_engine_conf.host_id"),
    ({"host_id": 2001}, "hosted_engine_conf.host_id"),
    ({"storage": "nfs.example.com"}, "hosted_engine_conf.storage"),
    ({"storage": None}, "hosted_engine_conf.storage"),
    ({"domain_type": "iscsi", "storage": "192.168.122.20"}, "hosted_engine_conf.iqn"),
    ({"domain_type": "fc"}, "hosted_engine_conf.storage"),
    ({"network_test": "tcp"}, "hosted_engine_conf.tcp_t_address (network_test=tcp)"),
    ({"network_test": "tcp", "tcp_t_address": "192.168.122.1"}, "hosted_engine_conf.tcp_t_port (network_test=tcp)"),
    ({"tcp_t_port": 80}, "hosted_engine_conf.tcp_t_port"),
    ({"gateway": "gw.example.com"}, "hosted_engine_conf.gateway"),
    ({"mnt_options": "a b"}, "hosted_engine_conf.mnt_options"),
    ({"extra": {"x": "$(reboot)"}}, "hosted_engine_conf.extra.x"),
    ({"password": "Lonely-Pass-1"}, "hosted_engine_conf.password"),
])
def test_bad_input_names_the_field_and_writes_nothing(tmp_path, capsys, change, field):
    code, out = run({"root": str(tmp_path), "hosted_engine_conf": dict(HE_CONF, **change),
                     "agent_conf": FILE}, capsys)
    assert code == 1 and out["failed"] is True
    assert out["field"] == field and out["msg"].startswith(field + ": expected")
    assert not (tmp_path / "etc").exists()


def test_bad_vm_conf_and_answers(tmp_path, capsys):
    code, out = run({"root": str(tmp_path), "vm_conf": dict(FILE, params={"memSize": 4096})}, capsys)
    assert code == 1 and out["field"] == "vm_conf.params.vmId"
    code, out = run({"root": str(tmp_path), "answers_conf": dict(FILE, values={"A/b": 1.5})}, capsys)
    assert code == 1 and "expected null, a boolean" in out["msg"]
    code, out = run({"root": str(tmp_path), "agent_conf": dict(FILE, score={"cpu_load_penalty_max": 2})}, capsys)
    assert code == 1 and out["field"] == "agent_conf.score.cpu_load_penalty_max"


def test_unreadable_existing_answers_file_is_replaced(tmp_path, capsys):
    target = tmp_path / "etc/ovirt-hosted-engine/answers.conf"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\xff\xfe not text")
    code, out = run({"root": str(tmp_path), "answers_conf": dict(FILE, values={"A/b": "x"})}, capsys, diff=True)
    assert code == 0 and out["changed"] is True
    assert target.read_text() == "[environment:default]\nA/b=str:x\n"
    assert "could not be parsed" in out["diff"][0]["before"]


@pytest.mark.parametrize("kind,args", [
    ("hosted_engine_conf", dict(ISCSI, mode="0644")),
    ("hosted_engine_conf", dict(ISCSI, mode=0o444)),
    ("hosted_engine_conf", dict(ISCSI, mode="u=r,g=r,o=r")),
    ("answers_conf", dict(FILE, mode="0604", values={"A/b": "x"},
                          secret_values={"OVEHOSTED_STORAGE/iSCSIPortalPassword": "Answer-Secret-7"})),
    ("answers_conf", dict(FILE, mode="a+r", values={"A/b": "x"},
                          secret_values={"OVEHOSTED_STORAGE/iSCSIPortalPassword": "Answer-Secret-7"})),
])
def test_world_readable_mode_refused_for_a_file_with_a_secret(tmp_path, capsys, kind, args):
    code, out = run({"root": str(tmp_path), kind: args}, capsys)
    assert code == 1 and out["field"] == kind + ".mode"
    assert "holds a secret" in out["msg"]
    assert "Chap-Secret-42" not in json.dumps(out) and "Answer-Secret-7" not in json.dumps(out)
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("kind,args", [
    ("hosted_engine_conf", dict(HE_CONF, mode="0644")),  # no password: nothing secret in the file
    ("hosted_engine_conf", dict(ISCSI, mode="0640")),
    ("hosted_engine_conf", dict(ISCSI, mode="u=rw,g=r,o=")),
    ("answers_conf", dict(FILE, mode="0644", values={"A/b": "x"})),
])
def test_modes_accepted(tmp_path, capsys, kind, args):
    code, out = run({"root": str(tmp_path), kind: args}, capsys)
    assert code == 0, out


def test_invalid_secret_value_is_not_echoed_in_the_error(tmp_path, capsys):
    # Ansible masks the exact no_log value; the repr of a value with a newline differs from it and slipped through
    secret = "line1\nTop-Secret-5"
    code, out = run({"root": str(tmp_path), "answers_conf": dict(
        FILE, values={"A/b": "x"}, secret_values={"OVEHOSTED_STORAGE/iSCSIPortalPassword": secret})}, capsys)
    assert code == 1 and out["field"] == "answers_conf.secret_values.OVEHOSTED_STORAGE/iSCSIPortalPassword"
    assert out["msg"].startswith(out["field"] + ": expected a value on one line")
    assert "Top-Secret-5" not in json.dumps(out)
    assert not (tmp_path / "etc").exists()


def test_invalid_plain_value_names_its_key_and_shows_the_value(tmp_path, capsys):
    code, out = run({"root": str(tmp_path), "answers_conf": dict(FILE, values={"OVEHOSTED_VM/vmMemSizeMB": 1.5})},
                    capsys)
    assert code == 1 and out["field"] == "answers_conf.values.OVEHOSTED_VM/vmMemSizeMB"
    assert out["msg"].endswith("got 1.5")
