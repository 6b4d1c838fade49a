"""ansible-playbook against a running lab, as a user runs it: the work tree's collection (``.build``), the venv's
Python, the engine connection from the ``OVIRT_*`` environment. One place for the playbook tests
(tests/playbook_tests) and the scenario command ``run: playbook ...`` (tests/scenarios/commands.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Optional, Union

from tests.lab.testing import LabHandle

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_TIMEOUT = 300
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def playbook_env(lab: LabHandle, **extra: str) -> dict[str, str]:
    """The environment of a run: custom stats shown (``set_stats``, as AWX keeps them), results as JSON so that a
    failure's message can be read back, no colour, the lab's engine in ``OVIRT_*``."""
    engine = lab.info["engine"]
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default",
                ANSIBLE_SHOW_CUSTOM_STATS="true", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
                ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"),
                OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
                OVIRT_CAFILE=engine["ca_file"], **extra)


class PlaybookRun:
    """One ansible-playbook run: exit code, output, recap counts, custom stats and failure messages."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.returncode = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr
        self.text = done.stdout + done.stderr

    def _recap(self, column: int) -> int:
        rows = RECAP.findall(self.stdout)
        assert rows, self.text[-3000:]
        return sum(int(row[column]) for row in rows)

    @property
    def changed(self) -> int:
        return self._recap(1)

    @property
    def failed(self) -> int:
        return self._recap(3)

    def stats(self, key: str) -> Any:
        """The custom stat ``key`` (``set_stats`` data, shown in the ``RUN:`` line of the recap)."""
        found = re.search(r"^\tRUN: (.*)$", self.stdout, re.M)
        assert found, self.text[-3000:]
        return json.loads(found.group(1))[key]

    def failures(self) -> list[str]:
        """The ``msg`` of every failed task."""
        return [str(json.loads(line.split(" => ", 1)[1]).get("msg")) for line in self.stdout.splitlines()
                if "FAILED! => {" in line]


def run_playbook(lab: LabHandle, playbook: str, *args: str, variables: Optional[dict[str, Any]] = None,
                 inventory: Optional[Union[str, Path]] = None, timeout: float = PLAYBOOK_TIMEOUT) -> PlaybookRun:
    """``playbooks/<playbook>`` (or a path) against the lab's inventory (or ``inventory``), with ``variables`` as one
    ``-e`` JSON document before ``args``."""
    path = Path(playbook) if os.path.isabs(playbook) else ROOT / "playbooks" / playbook
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory or os.path.join(lab.state_dir, "inventory.yml")),
               str(path)]
    if variables is not None:
        command += ["-e", json.dumps(variables)]
    done = subprocess.run([*command, *args], env=playbook_env(lab), cwd=str(ROOT), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return PlaybookRun(done)
