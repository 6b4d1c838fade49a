"""Watch the lab's engine react to a fault: print host and HA VM state changes and new engine events.

Used by `make demo`. Reads through the real SDK (what any client would see); bounded in time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import ovirtsdk4 as sdk


def _states(system: sdk.services.SystemService) -> dict[str, str]:
    states = {f"host {h.name}": str(h.status.value if h.status else "?") for h in system.hosts_service().list()}
    for vm in system.vms_service().list(search="name=*"):
        if vm.high_availability is not None and vm.high_availability.enabled:
            where = vm.host.id[:8] if vm.host is not None else "-"
            states[f"HA vm {vm.name}"] = f"{vm.status.value if vm.status else '?'} on {where}"
    return states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop watching after this long")
    parser.add_argument("--until-host-up", help="stop early once this host is up again and no HA VM is down")
    parser.add_argument("--until-event", default="", help="stop early once an event with one of these codes (comma-separated) appears")
    args = parser.parse_args()
    conn = sdk.Connection(url=os.environ["OVIRT_URL"], username=os.environ["OVIRT_USERNAME"],
                          password=os.environ["OVIRT_PASSWORD"], ca_file=os.environ["OVIRT_CAFILE"], timeout=10)
    try:
        system = conn.system_service()
        host_names = {h.id[:8]: h.name for h in system.hosts_service().list()}
        seen_events = {e.id for e in system.events_service().list(max=200)}
        stop_codes = {int(code) for code in args.until_event.split(",") if code.strip()}
        before = _states(system)
        start = time.monotonic()
        deadline = start + args.seconds
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = _states(system)
            stamp = f"[{time.monotonic() - start:5.1f}s]"
            for key in sorted(now):
                if now[key] != before.get(key):
                    shown = now[key]
                    for short, name in host_names.items():
                        shown = shown.replace(short, name)
                    print(f"{stamp} {key}: {before.get(key, '-')} -> {shown}")
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
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
