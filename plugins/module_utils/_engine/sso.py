# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine SSO login and logout (private, may change).

Done here rather than by the SDK so that the request timeout and TLS settings
apply to SSO too (the SDK's own SSO request has no timeout) and so that every
SSO failure gets a message naming the URL and the cause.
"""
from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
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
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    })
    context = tls_context(ca_file, insecure) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout or None, context=context) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        code: Optional[int] = exc.code
        try:
            payload = json.loads(body.decode("utf-8"))
        except ValueError:
            payload = {}
        reason = payload.get("error_code") or payload.get("error") or exc.reason
        detail = payload.get("error_description") or payload.get("error")
        cls = EngineAuthError if code in (400, 401, 403) else EngineError
        raise cls("%s failed at %s" % (what, url), code=code, reason=str(reason), detail=detail) from exc
    except (socket.timeout, TimeoutError) as exc:
        raise EngineRequestTimeout("%s timed out after %ss at %s" % (what, timeout, url)) from exc
    except urllib.error.URLError as exc:
        cause = exc.reason
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise EngineUnreachable(
                "%s failed: the engine certificate at %s could not be verified (%s)" % (what, url, cause.verify_message),
                expected="auth.ca_file naming the engine CA (or auth.insecure: true, not recommended)") from exc
        if isinstance(cause, (socket.timeout, TimeoutError)):
            raise EngineRequestTimeout("%s timed out after %ss at %s" % (what, timeout, url)) from exc
        raise EngineUnreachable("%s failed: cannot reach the engine at %s (%s)" % (what, url, cause)) from exc
    except (ConnectionError, OSError) as exc:
        raise EngineUnreachable("%s failed: cannot reach the engine at %s (%s)" % (what, url, exc)) from exc
    try:
        payload = json.loads(body.decode("utf-8")) if body else {}
    except ValueError as exc:
        raise EngineError("%s failed: %s did not answer JSON (is the URL the engine API?)" % (what, url)) from exc
    if isinstance(payload, list):
        payload = payload[0] if payload else {}
    if "error" in payload:
        raise EngineAuthError("%s failed at %s" % (what, url),
                              reason=str(payload.get("error_code") or payload.get("error")),
                              detail=payload.get("error_description") or payload.get("error"))
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
