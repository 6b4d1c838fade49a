# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.md: the document for a chat message, a ticket or a terminal (private, may change)."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

GIB = 1024 ** 3
ICONS = {"ok": "OK", "at_risk": "AT RISK", "failing": "FAILING"}


def _cell(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: List[Sequence[Any]]) -> List[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines + [""]


def gib(value: Any) -> str:
    return "-" if value is None else "%.1f GiB" % (int(value) / GIB)


def capacity_lines(capacity: Dict[str, Any]) -> List[str]:
    lines = ["Host failures tolerated: %d of %d checked (%d HA VMs, %s protected, %s free on %d hosts up)."
             % (capacity["host_failures_tolerated"], capacity["host_failures_checked"], capacity["protected_vms"],
                gib(capacity["protected_memory"]), gib(capacity["free_memory"]), capacity["hosts_up"]), ""]
    for level in capacity["levels"]:
        state = "ok" if level["ok"] else "BREAKS"
        lines.append("- %d host failure%s: %s, %d scenario%s%s, %d breaking" % (
            level["failures"], "" if level["failures"] == 1 else "s", state, level["scenarios"],
            "" if level["scenarios"] == 1 else "s", "" if level["exhaustive"] else " (not exhaustive)",
            level["breaking_scenarios"]))
        breaking = level.get("breaking")
        if breaking:
            lines.append("  - losing %s: %s" % (", ".join(breaking["failed_hosts"]) or "-", "; ".join(
                "%s (%s)" % (u["vm"], u["reason"]) for u in breaking["unplaced"][:10]) or breaking.get("reason", "")))
    return lines + [""]


def render(doc: Dict[str, Any]) -> str:
    verdict = doc["verdict"]
    lines = ["# HA health report: cluster %s" % doc["cluster"]["name"], "",
             "**%s**: %s" % (ICONS.get(verdict["state"], verdict["state"]), verdict["text"]), ""]
    lines += ["## Findings", ""]
    lines += _table(("severity", "object", "what", "fix", "runbook"),
                    [(f["severity"], "%s %s" % (f["object_type"], f["object"]), f["message"], f["fix"], f["runbook"])
                     for f in doc["findings"]])
    lines += ["## Hosts", ""]
    lines += _table(("host", "status", "SPM", "power management", "fence check", "free memory", "VMs", "HA VMs"),
                    [(h["name"], h["status"], "yes" if h["spm"] else "", "yes" if h["power_management"] else "NO",
                      h["fence_check"]["state"], gib(h["free_memory"]), h["vms"], h["ha_vms"]) for h in doc["hosts"]])
    lines += ["## HA VMs", ""]
    lines += _table(("VM", "status", "host", "priority", "lease", "restartable after its host fails"),
                    [(v["name"], v["status"], v["host"], v["priority"], v["lease"], "yes" if v["restartable"] else "NO")
                     for v in doc["ha_vms"]])
    fencing = doc["fencing"]
    policy = fencing["policy"] or {}
    text = ("%d of %d hosts can be fenced%s. Policy: enabled %s, skip if storage lease live %s, skip if connectivity "
            "broken %s (threshold %s %%).")
    values = (fencing["hosts_fenceable"], fencing["hosts"], "" if fencing["bmcs_checked"] else " (BMCs not checked)",
              policy.get("enabled"), policy.get("skip_if_sd_active"), policy.get("skip_if_connectivity_broken"),
              policy.get("connectivity_broken_threshold"))
    lines += ["## Fencing readiness", "", text % values, ""]
    he = doc["hosted_engine"]
    lines += ["## Hosted engine", ""]
    if he["source"] is None:
        lines += ["No hosted-engine host in this cluster.", ""]
    else:
        lines += ["From the %s; engine VM on %s; global maintenance %s." % (
            "metadata volume" if he["source"] == "metadata" else "engine", he["engine_host"] or "no host",
            "ON" if he["global_maintenance"] else "off"), ""]
        lines += _table(("host", "score", "live", "stale", "local maintenance", "state", "engine VM"),
                        [(h["host"], h["score"], h["live"], h["stale"], h["local_maintenance"], h["state"],
                          "here" if h["engine_running"] else "") for h in he["hosts"]])
    lines += ["## Storage domains", ""]
    lines += _table(("domain", "type", "status", "free", "used"),
                    [(s["name"], s["type"], s["status"], gib(s["available"]), gib(s["used"])) for s in doc["storage_domains"]])
    lines += ["## Capacity (admission control)", ""] + capacity_lines(doc["capacity"])
    return "\n".join(lines).rstrip("\n") + "\n"
