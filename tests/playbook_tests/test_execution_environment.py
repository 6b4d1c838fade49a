"""The execution environment (meta/execution-environment.yml) installs only from PyPI and the distribution's
packages, includes this collection, and its Python requirements resolve in a clean virtual environment.

The resolve test needs the package index pip is configured with (PyPI). Run:
.venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_execution_environment.py
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EE_FILE = ROOT / "meta" / "execution-environment.yml"
pytestmark = [pytest.mark.slow]


def ee() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EE_FILE.read_text())
    return data


def python_requirements() -> list[str]:
    deps = ee()["dependencies"]
    lines = [line.split("#", 1)[0].strip() for line in (EE_FILE.parent / deps["python"]).read_text().splitlines()]
    return [line for line in lines if line] + [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]]


def test_python_requirements_are_plain_pypi_names() -> None:
    for requirement in python_requirements():
        # a name with a version specifier: no URL, VCS, local path, editable or index option
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,_-]+\])?\s*([<>=!~]=?[^\s,;]+\s*,?\s*)*", requirement), requirement


def test_system_requirements_are_distribution_packages_and_the_collection_is_included() -> None:
    data = ee()
    assert data["version"] == 3
    for line in (EE_FILE.parent / data["dependencies"]["system"]).read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            assert re.fullmatch(r"[a-z0-9][a-z0-9.+_-]* \[[a-z0-9: ]+\]", entry), entry
    collections = data["dependencies"]["galaxy"]["collections"]
    assert collections == [{"name": "collections/ovirt_ha-core.tar.gz", "type": "file"}]
    assert data["additional_build_files"][0]["dest"] == "collections"


def test_make_ee_writes_a_context_with_the_collection() -> None:
    done = subprocess.run(["make", "--no-print-directory", "ee"], cwd=str(ROOT), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    context = ROOT / ".build" / "ee-context"
    assert "ansible-galaxy collection install" in (context / "Containerfile").read_text()
    with tarfile.open(context / "_build" / "collections" / "ovirt_ha-core.tar.gz") as archive:
        names = archive.getnames()
    assert "roles/fencing/meta/argument_specs.yml" in names and "roles/vm_ha/tasks/main.yml" in names
    assert "plugins/modules/host_fence.py" in names


def test_python_requirements_resolve_in_a_clean_virtual_environment(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    report = tmp_path / "report.json"
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
                           "--report", str(report), *python_requirements()],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    for name in ("ovirt-engine-sdk-python", "pyghmi", "jmespath", "ansible-core", "ansible-runner"):
        assert name in resolved, sorted(resolved)
    assert resolved["ovirt-engine-sdk-python"].startswith("4.6.")
