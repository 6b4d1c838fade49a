# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``hosted-engine`` tool's HA operations on one host, made idempotent (private, may change).

Each operation first reads the metadata volume (what every agent publishes), decides from it whether there is
anything to do, refuses what the tool would do wrongly or dangerously, and only then runs the tool.  The tool's own
checks are weaker than they look (``--vm-start`` does not look at other hosts, ``--clean-metadata`` exits 0 when it
refuses), so the result is always judged by reading the volume again, never by the tool's exit code alone.
"""
from __future__ import annotations

import os
import time
import typing as t
from dataclasses import dataclass, field

from .metadata import HostBlock, MetadataVolume
from .vm_status import engine_health, engine_vm_state

MODES = ("global", "local", "none")
VM_STATES = ("started", "shutdown", "poweroff")
UNITS = ("ovirt-ha-broker", "ovirt-ha-agent")
# agent states in which it is itself starting, running or stopping the engine VM on its host
BUSY_STATES = ("EngineStart", "EngineStarting", "EngineUp", "EngineUpBadHealth", "EngineStop", "EngineForceStop",
               "EngineMaybeAway")


# argument spec of the doc fragment ovirt_ha.core.hosted_engine_host
HOST_FILE_ARGS: dict[str, dict[str, t.Any]] = dict(
    config=dict(type="path", default="/etc/ovirt-hosted-engine/hosted-engine.conf"),
    metadata_path=dict(type="path"),
    mount_root=dict(type="path", default="/rhev/data-center/mnt"),
)


class ToolError(Exception):
    """An operation refused or failed; the message names what was expected and what was seen."""


@dataclass
class Outcome:
    changed: bool
    commands: list[list[str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def storage_mount_dir(storage: str, domain_type: str, mount_root: str = "/rhev/data-center/mnt") -> str:
    """Where vdsm mounts a file storage domain: ``server:/path`` with ``_`` doubled and ``/`` made ``_``."""
    munged = storage.replace("_", "__").replace("/", "_")
    if domain_type == "glusterfs":
        return os.path.join(mount_root, "glusterSD", munged)
    return os.path.join(mount_root, munged)


def metadata_path(conf: t.Mapping[str, str], mount_root: str = "/rhev/data-center/mnt") -> str:
    """The metadata volume of the hosted-engine storage domain named in hosted-engine.conf."""
    sd_uuid = conf.get("sdUUID", "")
    domain_type = conf.get("domainType", "")
    if not sd_uuid:
        raise ToolError("hosted-engine.conf: no sdUUID; expected the hosted-engine storage domain's UUID "
                        "(is this host deployed?)")
    if domain_type in ("iscsi", "fc"):
        base = os.path.join(mount_root, "blockSD", sd_uuid)
    else:
        if not conf.get("storage"):
            raise ToolError("hosted-engine.conf: no storage; expected server:/path of the hosted-engine storage")
        base = os.path.join(storage_mount_dir(conf["storage"], domain_type, mount_root), sd_uuid)
    return os.path.join(base, "ha_agent", "hosted-engine.metadata")


def host_id_of(conf: t.Mapping[str, str]) -> int:
    text = conf.get("host_id", "")
    if not text.isdigit() or not 1 <= int(text) <= 2000:
        raise ToolError("hosted-engine.conf: host_id is {0!r}; expected this host's id, 1 to 2000".format(text))
    return int(text)


def vm_here(volume: MetadataVolume, host_id: int) -> str:
    block = volume.hosts.get(host_id)
    return engine_vm_state(block) if block is not None else "unknown"


def vm_elsewhere(volume: MetadataVolume, host_id: int, live: t.Mapping[int, t.Optional[bool]]) -> list[HostBlock]:
    """Other hosts that report the engine VM up and are not known dead (a stale host may still run it)."""
    return [b for b in volume.hosts.values()
            if b.host_id != host_id and engine_vm_state(b) == "up" and live.get(b.host_id) is not False]


def wall_time(block: HostBlock) -> t.Optional[float]:
    """The agent's ``timestamp=N (Wed Dec  2 00:46:33 2026)`` line: its wall-clock time, in the host's time zone."""
    text = block.extra_values().get("timestamp", "")
    if "(" not in text:
        return None
    try:
        return time.mktime(time.strptime(text.split("(", 1)[1].rstrip(")").strip(), "%a %b %d %H:%M:%S %Y"))
    except (ValueError, OverflowError):
        return None


def cluster_now(volume: MetadataVolume, observer: float) -> float:
    """The cluster's time: the (lower) median of the wall-clock times the agents last wrote, or the observer's clock
    when that is later.  The median, so that one host whose clock runs ahead does not make every other one look
    silent; the lower one, so that with dead hosts among few the error is to judge a dead host alive (no action)."""
    walls = sorted(w for w in (wall_time(b) for b in volume.hosts.values()) if w is not None)
    return max([observer] + ([walls[(len(walls) - 1) // 2]] if walls else []))


def silent_hosts(volume: MetadataVolume, seconds: float, observer: t.Optional[float] = None) -> dict[int, t.Optional[bool]]:
    """Hosts whose last write is at least ``seconds`` older than the cluster's time: False (dead); others None."""
    now = cluster_now(volume, time.time() if observer is None else observer)
    found: dict[int, t.Optional[bool]] = {}
    for block in volume.hosts.values():
        wall = wall_time(block)
        found[block.host_id] = False if wall is not None and now - wall >= seconds else None
    return found


def describe(volume: MetadataVolume, host_id: int) -> dict[str, t.Any]:
    """What the diff shows: global maintenance, and this host's slot."""
    block = volume.hosts.get(host_id)
    view: dict[str, t.Any] = {"global_maintenance": bool(volume.global_block and volume.global_block.maintenance)}
    if block is None:
        view["host"] = None
    else:
        view["host"] = {"host_id": block.host_id, "hostname": block.hostname, "state": block.state, "score": block.score,
                        "local_maintenance": bool(block.local_maintenance), "stopped": bool(block.stopped),
                        "engine_vm": engine_vm_state(block), "engine_health": engine_health(block)}
    return view


# -- deciding (pure) ----------------------------------------------------------------------------------------------------
def maintenance_commands(volume: MetadataVolume, host_id: int, mode: str, vm_on_this_host: bool) -> list[list[str]]:
    """``--set-maintenance --mode=MODE`` when the volume does not show it already.

    Every mode writes both flags (``local`` clears global maintenance, ``global`` and ``none`` clear this host's
    local maintenance), as the tool does; the checks here therefore compare both."""
    if mode not in MODES:
        raise ToolError("maintenance: expected one of {0}, got {1!r}".format(", ".join(MODES), mode))
    block = volume.hosts.get(host_id)
    if block is None:
        raise ToolError("slot {0} of the metadata volume is empty; expected this host's block (is its agent running?)"
                        .format(host_id))
    global_on = bool(volume.global_block and volume.global_block.maintenance)
    local_on = bool(block.local_maintenance)
    if (global_on, local_on) == (mode == "global", mode == "local"):
        return []
    if mode == "local" and vm_on_this_host:
        raise ToolError("local maintenance refused: the engine VM runs on this host (slot {0}, engine VM {1}); "
                        "migrate it first".format(host_id, vm_here(volume, host_id)))
    return [["--set-maintenance", "--mode=" + mode]]


def vm_commands(volume: MetadataVolume, host_id: int, state: str, live: t.Mapping[int, t.Optional[bool]]) -> list[list[str]]:
    if state not in VM_STATES:
        raise ToolError("engine_vm: expected one of {0}, got {1!r}".format(", ".join(VM_STATES), state))
    here = vm_here(volume, host_id)
    if state == "started":
        if here == "up":
            return []
        others = vm_elsewhere(volume, host_id, live)
        if others:
            raise ToolError("engine VM start refused: host {0} ({1}, slot {2}) reports it up{3}; starting it here too "
                            "would run it twice".format(others[0].hostname, others[0].state, others[0].host_id,
                                                        "" if live.get(others[0].host_id) else " and may still run it"))
        block = volume.hosts.get(host_id)
        if block is not None and block.state in BUSY_STATES:
            raise ToolError("engine VM start refused: this host's agent is in {0}; expected EngineDown (the agent is "
                            "handling the VM)".format(block.state))
        return [["--vm-start"]]
    if here not in ("up", "unknown"):
        return []
    return [["--vm-shutdown"]] if state == "shutdown" else [["--vm-poweroff"]]


def clean_metadata_commands(volume: MetadataVolume, host_id: int, target: int, live: t.Mapping[int, t.Optional[bool]],
                            known_hosts: t.Collection[str]) -> list[list[str]]:
    """Wipe the slot of a host id that no longer exists: refused while that host is alive or may be."""
    block = volume.hosts.get(target)
    if block is None:
        return []
    if target == host_id:
        raise ToolError("clean_metadata: slot {0} is this host's own; run it on another host".format(target))
    if block.hostname in known_hosts:
        raise ToolError("clean_metadata refused: slot {0} belongs to {1}, a host that still exists (expected a removed "
                        "host)".format(target, block.hostname))
    if block.stopped:
        return [["--clean-metadata", "--host-id={0}".format(target)]]
    state = live.get(target)
    if state is not False:
        raise ToolError("clean_metadata refused: slot {0} ({1}) is {2}; expected a stopped agent or a host dead for the "
                        "liveness timeout".format(target, block.hostname, "alive" if state else "not yet judged dead"))
    return [["--clean-metadata", "--host-id={0}".format(target), "--force-cleanup"]]


def lockspace_commands(volume: MetadataVolume, confirmed: bool) -> list[list[str]]:
    if not confirmed:
        raise ToolError("reinitialize_lockspace wipes every lock, also the engine VM's; set "
                        "confirm_all_agents_stopped=true after stopping ovirt-ha-agent on every host")
    if not (volume.global_block and volume.global_block.maintenance):
        raise ToolError("reinitialize_lockspace refused: global maintenance is off; expected it on")
    running = [b for b in volume.hosts.values() if not b.stopped]
    if running:
        raise ToolError("reinitialize_lockspace refused: the agent of {0} (slot {1}) has not stopped; expected every "
                        "agent stopped".format(running[0].hostname, running[0].host_id))
    if any(engine_vm_state(b) == "up" for b in volume.hosts.values()):
        raise ToolError("reinitialize_lockspace refused: a host reports the engine VM up; its lock would be lost")
    return [["--reinitialize-lockspace"]]
