"""The ``hosted-engine`` command and the ``ovirt-ha-agent`` / ``ovirt-ha-broker`` services of one host, on the lab.

The stand-in command in a container (``tests/lab/standin/hosted_engine_cli.py``) forwards its arguments over the
host's Unix socket; this module answers as ovirt-hosted-engine-setup's ``hosted-engine`` script and the helpers it
calls do (read upstream: ``src/bin/hosted-engine.in``, ``set_maintenance.py``, ``vdsm_helper.py``,
``reinitialize_lockspace.py``, and ovirt-hosted-engine-ha's ``client.py`` and ``agent.py --cleanup``): the same
preconditions, messages, output streams and exit codes, including their quirks:

- ``--set-maintenance`` writes this host's ``local_maintenance`` and the global block in every mode (``local`` clears
  the global flag, ``global`` and ``none`` clear this host's local flag); ``local`` is refused while vdsm knows the
  engine VM on this host;
- ``--vm-start`` does not look at other hosts: vdsm creates the VM and sanlock refuses its lease afterwards;
- ``--clean-metadata`` exits 0 also when it refuses (an unclean block) and its only check is the block's ``stopped``
  flag, or sanlock's refusal of a host id still held;
- ``--reinitialize-lockspace`` without ``--force`` needs global maintenance and every block stopped.

Every action runs as ``Actor("tool", host)`` so that the lab's violations name the host the command ran on.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from tests.lab.actors import Actor, acting
from tests.lab.he_metadata import SLOT, decode_slot, encode_global
from tests.lab.hosted_engine_agents import HostedEngineAgents
from tests.lab.model import Host

Result = tuple[int, str, str]  # exit code, stdout, stderr
MODES = ("global", "local", "none")
NOT_RUNNING = "Virtual machine does not exist: {'vmId': '%s'}"
NO_BROKER = "Cannot connect to the HA daemon, please check the logs."
UNITS = ("ovirt-ha-agent", "ovirt-ha-broker")


class HostedEngineTool:
    """The ``hosted-engine`` command run on ``host`` (callers hold the model lock)."""

    def __init__(self, agents: HostedEngineAgents, host: Host) -> None:
        self.agents = agents
        self.host = host
        self.model = agents.model
        self.now = agents.engine.now()

    # -- dispatch ---------------------------------------------------------------------------------------------------
    def run(self, argv: list[str]) -> Result:
        options = _parse(argv)
        if options is None:
            return 1, "", f"hosted-engine: unknown or missing command in {' '.join(argv) or '(nothing)'}\n"
        command, values = options
        if not self.agents.booted(self.host, self.now):
            return 1, "", "the host is not running\n"
        handlers: dict[str, Callable[[dict[str, str]], Result]] = {
            "--set-maintenance": self.set_maintenance, "--vm-start": self.vm_start, "--vm-shutdown": self.vm_shutdown,
            "--vm-poweroff": self.vm_poweroff, "--clean-metadata": self.clean_metadata,
            "--reinitialize-lockspace": self.reinitialize_lockspace, "--check-liveliness": self.check_liveliness,
            "--vm-status": self.vm_status}
        request = " ".join(["hosted-engine", *argv])
        with acting(Actor("tool", self.host.name, request=request)):
            code, out, err = handlers[command](values)
        if command not in ("--vm-status", "--check-liveliness"):
            self.log(f"{self.host.name}: {request} (exit {code})")
        return code, out, err

    def log(self, text: str) -> None:
        if not self.agents.quiet:
            self.agents.truth.journal.add(self.now, "tool", text)

    # -- the broker (what the script reaches through /var/run/ovirt-hosted-engine-ha/broker.socket) -----------------
    def broker_up(self) -> bool:
        return (not self.host.he_broker_stopped and self.agents.booted(self.host, self.now)
                and self.agents.truth.reaches(self.host, self.agents.he_domain(), self.now))

    def slots(self) -> dict[int, dict[str, Any]]:
        count = max([h.he_host_id for h in self.model.hosts.values()] + [1])
        found: dict[int, dict[str, Any]] = {}
        for index in range(1, count + 1):
            try:
                slot = decode_slot(self.agents.volume.read(index))
            except (ValueError, KeyError, IndexError):
                continue
            if slot is not None:
                found[index] = slot
        return found

    # -- the commands --------------------------------------------------------------------------------------------------
    def set_maintenance(self, values: dict[str, str]) -> Result:
        mode = values.get("mode")
        if mode is None:
            return 1, "You must specify a maintenance mode with --mode\n", ""
        if mode not in MODES:
            return 1, f"Invalid value '{mode}' for --mode\n", ""
        if mode == "local" and self.host.id in self.agents.vdsm:
            return 1, "", ("Unable to enter local maintenance mode: the engine VM is running on the current host, please "
                           "migrate it before entering local maintenance mode.\n")
        if not self.broker_up():
            return 1, "", NO_BROKER + "\n"
        self.host.he_local_maintenance = mode == "local"
        self.agents.volume.write(0, encode_global(mode == "global"))
        return 0, "", ""

    def vm_start(self, _values: dict[str, str]) -> Result:
        vm = self.model.he_vm()
        assert vm is not None
        record = self.agents.vdsm.get(self.host.id)
        out = ""
        if record is not None:
            if record.status in ("Down", "Paused"):
                out = f"VM exists and is {record.status}, cleaning up and restarting\n"
                if record.running:
                    self.agents.truth.stop(vm, self.host.id, "destroyed by hosted-engine --vm-start")
                del self.agents.vdsm[self.host.id]
            else:
                return 1, f"VM exists and its status is {record.status}\n", ""
        actor = Actor("tool", self.host.name, request="hosted-engine --vm-start")
        if self.host.vdsm_hung or not self.agents.start_vm(self.host, vm, self.now, actor=actor):
            return 1, out + "VM failed to launch\n", "VM failed to launch in the create function\n"
        return 0, out + "VM in WaitForLaunch\n", ""

    def _stop(self, force: bool) -> Result:
        vm = self.model.he_vm()
        assert vm is not None
        if self.host.vdsm_hung:
            return 1, "", "Connection to vdsm timed out\n"
        if self.host.id not in self.agents.vdsm:
            return 1, "", NOT_RUNNING % vm.id + "\n"
        self.agents.stop_vm(self.host, vm, force, self.now)
        return 0, "", ""

    def vm_shutdown(self, _values: dict[str, str]) -> Result:
        return self._stop(False)

    def vm_poweroff(self, _values: dict[str, str]) -> Result:
        return self._stop(True)

    def clean_metadata(self, values: dict[str, str]) -> Result:
        """``ovirt-ha-agent --cleanup``: take the target's sanlock host id, then wipe its block if it is stopped."""
        force = "force-cleanup" in values
        target_id = int(values.get("host-id") or self.host.he_host_id)
        if not self.broker_up():
            return 0, "", "ERROR:ovirt_hosted_engine_ha.agent.agent.Agent:Required service broker is not up.\n"
        owner = next((h for h in self.model.hosts.values() if h.he_host_id == target_id and h.id in self.agents.agents), None)
        if owner is not None and owner.id != self.host.id and not force:
            # a running agent holds its host id in the hosted-engine lockspace
            return 0, "", (f"ERROR:ovirt_hosted_engine_ha.agent.agent.Agent:Traceback: SanlockException: (-243, 'Sanlock "
                           f"lockspace add failure', 'Sanlock exception'): host id {target_id} is in use\n")
        try:
            slot = decode_slot(self.agents.volume.read(target_id))
        except ValueError:
            slot = {"stopped": False}
        if slot is None:
            return 0, "", "ERROR:ovirt_hosted_engine_ha.agent.hosted_engine.HostedEngine:Metadata for current host missing.\n"
        if not slot.get("stopped") and not force:
            return 0, "", ("ERROR:ovirt_hosted_engine_ha.agent.hosted_engine.HostedEngine:Cannot clean unclean metadata "
                           "block. Consider --force-clean.\n")
        self.agents.volume.write(target_id, b"\0" * SLOT)
        return 0, "", "INFO:ovirt_hosted_engine_ha.agent.hosted_engine.HostedEngine:Cleaning the metadata block!\n"

    def reinitialize_lockspace(self, values: dict[str, str]) -> Result:
        if not self.broker_up():
            return 1, "", NO_BROKER + "\n"
        if "force" not in values:
            if self.agents.read_global() is False:
                return 1, "", "Traceback (most recent call last):\nException: Lockfile reset can be performed in global maintenance mode only.\n"
            if any(not slot.get("stopped") for slot in self.slots().values()):
                return 1, "", "Traceback (most recent call last):\nException: Lockfile reset cannot be performed with an active agent.\n"
        vm = self.model.he_vm()
        lease = self.agents.truth.lease_of(vm) if vm is not None else None
        if lease is not None:
            self.agents.truth.leases.pop(lease[0], None)  # every lock is gone, also one a running VM still needs
        return 0, "", ""

    def check_liveliness(self, _values: dict[str, str]) -> Result:
        if self.model.engine_up:
            return 0, "Hosted Engine is up!\n", ""
        return 1, "Hosted Engine is not up!\n", ""

    def vm_status(self, values: dict[str, str]) -> Result:
        if not self.broker_up():
            return 1, ("An error occured while retrieving vm status, please make sure the HA daemon is ready and "
                       "reachable.\n"), ""
        slots = self.slots()
        if not slots:
            return 1, "", ""
        status: dict[str, Any] = {str(k): {"host-id": k, "host-ts": s["host-ts"], "score": s["score"], "engine-status": s["engine-status"],
                                           "hostname": s["hostname"], "maintenance": s.get("maintenance", False),
                                           "stopped": s.get("stopped", False), "extra": s["extra"]} for k, s in slots.items()}
        status["global_maintenance"] = bool(self.agents.read_global())
        if "json" in values:
            return 0, json.dumps(status) + "\n", ""
        lines = [f"--== Host {k} status ==--\nHostname : {s['hostname']}\nScore : {s['score']}\n" for k, s in slots.items()]
        return 0, "\n".join(lines), ""

    # -- systemctl on the host's services ------------------------------------------------------------------------------
    def service(self, unit: str, action: str) -> Result:
        if unit not in UNITS or action not in ("start", "stop", "restart", "is-active"):
            return 1, "", f"Unknown unit or action: {unit} {action}\n"
        attribute = "he_agent_stopped" if unit == "ovirt-ha-agent" else "he_broker_stopped"
        stopped = getattr(self.host, attribute)
        if action == "is-active":
            return (3, "inactive\n", "") if stopped else (0, "active\n", "")
        if action in ("stop", "restart"):
            setattr(self.host, attribute, True)
            if unit == "ovirt-ha-agent":
                self.agents.run_agent(self.host, self.model.he_vm(), self.now)  # the agent's clean stop (AgentStopped)
        if action in ("start", "restart"):
            setattr(self.host, attribute, False)
            if unit == "ovirt-ha-agent":
                self.host.he_agent_hung = False  # a new process
        self.log(f"{self.host.name}: systemctl {action} {unit}")
        return 0, "", ""


def _parse(argv: list[str]) -> Optional[tuple[str, dict[str, str]]]:
    """``--command [--key=value | --flag]...`` the way the script's getopt loop reads them."""
    command: Optional[str] = None
    values: dict[str, str] = {}
    commands = ("--set-maintenance", "--vm-start", "--vm-shutdown", "--vm-poweroff", "--clean-metadata",
                "--reinitialize-lockspace", "--check-liveliness", "--vm-status")
    for word in argv:
        if word in commands and command is None:
            command = word
        elif word.startswith("--"):
            key, _sep, value = word[2:].partition("=")
            values[key] = value
        else:
            return None
    return (command, values) if command is not None else None
