# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the options shared by the engine modules.

Mirrors AUTH_ARGUMENT_SPEC in plugins/module_utils/_engine/module.py.
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth:
    description:
      - How to reach and log in to the oVirt engine. Keys and environment fallbacks are those of
        the C(ovirt.ovirt) collection, so its C(ovirt_auth) fact can be passed unchanged.
      - Either O(auth.token), or O(auth.username) and O(auth.password) are needed.
      - The module opens one connection for the whole task. It logs in once and logs out at the end,
        unless a token was given, which stays valid (see M(ovirt_ha.core.engine_token)).
    type: dict
    suboptions:
      url:
        description:
          - The engine API URL, for example V(https://engine.example.com/ovirt-engine/api).
          - Defaults to the E(OVIRT_URL) environment variable.
          - Required (directly or through the environment).
        type: str
      username:
        description:
          - The user, for example V(admin@internal). Defaults to E(OVIRT_USERNAME).
        type: str
      password:
        description:
          - The user's password. Defaults to E(OVIRT_PASSWORD).
        type: str
      token:
        description:
          - An SSO token used instead of a login, for example the C(token) returned by M(ovirt_ha.core.engine_token).
            Defaults to E(OVIRT_TOKEN). A token given here is never revoked by the module.
        type: str
      ca_file:
        description:
          - PEM file with the CA that signed the engine's certificate. Defaults to E(OVIRT_CAFILE), else to the
            C(ovirt_ca_file) of the C([ovirt]) section of the ini file E(OVIRT_INI_PATH) names (the file AWX's
            "Red Hat Virtualization" credential writes, with its C(CA File) field).
          - Without it the system's trusted CAs are used. The certificate is always verified unless
            O(auth.insecure=true).
        type: path
      insecure:
        description:
          - Do not verify the engine's TLS certificate. The module warns when this is set.
        type: bool
        default: false
      timeout:
        description:
          - Limit in seconds for each HTTP request, login included. V(0) means no limit.
        type: int
        default: 180
      headers:
        description:
          - Extra HTTP headers sent with every API request.
        type: dict
      compress:
        description:
          - Accepted for compatibility with C(ovirt.ovirt)'s C(ovirt_auth) fact; ignored.
        type: bool
      kerberos:
        description:
          - Accepted for compatibility with C(ovirt.ovirt); V(true) is refused (Kerberos login is not supported).
        type: bool
        default: false
requirements:
  - ovirt-engine-sdk-python >= 4.6.0 (Python module C(ovirtsdk4)) on the host that runs the module
notes:
  - All engine modules belong to the action group C(ovirt_ha.core.engine), so O(auth) can be set once
    with C(module_defaults).
"""
