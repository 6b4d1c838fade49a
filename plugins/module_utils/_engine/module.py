# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one AnsibleModule wrapper of the engine modules (private, may change).

It owns the ``auth`` option (mirrored by the ``ovirt_ha.core.engine`` doc
fragment), the ovirtsdk4 dependency guard, the engine session (one per module
run, closed and logged out at the end unless a token was passed in) and the
translation of every typed error into one ``fail_json``.
"""
from __future__ import annotations

import configparser
import os
import traceback
from typing import Any, Callable, Dict, NoReturn, Optional, TypeVar

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.errors import AnsibleFallbackNotFound

from .._module_wrapper import ModuleWrapper
from .connection import AuthOptions, EngineSession
from .diff import DifferenceTracker
from .errors import EngineAuthError, EngineError

try:
    import ovirtsdk4  # noqa: F401, pylint: disable=unused-import
    SDK_IMPORT_ERROR: Optional[str] = None
except ImportError:
    SDK_IMPORT_ERROR = traceback.format_exc()

T = TypeVar("T")


def ca_file_fallback() -> str:
    """OVIRT_CAFILE, else the C(ovirt_ca_file) of the ini file OVIRT_INI_PATH names.

    AWX's "Red Hat Virtualization" credential sets OVIRT_URL, OVIRT_USERNAME and OVIRT_PASSWORD but gives its CA
    file only in the ini file it writes for the ovirt4 inventory plugin; without reading it, a job against an engine
    with a private CA could verify TLS only by turning verification off.
    """
    if os.environ.get("OVIRT_CAFILE"):
        return os.environ["OVIRT_CAFILE"]
    path = os.environ.get("OVIRT_INI_PATH")
    if path:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error):
            raise AnsibleFallbackNotFound  # pylint: disable=raise-missing-from
        value = parser.get("ovirt", "ovirt_ca_file", fallback="").strip()
        if value:
            return value
    raise AnsibleFallbackNotFound


AUTH_OPTIONS: Dict[str, Any] = dict(
    url=dict(type="str", fallback=(env_fallback, ["OVIRT_URL"])),
    username=dict(type="str", fallback=(env_fallback, ["OVIRT_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["OVIRT_PASSWORD"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["OVIRT_TOKEN"])),
    ca_file=dict(type="path", fallback=(ca_file_fallback,)),
    insecure=dict(type="bool", default=False),
    timeout=dict(type="int", default=180),
    headers=dict(type="dict"),
    # Accepted so that ovirt.ovirt's ovirt_auth fact can be passed unchanged.
    compress=dict(type="bool"),
    kerberos=dict(type="bool", default=False),
)

AUTH_ARGUMENT_SPEC: Dict[str, Any] = dict(
    auth=dict(type="dict", options=AUTH_OPTIONS, apply_defaults=True, no_log=False),
)


class EngineModule(ModuleWrapper):
    """Wraps AnsibleModule for the engine modules.

    ``run(body)`` opens the session, calls ``body(session)`` which returns
    the result dict, closes the session and exits; an ``EngineError``
    anywhere becomes one ``fail_json``.
    """

    def __init__(self, argument_spec: Dict[str, Any], **kwargs: Any) -> None:
        spec = dict(argument_spec)
        spec.update(AUTH_ARGUMENT_SPEC)
        super().__init__(spec, library="ovirt-engine-sdk-python (ovirtsdk4)", import_error=SDK_IMPORT_ERROR,
                         **kwargs)
        self.diff = DifferenceTracker()

    @property
    def diff_mode(self) -> bool:
        return bool(self.ansible._diff)

    def warn(self, message: str) -> None:
        self.ansible.warn(message)

    def auth_options(self) -> AuthOptions:
        options = AuthOptions.from_params(self.params.get("auth"))
        if options.insecure:
            self.warn("auth.insecure is true: the engine's TLS certificate is not verified")
        elif options.plain_http:
            self.warn("auth.url uses plain http://: credentials and tokens travel unencrypted")
        return options

    def validate(self, parse: Callable[..., T], *args: Any) -> T:
        """Run an input check/parser before connecting; its InputError fails the task."""
        try:
            return parse(*args)
        except EngineError as error:
            self.fail(error)

    def fail(self, error: EngineError) -> NoReturn:
        self.ansible.fail_json(**error.to_result())
        raise AssertionError("unreachable")  # fail_json exits

    def exit(self, result: Dict[str, Any]) -> NoReturn:
        result = dict(result)
        result.setdefault("changed", self.diff.changed)
        if self.diff_mode and "diff" not in result:
            result["diff"] = self.diff.diff()
        self.ansible.exit_json(**result)
        raise AssertionError("unreachable")

    def run(self, body: Callable[[EngineSession], Dict[str, Any]]) -> NoReturn:
        options: Optional[AuthOptions] = None
        try:
            options = self.auth_options()
            session = EngineSession(options)
            try:
                with session:
                    result = body(session)
            finally:
                if session.logout_error is not None:
                    self.warn("logging out of the engine failed: %s" % session.logout_error)
        except EngineAuthError as error:
            if options is not None and options.token:
                error.message = ("the engine refused auth.token (expired or revoked; get a new one with "
                                 "ovirt_ha.core.engine_token): " + error.message)
            self.fail(error)
        except EngineError as error:
            self.fail(error)
        self.exit(result)

    def run_without_session(self, body: Callable[[AuthOptions], Dict[str, Any]]) -> NoReturn:
        """For modules that manage the login themselves (engine_token)."""
        try:
            result = body(self.auth_options())
        except EngineError as error:
            self.fail(error)
        self.exit(result)
