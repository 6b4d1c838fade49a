# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: one self-contained page (inline CSS, no script, no external asset) (private, may change).

The verdict comes first, then the findings, hosts, HA VMs, fencing readiness, hosted-engine scores and capacity.
"""
from __future__ import annotations

from html import escape
from typing import Any, Dict, Sequence

from .markdown import gib

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2329;background:#f4f6f8}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:1.4em;margin:8px 0 12px}h2{font-size:1.15em;margin:24px 0 8px;border-bottom:1px solid #cfd6dd}
.verdict{padding:16px 20px;border-radius:6px;font-size:1.3em;font-weight:600;color:#fff}
.verdict small{display:block;font-size:.7em;font-weight:400;margin-top:4px}
.v-ok{background:#2e7d32}.v-at_risk{background:#b26a00}.v-failing{background:#b71c1c}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{border:1px solid #dde3e8;padding:4px 8px;text-align:left;vertical-align:top}th{background:#e9edf1}
.sev{display:inline-block;padding:1px 6px;border-radius:3px;color:#fff;font-size:.85em}
.s-critical{background:#b71c1c}.s-warning{background:#b26a00}.s-info{background:#546e7a}
.bad{color:#b71c1c;font-weight:600}.good{color:#2e7d32}.muted{color:#66727d}
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "none") -> str:
    """``rows`` hold HTML already escaped."""
    if not rows:
        return '<p class="muted">%s</p>' % escape(empty)
    head = "".join("<th>%s</th>" % escape(h) for h in header)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % cell for cell in row) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def _e(value: Any) -> str:
    return "-" if value is None or value == "" else escape(str(value))


def _flag(ok: bool, yes: str = "yes", no: str = "NO") -> str:
    return '<span class="good">%s</span>' % yes if ok else '<span class="bad">%s</span>' % no


def render(doc: Dict[str, Any]) -> str:
    verdict = doc["verdict"]
    name = doc["cluster"]["name"]
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>HA health report: %s</title><style>%s</style></head><body><main>" % (_e(name), CSS),
             "<h1>HA health report: cluster %s</h1>" % _e(name),
             '<div id="verdict" class="verdict v-%s">%s<small>%s</small></div>' % (
                 _e(verdict["state"]), {"ok": "OK", "at_risk": "AT RISK", "failing": "FAILING"}.get(verdict["state"], ""),
                 _e(verdict["text"]))]
    parts.append('<h2 id="findings">Findings</h2>')
    parts.append(_table(("severity", "object", "what", "fix", "runbook"), [
        ('<span class="sev s-%s">%s</span>' % (_e(f["severity"]), _e(f["severity"])), "%s %s" % (_e(f["object_type"]), _e(f["object"])),
         _e(f["message"]), _e(f["fix"]), '<a href="%s">%s</a>' % (escape(f["runbook"], quote=True), _e(f["kind"])))
        for f in doc["findings"]], "nothing wrong found"))
    parts.append('<h2 id="hosts">Hosts</h2>')
    parts.append(_table(("host", "status", "SPM", "power management", "fence check", "free memory", "VMs", "HA VMs"), [
        (_e(h["name"]), _flag(h["status"] == "up", _e(h["status"]), _e(h["status"])), "yes" if h["spm"] else "",
         _flag(h["power_management"]),
         _flag(h["fence_check"]["state"] != "failed", _e(h["fence_check"]["state"]), "failed: %s" % _e(h["fence_check"]["error"])),
         gib(h["free_memory"]), _e(h["vms"]), _e(h["ha_vms"])) for h in doc["hosts"]]))
    parts.append('<h2 id="ha-vms">HA VMs</h2>')
    parts.append(_table(("VM", "status", "host", "priority", "lease", "restartable after its host fails"), [
        (_e(v["name"]), _flag(v["status"] == "up", _e(v["status"]), _e(v["status"])), _e(v["host"]), _e(v["priority"]),
         _e(v["lease"]), _flag(v["restartable"])) for v in doc["ha_vms"]]))
    fencing = doc["fencing"]
    policy = fencing["policy"] or {}
    parts.append('<h2 id="fencing">Fencing readiness</h2>')
    unchecked = "" if fencing["bmcs_checked"] else " (BMCs not checked)"
    parts.append("<p>%d of %d hosts can be fenced%s.</p>" % (fencing["hosts_fenceable"], fencing["hosts"], unchecked))
    parts.append(_table(("fencing enabled", "skip if storage lease live", "skip if connectivity broken", "threshold"), [
        (_flag(policy.get("enabled") is not False), _e(policy.get("skip_if_sd_active")),
         _e(policy.get("skip_if_connectivity_broken")), "%s %%" % _e(policy.get("connectivity_broken_threshold")))]))
    he = doc["hosted_engine"]
    parts.append('<h2 id="hosted-engine">Hosted-engine scores</h2>')
    if he["source"] is None:
        parts.append('<p class="muted">no hosted-engine host in this cluster</p>')
    else:
        parts.append("<p>From the %s. Engine VM on <b>%s</b>. Global maintenance: %s.</p>" % (
            "metadata volume" if he["source"] == "metadata" else "engine", _e(he["engine_host"] or "no host"),
            _flag(not he["global_maintenance"], "off", "ON")))
        parts.append(_table(("host", "score", "live", "stale", "local maintenance", "agent state", "engine VM"), [
            (_e(h["host"]), _flag(h["score"] > 0, _e(h["score"]), _e(h["score"])), _e(h["live"]),
             _flag(not h["stale"], "no", "STALE"), _e(h["local_maintenance"]), _e(h["state"]),
             "here" if h["engine_running"] else "") for h in he["hosts"]]))
    parts.append('<h2 id="storage">Storage domains</h2>')
    parts.append(_table(("domain", "type", "status", "free", "used"), [
        (_e(s["name"]), _e(s["type"]), _flag(s["status"] in ("active", None), _e(s["status"]), _e(s["status"])),
         gib(s["available"]), gib(s["used"])) for s in doc["storage_domains"]]))
    capacity = doc["capacity"]
    parts.append('<h2 id="capacity">Capacity (admission control)</h2>')
    parts.append("<p>Host failures tolerated: <b>%d</b> of %d checked; %d HA VMs, %s protected, %s free on %d hosts up."
                 "</p>" % (capacity["host_failures_tolerated"], capacity["host_failures_checked"], capacity["protected_vms"],
                           gib(capacity["protected_memory"]), gib(capacity["free_memory"]), capacity["hosts_up"]))
    rows = []
    for level in capacity["levels"]:
        breaking = level.get("breaking") or {}
        rows.append((_e(level["failures"]), _flag(level["ok"], "ok", "BREAKS"),
                     "%d%s" % (level["scenarios"], "" if level["exhaustive"] else " (not exhaustive)"),
                     _e(level["breaking_scenarios"]), _e(", ".join(breaking.get("failed_hosts") or [])),
                     "<br>".join("%s: %s" % (_e(u["vm"]), _e(u["reason"])) for u in (breaking.get("unplaced") or [])[:10])
                     or _e(breaking.get("reason"))))
    parts.append(_table(("host failures", "result", "scenarios", "breaking", "host loss that breaks", "VMs that do not fit"), rows))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
