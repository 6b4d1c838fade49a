# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosted-engine pass's run lease and memory, files on the hosted-engine storage (private, may change).

With the engine down, the only thing every hosted-engine host shares is the hosted-engine storage domain, so the
run lease lives there, next to the metadata volume: ``ovirt_ha_core.lease`` is created with ``O_CREAT|O_EXCL``
(atomic on local file systems and on NFSv3/v4), holds its holder, a random token and an expiry, and is taken over
only once expired, by renaming a new file over it and reading it back.  ``ovirt_ha_core.memory.json`` (written
under the lease, replaced atomically) keeps what the pass must remember between runs.  Both are mode 0640.

On block storage (iSCSI, FC) the ``ha_agent`` directory is local to each host: point ``state_dir`` at a directory
every controller shares, or run the pass from one place only.
"""
from __future__ import annotations

import json
import os
import secrets
import time
import typing as t

LEASE = "ovirt_ha_core.lease"
MEMORY = "ovirt_ha_core.memory.json"
MODE = 0o640


class LeaseBusy(Exception):
    """Another pass holds the lease."""


def _write_new(path: str, data: dict[str, t.Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def _read(path: str) -> t.Optional[dict[str, t.Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return {}  # torn or foreign content: treated as expired below
    return value if isinstance(value, dict) else {}


class Lease:
    def __init__(self, directory: str, holder: str, ttl: float) -> None:
        self.path = os.path.join(directory, LEASE)
        self.holder = holder
        self.ttl = ttl
        self.token = ""

    def current(self) -> t.Optional[dict[str, t.Any]]:
        return _read(self.path)

    def acquire(self, now: t.Optional[float] = None) -> dict[str, t.Any]:
        now = time.time() if now is None else now
        self.token = secrets.token_hex(16)
        record = {"holder": self.holder, "token": self.token, "acquired": now, "expires": now + self.ttl}
        try:
            _write_new(self.path, record)
            return record
        except FileExistsError:
            pass
        held = self.current() or {}
        if held and float(held.get("expires", 0)) > now:
            raise LeaseBusy("the hosted-engine pass lease is held by {0} until {1} ({2:.0f} s left)".format(
                held.get("holder"), time.strftime("%H:%M:%S", time.localtime(float(held["expires"]))),
                float(held["expires"]) - now))
        # expired (a pass that died): take it over, then make sure no other pass took it over at the same time
        tmp = "{0}.{1}".format(self.path, self.token)
        _write_new(tmp, record)
        os.rename(tmp, self.path)
        time.sleep(0.2)
        if (self.current() or {}).get("token") != self.token:
            raise LeaseBusy("another pass took the expired lease over at the same time")
        return dict(record, took_over_from=held.get("holder"))

    def release(self, token: str) -> bool:
        held = self.current()
        if held is None or held.get("token") != token:
            return False
        os.unlink(self.path)
        return True


def load_memory(directory: str) -> dict[str, t.Any]:
    return _read(os.path.join(directory, MEMORY)) or {}


def save_memory(directory: str, data: dict[str, t.Any]) -> None:
    path = os.path.join(directory, MEMORY)
    tmp = "{0}.{1}".format(path, secrets.token_hex(4))
    _write_new(tmp, data)
    os.rename(tmp, path)
