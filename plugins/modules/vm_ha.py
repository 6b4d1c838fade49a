#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_ha
short_description: Make a list of oVirt VMs highly available, or not, in one task
description:
  - Sets the high-availability flag, restart priority, storage lease, resume behaviour after a storage error and
    placement of many VMs. Settings given at the top level apply to every entry of O(vms) that does not set them;
    settings given nowhere are left as they are.
  - Reads 1 VM list, plus 1 storage domain list when a lease is named, plus 1 host list when pinned hosts are named
    or a highly available VM has no lease. Writes one update per VM that differs. An unchanged run over any number
    of VMs therefore makes 2 requests beyond the login (3 when it both names leases and leaves some HA VM without one).
  - Warns when a highly available VM has no lease and some host of its cluster has no power management, because the
    engine could not restart it elsewhere after that host failed.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  names:
    description:
      - Names of VMs that take the top-level settings, for example an inventory group. Combined with O(vms).
    type: list
    elements: str
  vms:
    description: The VMs and their own settings. At least one of O(vms) and O(names) is needed.
    type: list
    elements: dict
    suboptions:
      name:
        description: VM name.
        type: str
        required: true
      high_availability:
        description: Whether the engine restarts the VM when it goes down with an error.
        type: bool
      priority:
        description: Restart priority, V(0) to V(100); higher restarts first (the UI's low, medium, high are 1, 50, 100).
        type: int
      lease:
        description: Storage domain that holds the VM's lease, or V("") to remove the lease.
        type: str
      resume_behaviour:
        description: What to do with the VM when it was paused by a storage error.
        type: str
        choices: [auto_resume, leave_paused, kill]
      placement:
        description: Migration policy.
        type: str
        choices: [migratable, user_migratable, pinned]
      placement_hosts:
        description: Hosts the VM may run on (required with O(vms[].placement=pinned)).
        type: list
        elements: str
  cluster:
    description: Only look for the VMs in this cluster (a smaller VM list).
    type: str
  high_availability:
    description: Default of O(vms[].high_availability).
    type: bool
  priority:
    description: Default of O(vms[].priority).
    type: int
  lease:
    description: Default of O(vms[].lease).
    type: str
  resume_behaviour:
    description: Default of O(vms[].resume_behaviour).
    type: str
    choices: [auto_resume, leave_paused, kill]
  placement:
    description: Default of O(vms[].placement).
    type: str
    choices: [migratable, user_migratable, pinned]
  placement_hosts:
    description: Default of O(vms[].placement_hosts).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Make the database VMs highly available with a lease
  ovirt_ha.core.vm_ha:
    cluster: Default
    high_availability: true
    priority: 100
    lease: data1
    resume_behaviour: kill
    vms:
      - name: db1
      - name: db2
      - name: web1
        priority: 50
        lease: ""

- name: Turn HA off for a list of VMs
  ovirt_ha.core.vm_ha:
    high_availability: false
    names: "{{ retired_vms }}"
"""

RETURN = r"""
vms:
  description: Each VM's settings after the run (in check mode, as they would be), with C(changed) per VM.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: db1, id: "123", changed: true, high_availability: true, priority: 100, lease: data1,
       resume_behaviour: kill, placement: migratable, placement_hosts: null}
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.vm_ha import apply_vm_ha, parse_specs

CHOICES = dict(resume_behaviour=["auto_resume", "leave_paused", "kill"],
               placement=["migratable", "user_migratable", "pinned"])


def settings_spec() -> dict:
    return dict(
        high_availability=dict(type="bool"),
        priority=dict(type="int"),
        lease=dict(type="str"),
        resume_behaviour=dict(type="str", choices=CHOICES["resume_behaviour"]),
        placement=dict(type="str", choices=CHOICES["placement"]),
        placement_hosts=dict(type="list", elements="str"),
    )


def main() -> None:
    vm_options = dict(name=dict(type="str", required=True), **settings_spec())
    module = EngineModule(dict(
        vms=dict(type="list", elements="dict", options=vm_options),
        names=dict(type="list", elements="str"),
        cluster=dict(type="str"),
        **settings_spec(),
    ), required_one_of=[["vms", "names"]])
    specs = module.validate(parse_specs, module.params["vms"], module.params, module.params["names"])

    def body(session) -> dict:
        vms = apply_vm_ha(session.system, specs, module.params["cluster"], module.diff, module.check_mode,
                          module.warn)
        return {"vms": vms}

    module.run(body)


if __name__ == "__main__":
    main()
