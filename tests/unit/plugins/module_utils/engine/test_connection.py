"""Auth options, SSO and the session's login/logout rules, against a tiny SSO server on 127.0.0.1."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.parse

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine import errors, sso
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.connection import AuthOptions, EngineSession


class SsoHandler(http.server.BaseHTTPRequestHandler):
    calls: list = []
    delay = 0.0

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).calls.append((self.path, form))
        time.sleep(type(self).delay)
        if self.path == sso.SSO_TOKEN_PATH:
            if form.get("password") == "good":
                status, body = 200, {"access_token": "tok-123", "token_type": "bearer"}
            else:
                status, body = 400, {"error_code": "access_denied", "error": "Cannot authenticate user 'x'."}
        elif self.path == sso.SSO_LOGOUT_PATH:
            status, body = 200, {}
        else:
            status, body = 404, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def sso_server():
    SsoHandler.calls = []
    SsoHandler.delay = 0.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SsoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/ovirt-engine/api" % server.server_address[1]
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("auth, field", [
    ({}, "auth.url"),
    ({"url": "ftp://x/ovirt-engine/api", "token": "t"}, "auth.url"),
    ({"url": "https://e/ovirt-engine/api", "username": "u"}, "auth"),
    ({"url": "https://e/ovirt-engine/api", "token": "t", "ca_file": "/nonexistent/ca.pem"}, "auth.ca_file"),
    ({"url": "https://e/ovirt-engine/api", "token": "t", "timeout": -1}, "auth.timeout"),
    ({"url": "https://e/ovirt-engine/api", "token": "t", "kerberos": True}, "auth.kerberos"),
])
def test_auth_options_validation_names_field(auth, field):
    with pytest.raises(errors.InputError) as info:
        AuthOptions.from_params(auth)
    assert info.value.field == field


def test_auth_options_defaults_and_secrets_not_in_repr():
    options = AuthOptions.from_params({"url": "https://e/ovirt-engine/api", "username": "u", "password": "pw!",
                                       "timeout": None})
    assert options.timeout == 180 and options.insecure is False
    assert "pw!" not in repr(options)


def test_session_logs_in_once_and_out_at_close(sso_server):
    options = AuthOptions.from_params({"url": sso_server, "username": "admin@internal", "password": "good"})
    with EngineSession(options) as session:
        assert session.token() == "tok-123"
        assert session.token() == "tok-123"
    paths = [c[0] for c in SsoHandler.calls]
    assert paths == [sso.SSO_TOKEN_PATH, sso.SSO_LOGOUT_PATH]
    assert SsoHandler.calls[0][1]["scope"] == "ovirt-app-api"
    assert SsoHandler.calls[1][1]["token"] == "tok-123"


def test_session_never_revokes_a_given_token(sso_server):
    options = AuthOptions.from_params({"url": sso_server, "token": "given"})
    with EngineSession(options) as session:
        assert session.token() == "given"
    assert SsoHandler.calls == []


def test_bad_password_is_an_auth_error_with_engine_reason(sso_server):
    with pytest.raises(errors.EngineAuthError) as info:
        sso.obtain_token(sso_server, "x", "bad", ca_file=None, insecure=False, timeout=5)
    result = info.value.to_result()
    assert result["http_code"] == 400 and result["engine_reason"] == "access_denied"
    assert "Cannot authenticate" in result["msg"]


def test_sso_timeout_is_honoured(sso_server):
    SsoHandler.delay = 2.0
    started = time.monotonic()
    with pytest.raises(errors.EngineRequestTimeout):
        sso.obtain_token(sso_server, "x", "good", ca_file=None, insecure=False, timeout=0.5)
    assert time.monotonic() - started < 1.9


def test_unreachable_engine_is_clear():
    url = "http://127.0.0.1:%d/ovirt-engine/api" % free_port()
    with pytest.raises(errors.EngineUnreachable) as info:
        sso.obtain_token(url, "x", "good", ca_file=None, insecure=False, timeout=2)
    assert "cannot reach the engine" in str(info.value)


def test_tls_is_verified_by_default(tmp_path):
    """A self-signed HTTPS server is refused unless its CA is given (or insecure)."""
    ssl = pytest.importorskip("ssl")
    crypto = pytest.importorskip("cryptography")  # noqa: F841
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    SsoHandler.calls = []
    SsoHandler.delay = 0.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SsoHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = "https://127.0.0.1:%d/ovirt-engine/api" % server.server_address[1]
    try:
        with pytest.raises(errors.EngineUnreachable) as info:
            sso.obtain_token(url, "x", "good", ca_file=None, insecure=False, timeout=5)
        assert "could not be verified" in str(info.value) and info.value.expected.startswith("auth.ca_file")
        assert sso.obtain_token(url, "x", "good", ca_file=str(cert_file), insecure=False, timeout=5) == "tok-123"
        assert sso.obtain_token(url, "x", "good", ca_file=None, insecure=True, timeout=5) == "tok-123"
    finally:
        server.shutdown()
        server.server_close()


def test_logout_error_is_reported(monkeypatch, sso_server):
    options = AuthOptions.from_params({"url": sso_server, "username": "admin@internal", "password": "good"})
    session = EngineSession(options)

    def refuse(*_args, **_kwargs):
        raise errors.EngineUnreachable("SSO logout failed: gone")

    with session:
        session.token()
        monkeypatch.setattr(sso, "revoke_token", refuse)
    assert isinstance(session.logout_error, errors.EngineUnreachable)
