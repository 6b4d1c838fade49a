"""The archive check against archives the stand-in engine-backup writes in engine-backup's layout."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._backup.engine_archive import check_archive, parse_manifest
from ansible_collections.ovirt_ha.core.plugins.modules import engine_backup_archive_info
from ansible_collections.ovirt_ha.core.tests.unit.module_runner import run_main

STANDIN = Path(__file__).resolve().parents[4] / "lab" / "standin" / "engine_backup.py"


def standin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STANDIN), *args, "--log=%s" % (tmp_path / "backup.log")],
                          capture_output=True, text=True, check=False, timeout=60)


def make_backup(tmp_path: Path, name: str = "b.tar.gz", *extra: str) -> Path:
    path = tmp_path / name
    result = standin(tmp_path, "--mode=backup", "--file=%s" % path, *extra)
    assert result.returncode == 0, result.stderr
    return path


def kinds(report) -> list[str]:
    return [p.kind for p in report.problems]


@pytest.mark.parametrize("compressor,name", [("gzip", "b.tar.gz"), ("bzip2", "b.tar.bz2"), ("xz", "b.tar.xz"),
                                             ("None", "b.tar")])
def test_a_fresh_backup_is_complete(tmp_path, compressor, name):
    path = make_backup(tmp_path, name, "--archive-compressor=" + compressor)
    report = check_archive(str(path))
    assert report.complete, report.problems
    assert report.version == "4.5.6.1-1.el9"
    assert "engine_backup.db" in report.databases
    assert report.size == path.stat().st_size
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # and the stand-in's own verify mode agrees
    assert standin(tmp_path, "--mode=verify", "--file=%s" % path).returncode == 0


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_archive_is_incomplete(tmp_path, keep):
    path = make_backup(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    report = check_archive(str(path))
    assert not report.complete
    assert "unreadable_archive" in kinds(report)
    assert standin(tmp_path, "--mode=verify", "--file=%s" % path).returncode == 1


def rebuild(src: Path, dest: Path, change) -> None:
    """Copy an archive member by member, letting change(name, data) return new data or None to drop it."""
    with tarfile.open(src) as old, tarfile.open(dest, "w:gz") as new:
        for member in old:
            data = old.extractfile(member).read() if member.isreg() else None
            if data is not None:
                data = change(member.name, data)
                if data is None:
                    continue
                member.size = len(data)
            new.addfile(member, io.BytesIO(data) if data is not None else None)


def test_a_changed_dump_fails_its_checksum(tmp_path):
    src = make_backup(tmp_path)
    bad = tmp_path / "bad.tar.gz"
    rebuild(src, bad, lambda name, data: data + b"-- tampered\n" if name.endswith("engine_backup.db") else data)
    report = check_archive(str(bad))
    assert kinds(report) == ["checksum_mismatch"]
    assert report.problems[0].member == "db/engine_backup.db"


def test_missing_and_unlisted_members_and_no_engine_dump(tmp_path):
    src = make_backup(tmp_path)
    bad = tmp_path / "bad.tar.gz"
    rebuild(src, bad, lambda name, data: None if name.endswith("engine_backup.db") else data)
    assert kinds(check_archive(str(bad))) == ["missing_member", "missing_engine_db"]
    files_only = make_backup(tmp_path, "files.tar.gz", "--scope=files")
    assert kinds(check_archive(str(files_only))) == ["missing_engine_db"]
    assert check_archive(str(files_only), require_engine_db=False).complete
    with tarfile.open(tmp_path / "plain.tar", "w") as out, tarfile.open(src) as old:
        for member in old:
            out.addfile(member, old.extractfile(member) if member.isreg() else None)
        info = tarfile.TarInfo("./db/stray.db")
        info.size = 3
        out.addfile(info, io.BytesIO(b"abc"))
    assert kinds(check_archive(str(tmp_path / "plain.tar"))) == ["unlisted_member"]


def test_not_an_archive_and_no_file(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(os.urandom(4096))
    assert "unreadable_archive" in kinds(check_archive(str(junk)))
    assert kinds(check_archive(str(tmp_path / "absent.tar.gz"))) == ["unreadable"]


def test_manifest_lines():
    sums, problems = parse_manifest("d41d8cd98f00b204e9800998ecf8427e  ./version\n"
                                    "d41d8cd98f00b204e9800998ecf8427e *db/engine_backup.db\nnot a line\n\n")
    assert sums == {"version": "d41d8cd98f00b204e9800998ecf8427e",
                    "db/engine_backup.db": "d41d8cd98f00b204e9800998ecf8427e"}
    assert [p.kind for p in problems] == ["bad_manifest_line"]


def test_module_reports_and_fails_on_request(tmp_path, capsys):
    good = make_backup(tmp_path)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:200])
    code, out = run_main(engine_backup_archive_info.main, {"paths": [str(good), str(cut)]}, capsys)
    assert code == 0 and out["changed"] is False
    assert [a["complete"] for a in out["archives"]] == [True, False]
    assert out["incomplete"] == [str(cut)]
    code, out = run_main(engine_backup_archive_info.main, {"paths": [str(good), str(cut)],
                                                           "fail_on_incomplete": True}, capsys)
    assert code == 1 and str(cut) in out["msg"] and str(good) not in out["msg"]
    code, out = run_main(engine_backup_archive_info.main, {"paths": []}, capsys)
    assert code == 1 and out["msg"].startswith("paths:")
