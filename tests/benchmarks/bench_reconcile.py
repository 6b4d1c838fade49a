"""Benchmark: the reconciler's read (snapshot) and plan at 500 hosts / 10,000 VMs, against a 10-host / 200-VM
baseline measured in the same run, with the engine API requests of the read counted by the lab.

    .venv/bin/python -m tests.benchmarks.bench_reconcile [--hosts 500] [--vms 10000] [--json out.json]

Each size: a lab on the virtual clock, a tenth of the hosts made non responsive (so the planner has hosts to
judge and VMs to place), then REPEAT times: read_snapshot through the real ovirtsdk4 over HTTPS, plan() on it.
Prints the median seconds of each phase, the requests the read made (the lab's own count, login excluded) and the
ratio of the large size to the baseline.  Target (not asserted): read + plan under 5 s at 500 / 10,000, with the
same request count as the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))

from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.planner import plan  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.policy import ReconcilePolicy  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.read import read_snapshot  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.records import Memory  # noqa: E402  pylint: disable=wrong-import-position

REPEAT = 3


def measure(lab: LabHandle, hosts: int) -> dict[str, Any]:
    for index in range(1, max(1, hosts // 10) + 1):
        lab.fault("host_power_loss", f"host{index:0{max(2, len(str(hosts)))}d}")
    lab.engine_ha(power_fence=False)
    lab.step(120)
    names = [h["name"] for h in lab.info["hosts"]]
    connection = lab.connection(timeout=600)
    reads, plans, requests = [], [], []
    actions = 0
    try:
        system = connection.system_service()
        system.get()  # log in before counting
        for _repeat in range(REPEAT):
            lab.reset_stats()
            start = time.perf_counter()
            snapshot = read_snapshot(system, "Default")
            middle = time.perf_counter()
            result = plan(snapshot, ReconcilePolicy(), Memory(snapshot.events), names)
            end = time.perf_counter()
            reads.append(middle - start)
            plans.append(end - middle)
            stats = lab.stats()
            requests.append(stats["total"])
            actions = len(result.actions)
    finally:
        connection.close()
    return {"read_s": statistics.median(reads), "plan_s": statistics.median(plans), "total_s": statistics.median(reads) + statistics.median(plans),
            "requests": max(requests), "requests_min": min(requests), "planned_actions": actions, "vms_read": len(snapshot.vms),
            "hosts_read": len(snapshot.hosts)}


def run(hosts: int, vms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as work:
        with running_lab(work, hosts=hosts, vms=vms, virtual_clock=True, engine_uptime=600, timeout=900) as lab:
            return measure(lab, hosts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--json")
    args = parser.parse_args()
    baseline = run(10, 200)
    large = run(args.hosts, args.vms)
    print(f"{'size':>14} {'read s':>8} {'plan s':>8} {'total s':>8} {'requests':>9} {'actions':>8}")
    for label, figures in (("10 / 200", baseline), (f"{args.hosts} / {args.vms}", large)):
        print(f"{label:>14} {figures['read_s']:8.3f} {figures['plan_s']:8.3f} {figures['total_s']:8.3f} {figures['requests']:9d} "
              f"{figures['planned_actions']:8d}")
    ratio = {key: round(large[key] / baseline[key], 1) if baseline[key] else None for key in ("read_s", "plan_s", "total_s")}
    print(f"ratio large/baseline: read x{ratio['read_s']}, plan x{ratio['plan_s']}, total x{ratio['total_s']}; "
          f"requests {baseline['requests']} -> {large['requests']} (constant: {baseline['requests'] == large['requests']})")
    print(f"target: total under 5 s at {args.hosts} / {args.vms}: {'met' if large['total_s'] < 5 else 'NOT met'} ({large['total_s']:.2f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"baseline": baseline, "large": large, "ratio": ratio}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
