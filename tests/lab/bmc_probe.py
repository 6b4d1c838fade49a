"""Independent witness: read (or set) a BMC's power through a fresh pyghmi session.

    IPMI_PASSWORD=... python -m tests.lab.bmc_probe --address A --port P --username U [--set on|off]

Prints {"power": "on"|"off"} as JSON; exit 2 with {"error": ...} on failure.  Uses pyghmi's public
Command API, not the collection's client, so tests do not verify the client with itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--set", choices=["on", "off"])
    args = parser.parse_args(argv)
    from pyghmi.ipmi import command

    password = os.environ.get("IPMI_PASSWORD", "")
    try:
        cmd = command.Command(bmc=args.address, userid=args.username.encode(), password=password.encode(),
                              port=args.port, keepalive=False)
    except Exception as exc:
        print(json.dumps({"error": "login: %s" % exc}))
        return 2
    try:
        if args.set:
            cmd.raw_command(netfn=0, command=2, data=[1 if args.set == "on" else 0])
        reply = cmd.raw_command(netfn=0, command=1)
        if reply.get("code"):
            print(json.dumps({"error": "completion code %s" % reply.get("code")}))
            return 2
        print(json.dumps({"power": "on" if reply["data"][0] & 1 else "off"}))
        return 0
    finally:
        cmd.ipmi_session.logout()


if __name__ == "__main__":
    sys.exit(main())
