from __future__ import annotations

import configparser

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.answers import AnswerFile, format_typed
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.errors import ConfigError, ParseError
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_text


def test_reference_round_trip_and_types():
    text = read_text("answers.conf")
    answers = AnswerFile.parse(text)
    assert answers.render() == text
    values = answers.values()
    assert values["OVEHOSTED_VM/vmMemSizeMB"] == 16384
    assert values["OVEHOSTED_CORE/deployProceed"] is True
    assert values["OVEHOSTED_VM/cloudinitVMETCHOSTS"] is False
    assert values["OVEHOSTED_STORAGE/LunID"] is None
    assert values["OVEHOSTED_VM/vmVCpus"] == "4"
    assert "OVEHOSTED_VM/vmMemSizeMB" in values and "ovehosted_vm/vmmemsizemb" not in values  # case kept


def test_multi_str_written_as_otopi_continuation_lines():
    answers = AnswerFile()
    answers.set("NETWORK/iptablesRules", ["-A INPUT -j ACCEPT", "COMMIT"])
    text = answers.render()
    assert text == "[environment:default]\nNETWORK/iptablesRules=multi-str:-A INPUT -j ACCEPT\n COMMIT\n"
    # what otopi's RawConfigParser then sees
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    assert parser.get("environment:default", "NETWORK/iptablesRules").split(":", 1)[1].splitlines() == [
        "-A INPUT -j ACCEPT", "COMMIT"]
    assert AnswerFile.parse(text).values()["NETWORK/iptablesRules"] == ["-A INPUT -j ACCEPT", "COMMIT"]


def test_set_updates_in_place_and_keeps_others():
    text = read_text("answers.conf")
    answers = AnswerFile.parse(text)
    answers.set("OVEHOSTED_VM/vmMemSizeMB", 8192)
    answers.set("OVEHOSTED_VM/new", "x")
    out = answers.render()
    assert "OVEHOSTED_VM/vmMemSizeMB=int:8192\n" in out
    assert out.endswith("OVEHOSTED_VM/vmVCpus=str:4\nOVEHOSTED_VM/new=str:x\n")
    assert out.count("\n") == text.count("\n") + 1


def test_bool_is_not_int():
    answers = AnswerFile.parse("[environment:default]\nA=int:1\n")
    answers.set("A", True)
    assert answers.render() == "[environment:default]\nA=bool:True\n"


@pytest.mark.parametrize("text", ["[environment:default]\nA=1\n", "[environment:default]\nA=float:1.0\n",
                                  "A=str:x\n", "[environment:default]\nA=int:x\n",
                                  "[environment:default]\nnovalue\n"])
def test_bad_files_raise_parse_error(text):
    with pytest.raises(ParseError):
        AnswerFile.parse(text)


@pytest.mark.parametrize("value", [" x", "a\nb", 1.5, {"a": 1}, ["ok", "bad\n"]])
def test_bad_values_name_the_key(value):
    with pytest.raises(ConfigError) as info:
        format_typed("OVEHOSTED_X/y", value)
    assert "OVEHOSTED_X/y" in str(info.value) or "value" in str(info.value)


def test_masked_hides_password_like_keys_and_given_secrets():
    answers = AnswerFile()
    answers.set("OVEHOSTED_STORAGE/iSCSIPortalPassword", "pw1")
    answers.set("OVEHOSTED_X/other", "pw2")
    masked = answers.masked(["OVEHOSTED_X/other"])
    assert "pw1" not in masked and "pw2" not in masked


LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Zs")), min_size=1, max_size=20)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), LINE,
                   st.lists(LINE, min_size=1, max_size=4))
KEYS = st.from_regex(r"\A[A-Z_]{1,8}/[A-Za-z]{1,10}\Z", fullmatch=True)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.sampled_from(["environment:default", "environment:init"]))
def test_round_trip_property(values, section):
    answers = AnswerFile()
    for key, value in values.items():
        answers.set(key, value, section)
    text = answers.render()
    again = AnswerFile.parse(text)
    assert again.render() == text
    assert again.values(section) == values
