# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GlusterFS volumes as ``gluster volume info --xml`` reports them, checked for oVirt storage (private, may change).

The XML: ``cliOutput/opRet`` (0 on success), ``opErrstr``, then ``volInfo/volumes/volume`` with ``name``,
``statusStr``, ``typeStr``, ``brickCount``, ``replicaCount``, ``arbiterCount``, ``bricks/brick/name`` and
``options/option/{name,value}`` (only the options set on the volume).
"""
from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET  # nosec: local command output, not untrusted network input
from dataclasses import dataclass, field

# The settings oVirt needs on a replica-3 virt volume, from gluster's "virt" option group and oVirt's docs:
# sharding, quorum on client and server, O_DIRECT honoured, VDSM's uid/gid.
REQUIRED_OPTIONS: dict[str, tuple[str, ...]] = {
    "features.shard": ("on", "enable", "true", "yes", "1"),
    "cluster.quorum-type": ("auto",),
    "cluster.server-quorum-type": ("server",),
    "performance.strict-o-direct": ("on", "enable", "true", "yes", "1"),
    "cluster.eager-lock": ("enable", "on", "true", "yes", "1"),
    "performance.quick-read": ("off", "disable", "false", "no", "0"),
    "performance.read-ahead": ("off", "disable", "false", "no", "0"),
    "performance.io-cache": ("off", "disable", "false", "no", "0"),
    "storage.owner-uid": ("36",),
    "storage.owner-gid": ("36",),
}


class ParseError(ValueError):
    pass


@dataclass
class Volume:
    name: str
    status: str
    type: str
    brick_count: int
    replica_count: int
    arbiter_count: int
    bricks: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def _text(node: ET.Element, tag: str, default: str = "") -> str:
    found = node.find(tag)
    return (found.text or "").strip() if found is not None and found.text is not None else default


def _int(node: ET.Element, tag: str, volume: str) -> int:
    value = _text(node, tag, "0")
    try:
        return int(value)
    except ValueError:
        raise ParseError("volume %s: %s is %r, not a number" % (volume, tag, value)) from None


def parse_volume_info(xml_text: str) -> list[Volume]:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise ParseError("gluster volume info --xml output is not XML: %s" % error) from None
    if root.tag != "cliOutput":
        raise ParseError("expected <cliOutput>, got <%s>" % root.tag)
    if _text(root, "opRet", "0") != "0":
        raise ParseError("gluster reported an error: %s" % (_text(root, "opErrstr") or _text(root, "opRet")))
    volumes = []
    for node in root.iterfind("volInfo/volumes/volume"):
        name = _text(node, "name")
        volumes.append(Volume(
            name=name, status=_text(node, "statusStr"), type=_text(node, "typeStr"),
            brick_count=_int(node, "brickCount", name), replica_count=_int(node, "replicaCount", name),
            arbiter_count=_int(node, "arbiterCount", name),
            bricks=[_text(b, "name") or (b.text or "").strip() for b in node.iterfind("bricks/brick")],
            options={_text(o, "name"): _text(o, "value") for o in node.iterfind("options/option")}))
    return volumes


def check_volume(volume: Volume, required: t.Optional[dict[str, tuple[str, ...]]] = None) -> list[dict[str, t.Any]]:
    """Findings for one volume (empty when it is fit for an oVirt storage domain)."""
    required = REQUIRED_OPTIONS if required is None else required
    findings: list[dict[str, t.Any]] = []

    def add(kind: str, message: str, option: t.Optional[str] = None, expected: t.Any = None, got: t.Any = None) -> None:
        findings.append({"kind": kind, "option": option, "expected": expected, "got": got,
                         "message": "volume %s: %s" % (volume.name, message)})

    if volume.status != "Started":
        add("not_started", "status is %s, expected Started" % (volume.status or "unknown"))
    if volume.replica_count != 3:
        add("replica", "replica count is %d, expected 3 (or 2 data bricks and 1 arbiter)" % volume.replica_count,
            expected=3, got=volume.replica_count)
    if volume.brick_count % 3:
        add("bricks", "%d bricks is not a multiple of the replica count 3" % volume.brick_count,
            got=volume.brick_count)
    for option, accepted in required.items():
        value = volume.options.get(option)
        if value is None or value.lower() not in accepted:
            add("option", "%s is %s, expected %s" % (option, "unset" if value is None else repr(value), accepted[0]),
                option=option, expected=accepted[0], got=value)
    return findings
