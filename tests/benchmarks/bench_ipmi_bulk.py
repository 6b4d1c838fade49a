"""Benchmark: 100 BMCs in one ipmi task against 100 one-BMC tasks in a loop.

    .venv/bin/python -m tests.benchmarks.bench_ipmi_bulk [--count 100] [--parallel 16] [--json out.json]

Starts COUNT simulated BMCs (tests.lab.bmc_standalone, 127.0.0.1 only), then times with
ansible-playbook, each in its own run:

- ``ipmi_info`` over all BMCs in one task;
- ``ipmi_power state=status`` over all BMCs in one task;
- ``ipmi_power state=status`` once per BMC in a ``loop`` (one BMC per task): the way
  community.general's ipmi_power is used (emulated with this collection's module, so no
  dependency on community.general);
- an empty play, to show the fixed cost of starting ansible-playbook.

Every run must report every BMC on; the ratio is loop time / one-task time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PLAYBOOK = [str(Path(PYTHON).with_name("ansible-playbook"))]

PLAYS = {
    "empty_play": """
- hosts: localhost
  gather_facts: false
  tasks: []
""",
    "ipmi_info_one_task": """
- hosts: localhost
  gather_facts: false
  vars: {bmcs: "{{ lookup('file', bmc_file) | from_json }}"}
  tasks:
    - ovirt_ha.core.ipmi_info: {bmcs: "{{ bmcs }}", parallel: "{{ parallel | int }}", fail_on_error: true}
      register: out
    - ansible.builtin.assert:
        that: out.summary.ok == bmcs | length
""",
    "ipmi_power_status_one_task": """
- hosts: localhost
  gather_facts: false
  vars: {bmcs: "{{ lookup('file', bmc_file) | from_json }}"}
  tasks:
    - ovirt_ha.core.ipmi_power: {bmcs: "{{ bmcs }}", state: status, parallel: "{{ parallel | int }}"}
      register: out
    - ansible.builtin.assert:
        that: out.bmcs | map(attribute='power') | select('equalto', 'on') | list | length == bmcs | length
""",
    "ipmi_power_status_loop_one_bmc_per_task": """
- hosts: localhost
  gather_facts: false
  vars: {bmcs: "{{ lookup('file', bmc_file) | from_json }}"}
  tasks:
    - ovirt_ha.core.ipmi_power:
        address: "{{ item.address }}"
        port: "{{ item.port }}"
        username: "{{ item.username }}"
        password: "{{ item.password }}"
        state: status
      loop: "{{ bmcs }}"
      loop_control: {label: "{{ item.name }}"}
      register: out
    - ansible.builtin.assert:
        that: out.results | map(attribute='bmcs') | map('first') | map(attribute='power')
              | select('equalto', 'on') | list | length == bmcs | length
""",
}


def _start_fleet(count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], Dict[str, Any]]:
    state = workdir / "bmcs.json"
    base = 23000 + (os.getpid() % 40) * 250
    process = subprocess.Popen([PYTHON, "-m", "tests.lab.bmc_standalone", "--count", str(count), "--base-port",
                                str(base), "--state", str(state)], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("BMC fleet did not start: %s" % process.stderr.read().decode() if process.stderr else "")
        time.sleep(0.1)
    return process, json.loads(state.read_text())


def _run_play(name: str, workdir: Path, bmc_file: Path, parallel: int) -> float:
    play = workdir / ("%s.yml" % name)
    play.write_text(PLAYS[name])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build"), ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_DISPLAY_OK_HOSTS="false", ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
               ANSIBLE_PYTHON_INTERPRETER=PYTHON, ANSIBLE_LOCALHOST_WARNING="false")
    started = time.perf_counter()
    completed = subprocess.run(PLAYBOOK + ["-i", "localhost,", "-c", "local", str(play), "-e",
                                           "bmc_file=%s parallel=%d" % (bmc_file, parallel)],
                               cwd=workdir, env=env, capture_output=True, text=True, timeout=1800, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (name, completed.stdout[-3000:], completed.stderr[-3000:]))
    return elapsed


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ipmi-") as tmp:
        workdir = Path(tmp)
        process, state = _start_fleet(args.count, workdir)
        try:
            bmc_file = workdir / "bmc-list.json"
            fd = os.open(bmc_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(state["bmcs"], handle)
            times = {name: _run_play(name, workdir, bmc_file, args.parallel) for name in PLAYS}
        finally:
            process.terminate()
            process.wait(20)
    loop = times["ipmi_power_status_loop_one_bmc_per_task"]
    figures = {
        "bmcs": args.count,
        "parallel": args.parallel,
        "cpus": os.cpu_count(),
        "seconds": {name: round(value, 2) for name, value in times.items()},
        "ratio_loop_vs_ipmi_info": round(loop / times["ipmi_info_one_task"], 1),
        "ratio_loop_vs_ipmi_power": round(loop / times["ipmi_power_status_one_task"], 1),
    }
    print("%-42s %8s" % ("play (%d BMCs)" % args.count, "seconds"))
    for name, value in times.items():
        print("%-42s %8.2f" % (name, value))
    print("loop / one-task ipmi_info:  %.1fx" % figures["ratio_loop_vs_ipmi_info"])
    print("loop / one-task ipmi_power: %.1fx" % figures["ratio_loop_vs_ipmi_power"])
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
