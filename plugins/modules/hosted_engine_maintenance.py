#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_maintenance
short_description: Set hosted-engine global maintenance and hosts' local maintenance through the oVirt engine
description:
  - O(global_maintenance) uses the maintenance action of the hosted-engine VM; it is compared with the
    C(hosted_engine.global_maintenance) the hosted-engine hosts report.
  - O(hosts) sets local maintenance per host through the host's maintenance mode (the engine switches the HA agent's
    local maintenance with it), so it is compared with the host's status. A host that is up while its agent reports
    local maintenance (set on the host itself) cannot be cleared through the engine; the module says so.
  - After a change the module waits until the engine reports the new state.
  - To set maintenance when the engine is down, use the hosts' own tools instead.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  global_maintenance:
    description: Whether the HA agents leave the engine VM alone (global maintenance). Omit to leave it as it is.
    type: bool
  hosts:
    description: Hosted-engine hosts and whether each is in local maintenance.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Host name.
        type: str
        required: true
      local_maintenance:
        description: Whether the host is in local maintenance.
        type: bool
        required: true
  engine_vm:
    description: Name of the hosted-engine VM. By default the VM whose origin is C(managed_hosted_engine).
    type: str
  wait_timeout:
    description: Seconds to wait for each change to be reported.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Global maintenance before upgrading the engine
  ovirt_ha.core.hosted_engine_maintenance:
    global_maintenance: true

- name: Local maintenance for host02, none for host03
  ovirt_ha.core.hosted_engine_maintenance:
    hosts:
      - {name: host02, local_maintenance: true}
      - {name: host03, local_maintenance: false}
"""

RETURN = r"""
global_maintenance:
  description: Global maintenance after the run (in check mode, as it would be).
  returned: when O(global_maintenance) is given
  type: bool
hosts:
  description: Per host name, C(local_maintenance) after the run.
  returned: success
  type: dict
  sample: {host02: {local_maintenance: true}}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.hosted_engine import set_maintenance
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule


def check_input(params: dict) -> None:
    names = [h["name"] for h in params["hosts"]]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InputError("hosts[%d].name" % index, "each host once", name)
    if params["global_maintenance"] is None and not names:
        raise InputError("global_maintenance", "global_maintenance or hosts to be given")
    if params["wait_timeout"] <= 0:
        raise InputError("wait_timeout", "a positive number of seconds", params["wait_timeout"])


def main() -> None:
    module = EngineModule(dict(
        global_maintenance=dict(type="bool"),
        hosts=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            local_maintenance=dict(type="bool", required=True),
        )),
        engine_vm=dict(type="str"),
        wait_timeout=dict(type="int", default=600),
    ))
    params = module.params
    module.validate(check_input, params)

    def body(session) -> dict:
        return set_maintenance(session.system, params["global_maintenance"], params["hosts"], module.diff,
                               module.check_mode, engine_vm_name=params["engine_vm"],
                               timeout=params["wait_timeout"])

    module.run(body)


if __name__ == "__main__":
    main()
