"""Benchmark: admission control (and the findings) over 500 hosts / 10,000 VMs, against a 10-host / 200-VM baseline
measured in the same run.

    .venv/bin/python -m tests.benchmarks.bench_capacity [--hosts 500] [--vms 10000] [--failures 1] [--json out.json]

The snapshots are synthetic (the shape cluster_info returns; reading a 10,000-VM lab is bench_reconcile's
subject): 70 % of the VMs highly available, one in twenty of those pinned to two hosts, memory 2-16 GiB, hosts of
512 GiB filled to about 70 %.  Each size runs REPEAT times; prints the median seconds, the scenarios checked and the
ratio of the large size to the baseline; also the whole report (document and its four files).  Target (printed, not
asserted): admission control and findings under 2 s at 500 / 10,000 for one failure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))

from ansible_collections.ovirt_ha.core.plugins.module_utils._report.capacity import capacity_report  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.document import build  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.findings import snapshot_findings  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.outputs import FILE_NAMES, render_all  # noqa: E402  pylint: disable=wrong-import-position

REPEAT = 3
GIB = 1024 ** 3


def synthetic_snapshot(hosts: int, vms: int, seed: int = 13) -> Dict[str, Any]:
    rng = random.Random(seed)
    names = ["host%03d" % i for i in range(hosts)]
    used = {name: 0 for name in names}
    vm_list = []
    for i in range(vms):
        host = names[i % hosts]
        memory = rng.choice((2, 4, 8, 16)) * GIB
        used[host] += memory
        ha = rng.random() < 0.7
        pinned = ha and rng.random() < 0.05
        other = names[(i + 1 + rng.randrange(hosts - 1)) % hosts] if hosts > 1 else host
        vm_list.append({"name": "vm%05d" % i, "host": host, "status": "up", "high_availability": ha,
                        "priority": rng.choice((1, 50, 100)), "memory": memory, "cpus": rng.choice((2, 4, 8)),
                        "lease": None, "placement": "pinned" if pinned else "migratable",
                        "placement_hosts": sorted({host, other}) if pinned else [], "hosted_engine": False})
    host_list = [{"name": name, "status": "up", "spm": index == 0, "memory": 512 * GIB,
                  "max_scheduling_memory": max(0, int(512 * GIB * 1.0) - used[name]), "cpus": 64,
                  "power_management": {"enabled": True, "fence_agents": 1}, "hosted_engine": None}
                 for index, name in enumerate(names)]
    return {"cluster": {"name": "Default", "ha_reservation": False, "fencing_policy": {"enabled": True}},
            "hosts": host_list, "vms": vm_list, "storage_domains": []}


def measure(hosts: int, vms: int, failures: int) -> Dict[str, Any]:
    snapshot = synthetic_snapshot(hosts, vms)
    times, finding_times, report_times = [], [], []
    result: Dict[str, Any] = {}
    size = 0
    for _repeat in range(REPEAT):
        start = time.perf_counter()
        result = capacity_report(snapshot, host_failures=failures)
        middle = time.perf_counter()
        snapshot_findings(snapshot)
        finding_times.append(time.perf_counter() - middle)
        times.append(middle - start)
        start = time.perf_counter()
        files = render_all(build(snapshot, host_failures=failures), list(FILE_NAMES))
        report_times.append(time.perf_counter() - start)
        size = sum(len(text) for text in files.values())
    return {"capacity_s": statistics.median(times), "findings_s": statistics.median(finding_times),
            "report_s": statistics.median(report_times), "report_bytes": size,
            "scenarios": sum(level["scenarios"] for level in result["levels"]),
            "tolerated": result["host_failures_tolerated"], "protected_vms": result["protected_vms"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--failures", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    baseline = measure(10, 200, args.failures)
    large = measure(args.hosts, args.vms, args.failures)
    print(f"{'size':>14} {'capacity s':>11} {'findings s':>11} {'report s':>9} {'report MB':>10} {'scenarios':>10} "
          f"{'tolerated':>10} {'HA VMs':>7}")
    for label, figures in (("10 / 200", baseline), (f"{args.hosts} / {args.vms}", large)):
        print(f"{label:>14} {figures['capacity_s']:11.4f} {figures['findings_s']:11.4f} {figures['report_s']:9.3f} "
              f"{figures['report_bytes'] / 1e6:10.2f} {figures['scenarios']:10d} {figures['tolerated']:10d} {figures['protected_vms']:7d}")
    ratio = {key: round(large[key] / baseline[key], 1) if baseline[key] else None for key in ("capacity_s", "findings_s", "report_s")}
    print(f"ratio large/baseline: capacity x{ratio['capacity_s']}, findings x{ratio['findings_s']}, "
          f"whole report and its four files x{ratio['report_s']}")
    total = large["capacity_s"] + large["findings_s"]
    print(f"target: under 2 s at {args.hosts} / {args.vms} for {args.failures} failure(s): "
          f"{'met' if total < 2 else 'NOT met'} ({total:.3f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"baseline": baseline, "large": large, "ratio": ratio}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
