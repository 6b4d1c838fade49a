#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hosted_engine_status
short_description: Read the hosted-engine HA state straight from the shared metadata volume
version_added: 1.0.0
description:
  - Reads the metadata volume that C(ovirt-ha-agent) on every hosted-engine host writes, and returns the
    view of C(hosted-engine --vm-status --json) with the same keys, without the engine, the broker or vdsm.
  - Adds the host running the engine VM, stale hosts, global maintenance, and the problems found in the volume
    (blocks failing their checksum, unreadable or truncated blocks, unknown metadata versions, duplicate host
    ids, every score 0, the engine VM up on several hosts).
  - A corrupt block never makes the module fail; it is reported in RV(problems).
  - Host timestamps come from each host's own monotonic clock, so a single read cannot tell a dead host from a
    live one. With O(observe_seconds) the module reads the volume again for that long and marks hosts whose
    timestamp did not change for O(liveness_timeout) seconds as stale.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.READ_ONLY
options:
  path:
    description:
      - Path of the metadata volume on a host that mounts the hosted-engine storage, for example
        C(/rhev/data-center/mnt/<server>:<path>/<sd_uuid>/ha_agent/hosted-engine.metadata).
    type: path
    required: true
  max_host_id:
    description: Highest host slot to read.
    type: int
    default: 2000
  observe_seconds:
    description:
      - How long to keep reading the volume to judge liveness. V(0) reads once; then RV(vm_status) reports
        C(live-data) true for every host whose agent did not stop cleanly, and RV(stale_hosts) is empty.
      - To find dead hosts use at least O(liveness_timeout) plus the agent's 10 second loop.
    type: float
    default: 0
  liveness_timeout:
    description: A host whose timestamp stays the same this many seconds is stale (the broker uses 60).
    type: float
    default: 60
  poll_interval:
    description: Seconds between reads while observing.
    type: float
    default: 5
notes:
  - Runs on a host that mounts the hosted-engine storage domain; needs read access to the volume (vdsm:kvm).
seealso:
  - module: ovirt_ha.core.hosted_engine_config
"""

EXAMPLES = r"""
- name: Read the hosted-engine state, engine up or not
  ovirt_ha.core.hosted_engine_status:
    path: /rhev/data-center/mnt/nfs.example.com:_exports_hosted__engine/2164faa8-b18b-4036-b686-5a6eec95081b/ha_agent/hosted-engine.metadata
  register: he

- name: Fail when no host is able to run the engine VM
  ansible.builtin.assert:
    that: he.problems | selectattr('kind', 'equalto', 'all_scores_zero') | list | length == 0
    fail_msg: "{{ he.problems }}"

- name: Find dead hosts (watch the volume for 75 seconds)
  ovirt_ha.core.hosted_engine_status:
    path: "{{ he_metadata_path }}"
    observe_seconds: 75
  register: he_live
"""

RETURN = r"""
vm_status:
  description:
    - The C(hosted-engine --vm-status --json) view. One entry per host slot in use, keyed by host id as a string,
      with the keys C(host-id), C(host-ts), C(score), C(engine-status) (a dict), C(hostname), C(maintenance),
      C(stopped), C(crc32), C(conf_on_shared_storage), C(local_conf_timestamp), C(extra), C(live-data); and
      C(global_maintenance).
    - Keys a block written by an older agent does not have are left out, as C(hosted-engine) does.
  returned: always
  type: dict
  sample: {"1": {"host-id": 1, "host-ts": 182040, "score": 3400, "hostname": host1.example.com,
                 "engine-status": {"vm": up, "health": good, "detail": Up}, "maintenance": false,
                 "stopped": false, "crc32": 8beb412e, "conf_on_shared_storage": true,
                 "local_conf_timestamp": 2345, "extra": "metadata_parse_version=1\n...", "live-data": true},
           "global_maintenance": true}
engine_host:
  description: The host reporting the engine VM up (the healthiest one if several do), or null.
  returned: always
  type: dict
  sample: {host_id: 1, hostname: host1.example.com, health: good, score: 3400}
stale_hosts:
  description: Ids of hosts whose timestamp did not change for O(liveness_timeout) while observing.
  returned: always
  type: list
  elements: int
global_maintenance:
  description: Whether global maintenance is set in the volume.
  returned: always
  type: bool
problems:
  description: What is wrong in the volume, one dict per finding with C(kind), C(slot) (or null) and C(message).
  returned: always
  type: list
  elements: dict
  sample: [{kind: crc_mismatch, slot: 3, message: "slot 3: checksum 00000000 does not match the data (5709fe93)"}]
liveness_judged:
  description: Whether the volume was observed long enough to tell live from stale hosts.
  returned: always
  type: bool
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.liveness import LivenessTracker
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.metadata import read_volume
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.vm_status import build_status

MAX_OBSERVE_SECONDS = 900


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            max_host_id=dict(type="int", default=2000),
            observe_seconds=dict(type="float", default=0),
            liveness_timeout=dict(type="float", default=60),
            poll_interval=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["max_host_id"] <= 2000:
        module.fail_json(msg="max_host_id: expected an integer from 1 to 2000, got {0}".format(params["max_host_id"]))
    if not 0 <= params["observe_seconds"] <= MAX_OBSERVE_SECONDS:
        module.fail_json(msg="observe_seconds: expected 0 to {0} seconds, got {1:g}".format(
            MAX_OBSERVE_SECONDS, params["observe_seconds"]))
    for name in ("poll_interval", "liveness_timeout"):
        if params[name] <= 0:
            module.fail_json(msg="{0}: expected a positive number of seconds, got {1:g}".format(name, params[name]))

    tracker = LivenessTracker(timeout=params["liveness_timeout"])
    deadline = time.monotonic() + params["observe_seconds"]
    while True:
        try:
            volume = read_volume(params["path"], params["max_host_id"])
        except OSError as exc:
            module.fail_json(msg="cannot read the metadata volume {0}: {1}".format(params["path"], exc.strerror))
        now = time.monotonic()
        for block in volume.hosts.values():
            tracker.observe(block.host_id, block.timestamp, now)
        if now >= deadline:
            break
        time.sleep(min(params["poll_interval"], max(0.0, deadline - now)))

    liveness = {block.host_id: tracker.is_alive(block.host_id, now) for block in volume.hosts.values()}
    result = build_status(volume, liveness)
    result["liveness_judged"] = params["observe_seconds"] >= params["liveness_timeout"]
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
