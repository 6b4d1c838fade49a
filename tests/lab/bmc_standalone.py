"""Run simulated BMCs without the engine lab: tests and benchmarks use this.

    python -m tests.lab.bmc_standalone --count N --base-port P --state FILE

Starts N BMCs named bmc001.. on 127.0.0.1 ports P..P+N-1, each with its own
user and password and a power switch of its own (initially on), writes FILE
(mode 0600: it holds the passwords) once every BMC answers, then serves until
SIGTERM/SIGINT.  FILE is JSON:

    {"pid": N, "control": "/path/control.sock",
     "bmcs": [{"name", "address", "port", "username", "password"}, ...]}

Faults and power are changed at run time through a line-oriented JSON
protocol on the Unix socket `control` (0600), one request per connection:

    {"op": "fault", "name": "bmc001", "kind": "unreachable"|"wrong_password"|"stuck_power", "value": bool}
    {"op": "power", "name": "bmc001"}            -> {"ok": true, "on": bool, "actions": [...], "sessions": N}
    {"op": "set_power", "name": "bmc001", "on": bool}
    {"op": "clear"}

With ``--lab-json FILE --admin-port P`` it also mimics the BMC part of the full lab's
contract (see .team/LAB-INTERFACE.md): FILE is a lab.json with one host per BMC
(hosts[].name = BMC name, hosts[].bmc = address/port/username/password) and
``admin_url``; the admin endpoint accepts POST /lab/faults {"kind": "bmc_unreachable" |
"bmc_wrong_password" | "bmc_stuck_power", "target": NAME}, DELETE /lab/faults, GET
/lab/state (power per host) and POST /lab/engine-ha (accepted, no engine here).  Tests
written against the lab's BMCs can then run without the engine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import threading
from typing import Any, Dict, List, Optional

from tests.lab.bmc import BmcFleet, SimplePowerTarget


class _Standalone:
    def __init__(self, count: int, base_port: int, address: str) -> None:
        self.fleet = BmcFleet(address)
        self.targets: Dict[str, SimplePowerTarget] = {}
        self.records: List[Dict[str, Any]] = []
        for index in range(count):
            name = f"bmc{index + 1:03d}"
            record: Dict[str, Any] = {
                "name": name,
                "address": address,
                "port": base_port + index,
                "username": f"admin{index + 1}",
                "password": secrets.token_urlsafe(12),
            }
            target = SimplePowerTarget(on=True)
            self.targets[name] = target
            self.fleet.add(name, record["port"], record["username"], record["password"], target)
            self.records.append(record)

    def handle(self, request: Dict[str, Any]) -> Dict[str, Any]:
        op = request.get("op")
        name = str(request.get("name", ""))
        if op == "clear":
            for each in self.records:
                self._reset(each)
            return {"ok": True}
        record: Optional[Dict[str, Any]] = next((r for r in self.records if r["name"] == name), None)
        if record is None:
            return {"ok": False, "error": f"no BMC named {name!r}"}
        if op == "power":
            target = self.targets[name]
            return {"ok": True, "on": target.bmc_power_state(), "actions": list(target.actions),
                    "sessions": self.fleet.active_sessions(name)}
        if op == "set_power":
            self.targets[name]._on = bool(request.get("on"))
            return {"ok": True}
        if op == "fault":
            kind, value = request.get("kind"), bool(request.get("value", True))
            if kind == "unreachable":
                self.fleet.set_unreachable(name, value)
            elif kind == "stuck_power":
                self.fleet.set_stuck_power(name, value)
            elif kind == "wrong_password":
                # the BMC now expects another password than the one published
                self.fleet.set_password(name, secrets.token_urlsafe(12) if value else record["password"])
            else:
                return {"ok": False, "error": f"unknown fault kind {kind!r}"}
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _reset(self, record: Dict[str, Any]) -> None:
        name = record["name"]
        self.fleet.set_unreachable(name, False)
        self.fleet.set_stuck_power(name, False)
        self.fleet.set_password(name, record["password"])
        self.fleet.reset_sessions(name)
        self.targets[name]._on = True
        self.targets[name].actions.clear()


def _serve_control(app: _Standalone, path: str, stop: threading.Event) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        server.bind(path)
    finally:
        os.umask(old_umask)
    server.listen(8)
    server.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _peer = server.accept()
        except socket.timeout:
            continue
        with conn:
            conn.settimeout(5)
            data = b""
            while not data.endswith(b"\n") and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                reply = app.handle(json.loads(data or b"{}"))
            except Exception as exc:  # report, keep serving
                reply = {"ok": False, "error": repr(exc)}
            conn.sendall(json.dumps(reply).encode() + b"\n")
    server.close()


_LAB_FAULTS = {"bmc_unreachable": "unreachable", "bmc_wrong_password": "wrong_password",
               "bmc_stuck_power": "stuck_power"}


def _admin_server(app: _Standalone, port: int) -> Any:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the runner quiet
            pass

        def _reply(self, code: int, body: Dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _payload(self) -> Dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def do_POST(self) -> None:
            payload = self._payload()
            if self.path == "/lab/faults":
                kind = _LAB_FAULTS.get(str(payload.get("kind")))
                if kind is None:
                    return self._reply(400, {"error": "unknown BMC fault kind %r" % payload.get("kind")})
                reply = app.handle({"op": "fault", "name": payload.get("target"), "kind": kind, "value": True})
                return self._reply(200 if reply["ok"] else 404, reply)
            if self.path == "/lab/engine-ha":
                return self._reply(200, payload)
            return self._reply(404, {"error": "no route"})

        def do_DELETE(self) -> None:
            if self.path == "/lab/faults":
                app.handle({"op": "clear"})
                return self._reply(200, {"faults": []})
            return self._reply(404, {"error": "no route"})

        def do_GET(self) -> None:
            if self.path == "/lab/state":
                hosts = [{"name": name, "power_on": target.bmc_power_state(), "vms": 0,
                          "power_log": [[0, action] for action in target.actions]}
                         for name, target in app.targets.items()]
                return self._reply(200, {"hosts": hosts})
            return self._reply(404, {"error": "no route"})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="lab-bmc-admin", daemon=True).start()
    return server


def _write_private_json(path: str, data: Dict[str, Any]) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


def control(control_path: str, request: Dict[str, Any], timeout: float = 5.0) -> Dict[str, Any]:
    """Send one control request to a running standalone fleet."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(control_path)
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: Dict[str, Any] = json.loads(data)
    return reply


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=16230)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--state", required=True, help="JSON file written once every BMC answers")
    parser.add_argument("--lab-json", help="also write a lab.json-shaped description (needs --admin-port)")
    parser.add_argument("--admin-port", type=int, help="serve the lab admin endpoint's BMC faults on this port")
    args = parser.parse_args(argv)
    if args.address not in ("127.0.0.1", "::1"):
        parser.error("the lab serves BMCs on loopback only")

    app = _Standalone(args.count, args.base_port, args.address)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    control_path = os.path.abspath(args.state) + ".sock"
    if os.path.exists(control_path):
        os.unlink(control_path)
    app.fleet.start()
    control_thread = threading.Thread(target=_serve_control, args=(app, control_path, stop), daemon=True)
    control_thread.start()

    admin = None
    if args.admin_port:
        admin = _admin_server(app, args.admin_port)
    if args.lab_json:
        hosts = [{"name": record["name"], "bmc": {key: record[key] for key in ("address", "port", "username",
                                                                               "password")}}
                 for record in app.records]
        _write_private_json(args.lab_json, {"pid": os.getpid(), "hosts": hosts, "engine": None,
                                            "admin_url": "http://127.0.0.1:%d/lab" % args.admin_port})
    _write_private_json(args.state, {"pid": os.getpid(), "control": control_path, "bmcs": app.records})
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if admin is not None:
            admin.shutdown()
            admin.server_close()
        app.fleet.stop()
        control_thread.join(timeout=2)
        for path in (control_path, args.state, args.lab_json):
            if path is None:
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
