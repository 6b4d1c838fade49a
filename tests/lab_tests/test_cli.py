"""`python -m tests.lab up|status|down`: files written, and nothing left behind by `down`, also after a crash."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from tests.lab import cli

pytestmark = pytest.mark.lab

RUN = [sys.executable, "-m", "tests.lab"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=cli.REPO)
    return subprocess.run([*RUN, *args], env=env, cwd=cli.REPO, capture_output=True, text=True, timeout=180, check=False)


def _tcp_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _assert_nothing_left(info: dict[str, object], pid: int) -> None:
    ports = info["ports"]
    assert isinstance(ports, dict)
    for port in (ports["https"], ports["http"], ports["admin"]):
        assert not _tcp_listening(port), port
    for port in ports["bmc"]:
        assert not _udp_bound(port), port
    assert cli._group_members(pid) == []  # pylint: disable=protected-access


def test_up_writes_files_and_down_cleans_up(tmp_path: pytest.TempPathFactory) -> None:
    state_dir = str(tmp_path)
    result = _run("up", "--state-dir", state_dir, "--hosts", "2", "--vms", "4", "--hosted-engine")
    assert result.returncode == 0, result.stderr
    info = json.load(open(os.path.join(state_dir, "lab.json"), encoding="utf-8"))  # pylint: disable=consider-using-with
    try:
        for name in ("lab.json", "lab.env", "inventory.yml", "server.key"):
            assert stat.S_IMODE(os.stat(os.path.join(state_dir, name)).st_mode) == 0o600, name
        env_text = open(os.path.join(state_dir, "lab.env"), encoding="utf-8").read()  # pylint: disable=consider-using-with
        assert "OVIRT_URL=https://127.0.0.1:" in env_text and "OVIRT_CAFILE=" in env_text
        inventory = open(os.path.join(state_dir, "inventory.yml"), encoding="utf-8").read()  # pylint: disable=consider-using-with
        assert "ovirt_hosts:" in inventory and "bmc_port:" in inventory and "host02:" in inventory
        assert info["hosted_engine"]["metadata_volume"].startswith(state_dir)
        status = _run("status", "--state-dir", state_dir)
        assert status.returncode == 0 and '"api_available": true' in status.stdout
        again = _run("up", "--state-dir", state_dir)
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        down = _run("down", "--state-dir", state_dir)
    assert down.returncode == 0 and "lab stopped" in down.stdout
    _assert_nothing_left(info, info["pid"])
    assert _run("status", "--state-dir", state_dir).returncode == 1


def test_down_after_the_server_crashed(tmp_path: pytest.TempPathFactory) -> None:
    state_dir = str(tmp_path)
    info = cli.up(state_dir, hosts=2, vms=2)
    pid = info["pid"]
    # a fence agent child process would be in the same group; simulate a crash of the server itself
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    cli.down(state_dir)
    _assert_nothing_left(info, pid)


def test_down_after_a_failing_test(tmp_path: pytest.TempPathFactory) -> None:
    state_dir = str(tmp_path)
    from tests.lab.testing import running_lab  # pylint: disable=import-outside-toplevel

    seen: dict[str, object] = {}
    with pytest.raises(AssertionError):
        with running_lab(state_dir, hosts=1, vms=1) as lab:
            seen.update(lab.info)
            raise AssertionError("a test failed")
    _assert_nothing_left(seen, int(str(seen["pid"])))


def test_a_lab_whose_owner_was_killed_stops_by_itself(tmp_path) -> None:
    """A test run killed before its clean-up (SIGKILL, CI time-out) must not leave the lab running."""
    state = str(tmp_path / "lab")
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # pylint: disable=consider-using-with
    try:
        info = cli.up(state, hosts=1, vms=1, owner_pid=owner.pid)
        assert _tcp_listening(info["ports"]["https"])
    finally:
        owner.kill()
        owner.wait(timeout=10)
    deadline = time.monotonic() + 30
    while _running(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert not _running(info["pid"])
        assert not _tcp_listening(info["ports"]["https"])
        assert not any(_udp_bound(port) for port in info["ports"]["bmc"])
    finally:
        cli.down(state)


def _running(pid: int) -> bool:
    """Alive and not a zombie (the server is this test's child, so it stays a zombie until reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
