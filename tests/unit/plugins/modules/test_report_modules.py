"""ha_report: findings in the exit JSON, the four files written once (0640 or 0600), check mode and diff."""
from __future__ import annotations

import os
import stat
from typing import Any, Dict

from ansible_collections.ovirt_ha.core.plugins.modules import ha_report
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main

GIB = 1024 ** 3


def snapshot(down: bool = False) -> Dict[str, Any]:
    return {"changed": False, "api_requests": 4,
            "cluster": {"name": "Default", "id": "c1", "ha_reservation": False, "fencing_policy": {"enabled": True}},
            "hosts": [{"name": n, "status": "up", "spm": n == "host01", "memory": 64 * GIB, "max_scheduling_memory": 32 * GIB,
                       "cpus": 8, "power_management": {"enabled": n != "host02", "fence_agents": 1}, "hosted_engine": None}
                      for n in ("host01", "host02")],
            "vms": [{"name": "web", "host": None if down else "host01", "status": "down" if down else "up",
                     "high_availability": True, "priority": 50, "lease": None, "memory": 2 * GIB, "cpus": 2,
                     "placement_hosts": [], "hosted_engine": False}],
            "storage_domains": []}


def test_findings_without_files(capsys: Any) -> None:
    rc, result = run_main(ha_report.main, {"snapshot": snapshot()}, capsys)
    assert rc == 0 and result["changed"] is False and "files" not in result
    assert [f["key"] for f in result["findings"]] == ["host_no_power_management/host02"]
    assert result["verdict"]["state"] == "at_risk"


def test_writes_once_then_unchanged_and_check_mode_writes_nothing(tmp_path: Any, capsys: Any) -> None:
    dest = str(tmp_path / "out")
    args = {"snapshot": snapshot(), "dest": dest}
    rc, checked = run_main(ha_report.main, args, capsys, check_mode=True, diff=True)
    assert rc == 0 and checked["changed"] is True and not os.path.exists(dest)
    assert len(checked["diff"]) == 4 and checked["diff"][0]["before"] == ""
    rc, first = run_main(ha_report.main, args, capsys)
    assert rc == 0 and first["changed"] is True
    names = sorted(os.listdir(dest))
    assert names == ["metrics.prom", "report.html", "report.json", "report.md"]
    for name in names:
        assert stat.S_IMODE(os.stat(os.path.join(dest, name)).st_mode) == 0o640
    rc, again = run_main(ha_report.main, args, capsys, diff=True)
    assert rc == 0 and again["changed"] is False and again["diff"] == []
    rc, tighter = run_main(ha_report.main, dict(args, mode="0600"), capsys)
    assert tighter["changed"] is True and stat.S_IMODE(os.stat(os.path.join(dest, "report.json")).st_mode) == 0o600
    rc, changed = run_main(ha_report.main, dict(args, snapshot=snapshot(down=True), mode="0600"), capsys, diff=True)
    assert changed["changed"] is True
    assert sorted(os.path.basename(d["after_header"]) for d in changed["diff"]) == names
    assert '"ha_vm_down"' in open(os.path.join(dest, "report.json"), encoding="utf-8").read()


def test_only_some_formats_and_bad_input(tmp_path: Any, capsys: Any) -> None:
    rc, result = run_main(ha_report.main, {"snapshot": snapshot(), "dest": str(tmp_path), "formats": ["prometheus"]}, capsys)
    assert rc == 0 and [os.path.basename(f["path"]) for f in result["files"]] == ["metrics.prom"]
    rc, bad = run_main(ha_report.main, {"snapshot": {"hosts": []}}, capsys)
    assert rc == 1 and "missing cluster, vms" in bad["msg"]
    rc, world = run_main(ha_report.main, {"snapshot": snapshot(), "dest": str(tmp_path), "mode": "0644"}, capsys)
    assert rc == 1 and "0644" in world["msg"]
