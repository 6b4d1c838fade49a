# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The archive C(engine-backup --mode=backup) writes, and whether it is complete (private, may change).

Layout (engine-backup's own): one tar file, compressed as a whole (gzip by default; bzip2, xz or none), whose
top level holds ``version`` (the engine's package version), ``md5sum`` (``md5sum`` lines, two spaces, for every
other regular file, paths relative to the top without ``./``), ``files/`` (the engine's configuration under its
absolute paths) and ``db/`` (one dump per database: ``engine_backup.db``, ``dwh_backup.db``, ...).

An archive is complete when it can be read to its end, every file listed in ``md5sum`` is there with that
checksum, no regular file is missing from the list, and it has a version and an engine database dump (unless
made with a scope without the engine database). Reading never raises on bad data; every finding is a Problem.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import typing as t
from dataclasses import dataclass, field

CHUNK = 1 << 20
ENGINE_DUMP = "db/engine_backup.db"
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


def parse_manifest(text: str) -> tuple[dict[str, str], list[Problem]]:
    """``md5sum`` output: ``<32 hex>  <path>`` (or ``<32 hex> *<path>``), one per line."""
    sums: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        name = name[1:] if name[:1] in (" ", "*") else name
        if not sep or len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest.lower()) or not name:
            problems.append(Problem("bad_manifest_line", "md5sum", "md5sum line %d is not '<md5>  <path>': %r"
                                    % (number, line[:120])))
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


def check_archive(path: str, require_engine_db: bool = True) -> ArchiveReport:
    """Read the whole archive once and report what makes it unusable for a restore."""
    report = ArchiveReport(path=path)
    try:
        report.size, report.sha256 = _digests(path)
    except OSError as error:
        report.problems.append(Problem("unreadable", None, "cannot read %s: %s" % (path, error.strerror)))
        return report
    seen: dict[str, str] = {}
    manifest: t.Optional[str] = None
    version: t.Optional[str] = None
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
                md5 = hashlib.md5(usedforsecurity=False)
                data = b""
                for block in iter(lambda: stream.read(CHUNK), b""):
                    md5.update(block)
                    if name in ("md5sum", "version") and len(data) < MAX_MANIFEST_BYTES:
                        data += block
                if name == "md5sum":
                    manifest = data.decode("utf-8", "replace")
                    continue
                if name == "version":
                    version = data.decode("utf-8", "replace").strip()
                seen[name] = md5.hexdigest()
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
    report.files = sum(1 for name in seen if name.startswith("files/"))
    report.databases = sorted(name[3:] for name in seen if name.startswith("db/"))
    if manifest is None:
        report.problems.append(Problem("missing_manifest", "md5sum", "the archive has no md5sum manifest"))
    else:
        sums, bad = parse_manifest(manifest)
        report.problems.extend(bad)
        for name, digest in sorted(sums.items()):
            if name not in seen:
                report.problems.append(Problem("missing_member", name, "%s is in md5sum but not in the archive"
                                               % name))
            elif seen[name] != digest:
                report.problems.append(Problem("checksum_mismatch", name, "%s: md5 %s, md5sum lists %s"
                                               % (name, seen[name], digest)))
        for name in sorted(set(seen) - set(sums)):
            report.problems.append(Problem("unlisted_member", name, "%s is not in md5sum" % name))
    if not version:
        report.problems.append(Problem("missing_version", "version", "the archive has no version file"))
    if require_engine_db and ENGINE_DUMP not in seen:
        report.problems.append(Problem("missing_engine_db", ENGINE_DUMP, "the archive has no engine database dump"))
    return report
