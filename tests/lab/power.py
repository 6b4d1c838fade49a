"""The BMC side of a simulated host: what the machine's power does when a BMC switches it."""

from __future__ import annotations

from tests.lab.actors import Actor
from tests.lab.clock import Clock
from tests.lab.model import Host, Model
from tests.lab.truth import Truth

OFF_ACTIONS = ("off", "soft", "cycle", "reset")


class HostPower:
    """Implements the BMC's PowerTarget protocol for one host of the model."""

    def __init__(self, model: Model, clock: Clock, truth: Truth, host_id: str) -> None:
        self.model = model
        self.clock = clock
        self.truth = truth
        self.host_id = host_id

    def _host(self) -> Host:
        return self.model.hosts[self.host_id]

    def bmc_power_state(self) -> bool:
        with self.model.lock:
            return self._host().power_on

    def bmc_load(self) -> int:
        """VMs whose process runs on the machine (what its power and temperature sensors show)."""
        with self.model.lock:
            return len(self.truth.processes_on(self.host_id))

    def bmc_power(self, action: str) -> None:
        with self.model.lock:
            host = self._host()
            # the engine's fence runner says beforehand that the next power command on this host is its own
            actor = self.truth.power_intent.get(host.id) or Actor("ipmi", f"client of the BMC of {host.name}")
            apply_power(host, action, self.clock.now(), self.truth, actor)


def apply_power(host: Host, action: str, now: float, truth: Truth, actor: Actor) -> str:
    """Switch the machine; returns the resulting state ('on' | 'off')."""
    host.power_log.append((now, action))
    del host.power_log[:-50]
    if action in OFF_ACTIONS and host.power_on:
        truth.power_off(host, actor, action)
        truth.host_lost_power(host, f"power {action}")
    elif action == "on" and not host.power_on:
        truth.journal.add(now, "power", f"{host.name} on by {actor}")
    if action in OFF_ACTIONS:
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
