"""`make demo`: bring a lab up, show the cluster through the SDK, cut a host's power, watch the engine react, bring it down.

    python -m tests.lab.demo [--state-dir DIR] [--time-scale 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

from tests.lab.testing import running_lab

WATCH_SECONDS = 60.0


def show_cluster(connection: Any) -> None:
    system = connection.system_service()
    api = system.get()
    print(f"engine: {api.product_info.name} {api.product_info.version.full_version}")
    for host in system.hosts_service().list(all_content=True):
        he = f" hosted-engine score {host.hosted_engine.score}" if host.hosted_engine else ""
        print(f"  host {host.name:8} {host.status.value:16} spm={host.spm.status.value}{he}")
    for vm in system.vms_service().list(follow="host"):
        ha = f" HA priority {vm.high_availability.priority}" if vm.high_availability.enabled else ""
        print(f"  vm   {vm.name:12} {vm.status.value:10} on {vm.host.name if vm.host else '-'}{ha}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lab demo")
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--time-scale", type=float, default=30.0)
    args = parser.parse_args(argv)
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="lab-demo-")
    os.makedirs(state_dir, exist_ok=True)
    with running_lab(state_dir, hosts=3, vms=6, hosted_engine=True, time_scale=args.time_scale, engine_uptime=600) as lab:
        print(f"lab up: {lab.info['engine']['url']} (lab time runs {args.time_scale:g}x real time)")
        connection = lab.connection()
        try:
            show_cluster(connection)
            events = connection.system_service().events_service()
            newest = events.list(max=1)
            last = newest[0].index if newest else 0
            print("\ninjecting: host_power_loss on host02")
            lab.fault("host_power_loss", "host02")
            deadline = time.monotonic() + WATCH_SECONDS
            seen_status = ""
            went_down = False
            while time.monotonic() < deadline:
                for event in reversed(events.list(from_=last)):
                    print(f"  event {event.code:5} {event.description}")
                    last = max(last, event.index)
                status = lab.host_state("host02")["status"]
                if status != seen_status:
                    print(f"  host02 is now {status}")
                    seen_status = status
                went_down = went_down or status != "up"
                if went_down and status == "up":
                    break
                time.sleep(0.5)
            print("\nafter the engine's reaction:")
            show_cluster(connection)
        finally:
            connection.close()
    print("lab down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
