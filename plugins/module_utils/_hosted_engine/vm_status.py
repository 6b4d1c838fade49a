# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``hosted-engine --vm-status --json`` view, built from the metadata volume alone (private, may change).

Adds what an operator looks for when the engine is down: the host running the engine VM, stale hosts,
global maintenance, and the problems found in the volume.
"""
from __future__ import annotations

import typing as t
from collections import Counter

from .metadata import HostBlock, MetadataVolume, Problem


def engine_vm_state(block: HostBlock) -> str:
    """``up``, ``down``, ... from the JSON status, or from the pre-2014 ``vm-up good-health-status`` text."""
    status = block.engine_status
    if isinstance(status, dict):
        return str(status.get("vm", "unknown"))
    text = status.strip()
    if text.startswith("vm-up"):
        return "up"
    if text.startswith("vm-down"):
        return "down"
    return "unknown"


def engine_health(block: HostBlock) -> str:
    status = block.engine_status
    if isinstance(status, dict):
        return str(status.get("health", "unknown"))
    return "good" if "good-health" in status else "bad" if "bad-health" in status else "unknown"


def host_view(block: HostBlock, live: bool) -> dict[str, t.Any]:
    """One host with the keys and value types ``hosted-engine --vm-status --json`` uses."""
    view: dict[str, t.Any] = {
        "host-id": block.host_id,
        "host-ts": block.timestamp,
        "score": block.score,
        "engine-status": block.engine_status,
        "hostname": block.hostname,
    }
    if block.local_maintenance is not None:
        view["maintenance"] = block.local_maintenance
    if block.stopped is not None:
        view["stopped"] = block.stopped
    if block.crc32 is not None:
        view["crc32"] = block.crc32
    if block.conf_on_shared_storage is not None:
        view["conf_on_shared_storage"] = block.conf_on_shared_storage
        view["local_conf_timestamp"] = block.local_conf_timestamp
    if block.extra:
        view["extra"] = block.extra
    view["live-data"] = live
    return view


def build_status(volume: MetadataVolume, liveness: t.Mapping[int, bool | None] | None = None) -> dict[str, t.Any]:
    """Everything the hosted_engine_status module returns.

    ``liveness`` maps host id to True/False from successive reads, None where unknown; unknown hosts count
    as live unless their agent stopped cleanly.
    """
    liveness = liveness or {}
    problems: list[Problem] = list(volume.problems)
    hosts: dict[str, dict[str, t.Any]] = {}
    stale: list[int] = []
    live_blocks: list[HostBlock] = []
    for slot in sorted(volume.hosts):
        block = volume.hosts[slot]
        judged = liveness.get(block.host_id)
        live = judged if judged is not None else not bool(block.stopped)
        if judged is False:
            stale.append(block.host_id)
        if live:
            live_blocks.append(block)
        hosts[str(slot)] = host_view(block, live)

    problems.extend(_duplicates(volume))
    if live_blocks and all(block.score == 0 for block in live_blocks):
        problems.append(Problem("all_scores_zero", None, "every live host has score 0: no host will start the "
                                "engine VM (local maintenance, failed starts or unexpected shutdowns)"))
    running = [block for block in live_blocks if engine_vm_state(block) == "up"]
    if len(running) > 1:
        problems.append(Problem("engine_up_on_several_hosts", None, "the engine VM is reported up on hosts {0}"
                                .format(", ".join(str(block.host_id) for block in running))))
    engine = sorted(running, key=lambda block: (engine_health(block) != "good", -block.timestamp))
    global_maintenance = bool(volume.global_block and volume.global_block.maintenance)

    vm_status: dict[str, t.Any] = dict(hosts)
    vm_status["global_maintenance"] = global_maintenance
    return {
        "vm_status": vm_status,
        "engine_host": _engine_host(engine[0]) if engine else None,
        "stale_hosts": sorted(stale),
        "global_maintenance": global_maintenance,
        "problems": [problem.as_dict() for problem in problems],
    }


def _engine_host(block: HostBlock) -> dict[str, t.Any]:
    return {"host_id": block.host_id, "hostname": block.hostname, "health": engine_health(block),
            "score": block.score}


def _duplicates(volume: MetadataVolume) -> list[Problem]:
    problems = []
    ids = Counter(block.host_id for block in volume.hosts.values())
    for host_id, count in sorted(ids.items()):
        if count > 1:
            slots = sorted(slot for slot, block in volume.hosts.items() if block.host_id == host_id)
            problems.append(Problem("duplicate_host_id", None, "host id {0} is claimed by slots {1}"
                                    .format(host_id, ", ".join(map(str, slots)))))
    names = Counter(block.hostname for block in volume.hosts.values())
    for name, count in sorted(names.items()):
        if count > 1:
            ids_of = sorted(block.host_id for block in volume.hosts.values() if block.hostname == name)
            problems.append(Problem("duplicate_hostname", None, "host {0} holds several host ids: {1}"
                                    .format(name, ", ".join(map(str, ids_of)))))
    return problems
