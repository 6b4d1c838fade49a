from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.errors import ConfigError
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.hosted_engine_conf import (
    HostedEngineConf, is_shell_safe,
)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_text

SAFE_ALPHABET = "abcXYZ0189@%+=:,./_^#*?[]{}-"
KEYS = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z", fullmatch=True)
VALUES = st.text(alphabet=SAFE_ALPHABET, max_size=30)


def test_reference_round_trip_is_byte_identical():
    text = read_text("hosted-engine.conf")
    conf = HostedEngineConf.parse(text)
    assert conf.render() == text
    values = conf.values()
    assert values["fqdn"] == "engine.example.com"
    assert values["host_id"] == "1"
    assert values["domainType"] == "nfs"
    assert values["mnt_options"] == ""
    assert list(values)[:3] == ["fqdn", "vm_disk_id", "vm_disk_vol_id"]
    assert len(values) == 31


def test_set_keeps_comments_blank_lines_and_order():
    text = read_text("hosted-engine.conf")
    conf = HostedEngineConf.parse(text)
    conf.set("host_id", "7")
    conf.set("brand_new", "x")
    out = conf.render()
    assert out.replace("host_id=7\n", "host_id=1\n").replace("brand_new=x\n", "") == text
    assert out.endswith("port=\nbrand_new=x\n")
    assert "# The following are used only for iSCSI storage\n" in out


def test_unchanged_set_keeps_original_text():
    conf = HostedEngineConf.parse("fqdn = engine.example.com  \n")
    conf.set("fqdn", "engine.example.com")
    assert conf.render() == "fqdn = engine.example.com  \n"


def test_quoted_value_read_as_agent_reads_it():
    conf = HostedEngineConf.parse("password='a b'\n")
    assert conf.get("password") == "'a b'"


@pytest.mark.parametrize("value", ["a b", "$(id)", "`id`", "a;b", "x'y", 'x"y', "a\\b", "~root", "a:~", "!x", "a\nb",
                                   "a|b", "a&b", "a<b", "(x)"])
def test_unsafe_values_are_refused_naming_the_field(value):
    conf = HostedEngineConf.parse("")
    with pytest.raises(ConfigError) as info:
        conf.set("password", value)
    assert info.value.field == "password"
    assert value not in str(info.value)  # the password itself is not echoed


def test_masked_hides_password():
    conf = HostedEngineConf.parse("user=u\npassword=Secret1\n")
    assert "Secret1" not in conf.masked()
    assert "password=********" in conf.masked()


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8),
       st.lists(st.sampled_from(["# c\n", "\n", "junk line\n"]), max_size=3))
def test_round_trip_property(values, noise):
    conf = HostedEngineConf.parse("".join(noise))
    conf.update(values)
    text = conf.render()
    again = HostedEngineConf.parse(text)
    assert again.render() == text
    assert {k: v for k, v in again.values().items() if k in values} == values


@settings(max_examples=25, deadline=None)
@given(VALUES)
def test_safe_values_survive_bash_source(tmp_path_factory, value):
    assert is_shell_safe(value)
    path = tmp_path_factory.mktemp("sh") / "he.conf"
    path.write_text("key={0}\n".format(value))
    out = subprocess.run(["bash", "-c", 'source "$1"; printf %s "$key"', "bash", str(path)],
                         capture_output=True, text=True, cwd=str(path.parent), check=True, timeout=10)
    assert out.stdout == value
