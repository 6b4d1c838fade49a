"""Power operations the way the engine does them: a fence agent run on a proxy host.

vdsm runs fence_ipmilan on the proxy host; the lab runs ``ipmitool -I lanplus`` against the fence
agent's stored address, port and credentials (password through the environment, never argv).
Without ipmitool or without BMCs the lab falls back to switching the model's power directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Callable, Optional

from tests.lab.model import FenceAgent

IPMITOOL_TIMEOUT = 8.0
VERIFY_POLLS = 12
VERIFY_INTERVAL = 0.25
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FenceResult:
    def __init__(self, ok: bool, power: str = "unknown", message: str = "") -> None:
        self.ok = ok
        self.power = power
        self.message = message


class PowerAgentRunner:
    """Runs one power command against one fence agent; no model lock is held while it runs."""

    def __init__(self, direct: Optional[Callable[[str, str], str]] = None) -> None:
        self.ipmitool = shutil.which("ipmitool")
        # direct(host_id, action) -> 'on'|'off': used when there is no BMC to talk to
        self.direct = direct
        self.use_ipmitool = self.ipmitool is not None

    def run(self, agent: FenceAgent, action: str) -> FenceResult:
        """action: status | on | off.  Returns the power state reported ('on', 'off', 'unknown')."""
        if not self.use_ipmitool or agent.type not in ("ipmilan", "ipmilanplus", "idrac", "ilo", "ilo3", "ilo4", "ilo5"):
            if self.direct is None:
                return FenceResult(False, message=f"no way to run fence agent {agent.type}")
            state = self.direct(agent.host_id, action)
            # anything but a power state is the BMC's failure (no answer)
            return FenceResult(True, state) if state in ("on", "off") else FenceResult(False, message=state)
        assert self.ipmitool is not None
        if agent.address not in LOOPBACK:
            # the lab's traffic stays on this machine: an agent pointing elsewhere simply fails
            return FenceResult(False, message=f"the lab only reaches BMCs on 127.0.0.1, not {agent.address}")
        argv = [self.ipmitool, "-I", "lanplus", "-H", agent.address, "-p", str(agent.port), "-U", agent.username, "-E",
                "-N", "1", "-R", "1", "chassis", "power", action]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IPMI_PASSWORD": agent.password}
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=IPMITOOL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return FenceResult(False, message=f"ipmitool {action} timed out after {IPMITOOL_TIMEOUT:.0f} s")
        out = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            return FenceResult(False, message=out.splitlines()[-1] if out else f"ipmitool exit {proc.returncode}")
        lowered = out.lower()
        if "is on" in lowered:
            return FenceResult(True, "on", out)
        if "is off" in lowered:
            return FenceResult(True, "off", out)
        return FenceResult(True, "unknown", out)

    def set_and_verify(self, agent: FenceAgent, want: str) -> FenceResult:
        """Send on/off, then poll the status until it matches (bounded)."""
        sent = self.run(agent, want)
        if not sent.ok:
            return sent
        last = sent
        for _poll in range(VERIFY_POLLS):
            last = self.run(agent, "status")
            if last.ok and last.power == want:
                return last
            time.sleep(VERIFY_INTERVAL)
        return FenceResult(False, last.power, f"Failed to verify host power {want}: {last.message or last.power}")
