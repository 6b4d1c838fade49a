"""Every module's EXAMPLES (and every integration target task) use only options its argument spec accepts.

The argument spec is captured by letting each module's main() build its
AnsibleModule, whose constructor is replaced by one that records the spec and
stops the module.
"""
from __future__ import annotations

import importlib
import pathlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml
from ansible.module_utils import basic

COLLECTION = "ovirt_ha.core"
MODULES_DIR = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "modules"
MODULE_NAMES = sorted(path.stem for path in MODULES_DIR.glob("*.py") if not path.stem.startswith("_"))
TARGET_TASK_FILES = sorted((MODULES_DIR.parents[1] / "tests" / "integration" / "targets").glob("*/tasks/*.yml"))


class _SpecCaptured(Exception):
    def __init__(self, argument_spec: Dict[str, Any]) -> None:
        super().__init__("argument spec captured")
        self.argument_spec = argument_spec


def argument_spec_of(name: str, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Any]:
    module = importlib.import_module("ansible_collections.ovirt_ha.core.plugins.modules." + name)

    def capture(self: Any, argument_spec: Dict[str, Any], **kwargs: Any) -> None:
        raise _SpecCaptured(argument_spec)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    with pytest.raises(_SpecCaptured) as captured:
        module.main()
    return captured.value.argument_spec


def tasks_of(examples: Any) -> Iterator[Dict[str, Any]]:
    for task in examples or []:
        assert isinstance(task, dict), "an example is not a task: %r" % (task,)
        for key in ("block", "rescue", "always"):
            yield from tasks_of(task.get(key))
        yield task


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def names_of(spec: Dict[str, Any]) -> Dict[str, str]:
    """Option name or alias -> option name."""
    names = {}
    for option, details in spec.items():
        names[option] = option
        for alias in details.get("aliases") or []:
            names[alias] = option
    return names


def check_options(args: Any, spec: Dict[str, Any], where: str, defaults: Dict[str, Any]) -> List[str]:
    """Problems with ``args`` against ``spec`` (unknown names, values outside choices, missing required options)."""
    if is_template(args):
        return []
    if not isinstance(args, dict):
        return ["%s: expected a dict of options, got %r" % (where, args)]
    problems = []
    names = names_of(spec)
    given = set()
    for key, value in args.items():
        option = names.get(key)
        if option is None:
            problems.append("%s: unknown option %r (known: %s)" % (where, key, ", ".join(sorted(spec))))
            continue
        given.add(option)
        details = spec[option]
        choices = details.get("choices")
        if choices and value is not None and not is_template(value):
            values = value if isinstance(value, list) else [value]
            problems += ["%s.%s: %r is not one of %s" % (where, key, item, choices)
                         for item in values if item not in choices]
        suboptions = details.get("options")
        if suboptions and value is not None:
            if details.get("type") == "list" and isinstance(value, list):
                for index, item in enumerate(value):
                    problems += check_options(item, suboptions, "%s.%s[%d]" % (where, key, index), {})
            elif details.get("type") != "list":
                problems += check_options(value, suboptions, "%s.%s" % (where, key), {})
    for option, details in spec.items():
        if details.get("required") and option not in given and option not in defaults:
            problems.append("%s: required option %r missing" % (where, option))
    return problems


def module_call(task: Dict[str, Any], name: str) -> Optional[Tuple[str, Any]]:
    for key in (COLLECTION + "." + name, name):
        if key in task:
            return key, task[key]
    return None


def task_defaults(task: Dict[str, Any], name: str) -> Dict[str, Any]:
    """Options the example sets through module_defaults (for the module or any group)."""
    found: Dict[str, Any] = {}
    for key, values in (task.get("module_defaults") or {}).items():
        if key.startswith("group/") or key in (name, COLLECTION + "." + name):
            found.update(values or {})
    return found


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_examples_match_the_argument_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("ansible_collections.ovirt_ha.core.plugins.modules." + name)
    examples = yaml.safe_load(module.EXAMPLES)
    spec = argument_spec_of(name, monkeypatch)
    problems = []
    calls = 0
    for number, task in enumerate(tasks_of(examples), start=1):
        call = module_call(task, name)
        if call is None:
            continue
        calls += 1
        key, args = call
        assert key == COLLECTION + "." + name, "example %d calls %s without its FQCN" % (number, key)
        where = "%s example %d (%s)" % (name, number, task.get("name", "unnamed"))
        problems += check_options(args if args is not None else {}, spec, where, task_defaults(task, name))
    assert calls, "%s: no example calls the module" % name
    assert problems == []


@pytest.mark.parametrize("path", TARGET_TASK_FILES, ids=lambda path: "%s/%s" % (path.parts[-3], path.name))
def test_integration_target_tasks_match_the_argument_specs(path: pathlib.Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # names and choices only: required options may come from module_defaults set anywhere in the play;
    # tasks that expect to fail (ignore_errors, failed_when) may pass wrong input on purpose
    specs: Dict[str, Dict[str, Any]] = {}
    problems = []
    for number, task in enumerate(tasks_of(yaml.safe_load(path.read_text(encoding="utf-8"))), start=1):
        for name in MODULE_NAMES:
            call = module_call(task, name)
            if call is None or "ignore_errors" in task or "failed_when" in task:
                continue
            if name not in specs:
                specs[name] = argument_spec_of(name, monkeypatch)
            where = "%s task %d (%s)" % (path.name, number, task.get("name", "unnamed"))
            problems += [problem for problem in check_options(call[1] or {}, specs[name], where, {})
                         if ": required option " not in problem]
    assert problems == []


def test_checker_catches_a_wrong_option() -> None:
    spec = {"host": {"type": "str", "required": True},
            "action": {"type": "str", "choices": ["on", "off"]},
            "bmcs": {"type": "list", "elements": "dict", "options": {"address": {"type": "str"}}}}
    problems = check_options({"hots": "h1", "action": "reset", "bmcs": [{"adress": "x"}]}, spec, "t", {})
    assert problems == [
        "t: unknown option 'hots' (known: action, bmcs, host)",
        "t.action: 'reset' is not one of ['on', 'off']",
        "t.bmcs[0]: unknown option 'adress' (known: address)",
        "t: required option 'host' missing",
    ]
