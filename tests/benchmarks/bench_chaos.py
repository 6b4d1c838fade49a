"""Benchmark: the full chaos count, the engine's own HA alone against the engine with the reconciler every 30 s, on
the same seeded runs (same labs, same faults), side by side.

    .venv/bin/python -m tests.benchmarks.bench_chaos [--runs 100] [--seed 1] [--workers 2] [--json out.json]

Prints, per fault kind, how many HA VM outages there were and their recovery time (p50 / p95 / max lab seconds,
and how many never recovered within the run) for both, the violations each recorded (must be 0 with the
reconciler), and the wall time.  Nothing is asserted here; tests/chaos/test_chaos.py runs a reduced count in make test.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from tests.chaos.runner import RunResult, one_run
from tests.chaos.summary import summarize


def _run(job: tuple[int, int, float, Optional[float]]) -> RunResult:
    index, seed, duration, every = job
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as work:
        return one_run(index, seed, work, duration, every, True)


def campaign(runs: int, seed: int, duration: float, every: Optional[float], workers: int) -> dict[str, Any]:
    started = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_run, [(index, seed, duration, every) for index in range(runs)]))
    args = argparse.Namespace(seed=seed, duration=duration, engine_ha="on", command="reconcile" if every else None, every=every)
    return summarize(results, args, time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1200.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    alone = campaign(args.runs, args.seed, args.duration, None, args.workers)
    both = campaign(args.runs, args.seed, args.duration, 30.0, args.workers)
    print(f"{args.runs} seeded runs (seed {args.seed}), {args.duration:.0f} lab s of faults each; recovery in lab seconds")
    print(f"{'fault kind':>24} | {'engine alone: n p50/p95/max never':>36} | {'+ reconciler every 30 s':>36}")
    kinds = sorted(set(alone["recovery_seconds"]) | set(both["recovery_seconds"]))
    for kind in kinds:
        cells = []
        for summary in (alone, both):
            row = summary["recovery_seconds"].get(kind)
            cells.append("-" if row is None else f"{row['recovered']:4d} {row['p50']:5.0f}/{row['p95']:5.0f}/{row['max']:5.0f} {row['unrecovered']:3d}")
        print(f"{kind:>24} | {cells[0]:>36} | {cells[1]:>36}")
    print(f"violations: engine alone {len(alone['violations'])} {alone['violations_by_actor']}, "
          f"with the reconciler {len(both['violations'])} {both['violations_by_actor']}")
    print(f"reconciler passes: {both['reconciler']['runs']} ({both['reconciler']['failed']} reported a problem)")
    print(f"wall time: engine alone {alone['elapsed_seconds']:.0f} s, with the reconciler {both['elapsed_seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"engine_alone": alone, "with_reconciler": both}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
