#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gluster_volume_check
short_description: Check (and optionally set) the GlusterFS volume settings an oVirt storage domain needs
version_added: 1.1.0
description:
  - Reads C(gluster volume info --xml) and checks each volume for an oVirt storage domain, reported per volume
    in RV(volumes). The volume must be started, replica 3 (or 2 data bricks and an arbiter) with a brick count
    that is a multiple of 3, and have the options of the C(virt) group that HA depends on (sharding, client and
    server quorum, strict O_DIRECT, eager lock, read caches off) and the owner uid/gid 36 (vdsm:kvm).
  - With O(set_options=true) the options that differ are set with C(gluster volume set); replica count and
    status are never changed, only reported.
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_HOSTED_ENGINE
options:
  volumes:
    description: Volumes to check; each must exist. Empty checks every volume.
    type: list
    elements: str
    default: []
  set_options:
    description: Set the options that differ (C(gluster volume set VOLUME OPTION VALUE)).
    type: bool
    default: false
  fail_on_findings:
    description: Fail when a volume still has findings (after setting options, when asked).
    type: bool
    default: true
  gluster_command:
    description: The C(gluster) program.
    type: path
    default: /usr/sbin/gluster
notes:
  - Runs on one host of the trusted storage pool.
"""

EXAMPLES = r"""
- name: The engine and data volumes are fit for oVirt, setting what is missing
  ovirt_ha.core.gluster_volume_check:
    volumes: [engine, data]
    set_options: true
  run_once: true
"""

RETURN = r"""
volumes:
  description: One entry per volume with C(name), C(status), C(replica_count), C(brick_count), C(findings) (each
    with C(kind), C(option), C(expected), C(got), C(message)) and C(set) (the options set or, in check mode, to set).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._storage.gluster import (
    ParseError, check_volume, parse_volume_info)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            volumes=dict(type="list", elements="str", default=[]),
            set_options=dict(type="bool", default=False),
            fail_on_findings=dict(type="bool", default=True),
            gluster_command=dict(type="path", default="/usr/sbin/gluster"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    gluster = params["gluster_command"]

    def read():
        rc, out, err = module.run_command([gluster, "volume", "info", "--xml"])
        if rc != 0 and not out.strip():
            module.fail_json(msg="%s volume info --xml exited %d: %s" % (gluster, rc, err.strip()))
        try:
            return parse_volume_info(out)
        except ParseError as error:
            module.fail_json(msg="%s volume info --xml: %s" % (gluster, error))

    volumes = read()
    names = [v.name for v in volumes]
    missing = [name for name in params["volumes"] if name not in names]
    if missing:
        module.fail_json(msg="volumes: no gluster volume %s (there are %s)" % (", ".join(missing), ", ".join(names)))
    selected = [v for v in volumes if not params["volumes"] or v.name in params["volumes"]]
    to_set = {v.name: [(f["option"], f["expected"], f["got"]) for f in check_volume(v) if f["kind"] == "option"]
              for v in selected} if params["set_options"] else {}
    changed = any(to_set.values())
    if changed and not module.check_mode:
        for name, options in to_set.items():
            for option, value, _got in options:
                rc, _out, err = module.run_command([gluster, "--mode=script", "volume", "set", name, option, value])
                if rc != 0:
                    module.fail_json(msg="gluster volume set %s %s %s exited %d: %s" % (
                        name, option, value, rc, err.strip()))
        selected = [v for v in read() if v.name in to_set]
    report = []
    for volume in selected:
        findings = check_volume(volume)
        if module.check_mode:  # what would be left once the options are set
            findings = [f for f in findings if not (f["kind"] == "option" and to_set.get(volume.name))]
        report.append({"name": volume.name, "status": volume.status, "replica_count": volume.replica_count,
                       "brick_count": volume.brick_count, "findings": findings,
                       "set": [{"option": o, "value": v} for o, v, _got in to_set.get(volume.name, [])]})
    result = dict(changed=changed, volumes=report)
    if module._diff and changed:
        result["diff"] = {
            "before": "".join("%s %s=%s\n" % (n, o, g) for n, opts in sorted(to_set.items()) for o, _v, g in opts),
            "after": "".join("%s %s=%s\n" % (n, o, v) for n, opts in sorted(to_set.items()) for o, v, _g in opts)}
    left = [f["message"] for volume in report for f in volume["findings"]]
    if left and params["fail_on_findings"]:
        module.fail_json(msg="; ".join(left), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
