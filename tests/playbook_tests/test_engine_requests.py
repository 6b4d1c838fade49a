"""Request counts of the engine modules, measured by the lab (GET /lab/stats) while ansible-playbook runs them.

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_engine_requests.py
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.lab.testing import running_lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).resolve().parent / "engine"
LOGIN = "POST /ovirt-engine/sso/oauth/token"

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def playbook(name: str, lab: Any, tmp_path: Path, **extra: Any) -> None:
    lab_json = tmp_path / "lab.json"
    lab_json.write_text(json.dumps(lab.info))
    lab_json.chmod(0o600)
    extra_vars = tmp_path / "extra.json"
    extra_vars.write_text(json.dumps(dict(lab_json=str(lab_json), **extra)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOKS / name),
               "-e", "@" + str(extra_vars), "-e", "ansible_python_interpreter=" + str(ROOT / ".venv" / "bin" / "python")]
    done = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def api_requests(stats: Dict[str, Any]) -> int:
    return sum(n for key, n in stats["by_path"].items() if key.split(" ", 1)[1].startswith("/ovirt-engine/api"))


def cluster_info_requests(hosts: int, vms: int, tmp_path: Path) -> int:
    tmp_path.mkdir()
    with running_lab(hosts=hosts, vms=vms, no_bmcs=True) as lab:
        lab.reset_stats()
        playbook("cluster_info.yml", lab, tmp_path)
        stats = lab.stats()
        assert stats["sso_logins"] == 1 and stats["by_path"].get(LOGIN) == 1
        return api_requests(stats)


def test_cluster_info_request_count_does_not_grow_with_the_cluster(tmp_path: Path) -> None:
    small = cluster_info_requests(10, 20, tmp_path / "small")
    large = cluster_info_requests(500, 1000, tmp_path / "large")
    assert small == large == 4


def test_idempotent_vm_ha_over_100_vms_makes_at_most_2_requests(tmp_path: Path) -> None:
    with running_lab(hosts=4, vms=100, no_bmcs=True) as lab:
        names = ["vm%04d" % i for i in range(1, 101)]
        result_file = tmp_path / "first.json"
        playbook("vm_ha.yml", lab, tmp_path, vm_names=names, result_file=str(result_file))
        assert json.loads(result_file.read_text())["changed"] is True
        lab.reset_stats()
        result_file = tmp_path / "second.json"
        playbook("vm_ha.yml", lab, tmp_path, vm_names=names, result_file=str(result_file))
        result = json.loads(result_file.read_text())
        stats = lab.stats()
        assert result["changed"] is False and len(result["vms"]) == 100
        assert stats["sso_logins"] == 1
        assert api_requests(stats) <= 2, stats["by_path"]


def test_ten_tasks_with_engine_token_make_one_sso_login(tmp_path: Path) -> None:
    with running_lab(hosts=3, vms=4, hosted_engine=True) as lab:
        lab.reset_stats()
        playbook("one_login.yml", lab, tmp_path)
        stats = lab.stats()
        assert stats["sso_logins"] == 1, stats
        assert stats["by_path"].get(LOGIN) == 1
        assert stats["sso_logouts"] == 1
