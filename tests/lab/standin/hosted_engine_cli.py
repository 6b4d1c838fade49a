"""Lab stand-in for the ``hosted-engine`` command (and for ``systemctl`` on ovirt-ha-agent / ovirt-ha-broker).

Installed in the molecule containers as ``/usr/sbin/hosted-engine``; standard library only. It sources nothing and
decides nothing: it sends its arguments over this host's lab socket (``/run/ovirt-ha-lab/lab.sock``, bind-mounted
from the lab's state directory, so whoever runs it is that host) and prints what the lab's simulation of the real
command answers, on the same streams, with the same exit code (see tests/lab/he_tool.py).

    hosted-engine --set-maintenance --mode=global | --vm-start | --vm-status --json | ...
    hosted-engine --lab-service ovirt-ha-agent restart      (what the stand-in units' ExecStart/ExecStop call)

Environment: HE_STANDIN_SOCKET overrides the socket path (the scenario harness runs it outside containers).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import sys

SOCKET = "/run/ovirt-ha-lab/lab.sock"
TIMEOUT = 30


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(self.path)
        self.sock = sock


def call(route: str, payload: dict) -> dict:
    path = os.environ.get("HE_STANDIN_SOCKET", SOCKET)
    connection = _UnixConnection(path)
    try:
        connection.request("POST", route, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read().decode("utf-8") or "{}")
    finally:
        connection.close()
    if response.status != 200:
        raise OSError(body.get("error", f"HTTP {response.status}"))
    return body


def main(argv: list) -> int:
    try:
        if argv[:1] == ["--lab-service"] and len(argv) == 3:
            answer = call("/service", {"unit": argv[1], "action": argv[2]})
        else:
            answer = call("/tool", {"argv": argv})
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"Failed to connect to broker, the number of errors has exceeded the limit (lab socket: {exc})\n")
        return 1
    sys.stdout.write(answer["stdout"])
    sys.stderr.write(answer["stderr"])
    return int(answer["rc"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
