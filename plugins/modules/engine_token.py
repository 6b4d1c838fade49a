#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: engine_token
short_description: Obtain or revoke an oVirt engine SSO token so that a play logs in once
description:
  - With O(state=present), logs in to the engine once and returns the SSO token in the C(ovirt_auth) fact,
    in the form the O(auth) option of every engine module accepts.
  - Pass it with C(module_defaults) for the group C(ovirt_ha.core.engine) and the play makes one SSO login
    however many engine tasks it runs. Modules given a token never revoke it.
  - With O(state=absent), revokes the token given in O(auth.token) (log out). Put that task in an C(always:)
    section so the token does not outlive the play.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.NO_DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  state:
    description:
      - V(present) logs in and returns a token; V(absent) revokes O(auth.token).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    details:
      - Login and logout happen in check mode too, so that the other tasks of a play run with C(--check) can read
        the engine. Neither changes the engine's configuration.
notes:
  - The returned fact holds the token. Set C(no_log=true) on the task so that verbose output does not show it.
"""

EXAMPLES = r"""
- name: Log in once
  ovirt_ha.core.engine_token:
    auth:
      url: https://engine.example.com/ovirt-engine/api
      username: admin@internal
      password: "{{ vault_engine_password }}"
      ca_file: /etc/pki/ovirt-engine/ca.pem
  no_log: true

- name: Use the token for every engine task of the play
  module_defaults:
    group/ovirt_ha.core.engine:
      auth: "{{ ovirt_auth }}"
  block:
    - name: Read the cluster
      ovirt_ha.core.cluster_info:
        cluster: Default
  always:
    - name: Log out
      ovirt_ha.core.engine_token:
        state: absent
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: success and O(state=present)
  type: dict
  contains:
    ovirt_auth:
      description:
        - The O(auth) dict to pass to other engine modules, with the token instead of the password.
      type: dict
      contains:
        url:
          description: The engine API URL.
          type: str
        token:
          description: The SSO token.
          type: str
        ca_file:
          description: The CA file used to verify the engine.
          type: str
        insecure:
          description: Whether TLS verification is disabled.
          type: bool
        timeout:
          description: Request timeout in seconds.
          type: int
        headers:
          description: Extra HTTP headers.
          type: dict
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine import sso
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.connection import AuthOptions
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule


def main() -> None:
    module = EngineModule(dict(state=dict(type="str", choices=["present", "absent"], default="present")))

    def body(options: AuthOptions) -> dict:
        if module.params["state"] == "absent":
            if not options.token:
                raise InputError("auth.token", "the token to revoke (from the ovirt_auth fact)")
            sso.revoke_token(options.url, options.token, ca_file=options.ca_file, insecure=options.insecure,
                             timeout=options.timeout)
            return {"changed": True}
        token = options.token or sso.obtain_token(
            options.url, options.username or "", options.password or "", ca_file=options.ca_file,
            insecure=options.insecure, timeout=options.timeout)
        auth = dict(url=options.url, token=token, ca_file=options.ca_file, insecure=options.insecure,
                    timeout=options.timeout, headers=options.headers or None)
        return {"changed": False, "ansible_facts": {"ovirt_auth": auth}}

    module.run_without_session(body)


if __name__ == "__main__":
    main()
