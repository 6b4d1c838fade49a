"""HTTP handlers: the engine (API, SSO, health page) and the lab's admin endpoint."""

from __future__ import annotations

import json
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import ovirtsdk4.types as t

from tests.lab.actors import Actor, acting
from tests.lab.api_common import Request, Response, fault_response, parse_query
from tests.lab.api_xml import API, write
from tests.lab.errors import ApiError

MAX_BODY = 16 * 1024 * 1024
HEALTH = "/ovirt-engine/services/health"
SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    timeout = 120

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        return

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.body or response.status != 404:
            textual = "xml" in response.content_type or "json" in response.content_type
            self.send_header("Content-Type", response.content_type + ("; charset=UTF-8" if textual else ""))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        # headers and body in one write: curl's multi loop in the SDK otherwise may sit in select() for its 1 s timeout
        self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        if self.command != "HEAD" and response.body:
            self._headers_buffer.append(response.body)  # type: ignore[attr-defined]
        self.flush_headers()

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self.dispatch("GET")

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        self.dispatch("POST")

    def do_PUT(self) -> None:  # pylint: disable=invalid-name
        self.dispatch("PUT")

    def do_DELETE(self) -> None:  # pylint: disable=invalid-name
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        raise NotImplementedError


class EngineHandler(_Base):
    """Everything under /ovirt-engine on the HTTPS and HTTP ports."""

    handshake_failed = False

    def setup(self) -> None:
        super().setup()
        do_handshake = getattr(self.connection, "do_handshake", None)
        if do_handshake is not None:
            self.connection.settimeout(10)
            try:
                do_handshake()
            except OSError:
                self.handshake_failed = True
            self.connection.settimeout(self.timeout)

    def handle(self) -> None:
        if not self.handshake_failed:
            super().handle()

    def dispatch(self, method: str) -> None:
        lab = self.server.app  # type: ignore[attr-defined]
        if not lab.api_available():
            # the engine is gone: drop the connection, new ones are refused
            self.close_connection = True
            return
        try:
            body = self._body()
        except ValueError:
            self.send(Response(400, b"", "text/plain"))
            return
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        lab.stats.count(method, path)
        slow = lab.faults.api.slow
        if slow > 0:
            time.sleep(min(slow, 300.0))
        try:
            response = self.route(lab, method, path, parse_query(split.query), body)
        except Exception:  # pylint: disable=broad-exception-caught
            # a lab bug must not kill the connection silently: answer like the engine's 500 and log it
            traceback.print_exc(file=sys.stderr)
            response = Response(500, write(t.Fault(reason="Operation Failed", detail="Internal lab error, see lab.log")))
        lab.stats.status(response.status)
        self.send(response)

    def route(self, lab: Any, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        if path == SSO_TOKEN and method == "POST":
            status, payload = lab.sso.token(body)
            with lab.stats.lock:
                if status == 200:
                    lab.stats.sso_logins += 1
                else:
                    lab.stats.sso_failures += 1
            return Response(status, json.dumps(payload).encode("utf-8"), "application/json")
        if path == SSO_LOGOUT and method in ("POST", "GET"):
            status, payload = lab.sso.logout(body if method == "POST" else query_bytes(query))
            with lab.stats.lock:
                lab.stats.sso_logouts += 1
            return Response(status, json.dumps(payload).encode("utf-8"), "application/json")
        if path == HEALTH:
            if lab.faults.api.error_500:
                return Response(500, b"DB Down!", "text/html")
            return Response(200, b"DB Up!Welcome to Health Status!", "text/html")
        if not path.startswith(API):
            return Response(404, b"")
        user = lab.sso.user_of(self.headers.get("Authorization"))
        if user is None:
            return Response(401, b"", "text/html", {"WWW-Authenticate": 'Bearer realm="RESTAPI"'})
        with lab.model.lock:
            lab.faults.api.count_request()
        if lab.faults.api.error_500:
            return Response(500, write(t.Fault(reason="Operation Failed", detail="Internal Server Error")))
        request = Request(method, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            with acting(Actor("api", user, f"{method} {readable_path(lab.model, path[len(API):]) or '/'}")):
                return lab.api.handle(request)
        except ApiError as error:
            return fault_response(error)


def readable_path(model: Any, path: str) -> str:
    """The request path with object ids replaced by names (for violations and the journal)."""
    parts = []
    for part in path.split("/"):
        obj = model.hosts.get(part) or model.vms.get(part) or model.clusters.get(part) or model.storage_domains.get(part)
        parts.append(obj.name if obj is not None else part)
    return "/".join(parts)


def query_bytes(query: dict[str, str]) -> bytes:
    return "&".join(f"{k}={v}" for k, v in query.items()).encode("utf-8")


class AdminHandler(_Base):
    """JSON admin endpoint under /lab."""

    def dispatch(self, method: str) -> None:
        lab = self.server.app  # type: ignore[attr-defined]
        try:
            body = self._body()
            split = urlsplit(self.path)
            payload = json.loads(body) if body.strip() else dict(parse_query(split.query))
            status, result = lab.admin(method, split.path.rstrip("/"), payload)
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"error": str(exc)}
        self.send(Response(status, json.dumps(result, indent=1, sort_keys=True).encode("utf-8"), "application/json"))


class HostHandler(_Base):
    """JSON over one hosted-engine host's Unix socket: what the stand-in ``hosted-engine`` command and the stand-in
    agent and broker units of that host ask (the socket's owner is the host)."""

    def dispatch(self, method: str) -> None:
        lab = self.server.app  # type: ignore[attr-defined]
        owner = self.server.owner  # type: ignore[attr-defined]
        try:
            body = self._body()
            payload = json.loads(body) if body.strip() else {}
            status, result = lab.host_request(owner, method, urlsplit(self.path).path.rstrip("/"), payload)
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"error": str(exc)}
        self.send(Response(status, json.dumps(result, sort_keys=True).encode("utf-8"), "application/json"))
