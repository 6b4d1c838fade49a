"""Each role's interface stays in one place: meta/argument_specs.yml.

defaults/main.yml and the variable table of README.md must follow it; every public variable the role's files use
must be declared there (internal ones have two underscores after the role's prefix). Run this file with
``--write-readme`` to regenerate the tables.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(p for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").exists())
TABLE_START = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml) -->"
TABLE_END = "<!-- END VARIABLES -->"


def _options(role: Path) -> dict[str, Any]:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def _plain(text: str) -> str:
    """Ansible doc markup to Markdown: O(x=y) and V(x) and C(x) to code, M(x) to code."""
    text = re.sub(r"[OVCM]\(([^()]*)\)", r"`\1`", text)
    return text.replace("|", "\\|")


def render_table(options: dict[str, Any]) -> str:
    rows = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in options.items():
        kind = option.get("type", "str")
        if option.get("elements"):
            kind += " of " + option["elements"]
        default = "(none)" if "default" not in option else "`" + yaml.safe_dump(
            option["default"], default_flow_style=True, width=1000).strip().removesuffix("\n...").strip() + "`"
        description = option["description"]
        if isinstance(description, list):
            description = " ".join(description)
        if option.get("choices"):
            description += " Choices: " + ", ".join("`%s`" % c for c in option["choices"]) + "."
        if option.get("options"):
            description += " Keys: " + ", ".join(
                "`%s` (%s)" % (key, sub.get("type", "str")) for key, sub in option["options"].items()) + "."
        rows.append("| `%s` | %s | %s | %s |" % (name, kind, default.replace("|", "\\|"), _plain(description)))
    return "\n".join(rows)


def _readme_table(role: Path) -> str:
    text = (role / "README.md").read_text()
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()


roles = pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)


def test_every_role_declares_its_interface() -> None:
    assert {p.name for p in ROLES} == {p.name for p in ROLES_DIR.iterdir() if (p / "tasks").is_dir()}


@roles
def test_defaults_follow_argument_specs(role: Path) -> None:
    options = _options(role)
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    expected = {name: option["default"] for name, option in options.items() if "default" in option}
    assert defaults == expected


@roles
def test_options_have_description_and_type(role: Path) -> None:
    for name, option in _options(role).items():
        assert name.startswith(role.name + "_") and not name.startswith(role.name + "__"), name
        assert option.get("description"), name
        assert option.get("type"), name
        if "choices" in option and "default" in option:
            default = option["default"]
            values = default if isinstance(default, list) else [default]
            assert set(values) <= set(option["choices"]), name


@roles
def test_every_public_variable_used_is_declared(role: Path) -> None:
    declared = set(_options(role))
    used: set[str] = set()
    files = [*role.glob("tasks/*.yml"), *role.glob("vars/*.yml"), *role.glob("handlers/*.yml"), *role.glob("templates/*.j2")]
    for path in files:
        # public variables have one underscore after the prefix; internal ones two
        text = re.sub(r"tags: \[[^\]]*\]", "", path.read_text())  # tag names are not variables
        # a module named like the role (ovirt_ha.core.engine_backup_archive_info) is not a variable
        used |= set(re.findall(r"(?<!\.)\b%s_[a-z][a-z0-9_]*" % role.name, text))
    assert used - declared == set()


@roles
def test_readme_table_follows_argument_specs(role: Path) -> None:
    assert _readme_table(role) == render_table(_options(role)), (
        f"{role.name}/README.md is out of step with meta/argument_specs.yml; run "
        "python tests/unit/roles/test_role_interfaces.py --write-readme")


def write_readme(role: Path) -> None:
    readme = role / "README.md"
    text = readme.read_text()
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    readme.write_text(head + TABLE_START + "\n" + render_table(_options(role)) + "\n" + TABLE_END + tail)


if __name__ == "__main__" and "--write-readme" in sys.argv:
    for each in ROLES:
        write_readme(each)
