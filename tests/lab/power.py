"""The BMC side of a simulated host: what the machine's power does when a BMC switches it."""

from __future__ import annotations

from tests.lab.clock import Clock
from tests.lab.model import Host, Model


class HostPower:
    """Implements the BMC's PowerTarget protocol for one host of the model."""

    def __init__(self, model: Model, clock: Clock, host_id: str) -> None:
        self.model = model
        self.clock = clock
        self.host_id = host_id

    def _host(self) -> Host:
        return self.model.hosts[self.host_id]

    def bmc_power_state(self) -> bool:
        with self.model.lock:
            return self._host().power_on

    def bmc_power(self, action: str) -> None:
        with self.model.lock:
            apply_power(self._host(), action, self.clock.now())


def apply_power(host: Host, action: str, now: float) -> str:
    """Switch the machine; returns the resulting state ('on' | 'off')."""
    host.power_log.append((now, action))
    del host.power_log[:-50]
    if action in ("off", "soft", "cycle", "reset"):
        # vdsm starts afresh with the next boot
        host.vdsm_hung = False
        host.vdsm_hang_persistent = False
    if action in ("off", "soft"):
        host.power_on = False
    elif action == "on":
        if not host.power_on:
            host.power_on = True
            host.booted_at = now
    elif action in ("cycle", "reset"):
        host.power_on = True
        host.booted_at = now
    return "on" if host.power_on else "off"
