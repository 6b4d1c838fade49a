"""The job playbooks run as AWX runs them: through ansible-runner, with the engine credential injected as AWX's
built-in "Red Hat Virtualization" credential type injects it (awx/main/models/credential/__init__.py: the env vars
OVIRT_URL, OVIRT_USERNAME, OVIRT_PASSWORD and OVIRT_INI_PATH, naming a file it writes with an [ovirt] section whose
ovirt_ca_file is the credential's "CA File" path; no OVIRT_CAFILE, no OVIRT_INSECURE), an inventory whose host
variables carry the BMCs (and no engine credential), the survey's defaults as extra variables typed as AWX passes
them, and no interactive input. The report comes back in the job artifacts (set_stats in playbook_on_stats).

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_awx_runner.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.lab.testing import LabHandle, running_lab

ansible_runner = pytest.importorskip("ansible_runner")

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
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


def survey_defaults(name: str) -> dict[str, Any]:
    spec = json.loads((AWX / "surveys" / f"{name}.json").read_text())["spec"]
    return {q["variable"]: q["default"] for q in spec if q.get("default") not in (None, "")}


def awx_inventory(lab: LabHandle, path: Path) -> Path:
    """The lab's hosts with their BMC host variables, as an AWX inventory holds them (no engine credential)."""
    source = yaml.safe_load(Path(lab.state_dir, "inventory.yml").read_text())["all"]["children"]["ovirt_hosts"]["hosts"]
    hosts = {name: {k: v for k, v in hostvars.items() if k.startswith("bmc_") or k == "ansible_connection"}
             for name, hostvars in source.items()}
    path.write_text(yaml.safe_dump({"all": {"children": {"ovirt_hosts": {"hosts": hosts}}}}))
    path.chmod(0o600)
    return path


def run_job(lab: LabHandle, tmp_path: Path, name: str, extravars: dict[str, Any], ca_file: bool = True) -> Any:
    engine = lab.info["engine"]
    private = tmp_path / "private"
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
        inventory=str(awx_inventory(lab, tmp_path / "inventory.yml")), extravars=extravars, envvars=envvars,
        passwords={}, quiet=True, timeout=300, settings={"suppress_ansible_output": True, "job_timeout": 300})


def artifacts(result: Any) -> dict[str, Any]:
    stats = [e for e in result.events if e.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event"
    data: dict[str, Any] = stats[-1]["event_data"].get("artifact_data") or {}
    return data


def assert_no_secret(lab: LabHandle, result: Any) -> None:
    """No secret in the job's event stream, its stdout, or any artifact but runner's own record of the command's
    environment (``command``, which holds the injected env vars as AWX's job environment does, mode 0600)."""
    secrets = [lab.info["engine"]["password"]] + [h["bmc"]["password"] for h in lab.info["hosts"]]
    texts = {"events": "\n".join(json.dumps(event) for event in result.events), "stdout": result.stdout.read()}
    for root, _dirs, files in os.walk(result.config.artifact_dir):
        for name in files:
            path = Path(root, name)
            if name == "command":
                assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
                continue
            texts[str(path)] = path.read_text(errors="replace")
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret in {where}"


def failed_messages(result: Any) -> str:
    return "\n".join(str(e["event_data"].get("res", {}).get("msg")) for e in result.events
                     if e.get("event") == "runner_on_failed")


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
