"""The chaos summary: runs, faults, violations, recovery time per fault kind, unrecovered VMs."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from tests.chaos.runner import RunResult


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return ordered[rank]


def summarize(results: list[RunResult], args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    faults = Counter(f["kind"] for r in results for f in r.faults)
    by_kind: dict[str, list[float]] = {}
    open_by_kind: Counter[str] = Counter()
    for result in results:
        for spell in result.spells:
            if spell.end is None:
                open_by_kind[spell.cause] += 1
            else:
                by_kind.setdefault(spell.cause, []).append(spell.end - spell.start)
    recovery = {}
    for kind in sorted(set(by_kind) | set(open_by_kind)):
        values = by_kind.get(kind, [])
        recovery[kind] = {"recovered": len(values), "unrecovered": open_by_kind[kind], "p50": percentile(values, 0.5),
                          "p95": percentile(values, 0.95), "max": max(values) if values else 0.0}
    return {
        "runs": len(results), "seed": args.seed, "duration": args.duration, "engine_ha": args.engine_ha,
        "command": args.command, "every": args.every if args.command else None, "elapsed_seconds": round(elapsed, 1),
        "faults": dict(sorted(faults.items())),
        "violations": [dict(v, run=r.index) for r in results for v in r.violations],
        "violations_by_actor": dict(Counter(v["cause"]["kind"] for r in results for v in r.violations)),
        "reconciler": {"runs": sum(r.reconciler_runs for r in results), "failed": sum(r.reconciler_failures for r in results)}
        if args.command else None,
        "recovery_seconds": recovery,
        "unrecovered": {f"run {r.index}": sorted(r.unrecovered) for r in results if r.unrecovered},
    }
