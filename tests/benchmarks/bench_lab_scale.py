"""Benchmark: the lab at 500 hosts / 10,000 VMs against a 10-host / 200-VM baseline measured in the same run.

    .venv/bin/python -m tests.benchmarks.bench_lab_scale [--hosts 500] [--vms 10000] [--json out.json]

Reports, for each size: `up` time, the time of vms_service().list() (first call and steady state) and of
hosts_service().list(all_content=True) through the real ovirtsdk4, the server-side time of the same requests
(raw HTTP, no SDK parsing), the lab server's resident memory, its CPU use while idle (engine + every BMC,
sampled over IDLE_SECONDS once the XML cache is warm) and the time `ipmitool chassis power status` takes
against the last BMC.  Everything talks to 127.0.0.1 only; every
loop is bounded.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Callable

from tests.lab import cli
from tests.lab.testing import LabHandle

REPEAT = 3
WARM_TIMEOUT = 600.0
IDLE_SECONDS = 10.0


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_cpu_percent(pid: int) -> float:
    """CPU use of the lab server while nobody talks to it, in percent of one core."""
    started, cpu = time.monotonic(), _cpu_seconds(pid)
    time.sleep(IDLE_SECONDS)
    return 100.0 * (_cpu_seconds(pid) - cpu) / (time.monotonic() - started)


def _bmc_status_seconds(bmc: dict[str, Any]) -> float:
    """One ipmitool session against a lab BMC: open, chassis power status, close."""
    if shutil.which("ipmitool") is None:
        return float("nan")
    command = ["ipmitool", "-I", "lanplus", "-H", bmc["address"], "-p", str(bmc["port"]), "-U", bmc["username"], "-E",
               "-N", "1", "-R", "2", "chassis", "power", "status"]
    started = time.perf_counter()
    done = subprocess.run(command, env={"IPMI_PASSWORD": bmc["password"], "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=30, check=False)
    seconds = time.perf_counter() - started
    if "Chassis Power is" not in done.stdout:
        raise RuntimeError("ipmitool failed: " + (done.stdout + done.stderr).strip())
    return seconds


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def _raw_get(lab: LabHandle, path: str, all_content: bool = False) -> int:
    engine = lab.info["engine"]
    token = base64.b64encode(f"{engine['username']}:{engine['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": "application/xml", "Version": "4"}
    if all_content:
        headers["All-Content"] = "true"
    request = urllib.request.Request(engine["http_url"] + path, headers=headers)
    with urllib.request.urlopen(request, timeout=300) as response:  # nosec - 127.0.0.1 only
        return len(response.read())


def measure(hosts: int, vms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as state_dir:
        up_seconds, info = _timed(lambda: cli.up(state_dir, hosts=hosts, vms=vms, hosted_engine=True))
        lab = LabHandle(state_dir, info)
        try:
            connection = lab.connection()
            system = connection.system_service()
            system.get()
            first_vms, listed = _timed(lambda: system.vms_service().list())
            assert len(listed) == vms + 1
            deadline = time.monotonic() + WARM_TIMEOUT
            while not lab.state()["cache_warm"] and time.monotonic() < deadline:
                time.sleep(0.5)
            vm_times = [_timed(lambda: system.vms_service().list())[0] for _round in range(REPEAT)]
            host_times = []
            for _round in range(REPEAT):
                seconds, listed_hosts = _timed(lambda: system.hosts_service().list(all_content=True))
                assert len(listed_hosts) == hosts
                host_times.append(seconds)
            raw_vms = [_timed(lambda: _raw_get(lab, "/vms"))[0] for _round in range(REPEAT)]
            raw_hosts = [_timed(lambda: _raw_get(lab, "/hosts?all_content=true", True))[0] for _round in range(REPEAT)]
            vms_bytes = _raw_get(lab, "/vms")
            rss = _rss_kib(int(lab.info["pid"]))
            connection.close()
            idle_cpu = _idle_cpu_percent(int(lab.info["pid"]))
            bmc_times = [_bmc_status_seconds(lab.info["hosts"][-1]["bmc"]) for _round in range(REPEAT)]
        finally:
            cli.down(state_dir)
    return {
        "hosts": hosts, "vms": vms, "up_s": round(up_seconds, 3), "vms_list_first_s": round(first_vms, 3),
        "vms_list_s": round(statistics.median(vm_times), 3), "hosts_list_all_content_s": round(statistics.median(host_times), 3),
        "server_vms_s": round(statistics.median(raw_vms), 3), "server_hosts_all_content_s": round(statistics.median(raw_hosts), 3),
        "vms_xml_bytes": vms_bytes, "rss_mib": round(rss / 1024, 1), "idle_cpu_pct": round(idle_cpu, 2),
        "bmc_status_s": round(statistics.median(bmc_times), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--baseline-hosts", type=int, default=10)
    parser.add_argument("--baseline-vms", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    baseline = measure(args.baseline_hosts, args.baseline_vms)
    scale = measure(args.hosts, args.vms)
    keys = ["up_s", "vms_list_first_s", "vms_list_s", "hosts_list_all_content_s", "server_vms_s", "server_hosts_all_content_s",
            "vms_xml_bytes", "rss_mib", "idle_cpu_pct", "bmc_status_s"]
    print(f"{'metric':28} {'baseline':>12} {'scale':>12} {'ratio':>8}")
    print(f"{'size':28} {str(baseline['hosts']) + 'h/' + str(baseline['vms']) + 'vm':>12} "
          f"{str(scale['hosts']) + 'h/' + str(scale['vms']) + 'vm':>12}")
    for key in keys:
        ratio = scale[key] / baseline[key] if baseline[key] else float("inf")
        print(f"{key:28} {baseline[key]:>12} {scale[key]:>12} {ratio:>8.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"baseline": baseline, "scale": scale}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
