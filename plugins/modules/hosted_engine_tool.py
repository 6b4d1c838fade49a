#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_tool
short_description: The hosted-engine tool's HA operations on this host, idempotent and checked against the metadata volume
version_added: 1.1.0
description:
  - Runs on a hosted-engine host, with or without the engine. Does one of the operations administrators run
    C(hosted-engine) for when the engine is down, after reading the shared metadata volume to see whether it is
    needed and safe, then reads the volume again to confirm it took effect.
  - O(maintenance) sets global, local or no maintenance (C(--set-maintenance)). Every mode writes both flags, as
    the tool does - V(local) clears global maintenance, V(global) and V(none) clear this host's local maintenance - so the
    task is unchanged only when both already match. Local maintenance is refused while this host runs the engine VM.
  - O(engine_vm) starts, shuts down or powers off the engine VM on this host (C(--vm-start), C(--vm-shutdown),
    C(--vm-poweroff)). A start is refused while another host reports the engine VM up and is not known to be dead
    (the tool itself does not check), or while this host's agent is itself starting or running it.
  - O(clean_metadata_host_id) wipes the slot of a host that no longer exists (C(--clean-metadata --host-id)). Refused
    for this host's own slot, for a host named in O(known_hosts), and for a slot whose agent did not stop cleanly
    unless the module watched it stay unchanged for O(liveness_timeout) seconds (then C(--force-cleanup) is used).
  - O(reinitialize_lockspace) wipes the hosted-engine sanlock lockspace (C(--reinitialize-lockspace)), only with
    global maintenance on, every agent stopped, no host reporting the engine VM up, and
    O(confirm_all_agents_stopped=true).
  - O(restart_services) restarts ovirt-ha-broker then ovirt-ha-agent and waits until the agent publishes again.
  - The tool's exit code is not trusted alone (C(--clean-metadata) exits 0 when it refuses); the result is judged
    from the volume.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.hosted_engine_host
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_HOSTED_ENGINE
options:
  maintenance:
    description: Maintenance mode to be in.
    type: str
    choices: [global, local, none]
  engine_vm:
    description: State of the engine VM on this host.
    type: str
    choices: [started, shutdown, poweroff]
  clean_metadata_host_id:
    description: Host id (slot) whose metadata to wipe; the host must be gone.
    type: int
  known_hosts:
    description:
      - Host names (as the agents write them, usually the FQDN) that still exist; their slots are never wiped.
    type: list
    elements: str
    default: []
  reinitialize_lockspace:
    description: Wipe and recreate the hosted-engine sanlock lockspace.
    type: bool
    default: false
  confirm_all_agents_stopped:
    description: Required with O(reinitialize_lockspace); says the operator stopped ovirt-ha-agent on every host.
    type: bool
    default: false
  restart_services:
    description: Restart ovirt-ha-broker and ovirt-ha-agent on this host.
    type: bool
    default: false
  command:
    description: The hosted-engine command.
    type: path
    default: /usr/sbin/hosted-engine
  systemctl:
    description: The systemctl command (restarts the services).
    type: path
    default: /usr/bin/systemctl
  wait:
    description:
      - Wait until the volume shows the result (the agent publishes every 10 seconds). With V(false) the task
        reports what it ran and the next read confirms.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the result, and to watch a slot before wiping it.
    type: int
    default: 120
  liveness_timeout:
    description: A slot unchanged this many seconds belongs to a dead host (the broker uses 60).
    type: int
    default: 60
notes:
  - Runs as root on a host that mounts the hosted-engine storage domain.
seealso:
  - module: ovirt_ha.core.hosted_engine_status
  - module: ovirt_ha.core.hosted_engine_reconcile
"""

EXAMPLES = r"""
- name: Global maintenance before planned storage work (engine up or down)
  ovirt_ha.core.hosted_engine_tool:
    maintenance: global

- name: Start the engine VM on this host (refused while another host may run it)
  ovirt_ha.core.hosted_engine_tool:
    engine_vm: started

- name: Wipe the slot of a host that was removed
  ovirt_ha.core.hosted_engine_tool:
    clean_metadata_host_id: 4
    known_hosts: "{{ groups['hosted_engine_hosts'] | map('extract', hostvars, 'ansible_fqdn') | list }}"

- name: Restart the HA services of a host whose agent stopped publishing
  ovirt_ha.core.hosted_engine_tool:
    restart_services: true
"""

RETURN = r"""
commands:
  description: The hosted-engine commands run (or, in check mode, that would run), as argument lists.
  returned: always
  type: list
  elements: list
  sample: [["/usr/sbin/hosted-engine", "--set-maintenance", "--mode=global"]]
before:
  description: Global maintenance and this host's slot before the task.
  returned: always
  type: dict
  sample: {global_maintenance: false, host: {host_id: 1, state: EngineUp, score: 3400, local_maintenance: false,
           stopped: false, engine_vm: up, engine_health: good, hostname: host1.example.com}}
after:
  description: The same after the task (equal to RV(before) in check mode).
  returned: always
  type: dict
verified:
  description: Whether the volume showed the result before the task ended.
  returned: always
  type: bool
host_id:
  description: This host's id from O(config).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.tool import HOST_FILE_ARGS
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.tool_module import run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            HOST_FILE_ARGS,
            maintenance=dict(type="str", choices=["global", "local", "none"]),
            engine_vm=dict(type="str", choices=["started", "shutdown", "poweroff"]),
            clean_metadata_host_id=dict(type="int"),
            known_hosts=dict(type="list", elements="str", default=[]),
            reinitialize_lockspace=dict(type="bool", default=False),
            confirm_all_agents_stopped=dict(type="bool", default=False),
            restart_services=dict(type="bool", default=False),
            command=dict(type="path", default="/usr/sbin/hosted-engine"),
            systemctl=dict(type="path", default="/usr/bin/systemctl"),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=120),
            liveness_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
