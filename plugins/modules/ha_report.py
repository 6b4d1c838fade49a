#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: ha_report
short_description: Turn one cluster snapshot into HA findings and write the health report files
description:
  - Takes the result of M(ovirt_ha.core.cluster_info) and, when given, of M(ovirt_ha.core.hosted_engine_status)
    (the metadata volume) and of M(ovirt_ha.core.ipmi_info) (every BMC checked), and returns the findings, each with
    a severity, the object, a one-line explanation, the fix and a runbook link (C(docs/runbooks.md) of this
    collection); the verdict; and the admission-control answer of M(ovirt_ha.core.ha_capacity_info).
  - With O(dest), writes C(report.json), C(report.md), C(report.html) (one self-contained page) and C(metrics.prom)
    (the Prometheus text format, for node_exporter's textfile collector) there, each only when its content changed,
    atomically, with O(mode).
  - The files hold no time stamp, so an unchanged cluster gives unchanged files and C(changed) false.
  - Makes no connection, everything comes from its options.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_REPORT
options:
  snapshot:
    description:
      - The registered result of M(ovirt_ha.core.cluster_info) (its C(cluster), C(hosts), C(vms) and C(storage_domains)).
    type: dict
    required: true
  hosted_engine_status:
    description:
      - The registered result of M(ovirt_ha.core.hosted_engine_status). Its view of the hosted engine replaces the
        engine's (it works with the engine down, and knows stale hosts).
    type: dict
  bmc_checks:
    description:
      - The RV(ovirt_ha.core.ipmi_info#module:bmcs) list of M(ovirt_ha.core.ipmi_info). Each entry's C(name) must be
        the engine's name of the host the BMC belongs to (C(health_report.yml) uses the inventory hostnames). A host
        whose check failed counts as one the engine cannot fence.
    type: list
    elements: dict
  dest:
    description:
      - Directory to write the report files to (created with mode 0750 when missing). Without it nothing is written.
    type: path
  formats:
    description:
      - Which files to write.
    type: list
    elements: str
    choices: [json, markdown, html, prometheus]
    default: [json, markdown, html, prometheus]
  mode:
    description:
      - Mode of the files, as an octal string. Files readable by others are refused.
    type: str
    default: "0640"
    choices: ["0600", "0640", "0660"]
  host_failures:
    description: Admission control checks N = 1 up to this many failed hosts.
    type: int
    default: 1
  max_scenarios:
    description: At most this many host losses are simulated (see M(ovirt_ha.core.ha_capacity_info)).
    type: int
    default: 100000
  cpu_overcommit:
    description: vCPUs per logical CPU admission control allows on a host; unset, only the engine's CPU filter applies.
    type: float
  storage_free_percent:
    description: A storage domain with less free space than this share is a finding.
    type: float
    default: 10
  he_score_gap:
    description: A live hosted-engine host scoring this much below the best one is a finding (the agent's hand-over gap).
    type: int
    default: 800
  runbook_base_url:
    description:
      - Where the runbooks are, for the findings' links, for example the URL of this collection's C(docs/runbooks.md).
    type: str
    default: docs/runbooks.md
notes:
  - The report files name hosts, VMs and storage domains but hold no credential.
seealso:
  - module: ovirt_ha.core.cluster_info
  - module: ovirt_ha.core.ha_capacity_info
  - module: ovirt_ha.core.ha_finding_events
  - module: ovirt_ha.core.ha_report_mail
"""

EXAMPLES = r"""
- name: One snapshot of the cluster
  ovirt_ha.core.cluster_info:
    cluster: Default
  register: snap

- name: Findings and the four report files
  ovirt_ha.core.ha_report:
    snapshot: "{{ snap }}"
    dest: /var/lib/node_exporter/textfile/ovirt_ha
    mode: "0640"
  register: report

- name: Fail when HA is broken now
  ansible.builtin.fail:
    msg: "{{ report.findings | selectattr('severity', 'equalto', 'critical') | map(attribute='message') | list }}"
  when: report.verdict.state == 'failing'
"""

RETURN = r"""
verdict:
  description:
    - C(state) is V(ok), V(at_risk) (some warning, the next failure may not be survived) or V(failing) (some
      critical finding, HA is broken now); C(text) says it in words; C(counts) by severity.
  returned: always
  type: dict
  sample: {state: at_risk, text: "the cluster may not survive the next failure: 1 warning", counts: {critical: 0, warning: 1, info: 0}}
findings:
  description: The findings, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: C(kind/object), stable from one report to the next.
      type: str
    kind:
      description: What is wrong (see C(docs/runbooks.md)).
      type: str
    severity:
      description: V(critical), V(warning) or V(info).
      type: str
    object_type:
      description: V(cluster), V(host), V(vm) or V(storage_domain).
      type: str
    object:
      description: Its name.
      type: str
    message:
      description: One line saying what is wrong.
      type: str
    fix:
      description: What to do.
      type: str
    runbook:
      description: Link to the runbook of the kind.
      type: str
  sample:
    - key: host_no_power_management/host02
      kind: host_no_power_management
      severity: warning
      object_type: host
      object: host02
      message: "host host02 has no power management: the engine cannot fence it, so its HA VMs without a lease stay down when it fails"
      fix: configure a fence agent and enable power management (configure_fencing.yml)
      runbook: docs/runbooks.md#host-no-power-management
report:
  description: The whole report document, as written to C(report.json) (schema in C(docs/health-report.md)).
  returned: always
  type: dict
files:
  description: The files of O(formats) in O(dest), with C(path) and C(changed).
  returned: when O(dest) is given
  type: list
  elements: dict
  sample: [{path: /srv/report/report.json, changed: false}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_ha.core.plugins.module_utils._report.capacity import DEFAULT_MAX_SCENARIOS
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.document import build
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.findings import Thresholds
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.outputs import plan_files, render_all, write_files

FORMATS = ["json", "markdown", "html", "prometheus"]


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            snapshot=dict(type="dict", required=True),
            hosted_engine_status=dict(type="dict"),
            bmc_checks=dict(type="list", elements="dict"),
            dest=dict(type="path"),
            formats=dict(type="list", elements="str", choices=FORMATS, default=FORMATS),
            mode=dict(type="str", default="0640", choices=["0600", "0640", "0660"]),
            host_failures=dict(type="int", default=1),
            max_scenarios=dict(type="int", default=DEFAULT_MAX_SCENARIOS),
            cpu_overcommit=dict(type="float"),
            storage_free_percent=dict(type="float", default=10),
            he_score_gap=dict(type="int", default=800),
            runbook_base_url=dict(type="str", default="docs/runbooks.md"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    snapshot = params["snapshot"]
    missing = [key for key in ("cluster", "hosts", "vms") if key not in snapshot]
    if missing:
        module.fail_json(msg="snapshot: expected the result of ovirt_ha.core.cluster_info, missing %s" % ", ".join(missing))
    if params["host_failures"] < 1 or params["max_scenarios"] < 1:
        module.fail_json(msg="host_failures and max_scenarios: expected integers of at least 1, got %d and %d"
                         % (params["host_failures"], params["max_scenarios"]))
    thresholds = Thresholds(storage_free_percent=params["storage_free_percent"], he_score_gap=params["he_score_gap"])
    document = build(snapshot, params["hosted_engine_status"], params["bmc_checks"], host_failures=params["host_failures"],
                     max_scenarios=params["max_scenarios"], cpu_overcommit=params["cpu_overcommit"], thresholds=thresholds,
                     runbook_base=params["runbook_base_url"])
    result = dict(changed=False, verdict=document["verdict"], findings=document["findings"], report=document)
    if params["dest"]:
        mode = int(params["mode"], 8)
        directory = params["dest"]
        if os.path.exists(directory) and not os.path.isdir(directory):
            module.fail_json(msg="dest: expected a directory, %s is not one" % directory)
        changes = plan_files(directory, render_all(document, params["formats"]), mode)
        touched = [c for c in changes if c["content_changed"] or c["mode_changed"]]
        result["changed"] = bool(touched)
        result["files"] = [{"path": c["path"], "changed": c in touched} for c in changes]
        if module._diff:
            result["diff"] = [{"before_header": c["path"], "after_header": c["path"], "before": c["before"] or "",
                               "after": c["after"]} for c in touched if c["content_changed"]]
        if touched and not module.check_mode:
            try:
                write_files(directory, touched, mode)
            except OSError as exc:
                module.fail_json(msg="cannot write the report to %s: %s" % (directory, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
