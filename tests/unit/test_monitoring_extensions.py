"""The shipped Prometheus alert rules and Grafana dashboard use only metrics and labels the report exporter writes."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Set

import yaml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.ovirt_ha.core.plugins.module_utils._report import document, prometheus

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "extensions" / "monitoring"
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                "sum", "min", "max", "avg", "count", "absent", "vector", "time", "rate", "label_values", "topk", "bottomk"}
GIB = 1024 ** 3


def exported_labels() -> Dict[str, Set[str]]:
    """metric -> label names, from the metrics of a report that has every section."""
    snapshot = {"cluster": {"name": "c", "fencing_policy": {"enabled": True}},
                "hosts": [{"name": "h1", "status": "up", "spm": True, "max_scheduling_memory": GIB, "memory": GIB,
                           "power_management": {"enabled": True, "fence_agents": 1}, "hosted_engine": {"configured": True, "score": 3400}}],
                "vms": [{"name": "v", "host": "h1", "status": "up", "high_availability": True, "memory": GIB}],
                "storage_domains": [{"name": "d", "status": "active", "used": GIB, "available": GIB}]}
    doc = document.build(snapshot, bmc_checks=[{"name": "h1", "failed": False}])
    labels: Dict[str, Set[str]] = {}
    for family in text_string_to_metric_families(prometheus.render(doc)):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def expressions() -> List[str]:
    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    found += [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    found += [v["query"]["query"] for v in dashboard["templating"]["list"] if isinstance(v.get("query"), dict)]
    return found


def test_every_metric_and_label_referenced_is_written() -> None:
    labels = exported_labels()
    assert set(labels) == set(prometheus.METRICS), "the rich report should write every metric"
    exprs = expressions()
    assert len(exprs) > 20
    label_names = set().union(*labels.values())
    seen = set()
    for expr in exprs:
        plain = re.sub(r'"[^"]*"', '""', expr)
        groupings = re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", plain)
        for grouping in groupings:
            for label in (x.strip() for x in grouping.split(",")):
                assert label in label_names, "no metric has the label %r (in %r)" % (label, expr)
        bare = re.sub(r"\b(?:by|on|without|ignoring)\s*\([^)]*\)", " ", plain)
        bare = re.sub(r"label_values\(([a-zA-Z0-9_:]+),\s*[a-z_]+\)", r"\1", bare)
        for name, matchers in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", bare):
            if name in PROMQL_WORDS:
                continue
            assert name in labels, "%r in %r is not a metric the report writes" % (name, expr)
            seen.add(name)
            for label in re.findall(r"([a-z_]+)\s*!?=~?", matchers or ""):
                assert label in labels[name], "%s has no label %s (in %r)" % (name, label, expr)
    assert {"ovirt_ha_verdict", "ovirt_ha_capacity_host_failures_tolerated", "ovirt_ha_vm_up"} <= seen


def test_alerts_carry_a_severity_and_a_summary() -> None:
    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text())
    for rule in rules["groups"][0]["rules"]:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        runbook = rule["annotations"].get("runbook_url")
        if runbook:
            anchor = runbook.split("#", 1)[1]
            assert '<a id="%s"></a>' % anchor in (ROOT / "docs" / "runbooks.md").read_text(), runbook
