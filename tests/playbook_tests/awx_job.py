"""What an AWX job gets and gives back, as ansible-runner hands it over: the survey's defaults as extra variables,
the set_stats artifacts, the failure messages and the secret check of the event stream. Shared by
test_awx_runner.py and the engine_backup molecule scenario's runner jobs (awx_engine_jobs.py)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[2]
SURVEYS = ROOT / "extensions" / "awx" / "surveys"


def survey_defaults(name: str) -> dict[str, Any]:
    """The answers a survey launched without changes passes: each question's default, typed as the spec has it."""
    spec = json.loads((SURVEYS / f"{name}.json").read_text())["spec"]
    return {q["variable"]: q["default"] for q in spec if q.get("default") not in (None, "")}


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
