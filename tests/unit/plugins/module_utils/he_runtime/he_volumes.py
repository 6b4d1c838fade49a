"""Metadata volumes for the hosted-engine pass's tests, built with the collection's own block renderer."""
from __future__ import annotations

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine import metadata as md

UP = {"vm": "up", "health": "good", "detail": "Up"}
BAD = {"vm": "up", "health": "bad", "detail": "Up", "reason": "failed liveliness check"}
DOWN = {"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}
CRASHED = {"vm": "down_unexpected", "health": "bad", "detail": "Down", "reason": "bad vm status"}
NOW = 1_800_000_000.0


def block(host_id, state="EngineDown", status=None, score=3400, age=0.0, ts=None, stopped=False, local=False, now=NOW):
    """A host's slot written ``age`` seconds before ``now`` (by the wall clock of its timestamp line); a live agent's
    timestamp (its monotonic clock, booted at NOW - 1000) moves with ``now`` unless ``ts`` is given."""
    stamp = int(now - age - (NOW - 1000)) if ts is None else ts
    return md.render_host_block(host_id, stamp, score, status or DOWN, "host%d.example" % host_id, local_maintenance=local,
                                stopped=stopped, state=state, epoch=now - age - stamp)


def volume(*blocks, global_maintenance=False):
    data = md.render_global_block(global_maintenance)
    slots = {md.parse_host_slot(1, b)[0].host_id: b for b in blocks}
    for slot in range(1, max(slots) + 1):
        data += slots.get(slot, b"\0" * md.SLOT_BYTES)
    return md.parse_volume(data)


def inventory(*ids, unreachable=()):
    return {"host%d.example" % i: {"name": "host%d" % i, "reachable": i not in unreachable} for i in ids}
