"""The engine's SSO: password grant at /ovirt-engine/sso/oauth/token, logout at /ovirt-engine/services/sso-logout."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Optional
from urllib.parse import parse_qs

SCOPE = "ovirt-app-api"


class Sso:
    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()

    def _check(self, username: str, password: str) -> bool:
        user = username if "@" in username else username + "@internal"
        return secrets.compare_digest(user.encode(), self.username.encode()) and secrets.compare_digest(password.encode(), self.password.encode())

    def token(self, body: bytes) -> tuple[int, dict[str, object]]:
        """Answer a token request: (HTTP status, JSON body) in the engine's form."""
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        if grant != "password":
            return 400, {"error_code": "unsupported_grant_type", "error": f"The grant type '{grant}' is not supported."}
        username = form.get("username", "")
        password = form.get("password", "")
        if not username or "password" not in form:
            return 400, {"error_code": "invalid_request", "error": "The request is missing a required parameter: username and password."}
        if not self._check(username, password):
            return 400, {"error_code": "access_denied",
                         "error": f"Cannot authenticate user '{username}': The username or password is incorrect.."}
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = username
        return 200, {"access_token": token, "scope": form.get("scope", SCOPE), "exp": str(int(time.time() * 1000) + 36000000),
                     "token_type": "bearer"}

    def logout(self, body: bytes) -> tuple[int, dict[str, object]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self.lock:
            self.tokens.pop(form.get("token", ""), None)
        return 200, {}

    def authorized(self, header: Optional[str]) -> bool:
        return self.user_of(header) is not None

    def user_of(self, header: Optional[str]) -> Optional[str]:
        """The user an Authorization header authenticates (None when it does not)."""
        if not header:
            return None
        kind, _sep, value = header.partition(" ")
        if kind.lower() == "bearer":
            with self.lock:
                user = self.tokens.get(value.strip())
            return None if user is None else (user if "@" in user else user + "@internal")
        if kind.lower() == "basic":
            try:
                user, _sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return (user if "@" in user else user + "@internal") if self._check(user, password) else None
        return None
