"""Stand-in for the engine's C(engine-backup) in test containers: the same options (the ones the collection uses),
the same archive layout, the same verify mode, no database server.

Archive, as upstream ovirt-engine's packaging/bin/engine-backup.sh.in writes it (checked against ovirt-engine master,
see docs/engine_backup.md "What was checked upstream"): a tar of one directory, compressed as a whole
(--archive-compressor, gzip by default), holding

- ``files``: the engine's configuration paths, itself a tar (paths relative to /, --files-compressor, xz by default);
- ``db/``: one dump per database in scope and set up here: ``engine_backup.db``, ``dwh_backup.db``,
  ``keycloak_backup.db``, ``grafana.db`` (``cinderlib_backup.db`` and ``managedblock_backup.db`` only where those
  are enabled, which the stand-in's engine is not); pg_dump's custom format by default (--db-dump-format);
- ``version`` (the engine package's version), ``os_version`` (e.g. ``centos9``), ``config`` (the dump formats and
  compressors, for restore);
- ``sha256sum``: ``sha256sum`` lines (two spaces) for every other regular file, paths relative to the top
  (older versions wrote ``md5sum``; verify accepts either, sha256sum first).

--mode=verify unpacks the archive, checks the hash file, checks that the backup's version can be restored here
(same X.Y, not newer than the installed engine), and reads the vdc_options table out of the engine database dump
with pg_restore, as the real tool does (without pg_restore on the machine: the custom format's header). The dumps are
a small real custom-format archive (CUSTOM_DUMP), plain SQL with --db-dump-format=plain, or for the engine the file
ENGINE_BACKUP_STANDIN_DB names. Exit 1 with ``FATAL: ...`` on errors, as the real tool does.
"""
from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import lzma
import os
import re
import shutil
import sys
import tarfile
import subprocess
import tempfile
import time
import zlib

CONFIG_PATHS = ["/etc/ovirt-engine", "/etc/pki/ovirt-engine", "/etc/ovirt-engine-setup.conf.d",
                "/etc/httpd/conf.d/ovirt-engine-root-redirect.conf", "/etc/httpd/conf.d/ssl.conf",
                "/etc/httpd/conf.d/z-ovirt-engine-proxy.conf", "/etc/firewalld/services/ovirt-https.xml"]
# scope -> (dump file under db/, option prefix of its dump settings, saved in config, set up on the stand-in's engine)
DATABASES = {"db": ("engine_backup.db", "db", "DB", True), "dwhdb": ("dwh_backup.db", "dwh-db", "DWH_DB", True),
             "cinderlibdb": ("cinderlib_backup.db", "cinderlib-db", None, False),
             "managedblockdb": ("managedblock_backup.db", "managedblock-db", "MANAGEDBLOCK_DB", False),
             "keycloakdb": ("keycloak_backup.db", "keycloak-db", "KEYCLOAK_DB", True),
             "grafanadb": ("grafana.db", None, None, True)}
SCOPES = {"all", "files", *DATABASES}
COMPRESSORS = {"gzip": "gz", "bzip2": "bz2", "xz": "xz", "None": ""}
STREAMS = {"gzip": gzip, "bzip2": bz2, "xz": lzma}
HASHERS = ("sha256sum", "md5sum")  # verify looks for them in this order; backup writes the first
VERSION = os.environ.get("ENGINE_BACKUP_STANDIN_VERSION", "4.5.6.1-1.el9")
INSTALLED = os.environ.get("ENGINE_BACKUP_STANDIN_INSTALLED_VERSION", VERSION)
OS_VERSION = os.environ.get("ENGINE_BACKUP_STANDIN_OS", "centos9")
PGDMP = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
# A real pg_dump -Fc archive (PostgreSQL 15; one table vdc_options with the ProductRPMVersion row), so that
# pg_restore can list and read it as it reads the engine's own dumps. Made once with initdb, psql and pg_dump.
CUSTOM_DUMP = zlib.decompress(base64.b64decode(
    "eNqlVt1u2zYUVrpubdR26LD1Z8Cw8c7O6giWZxtJi16oEpMYkyVNppMFKCAwMusIU2RPkoP1YsVeYQ+xV9qu9i7jjyTLjtS6ngDSJnl0+J3vfI"
    "eUc2wMnZ3Ppdt3dyT+fMO6F6y7zbpbrLvHundS/nxGG4mmQUSkb+lftaeoB6BpkIsAR4CP9tvPJuRC7SzUvU1MuP8vH+T+GZJ21t+lPbR02xhY"
    "x6sDjow5H0EE/DAgUeqRyJ9NgmgKXoLGGB0dNF7IO8xPbSd9StsbHCaEDz8pYvyqEo3MtkPGCLkUwWh9yBE1M0RJiqMJjieeP4vezOIrispL0p"
    "j+JAzdLNoe26N6bFBz9RNHQyfrQ47tgM+ZUEdgPvV8nOJwNlUSknKQwbTZSAiO/UtvjtPLRgs0aOMA9rbG+rjAyuSkdvodbqr2fzjoloXEUmto"
    "SHuljaAAG9Gmu1BDEOQLQBiDswE6AQgOHZOtvgQpuZqHOCVtkKujEAAwbV0zoee49unAgC5dCIMLP5tmZrpCDfeZVKTHDIRrO+sbVkdfhl8X/j"
    "/Savi9wyL8Ppf99cT3ZvM0mEUJX6H7mhkB/y4J4LNgvrgIA18pvQKaMqCPGHnBBARRSqYkBpaNgDU2zVZ5PcJXBPiXOMZ+Sm2ucfyWyrGpttt7"
    "1S9c43BBKLu/pWvr1yROqEGFsy71ZcAjbWwi0JiSiMQ4bDx/fsNQppKSvsv5rosvI54zLVaXZF4SPN8kBX/Xp6Anfb2aAq9g0kvIr1yUI/jTmK"
    "oqy8mfy5zkCxWwV91wxrRRnhs+HCHNRULHKp8YWNTtEFoIvDrPpiwbDAfWqWaOYTHWfl6OdU0/gUClPLZzHjfGdJPYD+iaE9pRe2vkPqk8it7P"
    "6hclVoF9ZkGDxizoPaNNMxEt040jKTxUWCqFZbmCPzro7lrQv98vK6rTb3cLRR1Kj1ZjX9amdIdlSZSGiPZdEa3Qv22ZVVEAYaPb5nholWqd3T"
    "J5qUW0Rmm1NhsfoovWYkymfoiThFWgsQZh893FOSm231ZN3VxVNep6+CATVqar+qNTzo9OfnRzFyUIiFWt7VSS2yxCapXPydbKGdjKT7w9cOTa"
    "Q3q5068MSt925XPrr3tZgE+3KJ/75fKhGhB8Hddd7ZupogXUFkjjxepN/78r5Y/1SunnOTzs8i/NcibK6Oa/kLc8qbpt0c8rbWAh8T2KN6sZce"
    "YaBli+f8M/cNzBUHPPwY/wvCQDVhZHG1YmL4L3bFFzf33sMbsjKuF7Rt2uE88mCz91neGp0ORuV+kpfUXdVxUSHu5ml67Mnb5WZFnmPv4D73aJ"
    "IQ=="))


def die(message: str, log: str | None = None) -> None:
    write_log(log, "FATAL: " + message)
    sys.stderr.write("FATAL: %s\n" % message)
    sys.exit(1)


def write_log(log: str | None, message: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as stream:
            stream.write("%s %d: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.getpid(), message))


def parse(argv: list[str]) -> dict[str, object]:
    opts: dict[str, object] = {"mode": None, "scope": [], "file": None, "log": None, "archive-compressor": "gzip",
                               "files-compressor": "xz"}
    dump_options = {"%s-%s" % (prefix, kind) for _f, prefix, _c, _e in DATABASES.values() if prefix
                    for kind in ("compressor", "dump-format")}
    for arg in argv:
        key, _eq, value = arg.partition("=")
        key = key[2:] if key.startswith("--") else ""
        if key == "scope":
            if value not in SCOPES:
                die("invalid scope '%s'" % value)
            opts["scope"].append(value)  # type: ignore[union-attr]
        elif key in ("mode", "file", "log", "archive-compressor", "files-compressor"):
            opts[key] = value
        elif key in dump_options:
            opts[key] = value
        elif key.endswith("-restore-jobs") or key in ("provision-all-databases", "restore-permissions"):
            continue  # restore options: accepted, as the real tool does
        else:
            die("invalid argument '%s'" % arg)
    if opts["mode"] not in ("backup", "restore", "verify"):
        die("--mode=<backup|restore|verify> is missing or invalid")
    if not opts["file"]:
        die("--file is missing")
    if not opts["log"]:
        die("--log is missing")
    for key in ["archive-compressor", "files-compressor"] + sorted(k for k in dump_options if k.endswith("compressor")):
        if key in opts and opts[key] not in COMPRESSORS:
            die("invalid compressor '%s'" % opts[key])
    for key in sorted(k for k in dump_options if k.endswith("dump-format")):
        if key in opts and opts[key] not in ("plain", "custom"):
            die("invalid dump format '%s'" % opts[key])
    return opts


def dump_settings(opts: dict[str, object], prefix: str | None) -> tuple[str, str]:
    """(compressor, format) of one database's dump: no compressor and pg_dump's custom format unless given."""
    if prefix is None:
        return "None", "custom"
    return str(opts.get(prefix + "-compressor", "None")), str(opts.get(prefix + "-dump-format", "custom"))


def write_dump(path: str, name: str, compressor: str, dump_format: str) -> None:
    source = os.environ.get("ENGINE_BACKUP_STANDIN_DB")
    if source and name == "engine_backup.db":
        with open(source, "rb") as stream:
            data = stream.read()
    elif name == "grafana.db":
        data = b"SQLite format 3\x00" + b"\x00" * 84  # a copy of grafana's SQLite file
    else:
        text = b"-- PostgreSQL database dump (stand-in, %s)\nSELECT 1;\n" % name.encode()
        data = CUSTOM_DUMP if dump_format == "custom" else text
    if compressor != "None":
        data = STREAMS[compressor].compress(data)
    with open(path, "wb") as stream:
        stream.write(data)


def backup(opts: dict[str, object]) -> None:
    log = str(opts["log"])
    scopes = set(opts["scope"]) or {"all"}  # type: ignore[arg-type]
    write_log(log, "Start of engine-backup mode backup scope %s file %s" % (",".join(sorted(scopes)), opts["file"]))
    print("Start of engine-backup with mode 'backup'")
    print("Backing up:")
    with tempfile.TemporaryDirectory(prefix="engine-backup.") as work:
        top = os.path.join(work, "tar")
        os.makedirs(os.path.join(top, "db"))
        if scopes & {"all", "files"}:
            print("- Files")
            mode = ("w:" + COMPRESSORS[str(opts["files-compressor"])]).rstrip(":")
            with tarfile.open(os.path.join(top, "files"), mode) as files:
                for path in CONFIG_PATHS:
                    if os.path.exists(path):
                        files.add(path, arcname=path.lstrip("/"))
        config = []
        for scope, (name, prefix, saved, enabled) in DATABASES.items():
            compressor, dump_format = dump_settings(opts, prefix)
            if saved:
                config += ["%s_DUMP_COMPRESSOR=%s" % (saved, "" if compressor == "None" else compressor),
                           "%s_DUMP_FORMAT=%s" % (saved, dump_format)]
            if enabled and scopes & {"all", scope}:
                print("- %s database" % name.split("_", maxsplit=1)[0].split(".", maxsplit=1)[0].capitalize())
                write_dump(os.path.join(top, "db", name), name, compressor, dump_format)
        for name, content in (("version", VERSION), ("os_version", OS_VERSION), ("config", "\n".join(sorted(config)))):
            with open(os.path.join(top, name), "w", encoding="utf-8") as stream:
                stream.write(content + "\n")
        lines = []
        for folder, _dirs, names in os.walk(top):
            for name in sorted(names):
                full = os.path.join(folder, name)
                if not os.path.islink(full):
                    with open(full, "rb") as stream:
                        lines.append("%s  %s\n" % (hashlib.sha256(stream.read()).hexdigest(), os.path.relpath(full, top)))
        with open(os.path.join(top, HASHERS[0]), "w", encoding="utf-8") as stream:
            stream.writelines(lines)
        print("Packing into file '%s'" % opts["file"])
        mode = ("w:" + COMPRESSORS[str(opts["archive-compressor"])]).rstrip(":")
        with tarfile.open(str(opts["file"]), mode) as archive:
            archive.add(top, arcname=".")
    write_log(log, "Done.")
    print("Done.")


def x_y(version: str) -> str:
    return ".".join(version.split(".")[:2])


def version_key(version: str) -> list[tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.-]", version)]


def verify_hashes(work: str, log: str) -> None:
    for hasher in HASHERS:
        manifest = os.path.join(work, hasher)
        if os.path.exists(manifest):
            break
    else:
        die("No supported hash file found", log)
    with open(manifest, encoding="utf-8") as stream:
        for line in stream:
            digest, _sep, name = line.rstrip("\n").partition("  ")
            member = os.path.join(work, name)
            if not os.path.isfile(member):
                die("Checksum verification failed", log)
            with open(member, "rb") as data:
                if hashlib.new(hasher[:-3], data.read()).hexdigest() != digest:
                    die("Checksum verification failed", log)


def verify_engine_dump(work: str, log: str) -> None:
    dump = os.path.join(work, "db", DATABASES["db"][0])
    if not os.path.exists(dump) or not os.path.getsize(dump):
        return
    settings = {}
    try:
        with open(os.path.join(work, "config"), encoding="utf-8") as stream:
            for line in stream:
                key, _eq, value = line.strip().partition("=")
                settings[key] = value
    except OSError as error:
        die("cannot read the backup's config: %s" % error.strerror, log)
    with open(dump, "rb") as stream:
        data = stream.read()
    compressor = settings.get("DB_DUMP_COMPRESSOR", "")
    try:
        data = STREAMS[compressor].decompress(data) if compressor else data
    except (OSError, EOFError, ValueError, lzma.LZMAError) as error:
        die("Failed verifying the engine database backup: %s" % error, log)
    if settings.get("DB_DUMP_FORMAT", "custom") != "custom":
        return
    if not shutil.which("pg_restore"):  # no PostgreSQL client here: the format's header at least
        if not data.startswith(PGDMP):
            die("Failed verifying the engine database backup: pg_restore: error: input file does not appear to be a "
                "valid archive", log)
        return
    # what the real tool does: the vdc_options table out of the dump
    done = subprocess.run(["pg_restore", "-f", "-", "-t", "vdc_options"], input=data, capture_output=True, check=False)
    if done.returncode != 0:
        die("Failed verifying the engine database backup: %s" % done.stderr.decode("utf-8", "replace").strip(), log)


def verify(opts: dict[str, object]) -> None:
    log = str(opts["log"])
    path = str(opts["file"])
    if not os.path.exists(path):
        die("%s does not exist" % path, log)
    print("Start of engine-backup with mode 'verify'")
    print("Verifying:")
    print("- Unpacking file '%s'" % path)
    with tempfile.TemporaryDirectory(prefix="engine-backup.") as work:
        try:
            with tarfile.open(path, "r:*") as archive:
                members = archive.getmembers()
                for member in members:
                    if member.name.startswith("/") or ".." in member.name.split("/"):
                        die("unsafe member %s in %s" % (member.name, path), log)
                archive.extractall(work, members=members)  # noqa: S202 - names checked above
                # to the end of the compressed stream, as tar | gzip -d does
                for _block in iter(lambda: archive.fileobj.read(1 << 20), b""):
                    pass
        except (tarfile.TarError, EOFError, OSError) as error:
            write_log(log, "cannot open %s: %s" % (path, error))
            die("cannot open %s" % work, log)
        verify_hashes(work, log)
        try:
            with open(os.path.join(work, "version"), encoding="utf-8") as stream:
                backed_up = stream.read().strip()
        except OSError:
            die("the backup has no version file", log)
        if x_y(backed_up) != x_y(INSTALLED) or version_key(backed_up) > version_key(INSTALLED):
            die("Backup was created by version '%s' and can not be restored using the installed version %s"
                % (backed_up, INSTALLED), log)
        if os.path.exists(os.path.join(work, "db", DATABASES["db"][0])):
            print("- Engine database")
            verify_engine_dump(work, log)
    write_log(log, "Done.")
    print("Done.")


def main() -> None:
    opts = parse(sys.argv[1:])
    if opts["mode"] == "restore":
        die("the stand-in does not restore", str(opts["log"]))
    {"backup": backup, "verify": verify}[str(opts["mode"])](opts)


if __name__ == "__main__":
    main()
