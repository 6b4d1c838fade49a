# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""New content of each hosted-engine file from the hosted_engine_config options (private, may change).

Pure functions: current bytes in, new bytes and masked before/after texts out. The caller does the I/O.
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from .answers import AnswerFile
from .errors import ConfigError, ParseError
from .hosted_engine_conf import KEYS, HostedEngineConf, check_value
from .ini_conf import IniFile, broker_values, score_values
from .validators import (check_fqdn, check_host, check_host_id, check_port, check_uuid, is_hostname,
                         is_ip_address)
from .vm_conf import VmConf

__all__ = ["ConfigError", "FILE_KINDS", "Rendered", "render_file", "hosted_engine_conf_values"]

FILE_KINDS = ("hosted_engine_conf", "answers_conf", "vm_conf", "agent_conf", "broker_conf")
NFS_TYPES = ("nfs", "nfs3", "nfs4")
_UUID_OPTIONS = ("vmid", "vm_disk_id", "vm_disk_vol_id", "sp_uuid", "sd_uuid", "connection_uuid",
                 "metadata_volume_uuid", "metadata_image_uuid", "lockspace_volume_uuid", "lockspace_image_uuid",
                 "conf_volume_uuid", "conf_image_uuid")
_SERVER_PATH = re.compile(r"\A(\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(/\S*)\Z")
_IQN = re.compile(r"\A(iqn\.\d{4}-\d{2}\.[^\s:]+(:\S+)?|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})\Z")
_UNREADABLE = "(previous content could not be parsed; it is replaced)\n"


@dataclass
class Rendered:
    content: bytes
    masked_before: str
    masked_after: str


def _prefix(name: str) -> str:
    return "hosted_engine_conf.{0}".format(name)


def hosted_engine_conf_values(params: t.Mapping[str, t.Any]) -> dict[str, str]:
    """Validated file keys and text values, in the order the setup writes them."""
    for name in _UUID_OPTIONS:
        check_uuid(_prefix(name), params[name])
    check_fqdn(_prefix("fqdn"), params["fqdn"])
    check_host_id(_prefix("host_id"), params["host_id"])
    if not is_ip_address(params["gateway"] or ""):
        raise ConfigError(_prefix("gateway"), "an IP address", params["gateway"])
    _check_storage(params)
    _check_network_test(params)
    text: dict[str, str] = {}
    for name, key in KEYS:
        value = params.get(name)
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif value is None:
            rendered = ""
        else:
            rendered = str(value)
        text[key] = check_value(_prefix(name), rendered)
    for key, value in (params.get("extra") or {}).items():
        if key in text:
            raise ConfigError(_prefix("extra.{0}".format(key)), "a key without an option of its own")
        rendered = "true" if value is True else "false" if value is False else "" if value is None else str(value)
        text[str(key)] = check_value(_prefix("extra.{0}".format(key)), rendered)
    return text


def _check_storage(params: t.Mapping[str, t.Any]) -> None:
    domain_type = params["domain_type"]
    storage = params.get("storage") or ""
    if domain_type in NFS_TYPES + ("glusterfs",):
        match = _SERVER_PATH.match(storage)
        if not match or not (is_hostname(match.group(1).strip("[]")) or is_ip_address(match.group(1).strip("[]"))):
            raise ConfigError(_prefix("storage"), "server:/path for domain_type {0}".format(domain_type),
                              storage or None)
        if domain_type == "glusterfs" and params.get("nfs_version") not in (None, "auto"):
            raise ConfigError(_prefix("nfs_version"), "auto for domain_type glusterfs", params["nfs_version"])
    elif domain_type == "iscsi":
        check_host(_prefix("storage") + " (iSCSI portal address)", storage)
        if not _IQN.match(params.get("iqn") or ""):
            raise ConfigError(_prefix("iqn"), "an iSCSI target name like iqn.2024-01.com.example:target "
                              "for domain_type iscsi", params.get("iqn") or None)
        if not str(params.get("portal") or "").isdigit():
            raise ConfigError(_prefix("portal"), "the portal group tag (a number, e.g. 1) for domain_type iscsi",
                              params.get("portal") or None)
        check_port(_prefix("port"), params.get("port") if params.get("port") is not None else 3260)
        if bool(params.get("user")) != bool(params.get("password")):
            raise ConfigError(_prefix("user"), "user and password both set (CHAP) or both empty")
    elif domain_type == "fc":
        if storage:
            raise ConfigError(_prefix("storage"), "no storage connection for domain_type fc", storage)
    if domain_type != "iscsi":
        for name in ("iqn", "portal", "user", "password", "port"):
            if params.get(name) not in (None, ""):
                raise ConfigError(_prefix(name), "empty unless domain_type is iscsi",
                                  "<secret>" if name == "password" else params[name])


def _check_network_test(params: t.Mapping[str, t.Any]) -> None:
    if params.get("network_test") == "tcp":
        check_host(_prefix("tcp_t_address") + " (network_test=tcp)", params.get("tcp_t_address") or "")
        check_port(_prefix("tcp_t_port") + " (network_test=tcp)", params.get("tcp_t_port"))
    else:
        for name in ("tcp_t_address", "tcp_t_port"):
            if params.get(name) not in (None, ""):
                raise ConfigError(_prefix(name), "empty unless network_test is tcp", params[name])


def _decode(current: bytes | None) -> str | None:
    if current is None:
        return None
    try:
        return current.decode("utf-8")
    except UnicodeDecodeError:
        return None


_OCTAL_MODE = re.compile(r"\A0?o?[0-7]{3,4}\Z")
_SYMBOLIC_CLAUSE = re.compile(r"\A([ugoa]*)([-+=])([rwxXst]*|[ugo])\Z")


def _others_may_read(mode: t.Any) -> bool:
    """Whether a file mode (int, octal string or chmod symbolic string) lets other users read the file."""
    if isinstance(mode, int):
        return bool(mode & 0o004)
    text = str(mode).strip()
    if _OCTAL_MODE.match(text):
        return bool(int(text.replace("o", ""), 8) & 0o004)
    readable = False
    for clause in text.split(","):
        match = _SYMBOLIC_CLAUSE.match(clause.strip())
        if match is None:
            return True  # a mode this check cannot read is not trusted with a secret
        who, operation, perms = match.groups()
        if who and "o" not in who and "a" not in who:
            continue
        if operation in "+=" and ("r" in perms or perms == "o"):
            readable = True
        elif operation == "=" or (operation == "-" and "r" in perms):
            readable = False
    return readable


def _secret_in(kind: str, params: t.Mapping[str, t.Any]) -> bool:
    if kind == "hosted_engine_conf":
        return bool(params.get("password"))
    if kind == "answers_conf":
        return bool(params.get("secret_values"))
    return False


def check_secret_file_mode(kind: str, params: t.Mapping[str, t.Any]) -> None:
    """A file that will hold a secret must not be readable by other users."""
    mode = params.get("mode")
    if mode is not None and _secret_in(kind, params) and _others_may_read(mode):
        raise ConfigError("{0}.mode".format(kind), "a mode without read access for others (for example "
                          "'0640'), because the file holds a secret", mode)


def render_file(kind: str, params: t.Mapping[str, t.Any], current: bytes | None) -> Rendered:
    check_secret_file_mode(kind, params)
    text = _decode(current)
    renderer = _RENDERERS[kind]
    return renderer(params, text, current is not None)


def _hosted_engine_conf(params: t.Mapping[str, t.Any], text: str | None, existed: bool) -> Rendered:
    values = hosted_engine_conf_values(params)
    conf = HostedEngineConf.parse(text or "")
    before = conf.masked() if text is not None else (_UNREADABLE if existed else "")
    conf.update(values)
    return Rendered(conf.render().encode("utf-8"), before, conf.masked())


def _answers_conf(params: t.Mapping[str, t.Any], text: str | None, existed: bool) -> Rendered:
    section = params["section"]
    secrets = dict(params.get("secret_values") or {})
    both = set(params["values"]) & set(secrets)
    if both:
        raise ConfigError("answers_conf.secret_values.{0}".format(sorted(both)[0]),
                          "a key given only once, in values or in secret_values")
    try:
        answers = AnswerFile.parse(text) if text is not None else AnswerFile()
        before = answers.masked(secrets) if text is not None else (_UNREADABLE if existed else "")
    except ParseError:
        answers, before = AnswerFile(), _UNREADABLE
    for key, value in params["values"].items():
        _set_answer(answers, section, "answers_conf.values", str(key), value, secret=False)
    for key, value in secrets.items():
        _set_answer(answers, section, "answers_conf.secret_values", str(key), value, secret=True)
    return Rendered(answers.render().encode("utf-8"), before, answers.masked(secrets))


def _set_answer(answers: AnswerFile, section: str, where: str, key: str, value: t.Any, secret: bool) -> None:
    """Set one answer; an invalid one fails naming its option path, and never quotes a secret value."""
    try:
        answers.set(key, value, section)
    except ConfigError as exc:
        raise ConfigError("{0}.{1}".format(where, key), exc.expected,
                          None if secret and exc.got != key else exc.got) from None


def _vm_conf(params: t.Mapping[str, t.Any], text: str | None, existed: bool) -> Rendered:
    conf = VmConf.build(params["params"], params.get("devices") or [], params.get("xml"))
    after = conf.render()
    before = text if text is not None else (_UNREADABLE if existed else "")
    return Rendered(after.encode("utf-8"), before, after)


def _ini(text: str | None, existed: bool, source: str) -> tuple[IniFile, str]:
    if text is None:
        return IniFile(), _UNREADABLE if existed else ""
    try:
        return IniFile.parse(text, source), text
    except ParseError:
        return IniFile(), _UNREADABLE


def _agent_conf(params: t.Mapping[str, t.Any], text: str | None, existed: bool) -> Rendered:
    values = score_values(params.get("score") or {})
    ini, before = _ini(text, existed, "agent.conf")
    for key, value in values.items():
        ini.set("score", key, value)
    after = ini.render()
    return Rendered(after.encode("utf-8"), before, after)


def _broker_conf(params: t.Mapping[str, t.Any], text: str | None, existed: bool) -> Rendered:
    sections = broker_values(params)
    ini, before = _ini(text, existed, "broker.conf")
    for section, values in sections.items():
        for key, value in values.items():
            ini.set(section, key, value)
    after = ini.render()
    return Rendered(after.encode("utf-8"), before, after)


_RENDERERS: dict[str, t.Callable[[t.Mapping[str, t.Any], t.Optional[str], bool], Rendered]] = {
    "hosted_engine_conf": _hosted_engine_conf,
    "answers_conf": _answers_conf,
    "vm_conf": _vm_conf,
    "agent_conf": _agent_conf,
    "broker_conf": _broker_conf,
}
