"""The job playbooks run as AWX runs them: through ansible-runner, with the engine credential injected as AWX's
built-in "Red Hat Virtualization" credential type injects it (awx/main/models/credential/__init__.py: the env vars
OVIRT_URL, OVIRT_USERNAME, OVIRT_PASSWORD and OVIRT_INI_PATH, naming a file it writes with an [ovirt] section whose
ovirt_ca_file is the credential's "CA File" path; no OVIRT_CAFILE, no OVIRT_INSECURE), an inventory whose host
variables carry the BMCs (and no engine credential), the survey's defaults as extra variables typed as AWX passes
them, and no interactive input. The report comes back in the job artifacts (set_stats in playbook_on_stats).

Job playbooks covered here: configure_fencing, configure_vm_ha, reconcile, health_report, fence_host,
reconcile_hosted_engine, rolling_maintenance and the preflight of deploy_hosted_engine_ha. The whole of
deploy_hosted_engine_ha (install, configure, service and verify need SSH hosts) runs through ansible-runner in the
molecule scenario extensions/molecule/hosted_engine_ha, against its three containers after idempotence
(tests/playbook_tests/awx_hosted_engine_job.py, from its side_effect.yml). engine_backup and engine_restore_check run
on the engine machine: the molecule scenario extensions/molecule/engine_backup runs them through ansible-runner
against its container (tests/playbook_tests/awx_engine_jobs.py).

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_awx_runner.py
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml

from tests.lab.testing import LabHandle, running_lab
from tests.playbook_tests.awx_job import artifacts, assert_secrets_absent, failed_messages, survey_defaults

ansible_runner = pytest.importorskip("ansible_runner")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.lab, pytest.mark.slow]
RHV_INI = "[ovirt]\novirt_url={host}\novirt_username={username}\novirt_password={password}\n{ca_line}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path_factory.mktemp("lab")), hosts=3, vms=6) as handle:
        yield handle


@pytest.fixture(autouse=True)
def no_engine_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job sees only what the credential injects (ansible-runner passes the parent's environment on)."""
    for name in list(os.environ):
        if name.startswith(("OVIRT_", "IPMI_", "ANSIBLE_")):
            monkeypatch.delenv(name)


def awx_inventory(lab: LabHandle, path: Path) -> Path:
    """The lab's hosts with their BMC host variables, as an AWX inventory holds them (no engine credential)."""
    source = yaml.safe_load(Path(lab.state_dir, "inventory.yml").read_text())["all"]["children"]["ovirt_hosts"]["hosts"]
    hosts = {name: {k: v for k, v in hostvars.items() if k.startswith("bmc_") or k == "ansible_connection"}
             for name, hostvars in source.items()}
    path.write_text(yaml.safe_dump({"all": {"children": {"ovirt_hosts": {"hosts": hosts}}}}))
    path.chmod(0o600)
    return path


def run_job(lab: LabHandle, tmp_path: Path, name: str, extravars: dict[str, Any], ca_file: bool = True,
            inventory: Optional[Path] = None, job_tags: Optional[str] = None) -> Any:
    """One job: ``inventory`` defaults to the lab's hosts with their BMCs; ``job_tags`` as a job template's tags."""
    engine = lab.info["engine"]
    private = Path(tempfile.mkdtemp(prefix="private-", dir=tmp_path))
    (private / "env").mkdir(parents=True)
    private.chmod(0o700)
    # the credential's file injector: written by AWX into the job's private data dir, mode 0600
    ini = private / "ovirt.ini"
    ini.write_text(RHV_INI.format(host=engine["url"], username=engine["username"], password=engine["password"],
                                  ca_line=f"ovirt_ca_file={engine['ca_file']}" if ca_file else ""))
    ini.chmod(0o600)
    envvars = {
        "OVIRT_URL": engine["url"], "OVIRT_USERNAME": engine["username"], "OVIRT_PASSWORD": engine["password"],
        "OVIRT_INI_PATH": str(ini),
        # what the execution environment provides: this collection and its Python
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build"), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": str(ROOT / ".venv" / "bin" / "python"), "ANSIBLE_LOCALHOST_WARNING": "false",
        "PATH": str(ROOT / ".venv" / "bin") + os.pathsep + os.environ.get("PATH", ""),
    }
    return ansible_runner.run(
        private_data_dir=str(private), project_dir=str(ROOT), playbook=f"playbooks/{name}.yml",
        inventory=str(inventory or awx_inventory(lab, tmp_path / "inventory.yml")), extravars=extravars, envvars=envvars,
        passwords={}, tags=job_tags, quiet=True, timeout=300,
        settings={"suppress_ansible_output": True, "job_timeout": 300})


def assert_no_secret(lab: LabHandle, result: Any) -> None:
    """Neither the engine's password nor a BMC's anywhere in the job's output (see assert_secrets_absent)."""
    assert_secrets_absent(result, [lab.info["engine"]["password"]] + [h["bmc"]["password"] for h in lab.info["hosts"]])


def test_configure_fencing_runs_as_an_awx_job(lab: LabHandle, tmp_path: Path) -> None:
    extravars = survey_defaults("configure_fencing")
    assert extravars["ovirt_ha_bmc_timeout"] == 10 and extravars["ovirt_ha_pm_proxies"] == ["cluster", "dc"]
    result = run_job(lab, tmp_path, "configure_fencing", extravars)
    assert result.status == "successful" and result.rc == 0, failed_messages(result) or result.stdout.read()[-3000:]
    report = artifacts(result)["ovirt_ha_fencing"]["Default"]
    assert [h["ready"] for h in report["hosts"]] == [True, True, True]
    assert report["restored_password"] == []
    assert_no_secret(lab, result)


def test_configure_vm_ha_runs_as_an_awx_job_with_a_survey_answer(lab: LabHandle, tmp_path: Path) -> None:
    extravars = dict(survey_defaults("configure_vm_ha"), ovirt_ha_vm_patterns="vm0001, vm0002")
    result = run_job(lab, tmp_path, "configure_vm_ha", extravars)
    assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
    report = artifacts(result)["ovirt_ha_vm_ha"]
    assert sorted(v["name"] for v in report["vms"]) == ["vm0001", "vm0002"]
    assert all(v["high_availability"] for v in report["vms"])
    assert report["capacity"]["ok"] is True
    assert_no_secret(lab, result)


def test_reconcile_runs_as_an_awx_job(lab: LabHandle, tmp_path: Path) -> None:
    result = run_job(lab, tmp_path, "reconcile", survey_defaults("reconcile"))
    assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
    assert artifacts(result)["ovirt_ha_reconcile"]["Default"]["ok"] is True
    assert_no_secret(lab, result)


def test_health_report_runs_as_an_awx_job(lab: LabHandle, tmp_path: Path) -> None:
    result = run_job(lab, tmp_path, "health_report", survey_defaults("health_report"))
    assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
    assert_no_secret(lab, result)


def test_without_the_credentials_ca_file_tls_verification_refuses_the_lab_engine(lab: LabHandle, tmp_path: Path) -> None:
    result = run_job(lab, tmp_path, "configure_vm_ha", dict(survey_defaults("configure_vm_ha"), ovirt_ha_vm_patterns="vm0003"),
                     ca_file=False)
    assert result.status == "failed"
    assert "certificate" in failed_messages(result).lower()
    assert_no_secret(lab, result)


def test_fence_host_runs_as_an_awx_job(tmp_path: Path) -> None:
    """A host the engine sees non_responsive and did not fence (power fencing off in the engine), still powered: the
    job fences it over IPMI with the inventory's BMC host variables, tells the engine, powers it on again (the
    survey's default), and reports it in the artifacts."""
    with running_lab(str(tmp_path / "lab"), hosts=3, vms=6, virtual_clock=True, engine_uptime=600) as lab:
        lab.engine_ha(power_fence=False, soft_fence=False)
        lab.fault("host_network_cut", "host02")
        lab.step(200)
        assert lab.host_state("host02")["status"] == "non_responsive"
        extravars = dict(survey_defaults("fence_host"), ovirt_ha_fence_host="host02")
        assert extravars["ovirt_ha_power_on_after"] == "true"  # a multiple choice: AWX passes the text
        result = run_job(lab, tmp_path, "fence_host", extravars)
        assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
        assert artifacts(result)["ovirt_ha_fence_host"] == {
            "host": "host02", "check_mode": False, "power_before": "on", "fenced": True, "engine_confirmed": True,
            "powered_on": True}
        # the BMC saw the off, then the on (the engine's power fencing is off: both are the job's)
        actions = [action for _at, action in lab.host_state("host02")["power_log"]]
        assert [a for a in actions if a in ("off", "on")] == ["off", "on"], actions
        assert lab.host_state("host02")["power_on"] is True
        assert_no_secret(lab, result)


def test_fence_host_as_an_awx_job_refuses_a_host_the_engine_sees_up(lab: LabHandle, tmp_path: Path) -> None:
    result = run_job(lab, tmp_path, "fence_host", dict(survey_defaults("fence_host"), ovirt_ha_fence_host="host03"))
    assert result.status == "failed"
    assert "refusing to fence host03: the engine reports it as up" in failed_messages(result)
    assert "ovirt_ha_fence_host" not in artifacts(result)
    assert lab.host_state("host03")["power_on"] is True
    assert_no_secret(lab, result)


def he_inventory(lab: LabHandle, path: Path, hosts: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"all": {"children": {"hosted_engine_hosts": {"hosts": hosts}}}}))
    path.chmod(0o600)
    return path


def he_host_vars(lab: LabHandle, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Each lab hosted-engine host as an inventory host (connection local in place of SSH): its hosted-engine.conf,
    and the stand-in hosted-engine command at the path the role is told, talking to that host's lab socket."""
    he = lab.info["hosted_engine"]
    hosts = {}
    for host in he["hosts"]:
        root = tmp_path / "hosts" / host["name"]
        root.mkdir(parents=True)
        conf = root / "hosted-engine.conf"
        conf.write_text(f"host_id={host['host_id']}\nsdUUID={he['storage_domain_id']}\n", encoding="utf-8")
        command = root / "hosted-engine"
        command.write_text(f"#!/bin/sh\nHE_STANDIN_SOCKET={host['socket_dir']}/lab.sock exec {ROOT / '.venv' / 'bin' / 'python'} "
                           f"{ROOT / 'tests' / 'lab' / 'standin' / 'hosted_engine_cli.py'} \"$@\"\n", encoding="utf-8")
        command.chmod(0o755)
        hosts[host["name"]] = {"ansible_connection": "local", "ovirt_ha_he_hostname": host["address"],
                               "ha_runtime_he_config": str(conf), "ha_runtime_he_command": str(command),
                               "ha_runtime_he_metadata_path": he["metadata_volume"]}
    return hosts


@pytest.fixture()
def he_lab(tmp_path: Path) -> Iterator[LabHandle]:
    with running_lab(str(tmp_path / "lab"), hosts=3, vms=2, hosted_engine=True, no_bmcs=True, time_scale=20,
                     engine_uptime=600) as handle:
        yield handle


def wait_lab_seconds(lab: LabHandle, seconds: float) -> None:
    """Until the lab's clock (20 times faster than real time in these labs) has moved ``seconds``."""
    until = lab.state()["clock"]["now"] + seconds
    deadline = time.monotonic() + 120
    while lab.state()["clock"]["now"] < until:
        assert time.monotonic() < deadline, "the lab clock does not move"
        time.sleep(0.5)


def test_reconcile_hosted_engine_runs_as_an_awx_job(he_lab: LabHandle, tmp_path: Path) -> None:
    """The engine VM crashed and no agent restarts it. Two jobs as a schedule runs them (survey defaults: fail on
    problems): the first sees the engine VM run nowhere and gives the agents their grace (engine_down_grace, 90 lab
    seconds, remembered next to the metadata volume); the next, after the grace, starts the engine VM on one host with
    that host's hosted-engine command, waits for the engine, and reports it in the artifacts."""
    he_lab.fault("agents_failover_off")
    he_lab.fault("engine_vm_crash")
    inventory = he_inventory(he_lab, tmp_path / "he-inventory.yml", he_host_vars(he_lab, tmp_path))
    first = run_job(he_lab, tmp_path, "reconcile_hosted_engine", survey_defaults("reconcile_hosted_engine"),
                    inventory=inventory)
    assert first.status == "successful", failed_messages(first) or first.stdout.read()[-3000:]
    report = artifacts(first)["ovirt_ha_hosted_engine"]
    assert report["action"] is None and report["engine"]["state"] == "down", report
    assert [f["kind"] for f in report["findings"]] == ["engine_down"], report["findings"]

    wait_lab_seconds(he_lab, 100)
    second = run_job(he_lab, tmp_path, "reconcile_hosted_engine", survey_defaults("reconcile_hosted_engine"),
                     inventory=inventory)
    assert second.status == "successful", failed_messages(second) or second.stdout.read()[-3000:]
    report = artifacts(second)["ovirt_ha_hosted_engine"]
    assert report["action"] is not None, report
    assert report["action"]["operation"] == "start_engine_vm" and report["action_result"] == "done", report
    assert report["problems"] == []
    host = report["action"]["host"]
    started = [e["text"] for e in he_lab.journal() if "HostedEngine started on" in e["text"]]
    assert started == [f"HostedEngine started on {host} by tool {host} (hosted-engine --vm-start)"], started
    for result in (first, second):
        assert_no_secret(he_lab, result)


def deploy_inventory(lab: LabHandle, path: Path, host_ids: dict[str, int]) -> Path:
    """The deployment's inventory as the molecule scenario hosted_engine_ha has it (its group variables), for the
    lab's hosted-engine hosts reached locally: each host's name as its agent writes it in the lab's metadata volume,
    and that volume where the role looks for it."""
    deployment = yaml.safe_load((ROOT / "extensions" / "molecule" / "hosted_engine_ha" / "inventory" / "group_vars"
                                 / "hosted_engine_hosts.yml").read_text())
    group_vars = {k: v for k, v in deployment.items() if k.startswith("hosted_engine_ha_")}
    group_vars["hosted_engine_ha_metadata_path"] = lab.info["hosted_engine"]["metadata_volume"]
    hosts = {h["name"]: {"ansible_connection": "local", "hosted_engine_ha_hostname": h["address"],
                         "hosted_engine_ha_host_id": host_ids[h["name"]]} for h in lab.info["hosted_engine"]["hosts"]}
    path.write_text(yaml.safe_dump({"all": {"children": {"hosted_engine_hosts": {"hosts": hosts, "vars": group_vars}}}}))
    path.chmod(0o600)
    return path


def test_deploy_hosted_engine_ha_preflight_runs_as_an_awx_job(he_lab: LabHandle, tmp_path: Path) -> None:
    """Only the role's preflight (job tags hosted_engine_ha_preflight; the whole job runs against the molecule
    containers, see extensions/molecule/hosted_engine_ha and awx_hosted_engine_job.py): every variable checked, the host ids unique
    among the job's hosts, each host's id free or its own in the lab's metadata volume (read through
    hosted_engine_status). Then the same job with two hosts claiming one id fails on every host, naming the variable."""
    ids = {h["name"]: h["host_id"] for h in he_lab.info["hosted_engine"]["hosts"]}
    result = run_job(he_lab, tmp_path, "deploy_hosted_engine_ha", {}, job_tags="hosted_engine_ha_preflight",
                     inventory=deploy_inventory(he_lab, tmp_path / "deploy.yml", ids))
    assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
    ran = {e["event_data"]["task"] for e in result.events if e.get("event") == "runner_on_ok"}
    assert "Preflight | host id is free in the metadata volume" in ran, sorted(ran)
    assert not [t for t in ran if not t.startswith(("Preflight", "Validating arguments", "Gathering Facts"))], sorted(ran)
    assert result.stats["changed"] == {}
    assert_no_secret(he_lab, result)

    clash = dict(ids, host03=ids["host01"])
    failed = run_job(he_lab, tmp_path, "deploy_hosted_engine_ha", {}, job_tags="hosted_engine_ha_preflight",
                     inventory=deploy_inventory(he_lab, tmp_path / "clash.yml", clash))
    assert failed.status == "failed"
    assert "hosted_engine_ha_host_id" in failed_messages(failed)
    assert failed.stats["changed"] == {}


def test_rolling_maintenance_runs_as_an_awx_job(tmp_path: Path) -> None:
    """Survey defaults (cluster Default, 1200 s per wait): every host of a three-host cluster through maintenance in
    turn with its HA VMs migrating away (none stopped), all hosts up again. The role publishes no artifact: the lab's
    journal is the record."""
    layout = tmp_path / "lab.yml"
    layout.write_text(yaml.safe_dump({
        "engine_uptime": 600, "hosts": [{"name": f"host0{i}", "memory_gib": 64} for i in (1, 2, 3)],
        "vms": [{"name": f"app-{i}", "host": f"host0{i % 3 + 1}", "ha": True, "memory_gib": 4} for i in range(3)]}))
    with running_lab(str(tmp_path / "lab"), layout=str(layout), time_scale=10) as lab:
        result = run_job(lab, tmp_path, "rolling_maintenance", survey_defaults("rolling_maintenance"))
        assert result.status == "successful", failed_messages(result) or result.stdout.read()[-3000:]
        journal = [e["line"] for e in lab.journal()]
        cycled = [line.split("Host ", 1)[1].split(" ", 1)[0] for line in journal if "was switched to Maintenance mode" in line]
        assert sorted(cycled) == ["host01", "host02", "host03"], cycled
        assert all(h["status"] == "up" for h in lab.state()["hosts"])
        assert not [line for line in journal if " qemu " in line and "app-" in line and " stopped on " in line]
        assert_no_secret(lab, result)
