#!/usr/bin/python
# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: ha_finding_events
short_description: Post an engine event when a health-report finding opens or clears
description:
  - Compares the findings of M(ovirt_ha.core.ha_report) with the findings the engine's event log says are open
    (this module's own external events, origin C(ovirt_ha.core)) and posts one event per change; an event when a
    finding appears, with its severity, message, fix and runbook; one when it goes away. A finding that stays
    posts nothing, so a report scheduled every few minutes does not flood the event log.
  - Idempotent through the engine itself. Each event's C(custom_id) is derived from the cluster, the finding, the
    change and how many times the finding opened before, and the engine refuses a second event with the same
    origin and C(custom_id). Two reports racing post each change once, and any controller can run the next one.
  - Costs 2 requests (the cluster and the event log) plus one per change.
version_added: 1.0.0
author:
  - ovirt_ha.core maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ovirt_ha.core.engine
  - ovirt_ha.core.attributes.CHECK_MODE
  - ovirt_ha.core.attributes.DIFF_MODE
  - ovirt_ha.core.attributes.ACTION_GROUP_ENGINE
options:
  cluster:
    description:
      - Name of the cluster the findings are about.
    type: str
    required: true
  findings:
    description:
      - The RV(ovirt_ha.core.ha_report#module:findings) of M(ovirt_ha.core.ha_report); each needs C(key),
        C(severity), C(object_type), C(message), C(fix) and C(runbook).
    type: list
    elements: dict
    required: true
  snapshot:
    description:
      - The M(ovirt_ha.core.cluster_info) result the findings came from; when given, events about a host or a VM are
        linked to it in the engine.
    type: dict
  event_window:
    description:
      - How many of the newest C(ovirt_ha.core) events to read to know which findings are open.
    type: int
    default: 5000
seealso:
  - module: ovirt_ha.core.ha_report
"""

EXAMPLES = r"""
- name: Tell the engine's event log what changed since the last report
  ovirt_ha.core.ha_finding_events:
    cluster: Default
    findings: "{{ report.findings }}"
    snapshot: "{{ snap }}"
"""

RETURN = r"""
opened:
  description: Findings that opened in this run, with C(key), C(state) (V(open)) and C(episode).
  returned: success
  type: list
  elements: dict
  sample: [{key: ha_vm_down/web, state: open, episode: 1}]
cleared:
  description: Findings that cleared in this run, with C(key), C(state) (V(clear)) and C(episode).
  returned: success
  type: list
  elements: dict
already_posted:
  description: Keys whose event another run had posted already (the engine refused the duplicate).
  returned: success
  type: list
  elements: str
open_before:
  description: Keys the event log held as open before this run.
  returned: success
  type: list
  elements: str
api_requests:
  description: Number of API requests made, login excluded.
  returned: success
  type: int
"""

from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.errors import InputError
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.module import EngineModule
from ansible_collections.ovirt_ha.core.plugins.module_utils._engine.objects import get_cluster
from ansible_collections.ovirt_ha.core.plugins.module_utils._ha.audit import AuditLog
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.events import (
    DEFAULT_WINDOW, OPEN, object_ids, open_findings, post, read_records, transitions)

REQUIRED = ("key", "severity", "object_type", "message", "fix", "runbook")


def main() -> None:
    module = EngineModule(dict(
        cluster=dict(type="str", required=True),
        findings=dict(type="list", elements="dict", required=True),
        snapshot=dict(type="dict"),
        event_window=dict(type="int", default=DEFAULT_WINDOW),
    ))
    params = module.params
    for index, finding in enumerate(params["findings"]):
        missing = [key for key in REQUIRED if key not in finding]
        if missing:
            module.fail(InputError("findings[%d]" % index, "a finding of ovirt_ha.core.ha_report (with %s)" % ", ".join(REQUIRED),
                                   "no %s" % ", ".join(missing)))

    def body(session) -> dict:
        cluster = get_cluster(session.system, params["cluster"])
        records = read_records(session.system, params["event_window"])
        before = sorted(key for _episode, key in open_findings(records, cluster.id).values())
        changes = transitions(params["findings"], records, cluster.id)
        log = AuditLog(session.system, cluster.id, cluster.name)
        repeated = []
        if not module.check_mode:
            ids = object_ids(params["snapshot"])
            for change in changes:
                if not post(log, change, ids):
                    repeated.append(change.key)
        after = sorted(set(before) - {c.key for c in changes if c.state != OPEN} | {c.key for c in changes if c.state == OPEN})
        module.diff.note("cluster %s" % cluster.name, "open findings", before, after)
        return dict(changed=bool(changes), opened=[c.as_dict() for c in changes if c.state == OPEN],
                    cleared=[c.as_dict() for c in changes if c.state != OPEN], already_posted=repeated,
                    open_before=before, api_requests=2 + log.requests)

    module.run(body)


if __name__ == "__main__":
    main()
