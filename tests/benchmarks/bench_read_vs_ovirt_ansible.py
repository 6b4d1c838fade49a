"""Benchmark: reading a cluster with this collection vs oVirt's own modules, as a user runs them, on one lab.

    .venv/bin/python -m tests.benchmarks.bench_read_vs_ovirt_ansible [--hosts 100] [--vms 2000]

Four plays through ansible-playbook against the same lab (100 hosts / 2,000 VMs by default), each REPEAT times:
an empty play (the baseline, in each virtual environment), ovirt_ha.core.cluster_info, ovirt_ha.core.ha_reconcile in
check mode (the reconciler's read and plan), and ovirt.ovirt's ovirt_host_info + ovirt_vm_info (from the PyPI
`ansible` package's venv, scripts/install-ovirt-ansible.sh).  Prints median seconds, each minus its venv's empty
play, and the API requests each made (the lab's count).  Target (not asserted): our read under 1 s above an empty
play.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from tests.lab.testing import LabHandle, running_lab

ROOT = Path(__file__).resolve().parents[2]
OVIRT_VENV = ROOT / ".build" / "ovirt-ansible-venv"
REPEAT = 3

EMPTY = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: empty}
"""
OURS = """- hosts: localhost
  gather_facts: false
  tasks:
    - ovirt_ha.core.cluster_info: {cluster: Default}
"""
RECONCILE_PLAN = """- hosts: localhost
  gather_facts: false
  tasks:
    - ovirt_ha.core.ha_reconcile: {cluster: Default}
      check_mode: true
"""
OVIRT = """- hosts: localhost
  gather_facts: false
  tasks:
    - ovirt.ovirt.ovirt_auth:
        url: "{{ lookup('env', 'OVIRT_URL') }}"
        username: "{{ lookup('env', 'OVIRT_USERNAME') }}"
        password: "{{ lookup('env', 'OVIRT_PASSWORD') }}"
        ca_file: "{{ lookup('env', 'OVIRT_CAFILE') }}"
    - ovirt.ovirt.ovirt_host_info: {auth: "{{ ovirt_auth }}", pattern: "cluster=Default"}
    - ovirt.ovirt.ovirt_vm_info: {auth: "{{ ovirt_auth }}", pattern: "cluster=Default"}
    - ovirt.ovirt.ovirt_auth: {state: absent, ovirt_auth: "{{ ovirt_auth }}"}
"""


def play(lab: LabHandle, venv: Path, text: str, work: str, ours: bool) -> tuple[float, int]:
    path = os.path.join(work, "play.yml")
    Path(path).write_text(text)
    engine = lab.info["engine"]
    env = dict(os.environ, OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
               OVIRT_CAFILE=engine["ca_file"], ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=str(venv / "bin" / "python"))
    if ours:
        env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    else:
        # oVirt's collection is in that venv's site-packages (the `ansible` package): what make exports would hide it
        for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"):
            env.pop(name, None)
    lab.reset_stats()
    start = time.perf_counter()
    done = subprocess.run([str(venv / "bin" / "ansible-playbook"), path], env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"play failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, int(lab.stats()["total"])


def median(lab: LabHandle, venv: Path, text: str, work: str, ours: bool) -> tuple[float, int]:
    runs = [play(lab, venv, text, work, ours) for _repeat in range(REPEAT)]
    return statistics.median(run[0] for run in runs), max(run[1] for run in runs)


def ovirt_venv() -> Optional[Path]:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install-ovirt-ansible.sh")], capture_output=True, text=True, timeout=900,
                          check=False)
    return OVIRT_VENV if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--vms", type=int, default=2000)
    args = parser.parse_args()
    ours_venv = ROOT / ".venv"
    theirs = ovirt_venv()
    with tempfile.TemporaryDirectory(prefix="bench-read-") as work:
        with running_lab(os.path.join(work, "lab"), hosts=args.hosts, vms=args.vms, virtual_clock=True, engine_uptime=600,
                         timeout=900) as lab:
            empty, _empty_requests = median(lab, ours_venv, EMPTY, work, True)
            info, info_requests = median(lab, ours_venv, OURS, work, True)
            rec, rec_requests = median(lab, ours_venv, RECONCILE_PLAN, work, True)
            rows = [("empty play (this venv)", empty, 0), ("ovirt_ha.core.cluster_info", info, info_requests),
                    ("ovirt_ha.core.ha_reconcile --check", rec, rec_requests)]
            if theirs is not None:
                their_empty, _empty_requests = median(lab, theirs, EMPTY, work, False)
                their, their_requests = median(lab, theirs, OVIRT, work, False)
                rows += [("empty play (ovirt.ovirt venv)", their_empty, 0), ("ovirt.ovirt host_info + vm_info", their, their_requests)]
    print(f"lab: {args.hosts} hosts / {args.vms} VMs; median of {REPEAT} runs each")
    print(f"{'play':>36} {'seconds':>8} {'above empty':>12} {'requests':>9}")
    for name, seconds, requests in rows:
        base = their_empty if "ovirt.ovirt" in name and theirs is not None else empty
        print(f"{name:>36} {seconds:8.2f} {seconds - base:12.2f} {requests:9d}")
    if theirs is not None:
        print(f"ratio ovirt.ovirt / cluster_info above their empty plays: x{(their - their_empty) / max(0.01, info - empty):.1f}")
    else:
        print("ovirt.ovirt's venv could not be made (no package index): its rows are missing")
    print(f"target: cluster_info under 1 s above an empty play: {'met' if info - empty < 1 else 'NOT met'} ({info - empty:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
