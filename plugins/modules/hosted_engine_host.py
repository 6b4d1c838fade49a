#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_host
short_description: Deploy or undeploy the hosted-engine HA services on an existing oVirt host through the engine
description:
  - Makes the host's C(hosted_engine.configured) match O(state). Nothing is done when it already does.
  - Otherwise moves the host to maintenance (when it is not already), reinstalls it with C(deploy_hosted_engine)
    or C(undeploy_hosted_engine), and waits until the host is up again (or in maintenance with O(activate=false))
    with the expected C(hosted_engine.configured).
version_added: 1.0.0
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
    description: V(deployed) runs the HA agent and broker on the host; V(undeployed) removes them.
    type: str
    choices: [deployed, undeployed]
    default: deployed
  root_password:
    description: Root password for the engine's SSH connection to the host. Without it the engine's SSH key is used.
    type: str
  activate:
    description: Activate the host after the reinstall.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each host state change (maintenance, then up).
    type: int
    default: 1200
"""

EXAMPLES = r"""
- name: Make host02 a hosted-engine host
  ovirt_ha.core.hosted_engine_host:
    host: host02

- name: Remove host03 from the hosted-engine hosts
  ovirt_ha.core.hosted_engine_host:
    host: host03
    state: undeployed
"""

RETURN = r"""
hosted_engine_configured:
  description: The host's C(hosted_engine.configured) after the run (in check mode, as it would be).
  returned: success
  type: bool
status:
  description: The host status after the run.
  returned: success
  type: str
  sample: up
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.hosted_engine import set_host_deployment
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.wait import positive_seconds


def main() -> None:
    module = EngineModule(dict(
        host=dict(type="str", required=True),
        state=dict(type="str", choices=["deployed", "undeployed"], default="deployed"),
        root_password=dict(type="str", no_log=True),
        activate=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1200),
    ))
    params = module.params
    timeout = module.validate(positive_seconds, params["wait_timeout"])

    def body(session) -> dict:
        return set_host_deployment(session.system, params["host"], params["state"] == "deployed", module.diff,
                                   module.check_mode, root_password=params["root_password"],
                                   activate=params["activate"], timeout=timeout)

    module.run(body)


if __name__ == "__main__":
    main()
