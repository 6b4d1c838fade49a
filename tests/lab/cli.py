"""Command line: python -m tests.lab up|status|fault|step|down|serve."""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Optional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_STATE_DIR = os.path.join(REPO, ".lab")
UP_TIMEOUT = 120.0
DOWN_TIMEOUT = 10.0


class LabError(RuntimeError):
    """The lab could not be started, reached or stopped."""


def _pid_path(state_dir: str) -> str:
    return os.path.join(state_dir, "lab.pid")


def read_info(state_dir: str) -> Optional[dict[str, Any]]:
    try:
        with open(os.path.join(state_dir, "lab.json"), encoding="utf-8") as handle:
            info: dict[str, Any] = json.load(handle)
            return info
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _is_lab_server(pid: int, state_dir: str) -> bool:
    """The pid is a lab server for this state directory (not a recycled pid of some other program)."""
    argv = _cmdline(pid)
    return "tests.lab" in argv and "serve" in argv and os.path.abspath(state_dir) in argv


def _ours(pgid: int, state_dir: str) -> list[int]:
    """Members of the lab's process group: the server and the fence agents it runs (ipmitool)."""
    members = _group_members(pgid)
    if pgid in members:
        return members if _is_lab_server(pgid, state_dir) else []
    # the server died: only what it left behind (fence agent runs) belongs to us
    return members if all(any(word in " ".join(_cmdline(m)) for word in ("ipmitool", "tests.lab")) for m in members) else []


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the command: state ppid pgrp ...; zombies are already gone for our purpose
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def admin_call(admin_url: str, method: str, route: str, payload: Optional[dict[str, Any]] = None, timeout: float = 600.0) -> Any:
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    request = urllib.request.Request(admin_url + route, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec - 127.0.0.1 only
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        raise LabError(f"admin {method} {route} failed: {exc.code} {body}") from exc


def _answers(info: dict[str, Any]) -> bool:
    """Admin endpoint, health page over HTTP and over HTTPS (verified against the lab CA) all answer 200."""
    engine = info["engine"]
    context = ssl.create_default_context(cafile=engine["ca_file"])
    urls = [(info["admin_url"] + "/state", None), (engine["http_url"].replace("/api", "/services/health"), None),
            (engine["url"].replace("/api", "/services/health"), context)]
    for url, tls in urls:
        try:
            with urllib.request.urlopen(url, timeout=2, context=tls) as response:  # nosec - 127.0.0.1 only
                if response.status != 200:
                    return False
        except (OSError, urllib.error.URLError):
            return False
    return True


def up(state_dir: str = DEFAULT_STATE_DIR, hosts: int = 3, vms: int = 10, hosted_engine: bool = False, time_scale: Optional[float] = None,
       virtual_clock: bool = False, engine_uptime: float = 0.0, no_bmcs: bool = False, timeout: float = UP_TIMEOUT,
       owner_pid: Optional[int] = None, layout: Optional[str] = None) -> dict[str, Any]:
    """Start the lab server in its own process group; return lab.json once everything answers.

    With ``owner_pid`` the server also stops by itself once that process is gone (a test run that was killed).
    """
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    info = read_info(state_dir)
    if info and _alive(int(info.get("pid", 0))) and _is_lab_server(int(info["pid"]), state_dir):
        raise LabError(f"a lab is already running from {state_dir} (pid {info['pid']}); run `python -m tests.lab down` first")
    for name in ("lab.json", "lab.env", "inventory.yml", "lab.pid"):
        try:
            os.unlink(os.path.join(state_dir, name))
        except FileNotFoundError:
            pass
    argv = [sys.executable, "-m", "tests.lab", "serve", "--state-dir", state_dir, "--hosts", str(hosts), "--vms", str(vms),
            "--engine-uptime", str(engine_uptime)]
    if hosted_engine:
        argv.append("--hosted-engine")
    if virtual_clock:
        argv.append("--virtual-clock")
    elif time_scale is not None:
        argv += ["--time-scale", str(time_scale)]
    if no_bmcs:
        argv.append("--no-bmcs")
    if owner_pid:
        argv += ["--owner-pid", str(owner_pid)]
    if layout:
        from tests.lab.builder import LayoutError, load  # pylint: disable=import-outside-toplevel

        try:
            load(layout)
        except LayoutError as exc:
            raise LabError(str(exc)) from exc
        argv += ["--layout", os.path.abspath(layout)]
    log = open(os.path.join(state_dir, "lab.log"), "ab")  # pylint: disable=consider-using-with
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # the server outlives this call on purpose: `down` stops it through its process group
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)
    log.close()
    with open(_pid_path(state_dir), "w", encoding="utf-8") as handle:
        handle.write(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"the lab server exited with {proc.returncode}; see {state_dir}/lab.log")
        info = read_info(state_dir)
        if info and info.get("pid") == proc.pid and _answers(info):
            return info
        time.sleep(0.1)
    down(state_dir)
    raise LabError(f"the lab did not answer within {timeout:.0f} s; see {state_dir}/lab.log")


def _signal_group_and_wait(pid: int, signum: int) -> bool:
    """Send ``signum`` to the lab's process group; True once no member is left (waits DOWN_TIMEOUT at most)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + DOWN_TIMEOUT
    while _group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _group_members(pid)


def down(state_dir: str = DEFAULT_STATE_DIR) -> bool:
    """Stop every process `up` started (its process group); True if something was running."""
    state_dir = os.path.abspath(state_dir)
    pid = None
    try:
        with open(_pid_path(state_dir), encoding="utf-8") as handle:
            pid = int(handle.read().strip() or 0)
    except (OSError, ValueError):
        info = read_info(state_dir)
        pid = int(info["pid"]) if info and info.get("pid") else None
    if not pid:
        return False
    members = _ours(pid, state_dir)
    if members:
        if not _signal_group_and_wait(pid, signal.SIGTERM) and not _signal_group_and_wait(pid, signal.SIGKILL):
            raise LabError(f"processes of lab group {pid} survived SIGKILL")
    for name in ("lab.pid",):
        try:
            os.unlink(os.path.join(state_dir, name))
        except FileNotFoundError:
            pass
    return bool(members)


def status(state_dir: str = DEFAULT_STATE_DIR) -> Optional[dict[str, Any]]:
    info = read_info(os.path.abspath(state_dir))
    if not info or not _alive(int(info.get("pid", 0))) or not _is_lab_server(int(info["pid"]), state_dir):
        return None
    state: dict[str, Any] = admin_call(info["admin_url"], "GET", "/state", timeout=30)
    return state


def format_violation(violation: dict[str, Any]) -> str:
    return f"[{violation['time']:8.1f}] {violation['kind']}: {violation['detail']} (caused by {violation['caused_by']})"


def serve(args: argparse.Namespace) -> int:
    from tests.lab.files import write_all  # pylint: disable=import-outside-toplevel
    from tests.lab.server import LabOptions, LabServer  # pylint: disable=import-outside-toplevel

    clock = "virtual" if args.virtual_clock else ("scaled" if args.time_scale and args.time_scale != 1.0 else "real")
    options = LabOptions(state_dir=args.state_dir, hosts=args.hosts, vms=args.vms, hosted_engine=args.hosted_engine, clock=clock,
                         time_scale=args.time_scale or 1.0, engine_uptime=args.engine_uptime, bmcs=not args.no_bmcs, layout=args.layout)
    lab = LabServer(options)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        info = lab.start()
        write_all(args.state_dir, info)
        print(f"lab up: {info['engine']['url']} admin {info['admin_url']}", flush=True)
        while not stopping:
            time.sleep(0.2)
            if args.owner_pid and not _alive(args.owner_pid):
                print(f"owner process {args.owner_pid} is gone; stopping", flush=True)
                break
    finally:
        lab.stop()
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description="Simulated oVirt cluster for tests")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
        cmd.add_argument("--hosts", type=int, default=3)
        cmd.add_argument("--vms", type=int, default=10)
        cmd.add_argument("--hosted-engine", action="store_true")
        group = cmd.add_mutually_exclusive_group()
        group.add_argument("--time-scale", type=float, default=None, help="lab time runs X times faster than real time")
        group.add_argument("--virtual-clock", action="store_true", help="lab time moves only with `step`")
        cmd.add_argument("--engine-uptime", type=float, default=0.0, help="pretend the engine started this many seconds ago")
        cmd.add_argument("--no-bmcs", action="store_true", help="no BMC simulators; fencing switches power directly")
        cmd.add_argument("--owner-pid", type=int, default=0, help="stop by itself once this process has exited")
        cmd.add_argument("--layout", help="hosts, VMs, HA flags, leases, power management, fencing policy from a YAML file")
    for name in ("status", "down", "violations", "journal"):
        sub.add_parser(name).add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    fault = sub.add_parser("fault")
    fault.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    fault.add_argument("kind", nargs="?")
    fault.add_argument("target", nargs="?")
    fault.add_argument("--value")
    fault.add_argument("--clear", action="store_true")
    step = sub.add_parser("step")
    step.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    step.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "up":
            info = up(args.state_dir, args.hosts, args.vms, args.hosted_engine, args.time_scale, args.virtual_clock, args.engine_uptime,
                      args.no_bmcs, owner_pid=args.owner_pid or None, layout=args.layout)
            print(f"lab up (pid {info['pid']}): {info['engine']['url']}\n  source {os.path.abspath(args.state_dir)}/lab.env\n"
                  f"  inventory {os.path.abspath(args.state_dir)}/inventory.yml")
            return 0
        if args.command == "down":
            print("lab stopped" if down(args.state_dir) else "no lab was running")
            return 0
        current = read_info(os.path.abspath(args.state_dir))
        if args.command == "status":
            state = status(args.state_dir)
            print(json.dumps(state, indent=1) if state else "no lab is running")
            return 0 if state else 1
        if not current:
            print("no lab is running", file=sys.stderr)
            return 1
        if args.command == "violations":
            found = admin_call(current["admin_url"], "GET", "/violations")["violations"]
            for violation in found:
                print(format_violation(violation))
            print(f"{len(found)} violation(s)" if found else "no violations")
            return 1 if found else 0
        if args.command == "journal":
            for entry in admin_call(current["admin_url"], "GET", "/journal")["entries"]:
                print(entry["line"])
            return 0
        if args.command == "step":
            print(json.dumps(admin_call(current["admin_url"], "POST", "/clock/step", {"seconds": args.seconds})))
            return 0
        if args.clear:
            print(json.dumps(admin_call(current["admin_url"], "DELETE", "/faults")))
            return 0
        if not args.kind:
            parser.error("fault needs a KIND or --clear")
        value: Any = args.value
        try:
            value = float(value) if value is not None else None
        except ValueError:
            pass
        print(json.dumps(admin_call(current["admin_url"], "POST", "/faults", {"kind": args.kind, "target": args.target, "value": value})))
        return 0
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
