"""Commands a scenario runs (``run: playbook fence_host.yml -e ovirt_ha_fence_host=host02``): the collection's code,
as a user runs it, against the scenario's lab.  Each returns the lines it adds to the journal (outcomes, not
timings, so the journal stays deterministic)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests.lab.testing import LabHandle

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_TIMEOUT = 300


class CommandError(ValueError):
    """A command the harness does not know."""


def playbook_env(lab: LabHandle) -> dict[str, str]:
    engine = lab.info["engine"]
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"),
                ANSIBLE_STDOUT_CALLBACK="default", OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"],
                OVIRT_PASSWORD=engine["password"], OVIRT_CAFILE=engine["ca_file"])


def _playbook(lab: LabHandle, args: list[str], _work_dir: str) -> list[str]:
    if not args:
        raise CommandError("run: playbook needs the playbook's name (under playbooks/)")
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", os.path.join(lab.state_dir, "inventory.yml"),
               str(ROOT / "playbooks" / args[0]), *args[1:]]
    done = subprocess.run(command, env=playbook_env(lab), cwd=str(ROOT), capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT,
                          check=False)
    recap = re.findall(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", done.stdout)
    changed = sum(int(r[1]) for r in recap)
    failed = sum(int(r[3]) for r in recap)
    return [f"playbook {args[0]}: exit {done.returncode}, changed={changed} failed={failed}"]


COMMANDS: dict[str, Any] = {"playbook": _playbook}


def run(lab: LabHandle, command: Any, work_dir: str) -> list[str]:
    words = shlex.split(str(command))
    if not words or words[0] not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; known: {', '.join(sorted(COMMANDS))}")
    lines: list[str] = COMMANDS[words[0]](lab, words[1:], work_dir)
    return lines
