"""A threaded HTTP/1.1 listener on 127.0.0.1 (optionally TLS) that can be stopped and started again on the same port."""

from __future__ import annotations

import os
import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: Optional[ssl.SSLContext], app: Any) -> None:
        self.context = context
        self.app = app
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        # client went away or TLS handshake failed: nothing to report
        return


class Listener:
    """One port; ``stop()`` closes the listening socket (connections are refused), ``start()`` opens it again."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], app: Any, port: int = 0, context: Optional[ssl.SSLContext] = None) -> None:
        self.handler = handler
        self.app = app
        self.context = context
        self.port = port
        self.server: Optional[_Server] = None
        self.thread: Optional[threading.Thread] = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.server is not None:
                return
            self.server = _Server(("127.0.0.1", self.port), self.handler, self.context, self.app)
            self.port = self.server.server_address[1]
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                                           name=f"listener-{self.port}")
            self.thread.start()

    def stop(self) -> None:
        with self.lock:
            server, thread = self.server, self.thread
            self.server = None
            self.thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self.server is not None


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 32

    def __init__(self, path: str, handler: type[BaseHTTPRequestHandler], app: Any, owner: str) -> None:
        self.app = app
        self.owner = owner
        super().__init__(path, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, _addr = self.socket.accept()
        return sock, (self.owner, 0)  # BaseHTTPRequestHandler expects a (host, port) pair

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class UnixListener:
    """HTTP over a Unix socket at ``path``, on behalf of ``owner`` (a host): whoever can reach the socket is that host.

    The lab gives every hosted-engine host one, bind-mounted into its container, as vdsm's and the broker's sockets
    are local to a real host."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], app: Any, path: str, owner: str) -> None:
        self.handler = handler
        self.app = app
        self.path = path
        self.owner = owner
        self.server: Optional[_UnixServer] = None
        self.thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self.server is not None:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.server = _UnixServer(self.path, self.handler, self.app, self.owner)
        os.chmod(self.path, 0o660)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                                       name=f"unix-{self.owner}")
        self.thread.start()

    def stop(self) -> None:
        server, thread = self.server, self.thread
        self.server = self.thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        if os.path.exists(self.path):
            os.unlink(self.path)
