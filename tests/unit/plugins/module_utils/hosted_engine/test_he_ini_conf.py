from __future__ import annotations

import configparser

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.errors import ConfigError, ParseError
from ansible_collections.ovirt_ha.core.plugins.module_utils._hosted_engine.ini_conf import (
    IniFile, broker_values, score_values,
)
from ansible_collections.ovirt_ha.core.tests.unit.plugins.module_utils.hosted_engine.he_fixtures import read_text

BROKER_DEFAULTS = dict(smtp_server="localhost", smtp_port=25, smtp_timeout=10, destination_emails=["root@localhost"],
                       source_email="root@localhost", state_transition=["maintenance", "start", "stop", "up", "down"])


@pytest.mark.parametrize("name", ["agent.conf", "broker.conf", "ha.conf"])
def test_reference_round_trip(name):
    text = read_text(name)
    assert IniFile.parse(text, name).render() == text


def test_reference_values():
    agent = IniFile.parse(read_text("agent.conf")).sections()["score"]
    assert agent["base-score"] == "3400" and agent["cpu-load-penalty-max"] == "0.9"
    broker = IniFile.parse(read_text("broker.conf")).sections()
    assert broker["notify"]["state_transition"] == "maintenance|start|stop|up|down"
    ha = IniFile.parse(read_text("ha.conf")).sections()
    assert ha[""] == {"local_maintenance": "False", "local_maintenance_manual": "False"}


def test_defaults_reproduce_reference_values():
    ini = IniFile.parse(read_text("agent.conf"))
    for key, value in score_values({}).items():
        ini.set("score", key, value)
    assert ini.render() == read_text("agent.conf")
    broker = IniFile()
    for section, values in broker_values(BROKER_DEFAULTS).items():
        for key, value in values.items():
            broker.set(section, key, value)
    assert broker.render() == read_text("broker.conf")


@pytest.mark.parametrize("score,field", [
    ({"base_score": -1}, "agent_conf.score.base_score"),
    ({"cpu_load_penalty_min": 1.5}, "agent_conf.score.cpu_load_penalty_min"),
    ({"cpu_load_penalty_min": 0.9, "cpu_load_penalty_max": 0.4}, "agent_conf.score.cpu_load_penalty_min"),
    ({"bogus": 1}, "agent_conf.score.bogus"),
])
def test_score_errors_name_the_field(score, field):
    with pytest.raises(ConfigError) as info:
        score_values(score)
    assert info.value.field == field


@pytest.mark.parametrize("change,field", [
    ({"smtp_port": 0}, "broker_conf.smtp_port"),
    ({"smtp_server": "bad host"}, "broker_conf.smtp_server"),
    ({"destination_emails": ["nobody"]}, "broker_conf.destination_emails/source_email"),
    ({"state_transition": ["explode"]}, "broker_conf.state_transition"),
])
def test_broker_errors_name_the_field(change, field):
    with pytest.raises(ConfigError) as info:
        broker_values(dict(BROKER_DEFAULTS, **change))
    assert info.value.field == field


def test_bad_ini_line_raises():
    with pytest.raises(ParseError):
        IniFile.parse("[a]\njust words\n")


SECTION = st.sampled_from(["score", "email", "notify"])
KEY = st.from_regex(r"\A[a-z][a-z_-]{0,10}\Z", fullmatch=True)
VALUE = st.text(alphabet="abc019.@|,-_", max_size=15)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.tuples(SECTION, KEY), VALUE, max_size=10))
def test_round_trip_property_and_configparser_agrees(items):
    ini = IniFile.parse("# header\n")
    for (section, key), value in items.items():
        ini.set(section, key, value)
    text = ini.render()
    again = IniFile.parse(text)
    assert again.render() == text
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    for (section, key), value in items.items():
        assert again.get(section, key) == value
        assert parser.get(section, key) == value
