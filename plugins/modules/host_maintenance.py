#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_maintenance
short_description: Move an oVirt host into maintenance or activate it, and wait
description:
  - V(maintenance) - the host's deactivate action. The engine migrates the host's VMs away (on a hosted-engine host it also
    sets the agent's local maintenance); the module waits until the host is in maintenance. When the wait runs out,
    the error names the VMs still on the host.
  - V(active) - the activate action, then waits until the host is up (the engine clears local maintenance).
  - Nothing is done when the host already is in the wanted state; a host still preparing for maintenance is waited for.
version_added: 1.1.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  host:
    description: Host name.
    type: str
    required: true
  state:
    description: The wanted state.
    type: str
    choices: [maintenance, active]
    required: true
  wait_timeout:
    description: Seconds to wait for the host to reach the state.
    type: int
    default: 1200
seealso:
  - module: ovirt_ha.core.ha_capacity_info
"""

EXAMPLES = r"""
- name: Empty host02 for its updates
  ovirt_ha.core.host_maintenance:
    host: host02
    state: maintenance
    wait_timeout: 900

- name: Bring it back
  ovirt_ha.core.host_maintenance:
    host: host02
    state: active
"""

RETURN = r"""
status:
  description: The host's status after the run (in check mode, as it would be).
  returned: success
  type: str
  sample: maintenance
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.host_state import set_host_state
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.wait import positive_seconds


def main() -> None:
    module = EngineModule(dict(
        host=dict(type="str", required=True),
        state=dict(type="str", choices=["maintenance", "active"], required=True),
        wait_timeout=dict(type="int", default=1200),
    ))
    params = module.params
    timeout = module.validate(positive_seconds, params["wait_timeout"])

    def body(session) -> dict:
        return set_host_state(session.system, params["host"], params["state"], module.diff, module.check_mode, timeout=timeout)

    module.run(body)


if __name__ == "__main__":
    main()
