"""What an AWX job gets and gives back, as ansible-runner hands it over: the survey's defaults as extra variables,
a job with a Machine credential against SSH hosts (its inventory, environment and key), the set_stats artifacts,
the failure messages and the secret check of the event stream. Shared by test_awx_runner.py and the molecule
scenarios' runner jobs (awx_engine_jobs.py for engine_backup, awx_hosted_engine_job.py for hosted_engine_ha)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
SURVEYS = ROOT / "extensions" / "awx" / "surveys"


def survey_defaults(name: str) -> dict[str, Any]:
    """The answers a survey launched without changes passes: each question's default, typed as the spec has it."""
    spec = json.loads((SURVEYS / f"{name}.json").read_text())["spec"]
    return {q["variable"]: q["default"] for q in spec if q.get("default") not in (None, "")}


def drop_job_env() -> None:
    """Runner passes its own environment on to the job: keep none of Ansible's or molecule's settings, so that the job
    gets only what AWX would give it."""
    for name in list(os.environ):
        if name.startswith(("ANSIBLE_", "MOLECULE_")):
            del os.environ[name]


def print_job_report(prefix: str, check: Callable[[Path], dict[str, Any]]) -> None:
    """The command-line end of a molecule scenario's runner jobs: with the job environment AWX gives (drop_job_env),
    ``check`` runs its jobs in a new work directory and returns what the scenario asserts on, printed as JSON."""
    drop_job_env()
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        print(json.dumps(check(work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_inventory(path: Path, group: str, hosts: dict[str, dict[str, Any]],
                    group_vars: Optional[dict[str, Any]] = None) -> Path:
    """An AWX inventory: one group, its hosts with their host variables and the group's variables; mode 0600."""
    body: dict[str, Any] = {"hosts": hosts}
    if group_vars:
        body["vars"] = group_vars
    path.write_text(yaml.safe_dump({"all": {"children": {group: body}}}))
    path.chmod(0o600)
    return path


def key_secrets(key: str) -> list[str]:
    """A private key as texts no job may show: the key whole and each line of its body, so that a part is found too."""
    return [key] + [line for line in key.splitlines() if line and not line.startswith("-----")]


def run_machine_job(work: Path, playbook: str, extravars: dict[str, Any], inventory: Path, user: str, key: str,
                    timeout: int = 300) -> Any:
    """A job of playbooks/PLAYBOOK.yml over SSH with a Machine credential as AWX hands it over: the user as ``-u``,
    the private key through ``ssh_key`` (runner gives it to an ssh-agent of the job and to no file the job keeps);
    this tree's collection as the execution environment's; no interactive input."""
    import ansible_runner  # here: test_awx_runner.py skips, rather than fails, without ansible-runner

    private = Path(tempfile.mkdtemp(prefix="job-", dir=work))
    envvars = {
        # what the execution environment provides: this collection
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build"), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        # as AWX: SSH control sockets in the job's private directory (no master connection of another run reused)
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private / "cp"),
        # the containers' host keys are new on every run
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "PATH": str(ROOT / ".venv" / "bin") + os.pathsep + os.environ.get("PATH", ""),
    }
    return ansible_runner.run(
        private_data_dir=str(private), project_dir=str(ROOT), playbook=str(ROOT / "playbooks" / f"{playbook}.yml"),
        inventory=str(inventory), extravars=extravars, envvars=envvars, cmdline=f"-u {user}", ssh_key=key,
        passwords={}, quiet=True, timeout=timeout, settings={"suppress_ansible_output": True, "job_timeout": timeout})


def artifacts(result: Any) -> dict[str, Any]:
    stats = [e for e in result.events if e.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event"
    data: dict[str, Any] = stats[-1]["event_data"].get("artifact_data") or {}
    return data


def failed_messages(result: Any) -> str:
    return "\n".join(str(e["event_data"].get("res", {}).get("msg")) for e in result.events
                     if e.get("event") == "runner_on_failed")


def assert_secrets_absent(result: Any, secrets: Iterable[str]) -> None:
    """No secret in the job's event stream, its stdout, or any artifact but runner's own record of the command's
    environment (``command``, which holds the injected env vars as AWX's job environment does, mode 0600). Only
    regular files are read: runner hands an SSH key to ssh-agent through a fifo in the artifact directory."""
    secrets = [s for s in secrets if s]
    assert secrets, "no secret to look for"
    texts = {"events": "\n".join(json.dumps(event) for event in result.events), "stdout": result.stdout.read()}
    for root, _dirs, files in os.walk(result.config.artifact_dir):
        for name in files:
            path = Path(root, name)
            mode = path.lstat().st_mode
            if name == "command":
                assert mode & 0o077 == 0, f"{path} is readable by others"
                continue
            if stat.S_ISREG(mode):
                texts[str(path)] = path.read_text(errors="replace")
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret in {where}"
