"""The AWX survey specs of extensions/awx/ follow AWX's survey schema and the variables of their job playbooks.

Each survey variable must be documented in the playbook's header and used by it; for a playbook that wraps a role,
the answer's type (as AWX passes it: integer as int, multiselect as a list, multiplechoice and text as strings) must
be one the role's meta/argument_specs.yml accepts, and choices must be among the role's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
AWX = ROOT / "extensions" / "awx"
TEMPLATES = yaml.safe_load((AWX / "job_templates.yml").read_text())["job_templates"]
QUESTION_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
BOOL_CHOICES = [["true", "false"], ["false", "true"]]

templates = pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: Path(t["playbook"]).stem)


def survey(template: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((AWX / template["survey"]).read_text())
    return data


def role_mapping(playbook: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """For a role wrapper: playbook variable -> role variable, and the role's options."""
    plays = yaml.safe_load(playbook.read_text())
    for play in plays:
        for role in play.get("roles", []):
            name = role["role"].split(".")[-1]
            spec = yaml.safe_load((ROOT / "roles" / name / "meta" / "argument_specs.yml").read_text())
            mapping = {}
            for role_var, value in role.get("vars", {}).items():
                for used in set(re.findall(r"\bovirt_ha_[a-z0-9_]+", str(value))):
                    mapping[used] = role_var
            return mapping, spec["argument_specs"]["main"]["options"]
    return {}, {}


def test_every_job_playbook_has_a_template() -> None:
    jobs = {p.name for p in (ROOT / "playbooks").glob("*.yml")} - {"deploy_hosted_engine_ha.yml"}
    assert jobs <= {Path(t["playbook"]).name for t in TEMPLATES}


@templates
def test_survey_follows_awx_schema(template: dict[str, Any]) -> None:
    data = survey(template)
    assert isinstance(data["name"], str) and isinstance(data["description"], str)
    variables = [q["variable"] for q in data["spec"]]
    assert len(variables) == len(set(variables)), "a variable asked twice"
    for question in data["spec"]:
        where = question["variable"]
        assert question["type"] in QUESTION_TYPES, where
        assert isinstance(question["question_name"], str) and question["question_name"], where
        assert isinstance(question["required"], bool), where
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", where), where
        default = question.get("default")
        if question["type"] in ("multiplechoice", "multiselect"):
            choices = question["choices"]
            assert isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices), where
            if question["type"] == "multiplechoice" and default is not None:
                assert default in choices, where
            if question["type"] == "multiselect" and default is not None:
                assert isinstance(default, list) and set(default) <= set(choices), where
        if question["type"] == "integer":
            assert question["min"] <= question["max"], where
            if default is not None:
                assert isinstance(default, int) and question["min"] <= default <= question["max"], where
        if question["type"] in ("text", "textarea") and default is not None:
            assert isinstance(default, str) and question["min"] <= len(default) <= question["max"], where
        if re.search(r"password|secret|token", where) and not where.endswith("_restore_password"):  # a flag, not a secret
            assert question["type"] == "password", where


@templates
def test_survey_variables_are_the_playbooks(template: dict[str, Any]) -> None:
    playbook = ROOT / template["playbook"]
    text = playbook.read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    mapping, options = role_mapping(playbook)
    for question in survey(template)["spec"]:
        variable = question["variable"]
        assert re.search(r"\b%s\b" % variable, header), f"{variable} is not documented in {playbook.name}"
        assert re.search(r"\b%s\b" % variable, body), f"{variable} is not used by {playbook.name}"
        if not mapping:
            continue
        option = options[mapping[variable]]
        kind = option.get("type", "str")
        if question["type"] == "integer":
            assert kind in ("int", "float", "raw"), variable
        elif question["type"] == "multiselect":
            assert kind == "list", variable
            if "choices" in option:
                assert set(question["choices"]) <= set(option["choices"]), variable
        elif question["type"] == "multiplechoice":
            if kind == "bool":
                assert question["choices"] in BOOL_CHOICES, variable
            else:
                assert kind == "str", variable
                if "choices" in option:
                    assert set(question["choices"]) <= set(option["choices"]), variable
        elif question["type"] in ("text", "textarea"):
            # a list option takes one comma-separated text only where the wrapper splits it
            assert kind == "str" or (kind == "list" and "split(',')" in text), variable


@templates
def test_required_questions_have_a_default_or_are_meant_to_be_asked(template: dict[str, Any]) -> None:
    for question in survey(template)["spec"]:
        if question["required"] and question.get("default") in (None, ""):
            assert question["type"] in ("text", "password"), question["variable"]
