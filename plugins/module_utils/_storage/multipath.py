# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""multipath output and configuration, as vdsm expects it (private, may change).

``multipath -ll`` prints per map a header line (``WWID dm-N VENDOR,PRODUCT`` or, with user_friendly_names or an
alias, ``ALIAS (WWID) dm-N VENDOR,PRODUCT``), a ``size=... features=... hwhandler=... wp=...`` line, then path
groups (``|-+- policy='service-time 0' prio=50 status=active``) and their paths
(``| `- 3:0:0:1 sdb 8:16 active ready running``: host:channel:target:lun, device, major:minor, the path's state in
the map, the checker's state, the device's online state). A path counts as up when it is ``active`` in the map
and the checker says ``ready`` (or ``ghost`` for a standby path of an ALUA array).

vdsm's C(vdsm-tool configure --module multipath) rewrites C(/etc/multipath.conf) unless its first line carries
vdsm's current revision tag (C(# VDSM REVISION X.Y)) and its second line C(# VDSM PRIVATE); with the private tag
vdsm never rewrites the file. Local settings belong in drop-ins under C(/etc/multipath/conf.d/).
"""
from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

PRIVATE_TAG = "# VDSM PRIVATE"
# vdsm's rules (lib/vdsm/storage/mpathconf.py, read_metadata): the second line *starts with* the private tag, its
# own or the older "# RHEV PRIVATE"; the first line starts with the current revision tag.
PRIVATE_TAGS = (PRIVATE_TAG, "# RHEV PRIVATE")
REVISION_TAG = re.compile(r"^# VDSM REVISION (\d+)\.(\d+)(?!\d)")
_HEADER = re.compile(r"^(?:(?P<alias>\S+) \((?P<wwid_a>[^)\s]+)\)|(?P<wwid>\S+)) (?P<dm>dm-\d+) ?(?P<vp>.*)$")
_SIZE = re.compile(r"^size=(?P<size>\S+)")
_GROUP = re.compile(r"^[|`\s-]*\+- policy='(?P<policy>[^']*)' prio=(?P<prio>-?\d+) status=(?P<status>\S+)")
_PATH = re.compile(r"^[|`\s-]*- (?P<hcil>\S+:\S+:\S+:\S+) +(?P<dev>\S+) +(?P<devt>\d+:\d+) +(?P<dm>\S+) +"
                   r"(?P<chk>\S+) +(?P<online>\S+)")
UP_CHECKER_STATES = ("ready", "ghost")


@dataclass
class Path:
    hcil: str
    dev: str
    dev_t: str
    dm_state: str
    checker_state: str
    online_state: str
    group_status: str

    @property
    def up(self) -> bool:
        return self.dm_state == "active" and self.checker_state in UP_CHECKER_STATES

    def as_dict(self) -> dict[str, t.Any]:
        return {"hcil": self.hcil, "dev": self.dev, "dev_t": self.dev_t, "dm_state": self.dm_state,
                "checker_state": self.checker_state, "online_state": self.online_state,
                "group_status": self.group_status, "up": self.up}


@dataclass
class Map:
    wwid: str
    alias: t.Optional[str]
    dm: str
    vendor: str
    product: str
    size: str = ""
    paths: list[Path] = field(default_factory=list)

    @property
    def paths_up(self) -> int:
        return sum(1 for path in self.paths if path.up)

    def as_dict(self) -> dict[str, t.Any]:
        return {"wwid": self.wwid, "alias": self.alias, "dm": self.dm, "vendor": self.vendor,
                "product": self.product, "size": self.size, "paths_total": len(self.paths),
                "paths_up": self.paths_up, "paths": [p.as_dict() for p in self.paths]}


class ParseError(ValueError):
    pass


def parse_multipath_ll(text: str) -> list[Map]:
    """Every map of ``multipath -ll`` output. Raises ParseError naming the line it cannot read."""
    maps: list[Map] = []
    group = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        path = _PATH.match(line)
        if path:
            if not maps:
                raise ParseError("line %d: a path before any map: %r" % (number, line))
            maps[-1].paths.append(Path(path["hcil"], path["dev"], path["devt"], path["dm"], path["chk"],
                                       path["online"], group))
            continue
        grp = _GROUP.match(line)
        if grp:
            group = grp["status"]
            continue
        size = _SIZE.match(line)
        if size and maps:
            maps[-1].size = size["size"]
            continue
        if line[0] in "|` ":
            raise ParseError("line %d: not a path group or path line: %r" % (number, line))
        header = _HEADER.match(line)
        if not header:
            raise ParseError("line %d: not a multipath map header: %r" % (number, line))
        vendor, _comma, product = header["vp"].partition(",")
        maps.append(Map(wwid=header["wwid_a"] or header["wwid"], alias=header["alias"], dm=header["dm"],
                        vendor=vendor.strip(), product=product.strip()))
        group = ""
    return maps


def vdsm_header_state(text: str, current_revision: str) -> dict[str, t.Any]:
    """What vdsm-tool will do with this multipath.conf: keep it (private, or current revision) or rewrite it."""
    lines = text.splitlines()
    first = lines[0] if lines else ""
    second = lines[1] if len(lines) > 1 else ""
    private = second.startswith(PRIVATE_TAGS)
    match = REVISION_TAG.match(first)
    revision = "%s.%s" % (match.group(1), match.group(2)) if match else None
    return {"private": private, "revision": revision,
            "current": revision == current_revision,
            "kept_by_vdsm": private or revision == current_revision}
