from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.errors import ConfigError, ParseError
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.vm_conf import (
    VmConf, format_device, parse_device,
)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_text


def test_reference_round_trip_and_content():
    text = read_text("vm.conf")
    conf = VmConf.parse(text)
    assert conf.render() == text
    params = conf.params()
    assert params["vmId"] == "82a24281-8a25-4772-b9c9-45971e811cb3"
    assert params["memSize"] == "4096"
    assert params["vmName"] == "HostedEngine"
    devices = conf.devices()
    assert len(devices) == 8
    cdrom = devices[0]
    assert cdrom["device"] == "cdrom"
    assert cdrom["address"] == {"controller": "0", "target": "0", "unit": "0", "bus": "1", "type": "drive"}
    assert cdrom["specParams"] == {}
    assert cdrom["path"] == ""
    nic = devices[3]
    assert nic["macAddr"] == "00:16:3e:35:83:68"
    assert nic["address"]["slot"] == "0x03"
    xml = conf.xml()
    assert xml is not None and xml.startswith("<?xml") and "<name>HostedEngine</name>" in xml


def test_build_writes_compact_devices_and_base64():
    conf = VmConf.build({"vmId": "82a24281-8a25-4772-b9c9-45971e811cb3", "memSize": 4096, "smp": "4"},
                        [{"device": "disk", "readonly": False, "address": {"bus": "0x00", "slot": "0x06"}}],
                        "<domain/>")
    text = conf.render()
    assert text == ("vmId=82a24281-8a25-4772-b9c9-45971e811cb3\nmemSize=4096\nsmp=4\n"
                    "devices={device:disk,readonly:false,address:{bus:0x00,slot:0x06}}\n"
                    "xmlBase64=" + base64.b64encode(b"<domain/>").decode() + "\n")
    assert VmConf.parse(text).devices() == [{"device": "disk", "readonly": "false",
                                            "address": {"bus": "0x00", "slot": "0x06"}}]


@pytest.mark.parametrize("params,field", [
    ({"memSize": 1}, "vm_conf.params.vmId"),
    ({"vmId": "nope"}, "vm_conf.params.vmId"),
    ({"vmId": "82a24281-8a25-4772-b9c9-45971e811cb3", "memSize": "-1"}, "vm_conf.params.memSize"),
    ({"vmId": "82a24281-8a25-4772-b9c9-45971e811cb3", "devices": "x"}, "vm_conf.params.devices"),
])
def test_build_errors_name_the_field(params, field):
    with pytest.raises(ConfigError) as info:
        VmConf.build(params)
    assert info.value.field == field


def test_device_value_with_comma_is_refused():
    with pytest.raises(ConfigError) as info:
        format_device({"path": "a,b"}, "vm_conf.devices[0]")
    assert info.value.field == "vm_conf.devices[0].path"


@pytest.mark.parametrize("text", ["{a:1", "a:1}", "{a:1}}", "{:1}", "{a}"])
def test_bad_devices_raise_parse_error(text):
    with pytest.raises(ParseError):
        parse_device(text)


SCALAR = st.text(alphabet=st.characters(blacklist_characters="{},:\n\r", blacklist_categories=("Cs", "Zs", "Cc")),
                 max_size=12)
KEY = st.text(alphabet="abcdefXYZ_0123", min_size=1, max_size=8)
DEVICE = st.recursive(st.dictionaries(KEY, SCALAR, max_size=4),
                      lambda children: st.dictionaries(KEY, st.one_of(SCALAR, children), max_size=4), max_leaves=8)


@settings(max_examples=80, deadline=None)
@given(st.lists(DEVICE, max_size=4), st.dictionaries(st.sampled_from(["memSize", "vmName", "cpuType", "display"]),
                                                     st.integers(1, 99999).map(str), max_size=4))
def test_round_trip_property(devices, extra):
    params = {"vmId": "82a24281-8a25-4772-b9c9-45971e811cb3", **extra}
    conf = VmConf.build(params, devices, "<domain>é</domain>")
    text = conf.render()
    again = VmConf.parse(text)
    assert again.render() == text
    assert again.devices() == devices
    assert again.xml() == "<domain>é</domain>"
    assert {k: v for k, v in again.params().items() if k != "xmlBase64"} == params


def test_deeply_nested_braces_are_a_parse_error_not_a_stack_overflow() -> None:
    line = "devices=" + "{a:" * 5000 + "x" + "}" * 5000
    with pytest.raises(ParseError, match="nested deeper"):
        VmConf.parse("vmId=1\n" + line + "\n")
