#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: multipath_paths_info
short_description: Count the working paths of each multipath LUN on a host
version_added: 1.1.0
description:
  - Runs C(multipath -ll) on the host and reads every map, its path groups and paths. A path is up when it is
    C(active) in the map and its checker says C(ready) (or C(ghost), a standby path of an ALUA array).
  - Reports the LUNs with fewer working paths than O(min_paths) in RV(degraded); with O(fail_on_degraded) the
    module fails naming them.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.READ_ONLY
  - ovirt_ha.core.attributes.ACTION_GROUP_HOSTED_ENGINE
options:
  min_paths:
    description: Working paths each LUN must have.
    type: int
    default: 2
  wwids:
    description: Only these LUNs (WWIDs, or aliases); each must be present. Empty checks every map.
    type: list
    elements: str
    default: []
  fail_on_degraded:
    description: Fail when a LUN has fewer than O(min_paths) working paths, or a LUN of O(wwids) is missing.
    type: bool
    default: true
  multipath_command:
    description: The C(multipath) program.
    type: path
    default: /usr/sbin/multipath
notes:
  - Needs root (C(multipath -ll) reads the device-mapper tables).
"""

EXAMPLES = r"""
- name: Every LUN has two working paths
  ovirt_ha.core.multipath_paths_info:
    min_paths: 2
"""

RETURN = r"""
maps:
  description: Every map read, with C(wwid), C(alias), C(dm), C(vendor), C(product), C(size), C(paths_total),
    C(paths_up) and C(paths) (each with C(hcil), C(dev), C(dm_state), C(checker_state), C(online_state),
    C(group_status), C(up)).
  returned: always
  type: list
  elements: dict
degraded:
  description: LUNs below O(min_paths), each with C(wwid), C(alias), C(paths_up), C(paths_total) and C(message).
  returned: always
  type: list
  elements: dict
missing:
  description: LUNs of O(wwids) that have no map.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._storage.multipath import ParseError, parse_multipath_ll


def main():
    module = AnsibleModule(
        argument_spec=dict(
            min_paths=dict(type="int", default=2),
            wwids=dict(type="list", elements="str", default=[]),
            fail_on_degraded=dict(type="bool", default=True),
            multipath_command=dict(type="path", default="/usr/sbin/multipath"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["min_paths"] < 1:
        module.fail_json(msg="min_paths: expected 1 or more, got %d" % params["min_paths"])
    rc, out, err = module.run_command([params["multipath_command"], "-ll"])
    if rc != 0:
        module.fail_json(msg="%s -ll exited %d: %s" % (params["multipath_command"], rc, err.strip()))
    try:
        maps = parse_multipath_ll(out)
    except ParseError as error:
        module.fail_json(msg="cannot read %s -ll output: %s" % (params["multipath_command"], error))
    wanted = set(params["wwids"])
    selected = [m for m in maps if not wanted or m.wwid in wanted or m.alias in wanted]
    found = {m.wwid for m in selected} | {m.alias for m in selected if m.alias}
    missing = sorted(wanted - found)
    degraded = [{"wwid": m.wwid, "alias": m.alias, "paths_up": m.paths_up, "paths_total": len(m.paths),
                 "message": "LUN %s%s has %d working path(s) of %d, expected at least %d" % (
                     m.wwid, " (%s)" % m.alias if m.alias else "", m.paths_up, len(m.paths), params["min_paths"])}
                for m in selected if m.paths_up < params["min_paths"]]
    result = dict(changed=False, maps=[m.as_dict() for m in selected], degraded=degraded, missing=missing)
    if params["fail_on_degraded"] and (degraded or missing):
        messages = [d["message"] for d in degraded] + ["LUN %s has no multipath map" % w for w in missing]
        module.fail_json(msg="; ".join(messages), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
