"""The files `up` writes into the state directory: lab.json, lab.env, inventory.yml (0600: they hold secrets)."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any


def write_private(path: str, text: str) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def write_all(state_dir: str, info: dict[str, Any]) -> None:
    engine = info["engine"]
    env = {
        "OVIRT_URL": engine["url"], "OVIRT_HTTP_URL": engine["http_url"], "OVIRT_USERNAME": engine["username"],
        "OVIRT_PASSWORD": engine["password"], "OVIRT_CAFILE": engine["ca_file"], "LAB_ADMIN_URL": info["admin_url"],
        "LAB_STATE_DIR": state_dir,
    }
    write_private(os.path.join(state_dir, "lab.env"), "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in env.items()))
    lines = ["all:", "  children:", "    ovirt_hosts:", "      vars:"]
    group_vars = {"ovirt_url": engine["url"], "ovirt_username": engine["username"], "ovirt_password": engine["password"],
                  "ovirt_cafile": engine["ca_file"], "ovirt_insecure": False, "lab_admin_url": info["admin_url"]}
    lines += [f"        {k}: {_yaml_scalar(v)}" for k, v in group_vars.items()]
    lines.append("      hosts:" if info["hosts"] else "      hosts: {}")
    for host in info["hosts"]:
        lines += [f"        {host['name']}:", "          ansible_connection: local",
                  "          ansible_python_interpreter: \"{{ ansible_playbook_python }}\"",
                  f"          ovirt_host_id: {_yaml_scalar(host['id'])}", f"          ovirt_host_address: {_yaml_scalar(host['address'])}"]
        bmc = host["bmc"]
        if bmc:
            lines += [f"          bmc_address: {_yaml_scalar(bmc['address'])}", f"          bmc_port: {bmc['port']}",
                      f"          bmc_username: {_yaml_scalar(bmc['username'])}", f"          bmc_password: {_yaml_scalar(bmc['password'])}"]
    write_private(os.path.join(state_dir, "inventory.yml"), "\n".join(lines) + "\n")
    write_private(os.path.join(state_dir, "lab.json"), json.dumps(info, indent=1) + "\n")
