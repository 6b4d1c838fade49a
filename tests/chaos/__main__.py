"""python -m tests.chaos --runs N --seed S [--command reconcile --every SECONDS] [--engine-ha off] [--out FILE]

Seeded random fault runs on the lab's virtual clock (deterministic for a seed): invariants checked at every tick by
the lab (no violation), every HA VM's spells without a serving copy measured and attributed to the fault behind
them, and a JSON summary: runs, faults, violations, recovery time per fault kind (p50/p95/max lab seconds),
unrecovered VMs.  Exits 1 when any violation was recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import Optional

from tests.chaos.runner import one_run
from tests.chaos.summary import summarize

MAX_RUNS = 1000


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1200.0, help="lab seconds of faults per run (then 600 s to settle)")
    parser.add_argument("--command", choices=["reconcile"], help="run this every --every lab seconds")
    parser.add_argument("--every", type=float, default=30.0)
    parser.add_argument("--engine-ha", choices=["on", "off"], default="on", help="off: the engine's own fencing and HA restarts off")
    parser.add_argument("--out", help="write the JSON summary here too")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs must be 1-{MAX_RUNS}")
    if not 300 <= args.duration <= 86400:
        parser.error("--duration must be 300-86400 lab seconds")
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as work:
        for index in range(args.runs):
            result = one_run(index, args.seed, work, args.duration, args.every if args.command else None, args.engine_ha == "on")
            results.append(result)
            print(f"run {index + 1}/{args.runs}: {len(result.faults)} faults, {len(result.violations)} violations, "
                  f"{len(result.spells)} VM outages, {len(result.unrecovered)} unrecovered", file=sys.stderr, flush=True)
    summary = summarize(results, args, time.monotonic() - started)
    text = json.dumps(summary, indent=1, sort_keys=True)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
