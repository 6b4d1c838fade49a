"""What `make demo` asks the lab's engine, through the real SDK (what any client would see).

  watch [--seconds S] [--until-host-up HOST] [--until-event CODES]
        print host and HA VM state changes and new engine events; bounded in time
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import ovirtsdk4 as sdk

ENGINE_VM = "HostedEngine"


def _states(system: Any, host_names: dict[str, str]) -> dict[str, str]:
    states = {f"host {h.name}": str(h.status.value if h.status else "?") for h in system.hosts_service().list()}
    for vm in system.vms_service().list():
        if vm.high_availability is not None and vm.high_availability.enabled:
            where = host_names.get(vm.host.id, vm.host.id) if vm.host is not None else "-"
            states[f"HA vm {vm.name}"] = f"{vm.status.value if vm.status else '?'} on {where}"
    return states


def watch(system: Any, args: argparse.Namespace) -> int:
    host_names = {h.id: h.name for h in system.hosts_service().list()}
    seen_events = {e.id for e in system.events_service().list(max=200)}
    stop_codes = {int(code) for code in args.until_event.split(",") if code.strip()}
    before = _states(system, host_names)
    start = time.monotonic()
    while time.monotonic() < start + args.seconds:
        time.sleep(1.0)
        now = _states(system, host_names)
        stamp = f"[{time.monotonic() - start:5.1f}s]"
        for key in sorted(now):
            if now[key] != before.get(key):
                print(f"{stamp} {key}: {before.get(key, '-')} -> {now[key]}")
        for event in sorted(system.events_service().list(max=50), key=lambda e: int(e.id)):
            if event.id not in seen_events:
                seen_events.add(event.id)
                print(f"{stamp}   event {event.code}: {event.description}")
                if event.code in stop_codes:
                    print(f"{stamp} the engine has decided (event {event.code})")
                    return 0
        before = now
        if args.until_host_up and now.get(f"host {args.until_host_up}") == "up" and not any(
                k.startswith("HA vm") and not v.startswith("up") for k, v in now.items()):
            print(f"{stamp} {args.until_host_up} is up again and every HA VM runs")
            return 0
    print(f"watch ended after {args.seconds:.0f}s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    watch_cmd = sub.add_parser("watch")
    watch_cmd.add_argument("--seconds", type=float, default=60.0, help="stop watching after this long")
    watch_cmd.add_argument("--until-host-up", help="stop early once this host is up again and no HA VM is down")
    watch_cmd.add_argument("--until-event", default="", help="stop early once an event with one of these codes (comma-separated) appears")
    args = parser.parse_args()
    conn = sdk.Connection(url=os.environ["OVIRT_URL"], username=os.environ["OVIRT_USERNAME"],
                          password=os.environ["OVIRT_PASSWORD"], ca_file=os.environ["OVIRT_CAFILE"], timeout=10)
    try:
        system = conn.system_service()
        return watch(system, args)
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
