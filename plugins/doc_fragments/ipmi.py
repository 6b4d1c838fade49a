# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the options shared by the ipmi_* modules.

Mirrors CONNECTION_ARGUMENT_SPEC in plugins/module_utils/_ipmi/module.py.
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  address:
    description:
      - Host name or IP address of one BMC. Use O(bmcs) for several.
      - Exactly one of O(address) and O(bmcs) is required.
    type: str
    aliases: [host]
  name:
    description:
      - Name of the BMC given in O(address), used in results and messages, for example the host's inventory
        name. Defaults to the address (V(address:port) when the port is not 623).
    type: str
  bmcs:
    description:
      - Several BMCs handled in one task, concurrently (see O(parallel)). Each entry inherits O(port),
        O(username) and O(password) unless it sets its own.
      - Every BMC gets its own result, whatever happens to the others.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name used in results and messages, for example the host's inventory name. Must be unique.
          - Defaults to the address (V(address:port) when the port is not 623).
        type: str
      address:
        description: Host name or IP address of the BMC.
        type: str
        required: true
      port:
        description: UDP port of the BMC. Defaults to O(port).
        type: int
      username:
        description: IPMI user. Defaults to O(username).
        type: str
      password:
        description: Password of the IPMI user. Defaults to O(password).
        type: str
  port:
    description: UDP port of the BMC(s).
    type: int
    default: 623
  username:
    description:
      - IPMI user name. Defaults to the E(IPMI_USERNAME) environment variable.
    type: str
    aliases: [user]
  password:
    description:
      - Password of the IPMI user. Defaults to the E(IPMI_PASSWORD) environment variable.
      - Never logged or returned.
    type: str
  interface:
    description:
      - IPMI transport. Only V(lanplus) (IPMI 2.0 RMCP+, authenticated and encrypted) is supported;
        IPMI 1.5 (V(lan)) is not offered because its authentication is weak.
    type: str
    default: lanplus
    choices: [lanplus]
  cipher:
    description:
      - RMCP+ cipher suite. V(3) is HMAC-SHA1 with AES-128, which every IPMI 2.0 BMC supports; V(17) is
        HMAC-SHA256 with AES-128. The suite is not negotiated down; a BMC that refuses it fails the login.
      - Cipher suite 0 (no authentication) is never used.
    type: int
    default: 3
    choices: [3, 17]
  privilege:
    description:
      - Privilege level requested at login. Power control needs V(operator) or V(administrator).
    type: str
    default: administrator
    choices: [user, operator, administrator]
  timeout:
    description:
      - Seconds allowed for each exchange with a BMC, the login and every command. A BMC that has not
        completed the login by then is reported unreachable; the other BMCs of the task are not held up.
      - The hard deadline of each BMC is twice this value plus the waits the operation itself allows. A BMC
        that passes its deadline is abandoned (its worker process is killed) and reported.
    type: float
    default: 15
  parallel:
    description:
      - How many BMCs are handled at the same time. Each BMC runs in its own worker process, because
        pyghmi is not reliable with many sessions in one process.
    type: int
    default: 16
requirements:
  - pyghmi >= 1.5.60 on the host that runs the module
notes:
  - All ipmi modules belong to the action group C(ovirt_ha.core.ipmi), so the credentials can be set once
    with C(module_defaults).
  - Every session is logged out at the end, also after a failure, so BMC session slots do not leak.
  - Runs on POSIX hosts; each BMC is handled in a forked worker process.
"""
