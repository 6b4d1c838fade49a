# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The archive C(engine-backup --mode=backup) writes, and whether it is complete (private, may change).

Layout (engine-backup's own, as ovirt-engine's packaging/bin/engine-backup.sh.in writes it): one tar file of one
directory, compressed as a whole (gzip by default; bzip2, xz or none), whose top level holds ``version`` (the
engine's package version), ``os_version``, ``config`` (dump formats and compressors), ``files`` (the engine's
configuration: itself a tar, xz-compressed by default, paths relative to /), ``db/`` (one dump per database:
``engine_backup.db``, ``dwh_backup.db``, ``keycloak_backup.db``, ``grafana.db``, ...) and the hash file:
``sha256sum`` (since ovirt-engine 4.4; ``md5sum`` before), lines of that tool's output (two spaces) for every other
regular file, paths relative to the top without ``./``. engine-backup's verify looks for sha256sum first, then md5sum.

An archive is complete when it can be read to its end, every file listed in the hash file is there with that
checksum, no regular file is missing from the list, the configuration tar (when there is one) can be read to its
end, and it has a version and an engine database dump (unless made with a scope without the engine database).
Reading never raises on bad data; every finding is a Problem.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import typing as t
from dataclasses import dataclass, field

CHUNK = 1 << 20
ENGINE_DUMP = "db/engine_backup.db"
FILES_TAR = "files"
# hash file name -> digest length; the first one present is the manifest (engine-backup's order)
HASH_FILES = {"sha256sum": 64, "md5sum": 32}
# Bounds, so that a hostile or corrupt archive cannot keep a check busy forever.
MAX_MEMBERS = 200000
MAX_MANIFEST_BYTES = 64 << 20


@dataclass
class Problem:
    kind: str
    member: t.Optional[str]
    message: str

    def as_dict(self) -> dict[str, t.Any]:
        return {"kind": self.kind, "member": self.member, "message": self.message}


@dataclass
class ArchiveReport:
    path: str
    size: int = 0
    sha256: str = ""
    version: t.Optional[str] = None
    files: int = 0
    databases: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, t.Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "version": self.version,
                "files": self.files, "databases": self.databases, "complete": self.complete,
                "problems": [p.as_dict() for p in self.problems]}


def parse_manifest(text: str, hasher: str = "sha256sum") -> tuple[dict[str, str], list[Problem]]:
    """``sha256sum`` (or ``md5sum``) output: ``<hex>  <path>`` (or ``<hex> *<path>``), one per line."""
    length = HASH_FILES[hasher]
    sums: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        name = name[1:] if name[:1] in (" ", "*") else name
        if not sep or len(digest) != length or any(c not in "0123456789abcdef" for c in digest.lower()) or not name:
            problems.append(Problem("bad_manifest_line", hasher, "%s line %d is not '<%s>  <path>': %r"
                                    % (hasher, number, hasher[:-3], line[:120])))
            continue
        sums[_normal(name)] = digest.lower()
    return sums, problems


def _normal(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def _digests(path: str) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            sha.update(block)
            size += len(block)
    return size, sha.hexdigest()


def _count_files(data: bytes) -> tuple[int, t.Optional[str]]:
    """Regular files in the configuration tar (``files``), or why it cannot be read to its end."""
    count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as inner:
            for count_so_far, member in enumerate(inner):
                if count_so_far >= MAX_MEMBERS:
                    return count, "more than %d members" % MAX_MEMBERS
                count += 1 if member.isreg() else 0
            if inner.fileobj is not None:  # to the compressor's end, as for the archive itself
                for _block in iter(lambda: inner.fileobj.read(CHUNK), b""):
                    pass
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        return count, str(error)
    return count, None


def check_archive(path: str, require_engine_db: bool = True) -> ArchiveReport:
    """Read the whole archive once and report what makes it unusable for a restore."""
    report = ArchiveReport(path=path)
    try:
        report.size, report.sha256 = _digests(path)
    except OSError as error:
        report.problems.append(Problem("unreadable", None, "cannot read %s: %s" % (path, error.strerror)))
        return report
    seen: dict[str, dict[str, str]] = {}
    manifests: dict[str, str] = {}
    version: t.Optional[str] = None
    files_tar: t.Optional[bytes] = None
    try:
        with tarfile.open(path, "r:*") as archive:
            for count, member in enumerate(archive):
                if count >= MAX_MEMBERS:
                    report.problems.append(Problem("too_many_members", None, "more than %d members" % MAX_MEMBERS))
                    break
                if not member.isreg():
                    continue
                name = _normal(member.name)
                stream = archive.extractfile(member)
                if stream is None:
                    continue
                digests = {"sha256sum": hashlib.sha256(), "md5sum": hashlib.md5(usedforsecurity=False)}
                # kept in memory: small files only (a larger configuration tar is checked, not counted)
                keep = (name in HASH_FILES or name in ("version", FILES_TAR)) and member.size <= MAX_MANIFEST_BYTES
                data = b""
                for block in iter(lambda: stream.read(CHUNK), b""):
                    for running in digests.values():
                        running.update(block)
                    if keep:
                        data += block
                if name in HASH_FILES:
                    manifests[name] = data.decode("utf-8", "replace")
                    continue
                if name == "version":
                    version = data.decode("utf-8", "replace").strip()
                if name == FILES_TAR and keep:
                    files_tar = data
                seen[name] = {hasher: running.hexdigest() for hasher, running in digests.items()}
            # tarfile stops at the end-of-archive blocks; what follows (the compressor's trailer with its own
            # checksum and length) must be read too, or an archive cut just there would pass
            if archive.fileobj is not None:
                for _block in iter(lambda: archive.fileobj.read(CHUNK), b""):
                    pass
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        # truncated or corrupt: tarfile or the decompressor stops before the end
        report.problems.append(Problem("unreadable_archive", None, "%s is not a complete archive: %s"
                                       % (os.path.basename(path), error)))
    report.version = version
    report.databases = sorted(name[3:] for name in seen if name.startswith("db/"))
    if files_tar is not None:
        report.files, why = _count_files(files_tar)
        if why is not None:
            report.problems.append(Problem("unreadable_files", FILES_TAR, "the configuration tar (files) cannot be "
                                           "read: %s" % why))
    hasher = next((name for name in HASH_FILES if name in manifests), None)
    if hasher is None:
        report.problems.append(Problem("missing_manifest", "sha256sum", "the archive has no hash file (sha256sum or "
                                       "md5sum)"))
    else:
        sums, bad = parse_manifest(manifests[hasher], hasher)
        report.problems.extend(bad)
        for name, digest in sorted(sums.items()):
            if name not in seen:
                report.problems.append(Problem("missing_member", name, "%s is in %s but not in the archive"
                                               % (name, hasher)))
            elif seen[name][hasher] != digest:
                report.problems.append(Problem("checksum_mismatch", name, "%s: %s %s, %s lists %s"
                                               % (name, hasher[:-3], seen[name][hasher], hasher, digest)))
        for name in sorted(set(seen) - set(sums)):
            report.problems.append(Problem("unlisted_member", name, "%s is not in %s" % (name, hasher)))
    if not version:
        report.problems.append(Problem("missing_version", "version", "the archive has no version file"))
    if require_engine_db and ENGINE_DUMP not in seen:
        report.problems.append(Problem("missing_engine_db", ENGINE_DUMP, "the archive has no engine database dump"))
    return report
