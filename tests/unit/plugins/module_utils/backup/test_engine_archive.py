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
    assert report.databases == ["dwh_backup.db", "engine_backup.db", "grafana.db", "keycloak_backup.db"]
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
                                    "d41d8cd98f00b204e9800998ecf8427e *db/engine_backup.db\nnot a line\n\n", "md5sum")
    assert sums == {"version": "d41d8cd98f00b204e9800998ecf8427e",
                    "db/engine_backup.db": "d41d8cd98f00b204e9800998ecf8427e"}
    assert [p.kind for p in problems] == ["bad_manifest_line"]
    empty = hashlib.sha256(b"").hexdigest()
    sums, problems = parse_manifest("%s  files\nd41d8cd98f00b204e9800998ecf8427e  version\n" % empty)
    assert sums == {"files": empty} and [p.member for p in problems] == ["sha256sum"]


def test_the_layout_engine_backup_writes(tmp_path):
    """ovirt-engine's engine-backup.sh.in: a sha256sum hash file, the configuration as a tar of its own (xz), version,
    os_version, config with the dump settings, db/ with pg_dump custom-format dumps."""
    path = make_backup(tmp_path, "b.tar.gz", "--db-compressor=gzip")
    with tarfile.open(path) as archive:
        names = sorted(m.name for m in archive if m.isreg())
        assert names == ["./config", "./db/dwh_backup.db", "./db/engine_backup.db", "./db/grafana.db",
                         "./db/keycloak_backup.db", "./files", "./os_version", "./sha256sum", "./version"]
        manifest = archive.extractfile("./sha256sum").read().decode()
        assert sorted(line.split("  ", 1)[1] for line in manifest.splitlines()) == sorted(n[2:] for n in names if n != "./sha256sum")
        assert "DB_DUMP_COMPRESSOR=gzip" in archive.extractfile("./config").read().decode().splitlines()
        with tarfile.open(fileobj=io.BytesIO(archive.extractfile("./files").read()), mode="r:xz") as files:
            assert all(not m.name.startswith("/") for m in files)
    # the tool's verify reads the engine dump as the config says it was written
    assert standin(tmp_path, "--mode=verify", "--file=%s" % path).returncode == 0


def test_an_archive_with_an_md5sum_hash_file_is_checked_with_it(tmp_path):
    """Archives of engine-backup before 4.4 carry md5sum instead of sha256sum."""
    src = make_backup(tmp_path)
    old = tmp_path / "old.tar"
    with tarfile.open(src) as archive, tarfile.open(old, "w") as out:
        md5 = b""
        for member in archive:
            data = archive.extractfile(member).read() if member.isreg() else None
            if member.name == "./sha256sum":
                continue
            if data is not None:
                md5 += b"%s  %s\n" % (hashlib.md5(data).hexdigest().encode(), member.name[2:].encode())
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        info = tarfile.TarInfo("./md5sum")
        info.size = len(md5)
        out.addfile(info, io.BytesIO(md5))
    report = check_archive(str(old))
    assert report.complete, report.problems
    assert standin(tmp_path, "--mode=verify", "--file=%s" % old).returncode == 0
    bad = tmp_path / "bad.tar.gz"
    rebuild(old, bad, lambda name, data: data + b"x" if name == "./version" else data)
    assert kinds(check_archive(str(bad))) == ["checksum_mismatch"]
    assert standin(tmp_path, "--mode=verify", "--file=%s" % bad).returncode == 1


def test_a_broken_configuration_tar_or_dump_is_found(tmp_path):
    src = make_backup(tmp_path)

    def cut_files(name, data):
        return data[: len(data) // 2] if name == "./files" else data

    bad = tmp_path / "bad.tar.gz"
    rebuild(src, bad, cut_files)
    assert kinds(check_archive(str(bad))) == ["unreadable_files", "checksum_mismatch"]
    assert standin(tmp_path, "--mode=verify", "--file=%s" % bad).returncode == 1
    # a dump that is not pg_dump's custom format, with a hash file that matches it: only the tool's verify sees it
    with tarfile.open(src) as archive:
        lines = archive.extractfile("./sha256sum").read().decode().splitlines()
    junk = b"not a dump"
    fixed = "".join("%s  %s\n" % (hashlib.sha256(junk).hexdigest(), line.split("  ", 1)[1])
                    if line.endswith("db/engine_backup.db") else line + "\n" for line in lines).encode()
    rebuild(src, bad, lambda name, data: junk if name == "./db/engine_backup.db" else fixed if name == "./sha256sum" else data)
    assert check_archive(str(bad)).complete
    done = standin(tmp_path, "--mode=verify", "--file=%s" % bad)
    assert done.returncode == 1 and "does not appear to be a valid archive" in done.stderr


def test_verify_refuses_a_backup_of_another_version(tmp_path):
    path = make_backup(tmp_path)
    newer = subprocess.run([sys.executable, str(STANDIN), "--mode=verify", "--file=%s" % path, "--log=%s" % (tmp_path / "v.log")],
                           capture_output=True, text=True, check=False, timeout=60,
                           env=dict(os.environ, ENGINE_BACKUP_STANDIN_INSTALLED_VERSION="4.4.10.7-1.el8"))
    assert newer.returncode == 1 and "can not be restored using the installed version 4.4.10.7-1.el8" in newer.stderr
    assert standin(tmp_path, "--mode=backup", "--file=%s" % (tmp_path / "x.tar.gz"), "--scope=dwh").returncode == 1


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
