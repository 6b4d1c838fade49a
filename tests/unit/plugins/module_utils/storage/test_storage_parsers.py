"""multipath -ll and gluster volume info --xml parsers, on samples written in the real commands' output format
(from their documentation and vdsm's and gluster's parsers; not captured from a machine)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.ovirt_ha.core.plugins.module_utils._storage import gluster, multipath

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "storage"


def test_multipath_maps_paths_and_states():
    maps = multipath.parse_multipath_ll((FIXTURES / "multipath-ll.txt").read_text())
    assert [(m.wwid, m.alias, m.dm) for m in maps] == [
        ("36001405a1b2c3d4e5f60718293a4b5c6", None, "dm-3"),
        ("3600a098038304437415d4b6a59684a52", None, "dm-4"),
        ("3600508b400105e210000900000490000", "mpatha", "dm-0")]
    assert [(m.vendor, m.product, m.size) for m in maps] == [
        ("LIO-ORG", "lun-data1", "100G"), ("NETAPP", "LUN C-Mode", "500G"), ("HP", "HSV210", "10G")]
    assert [(len(m.paths), m.paths_up) for m in maps] == [(2, 2), (4, 2), (1, 1)]
    netapp = maps[1].as_dict()
    assert [(p["dev"], p["dm_state"], p["checker_state"], p["online_state"], p["group_status"], p["up"])
            for p in netapp["paths"]] == [
        ("sde", "active", "ready", "running", "active", True),
        ("sdg", "failed", "faulty", "running", "active", False),
        ("sdf", "active", "ghost", "running", "enabled", True),
        ("sdh", "failed", "faulty", "offline", "enabled", False)]


def test_multipath_empty_and_garbage():
    assert multipath.parse_multipath_ll("") == []
    with pytest.raises(multipath.ParseError, match="line 1: a path before any map"):
        multipath.parse_multipath_ll("  `- 7:0:0:1 sdc 8:32 active ready running\n")
    with pytest.raises(multipath.ParseError, match="line 2"):
        multipath.parse_multipath_ll("3600a0980 dm-4 NETAPP,LUN\n| something else\n")


@pytest.mark.parametrize("text,expected", [
    ("# VDSM REVISION 2.2\n# VDSM PRIVATE\ndefaults {\n}\n", (True, "2.2", True)),
    ("# VDSM REVISION 2.0\n# VDSM PRIVATE\n", (True, "2.0", True)),        # private: kept even when downrev
    ("# VDSM REVISION 2.2\ndefaults {\n}\n", (False, "2.2", True)),        # current vdsm file: kept
    ("# VDSM REVISION 2.0\ndefaults {\n}\n", (False, "2.0", False)),       # downrev: vdsm rewrites it
    ("# VDSM PRIVATE\n# VDSM REVISION 2.2\n", (False, None, False)),       # tags on the wrong lines
    ("# VDSM REVISION 2.1\n# RHEV PRIVATE\n", (True, "2.1", True)),        # the older private tag counts too
    ("# VDSM REVISION 2.1\nx # VDSM PRIVATE\n", (False, "2.1", False)),    # the tag must start the line
    ("defaults {\n}\n", (False, None, False)),
])
def test_vdsm_header_rules(text, expected):
    state = multipath.vdsm_header_state(text, "2.2")
    assert (state["private"], state["revision"], state["kept_by_vdsm"]) == expected


def test_gluster_volumes_and_checks():
    volumes = gluster.parse_volume_info((FIXTURES / "gluster-volume-info.xml").read_text())
    assert [(v.name, v.status, v.type, v.brick_count, v.replica_count) for v in volumes] == [
        ("engine", "Started", "Replicate", 3, 3), ("data", "Started", "Replicate", 2, 2)]
    assert volumes[0].bricks[0] == "host1.example.com:/gluster_bricks/engine/engine"
    assert volumes[0].options["storage.owner-uid"] == "36"
    assert gluster.check_volume(volumes[0]) == []
    findings = gluster.check_volume(volumes[1])
    kinds = [(f["kind"], f["option"]) for f in findings]
    assert ("replica", None) in kinds and ("bricks", None) in kinds
    assert ("option", "storage.owner-uid") in kinds and ("option", "features.shard") in kinds
    uid = next(f for f in findings if f["option"] == "storage.owner-uid")
    assert (uid["expected"], uid["got"]) == ("36", "0")
    assert "volume data: storage.owner-uid is '0', expected 36" == uid["message"]


def test_gluster_errors():
    with pytest.raises(gluster.ParseError, match="not XML"):
        gluster.parse_volume_info("Connection failed. Please check if gluster daemon is operational.")
    with pytest.raises(gluster.ParseError, match="Volume nosuch does not exist"):
        gluster.parse_volume_info("<cliOutput><opRet>-1</opRet><opErrno>2</opErrno>"
                                  "<opErrstr>Volume nosuch does not exist</opErrstr></cliOutput>")
