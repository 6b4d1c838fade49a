"""Stand-in for the engine's C(engine-backup) in test containers: the same options (the ones the collection uses),
the same archive layout, the same verify mode, no database server.

Archive (as the real tool writes it): a tar compressed as a whole (--archive-compressor, gzip by default) with
``version``, ``md5sum`` (``md5sum`` lines for every other regular file, paths relative to the top), ``files/``
(the engine's configuration paths copied under their absolute path) and ``db/<name>_backup.db`` per database in
scope. The database dump is the file ENGINE_BACKUP_STANDIN_DB names (a plain SQL text, by default a small
generated one). Exit 1 with ``FATAL: ...`` on errors, as the real tool does.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time

CONFIG_PATHS = ["/etc/ovirt-engine", "/etc/pki/ovirt-engine", "/etc/ovirt-engine-setup.conf.d",
                "/etc/httpd/conf.d/ovirt-engine-root-redirect.conf", "/etc/httpd/conf.d/ssl.conf",
                "/etc/httpd/conf.d/z-ovirt-engine-proxy.conf", "/etc/firewalld/services/ovirt-https.xml"]
SCOPES = {"all", "files", "db", "dwh", "cinderlib", "grafanadb", "keycloak"}
DATABASES = {"db": "engine", "dwh": "dwh", "cinderlib": "cinderlib", "keycloak": "keycloak"}
COMPRESSORS = {"gzip": "gz", "bzip2": "bz2", "xz": "xz", "None": ""}
VERSION = os.environ.get("ENGINE_BACKUP_STANDIN_VERSION", "4.5.6.1-1.el9")


def die(message: str, log: str | None = None) -> None:
    write_log(log, "FATAL: " + message)
    sys.stderr.write("FATAL: %s\n" % message)
    sys.exit(1)


def write_log(log: str | None, message: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as stream:
            stream.write("%s %d: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.getpid(), message))


def parse(argv: list[str]) -> dict[str, object]:
    opts: dict[str, object] = {"mode": None, "scope": [], "file": None, "log": None, "archive-compressor": "gzip"}
    for arg in argv:
        key, _eq, value = arg.partition("=")
        key = key[2:] if key.startswith("--") else ""
        if key == "scope":
            if value not in SCOPES:
                die("invalid scope '%s'" % value)
            opts["scope"].append(value)  # type: ignore[union-attr]
        elif key in ("mode", "file", "log", "archive-compressor"):
            opts[key] = value
        elif key in ("files-compressor", "db-compressor", "db-dump-format", "dwh-db-compressor",
                     "dwh-db-dump-format", "keycloak-db-compressor", "keycloak-db-dump-format"):
            continue  # accepted, as the real tool does; the stand-in's dumps are plain text
        else:
            die("invalid argument '%s'" % arg)
    if opts["mode"] not in ("backup", "restore", "verify"):
        die("--mode=<backup|restore|verify> is missing or invalid")
    if not opts["file"]:
        die("--file is missing")
    if not opts["log"]:
        die("--log is missing")
    if opts["archive-compressor"] not in COMPRESSORS:
        die("invalid archive compressor '%s'" % opts["archive-compressor"])
    return opts


def backup(opts: dict[str, object]) -> None:
    log = str(opts["log"])
    scopes = set(opts["scope"]) or {"all"}  # type: ignore[arg-type]
    write_log(log, "Start of engine-backup mode backup scope %s file %s" % (",".join(sorted(scopes)), opts["file"]))
    print("Start of engine-backup with mode 'backup'")
    with tempfile.TemporaryDirectory(prefix="engine-backup.") as work:
        top = os.path.join(work, "tar")
        os.makedirs(os.path.join(top, "files"))
        os.makedirs(os.path.join(top, "db"))
        if scopes & {"all", "files"}:
            print("- Files")
            for path in CONFIG_PATHS:
                if os.path.exists(path):
                    target = os.path.join(top, "files", path.lstrip("/"))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    if os.path.isdir(path):
                        shutil.copytree(path, target, symlinks=True)
                    else:
                        shutil.copy2(path, target)
        for scope, name in DATABASES.items():
            if scopes & {"all", scope}:
                print("- %s database" % name.capitalize())
                dump = os.path.join(top, "db", "%s_backup.db" % name)
                source = os.environ.get("ENGINE_BACKUP_STANDIN_DB")
                if source and name == "engine":
                    shutil.copyfile(source, dump)
                else:
                    with open(dump, "w", encoding="utf-8") as stream:
                        stream.write("-- PostgreSQL database dump (stand-in, %s)\nSELECT 1;\n" % name)
        with open(os.path.join(top, "version"), "w", encoding="utf-8") as stream:
            stream.write(VERSION + "\n")
        lines = []
        for folder, _dirs, files in os.walk(top):
            for name in sorted(files):
                full = os.path.join(folder, name)
                if os.path.islink(full):
                    continue
                with open(full, "rb") as stream:
                    lines.append("%s  %s\n" % (hashlib.md5(stream.read()).hexdigest(), os.path.relpath(full, top)))
        with open(os.path.join(top, "md5sum"), "w", encoding="utf-8") as stream:
            stream.writelines(lines)
        print("Packing into file '%s'" % opts["file"])
        mode = "w:" + COMPRESSORS[str(opts["archive-compressor"])]
        with tarfile.open(str(opts["file"]), mode.rstrip(":")) as archive:
            archive.add(top, arcname=".")
    write_log(log, "Done.")
    print("Done.")


def verify(opts: dict[str, object]) -> None:
    log = str(opts["log"])
    path = str(opts["file"])
    if not os.path.exists(path):
        die("%s does not exist" % path, log)
    print("Start of engine-backup with mode 'verify'")
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
            die("cannot open %s: %s" % (path, error), log)
        manifest = os.path.join(work, "md5sum")
        if not os.path.exists(manifest):
            die("Md5 verification failed: no md5sum", log)
        with open(manifest, encoding="utf-8") as stream:
            for line in stream:
                digest, _sep, name = line.rstrip("\n").partition("  ")
                member = os.path.join(work, name)
                if not os.path.isfile(member):
                    die("Md5 verification failed: %s missing" % name, log)
                with open(member, "rb") as data:
                    if hashlib.md5(data.read()).hexdigest() != digest:
                        die("Md5 verification failed: %s" % name, log)
        print("Verifying md5")
    write_log(log, "Done.")
    print("Done.")


def main() -> None:
    opts = parse(sys.argv[1:])
    if opts["mode"] == "restore":
        die("the stand-in does not restore", str(opts["log"]))
    {"backup": backup, "verify": verify}[str(opts["mode"])](opts)


if __name__ == "__main__":
    main()
