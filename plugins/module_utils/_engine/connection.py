# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth options and the one engine session of a module run (private, may change)."""
from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from . import sso
from .errors import EngineError, InputError

try:
    import ovirtsdk4 as _sdk
except ImportError:
    _sdk = None

DEFAULT_TIMEOUT = 180


@dataclass(frozen=True)
class AuthOptions:
    """The ``auth`` dict, validated (ovirt.ovirt-compatible key names)."""

    url: str
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    ca_file: Optional[str] = None
    insecure: bool = False
    timeout: int = DEFAULT_TIMEOUT
    headers: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, auth: Optional[Mapping[str, Any]]) -> "AuthOptions":
        auth = auth or {}
        url = auth.get("url")
        if not url:
            raise InputError("auth.url", "the engine API URL, e.g. https://engine.example.com/ovirt-engine/api "
                                         "(or the OVIRT_URL environment variable)")
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise InputError("auth.url", "an http(s):// URL ending in /ovirt-engine/api", url)
        token = auth.get("token")
        username = auth.get("username")
        password = auth.get("password")
        if not token and not (username and password):
            raise InputError("auth", "either auth.token, or auth.username and auth.password "
                                     "(or OVIRT_TOKEN / OVIRT_USERNAME + OVIRT_PASSWORD)")
        ca_file = auth.get("ca_file")
        insecure = bool(auth.get("insecure"))
        if ca_file and not insecure and not os.path.isfile(ca_file):
            raise InputError("auth.ca_file", "a readable PEM file with the engine CA", ca_file)
        timeout = auth.get("timeout")
        timeout = DEFAULT_TIMEOUT if timeout is None else int(timeout)
        if timeout < 0:
            raise InputError("auth.timeout", "seconds >= 0 (0 = no limit)", timeout)
        if auth.get("kerberos"):
            raise InputError("auth.kerberos", "false; Kerberos login is not supported, use a token or a password")
        headers = {str(k): str(v) for k, v in (auth.get("headers") or {}).items()}
        return cls(url=url, username=username, password=password, token=token, ca_file=ca_file,
                   insecure=insecure, timeout=timeout, headers=headers)

    @property
    def plain_http(self) -> bool:
        return self.url.startswith("http:")


class EngineSession:
    """One SDK connection for the whole module run.

    Logs in once (unless a token was given), and on ``close`` logs out only
    the token it obtained itself: a token passed in stays valid for the next
    task.
    """

    def __init__(self, options: AuthOptions) -> None:
        self.options = options
        self._owned_token: Optional[str] = None
        self._connection: Any = None
        self.logout_error: Optional[EngineError] = None

    def token(self) -> str:
        """The SSO token, logging in on first use."""
        if self.options.token:
            return self.options.token
        if self._owned_token is None:
            self._owned_token = sso.obtain_token(
                self.options.url, self.options.username or "", self.options.password or "",
                ca_file=self.options.ca_file, insecure=self.options.insecure, timeout=self.options.timeout)
        return self._owned_token

    @property
    def connection(self) -> Any:
        """The ``ovirtsdk4.Connection`` (created on first use)."""
        if self._connection is None:
            if _sdk is None:
                raise EngineError("the ovirt-engine-sdk-python package (ovirtsdk4) is not installed")
            token = self.token()
            # Username and password are not handed to the SDK: it would log in
            # again on a 401 without our timeout; an expired token is an error.
            self._connection = _sdk.Connection(
                url=self.options.url, token=token, ca_file=self.options.ca_file,
                insecure=self.options.insecure, timeout=self.options.timeout,
                headers=dict(self.options.headers) or None)
        return self._connection

    @property
    def system(self) -> Any:
        """The SDK's ``SystemService``."""
        return self.connection.system_service()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close(logout=False)
            except Exception:  # releasing curl handles must not hide the real result
                pass
        token, self._owned_token = self._owned_token, None
        if token is not None:
            sso.revoke_token(self.options.url, token, ca_file=self.options.ca_file,
                             insecure=self.options.insecure, timeout=self.options.timeout)

    def __enter__(self) -> "EngineSession":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # A failed logout must not turn a finished task into a failure, nor hide the
        # first error: it is kept for the caller to report as a warning.
        try:
            self.close()
        except EngineError as error:
            self.logout_error = error
