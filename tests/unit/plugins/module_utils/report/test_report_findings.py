"""Findings, the report document and its four renderings, from hand-made snapshots (the lab tests make the same
findings through the real SDK: tests/playbook_tests/test_report_lab.py)."""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Dict, List

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.ovirt_ha.core.plugins.module_utils._report import document, findings, html, markdown, prometheus, render_json
from ansible_collections.ovirt_ha.core.plugins.module_utils._report.capacity import GIB

KINDS_DOC = "docs/runbooks.md"


def host(name: str, **kw: Any) -> Dict[str, Any]:
    h = {"name": name, "status": "up", "spm": False, "memory": 64 * GIB, "max_scheduling_memory": 32 * GIB, "cpus": 16,
         "power_management": {"enabled": True, "fence_agents": 1}, "hosted_engine": None}
    h.update(kw)
    return h


def vm(name: str, on: str, **kw: Any) -> Dict[str, Any]:
    v = {"name": name, "host": on, "status": "up", "high_availability": True, "priority": 50, "lease": None,
         "memory": 4 * GIB, "cpus": 2, "placement": "migratable", "placement_hosts": [], "hosted_engine": False}
    v.update(kw)
    return v


def healthy() -> Dict[str, Any]:
    return {"cluster": {"name": "Default", "id": "c1", "ha_reservation": False,
                        "fencing_policy": {"enabled": True, "skip_if_sd_active": True, "skip_if_connectivity_broken": True,
                                           "connectivity_broken_threshold": 50}},
            "hosts": [host("host01", spm=True), host("host02"), host("host03")],
            "vms": [vm("web", "host01"), vm("db", "host02", lease="data"), vm("plain", "host03", high_availability=False)],
            "storage_domains": [{"name": "data", "type": "data", "status": "active", "master": True,
                                 "used": 100 * GIB, "available": 900 * GIB}]}


def kinds(snapshot: Dict[str, Any], **kw: Any) -> List[str]:
    return sorted(f["kind"] for f in document.build(snapshot, **kw)["findings"])


def test_a_healthy_cluster_has_no_finding_and_says_so() -> None:
    doc = document.build(healthy())
    assert doc["findings"] == [] and doc["verdict"]["state"] == "ok"
    assert doc["capacity"]["host_failures_tolerated"] == 1


@pytest.mark.parametrize("change, kind", [
    (lambda s: s["vms"][0].update(status="down"), "ha_vm_down"),
    (lambda s: s["hosts"][0].update(power_management={"enabled": False, "fence_agents": 1}), "host_no_power_management"),
    (lambda s: s["hosts"][2].update(status="non_responsive"), "host_unreachable"),
    (lambda s: s["cluster"]["fencing_policy"].update(enabled=False), "fencing_disabled"),
    (lambda s: s["cluster"]["fencing_policy"].update(connectivity_broken_threshold=30), "fencing_policy_skips_next_failure"),
    (lambda s: s["storage_domains"][0].update(status="inactive"), "storage_domain_down"),
    (lambda s: s["storage_domains"][0].update(used=950 * GIB, available=50 * GIB), "storage_domain_low_space"),
    (lambda s: s["hosts"][0].update(spm=False), "spm_missing"),
    (lambda s: [h.update(max_scheduling_memory=1 * GIB) for h in s["hosts"]], "capacity_insufficient"),
])
def test_each_engine_side_kind(change: Any, kind: str) -> None:
    snapshot = healthy()
    change(snapshot)
    found = kinds(snapshot)
    assert kind in found, found
    assert all(f["runbook"] == "%s#%s" % (KINDS_DOC, f["kind"].replace("_", "-")) for f in document.build(snapshot)["findings"])


def test_unprotected_vm_needs_both_no_lease_and_no_fencing() -> None:
    snapshot = healthy()
    snapshot["hosts"][0]["power_management"] = {"enabled": False}
    assert "ha_vm_unprotected" in kinds(snapshot)
    snapshot = healthy()
    bmcs = [{"name": "host01", "failed": True, "error": {"kind": "authentication_failed", "msg": "host01: login refused"}}]
    found = document.build(snapshot, bmc_checks=bmcs)
    assert {"host_fence_check_failed", "ha_vm_unprotected"} <= {f["kind"] for f in found["findings"]}
    assert found["hosts"][0]["fence_check"] == {"state": "failed", "error": "host01: login refused"}
    assert found["verdict"]["state"] == "failing"


def test_fencing_policy_that_skips_now() -> None:
    snapshot = healthy()
    snapshot["hosts"][1]["status"] = "connecting"
    snapshot["hosts"][2]["status"] = "non_responsive"
    assert "fencing_policy_skips" in kinds(snapshot)


def he_status(**kw: Any) -> Dict[str, Any]:
    slots = {str(i): {"host-id": i, "hostname": "host0%d" % i, "score": 3400, "maintenance": False, "live-data": True,
                      "extra": "state=EngineDown\n"} for i in (1, 2, 3)}
    status = {"vm_status": dict(slots, global_maintenance=False), "engine_host": {"host_id": 1, "hostname": "host01"},
              "stale_hosts": [], "global_maintenance": False, "problems": []}
    status.update(kw)
    return status


def test_hosted_engine_kinds_from_the_metadata_volume() -> None:
    assert kinds(healthy(), he_status=he_status()) == []
    assert kinds(healthy(), he_status=he_status(stale_hosts=[3])) == ["he_stale_host"]
    assert kinds(healthy(), he_status=he_status(global_maintenance=True)) == ["he_global_maintenance"]
    gap = he_status()
    gap["vm_status"]["2"]["score"] = 1800
    found = document.build(healthy(), he_status=gap)["findings"]
    assert [(f["kind"], f["object"]) for f in found] == [("he_score_gap", "host02")]
    zero = he_status()
    for key in "123":
        zero["vm_status"][key]["score"] = 0
    assert kinds(healthy(), he_status=zero) == ["he_all_scores_zero"]
    corrupt = he_status(problems=[{"kind": "crc_mismatch", "slot": 2, "message": "slot 2: checksum"}])
    assert kinds(healthy(), he_status=corrupt) == ["he_metadata_problem"]


def test_engine_view_of_global_maintenance_is_replaced_by_the_volume() -> None:
    snapshot = healthy()
    snapshot["hosts"][0]["hosted_engine"] = {"configured": True, "global_maintenance": True, "score": 3400}
    assert kinds(snapshot) == ["he_global_maintenance"]
    doc = document.build(snapshot, he_status=he_status(global_maintenance=True))
    assert len(doc["findings"]) == 1 and "/" in doc["findings"][0]["key"]


def problems() -> Dict[str, Any]:
    snapshot = healthy()
    snapshot["vms"][0].update(status="down", host=None)
    snapshot["hosts"][1]["power_management"] = {"enabled": False}
    snapshot["storage_domains"][0]["status"] = "inactive"
    snapshot["vms"].append(vm('q"uote<b>', "host02", priority=7))
    return snapshot


def test_renderings_are_deterministic_and_escape_names() -> None:
    doc = document.build(problems(), he_status=he_status(stale_hosts=[2]))
    assert document.build(copy.deepcopy(problems()), he_status=he_status(stale_hosts=[2])) == doc
    assert json.loads(render_json.render(doc)) == doc
    page = html.render(doc)
    assert page.index('id="verdict"') < page.index('id="findings"') < page.index('id="hosts"') < page.index('id="ha-vms"') \
        < page.index('id="fencing"') < page.index('id="hosted-engine"') < page.index('id="capacity"')
    assert "FAILING" in page and 'q&quot;uote&lt;b&gt;' in page and 'q"uote<b>' not in page
    # self-contained: no script, no external stylesheet, image, font or frame
    assert not re.search(r"<script|<link|<img|<iframe|src=|url\(|@import", page, re.I)
    text = markdown.render(doc)
    assert text.startswith("# HA health report: cluster Default\n\n**FAILING**")
    assert "| critical | vm web | HA VM web is down |" in text


def test_metrics_parse_with_the_prometheus_parser() -> None:
    doc = document.build(problems(), he_status=he_status(stale_hosts=[2]),
                         bmc_checks=[{"name": "host01", "failed": False}, {"name": "host03", "failed": True, "error": {"msg": "x"}}])
    families = {f.name: f for f in text_string_to_metric_families(prometheus.render(doc))}
    assert set(families) <= set(prometheus.METRICS) and len(families) >= 20
    assert all(f.type == "gauge" for f in families.values())
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("ovirt_ha_verdict", (("cluster", "Default"), ("state", "failing")))] == 1
    assert samples[("ovirt_ha_vm_up", (("cluster", "Default"), ("host", ""), ("vm", "web")))] == 0
    assert samples[("ovirt_ha_vm_restart_priority", (("cluster", "Default"), ("vm", 'q"uote<b>')))] == 7
    assert samples[("ovirt_ha_host_fence_check_ok", (("cluster", "Default"), ("host", "host03")))] == 0
    assert ("ovirt_ha_host_fence_check_ok", (("cluster", "Default"), ("host", "host02"))) not in samples
    assert samples[("ovirt_ha_hosted_engine_host_stale", (("cluster", "Default"), ("host", "host02")))] == 1
    assert samples[("ovirt_ha_findings", (("cluster", "Default"), ("severity", "critical")))] == 3


def test_every_kind_is_documented_in_the_runbooks() -> None:
    with open(KINDS_DOC, encoding="utf-8") as handle:
        text = handle.read()
    anchors = set(re.findall(r'^## .*\{#([a-z-]+)\}$|<a id="([a-z-]+)"></a>', text, re.M))
    names = {a or b for a, b in anchors}
    assert names >= {k.replace("_", "-") for k in findings.KINDS}, sorted({k.replace("_", "-") for k in findings.KINDS} - names)
