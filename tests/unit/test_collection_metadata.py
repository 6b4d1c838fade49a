"""The collection's metadata agrees with its content: every module sits in its action group."""
from __future__ import annotations

import ast
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _modules() -> dict[str, str]:
    """Module name -> the connection doc fragment it extends ('engine', 'ipmi', 'report' or '')."""
    found = {}
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        tree = ast.parse(path.read_text())
        doc = next(
            node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION"
        )
        fragments = yaml.safe_load(doc).get("extends_documentation_fragment", [])
        kind = next((f.rsplit(".", 1)[-1] for f in fragments if f.rsplit(".", 1)[-1] in ("engine", "ipmi")), "")
        if not kind and "ovirt_ha.core.attributes.ACTION_GROUP_REPORT" in fragments:
            kind = "report"  # the report modules: local files and mail, no engine or BMC connection
        found[path.stem] = kind
    return found


def test_every_module_is_in_the_action_group_of_its_connection() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    groups = runtime["action_groups"]
    for name, kind in _modules().items():
        expected = kind or "hosted_engine"  # host-side modules read and write local files, no connection
        member_of = [group for group, members in groups.items() if name in members]
        assert member_of == [expected], f"{name}: expected in action group {expected!r}, found in {member_of}"


def test_action_groups_name_only_existing_modules() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    modules = set(_modules())
    for group, members in runtime["action_groups"].items():
        assert members == sorted(members), f"keep action group {group} sorted"
        assert set(members) <= modules, f"{group} lists modules that do not exist: {set(members) - modules}"


def test_version_is_defined_once() -> None:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert galaxy["version"].count(".") == 2
    assert galaxy["version"] not in (ROOT / "Makefile").read_text()
