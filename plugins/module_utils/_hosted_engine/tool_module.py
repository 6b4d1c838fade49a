# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosted_engine_tool module's run: read, decide, run the tool, read again (private, may change)."""
from __future__ import annotations

import time
import typing as t

from .hosted_engine_conf import HostedEngineConf
from .liveness import LivenessTracker
from .metadata import MetadataVolume, read_volume
from .tool import (ToolError, silent_hosts, clean_metadata_commands, describe, host_id_of, lockspace_commands, maintenance_commands,
                   metadata_path, vm_commands, vm_here)

POLL_SECONDS = 2.0
LOCK_GRACE = 120.0
OPERATIONS = ("maintenance", "engine_vm", "clean_metadata_host_id", "reinitialize_lockspace", "restart_services")


class _Run:
    def __init__(self, module: t.Any) -> None:
        self.module = module
        self.params = module.params
        self.commands: list[list[str]] = []

    def fail(self, msg: str, **extra: t.Any) -> None:
        self.module.fail_json(msg=msg, commands=self.commands, **extra)

    def read_conf(self) -> dict[str, str]:
        try:
            with open(self.params["config"], encoding="utf-8") as handle:
                return HostedEngineConf.parse(handle.read()).values()
        except OSError as exc:
            raise ToolError("config: cannot read {0}: {1}; expected this host's hosted-engine.conf"
                            .format(self.params["config"], exc.strerror))

    def read(self, path: str) -> MetadataVolume:
        try:
            return read_volume(path)
        except OSError as exc:
            raise ToolError("cannot read the metadata volume {0}: {1}".format(path, exc.strerror))

    def tool(self, argv: list[str]) -> tuple[int, str, str]:
        self.commands.append(argv)
        rc, out, err = self.module.run_command(argv)
        return rc, out, err

    def observe(self, path: str, target: int) -> dict[int, t.Optional[bool]]:
        """Watch the volume for up to liveness_timeout + one agent loop: is the target's timestamp still moving?"""
        tracker = LivenessTracker(timeout=float(self.params["liveness_timeout"]))
        deadline = time.monotonic() + min(self.params["timeout"], self.params["liveness_timeout"] + 15)
        while True:
            now = time.monotonic()
            volume = self.read(path)
            block = volume.hosts.get(target)
            if block is None:
                return {}
            tracker.observe(target, block.timestamp, now)
            state = tracker.is_alive(target, now)
            if state is not None or now >= deadline:
                return {target: state}
            time.sleep(POLL_SECONDS)

    def wait_for(self, path: str, done: t.Callable[[MetadataVolume], bool], what: str) -> tuple[MetadataVolume, bool]:
        deadline = time.monotonic() + self.params["timeout"]
        volume = self.read(path)
        while not done(volume):
            if not self.params["wait"]:
                return volume, False
            if time.monotonic() >= deadline:
                raise ToolError("{0} did not show in the metadata volume within {1} s".format(what, self.params["timeout"]))
            time.sleep(POLL_SECONDS)
            volume = self.read(path)
        return volume, True


def _operation(params: t.Mapping[str, t.Any]) -> str:
    chosen = [name for name in OPERATIONS if params[name] not in (None, False)]
    if len(chosen) != 1:
        raise ToolError("expected exactly one of {0}; got {1}".format(", ".join(OPERATIONS), ", ".join(chosen) or "none"))
    return chosen[0]


def run(module: t.Any) -> None:
    job = _Run(module)
    params = module.params
    try:
        for name in ("timeout", "liveness_timeout"):
            if params[name] <= 0:
                raise ToolError("{0}: expected a positive number of seconds, got {1}".format(name, params[name]))
        operation = _operation(params)
        conf = job.read_conf()
        host_id = host_id_of(conf)
        path = params["metadata_path"] or metadata_path(conf, params["mount_root"])
        volume = job.read(path)
        before = describe(volume, host_id)
        planned, done, what = _decide(job, operation, volume, host_id, path)
        if operation != "restart_services":
            planned = [[params["command"]] + args for args in planned]
    except ToolError as exc:
        job.fail(str(exc))
        return
    result: dict[str, t.Any] = {"host_id": host_id, "before": before, "changed": bool(planned), "verified": not planned}
    if module.check_mode or not planned:
        result.update(commands=planned, after=before)
        if module._diff:
            result["diff"] = {"before": before, "after": before}
        module.exit_json(**result)
    try:
        for argv in planned:
            rc, out, err = job.tool(argv)
            if rc != 0:
                raise ToolError("{0} failed (exit {1}): {2}".format(" ".join(argv), rc, (err or out).strip()[-800:]))
        volume, verified = job.wait_for(path, done, what)
    except ToolError as exc:
        job.fail(str(exc), before=before, host_id=host_id)
        return
    after = describe(volume, host_id)
    result.update(commands=job.commands, after=after, verified=verified)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


def _decide(job: _Run, operation: str, volume: MetadataVolume, host_id: int,
            path: str) -> tuple[list[list[str]], t.Callable[[MetadataVolume], bool], str]:
    """(tool arguments, what the volume shows once done, its description)."""
    params = job.params
    if operation == "maintenance":
        mode = params["maintenance"]
        planned = maintenance_commands(volume, host_id, mode, vm_here(volume, host_id) == "up")

        def maintained(v: MetadataVolume) -> bool:
            block = v.hosts.get(host_id)
            return (bool(v.global_block and v.global_block.maintenance) == (mode == "global")
                    and block is not None and bool(block.local_maintenance) == (mode == "local"))
        return planned, maintained, "maintenance mode {0}".format(mode)
    if operation == "engine_vm":
        state = params["engine_vm"]
        # another host that reports the engine VM up may run it unless its last write is LOCK_GRACE older than the
        # newest one (its sanlock lease has expired by then): never judged from the tool's exit code
        planned = vm_commands(volume, host_id, state, silent_hosts(volume, LOCK_GRACE))
        want_up = state == "started"
        return planned, lambda v: (vm_here(v, host_id) == "up") == want_up, "the engine VM {0} on this host".format(state)
    if operation == "clean_metadata_host_id":
        target = params["clean_metadata_host_id"]
        if not 1 <= target <= 2000:
            raise ToolError("clean_metadata_host_id: expected 1 to 2000, got {0}".format(target))
        block = volume.hosts.get(target)
        live: dict[int, t.Optional[bool]] = {}
        if block is not None and not block.stopped and target != host_id and block.hostname not in params["known_hosts"]:
            live = job.observe(path, target)
        planned = clean_metadata_commands(volume, host_id, target, live, params["known_hosts"])
        return planned, lambda v: target not in v.hosts, "the wiped slot {0}".format(target)
    if operation == "reinitialize_lockspace":
        return lockspace_commands(volume, params["confirm_all_agents_stopped"]), lambda v: True, "the new lockspace"
    # restart_services: the agent publishes a new timestamp once it runs again
    block = volume.hosts.get(host_id)
    seen = block.timestamp if block is not None else None
    planned = [[params["systemctl"], "restart", unit] for unit in ("ovirt-ha-broker", "ovirt-ha-agent")]

    def published(v: MetadataVolume) -> bool:
        new = v.hosts.get(host_id)
        return new is not None and new.timestamp != seen and not new.stopped
    return planned, published, "a new timestamp from this host's agent"
