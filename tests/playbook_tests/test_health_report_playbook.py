"""playbooks/health_report.yml against a lab with several problems, the way a user (or AWX) runs it: the four report
files, the verdict, the job artifacts, engine events once per change, the report mailed through a local STARTTLS
server, and the HTML page rendered in headless Chromium (screenshot kept under .build/test-artifacts/).

Run: .venv/bin/pytest -p no:cacheprovider tests/playbook_tests/test_health_report_playbook.py
"""
from __future__ import annotations

import email
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import zlib
from email import policy
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.lab.testing import LabHandle, running_lab
from tests.playbook_tests.smtp_server import local_smtp

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".build" / "test-artifacts"
pytestmark = [pytest.mark.lab, pytest.mark.slow]

LAYOUT = {
    "engine_uptime": 600,
    "engine_ha": {"soft_fence": False, "power_fence": False, "ha_restart": False},
    "hosted_engine": True,
    "hosts": [{"name": "host01", "hosted_engine": True}, {"name": "host02", "hosted_engine": True, "power_management": False},
              {"name": "host03", "hosted_engine": True}, {"name": "host04"}],
    "vms": [{"name": "web", "host": "host01", "ha": True, "priority": 100, "lease": "data"},
            {"name": "app", "host": "host02", "ha": True, "priority": 50},
            {"name": "spare", "ha": True, "priority": 1},
            {"name": "batch", "host": "host04"}],
}
LASTING = {"ha_vm_down/spare", "ha_vm_unprotected/app", "host_no_power_management/host02"}
INJECTED = {"host_fence_check_failed/host04", "he_score_gap/host03"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    work = tmp_path_factory.mktemp("health-report")
    (work / "layout.yml").write_text(yaml.safe_dump(LAYOUT))
    with running_lab(str(work / "state"), virtual_clock=True, layout=str(work / "layout.yml")) as handle:
        yield handle


def run(lab: LabHandle, *args: str, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    engine = lab.info["engine"]
    full = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_SHOW_CUSTOM_STATS="true",
                ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv" / "bin" / "python"),
                OVIRT_URL=engine["url"], OVIRT_USERNAME=engine["username"], OVIRT_PASSWORD=engine["password"],
                OVIRT_CAFILE=engine["ca_file"], **env)
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", os.path.join(lab.state_dir, "inventory.yml"),
               str(ROOT / "playbooks" / "health_report.yml"), "-e", "ovirt_ha_bmc_timeout=3",
               "-e", "ovirt_ha_he_metadata_path=" + lab.info["hosted_engine"]["metadata_volume"], *args]
    return subprocess.run(command, env=full, cwd=str(ROOT), capture_output=True, text=True, timeout=300, check=False)


def our_events(lab: LabHandle) -> List[Any]:
    connection = lab.connection()
    try:
        return list(connection.system_service().events_service().list(search="origin=ovirt_ha.core", max=500))
    finally:
        connection.close()


def task_status(stdout: str, task: str) -> str:
    """``ok`` / ``changed`` / ``skipping`` / ``fatal`` of the first host line under a task's banner."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TASK [%s]" % task))
    return next(line.split(":")[0] for line in lines[start + 1:] if line.split(":")[0] in ("ok", "changed", "skipping", "fatal"))


def secrets(lab: LabHandle) -> List[str]:
    return [lab.info["engine"]["password"]] + [h["bmc"]["password"] for h in lab.info["hosts"] if h.get("bmc")]


def png_pixels(path: Path) -> Tuple[int, int, List[bytes]]:
    """Width, height and the RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: List[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line[i] for i in range(stride) if i % channels < 3))
        previous = line
    return width, height, rows


def red_share(rows: List[bytes], top: int, bottom: int) -> float:
    """Share of the pixels of rows top..bottom that are the report's critical red (#b71c1c)."""
    hits = total = 0
    for row in rows[top:bottom]:
        for x in range(0, len(row), 3):
            total += 1
            r, g, b = row[x], row[x + 1], row[x + 2]
            hits += abs(r - 0xB7) < 12 and abs(g - 0x1C) < 12 and abs(b - 0x1C) < 12
    return hits / max(1, total)


def chromium() -> str:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium found: scripts/install-debian-deps.sh installs chromium-headless-shell")
    raise AssertionError("unreachable")


def test_health_report_with_several_problems(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault("bmc_unreachable", "host04")
    lab.fault("gateway_down", "host03")
    lab.step(30)
    out = tmp_path / "report"
    with local_smtp(str(tmp_path / "smtp")) as smtp:
        mail_vars = json.dumps({"ovirt_ha_report_mail_to": ["oncall@example.com"], "ovirt_ha_report_mail_from": "ha@example.com",
                                "ovirt_ha_smtp_host": "127.0.0.1", "ovirt_ha_smtp_port": smtp.port,
                                "ovirt_ha_smtp_ca_file": smtp.ca_file})
        smtp_env = {"OVIRT_HA_SMTP_USERNAME": smtp.username, "OVIRT_HA_SMTP_PASSWORD": smtp.password}
        first = run(lab, "-e", "ovirt_ha_report_dir=%s" % out, "-e", "ovirt_ha_report_events=true", "-e", mail_vars,
                    "-e", "ovirt_ha_fail_on_problems=true", env=smtp_env)
        output = first.stdout + first.stderr
        assert first.returncode != 0, output[-3000:]
        assert "HA is broken now" in first.stdout and "CUSTOM STATS" in first.stdout and '"ovirt_ha_report"' in first.stdout
        for secret in secrets(lab) + [smtp.password]:
            assert secret not in output
        assert len(smtp.messages) == 1 and smtp.password.encode() not in smtp.messages[0]
        mail = email.message_from_bytes(smtp.messages[0], policy=policy.default)
        assert "FAILING" in str(mail["Subject"]) and {p.get_filename() for p in mail.iter_attachments()} == {"report.html", "report.json"}

    files = sorted(os.listdir(out))
    assert files == ["metrics.prom", "report.html", "report.json", "report.md"]
    assert all(stat.S_IMODE(os.stat(out / name).st_mode) == 0o640 for name in files)
    report = json.loads((out / "report.json").read_text())
    keys = {f["key"] for f in report["findings"]}
    assert keys >= LASTING | INJECTED, sorted(keys)
    assert report["verdict"]["state"] == "failing" and report["hosted_engine"]["source"] == "metadata"
    families = {f.name for f in text_string_to_metric_families((out / "metrics.prom").read_text())}
    assert {"ovirt_ha_verdict", "ovirt_ha_hosted_engine_score", "ovirt_ha_host_fence_check_ok"} <= families
    for name in files:
        assert not any(secret in (out / name).read_text() for secret in secrets(lab))
    events = our_events(lab)
    assert sorted(e.description.split("[ovirt_ha.core", 1)[1].split("key=")[1].rstrip("]") for e in events) == \
        sorted(k for k in keys)

    # the page an administrator opens: verdict first and visible, every problem on it
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "health-report.png"
    browser = chromium()
    flags = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400"]
    subprocess.run([browser, *flags, "--screenshot=%s" % shot, (out / "report.html").as_uri()], capture_output=True,
                   timeout=120, check=True)
    dom = subprocess.run([browser, *flags, "--dump-dom", (out / "report.html").as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "FAILING" in dom and report["verdict"]["text"] in dom
    for finding in report["findings"]:
        assert finding["message"].replace('"', "&quot;").replace("'", "&#x27;") in dom or finding["message"] in dom
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1280, 2400)
    assert red_share(rows, 40, 110) > 0.5, "the red FAILING verdict is not at the top of the page"
    assert red_share(rows, 130, 700) > 0.001, "no critical badge visible under the verdict"

    # a second run with nothing changed: files untouched, no new event
    mtimes = {name: os.stat(out / name).st_mtime_ns for name in files}
    again = run(lab, "-e", "ovirt_ha_report_dir=%s" % out, "-e", "ovirt_ha_report_events=true", env={})
    assert again.returncode == 0, again.stdout[-3000:]
    assert task_status(again.stdout, "Findings, admission control and the report files") == "ok"
    assert task_status(again.stdout, "Post an engine event for each finding that opened or cleared") == "ok"
    assert re.search(r"^localhost\s+: ok=\d+\s+changed=0\s", again.stdout, re.M), again.stdout[-1500:]
    assert {name: os.stat(out / name).st_mtime_ns for name in files} == mtimes
    assert len(our_events(lab)) == len(events)

    # the injected problems go away: the report changes, and the engine hears they cleared
    lab.clear_faults()
    lab.step(30)
    cleared = run(lab, "-e", "ovirt_ha_report_dir=%s" % out, "-e", "ovirt_ha_report_events=true", env={})
    assert cleared.returncode == 0, cleared.stdout[-3000:]
    assert task_status(cleared.stdout, "Findings, admission control and the report files") == "changed"
    after = json.loads((out / "report.json").read_text())
    assert {f["key"] for f in after["findings"]} == keys - INJECTED
    new = [e for e in our_events(lab) if e.id not in {x.id for x in events}]
    assert sorted(e.description.split(": ", 1)[1].split(" [")[0] for e in new) == sorted(INJECTED)
