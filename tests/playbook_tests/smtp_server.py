"""A local SMTP server for the report mail tests: aiosmtpd on 127.0.0.1, STARTTLS required before AUTH, one user,
every message kept raw.  ``local_smtp(directory)`` starts it and always stops it."""
from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Iterator, List

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.lab.tls import make_certificates, server_context


@dataclass
class SmtpServer:
    port: int
    ca_file: str
    username: str
    password: str
    messages: List[bytes] = field(default_factory=list)
    logins: List[str] = field(default_factory=list)
    refused_logins: int = 0


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _smtp: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.server.messages.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_smtp(directory: str, username: str = "reporter", password: str = "s3cret-smtp-Pa55") -> Iterator[SmtpServer]:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca_file, cert, key = make_certificates(directory)
    server = SmtpServer(port=_free_port(), ca_file=ca_file, username=username, password=password)

    def authenticate(_server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and data.login.decode() == username and data.password.decode() == password:
            server.logins.append(mechanism)
            return AuthResult(success=True)
        server.refused_logins += 1
        return AuthResult(success=False, handled=False)

    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port, tls_context=server_context(cert, key),
                            require_starttls=True, authenticator=authenticate, auth_require_tls=True, ready_timeout=10)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
