"""The engine_backup role's runner (roles/engine_backup/files/ovirt-ha-engine-backup), run as the timer runs it:
backups with the stand-in engine-backup, and rotation over a simulated month."""
from __future__ import annotations

import calendar
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUNNER = ROOT / "roles" / "engine_backup" / "files" / "ovirt-ha-engine-backup"
STANDIN = ROOT / "tests" / "lab" / "standin" / "engine_backup.py"
DAY = 86400


def configure(tmp_path: Path, **overrides) -> Path:
    archives = tmp_path / "archives"
    archives.mkdir(exist_ok=True)
    wrapper = tmp_path / "engine-backup"
    wrapper.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, STANDIN))
    wrapper.chmod(0o755)
    config = {"dir": str(archives), "command": str(wrapper), "scopes": ["all"], "archive_compressor": "gzip",
              "extra_args": [], "keep_count": 7, "keep_days": 14}
    config.update(overrides)
    path = tmp_path / "engine-backup.json"
    path.write_text(json.dumps(config))
    return path


def runner(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), "--config", str(config), *args], capture_output=True,
                          text=True, check=False, timeout=120)


def stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def test_run_writes_a_verified_private_archive(tmp_path):
    config = configure(tmp_path)
    result = runner(config, "run")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    archive = Path(out["archive"])
    assert archive.name.startswith("engine-backup-") and archive.name.endswith(".tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE((archive.parent / archive.name.replace(".tar.gz", ".log")).stat().st_mode) == 0o600
    assert out["size"] == archive.stat().st_size and out["rotation"]["kept"] == [archive.name]
    assert not list(archive.parent.glob("*.partial"))


def test_a_failing_verification_leaves_a_failed_file_and_exits_1(tmp_path):
    config = configure(tmp_path)
    broken = tmp_path / "engine-backup"
    # backup works, then the archive is cut before verify reads it: the real tool's verify would reject it too
    broken.write_text("#!/bin/sh\n%s %s \"$@\" || exit 1\ncase \"$*\" in *--mode=backup*)"
                      " for a; do case $a in --file=*) f=${a#--file=}; truncate -s 100 \"$f\";; esac; done;; esac\n"
                      % (sys.executable, STANDIN))
    result = runner(config, "run")
    assert result.returncode == 1 and "engine backup failed" in result.stderr
    names = [p.name for p in (tmp_path / "archives").iterdir() if not p.name.endswith(".log")]
    assert len(names) == 1 and names[0].endswith(".tar.gz.failed")


def simulate_month(tmp_path: Path, keep_count: int, keep_days: int, failed_days=()) -> tuple[list[str], float]:
    """One backup a day at 02:30 UTC for 30 days, rotation after each, as the timer does."""
    config = configure(tmp_path, keep_count=keep_count, keep_days=keep_days)
    archives = tmp_path / "archives"
    start = calendar.timegm((2026, 1, 1, 2, 30, 0, 0, 0, 0))
    for day in range(30):
        now = start + day * DAY
        suffix = ".failed" if day in failed_days else ""
        (archives / ("engine-backup-%s.tar.gz%s" % (stamp(now), suffix))).write_bytes(b"x")
        result = runner(config, "rotate", "--now", str(now + 600))
        assert result.returncode == 0, result.stderr
    return sorted(p.name for p in archives.iterdir()), start


def days(names: list[str], start: float) -> list[int]:
    return [int((calendar.timegm(time.strptime(n.split("-")[2].split(".")[0], "%Y%m%dT%H%M%SZ")) - start) // DAY)
            for n in names]


@pytest.mark.parametrize("keep_count,keep_days,expected", [
    (7, 14, list(range(23, 30))),        # count limits: the last 7
    (30, 5, list(range(25, 30))),        # age limits: at day 29 02:40, day 24 02:30 is 10 minutes too old
    (3, 0, [27, 28, 29]),                # no age limit
    (1, 1, [29]),
])
def test_rotation_over_a_month(tmp_path, keep_count, keep_days, expected):
    names, start = simulate_month(tmp_path, keep_count, keep_days)
    assert days(names, start) == expected


def test_failed_archives_go_once_a_newer_one_is_complete(tmp_path):
    names, start = simulate_month(tmp_path, 7, 14, failed_days=(10, 28))
    # day 28 failed: gone after day 29's backup, and it never counted; day 10 long gone
    assert days(names, start) == [22, 23, 24, 25, 26, 27, 29]
    assert not [n for n in names if n.endswith(".failed")]


def test_the_newest_complete_archive_stays_however_old(tmp_path):
    config = configure(tmp_path, keep_count=3, keep_days=2)
    archives = tmp_path / "archives"
    start = calendar.timegm((2026, 1, 1, 2, 30, 0, 0, 0, 0))
    for day in range(3):
        (archives / ("engine-backup-%s.tar.gz" % stamp(start + day * DAY))).write_bytes(b"x")
    dry = json.loads(runner(config, "rotate", "--now", str(start + 60 * DAY), "--dry-run").stdout)
    assert days(dry["kept"], start) == [2] and days(dry["removed"], start) == [0, 1]
    assert len(list(archives.iterdir())) == 3  # dry run removed nothing
    json.loads(runner(config, "rotate", "--now", str(start + 60 * DAY)).stdout)
    assert days(sorted(p.name for p in archives.iterdir()), start) == [2]
