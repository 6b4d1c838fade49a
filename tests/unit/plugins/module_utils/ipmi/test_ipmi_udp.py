"""The real client over real UDP against the lab's simulated BMCs (tests/lab/bmc.py).

The BMCs run in a separate process (tests.lab.bmc_standalone): the client forks a
worker per BMC, and a pyghmi server in the forking process would be inherited.
Every power change is checked through an independent witness (tests.lab.bmc_probe,
pyghmi's public API in another process) and the simulator's own state.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.bulk import bmc_fence, bmc_info, bmc_power
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.fence import FenceRequest
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.power import PowerRequest
from ansible_collections.ovirt_ha.core.plugins.module_utils._ipmi.target import targets_from_params

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[5]
COUNT = 8


def _free_base_port(count: int) -> int:
    for base in range(21000 + (os.getpid() % 50) * 100, 40000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free UDP port range")


class Fleet:
    def __init__(self, tmp: Path) -> None:
        self.state_file = tmp / "bmcs.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.lab.bmc_standalone", "--count", str(COUNT),
             "--base-port", str(_free_base_port(COUNT)), "--state", str(self.state_file)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not self.state_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("BMC fleet did not start: %s" % self.process.stderr.read().decode())
            time.sleep(0.05)
        self.state = json.loads(self.state_file.read_text())
        self.bmcs = self.state["bmcs"]

    def control(self, **request):
        from tests.lab.bmc_standalone import control
        reply = control(self.state["control"], request)
        assert reply["ok"], reply
        return reply

    def targets(self, indexes, **overrides):
        entries = [{key: self.bmcs[i][key] for key in ("name", "address", "port", "username", "password")}
                   for i in indexes]
        params = dict(port=623, username=None, password=None, privilege="administrator", cipher=3, timeout=5)
        params.update(overrides)
        params["bmcs"] = entries
        return targets_from_params(params)

    def witness(self, index):
        bmc = self.bmcs[index]
        out = subprocess.run([sys.executable, "-m", "tests.lab.bmc_probe", "--port", str(bmc["port"]),
                              "--username", bmc["username"]], cwd=REPO, capture_output=True, text=True,
                             env=dict(os.environ, IPMI_PASSWORD=bmc["password"]), timeout=30, check=True)
        return json.loads(out.stdout)["power"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    running = Fleet(tmp_path_factory.mktemp("bmcs"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clean(fleet):
    fleet.control(op="clear")
    yield


def test_state_file_is_private(fleet):
    assert fleet.state_file.stat().st_mode & 0o077 == 0


def test_info_over_all_bmcs(fleet):
    results = bmc_info(fleet.targets(range(COUNT)), parallel=8)
    assert [r["name"] for r in results] == [b["name"] for b in fleet.bmcs]
    assert all(r["authenticated"] and r["power"] == "on" and not r["failed"] for r in results)


def test_power_off_on_status_verified_by_witness(fleet):
    (off,) = bmc_power(fleet.targets([0]), PowerRequest(state="off"))
    assert off["changed"] is True and off["power"] == "off"
    assert fleet.witness(0) == "off" and fleet.control(op="power", name="bmc001")["on"] is False
    (again,) = bmc_power(fleet.targets([0]), PowerRequest(state="off"))
    assert again["changed"] is False
    (status,) = bmc_power(fleet.targets([0]), PowerRequest(state="status"))
    assert status["power"] == "off" and status["changed"] is False
    (checked,) = bmc_power(fleet.targets([0]), PowerRequest(state="on", check_mode=True))
    assert checked["changed"] is True and fleet.witness(0) == "off"
    (on,) = bmc_power(fleet.targets([0]), PowerRequest(state="on"))
    assert on["changed"] is True and fleet.witness(0) == "on"
    (cycle,) = bmc_power(fleet.targets([0]), PowerRequest(state="cycle"))
    assert cycle["changed"] is True and cycle["command"] == "cycle"
    assert fleet.control(op="power", name="bmc001")["actions"][-1] == "cycle" and fleet.witness(0) == "on"


def test_faults_are_reported_per_bmc_and_others_still_handled(fleet):
    fleet.control(op="fault", name="bmc002", kind="unreachable", value=True)
    fleet.control(op="fault", name="bmc003", kind="wrong_password", value=True)
    started = time.monotonic()
    results = bmc_power(fleet.targets([0, 1, 2, 3], timeout=3), PowerRequest(state="status"))
    elapsed = time.monotonic() - started
    kinds = [r.get("error", {}).get("kind") for r in results]
    assert kinds == [None, "unreachable", "authentication_failed", None]
    assert "bmc002 (127.0.0.1:%d)" % fleet.bmcs[1]["port"] in results[1]["msg"]
    assert "bmc003" in results[2]["msg"] and "password" in results[2]["msg"]
    # bounded by the 3 s exchange timeout, not by the hard deadline (9 s) nor hanging; slack for a loaded machine
    assert results[1]["elapsed"] <= 5 and elapsed < 9


def test_fence_on_stuck_power_fails_after_power_timeout(fleet):
    fleet.control(op="fault", name="bmc004", kind="stuck_power", value=True)
    started = time.monotonic()
    (record,) = bmc_fence(fleet.targets([3]), FenceRequest(action="off", power_wait=0.5, power_timeout=2))
    elapsed = time.monotonic() - started
    assert record["result"] == "failed" and record["fenced"] is False and record["failed"] is True
    assert record["error"]["kind"] == "timed_out" and record["error"]["states_seen"][0].startswith("on")
    assert 2.5 <= elapsed < 12
    assert fleet.witness(3) == "on"


def test_operations_may_outlast_the_login_timeout(fleet):
    """``timeout`` bounds each exchange, not the session: a 3 s power_timeout with a 1 s timeout still polls."""
    fleet.control(op="fault", name="bmc004", kind="stuck_power", value=True)
    (record,) = bmc_fence(fleet.targets([3], timeout=1), FenceRequest(action="off", power_wait=0.2, power_timeout=3))
    assert record["error"]["kind"] == "timed_out" and "did not confirm power off" in record["msg"]
    assert record["elapsed"] >= 3
    fleet.control(op="clear")
    (off,) = bmc_power(fleet.targets([3], timeout=1), PowerRequest(state="off"))
    assert off["power"] == "off" and not off["failed"]


def test_fence_reboot_many_in_parallel(fleet):
    results = bmc_fence(fleet.targets(range(COUNT)), FenceRequest(action="reboot", power_wait=0.2), parallel=8)
    assert all(r["result"] == "success" and r["fenced"] for r in results), results
    for bmc in fleet.bmcs:
        assert fleet.control(op="power", name=bmc["name"])["actions"][-2:] == ["off", "on"]


def test_cipher_17_is_refused_by_the_lab_bmc_not_downgraded(fleet):
    (result,) = bmc_info(fleet.targets([0], cipher=17))
    assert result["error"]["kind"] == "authentication_failed" and "cipher suite 17" in result["msg"]


def test_every_session_is_logged_out(fleet):
    """The simulator counts open sessions like a BMC's session table: ours must all be closed."""
    targets = fleet.targets([4], timeout=3)
    for _attempt in range(3):
        assert not bmc_info(targets)[0]["failed"]
    assert not bmc_power(targets, PowerRequest(state="status"))[0]["failed"]
    (record,) = bmc_fence(fleet.targets([4]), FenceRequest(action="reboot", power_wait=0.1))
    assert record["result"] == "success"
    assert fleet.control(op="power", name="bmc005")["sessions"] == 0


def test_full_session_table_is_reported(fleet):
    # a client that never logs out, until the BMC refuses a new session
    script = ("import sys\n"
              "import pyghmi.ipmi.private.session as s\n"
              "from pyghmi.ipmi import command\n"
              "for _ in range(int(sys.argv[4])):\n"
              "    try:\n"
              "        command.Command(bmc='127.0.0.1', port=int(sys.argv[1]), userid=sys.argv[2].encode(),\n"
              "                        password=sys.argv[3].encode(), keepalive=False)\n"
              "    except Exception as exc:\n"
              "        print(exc)\n"
              "        break\n"
              "    s.Session.bmc_handlers.clear()\n"
              "    s.Session.initting_sessions.clear()\n")
    bmc = fleet.bmcs[7]
    from tests.lab.bmc import MAX_SESSIONS
    leak = subprocess.run([sys.executable, "-c", script, str(bmc["port"]), bmc["username"], bmc["password"],
                           str(MAX_SESSIONS + 10)], cwd=REPO, timeout=180, check=True, capture_output=True, text=True)
    assert "Insufficient resources" in leak.stdout
    assert fleet.control(op="power", name=bmc["name"])["sessions"] == MAX_SESSIONS
    (result,) = bmc_info(fleet.targets([7], timeout=3))
    assert result["error"]["kind"] == "command_refused" and "no free session slot" in result["msg"]


@pytest.mark.skipif(shutil.which("ipmitool") is None, reason="ipmitool not installed")
def test_ipmitool_lanplus_against_the_simulator(fleet):
    bmc = fleet.bmcs[5]
    env = dict(os.environ, IPMI_PASSWORD=bmc["password"])
    base = ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(bmc["port"]), "-U", bmc["username"], "-E"]

    def run(*args, **kw):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=30, check=False, **kw)

    assert "Chassis Power is on" in run("chassis", "power", "status", env=env).stdout
    assert run("chassis", "power", "off", env=env).returncode == 0
    assert "Chassis Power is off" in run("chassis", "power", "status", env=env).stdout
    assert "System Power         : off" in run("chassis", "status", env=env).stdout
    assert run("chassis", "power", "status", env=dict(env, IPMI_PASSWORD="wrong")).returncode != 0


@pytest.mark.skipif(shutil.which("fence_ipmilan") is None, reason="fence_ipmilan not installed")
def test_fence_ipmilan_against_the_simulator(fleet):
    bmc = fleet.bmcs[6]
    base = ["fence_ipmilan", "--lanplus", "-a", "127.0.0.1", "-u", str(bmc["port"]), "-l", bmc["username"]]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    status = subprocess.run(base + ["-p", bmc["password"], "-o", "status"], capture_output=True, text=True,
                            timeout=60, env=env, check=False)
    assert "Status: ON" in status.stdout
    off = subprocess.run(base + ["-p", bmc["password"], "-o", "off"], capture_output=True, text=True, timeout=60,
                         env=env, check=False)
    assert off.returncode == 0 and fleet.control(op="power", name=bmc["name"])["on"] is False
