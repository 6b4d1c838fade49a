# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine SSO login and logout (private, may change).

Done here rather than by the SDK so that the request timeout and TLS settings
apply to SSO too (the SDK's own SSO request has no timeout) and so that every
SSO failure gets a message naming the URL and the cause.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.parse
from typing import Any, Dict, Optional

from .errors import EngineAuthError, EngineError, EngineRequestTimeout, EngineUnreachable

SSO_TOKEN_PATH = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT_PATH = "/ovirt-engine/services/sso-logout"


def engine_root(api_url: str) -> str:
    """``https://engine:443`` for ``https://engine:443/ovirt-engine/api``."""
    parsed = urllib.parse.urlparse(api_url)
    return "%s://%s" % (parsed.scheme, parsed.netloc)


def tls_context(ca_file: Optional[str], insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def _post_form(url: str, form: Dict[str, str], *, ca_file: Optional[str], insecure: bool,
               timeout: float, what: str) -> Dict[str, Any]:
    data = urllib.parse.urlencode(form).encode("ascii")
    parsed = urllib.parse.urlparse(url)
    connection: http.client.HTTPConnection
    if parsed.scheme == "https":
        connection = http.client.HTTPSConnection(parsed.hostname or "", parsed.port, timeout=timeout or None,
                                                 context=tls_context(ca_file, insecure))
    else:
        connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=timeout or None)
    try:
        connection.request("POST", parsed.path, body=data, headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        })
        response = connection.getresponse()
        status, body = response.status, response.read()
    except ssl.SSLCertVerificationError as exc:
        raise EngineUnreachable(
            "%s failed: the engine certificate at %s could not be verified (%s)" % (what, url, exc.verify_message),
            expected="auth.ca_file naming the engine CA (or auth.insecure: true, not recommended)") from exc
    except (socket.timeout, TimeoutError) as exc:
        raise EngineRequestTimeout("%s timed out after %ss at %s" % (what, timeout, url)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise EngineUnreachable("%s failed: cannot reach the engine at %s (%s)" % (what, url, exc)) from exc
    finally:
        connection.close()
    try:
        payload = json.loads(body.decode("utf-8")) if body else {}
    except ValueError as exc:
        if status >= 400:
            raise EngineError("%s failed at %s" % (what, url), code=status) from exc
        raise EngineError("%s failed: %s did not answer JSON (is the URL the engine API?)" % (what, url)) from exc
    if isinstance(payload, list):
        payload = payload[0] if payload else {}
    if status >= 400 or "error" in payload:
        reason = payload.get("error_code") or payload.get("error")
        detail = payload.get("error_description") or payload.get("error")
        cls = EngineAuthError if status in (200, 400, 401, 403) else EngineError
        raise cls("%s failed at %s" % (what, url), code=status if status >= 400 else None,
                  reason=None if reason is None else str(reason), detail=detail)
    return payload


def obtain_token(api_url: str, username: str, password: str, *, ca_file: Optional[str],
                 insecure: bool, timeout: float) -> str:
    """Log in with a password grant and return the SSO access token."""
    payload = _post_form(engine_root(api_url) + SSO_TOKEN_PATH, {
        "grant_type": "password",
        "scope": "ovirt-app-api",
        "username": username,
        "password": password,
    }, ca_file=ca_file, insecure=insecure, timeout=timeout, what="SSO login as %s" % username)
    token = payload.get("access_token")
    if not token:
        raise EngineAuthError("SSO login as %s returned no access_token" % username)
    return str(token)


def revoke_token(api_url: str, token: str, *, ca_file: Optional[str], insecure: bool, timeout: float) -> None:
    """Log out: revoke the SSO token."""
    _post_form(engine_root(api_url) + SSO_LOGOUT_PATH, {"scope": "ovirt-app-api", "token": token},
               ca_file=ca_file, insecure=insecure, timeout=timeout, what="SSO logout")
